//! `print()`: each record's `Display` form on a line of standard output; `discard()`:
//! drops the records and counts them (Flink's discarding sink, SQL's `blackhole`).
use quote::quote_spanned;

use crate::emit::Emitter;
use crate::ir::Node;
use crate::spec::{Codegen, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "print",
    usage: "print()",
    yields: Yields::Nothing,
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, ctx, input) = (e.rt(), e.ctx(), e.value_input(node));
    quote_spanned!(node.span=> #rt::sinks::print(#input, #ctx))
}

pub const DISCARD: OpSpec = OpSpec {
    name: "discard",
    usage: "discard()",
    codegen: Codegen::Op(gen_discard),
    ..SPEC
};

fn gen_discard(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    // Records are dropped whole, timestamps and all.
    let (rt, ctx, input) = (e.rt(), e.ctx(), e.input(node, 0));
    quote_spanned!(node.span=> #rt::sinks::discard(#input, #ctx))
}
