//! `a.key_by(f).interval_join(b.key_by(g)).between(lower, upper).process(h)`: Flink's
//! interval join. `h(left, right, ctx, out)` runs for every pair of one key with
//! `left.ts + lower <= right.ts <= left.ts + upper`; bounds are durations, possibly
//! negative (`-5s`).
use quote::{quote, quote_spanned};

use super::join::step_of_a_join;
use crate::args::Arg;
use crate::diag::Errors;
use crate::emit::Emitter;
use crate::ir::{Graph, Kind, Node, Time};
use crate::spec::{Codegen, Needs, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "interval_join",
    usage: "interval_join(other.key_by(|y| key))",
    needs: Needs::Stream(&[Kind::Keyed]),
    yields: Yields::Stream(Kind::KeyedPair),
    args: &[Arg::Stream],
    other_inputs: &[Kind::Keyed],
    check: |_, node, errors| {
        if node.time != Time::Event {
            errors.push(node.span, "`interval_join` needs event time on both sides: add `.assign_timestamps(|x| x.ts, out_of_orderness = 4s)` after each source");
        }
    },
    codegen: Codegen::Op(gen),
    ..BASE
};

pub const BETWEEN: OpSpec = OpSpec {
    name: "between",
    usage: "between(-5s, 10s)",
    needs: Needs::Stream(&[Kind::KeyedPair]),
    yields: Yields::Stream(Kind::IntervalJoin),
    args: &[Arg::SignedDuration, Arg::SignedDuration],
    check: bounds_in_order,
    wrong_input: |_| {
        step_of_a_join("between", "a.key_by(|x| key).interval_join(b.key_by(|y| key)).between(-5s, 10s).process(|x, y, ctx, out| ..)")
    },
    // Lateness is read from timely times, so ticks must be finer than the interval.
    tick: |node| {
        vec![
            node.signed_duration(0).unsigned_abs(),
            node.signed_duration(1).unsigned_abs(),
        ]
    },
    codegen: Codegen::Op(gen_between),
    ..BASE
};

fn bounds_in_order(_: &Graph, node: &Node, errors: &mut Errors) {
    let (lower, upper) = (node.signed_duration(0), node.signed_duration(1));
    if lower > upper {
        errors.push(node.args_span, format!("the lower bound ({lower} ms) is above the upper bound ({upper} ms): no pair can match"));
    }
}

/// Both keyed sides; a key type mismatch is reported at the other side's keys.
fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let (left, right) = (e.input(node, 0), e.input(node, 1));
    let span = node.inputs[1].span;
    quote_spanned!(span=> #rt::join::interval_pair(#left, #right))
}

fn gen_between(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let input = e.input(node, 0);
    let (lower, upper) = (node.signed_duration(0), node.signed_duration(1));
    quote!((#input, #lower, #upper))
}
