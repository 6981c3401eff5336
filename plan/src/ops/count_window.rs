//! `count_window(n)` (tumbling: every `n` records of a key) and `count_window(n, step)`
//! (sliding: the last `n` records, every `step` records) on a keyed stream, and
//! `count_window_all(..)` on an unkeyed one. Count windows need no timestamps.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "count_window",
    usage: "count_window(100) or count_window(100, 10)",
    needs: Needs::Stream(&[Kind::Keyed]),
    yields: Yields::Stream(Kind::Windowed),
    args: &[Arg::Expr],
    variadic: true,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

pub const ALL_SPEC: OpSpec = OpSpec {
    name: "count_window_all",
    usage: "count_window_all(100) or count_window_all(100, 10)",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Windowed),
    args: &[Arg::Expr],
    variadic: true,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let timed = e.is_timed(node.inputs[0].0);
    let all = node.op.name == "count_window_all";
    let input = e.input(node, 0);
    let input = match (timed, all) {
        (true, _) => input,
        (false, false) => quote_spanned!(node.span=> #rt::window::untimed(#input)),
        (false, true) => quote_spanned!(node.span=> #rt::time::at_zero(#input)),
    };
    let size = &node.args[0];
    // The size expression is evaluated once, also when it is the step.
    let windows = match node.args.get(1) {
        Some(step) => quote_spanned!(node.span=> #rt::window::count_windows(#size, #step)),
        None => quote_spanned!(node.span=> {
            let __tm_size = #size;
            #rt::window::count_windows(__tm_size, __tm_size)
        }),
    };
    if all {
        quote_spanned!(node.span=> #rt::window::window_all(#input, #windows))
    } else {
        quote_spanned!(node.span=> #rt::window::window(#input, #windows))
    }
}
