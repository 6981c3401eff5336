//! `processed.side_output(TAG)`: the records a process function emitted with
//! `ctx.output(&TAG, value)`, where `TAG` is an `OutputTag<T>` constant.
use quote::{quote, quote_spanned};

use crate::args::Arg;
use crate::diag::Errors;
use crate::ir::{Graph, Node, Port};
use crate::spec::{Codegen, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "side_output",
    usage: "side_output(ALERTS)",
    args: &[Arg::Expr],
    // The index is the side output's place among those taken from the same function.
    reads: Port::Side(0),
    check,
    codegen: Codegen::Op(|e, node| {
        let (rt, side) = (e.rt(), e.input(node, 0));
        if e.is_timed(node.id) {
            side
        } else {
            quote_spanned!(node.span=> #rt::time::values(#side))
        }
    }),
    ..BASE
};

fn check(graph: &Graph, node: &Node, errors: &mut Errors) {
    let input = node.inputs[0];
    if !graph.nodes[input.node].outputs.has(input.port) {
        errors.push(
            node.span,
            "`side_output(TAG)` takes a side output of a process function: apply it to the result of `.key_by(..).process(f)`",
        );
        return;
    }
    let tag = |n: &Node| {
        let tag = n.expr(0);
        quote!(#tag).to_string()
    };
    let earlier = graph
        .readers(input.node)
        .find(|(n, port)| matches!(port, Port::Side(_)) && n.id < node.id && tag(n) == tag(node));
    if let Some((earlier, _)) = earlier {
        errors.push(
            node.args_span,
            format!("this side output is already taken at line {}: name that stream with `let` and read it twice", earlier.span.start().line),
        );
    }
}
