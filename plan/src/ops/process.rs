//! `key_by(..).process(f)`: Flink's `KeyedProcessFunction`. `f` implements
//! `KeyedProcessFunction<K, T>`: it sees each record with a `Context` (key, time, timers,
//! side outputs) and keeps per-key state in `ValueState`/`ListState`/`MapState` fields.
//! Its side outputs are taken with `.side_output(TAG)` on the result. After
//! `interval_join(..).between(..)`, `process(|left, right, ctx, out| ..)` is the join's
//! function.
use quote::quote_spanned;

use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::{Kind, Node};
use crate::spec::{Codegen, Needs, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "process",
    usage: "process(MyProcessFunction::new())",
    needs: Needs::Stream(&[Kind::Keyed, Kind::IntervalJoin]),
    args: &[Arg::Expr],
    side_outputs: true,
    codegen: Codegen::Op(gen),
    ..BASE
};

/// `(main, (side, ...))` for a keyed stream; `(results, late)` for an interval join.
fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, f, name, tick) = (e.rt(), node.expr(0), node.name, e.tick());
    if e.input_kind(node) == Some(Kind::IntervalJoin) {
        let input = e.input(node, 0);
        return quote_spanned!(node.span=> #rt::join::interval_join(#input, #name, #tick, #f));
    }
    let timed = e.is_timed(node.input(0));
    let input = e.input(node, 0);
    let tags = e.side_tags(node);
    let keyed = if timed {
        input
    } else {
        quote_spanned!(node.span=> #rt::window::untimed(#input))
    };
    // Whether the function can be checkpointed (implements serde's traits) is found by
    // method resolution on its concrete type: see `StateProbe`.
    let call = quote_spanned!(node.span=> {
        #[allow(unused_imports, reason = "only one of the two probe traits applies to a given function")]
        use #rt::operators::process::{ViaNothing as _, ViaSerde as _};
        let __tm_f = #f;
        let __tm_codec = (&#rt::operators::process::StateProbe::of(&__tm_f)).codec();
        #rt::operators::process::process(#keyed, #name, __tm_f, #tick, (#(#tags,)*), __tm_codec)
    });
    if timed {
        call
    } else {
        quote_spanned!(node.span=> {
            let (__tm_main, __tm_sides) = #call;
            (#rt::time::values(__tm_main), __tm_sides)
        })
    }
}
