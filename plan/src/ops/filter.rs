//! `filter(|x| keep)`: the records for which the closure returns true.
use quote::quote;

use crate::args::Arg;
use crate::spec::{Codegen, Fused, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "filter",
    usage: "filter(|x| ...)",
    args: &[Arg::Closure],
    codegen: Codegen::Fused(Fused {
        helper: "filter",
        wrap: |f, inner| quote!(if #f(&__tm_r) { #inner }),
    }),
    ..BASE
};
