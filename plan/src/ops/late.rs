//! `results.late()`: the records that came too late for the window aggregation that
//! produced `results` (past the allowed lateness), with their timestamps. Without it, a
//! window's late records are counted and the count is reported when the job ends.
use super::count_window::on_count_windows;
use crate::diag::Errors;
use crate::ir::{Graph, Node, Outputs, Port, Time};
use crate::spec::{Codegen, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "late",
    usage: "late()",
    reads: Port::Late,
    check,
    codegen: Codegen::Op(|e, node| e.input(node, 0)),
    ..BASE
};

fn check(graph: &Graph, node: &Node, errors: &mut Errors) {
    let input = &graph.nodes[node.input(0)];
    if on_count_windows(graph, input.id) {
        errors.push(node.span, "count windows have no late records (every record counts), so `late` does not apply to them");
    } else if input.outputs != Outputs::MainAndLate {
        errors.push(node.span, "`late()` takes the late records of a window aggregation or a join: apply it to the results of e.g. `.window(tumbling(10s)).count()`");
    } else if node.time == Time::Processing {
        errors.push(node.span, "a processing-time window has no late records");
    }
}
