//! Checks on the plan graph: arguments, stream kinds, and that every stream reaches a sink.
//!
//! Types are left to rustc (the generated code is typed at the user's spans); the checker
//! catches what rustc would report badly or not at all.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Lit};

use crate::diag::Errors;
use crate::graph::{Graph, Node};
use crate::ops::{Arg, Kind, Needs, Time, Yields};

/// Runs every check, recording problems in `errors`; returns the time of each node's
/// output stream.
pub fn check(graph: &Graph, errors: &mut Errors) -> Vec<Time> {
    let mut times = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        check_args(node, errors);
        check_inputs(graph, node, errors);
        let time = check_time(graph, node, &times, errors);
        times.push(time);
    }
    check_sinks(graph, errors);
    times
}

/// A window spec as the macro reads it, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    /// Size of tumbling and sliding windows; the gap of session windows.
    pub size: u64,
    pub slide: u64,
    pub session: bool,
}

/// The milliseconds of a duration literal: `500ms`, `10s`, `1min`, `2h`, `1d`.
pub fn duration_ms(arg: &Expr) -> Result<u64, (Span, String)> {
    let unit_error = |span| {
        (
            span,
            "expected a duration with a unit: `500ms`, `10s`, `1min`, `2h` or `1d`".to_string(),
        )
    };
    let Expr::Lit(syn::ExprLit {
        lit: Lit::Int(int), ..
    }) = arg
    else {
        return Err(unit_error(arg.span()));
    };
    let per_unit: u64 = match int.suffix() {
        "ms" => 1,
        "s" => 1_000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(unit_error(int.span())),
    };
    int.base10_parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(per_unit))
        .ok_or_else(|| {
            (
                int.span(),
                "this duration does not fit in u64 milliseconds".into(),
            )
        })
}

/// The milliseconds of a duration that may be negative: `-5s`, `10s`.
pub fn signed_duration_ms(arg: &Expr) -> Result<i64, (Span, String)> {
    let (negative, magnitude) = match arg {
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => (true, &**expr),
        _ => (false, arg),
    };
    let ms = duration_ms(magnitude)?;
    let ms =
        i64::try_from(ms).map_err(|_| (arg.span(), "this duration is too long".to_string()))?;
    Ok(if negative { -ms } else { ms })
}

/// A window argument: `tumbling(size)`, `sliding(size, slide)` or `session(gap)`.
pub fn window_spec(arg: &Expr) -> Result<WindowSpec, (Span, String)> {
    let usage = "expected a window: `tumbling(10s)`, `sliding(10s, 2s)` or `session(30s)`";
    let Expr::Call(call) = arg else {
        return Err((arg.span(), usage.into()));
    };
    let name = match &*call.func {
        Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
        _ => None,
    };
    let args: Vec<&Expr> = call.args.iter().collect();
    match (name.as_deref(), args.as_slice()) {
        (Some("tumbling"), [size]) => {
            let size = positive(size)?;
            Ok(WindowSpec {
                size,
                slide: size,
                session: false,
            })
        }
        (Some("session"), [gap]) => {
            let gap = positive(gap)?;
            Ok(WindowSpec {
                size: gap,
                slide: gap,
                session: true,
            })
        }
        (Some("sliding"), [size_arg, slide_arg]) => {
            let (size, slide) = (positive(size_arg)?, positive(slide_arg)?);
            if slide > size {
                return Err((
                    slide_arg.span(),
                    format!("the slide ({slide} ms) is larger than the window size ({size} ms): records between windows would be lost; use a slide of at most the size"),
                ));
            }
            Ok(WindowSpec {
                size,
                slide,
                session: false,
            })
        }
        (Some("tumbling"), _) => Err((
            call.span(),
            "`tumbling` takes one duration: `tumbling(10s)`".into(),
        )),
        (Some("sliding"), _) => Err((
            call.span(),
            "`sliding` takes a size and a slide: `sliding(10s, 2s)`".into(),
        )),
        _ => Err((call.func.span(), usage.into())),
    }
}

