//! `sink(spec)`: any `SinkSpec`, such as `json_lines_sink(dir)`, `csv_sink(dir)` or a
//! Kafka or PostgreSQL sink (Flink's `sinkTo`). The spec is evaluated once per process;
//! each worker writes its records through it. An updating SQL query's changelog goes
//! to a sink that applies changes (`sql::changelog::ChangelogSink`: PostgreSQL upserts).
use quote::{quote, quote_spanned};

use crate::args::Arg;
use crate::emit::Emitter;
use crate::ir::Node;
use crate::spec::{Codegen, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "sink",
    usage: "sink(spec)",
    yields: Yields::Nothing,
    args: &[Arg::Expr],
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let (rt, arg) = (e.rt(), &node.args[0]);
    let sink = e.setup(node, quote_spanned!(node.span=> #arg));
    let key = super::sql_group_by::upsert_key(e.graph(), node).cloned();
    let (ctx, input) = (e.ctx(), e.value_input(node));
    match key {
        // An updating query's changelog: a sink that applies changes, on the query's key.
        Some(key) => {
            // The spec's span is its argument's, where a sink that cannot take changes
            // is reported.
            let spec: proc_macro2::TokenStream = quote!(&#sink)
                .into_iter()
                .map(|mut t| {
                    t.set_span(node.args_span);
                    t
                })
                .collect();
            quote_spanned!(node.span=> #rt::sql::changelog::sink(#spec, #input, &#key, #ctx))
        }
        None => quote_spanned!(node.span=> #rt::sinks::SinkSpec::build(&#sink, #input, #ctx)),
    }
}
