//! The IR: a graph of operator nodes, their arguments parsed into typed values, and edges
//! that say which output of a node they read ([`Port`]).
//!
//! The IR knows nothing of particular operators: a node refers to its operator by
//! [`OpId`] (the registry in `ops` holds the specs), and carries what the drivers
//! derived from its spec while building and checking: the [`Kind`] and [`Time`] of its
//! output stream and which outputs it has ([`Outputs`]). Operators' hooks read these.

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::{Expr, Ident};

use crate::args::{Count, Selector, Value, Window};

/// An operator, by its place in the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpId(pub usize);

/// What kind of stream flows on an edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A stream of records.
    Plain,
    /// A stream after `key_by`.
    Keyed,
    /// A stream with a window assigner: after `window(..)` or `window_all(..)`.
    Windowed,
    /// `a.key_by(..).interval_join(b.key_by(..))`, before `between`.
    KeyedPair,
    /// An interval join with its bounds, before `process`.
    IntervalJoin,
    /// `a.join(b)`, before `on`.
    JoinPair,
    /// `a.join(b).on(..)`, before `window`.
    JoinKeyed,
    /// A windowed join, before `apply`.
    JoinWindowed,
    /// `a.lookup_join(table)`, before `on`.
    LookupPair,
    /// `a.lookup_join(table).on(..)`, before `apply`.
    LookupKeyed,
}

impl Kind {
    /// For the intermediate steps of joins: what completes the join from here.
    pub fn next_step(self) -> Option<&'static str> {
        Some(match self {
            Kind::Plain | Kind::Keyed | Kind::Windowed => return None,
            Kind::KeyedPair => "`.between(-5s, 10s).process(|left, right, ctx, out| ..)`",
            Kind::IntervalJoin => "`.process(|left, right, ctx, out| ..)`",
            Kind::JoinPair => "`.on(|x| key, |y| key).window(tumbling(10s)).apply(|x, y| ..)`",
            Kind::JoinKeyed => "`.window(tumbling(10s)).apply(|x, y| ..)`",
            Kind::JoinWindowed => "`.apply(|x, y| ..)`",
            Kind::LookupPair => "`.on(|x| key, |row| key).apply(|x, row| ..)`",
            Kind::LookupKeyed => "`.apply(|x, row| ..)`",
        })
    }

    /// Whether a stream of this kind has windows to aggregate (of records or of a join).
    pub fn is_windowed(self) -> bool {
        matches!(self, Kind::Windowed | Kind::JoinWindowed)
    }
}

/// What time a stream's records carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Time {
    /// No timestamps: records travel at time 0.
    None,
    /// Event time from `assign_timestamps`.
    Event,
    /// Processing time from `with_processing_time`.
    Processing,
}

/// Which output of a node an edge reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// The records.
    Main,
    /// The records too late for a window aggregation or join (`late()`).
    Late,
    /// What a source could not decode (`dead_letters()`).
    DeadLetters,
    /// The `i`-th side output taken from a process function (`side_output(TAG)`), in
    /// pipeline order.
    Side(usize),
}

/// The outputs a node has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outputs {
    /// None: a sink.
    Nothing,
    Main,
    /// Records and dead letters: a source.
    MainAndDeadLetters,
    /// Results and late records: a window aggregation, a window join, an interval join.
    MainAndLate,
    /// Records and side outputs: a keyed process function.
    MainAndSides,
}

impl Outputs {
    /// Whether the port `port` exists among these outputs.
    pub fn has(self, port: Port) -> bool {
        matches!(
            (self, port),
            (
                Outputs::Main
                    | Outputs::MainAndDeadLetters
                    | Outputs::MainAndLate
                    | Outputs::MainAndSides,
                Port::Main
            ) | (Outputs::MainAndDeadLetters, Port::DeadLetters)
                | (Outputs::MainAndLate, Port::Late)
                | (Outputs::MainAndSides, Port::Side(_))
        )
    }
}

/// An edge into a node.
#[derive(Clone, Copy, Debug)]
pub struct Input {
    pub node: usize,
    pub port: Port,
    /// Where the pipeline refers to the stream: the call reading it, or its name.
    pub span: Span,
}

/// A named option `name = value` after an operator's arguments.
pub struct NamedOption {
    pub name: Option<Ident>,
    /// The whole option as written, for spans.
    pub expr: Expr,
    /// The value, parsed in the form the operator gives the option (invalid for an
    /// unknown option).
    pub value: Value,
}

