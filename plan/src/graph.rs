//! The plan graph: operators as nodes, streams as edges, names resolved.
//!
//! Building the graph resolves stream names and operator names; problems are collected
//! in [`Errors`], and a statement with a problem is left out of the graph (and its name
//! marked broken) so that one mistake yields one message, not a cascade.

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Ident};

use crate::diag::Errors;
use crate::ops::{self, Arg, OpSpec};
use crate::parse::{Call, Head, PipelineAst};

/// One operator of the pipeline.
pub struct Node {
    pub id: usize,
    pub op: &'static OpSpec,
    /// The span of the operator's name: messages and generated code point here.
    pub span: Span,
    /// The span of the parenthesized arguments.
    pub args_span: Span,
    pub args: Vec<Expr>,
    /// Input nodes with the span of the reference: the chain's input first, then streams
    /// named in arguments (`union(b)`).
    pub inputs: Vec<(usize, Span)>,
}

impl Node {
    /// The value of the named option `name = value` among the arguments, if given.
    pub fn option(&self, name: &str) -> Option<&Expr> {
        self.args.iter().find_map(|a| match a {
            Expr::Assign(a) if stream_name(&a.left).is_some_and(|n| n == name) => Some(&*a.right),
            _ => None,
        })
    }
}

/// A statement as the checker sees it.
pub struct StatementInfo {
    pub name: Option<Ident>,
    /// The last node of the chain; `None` when the statement was left out.
    pub last: Option<usize>,
}

pub struct Graph {
    pub nodes: Vec<Node>,
    pub statements: Vec<StatementInfo>,
    /// Names bound by `let`, with the node they name and whether they are used.
    pub names: BTreeMap<String, NameInfo>,
}

pub struct NameInfo {
    pub ident: Ident,
    /// `None` when the defining statement had an error.
    pub node: Option<usize>,
    pub used: bool,
}

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
            let op = lookup(call, errors)?;
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
            add_node(graph, op, call, Vec::new(), errors)?
        }
    };
    for call in calls {
        let op = lookup(call, errors)?;
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
        current = add_node(graph, op, call, vec![(current, call.name.span())], errors)?;
    }
    Ok(Some(current))
}

fn lookup(call: &Call, errors: &mut Errors) -> Result<&'static OpSpec, ()> {
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
    op: &'static OpSpec,
    call: &Call,
    mut inputs: Vec<(usize, Span)>,
    errors: &mut Errors,
) -> Result<usize, ()> {
    // Arguments that name streams become inputs.
    for (i, arg) in call.args.iter().enumerate() {
        let kind = op
            .args
            .get(i)
            .or(if op.variadic { op.args.last() } else { None });
        if kind != Some(&Arg::Stream) {
            continue;
        }
        if let Some(name) = stream_name(arg) {
            match resolve(graph, &name, errors)? {
                Some(node) => inputs.push((node, name.span())),
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
            Some(node) => inputs.push((node, span)),
            None => return Err(()),
        }
    }
    let id = graph.nodes.len();
    graph.nodes.push(Node {
        id,
        op,
        span: call.name.span(),
        args_span: call.args_span,
        args: call.args.clone(),
        inputs,
    });
    Ok(id)
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
            let name = stream_name(&c.func)?;
            let call = Call {
                name,
                args: c.args.iter().cloned().collect(),
                args_span: c.paren_token.span.join(),
            };
            Some((Head::Call(call), Vec::new()))
        }
        _ => stream_name(expr).map(|name| (Head::Name(name), Vec::new())),
    }
}

/// The identifier of an argument that is a bare name.
pub fn stream_name(arg: &Expr) -> Option<Ident> {
    match arg {
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => p.path.get_ident().cloned(),
        _ => None,
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
        let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name).collect();
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
        let union_inputs: Vec<usize> = g.nodes[3].inputs.iter().map(|(i, _)| *i).collect();
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
}
