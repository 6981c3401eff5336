//! Aggregations that need a window: `min(|x| v)`, `max(|x| v)`, `avg(|x| v)` and
//! `aggregate(aggregator)` (a value implementing `tidemill::Aggregator`).
use proc_macro2::TokenStream;
use quote::quote_spanned;

use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::{Kind, Node};
use crate::spec::{Codegen, Needs, OpSpec, BASE};

const fn windowed(
    name: &'static str,
    usage: &'static str,
    args: &'static [Arg],
    write: fn(&mut Emitter<'_>, &Node) -> TokenStream,
) -> OpSpec {
    OpSpec {
        name,
        usage,
        needs: Needs::Stream(&[Kind::Windowed]),
        args,
        codegen: Codegen::Op(write),
        ..BASE
    }
}

pub const MIN: OpSpec = windowed("min", "min(|x| value)", &[Arg::Closure], |e, node| {
    let (rt, f) = (e.rt(), node.expr(0));
    let agg = quote_spanned!(node.span=> #rt::window::min(#rt::window::value_fn(&__tm_w, #f)));
    e.window_aggregate(node, agg)
});

pub const MAX: OpSpec = windowed("max", "max(|x| value)", &[Arg::Closure], |e, node| {
    let (rt, f) = (e.rt(), node.expr(0));
    let agg = quote_spanned!(node.span=> #rt::window::max(#rt::window::value_fn(&__tm_w, #f)));
    e.window_aggregate(node, agg)
});

pub const AVG: OpSpec = windowed("avg", "avg(|x| value)", &[Arg::Closure], |e, node| {
    let (rt, f) = (e.rt(), node.expr(0));
    let agg = quote_spanned!(node.span=> #rt::window::Avg(#rt::window::value_fn(&__tm_w, #f)));
    e.window_aggregate(node, agg)
});

pub const AGGREGATE: OpSpec = windowed(
    "aggregate",
    "aggregate(aggregator)",
    &[Arg::Expr],
    |e, node| {
        let agg = node.expr(0);
        let agg = quote_spanned!(node.span=> #agg);
        e.window_aggregate(node, agg)
    },
);
