//! `results.late()`: the records that came too late for the window aggregation that
//! produced `results` (past the allowed lateness), with their timestamps. Without it, a
//! window's late records are counted and the count is reported when the job ends.
use super::{Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "late",
    usage: "late()",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Plain),
    args: &[],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    e.late_input(node)
}
