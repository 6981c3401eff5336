//! `map(|x| y)`: one output record per input record.
use quote::quote;

use crate::args::Arg;
use crate::spec::{Codegen, Fused, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "map",
    usage: "map(|x| ...)",
    args: &[Arg::Closure],
    codegen: Codegen::Fused(Fused {
        helper: "map",
        wrap: |f, inner| quote!({ let __tm_r = #f(__tm_r); #inner }),
    }),
    ..BASE
};
