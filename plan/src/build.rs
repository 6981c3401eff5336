//! Building the IR from the syntax: stream names and operator names resolved, arguments
//! parsed into their forms, each node's output kind derived from its spec.
//!
//! Problems are collected in [`Errors`], and a statement with a problem is left out of
//! the graph (and its name marked broken) so that one mistake yields one message, not a
//! cascade. Arguments that lack their form are kept as [`crate::args::Value::Invalid`] for the
//! checker to report.

use std::collections::BTreeMap;

use syn::spanned::Spanned;
use syn::Expr;

use crate::args::{bare_name, Arg};
use crate::diag::Errors;
use crate::ir::{Graph, Input, NameInfo, OpId, Port, StatementInfo};
pub use crate::nodes::push_node;
use crate::nodes::{closest, form_of, positional, resolve};
use crate::ops;
use crate::parse::{Call, Head, PipelineAst};
use crate::sql;

/// Builds the graph of `ast`, recording problems in `errors`.
pub fn build(ast: &PipelineAst, errors: &mut Errors) -> Graph {
    let mut graph = Graph {
        nodes: Vec::new(),
        statements: Vec::new(),
        names: BTreeMap::new(),
    };
    for statement in &ast.statements {
        let last = build_chain(
            &mut graph,
            &statement.chain.head,
            &statement.chain.calls,
            errors,
        );
        if let Some(name) = &statement.name {
            let key = name.to_string();
            if let Some(previous) = graph.names.get(&key) {
                errors.push(
                    name.span(),
                    format!(
                        "stream `{key}` is already defined (line {}); give this stream another name",
                        previous.ident.span().start().line
                    ),
                );
            } else {
                graph.names.insert(
                    key,
                    NameInfo {
                        ident: name.clone(),
                        node: last.ok().flatten(),
                        used: false,
                    },
                );
            }
        }
        graph.statements.push(StatementInfo {
            name: statement.name.clone(),
            last: last.ok().flatten(),
        });
    }
    graph
}

/// `Ok(Some(last node))`, `Ok(None)` when the chain starts from a broken name (already
/// reported), `Err(())` after reporting a new problem.
fn build_chain(
    graph: &mut Graph,
    head: &Head,
    calls: &[Call],
    errors: &mut Errors,
) -> Result<Option<usize>, ()> {
    let mut current = match head {
        Head::Name(name) => match resolve(graph, name, errors).map_err(drop)? {
            Some(node) => node,
            None => return Ok(None),
        },
        Head::Call(call) => {
            let id = lookup(call, errors)?;
            let op = ops::spec(id);
            if !op.is_source() {
                errors.push(
                    call.name.span(),
                    format!(
                        "`{}` needs an input stream: write `stream.{}`",
                        op.name, op.usage
                    ),
                );
                return Err(());
            }
            add_node(graph, id, call, Vec::new(), errors)?
        }
        Head::Sql(query) => match sql::build(graph, query, errors).map_err(drop)? {
            Some(node) => node,
            None => return Ok(None),
        },
    };
    for call in calls {
        let id = lookup(call, errors)?;
        let op = ops::spec(id);
        if op.is_source() {
            errors.push(
                call.name.span(),
                format!(
                    "`{}` is a source: it starts a stream, e.g. `let s = {};`",
                    op.name, op.usage
                ),
            );
            return Err(());
        }
        let input = Input {
            node: current,
            port: op.reads,
            span: call.name.span(),
        };
        current = add_node(graph, id, call, vec![input], errors)?;
    }
    Ok(Some(current))
}

fn lookup(call: &Call, errors: &mut Errors) -> Result<OpId, ()> {
    let name = call.name.to_string();
    ops::lookup(&name).ok_or_else(|| {
        let known: Vec<&str> = ops::dsl().map(|op| op.name).collect();
        let hint = match closest(&name, &known) {
            Some(best) => format!("did you mean `{best}`? "),
            None => String::new(),
        };
        errors.push(
            call.name.span(),
            format!(
                "unknown operator `{name}`; {hint}known operators: {}",
                known.join(", ")
            ),
        );
    })
}

fn add_node(
    graph: &mut Graph,
    id: OpId,
    call: &Call,
    mut inputs: Vec<Input>,
    errors: &mut Errors,
) -> Result<usize, ()> {
    let op = ops::spec(id);
    let positional = positional(&call.args);
    for (i, arg) in call.args[..positional].iter().enumerate() {
        if form_of(op, i) != Arg::Stream {
            continue;
        }
        // Arguments that name streams become inputs.
        let other = |node, span| Input {
            node,
            port: Port::Main,
            span,
        };
        if let Some(name) = bare_name(arg) {
            match resolve(graph, &name, errors).map_err(drop)? {
                Some(node) => inputs.push(other(node, name.span())),
                None => return Err(()),
            }
            continue;
        }
        // A chain written in place: `interval_join(b.key_by(|y| y.id))`.
        let Some((head, calls)) = chain_of(arg) else {
            errors.push(
                arg.span(),
                format!(
                    "`{}` expects a stream here (a name, or a chain such as `b.key_by(|y| key)`), as in `{}`",
                    op.name, op.usage
                ),
            );
            return Err(());
        };
        let span = calls.last().map_or(arg.span(), |c| c.name.span());
        match build_chain(graph, &head, &calls, errors)? {
            Some(node) => inputs.push(other(node, span)),
            None => return Err(()),
        }
    }
    Ok(push_node(
        graph,
        id,
        (call.name.span(), call.args_span),
        &call.args,
        inputs,
    ))
}

