//! `source.dead_letters()`: the input a source could not decode (a malformed JSON or CSV
//! record), each with the reason and where it was read, as `DeadLetter`s. Without it, a
//! source's dead letters go to standard error; they are counted either way.
use super::{Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "dead_letters",
    usage: "dead_letters()",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Plain),
    args: &[],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    e.dead_input(node)
}