/// One operator of the pipeline.
pub struct Node {
    pub id: usize,
    pub op: OpId,
    /// The operator's name, as written.
    pub name: &'static str,
    /// The span of the operator's name: messages and generated code point here.
    pub span: Span,
    /// The span of the parenthesized arguments.
    pub args_span: Span,
    /// The positional arguments as written, and each parsed in its form.
    pub args: Vec<Expr>,
    pub values: Vec<Value>,
    pub options: Vec<NamedOption>,
    /// Input edges: the chain's input first, then streams named in arguments
    /// (`union(b)`).
    pub inputs: Vec<Input>,
    /// The kind of the output stream; `None` for a sink.
    pub kind: Option<Kind>,
    pub outputs: Outputs,
    /// Whether every source this node reads from is finite.
    pub bounded: bool,
    /// The time of the output's records, set by the checker.
    pub time: Time,
}

/// Typed views of a checked node's arguments. The checker has reported every argument
/// that lacks its form, and code is written only without errors, so a view of the
/// wrong form is a bug in an operator's spec.
impl Node {
    fn value(&self, i: usize) -> &Value {
        &self.values[i]
    }

    /// The `i`-th argument as written (an expression or closure to splice).
    pub fn expr(&self, i: usize) -> &Expr {
        &self.args[i]
    }

    pub fn window(&self, i: usize) -> Window {
        match self.value(i) {
            Value::Window(w) => *w,
            _ => unreachable!("`{}` argument {i} is not a window", self.name),
        }
    }

    pub fn duration(&self, i: usize) -> u64 {
        match self.value(i) {
            Value::Duration(ms) => *ms,
            _ => unreachable!("`{}` argument {i} is not a duration", self.name),
        }
    }

    pub fn signed_duration(&self, i: usize) -> i64 {
        match self.value(i) {
            Value::SignedDuration(ms) => *ms,
            _ => unreachable!("`{}` argument {i} is not a signed duration", self.name),
        }
    }

    pub fn selector(&self, i: usize) -> &Selector {
        match self.value(i) {
            Value::Selector(s) => s,
            _ => unreachable!("`{}` argument {i} is not a selector", self.name),
        }
    }

    /// The `i`-th count argument, if given.
    pub fn count(&self, i: usize) -> Option<&Count> {
        match self.values.get(i)? {
            Value::Count(c) => Some(c),
            _ => unreachable!("`{}` argument {i} is not a count", self.name),
        }
    }

    /// The value of the named option `name = value`, if given and valid.
    pub fn option(&self, name: &str) -> Option<&Value> {
        self.options
            .iter()
            .find(|o| o.name.as_ref().is_some_and(|n| n == name))
            .map(|o| &o.value)
            .filter(|v| !matches!(v, Value::Invalid(_)))
    }

    /// The expression of the named option `name = value`, if given.
    pub fn option_expr(&self, name: &str) -> Option<&Expr> {
        match self.option(name)? {
            Value::Expr(e) => Some(e),
            _ => None,
        }
    }

    /// The duration of the named option `name = value`, if given.
    pub fn option_duration(&self, name: &str) -> Option<u64> {
        match self.option(name)? {
            Value::Duration(ms) => Some(*ms),
            _ => None,
        }
    }

    /// The node read by the `i`-th input.
    pub fn input(&self, i: usize) -> usize {
        self.inputs[i].node
    }
}

/// A statement as the checker sees it.
pub struct StatementInfo {
    pub name: Option<Ident>,
    /// The last node of the chain; `None` when the statement was left out.
    pub last: Option<usize>,
}

pub struct NameInfo {
    pub ident: Ident,
    /// `None` when the defining statement had an error.
    pub node: Option<usize>,
    pub used: bool,
}

/// A pipeline's graph. Nodes are in topological order: every input precedes its reader.
pub struct Graph {
    pub nodes: Vec<Node>,
    pub statements: Vec<StatementInfo>,
    /// Names bound by `let`, with the node they name and whether they are used.
    pub names: BTreeMap<String, NameInfo>,
}

impl Graph {
    /// The nodes that read node `id`, with the port of the edge, in pipeline order.
    pub fn readers(&self, id: usize) -> impl Iterator<Item = (&Node, Port)> + '_ {
        self.nodes.iter().flat_map(move |n| {
            n.inputs
                .iter()
                .filter(move |i| i.node == id)
                .map(move |i| (n, i.port))
        })
    }

    /// How many edges read port `port` of node `id`.
    pub fn uses(&self, id: usize, port: Port) -> usize {
        self.readers(id).filter(|(_, p)| *p == port).count()
    }

    /// The kind of stream the first input of `node` carries.
    pub fn input_kind(&self, node: &Node) -> Option<Kind> {
        node.inputs.first().and_then(|i| self.nodes[i.node].kind)
    }

    /// The time of the records on the first input of `node`.
    pub fn input_time(&self, node: &Node) -> Time {
        node.inputs
            .first()
            .map_or(Time::None, |i| self.nodes[i.node].time)
    }
}