/// A stream chain written as an argument: a name or a source call, then method calls.
fn chain_of(expr: &Expr) -> Option<(Head, Vec<Call>)> {
    match expr {
        Expr::MethodCall(m) if m.turbofish.is_none() => {
            let (head, mut calls) = chain_of(&m.receiver)?;
            calls.push(Call {
                name: m.method.clone(),
                args: m.args.iter().cloned().collect(),
                args_span: m.paren_token.span.join(),
            });
            Some((head, calls))
        }
        Expr::Call(c) => {
            let name = bare_name(&c.func)?;
            let call = Call {
                name,
                args: c.args.iter().cloned().collect(),
                args_span: c.paren_token.span.join(),
            };
            Some((Head::Call(call), Vec::new()))
        }
        _ => bare_name(expr).map(|name| (Head::Name(name), Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Kind;
    use syn::Ident;

    fn graph(src: &str) -> (Graph, Vec<String>) {
        let ast: PipelineAst = syn::parse_str(src).unwrap();
        let mut errors = Errors::default();
        let g = build(&ast, &mut errors);
        (g, errors.messages())
    }

    #[test]
    fn builds_nodes_and_edges() {
        let (g, errors) = graph("let a = from_collection(v).map(|x| x); let b = from_collection(w); a.union(b).print();");
        assert!(errors.is_empty(), "{errors:?}");
        let ops: Vec<&str> = g.nodes.iter().map(|n| n.name).collect();
        assert_eq!(
            ops,
            [
                "from_collection",
                "map",
                "from_collection",
                "union",
                "print"
            ]
        );
        let union_inputs: Vec<usize> = g.nodes[3].inputs.iter().map(|i| i.node).collect();
        assert_eq!(union_inputs, [1, 2]);
        assert!(g.names.values().all(|n| n.used));
    }

    #[test]
    fn unknown_operator_suggests_the_closest() {
        let (_, errors) = graph("from_collection(v).mapp(|x| x).print();");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("unknown operator `mapp`; did you mean `map`?"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn undefined_and_duplicate_names() {
        let (_, errors) = graph(
            "nope.print(); let a = from_collection(v); let a = from_collection(w); a.print();",
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("cannot find stream `nope`"));
        assert!(errors[1].contains("stream `a` is already defined"));
    }

    #[test]
    fn a_misspelt_name_is_one_error() {
        let (_, errors) = graph("let numbers = from_collection(v); numbrs.print();");
        assert_eq!(
            errors,
            ["cannot find stream `numbrs` in this pipeline; did you mean `numbers`?"]
        );
    }

    #[test]
    fn one_mistake_one_message() {
        // `a` is broken by the unknown operator; using it later must not add errors.
        let (_, errors) = graph("let a = from_collection(v).nope(); a.map(|x| x).print();");
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn sources_and_operators_in_their_places() {
        let (_, errors) =
            graph("map(|x| x).print(); let a = from_collection(v).from_collection(w);");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("`map` needs an input stream"));
        assert!(errors[1].contains("`from_collection` is a source"));
    }

    #[test]
    fn another_front_end_builds_the_same_graph_without_the_parser() {
        // What a SQL front end does: nodes by operator name, arguments as expressions.
        let span = |name: &str| syn::parse_str::<Ident>(name).unwrap().span();
        let expr = |src: &str| syn::parse_str::<Expr>(src).unwrap();
        let mut g = Graph {
            nodes: Vec::new(),
            statements: Vec::new(),
            names: BTreeMap::new(),
        };
        let op = |name| ops::lookup(name).unwrap();
        let input = |node| {
            vec![Input {
                node,
                port: Port::Main,
                span: span("x"),
            }]
        };
        let source = push_node(
            &mut g,
            op("from_collection"),
            (span("from_collection"), span("v")),
            &[expr("v")],
            Vec::new(),
        );
        let keyed = push_node(
            &mut g,
            op("key_by"),
            (span("key_by"), span("x")),
            &[expr("|x| *x")],
            input(source),
        );
        let counts = push_node(
            &mut g,
            op("count"),
            (span("count"), span("x")),
            &[],
            input(keyed),
        );
        let sink = push_node(
            &mut g,
            op("print"),
            (span("print"), span("x")),
            &[],
            input(counts),
        );
        g.statements.push(StatementInfo {
            name: None,
            last: Some(sink),
        });
        let mut errors = Errors::default();
        crate::check::check(&mut g, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.messages());
        assert_eq!(g.nodes[counts].kind, Some(Kind::Plain));
        assert_eq!(g.nodes[keyed].kind, Some(Kind::Keyed));

        let (mut dsl, errors) = graph("from_collection(v).key_by(|x| *x).count().print();");
        assert!(errors.is_empty(), "{errors:?}");
        crate::check::check(&mut dsl, &mut Errors::default());
        assert_eq!(
            crate::codegen::generate(&g).to_string(),
            crate::codegen::generate(&dsl).to_string(),
            "the same plan, the same code"
        );
    }
}
