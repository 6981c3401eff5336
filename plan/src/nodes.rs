//! The node constructor of the IR, shared by every front end (the pipeline's [`build`]
//! and the SQL of [`sql`]): a node from an operator and its arguments, and a stream's
//! name resolved.
//!
//! [`build`]: crate::build
//! [`sql`]: crate::sql

use syn::{Expr, Ident};

use crate::args::{bare_name, Arg, Value};
use crate::diag::{Errors, Reported};
use crate::ir::{Graph, Input, Kind, NamedOption, Node, OpId, Outputs, Port, Time};
use crate::ops;
use crate::spec::{OpSpec, Yields};

/// The node a stream's name refers to: `Ok(Some(node))`, `Ok(None)` for a stream whose
/// definition was broken (already reported), `Err` after reporting an unknown name.
/// The name counts as used.
pub fn resolve(
    graph: &mut Graph,
    name: &Ident,
    errors: &mut Errors,
) -> Result<Option<usize>, Reported> {
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
            Err(errors.report(name.span(), message))
        }
    }
}

/// How many of `args` are positional: those before the first `name = value`.
pub fn positional(args: &[Expr]) -> usize {
    args.iter()
        .take_while(|a| !matches!(a, Expr::Assign(_)))
        .count()
}

/// The form of `op`'s `i`-th positional argument.
pub fn form_of(op: &OpSpec, i: usize) -> Arg {
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

/// The known name closest to `name` by edit distance, if close enough to be a typo.
pub fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
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
