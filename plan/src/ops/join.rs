//! `a.join(b).on(|x| key, |y| key)`, followed by `.window(w).apply(|x, y| ..)`: Flink's
//! window join; and `a.lookup_join(table).on(|x| key, |row| key).apply(|x, row| ..)`: a
//! stream enriched by a bounded table loaded on every worker first.
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::{Kind, Node};
use crate::spec::{Codegen, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "join",
    usage: "join(other).on(|x| key, |y| key).window(tumbling(10s)).apply(|x, y| ..)",
    yields: Yields::Stream(Kind::JoinPair),
    args: &[Arg::Stream],
    codegen: Codegen::Op(pair),
    ..BASE
};

pub const LOOKUP: OpSpec = OpSpec {
    name: "lookup_join",
    usage: "lookup_join(table).on(|x| key, |row| key).apply(|x, row| ..)",
    yields: Yields::Stream(Kind::LookupPair),
    args: &[Arg::Stream],
    // The table is loaded before the stream is joined: its time does not matter.
    same_time: false,
    check: |graph, node, errors| {
        let table = node.inputs[1];
        if !graph.nodes[table.node].bounded {
            errors.push(table.span, "the table of `lookup_join` must be bounded (read from `from_collection` or a file): it is loaded before the stream is joined");
        }
    },
    codegen: Codegen::Op(lookup_pair),
    ..BASE
};

pub const ON: OpSpec = OpSpec {
    name: "on",
    usage: "on(|x| key, |y| key)",
    needs: crate::spec::Needs::Stream(&[Kind::JoinPair, Kind::LookupPair]),
    yields: Yields::Stream(Kind::JoinKeyed),
    args: &[Arg::Closure, Arg::Closure],
    output_kind: |declared, input| match input {
        Some(Kind::LookupPair) => Kind::LookupKeyed,
        _ => declared,
    },
    wrong_input: |_| step_of_a_join("on", "a.join(b).on(|x| key, |y| key)"),
    codegen: Codegen::Op(on),
    ..BASE
};

/// The message for a step of a join (`name`) used on its own: how the whole join reads.
pub fn step_of_a_join(name: &str, whole: &str) -> Option<String> {
    Some(format!("`{name}` is a step of a join, as in `{whole}`"))
}

fn pair(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (a, b) = (e.input(node, 0), e.input(node, 1));
    quote!((#a, #b))
}

/// The stream (at event time 0 when it has no timestamps) and the table's rows.
fn lookup_pair(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let (stream_timed, table_timed) = (e.is_timed(node.input(0)), e.is_timed(node.input(1)));
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
    let lookup = e.input_kind(node) == Some(Kind::LookupPair);
    let input = e.input(node, 0);
    let (fa, fb) = (node.expr(0), node.expr(1));
    let pin = if lookup {
        quote!(pin_lookup_keys)
    } else {
        quote!(pin_keys)
    };
    // Spanned at the second selector throughout, path included, so that rustc points
    // there (`rt()` carries the macro's span).
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
