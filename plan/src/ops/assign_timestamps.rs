//! `assign_timestamps(|x| ts_millis, out_of_orderness = 4s, idle_timeout = 1min)`: event
//! time with bounded out-of-orderness (without the option: timestamps that never go
//! back); with `idle_timeout`, a source that reads nothing for that long lets its
//! watermark follow the wall clock. It must follow
//! a source, possibly through `map`/`filter`/`flat_map`/`inspect`: those are fused into
//! the source operator, whose capability is the watermark.
use quote::quote_spanned;

use crate::args::Arg;
use crate::ir::Time;
use crate::spec::{Codegen, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "assign_timestamps",
    usage: "assign_timestamps(|x| x.ts, out_of_orderness = 4s)",
    args: &[Arg::Closure],
    options: &[
        ("out_of_orderness", Arg::Duration),
        ("idle_timeout", Arg::Duration),
    ],
    time: Some(Time::Event),
    codegen: Codegen::Assigner(|e, node| {
        let (rt, f, tick) = (e.rt(), node.expr(0), e.tick());
        let bound = node.option_duration("out_of_orderness").unwrap_or(0);
        let stamper = quote_spanned!(node.span=> #rt::time::bounded(__tm_ty, #f, #bound, #tick));
        match node.option_duration("idle_timeout") {
            Some(ms) => quote_spanned!(node.span=> #stamper.with_idle_timeout(#ms)),
            None => stamper,
        }
    }),
    ..BASE
};
