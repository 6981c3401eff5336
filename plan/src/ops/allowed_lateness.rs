//! `allowed_lateness(2s)` on an event-time window: records up to this much behind the
//! watermark still update their window, which fires again with the updated result.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::check::duration_ms;
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "allowed_lateness",
    usage: "allowed_lateness(2s)",
    needs: Needs::Stream(&[Kind::Windowed, Kind::JoinWindowed]),
    yields: Yields::Stream(Kind::Windowed),
    args: &[Arg::Duration],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, input) = (e.rt(), e.input(node, 0));
    let ms = duration_ms(&node.args[0]).expect("checked");
    quote_spanned!(node.span=> #rt::window::allowed_lateness(#input, #ms))
}
