//! `assign_timestamps(|x| ts_millis, out_of_orderness = 4s)`: event time with bounded
//! out-of-orderness (without the option: timestamps that never go back). It must follow
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
    options: &["out_of_orderness"],
    bounded: false,
    time: Some(Time::Event),
    codegen: Codegen::Op(crate::codegen::timestamped_source),
};
