//! `key_by(|x| key)` or `key_by(N)` (tuple field `N`): partitions the stream by key.
//! The exchange happens on the way into the next (keyed) operator.
use quote::{quote, quote_spanned};

use crate::args::{Arg, Selector};
use crate::emit::Emitter;
use crate::ir::{Kind, Node};
use crate::spec::{Codegen, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "key_by",
    usage: "key_by(|x| key) or key_by(field_index)",
    yields: Yields::Stream(Kind::Keyed),
    args: &[Arg::Selector],
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let timed = e.is_timed(node.input(0));
    let input = e.input(node, 0);
    let (by_field, by_fn) = if timed {
        (quote!(key_by_field_timed), quote!(key_by_fn_timed))
    } else {
        (quote!(key_by_field), quote!(key_by_fn))
    };
    match node.selector(0) {
        Selector::Field(index) => quote_spanned!(node.span=>
            #rt::operators::keyed::#by_field(#input, |__tm_r| &__tm_r.#index)),
        Selector::Closure(f) => {
            quote_spanned!(node.span=> #rt::operators::keyed::#by_fn(#input, #f))
        }
    }
}
