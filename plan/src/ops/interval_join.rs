//! `a.key_by(f).interval_join(b.key_by(g)).between(lower, upper).process(h)`: Flink's
//! interval join. `h(left, right, ctx, out)` runs for every pair of one key with
//! `left.ts + lower <= right.ts <= left.ts + upper`; bounds are durations, possibly
//! negative (`-5s`).
use quote::{quote, quote_spanned};

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::check::signed_duration_ms;
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "interval_join",
    usage: "interval_join(other.key_by(|y| key))",
    needs: Needs::Stream(&[Kind::Keyed]),
    yields: Yields::Stream(Kind::KeyedPair),
    args: &[Arg::Stream],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

pub const BETWEEN: OpSpec = OpSpec {
    name: "between",
    usage: "between(-5s, 10s)",
    needs: Needs::Stream(&[Kind::KeyedPair]),
    yields: Yields::Stream(Kind::IntervalJoin),
    args: &[Arg::Expr, Arg::Expr],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen_between),
};

/// Both keyed sides; a key type mismatch is reported at the other side's keys.
fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let (left, right) = (e.input(node, 0), e.input(node, 1));
    let span = node.inputs[1].1;
    quote_spanned!(span=> #rt::join::interval_pair(#left, #right))
}

fn gen_between(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let input = e.input(node, 0);
    let lower = signed_duration_ms(&node.args[0]).expect("checked");
    let upper = signed_duration_ms(&node.args[1]).expect("checked");
    quote!((#input, #lower, #upper))
}
