//! `count_window(n)` (tumbling: every `n` records of a key) and `count_window(n, step)`
//! (sliding: the last `n` records, every `step` records) on a keyed stream, and
//! `count_window_all(..)` on an unkeyed one. Count windows need no timestamps.
use quote::quote_spanned;
use syn::spanned::Spanned;

use crate::args::Arg;
use crate::diag::Errors;
use crate::emit::Emitter;
use crate::ir::{Graph, Kind, Node};
use crate::spec::{Codegen, Needs, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "count_window",
    usage: "count_window(100) or count_window(100, 10)",
    needs: Needs::Stream(&[Kind::Keyed]),
    yields: Yields::Stream(Kind::Windowed),
    args: &[Arg::Count, Arg::Count],
    optional: 1,
    check: step_within_size,
    codegen: Codegen::Op(gen),
    ..BASE
};

pub const ALL_SPEC: OpSpec = OpSpec {
    name: "count_window_all",
    usage: "count_window_all(100) or count_window_all(100, 10)",
    needs: Needs::Stream(&[Kind::Plain]),
    wrong_input: |got| {
        (got == Kind::Keyed).then(|| {
            "`count_window_all` is for unkeyed streams: on a keyed stream use `count_window(...)`"
                .to_string()
        })
    },
    ..SPEC
};

/// Whether node `id` is count windows, or reads them (the aggregation of count windows).
pub fn on_count_windows(graph: &Graph, id: usize) -> bool {
    let node = &graph.nodes[id];
    let windows = if node.kind == Some(Kind::Windowed) {
        Some(node)
    } else {
        node.inputs.first().map(|i| &graph.nodes[i.node])
    };
    windows.is_some_and(|w| w.name == SPEC.name || w.name == ALL_SPEC.name)
}

/// Sizes given as literals are checked here, others when the job starts.
fn step_within_size(_: &Graph, node: &Node, errors: &mut Errors) {
    let literal = |i| node.count(i).and_then(|c| c.literal);
    if let (Some(n), Some(m)) = (literal(0), literal(1)) {
        if m > n {
            errors.push(node.args[1].span(), format!("the step ({m} records) is larger than the window size ({n} records): records between windows would be lost; use a step of at most the size"));
        }
    }
}

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let timed = e.is_timed(node.input(0));
    let all = node.name == ALL_SPEC.name;
    let input = e.input(node, 0);
    let input = match (timed, all) {
        (true, _) => input,
        (false, false) => quote_spanned!(node.span=> #rt::window::untimed(#input)),
        (false, true) => quote_spanned!(node.span=> #rt::time::at_zero(#input)),
    };
    let size = node.expr(0);
    // The size expression is evaluated once, also when it is the step.
    let windows = match node.count(1) {
        Some(step) => {
            let step = &step.expr;
            quote_spanned!(node.span=> #rt::window::count_windows(#size, #step))
        }
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
