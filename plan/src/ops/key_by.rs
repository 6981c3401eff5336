//! `key_by(|x| key)` or `key_by(N)` (tuple field `N`): partitions the stream by key.
//! The exchange happens on the way into the next (keyed) operator.
use quote::{quote, quote_spanned};

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "key_by",
    usage: "key_by(|x| key) or key_by(field_index)",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::Keyed),
    args: &[Arg::Selector],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, arg) = (e.rt(), &node.args[0]);
    let timed = e.is_timed(node.inputs[0].0);
    let input = e.input(node, 0);
    let (by_field, by_fn) = if timed {
        (quote!(key_by_field_timed), quote!(key_by_fn_timed))
    } else {
        (quote!(key_by_field), quote!(key_by_fn))
    };
    match crate::check::field_index(arg) {
        Some(index) => quote_spanned!(node.span=>
            #rt::operators::keyed::#by_field(#input, |__tm_r| &__tm_r.#index)),
        None => quote_spanned!(node.span=> #rt::operators::keyed::#by_fn(#input, #arg)),
    }
}
