//! `count()`: on a keyed stream, the rolling `(key, number of records)`; on a windowed
//! stream, the number of records per key and window.
use quote::quote_spanned;

use crate::emit::Emitter;
use crate::ir::{Kind, Node};
use crate::spec::{Codegen, Needs, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "count",
    usage: "count()",
    needs: Needs::Stream(&[Kind::Keyed, Kind::Windowed]),
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, ctx) = (e.rt(), e.ctx());
    if e.is_windowed(node) {
        return e.window_aggregate(node, quote_spanned!(node.span=> #rt::window::Count));
    }
    let input = e.input(node, 0);
    quote_spanned!(node.span=> #rt::operators::keyed::count(#input, #ctx))
}
