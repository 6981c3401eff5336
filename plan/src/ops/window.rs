//! `window(tumbling(size))`, `window(sliding(size, slide))` or `window(session(gap))` on
//! a keyed, timestamped stream, and `window_all(..)` on an unkeyed one (one window for
//! the whole stream).
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::check::window_spec;
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "window",
    usage: "window(tumbling(10s)), window(sliding(10s, 2s)) or window(session(30s))",
    needs: Needs::Stream(&[Kind::Keyed, Kind::JoinKeyed]),
    yields: Yields::Stream(Kind::Windowed),
    args: &[Arg::Window],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

pub const ALL_SPEC: OpSpec = OpSpec {
    name: "window_all",
    usage: "window_all(tumbling(10s)), window_all(sliding(10s, 2s)) or window_all(session(30s))",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Windowed),
    args: &[Arg::Window],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, input) = (e.rt(), e.input(node, 0));
    let spec = window_spec(&node.args[0]).expect("checked");
    let (size, slide) = (spec.size, spec.slide);
    let function = proc_macro2::Ident::new(node.op.name, node.span);
    let windows = if spec.session {
        let tick = e.tick();
        quote_spanned!(node.span=> #rt::window::session(#size).ticked(#tick))
    } else {
        quote_spanned!(node.span=> #rt::window::Assigner::sliding(#size, #slide))
    };
    quote_spanned!(node.span=> #rt::window::#function(#input, #windows))
}
