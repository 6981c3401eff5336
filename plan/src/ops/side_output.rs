//! `processed.side_output(TAG)`: the records a process function emitted with
//! `ctx.output(&TAG, value)`, where `TAG` is an `OutputTag<T>` constant.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "side_output",
    usage: "side_output(ALERTS)",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Expr],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let side = e.side_input(node);
    if e.is_timed(node.id) {
        side
    } else {
        quote_spanned!(node.span=> #rt::time::values(#side))
    }
}
