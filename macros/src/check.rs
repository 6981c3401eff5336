//! Checks on the plan graph: arguments, stream kinds, and that every stream reaches a sink.
//!
//! Types are left to rustc (the generated code is typed at the user's spans); the checker
//! catches what rustc would report badly or not at all.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Lit};

use crate::diag::Errors;
use crate::ops::{Arg, Kind, Needs, Yields};
use crate::plan::{Graph, Node};

/// Runs every check, recording problems in `errors`.
pub fn check(graph: &Graph, errors: &mut Errors) {
    for node in &graph.nodes {
        check_args(node, errors);
        check_inputs(graph, node, errors);
    }
    check_sinks(graph, errors);
}

/// A tuple field index argument such as `0` or `1`.
pub fn field_index(arg: &Expr) -> Option<syn::Index> {
    match arg {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Int(int) if int.suffix().is_empty() => {
                int.base10_parse::<u32>().ok().map(|index| syn::Index {
                    index,
                    span: int.span(),
                })
            }
            _ => None,
        },
        _ => None,
    }
}

fn is_callable(arg: &Expr) -> bool {
    matches!(arg, Expr::Closure(_) | Expr::Path(_))
}

fn check_args(node: &Node, errors: &mut Errors) {
    let op = node.op;
    let given = node.args.len();
    let arity_ok = if op.variadic {
        given >= op.args.len()
    } else {
        given == op.args.len()
    };
    if !arity_ok {
        let expected = match (op.args.len(), op.variadic) {
            (0, _) => "no arguments".to_string(),
            (1, false) => "1 argument".to_string(),
            (n, false) => format!("{n} arguments"),
            (n, true) => format!("at least {n} argument{}", if n == 1 { "" } else { "s" }),
        };
        errors.push(
            node.args_span,
            format!(
                "`{}` takes {expected} but {given} {} given: `{}`",
                op.name,
                if given == 1 { "was" } else { "were" },
                op.usage
            ),
        );
        return;
    }
    for (i, arg) in node.args.iter().enumerate() {
        let kind = op.args.get(i).copied().unwrap_or(Arg::Stream);
        let ok = match kind {
            Arg::Expr | Arg::Stream => true, // stream names were resolved by the plan
            Arg::Closure => is_callable(arg),
            Arg::Selector => is_callable(arg) || field_index(arg).is_some(),
        };
        if !ok {
            errors.push(
                arg.span(),
                format!(
                    "`{}` expects {} here, e.g. `{}`",
                    op.name,
                    kind.describe(),
                    op.usage
                ),
            );
        }
    }
}

fn yields(graph: &Graph, id: usize) -> Yields {
    graph.nodes[id].op.yields
}

fn check_inputs(graph: &Graph, node: &Node, errors: &mut Errors) {
    let Needs::Stream(needed) = node.op.needs else {
        return;
    };
    for (position, &(input, span)) in node.inputs.iter().enumerate() {
        let got = match yields(graph, input) {
            Yields::Nothing => {
                let sink = graph.nodes[input].op.name;
                errors.push(span, format!("`{sink}` is a sink: nothing can follow it"));
                continue;
            }
            Yields::Stream(kind) => kind,
        };
        // Streams named in arguments (union) must be plain streams too.
        let needed = if position == 0 { needed } else { Kind::Plain };
        match (needed, got) {
            (Kind::Keyed, Kind::Plain) => errors.push(
                span,
                format!(
                    "`{}` needs a keyed stream: call `key_by(...)` first, e.g. `.key_by(|x| key).{}`",
                    node.op.name, node.op.usage
                ),
            ),
            (Kind::Plain, Kind::Keyed) => errors.push(
                span,
                format!(
                    "`{}` is not defined on a keyed stream: follow `key_by` with `reduce`, `sum` or `count`",
                    node.op.name
                ),
            ),
            _ => {}
        }
    }
}

fn check_sinks(graph: &Graph, errors: &mut Errors) {
    let mut any_sink = false;
    for statement in &graph.statements {
        let Some(last) = statement.last else {
            any_sink = true; // a broken statement is already reported
            continue;
        };
        let is_sink = graph.nodes[last].op.is_sink();
        any_sink |= is_sink;
        match (&statement.name, is_sink) {
            (Some(name), true) => errors.push(
                name.span(),
                format!("`{}` is a sink and yields no stream: `let {name} = ...` has nothing to name", graph.nodes[last].op.name),
            ),
            (None, false) => errors.push(
                graph.nodes[last].span,
                "this stream reaches no sink: end it with `.print()`, `.write_as_text(dir)` or `.collect(collector)`",
            ),
            _ => {}
        }
    }
    for info in graph.names.values() {
        if !info.used && info.node.is_some_and(|n| !graph.nodes[n].op.is_sink()) {
            errors.push(
                info.ident.span(),
                format!(
                    "stream `{}` is never used, so it reaches no sink: use it or remove it",
                    info.ident
                ),
            );
        }
    }
    if !any_sink && errors.is_empty() {
        errors.push(Span::call_site(), "this pipeline has no sink: end a stream with `.print()`, `.write_as_text(dir)` or `.collect(collector)`");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::PipelineAst;

    fn errors_of(src: &str) -> Vec<String> {
        let ast: PipelineAst = syn::parse_str(src).unwrap();
        let mut errors = Errors::default();
        let graph = crate::plan::build(&ast, &mut errors);
        check(&graph, &mut errors);
        errors.messages()
    }

    #[test]
    fn accepts_a_good_pipeline() {
        let errors = errors_of(
            "let words = read_text_file(p).flat_map(|l| split(l)).map(|w| (w, 1));
             words.key_by(0).sum(1).print();
             words.key_by(|w| w.0.clone()).count().collect(out);",
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn keyed_operators_need_key_by() {
        let errors = errors_of("from_collection(v).reduce(|a, b| a + b).print();");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("`reduce` needs a keyed stream"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn plain_operators_refuse_keyed_streams() {
        let errors = errors_of("from_collection(v).key_by(0).map(|x| x).print();");
        assert_eq!(errors.len(), 1, "{errors:?}"); // print after the map is fine
        assert!(errors[0].contains("`map` is not defined on a keyed stream"));
    }

    #[test]
    fn arity_and_argument_forms() {
        let errors = errors_of("from_collection(v).map(|x| x, |y| y).filter(42).count().print();");
        assert!(
            errors[0].contains("`map` takes 1 argument but 2 were given"),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("`filter` expects a closure here"),
            "{errors:?}"
        );
    }

    #[test]
    fn every_stream_reaches_a_sink() {
        let errors = errors_of("let unused = from_collection(v); from_collection(w).map(|x| x);");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors
            .iter()
            .any(|e| e.contains("this stream reaches no sink")));
        assert!(errors
            .iter()
            .any(|e| e.contains("stream `unused` is never used")));
    }

    #[test]
    fn nothing_follows_a_sink() {
        let errors = errors_of("from_collection(v).print().map(|x| x).print();");
        assert!(
            errors[0].contains("`print` is a sink: nothing can follow it"),
            "{errors:?}"
        );
    }

    #[test]
    fn empty_pipeline_has_no_sink() {
        let errors = errors_of("");
        assert_eq!(errors, ["this pipeline has no sink: end a stream with `.print()`, `.write_as_text(dir)` or `.collect(collector)`"]);
    }

    #[test]
    fn union_takes_plain_streams() {
        let errors =
            errors_of("let k = from_collection(v).key_by(0); from_collection(w).union(k).print();");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("`union` is not defined on a keyed stream")),
            "{errors:?}"
        );
    }
}
