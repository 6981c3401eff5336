//! `with_processing_time()`: records are stamped with the wall clock when the source
//! reads them, and the watermark follows the clock. Like `assign_timestamps`, it must
//! follow a source, possibly through stateless operators.
use quote::quote_spanned;

use crate::ir::Time;
use crate::spec::{Codegen, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "with_processing_time",
    usage: "with_processing_time()",
    time: Some(Time::Processing),
    codegen: Codegen::Assigner(|e, node| {
        let (rt, tick) = (e.rt(), e.tick());
        quote_spanned!(node.span=> #rt::time::ProcessingTime::new(#tick))
    }),
    ..BASE
};
