//! The checker, a driver over the operators' specs: arguments, stream kinds, time, and
//! that every stream reaches a sink. Each operator's own rules are its spec's hooks.
//!
//! Types are left to rustc (the generated code is typed at the user's spans); the checker
//! catches what rustc would report badly or not at all.

use proc_macro2::Span;
use syn::spanned::Spanned;

use crate::args::{Arg, Value};
use crate::diag::Errors;
use crate::ir::{Graph, Kind, Node, Port, Time};
use crate::ops;
use crate::spec::Needs;

/// Runs every check, recording problems in `errors`, and sets the time of each node's
/// output.
pub fn check(graph: &mut Graph, errors: &mut Errors) {
    for id in 0..graph.nodes.len() {
        let node = &graph.nodes[id];
        let args_ok = check_args(node, errors);
        check_inputs(graph, node, errors);
        let time = check_time(graph, node, errors);
        graph.nodes[id].time = time;
        let node = &graph.nodes[id];
        if args_ok {
            (ops::spec(node.op).check)(graph, node, errors);
        }
    }
    check_sinks(graph, errors);
}

/// The time of `node`'s output, checking that timestamp assigners follow a source and
/// that the streams an operator combines carry the same time.
fn check_time(graph: &Graph, node: &Node, errors: &mut Errors) -> Time {
    let op = ops::spec(node.op);
    let input = node.inputs.first().map(|i| graph.nodes[i.node].time);
    if let Some(time) = op.time {
        if input.is_some_and(|t| t != Time::None) {
            errors.push(
                node.span,
                "this stream already has timestamps: assign them once, after the source",
            );
        } else if !chain_reaches_source(graph, node) {
            errors.push(node.span, format!("`{}` must follow a source, through `map`, `filter`, `flat_map` or `inspect` only: the source's capability is the watermark", node.name));
        }
        return time;
    }
    let Some(time) = input else {
        return Time::None; // a source
    };
    if op.same_time {
        for other in &node.inputs[1..] {
            if graph.nodes[other.node].time != time {
                errors.push(other.span, format!("`{}` needs streams with the same timestamps: this stream's differ from the first stream's", node.name));
            }
        }
    }
    time
}

/// Whether the chain into `node` is a source followed only by fusable operators, each
/// read by nothing else.
fn chain_reaches_source(graph: &Graph, node: &Node) -> bool {
    let mut current = node;
    loop {
        let Some(input) = current.inputs.first() else {
            return ops::spec(current.op).is_source();
        };
        // `dead_letters()` reads the source's other output, not its records.
        let readers = graph.uses(input.node, Port::Main);
        current = &graph.nodes[input.node];
        let op = ops::spec(current.op);
        if op.is_source() {
            return readers == 1;
        }
        if op.fused().is_none() || readers != 1 {
            return false;
        }
    }
}

