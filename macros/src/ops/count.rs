//! `count()` on a keyed stream: emits `(key, number of records)`.
use quote::quote_spanned;

use super::{Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::plan::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "count",
    usage: "count()",
    needs: Needs::Stream(Kind::Keyed),
    yields: Yields::Stream(Kind::Plain),
    args: &[],
    variadic: false,
    bounded: false,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, ctx, input) = (e.rt(), e.ctx(), e.input(node, 0));
    quote_spanned!(node.span=> #rt::operators::keyed::count(#input, #ctx))
}
