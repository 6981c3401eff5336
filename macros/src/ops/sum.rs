//! `sum(N)` (Flink's positional sum: the record with field `N` summed) or `sum(|x| value)`
//! (emits `(key, sum)`) on a keyed stream.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::plan::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "sum",
    usage: "sum(field_index) or sum(|x| value)",
    needs: Needs::Stream(Kind::Keyed),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Selector],
    variadic: false,
    bounded: false,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, ctx, input, arg) = (e.rt(), e.ctx(), e.input(node, 0), &node.args[0]);
    match crate::check::field_index(arg) {
        Some(index) => quote_spanned!(node.span=>
            #rt::operators::keyed::sum_field(#input, #ctx, |__tm_r| &mut __tm_r.#index)),
        None => quote_spanned!(node.span=> #rt::operators::keyed::sum_by(#input, #ctx, #arg)),
    }
}
