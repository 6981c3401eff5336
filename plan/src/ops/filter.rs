//! `filter(|x| keep)`: the records for which the closure returns true.
use quote::quote;

use super::{Arg, Codegen, Fused, Kind, Needs, OpSpec, Yields};

pub const SPEC: OpSpec = OpSpec {
    name: "filter",
    usage: "filter(|x| ...)",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Closure],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Fused(Fused {
        helper: "filter",
        wrap: |f, inner| quote!(if #f(&__tm_r) { #inner }),
    }),
};
