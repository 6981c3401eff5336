//! `write_as_text(dir)`: each record's `Display` form as a line, one part file per worker.
use quote::quote_spanned;

use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::Node;
use crate::spec::{Codegen, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "write_as_text",
    usage: "write_as_text(directory)",
    yields: Yields::Nothing,
    args: &[Arg::Expr],
    check: super::sql_group_by::append_only,
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, arg) = (e.rt(), &node.args[0]);
    let sink = e.setup(
        node,
        quote_spanned!(node.span=> #rt::sinks::TextFileSink::new(&(#arg))),
    );
    let (ctx, input) = (e.ctx(), e.value_input(node));
    quote_spanned!(node.span=> #sink.build(#input, #ctx))
}
