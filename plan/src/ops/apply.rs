//! `.apply(|x, y| out)`: the function of a window join (one output per pair of a window's
//! records) or of a table join (one output per matching row).
use quote::quote_spanned;

use super::join::step_of_a_join;
use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::{Kind, Node};
use crate::spec::{Codegen, Needs, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "apply",
    usage: "apply(|x, y| ..)",
    needs: Needs::Stream(&[Kind::JoinWindowed, Kind::LookupKeyed]),
    args: &[Arg::Closure],
    wrong_input: |_| {
        step_of_a_join(
            "apply",
            "a.join(b).on(|x| key, |y| key).window(tumbling(10s)).apply(|x, y| ..)",
        )
    },
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, name, f) = (e.rt(), node.name, node.expr(0));
    let lookup = e.input_kind(node) == Some(Kind::LookupKeyed);
    let input = e.input(node, 0);
    if !lookup {
        return quote_spanned!(node.span=> #rt::join::apply(#input, #name, #f));
    }
    // Whether the records can be checkpointed while they wait for the table: see
    // `StateProbe`.
    let call = quote_spanned!(node.span=> {
        #[allow(unused_imports, reason = "only one of the two probe traits applies to given records")]
        use #rt::operators::process::{ViaNothing as _, ViaSerde as _};
        let __tm_in = #input;
        let __tm_codec = (&#rt::join::waiting_probe(&__tm_in)).codec();
        #rt::join::lookup_join(__tm_in, #name, #f, __tm_codec)
    });
    if e.is_timed(node.id) {
        call
    } else {
        quote_spanned!(node.span=> #rt::time::values(#call))
    }
}
