//! `flat_map(|x| iterable)`: any number of output records per input record.
use quote::quote;

use super::{Arg, Codegen, Fused, Kind, Needs, OpSpec, Yields};

pub const SPEC: OpSpec = OpSpec {
    name: "flat_map",
    usage: "flat_map(|x| ...)",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Closure],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Fused(Fused {
        helper: "flat_map",
        wrap: |f, inner| quote!(for __tm_r in ::std::iter::IntoIterator::into_iter(#f(__tm_r)) { #inner }),
    }),
};
