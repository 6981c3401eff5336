//! `a.union(b, c, ...)`: the records of several streams of one type, as one stream.
use quote::quote_spanned;

use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::Node;
use crate::spec::{Codegen, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "union",
    usage: "union(other_stream, ...)",
    args: &[Arg::Stream],
    variadic: true,
    codegen: Codegen::Op(gen),
    ..BASE
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
