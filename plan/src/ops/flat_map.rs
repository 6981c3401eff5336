//! `flat_map(|x| iterable)`: any number of output records per input record.
use quote::quote;

use crate::args::Arg;
use crate::spec::{Codegen, Fused, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "flat_map",
    usage: "flat_map(|x| ...)",
    args: &[Arg::Closure],
    codegen: Codegen::Fused(Fused {
        helper: "flat_map",
        wrap: |f, inner| quote!(for __tm_r in ::std::iter::IntoIterator::into_iter(#f(__tm_r)) { #inner }),
    }),
    ..BASE
};
