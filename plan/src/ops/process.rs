//! `key_by(..).process(f)`: Flink's `KeyedProcessFunction`. `f` implements
//! `KeyedProcessFunction<K, T>`: it sees each record with a `Context` (key, time, timers,
//! side outputs) and keeps per-key state in `ValueState`/`ListState`/`MapState` fields.
//! Its side outputs are taken with `.side_output(TAG)` on the result. After
//! `interval_join(..).between(..)`, `process(|left, right, ctx, out| ..)` is the join's
//! function.
use quote::quote_spanned;

use super::{Arg, Codegen, Kind, Needs, OpSpec, Yields};
use crate::codegen::Emitter;
use crate::graph::Node;

pub const SPEC: OpSpec = OpSpec {
    name: "process",
    usage: "process(MyProcessFunction::new())",
    needs: Needs::Stream(&[Kind::Keyed, Kind::IntervalJoin]),
    yields: Yields::Stream(Kind::Plain),
    args: &[Arg::Expr],
    variadic: false,
    options: &[],
    bounded: false,
    time: None,
    codegen: Codegen::Op(gen),
};

/// `(main, (side, ...))`; the side streams are bound for the `side_output` nodes.
fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, f, name, tick) = (e.rt(), &node.args[0], node.op.name, e.tick());
    if e.kind(node.inputs[0].0) == Some(Kind::IntervalJoin) {
        let input = e.input(node, 0);
        return quote_spanned!(node.span=> #rt::join::interval_join(#input, #name, #tick, #f));
    }
    let timed = e.is_timed(node.inputs[0].0);
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
        #[allow(unused_imports)]
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
