//! `reduce(|a, b| c)`: on a keyed stream, Flink's rolling reduce per key; on a windowed
//! stream, the records of each key and window combined pairwise.
use quote::quote_spanned;

use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::{Kind, Node};
use crate::spec::{Codegen, Needs, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "reduce",
    usage: "reduce(|a, b| ...)",
    needs: Needs::Stream(&[Kind::Keyed, Kind::Windowed]),
    args: &[Arg::Closure],
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, ctx, f) = (e.rt(), e.ctx(), &node.args[0]);
    if e.is_windowed(node) {
        let agg =
            quote_spanned!(node.span=> #rt::window::Reduce(#rt::window::reduce_fn(&__tm_w, #f)));
        return e.window_aggregate(node, agg);
    }
    let input = e.input(node, 0);
    quote_spanned!(node.span=> #rt::operators::keyed::reduce(#input, #ctx, #f))
}
