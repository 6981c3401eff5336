//! `inspect(|x| ...)`: sees each record by reference and passes it on.
use quote::quote;

use super::{Arg, Codegen, Fused, Kind, Needs, OpSpec, Yields};

pub const SPEC: OpSpec = OpSpec {
    name: "inspect",
    usage: "inspect(|x| ...)",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Closure],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Fused(Fused {
        helper: "inspect",
        wrap: |f, inner| quote!({ #f(&__tm_r); #inner }),
    }),
};
