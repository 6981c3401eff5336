//! `assign_timestamps(|x| ts_millis, out_of_orderness = 4s, idle_timeout = 1min)`: event
//! time with bounded out-of-orderness (without the option: timestamps that never go
//! back); with `idle_timeout`, a source that reads nothing for that long lets its
//! watermark follow the wall clock. It must follow
//! a source, possibly through `map`/`filter`/`flat_map`/`inspect`: those are fused into
//! the source operator, whose capability is the watermark.
use super::{Arg, Codegen, Kind, Needs, OpSpec, Time, Yields};

pub const SPEC: OpSpec = OpSpec {
    name: "assign_timestamps",
    usage: "assign_timestamps(|x| x.ts, out_of_orderness = 4s)",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Closure],
    variadic: false,
    options: &[
        ("out_of_orderness", Arg::Duration),
        ("idle_timeout", Arg::Duration),
    ],
    bounded: false,
    time: Some(Time::Event),
    codegen: Codegen::Op(crate::codegen::timestamped_source),
};
