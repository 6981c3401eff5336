//! `read_text_file(path)`: the lines of a text file, read in parallel by byte ranges.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::plan::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "read_text_file",
    usage: "read_text_file(path)",
    needs: Needs::Nothing,
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Expr],
    variadic: false,
    bounded: true,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, arg) = (e.rt(), &node.args[0]);
    let source = e.setup(
        node,
        quote_spanned!(node.span=> #rt::sources::TextFile::new(&(#arg))),
    );
    let (scope, ctx) = (e.scope(), e.ctx());
    quote_spanned!(node.span=> #source.build(#scope, #ctx))
}
