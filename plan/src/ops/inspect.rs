//! `inspect(|x| ...)`: sees each record by reference and passes it on.
use quote::quote;

use crate::args::Arg;
use crate::spec::{Codegen, Fused, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "inspect",
    usage: "inspect(|x| ...)",
    args: &[Arg::Closure],
    codegen: Codegen::Fused(Fused {
        helper: "inspect",
        wrap: |f, inner| quote!({ #f(&__tm_r); #inner }),
    }),
    ..BASE
};
