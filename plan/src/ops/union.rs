//! `a.union(b, c, ...)`: the records of several streams of one type, as one stream.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "union",
    usage: "union(other_stream, ...)",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Stream],
    variadic: true,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let mut acc = e.input(node, 0);
    for i in 1..node.inputs.len() {
        // The other stream's variable carries the span of its name in `union(..)`, so a
        // type mismatch is reported there.
        let other = e.input(node, i);
        acc = quote_spanned!(node.span=> #rt::operators::union(#acc, #other));
    }
    acc
}