/// Reports options and arguments that the operator does not take or that lack their
/// form; whether there were none.
fn check_args(node: &Node, errors: &mut Errors) -> bool {
    let op = ops::spec(node.op);
    let mut ok = true;
    let mut push = |span, message: String| {
        errors.push(span, message);
        ok = false;
    };
    for option in &node.options {
        let known = option
            .name
            .as_ref()
            .and_then(|n| op.options.iter().find(|(o, _)| n == o));
        match (known, &option.value) {
            (Some(_), Value::Invalid(Some((span, message)))) => push(*span, message.clone()),
            (Some((name, form)), Value::Invalid(None)) => push(
                option_value_span(&option.expr),
                format!("`{name}` takes {}: `{}`", form.describe(), op.usage),
            ),
            (Some(_), _) => {}
            (None, _) if op.options.is_empty() => push(
                option.expr.span(),
                format!("`{}` takes no options: `{}`", op.name, op.usage),
            ),
            (None, _) => push(
                option.expr.span(),
                format!(
                    "`{}` takes options {} here, e.g. `{}`",
                    op.name,
                    op.options
                        .iter()
                        .map(|(o, form)| match form {
                            Arg::Duration => format!("`{o} = <duration>`"),
                            _ => format!("`{o} = <{}>`", form.describe()),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    op.usage
                ),
            ),
        }
    }
    let given = node.args.len();
    let (most, least) = (op.args.len(), op.args.len() - op.optional);
    let arity_ok = given >= least && (op.variadic || given <= most);
    if !arity_ok {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let expected = match (least, most, op.variadic) {
            (0, 0, _) => "no arguments".to_string(),
            (n, _, true) => format!("at least {n} argument{}", plural(n)),
            (n, m, false) if n == m => format!("{n} argument{}", plural(n)),
            (n, m, false) if m == n + 1 => format!("{n} or {m} arguments"),
            (n, m, false) => format!("{n} to {m} arguments"),
        };
        push(
            node.args_span,
            format!(
                "`{}` takes {expected} but {given} {} given: `{}`",
                op.name,
                if given == 1 { "was" } else { "were" },
                op.usage
            ),
        );
        return false;
    }
    for (i, value) in node.values.iter().enumerate() {
        match value {
            Value::Invalid(Some((span, message))) => push(*span, message.clone()),
            Value::Invalid(None) => {
                let form = op
                    .args
                    .get(i)
                    .or(op.args.last())
                    .copied()
                    .unwrap_or(Arg::Expr);
                push(
                    node.args[i].span(),
                    format!(
                        "`{}` expects {} here, e.g. `{}`",
                        op.name,
                        form.describe(),
                        op.usage
                    ),
                );
            }
            _ => {}
        }
    }
    ok
}

/// The span of the value of an option `name = value`.
fn option_value_span(option: &syn::Expr) -> Span {
    match option {
        syn::Expr::Assign(a) => a.right.span(),
        _ => option.span(),
    }
}

fn check_inputs(graph: &Graph, node: &Node, errors: &mut Errors) {
    let op = ops::spec(node.op);
    let Needs::Stream(first) = op.needs else {
        return;
    };
    let (name, usage) = (op.name, op.usage);
    for (position, input) in node.inputs.iter().enumerate() {
        let from = &graph.nodes[input.node];
        let Some(got) = from.kind else {
            errors.push(
                input.span,
                format!("`{}` is a sink: nothing can follow it", from.name),
            );
            continue;
        };
        let accepted = if position == 0 {
            first
        } else {
            op.other_inputs
        };
        if accepted.contains(&got) {
            continue;
        }
        if let Some(next) = got.next_step() {
            errors.push(
                input.span,
                format!(
                    "this join is not complete: `{name}` cannot follow `{}`; continue with {next}",
                    from.name
                ),
            );
            continue;
        }
        if let Some(message) = (op.wrong_input)(got) {
            errors.push(input.span, message);
            continue;
        }
        let message = match got {
            Kind::Plain if accepted.contains(&Kind::Windowed) => format!(
                "`{name}` needs a window on this unkeyed stream: `.window_all(tumbling(1min)).{usage}`, or key it first: `.key_by(|x| key).window(tumbling(1min)).{usage}`"
            ),
            Kind::Plain => format!(
                "`{name}` needs a keyed stream: call `key_by(...)` first, e.g. `.key_by(|x| key).{usage}`"
            ),
            Kind::Keyed if accepted == [Kind::Windowed] => format!(
                "`{name}` needs a window: e.g. `.window(tumbling(1min)).{usage}`"
            ),
            Kind::Keyed => format!(
                "`{name}` is not defined on a keyed stream: follow `key_by` with `reduce`, `sum`, `count`, `process(f)` or `window(...)`"
            ),
            Kind::Windowed => format!(
                "`{name}` cannot follow a window: aggregate it first, e.g. `.count()`, `.reduce(|a, b| ..)` or `.aggregate(..)`"
            ),
            _ => format!("`{name}` cannot follow `{}`", from.name),
        };
        errors.push(input.span, message);
    }
}

fn check_sinks(graph: &Graph, errors: &mut Errors) {
    let is_sink = |id: usize| graph.nodes[id].kind.is_none();
    let mut any_sink = false;
    for statement in &graph.statements {
        let Some(last) = statement.last else {
            any_sink = true; // a broken statement is already reported
            continue;
        };
        any_sink |= is_sink(last);
        match (&statement.name, is_sink(last)) {
            (Some(name), true) => errors.push(
                name.span(),
                format!("`{}` is a sink and yields no stream: `let {name} = ...` has nothing to name", graph.nodes[last].name),
            ),
            (None, false) => errors.push(
                graph.nodes[last].span,
                "this stream reaches no sink: end it with `.print()`, `.write_as_text(dir)` or `.collect(collector)`",
            ),
            _ => {}
        }
    }
    for info in graph.names.values() {
        if !info.used && info.node.is_some_and(|n| !is_sink(n)) {
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
        let mut graph = crate::build::build(&ast, &mut errors);
        check(&mut graph, &mut errors);
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
            errors[0].contains("`reduce` needs a window on this unkeyed stream"),
            "{}",
            errors[0]
        );
        let errors = errors_of(
            "from_collection(v).assign_timestamps(|x| x.0).key_by(0).window(tumbling(1s)).print();",
        );
        assert!(
            errors[0].contains("`print` cannot follow a window"),
            "{errors:?}"
        );
    }

    #[test]
    fn time_flows_through_the_plan() {
        let ast: PipelineAst = syn::parse_str(
            "let t = from_collection(v).map(|x| x).assign_timestamps(|x| *x, out_of_orderness = 1s);
             t.key_by(|x| *x).window(tumbling(1s)).count().print();
             from_collection(w).with_processing_time().print();",
        )
        .unwrap();
        let mut errors = Errors::default();
        let mut graph = crate::build::build(&ast, &mut errors);
        check(&mut graph, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.messages());
        let times: Vec<Time> = graph.nodes.iter().map(|n| n.time).collect();
        use Time::*;
        assert_eq!(
            times,
            [None, None, Event, Event, Event, Event, Event, None, Processing, Processing]
        );
    }

    #[test]
    fn count_windows_take_one_or_two_positive_sizes() {
        assert!(
            errors_of("from_collection(v).key_by(0).count_window(5).count().print();").is_empty()
        );
        assert!(
            errors_of("from_collection(v).key_by(0).count_window(N, 2).sum(1).print();").is_empty()
        );
        let errors =
            errors_of("from_collection(v).key_by(0).count_window(5, 1, 1).count().print();");
        assert!(
            errors[0].contains("`count_window` takes 1 or 2 arguments but 3 were given"),
            "{errors:?}"
        );
        let errors = errors_of("from_collection(v).key_by(0).count_window(0).count().print();");
        assert!(errors[0].contains("must be positive"), "{errors:?}");
        let errors = errors_of("let r = from_collection(v).key_by(0).count_window(5).count(); r.print(); r.late().print();");
        assert!(
            errors[0].contains("count windows have no late records"),
            "{errors:?}"
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
