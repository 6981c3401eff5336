//! `key_by(|x| key)` or `key_by(N)` (tuple field `N`): partitions the stream by key.
//! The exchange happens on the way into the next (keyed) operator.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::plan::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "key_by",
    usage: "key_by(|x| key) or key_by(field_index)",
    needs: Needs::Stream(Kind::Plain),
    yields: Yields::Stream(Kind::Keyed),
    args: &[Arg::Selector],
    variadic: false,
    bounded: false,
    codegen: Codegen::Op(gen),
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, input, arg) = (e.rt(), e.input(node, 0), &node.args[0]);
    match crate::check::field_index(arg) {
        Some(index) => quote_spanned!(node.span=>
            #rt::operators::keyed::key_by_field(#input, |__tm_r| &__tm_r.#index)),
        None => quote_spanned!(node.span=> #rt::operators::keyed::key_by_fn(#input, #arg)),
    }
}
