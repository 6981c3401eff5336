//! `map(|x| y)`: one output record per input record.
use quote::quote;

use super::{Arg, Codegen, Fused, Kind, Needs, OpSpec, Yields};

pub const SPEC: OpSpec = OpSpec {
    name: "map",
    usage: "map(|x| ...)",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Closure],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Fused(Fused {
        helper: "map",
        wrap: |f, inner| quote!({ let __tm_r = #f(__tm_r); #inner }),
    }),
};
