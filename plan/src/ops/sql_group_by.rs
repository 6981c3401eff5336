//! `__sql_group_by(key, value, fold, having, project, upsert_key)`: what `sql!` lowers an updating
//! `GROUP BY` (one without a window) to, not DSL syntax. Each record's key and aggregate
//! arguments go into a differential-dataflow collection, reduced per key by `fold`; the
//! changes of each key's result become a changelog of rows (`+I`, `-U`/`+U`, `-D`),
//! filtered by `having` and built by `project` (see the runtime's `sql::changelog`).
//! `upsert_key` names the result's key columns (`["user_id", "item_id"]`), for sinks.
use quote::{quote, quote_spanned};

use crate::args::Arg;
use crate::diag::Errors;
use crate::emit::Emitter;
use crate::ir::{Graph, Node};
use crate::spec::{Codegen, OpSpec, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "__sql_group_by",
    usage: "sql!(\"SELECT k, COUNT(*) AS n FROM t GROUP BY k\")",
    args: &[
        Arg::Closure,
        Arg::Closure,
        Arg::Expr,
        Arg::Closure,
        Arg::Closure,
        Arg::Expr,
    ],
    codegen: Codegen::Op(gen),
    ..BASE
};

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let tick = e.tick();
    let (function, tick) = if e.is_timed(node.input(0)) {
        (quote!(group_by_timed), quote!(#tick,))
    } else {
        (quote!(group_by), quote!())
    };
    let (input, ctx) = (e.input(node, 0), e.ctx());
    let (key, value, fold, having, project) = (
        node.expr(0),
        node.expr(1),
        node.expr(2),
        node.expr(3),
        node.expr(4),
    );
    quote_spanned!(node.span=> #rt::sql::changelog::#function(#input, #ctx, #tick #key, #value, #fold, #having, #project))
}

/// Whether `node` reads an updating query's changelog as it is.
pub fn reads_changelog(graph: &Graph, node: &Node) -> Option<&'static str> {
    node.inputs
        .first()
        .filter(|input| graph.nodes[input.node].name == SPEC.name)
        .map(|_| node.name)
}

/// The check of append-only sinks: an updating query's changelog is refused, with
/// Flink's reason.
pub fn append_only(graph: &Graph, node: &Node, errors: &mut Errors) {
    if let Some(sink) = reads_changelog(graph, node) {
        errors.push(
            node.span,
            format!("`{sink}` does not support consuming update changes: the query is an updating one (a `GROUP BY` without a window, whose rows change); write it with `print()`, to a PostgreSQL table in upsert mode, `sink(postgres(url, table).upsert())`, or to Kafka as upsert-kafka, `kafka_sink(brokers, topic, Json)`"),
        );
    }
}

/// The upsert key of the changelog `node` reads, as the runtime's sink takes it.
pub fn upsert_key<'g>(graph: &'g Graph, node: &Node) -> Option<&'g syn::Expr> {
    reads_changelog(graph, node).map(|_| graph.nodes[node.inputs[0].node].expr(5))
}