fn positive(arg: &Expr) -> Result<u64, (Span, String)> {
    match duration_ms(arg)? {
        0 => Err((
            arg.span(),
            "a window size, slide or gap must be positive".into(),
        )),
        ms => Ok(ms),
    }
}

/// The time of `node`'s output, checking that time-dependent operators get the time
/// they need.
fn check_time(graph: &Graph, node: &Node, times: &[Time], errors: &mut Errors) -> Time {
    let input = node.inputs.first().map(|&(i, _)| times[i]);
    if let Some(time) = node.op.time {
        if input.is_some_and(|t| t != Time::None) {
            errors.push(
                node.span,
                "this stream already has timestamps: assign them once, after the source",
            );
        } else if !chain_reaches_source(graph, node) {
            errors.push(node.span, format!("`{}` must follow a source, through `map`, `filter`, `flat_map` or `inspect` only: the source's capability is the watermark", node.op.name));
        }
        return time;
    }
    let Some(time) = input else {
        return Time::None; // a source
    };
    for &(other, span) in &node.inputs[1..] {
        if node.op.name == "lookup_join" {
            if !bounded(graph, other) {
                errors.push(span, "the table of `lookup_join` must be bounded (read from `from_collection` or a file): it is loaded before the stream is joined");
            }
        } else if times[other] != time {
            errors.push(span, format!("`{}` needs streams with the same timestamps: this stream's differ from the first stream's", node.op.name));
        }
    }
    if node.op.name == "interval_join" && time != Time::Event {
        errors.push(node.span, "`interval_join` needs event time on both sides: add `.assign_timestamps(|x| x.ts, out_of_orderness = 4s)` after each source");
    }
    match node.op.name {
        "window" | "window_all" if time == Time::None => errors.push(
            node.span,
            format!("`{}` needs timestamps: add `.assign_timestamps(|x| x.ts, out_of_orderness = 4s)` (event time) or `.with_processing_time()` after the source", node.op.name),
        ),
        "allowed_lateness" | "late" if on_count_windows(graph, node.inputs[0].0) => errors.push(
            node.span,
            format!("count windows have no late records (every record counts), so `{}` does not apply to them", node.op.name),
        ),
        "allowed_lateness" if time == Time::Processing => errors.push(
            node.span,
            "`allowed_lateness` applies to event-time windows: a processing-time window has no late records",
        ),
        "late" if !is_window_aggregate(graph, node.inputs[0].0) => errors.push(
            node.span,
            "`late()` takes the late records of a window aggregation or a join: apply it to the results of e.g. `.window(tumbling(10s)).count()`",
        ),
        "dead_letters" if !graph.nodes[node.inputs[0].0].op.is_source() => errors.push(
            node.span,
            "`dead_letters()` takes the input a source could not decode: apply it to the stream a source yields, e.g. `let txns = from_source(spec); txns.dead_letters().print();`",
        ),
        "side_output" if graph.nodes[node.inputs[0].0].op.name != "process" => errors.push(
            node.span,
            "`side_output(TAG)` takes a side output of a process function: apply it to the result of `.key_by(..).process(f)`",
        ),
        "side_output" => {
            let tag = |n: &Node| n.args.first().map(|a| quote::quote!(#a).to_string());
            if let Some(earlier) = crate::codegen::side_readers(graph, node.inputs[0].0)
                .find(|n| n.id < node.id && tag(n) == tag(node))
            {
                errors.push(
                    node.args_span,
                    format!("this side output is already taken at line {}: name that stream with `let` and read it twice", earlier.span.start().line),
                );
            }
        }
        "late" if time == Time::Processing => errors.push(
            node.span,
            "a processing-time window has no late records",
        ),
        _ => {}
    }
    time
}

/// The kind of stream node `id` yields (`None` for sinks): its spec's, except where a
/// join step changes it (`window` on a join yields a windowed join, ...).
pub fn kind_of(graph: &Graph, id: usize) -> Option<Kind> {
    let node = &graph.nodes[id];
    let Yields::Stream(kind) = node.op.yields else {
        return None;
    };
    let input = node.inputs.first().and_then(|&(i, _)| kind_of(graph, i));
    Some(match (node.op.name, input) {
        ("window" | "allowed_lateness", Some(Kind::JoinKeyed | Kind::JoinWindowed)) => {
            Kind::JoinWindowed
        }
        ("on", Some(Kind::LookupPair)) => Kind::LookupKeyed,
        _ => kind,
    })
}

/// Whether `node` reads a windowed stream (of records or of a join).
pub fn is_windowed_input(graph: &Graph, node: &Node) -> bool {
    node.inputs.first().is_some_and(|&(i, _)| {
        matches!(kind_of(graph, i), Some(Kind::Windowed | Kind::JoinWindowed))
    })
}

/// Whether node `id` has a late output besides its results: a window aggregation, a
/// window join's `apply`, an interval join's `process`.
pub fn is_window_aggregate(graph: &Graph, id: usize) -> bool {
    let node = &graph.nodes[id];
    let input = node.inputs.first().and_then(|&(i, _)| kind_of(graph, i));
    node.op.yields == Yields::Stream(Kind::Plain)
        && (is_windowed_input(graph, node) || input == Some(Kind::IntervalJoin))
}

/// Whether every source that node `id` reads from is bounded.
fn bounded(graph: &Graph, id: usize) -> bool {
    let node = &graph.nodes[id];
    if node.op.is_source() {
        return node.op.bounded;
    }
    node.inputs.iter().all(|&(i, _)| bounded(graph, i))
}

/// Whether the chain into `node` is a source followed only by fusable operators, each
/// read by nothing else.
fn chain_reaches_source(graph: &Graph, node: &Node) -> bool {
    let mut current = node;
    loop {
        let Some(&(input, _)) = current.inputs.first() else {
            return current.op.is_source();
        };
        // `dead_letters()` reads the source's other output, not its records.
        let readers = graph
            .nodes
            .iter()
            .filter(|n| n.op.name != "dead_letters" && n.inputs.iter().any(|&(i, _)| i == input))
            .count();
        current = &graph.nodes[input];
        if current.op.is_source() {
            return readers == 1;
        }
        if current.op.fused().is_none() || readers != 1 {
            return false;
        }
    }
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
    let positional = node
        .args
        .iter()
        .take_while(|a| !matches!(a, Expr::Assign(_)))
        .count();
    for option in &node.args[positional..] {
        let name = match option {
            Expr::Assign(a) => crate::graph::stream_name(&a.left),
            _ => None,
        };
        let known = name.and_then(|n| op.options.iter().find(|(o, _)| n == o));
        match (known, option) {
            (Some((name, form)), Expr::Assign(a)) => {
                if !has_form(&a.right, *form, errors) {
                    errors.push(
                        a.right.span(),
                        format!("`{name}` takes {}: `{}`", form.describe(), op.usage),
                    );
                }
            }
            _ if op.options.is_empty() => errors.push(
                option.span(),
                format!("`{}` takes no options: `{}`", op.name, op.usage),
            ),
            _ => errors.push(
                option.span(),
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
    let given = positional;
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
    if op.name.starts_with("count_window") {
        check_count_window(node, errors);
    }
    if op.name == "between" {
        let bounds: Vec<_> = node.args.iter().map(signed_duration_ms).collect();
        for bound in &bounds {
            if let Err((span, message)) = bound {
                errors.push(*span, message.clone());
            }
        }
        if let [Ok(lower), Ok(upper)] = bounds.as_slice() {
            if lower > upper {
                errors.push(node.args_span, format!("the lower bound ({lower} ms) is above the upper bound ({upper} ms): no pair can match"));
            }
        }
    }
    for (i, arg) in node.args[..positional].iter().enumerate() {
        let kind = op.args.get(i).copied().unwrap_or(Arg::Stream);
        if !has_form(arg, kind, errors) {
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

/// Whether `arg` has the form `kind` asks for; a window or duration that does not parse
/// reports its own error (and counts as having the form).
fn has_form(arg: &Expr, kind: Arg, errors: &mut Errors) -> bool {
    match kind {
        Arg::Expr | Arg::Stream => true, // stream names were resolved by the plan
        Arg::Closure => is_callable(arg),
        Arg::Selector => is_callable(arg) || field_index(arg).is_some(),
        Arg::Window | Arg::Duration => {
            let parsed = match kind {
                Arg::Window => window_spec(arg).map(|_| ()),
                _ => duration_ms(arg).map(|_| ()),
            };
            if let Err((span, message)) = parsed {
                errors.push(span, message);
            }
            true
        }
    }
}

/// `count_window(size)` or `count_window(size, step)`: at most two arguments, and sizes
/// given as literals are checked here (others when the job starts).
fn check_count_window(node: &Node, errors: &mut Errors) {
    let op = node.op;
    if node.args.len() > 2 {
        errors.push(
            node.args_span,
            format!(
                "`{}` takes a size and optionally a step, in records: `{}`",
                op.name, op.usage
            ),
        );
        return;
    }
    let literal = |arg: &Expr| match arg {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_parse::<u64>().ok(),
        _ => None,
    };
    for arg in &node.args {
        if literal(arg) == Some(0) {
            errors.push(
                arg.span(),
                "a count window's size and step must be positive",
            );
            return;
        }
    }
    if let [size, step] = node.args.as_slice() {
        if let (Some(n), Some(m)) = (literal(size), literal(step)) {
            if m > n {
                errors.push(step.span(), format!("the step ({m} records) is larger than the window size ({n} records): records between windows would be lost; use a step of at most the size"));
            }
        }
    }
}

/// Whether node `id` reads the windows of a `count_window`.
fn on_count_windows(graph: &Graph, id: usize) -> bool {
    let node = &graph.nodes[id];
    let windows = if node.op.yields == Yields::Stream(Kind::Windowed) {
        Some(node)
    } else {
        node.inputs.first().map(|&(i, _)| &graph.nodes[i])
    };
    windows.is_some_and(|w| w.op.name.starts_with("count_window"))
}

fn check_inputs(graph: &Graph, node: &Node, errors: &mut Errors) {
    let Needs::Stream(accepted) = node.op.needs else {
        return;
    };
    for (position, &(input, span)) in node.inputs.iter().enumerate() {
        let Some(got) = kind_of(graph, input) else {
            let sink = graph.nodes[input].op.name;
            errors.push(span, format!("`{sink}` is a sink: nothing can follow it"));
            continue;
        };
        // Streams given as arguments are plain streams (`union`, `join`), or keyed ones
        // for `interval_join`.
        let accepted = match (position, node.op.name) {
            (0, _) => accepted,
            (_, "interval_join") => &[Kind::Keyed],
            _ => &[Kind::Plain],
        };
        if accepted.contains(&got) {
            continue;
        }
        let (name, usage) = (node.op.name, node.op.usage);
        if let Some(next) = got.next_step() {
            errors.push(
                span,
                format!(
                    "this join is not complete: `{name}` cannot follow `{}`; continue with {next}",
                    graph.nodes[input].op.name
                ),
            );
            continue;
        }
        if accepted.iter().all(|k| k.next_step().is_some()) {
            errors.push(
                span,
                format!("`{name}` is a step of a join, as in `{}`", join_usage(name)),
            );
            continue;
        }
        let message = match (got, accepted) {
            (_, [Kind::Windowed]) if got == Kind::Plain && name == "allowed_lateness" => {
                "`allowed_lateness` needs a window first: `.window(tumbling(10s)).allowed_lateness(2s)`".to_string()
            }
            (Kind::Plain, [Kind::Keyed, ..]) | (Kind::Plain, [Kind::Windowed]) if accepted.contains(&Kind::Windowed) => format!(
                "`{name}` needs a window on this unkeyed stream: `.window_all(tumbling(1min)).{usage}`, or key it first: `.key_by(|x| key).window(tumbling(1min)).{usage}`"
            ),
            (Kind::Plain, _) if name == "window" => {
                "`window` needs a keyed stream: `.key_by(|x| key).window(..)`, or `window_all(..)` for one window over the whole stream".to_string()
            }
            (Kind::Plain, _) => format!(
                "`{name}` needs a keyed stream: call `key_by(...)` first, e.g. `.key_by(|x| key).{usage}`"
            ),
            (Kind::Keyed, [Kind::Windowed]) => format!(
                "`{name}` needs a window: e.g. `.window(tumbling(1min)).{usage}`"
            ),
            (Kind::Keyed, _) if name.ends_with("window_all") => format!(
                "`{name}` is for unkeyed streams: on a keyed stream use `{}(...)`", name.trim_end_matches("_all")
            ),
            (Kind::Keyed, _) => format!(
                "`{name}` is not defined on a keyed stream: follow `key_by` with `reduce`, `sum`, `count`, `process(f)` or `window(...)`"
            ),
            (Kind::Windowed, _) => format!(
                "`{name}` cannot follow a window: aggregate it first, e.g. `.count()`, `.reduce(|a, b| ..)` or `.aggregate(..)`"
            ),
            _ => format!("`{name}` cannot follow `{}`", graph.nodes[input].op.name),
        };
        errors.push(span, message);
    }
}

/// How a join step is used in a whole join.
fn join_usage(name: &str) -> &'static str {
    match name {
        "between" => "a.key_by(|x| key).interval_join(b.key_by(|y| key)).between(-5s, 10s).process(|x, y, ctx, out| ..)",
        "apply" => "a.join(b).on(|x| key, |y| key).window(tumbling(10s)).apply(|x, y| ..)",
        _ => "a.join(b).on(|x| key, |y| key)",
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
        let graph = crate::graph::build(&ast, &mut errors);
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
    fn durations_and_window_specs() {
        let d = |s: &str| duration_ms(&syn::parse_str(s).unwrap()).map_err(|e| e.1);
        assert_eq!(d("500ms"), Ok(500));
        assert_eq!(d("10s"), Ok(10_000));
        assert_eq!(d("2min"), Ok(120_000));
        assert_eq!(d("1h"), Ok(3_600_000));
        assert_eq!(d("1d"), Ok(86_400_000));
        assert!(d("10").unwrap_err().contains("with a unit"));
        assert!(d("10sec").unwrap_err().contains("with a unit"));
        let w = |s: &str| window_spec(&syn::parse_str(s).unwrap()).map_err(|e| e.1);
        let spec = |size, slide, session| WindowSpec {
            size,
            slide,
            session,
        };
        assert_eq!(w("tumbling(1min)"), Ok(spec(60_000, 60_000, false)));
        assert_eq!(w("sliding(10s, 2s)"), Ok(spec(10_000, 2_000, false)));
        assert_eq!(w("session(30s)"), Ok(spec(30_000, 30_000, true)));
        assert!(w("sliding(2s, 10s)")
            .unwrap_err()
            .contains("larger than the window size"));
        assert!(w("tumbling(0s)").unwrap_err().contains("must be positive"));
        assert!(w("hopping(5s)").unwrap_err().contains("expected a window"));
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
        let graph = crate::graph::build(&ast, &mut errors);
        let times = check(&graph, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.messages());
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
            errors[0].contains("takes a size and optionally a step"),
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
