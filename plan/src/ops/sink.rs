//! `sink(spec)`: any `SinkSpec`, such as `json_lines_sink(dir)`, `csv_sink(dir)` or a
//! Kafka or PostgreSQL sink (Flink's `sinkTo`). The spec is evaluated once per process;
//! each worker writes its records through it.
use quote::quote_spanned;

use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::Node;
use crate::spec::{Codegen, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "sink",
    usage: "sink(spec)",
    yields: Yields::Nothing,
    args: &[Arg::Expr],
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, arg) = (e.rt(), &node.args[0]);
    let sink = e.setup(node, quote_spanned!(node.span=> #arg));
    let (ctx, input) = (e.ctx(), e.value_input(node));
    quote_spanned!(node.span=> #rt::sinks::SinkSpec::build(&#sink, #input, #ctx))
}
