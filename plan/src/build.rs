//! Building the IR from the syntax: stream names and operator names resolved, arguments
//! parsed into their forms, each node's output kind derived from its spec.
//!
//! Problems are collected in [`Errors`], and a statement with a problem is left out of
//! the graph (and its name marked broken) so that one mistake yields one message, not a
//! cascade. Arguments that lack their form are kept as [`Value::Invalid`] for the
//! checker to report.

use std::collections::BTreeMap;

use syn::spanned::Spanned;
use syn::{Expr, Ident};

use crate::args::{bare_name, Arg, Value};
use crate::diag::Errors;
use crate::ir::{
    Graph, Input, Kind, NameInfo, NamedOption, Node, OpId, Outputs, Port, StatementInfo, Time,
};
use crate::ops;
use crate::parse::{Call, Head, PipelineAst};
use crate::spec::{OpSpec, Yields};

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
        Head::Name(name) => match resolve(graph, name, errors)? {
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
        let known: Vec<&str> = ops::ALL.iter().map(|op| op.name).collect();
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

fn resolve(graph: &mut Graph, name: &Ident, errors: &mut Errors) -> Result<Option<usize>, ()> {
    match graph.names.get_mut(&name.to_string()) {
        Some(info) => {
            info.used = true;
            Ok(info.node)
        }
        None => {
            let defined: Vec<&str> = graph.names.keys().map(String::as_str).collect();
            let message = match closest(&name.to_string(), &defined).map(str::to_string) {
                Some(best) => {
                    // Most likely a typo of `best`: count it as used, so it is not also reported unused.
                    if let Some(info) = graph.names.get_mut(&best) {
                        info.used = true;
                    }
                    format!("cannot find stream `{name}` in this pipeline; did you mean `{best}`?")
                }
                None => format!("cannot find stream `{name}` in this pipeline: define it first with `let {name} = ...;`"),
            };
            errors.push(name.span(), message);
            Err(())
        }
    }
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
            match resolve(graph, &name, errors)? {
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

/// How many of `args` are positional: those before the first `name = value`.
fn positional(args: &[Expr]) -> usize {
    args.iter()
        .take_while(|a| !matches!(a, Expr::Assign(_)))
        .count()
}

/// The form of `op`'s `i`-th positional argument.
fn form_of(op: &OpSpec, i: usize) -> Arg {
    op.args
        .get(i)
        .or(if op.variadic { op.args.last() } else { None })
        .copied()
        .unwrap_or(Arg::Expr)
}

/// Adds a node of operator `id` to `graph`, reading `inputs` (the chain's input first,
/// then the streams its arguments name, all already in the graph), and returns its id:
/// what any front end calls to build the IR. `args` are the call's arguments, positional
/// ones then `name = value` options, each parsed in the form the operator's spec gives
/// it (a stream argument is a [`Value::Stream`], its stream being one of `inputs`);
/// `spans` are those of the operator's name and of its arguments, where messages point.
/// The node's output kind, outputs, boundedness and side-output port follow from its
/// spec and inputs; its time is the checker's to set.
pub fn push_node(
    graph: &mut Graph,
    id: OpId,
    spans: (proc_macro2::Span, proc_macro2::Span),
    args: &[Expr],
    mut inputs: Vec<Input>,
) -> usize {
    let op = ops::spec(id);
    let (args, rest) = args.split_at(positional(args));
    let values = args
        .iter()
        .enumerate()
        .map(|(i, arg)| Value::parse(arg, form_of(op, i)))
        .collect();
    let options = rest
        .iter()
        .map(|option| {
            let (name, value) = match option {
                Expr::Assign(a) => (bare_name(&a.left), Some(&*a.right)),
                _ => (None, None),
            };
            let form = name
                .as_ref()
                .and_then(|n| op.options.iter().find(|(o, _)| n == o))
                .map(|(_, form)| *form);
            let value = match (form, value) {
                (Some(form), Some(value)) => Value::parse(value, form),
                _ => Value::Invalid(None),
            };
            NamedOption {
                name,
                expr: option.clone(),
                value,
            }
        })
        .collect();
    let node_id = graph.nodes.len();
    // A side output takes the next side port of its process function.
    if let (Port::Side(_), Some(input)) = (op.reads, inputs.first_mut()) {
        let taken = graph
            .readers(input.node)
            .filter(|(_, port)| matches!(port, Port::Side(_)))
            .count();
        input.port = Port::Side(taken);
    }
    let input_kind = inputs.first().and_then(|i| graph.nodes[i.node].kind);
    let kind = match op.yields {
        Yields::Stream(declared) => Some((op.output_kind)(declared, input_kind)),
        Yields::Nothing => None,
    };
    let bounded = if op.is_source() {
        op.bounded
    } else {
        inputs.iter().all(|i| graph.nodes[i.node].bounded)
    };
    graph.nodes.push(Node {
        id: node_id,
        op: id,
        name: op.name,
        span: spans.0,
        args_span: spans.1,
        args: args.to_vec(),
        values,
        options,
        inputs,
        kind,
        outputs: outputs(op, input_kind),
        bounded,
        time: Time::None,
    });
    node_id
}

/// The outputs of an operator `op` reading a stream of kind `input`.
fn outputs(op: &OpSpec, input: Option<Kind>) -> Outputs {
    if op.is_sink() {
        Outputs::Nothing
    } else if op.is_source() {
        Outputs::MainAndDeadLetters
    } else if op.side_outputs && input == Some(Kind::Keyed) {
        Outputs::MainAndSides
    } else if op.yields == Yields::Stream(Kind::Plain)
        && input.is_some_and(|k| k.is_windowed() || k == Kind::IntervalJoin)
    {
        // An aggregation of windows, or the function of a join over intervals.
        Outputs::MainAndLate
    } else {
        Outputs::Main
    }
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

/// The known name closest to `name` by edit distance, if close enough to be a typo.
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

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
