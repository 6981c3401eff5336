//! `allowed_lateness(2s)` on an event-time window: records up to this much behind the
//! watermark still update their window, which fires again with the updated result.
use quote::quote_spanned;

use super::count_window::on_count_windows;
use super::window::windows_of_a_join;
use crate::args::Arg;
use crate::diag::Errors;
use crate::emit::Emitter;
use crate::ir::{Graph, Kind, Node, Time};
use crate::spec::{Codegen, Needs, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "allowed_lateness",
    usage: "allowed_lateness(2s)",
    needs: Needs::Stream(&[Kind::Windowed, Kind::JoinWindowed]),
    yields: Yields::Stream(Kind::Windowed),
    args: &[Arg::Duration],
    output_kind: windows_of_a_join,
    check,
    wrong_input: |got| {
        (got == Kind::Plain).then(|| "`allowed_lateness` needs a window first: `.window(tumbling(10s)).allowed_lateness(2s)`".to_string())
    },
    // Cleanup times fall on ticks.
    tick: |node| vec![node.duration(0)],
    codegen: Codegen::Op(gen),
    ..BASE
};

fn check(graph: &Graph, node: &Node, errors: &mut Errors) {
    if on_count_windows(graph, node.input(0)) {
        errors.push(node.span, "count windows have no late records (every record counts), so `allowed_lateness` does not apply to them");
    } else if node.time == Time::Processing {
        errors.push(node.span, "`allowed_lateness` applies to event-time windows: a processing-time window has no late records");
    }
}

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, input) = (e.rt(), e.input(node, 0));
    let ms = node.duration(0);
    quote_spanned!(node.span=> #rt::window::allowed_lateness(#input, #ms))
}
