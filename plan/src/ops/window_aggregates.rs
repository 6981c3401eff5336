//! Aggregations that need a window: `min(|x| v)`, `max(|x| v)`, `avg(|x| v)` and
//! `aggregate(aggregator)` (a value implementing `tidemill::Aggregator`).
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::graph::Node;

const fn windowed(name: &'static str, usage: &'static str, arg: Arg) -> OpSpec {
    OpSpec {
        name,
        usage,
        needs: Needs::Stream(&[Kind::Windowed]),
        yields: Yields::Stream(Kind::Plain),
        args: match arg {
            Arg::Closure => &[Arg::Closure],
            _ => &[Arg::Expr],
        },
        variadic: false,
        options: &[],
        bounded: false,
        time: None,
        codegen: Codegen::Op(gen),
    }
}

pub const MIN: OpSpec = windowed("min", "min(|x| value)", Arg::Closure);
pub const MAX: OpSpec = windowed("max", "max(|x| value)", Arg::Closure);
pub const AVG: OpSpec = windowed("avg", "avg(|x| value)", Arg::Closure);
pub const AGGREGATE: OpSpec = windowed("aggregate", "aggregate(aggregator)", Arg::Expr);

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, arg) = (e.rt(), &node.args[0]);
    let agg = match node.op.name {
        "min" => quote_spanned!(node.span=> #rt::window::min(#rt::window::value_fn(&__tm_w, #arg))),
        "max" => quote_spanned!(node.span=> #rt::window::max(#rt::window::value_fn(&__tm_w, #arg))),
        "avg" => quote_spanned!(node.span=> #rt::window::Avg(#rt::window::value_fn(&__tm_w, #arg))),
        _ => quote_spanned!(node.span=> #arg),
    };
    e.window_aggregate(node, agg)
}
