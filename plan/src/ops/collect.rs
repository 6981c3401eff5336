//! `collect(collector)`: hands records back to the caller of `run` through a `Collector`.
use quote::quote_spanned;

use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::Node;
use crate::spec::{Codegen, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "collect",
    usage: "collect(collector)",
    yields: Yields::Nothing,
    args: &[Arg::Expr],
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, arg) = (e.rt(), &node.args[0]);
    // Cloned, so the caller keeps its collector to read after the job.
    let collector = e.setup(
        node,
        quote_spanned!(node.span=> #rt::sinks::Collector::clone(&(#arg))),
    );
    // A timestamped stream's records lose their timestamps in the sink itself.
    let ctx = e.ctx();
    if e.is_timed(node.input(0)) {
        let input = e.input(node, 0);
        quote_spanned!(node.span=> #rt::sinks::collect_timed(#input, &#collector, #ctx))
    } else {
        let input = e.value_input(node);
        quote_spanned!(node.span=> #rt::sinks::collect(#input, &#collector, #ctx))
    }
}
