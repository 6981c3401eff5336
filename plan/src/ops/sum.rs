//! `sum(N)` (Flink's positional sum: the record with field `N` summed) or `sum(|x| value)`
//! (emits `(key, sum)`) on a keyed stream.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "sum",
    usage: "sum(field_index) or sum(|x| value)",
    needs: Needs::Stream(&[Kind::Keyed, Kind::Windowed]),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Selector],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, ctx, arg) = (e.rt(), e.ctx(), &node.args[0]);
    if e.is_windowed(node) {
        let agg = match crate::check::field_index(arg) {
            Some(index) => quote_spanned!(node.span=>
                #rt::window::SumField(#rt::window::field_fn(&__tm_w, |__tm_r| &mut __tm_r.#index))),
            None => {
                quote_spanned!(node.span=> #rt::window::Sum(#rt::window::value_fn(&__tm_w, #arg)))
            }
        };
        return e.window_aggregate(node, agg);
    }
    let (sum_field, sum_by) = (e.rolling(node, "sum_field"), e.rolling(node, "sum_by"));
    let input = e.input(node, 0);
    match crate::check::field_index(arg) {
        Some(index) => quote_spanned!(node.span=>
            #rt::operators::keyed::#sum_field(#input, #ctx, |__tm_r| &mut __tm_r.#index)),
        None => quote_spanned!(node.span=> #rt::operators::keyed::#sum_by(#input, #ctx, #arg)),
    }
}
