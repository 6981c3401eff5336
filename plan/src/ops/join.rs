//! `a.join(b).on(|x| key, |y| key)`, followed by `.window(w).apply(|x, y| ..)`: Flink's
//! window join; and `a.lookup_join(table).on(|x| key, |row| key).apply(|x, row| ..)`: a
//! stream enriched by a bounded table loaded on every worker first.
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "join",
    usage: "join(other).on(|x| key, |y| key).window(tumbling(10s)).apply(|x, y| ..)",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::JoinPair),
    args: &[Arg::Stream],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(pair),
};

pub const LOOKUP: OpSpec = OpSpec {
    name: "lookup_join",
    usage: "lookup_join(table).on(|x| key, |row| key).apply(|x, row| ..)",
    needs: Needs::Stream(&[Kind::Plain]),
    yields: Yields::Stream(Kind::LookupPair),
    args: &[Arg::Stream],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(lookup_pair),
};

pub const ON: OpSpec = OpSpec {
    name: "on",
    usage: "on(|x| key, |y| key)",
    needs: Needs::Stream(&[Kind::JoinPair, Kind::LookupPair]),
    yields: Yields::Stream(Kind::JoinKeyed),
    args: &[Arg::Closure, Arg::Closure],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(on),
};

fn pair(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (a, b) = (e.input(node, 0), e.input(node, 1));
    quote!((#a, #b))
}

/// The stream (at event time 0 when it has no timestamps) and the table's rows.
fn lookup_pair(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let (stream_timed, table_timed) = (e.is_timed(node.inputs[0].0), e.is_timed(node.inputs[1].0));
    let (mut a, mut b) = (e.input(node, 0), e.input(node, 1));
    if !stream_timed {
        a = quote_spanned!(node.span=> #rt::time::at_zero(#a));
    }
    if table_timed {
        b = quote_spanned!(node.span=> #rt::time::values(#b));
    }
    quote!((#a, #b))
}

/// Both key selectors, their argument types pinned to the sides' records; a key type
/// mismatch is reported at the second selector.
fn on(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let input = e.input(node, 0);
    let (fa, fb) = (&node.args[0], &node.args[1]);
    let lookup = e.kind(node.inputs[0].0) == Some(Kind::LookupPair);
    let pin = if lookup {
        quote!(pin_lookup_keys)
    } else {
        quote!(pin_keys)
    };
    // Spanned at the second selector throughout, so that rustc points there.
    let keyed = if lookup {
        quote_spanned!(fb.span()=> ::tidemill::__private::join::lookup_keys(__tm_p, __tm_fa, __tm_fb))
    } else {
        quote_spanned!(fb.span()=> ::tidemill::__private::join::on(__tm_p, __tm_fa, __tm_fb))
    };
    quote_spanned!(node.span=> {
        let __tm_p = #input;
        let (__tm_fa, __tm_fb) = #rt::join::#pin(&__tm_p, #fa, #fb);
        #keyed
    })
}
