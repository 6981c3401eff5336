//! `window(tumbling(size))`, `window(sliding(size, slide))` or `window(session(gap))` on
//! a keyed, timestamped stream, and `window_all(..)` on an unkeyed one (one window for
//! the whole stream). On a join keyed with `on`, `window` makes a window join.
use proc_macro2::TokenStream;
use quote::quote_spanned;

use crate::args::Arg;
use crate::diag::Errors;
use crate::emit::Emitter;
use crate::ir::{Graph, Kind, Node, Time};
use crate::spec::{Codegen, Needs, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "window",
    usage: "window(tumbling(10s)), window(sliding(10s, 2s)) or window(session(30s))",
    needs: Needs::Stream(&[Kind::Keyed, Kind::JoinKeyed]),
    yields: Yields::Stream(Kind::Windowed),
    args: &[Arg::Window],
    output_kind: windows_of_a_join,
    check: needs_timestamps,
    wrong_input: |got| {
        (got == Kind::Plain).then(|| "`window` needs a keyed stream: `.key_by(|x| key).window(..)`, or `window_all(..)` for one window over the whole stream".to_string())
    },
    tick,
    codegen: Codegen::Op(gen),
    ..BASE
};

pub const ALL_SPEC: OpSpec = OpSpec {
    name: "window_all",
    usage: "window_all(tumbling(10s)), window_all(sliding(10s, 2s)) or window_all(session(30s))",
    needs: Needs::Stream(&[Kind::Plain]),
    wrong_input: |got| {
        (got == Kind::Keyed).then(|| {
            "`window_all` is for unkeyed streams: on a keyed stream use `window(...)`".to_string()
        })
    },
    ..SPEC
};

/// `window` (or `allowed_lateness`) on a join yields a windowed join.
pub fn windows_of_a_join(declared: Kind, input: Option<Kind>) -> Kind {
    match input {
        Some(Kind::JoinKeyed | Kind::JoinWindowed) => Kind::JoinWindowed,
        _ => declared,
    }
}

fn needs_timestamps(graph: &Graph, node: &Node, errors: &mut Errors) {
    if graph.input_time(node) == Time::None {
        errors.push(
            node.span,
            format!("`{}` needs timestamps: add `.assign_timestamps(|x| x.ts, out_of_orderness = 4s)` (event time) or `.with_processing_time()` after the source", node.name),
        );
    }
}

/// Window ends fall on ticks.
fn tick(node: &Node) -> Vec<u64> {
    node.window(0).ticks()
}

fn gen(e: &mut Emitter<'_>, node: &Node) -> TokenStream {
    let (rt, input) = (e.rt(), e.input(node, 0));
    let function = proc_macro2::Ident::new(node.name, node.span);
    let windows = node.window(0).code(&rt, node.span, e.tick());
    quote_spanned!(node.span=> #rt::window::#function(#input, #windows))
}
