//! `with_processing_time()`: records are stamped with the wall clock when the source
//! reads them, and the watermark follows the clock. Like `assign_timestamps`, it must
//! follow a source, possibly through stateless operators.
use super::{Codegen, Kind, Needs, OpSpec, Time, Yields};

pub const SPEC: OpSpec = OpSpec {
    name: "with_processing_time",
    usage: "with_processing_time()",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Plain),
    args: &[],
    variadic: false,
    options: &[],
    bounded: false,
    time: Some(Time::Processing),
    codegen: Codegen::Op(crate::codegen::timestamped_source),
};
