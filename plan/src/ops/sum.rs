//! `sum(N)` (Flink's positional sum: the record with field `N` summed) or `sum(|x| value)`
//! (emits `(key, sum)`) on a keyed stream.
use quote::quote_spanned;

use crate::args::{Arg, Selector};
use crate::emit::Emitter;
use crate::ir::{Kind, Node};
use crate::spec::{Codegen, Needs, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "sum",
    usage: "sum(field_index) or sum(|x| value)",
    needs: Needs::Stream(&[Kind::Keyed, Kind::Windowed]),
    args: &[Arg::Selector],
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, ctx) = (e.rt(), e.ctx());
    if e.is_windowed(node) {
        let agg = match node.selector(0) {
            Selector::Field(index) => quote_spanned!(node.span=>
                #rt::window::SumField(#rt::window::field_fn(&__tm_w, |__tm_r| &mut __tm_r.#index))),
            Selector::Closure(f) => {
                quote_spanned!(node.span=> #rt::window::Sum(#rt::window::value_fn(&__tm_w, #f)))
            }
        };
        return e.window_aggregate(node, agg);
    }
    let input = e.input(node, 0);
    match node.selector(0) {
        Selector::Field(index) => quote_spanned!(node.span=>
            #rt::operators::keyed::sum_field(#input, #ctx, |__tm_r| &mut __tm_r.#index)),
        Selector::Closure(f) => {
            quote_spanned!(node.span=> #rt::operators::keyed::sum_by(#input, #ctx, #f))
        }
    }
}
