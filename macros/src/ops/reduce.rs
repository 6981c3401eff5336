//! `reduce(|a, b| c)` on a keyed stream: Flink's rolling reduce, per key.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::plan::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "reduce",
    usage: "reduce(|a, b| ...)",
    needs: Needs::Stream(Kind::Keyed),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Closure],
    variadic: false,
    bounded: false,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, ctx, input, f) = (e.rt(), e.ctx(), e.input(node, 0), &node.args[0]);
    quote_spanned!(node.span=> #rt::operators::keyed::reduce(#input, #ctx, #f))
}
