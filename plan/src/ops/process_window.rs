//! `process_window(|key, window, records, out| ...)`: Flink's `ProcessWindowFunction`.
//! When a window fires, the closure gets the key, the `Window` (`start`, `end`) and all
//! the window's records, and pushes outputs into `out: &mut Vec<_>`. The only window
//! operation that buffers records.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "process_window",
    usage: "process_window(|key, window, records, out| out.push(..))",
    needs: Needs::Stream(&[Kind::Windowed]),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Closure],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, f, name) = (e.rt(), &node.args[0], node.op.name);
    e.window_call(
        node,
        quote_spanned!(node.span=> #rt::window::process(__tm_w, #name, #f)),
    )
}
