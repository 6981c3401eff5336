//! `kafka_sink(brokers, topic, format, key = |r| ..)`: records to a Kafka topic in a
//! format (`Json`, `Csv`, `Text`, `Bytes` or an encoder of your own), keyed by the
//! closure's result when `key` is given (records of one key go to one partition, in
//! order), with the producer properties of `properties = [("linger.ms", "20")]` if given.
//! The same sink as `sink(kafka_sink(brokers, topic).format(f).key(..))`, with the key
//! closure typed by the stream, so it needs no annotation. The sink's settings are
//! evaluated once per process; each worker has its own producer.
use quote::quote_spanned;
use syn::spanned::Spanned;

use crate::args::Arg;
use crate::diag::Errors;
use crate::emit::Emitter;
use crate::ir::Node;
use crate::spec::{Codegen, OpSpec, Yields, BASE};

pub const SPEC: OpSpec = OpSpec {
    name: "kafka_sink",
    usage: "kafka_sink(brokers, topic, Json, key = |r| r.id)",
    yields: Yields::Nothing,
    args: &[Arg::Expr, Arg::Expr, Arg::Expr],
    options: &[("key", Arg::Closure), ("properties", Arg::Expr)],
    check: |graph, node, errors| {
        needs_the_feature(cfg!(feature = "kafka"), node, errors);
        if super::sql_group_by::reads_changelog(graph, node).is_some() {
            if let Some(key) = node.option_expr("key") {
                errors.push(key.span(), "an updating query's changelog goes to Kafka as upsert-kafka, keyed by the query's GROUP BY columns: leave out `key`");
            }
        }
    },
    codegen: Codegen::Op(gen),
    ..BASE
};

/// Without the `kafka` feature the runtime has no Kafka connector: one error at the
/// operator, saying what to enable, rather than rustc's about a missing path.
fn needs_the_feature(enabled: bool, node: &Node, errors: &mut Errors) {
    if !enabled {
        errors.push(node.span, "`kafka_sink` needs tidemill's `kafka` feature: in Cargo.toml, `tidemill = { ..., features = [\"kafka\"] }`");
    }
}

fn gen(e: &mut Emitter<'_>, node: &Node) -> proc_macro2::TokenStream {
    let rt = e.rt();
    let (brokers, topic, format) = (&node.args[0], &node.args[1], &node.args[2]);
    let mut spec = quote_spanned!(node.span=>
        #rt::kafka::kafka_sink(&(#brokers), &(#topic)).format(#format));
    if let Some(properties) = node.option_expr("properties") {
        spec = quote_spanned!(node.span=> #spec.properties(#properties));
    }
    let key = node.option_expr("key");
    let upsert_key = super::sql_group_by::upsert_key(e.graph(), node).cloned();
    let spec = e.setup(node, spec);
    let (ctx, input) = (e.ctx(), e.value_input(node));
    if let Some(columns) = upsert_key {
        // An updating query's changelog: upsert-kafka on the query's key.
        return quote_spanned!(node.span=> #rt::sql::changelog::sink(&#spec, #input, &#columns, #ctx));
    }
    match key {
        None => quote_spanned!(node.span=> #rt::sinks::SinkSpec::build(&#spec, #input, #ctx)),
        Some(key) => quote_spanned!(node.span=> {
            let __tm_i = #input;
            let __tm_k = #rt::kafka::keyed_like(&__tm_i, &#spec, #key);
            #rt::sinks::SinkSpec::build(&__tm_k, __tm_i, #ctx)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_feature_kafka_sink_is_one_error_saying_what_to_enable() {
        let ast = syn::parse_str("from_collection(v).kafka_sink(b, t, Json);").unwrap();
        let mut errors = Errors::default();
        let graph = crate::build::build(&ast, &mut errors);
        let node = graph.nodes.iter().find(|n| n.name == "kafka_sink").unwrap();
        needs_the_feature(true, node, &mut errors);
        assert!(errors.is_empty());
        needs_the_feature(false, node, &mut errors);
        let messages = errors.messages();
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].contains("needs tidemill's `kafka` feature"),
            "{messages:?}"
        );
    }
}
