//! `process_window(|key, window, records, out| ...)`: Flink's `ProcessWindowFunction`.
//! When a window fires, the closure gets the key, the `Window` (`start`, `end`) and all
//! the window's records, and pushes outputs into `out: &mut Vec<_>`. The only window
//! operation that buffers records.
use quote::quote_spanned;

use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::{Kind, Node};
use crate::spec::{Codegen, Needs, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "process_window",
    usage: "process_window(|key, window, records, out| out.push(..))",
    needs: Needs::Stream(&[Kind::Windowed]),
    args: &[Arg::Closure],
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, f, name) = (e.rt(), &node.args[0], node.name);
    e.window_call(
        node,
        quote_spanned!(node.span=> #rt::window::process(__tm_w, #name, #f)),
    )
}
