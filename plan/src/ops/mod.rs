//! The operator registry: one file per DSL operator, each a constant [`OpSpec`].
//!
//! The table drives the checker (what an operator needs and yields, its arguments) and
//! code generation alike; adding an operator is adding a file and a line in [`ALL`].

use proc_macro2::{Ident, TokenStream};

use crate::codegen::Emitter;
use crate::graph::Node;

mod allowed_lateness;
mod apply;
mod assign_timestamps;
mod collect;
mod count;
mod count_window;
mod dead_letters;
mod filter;
mod flat_map;
mod inspect;
mod interval_join;
mod join;
mod kafka_sink;
mod key_by;
mod late;
mod map;
mod print;
mod process;
mod process_window;
mod reduce;
mod side_output;
mod sink;
mod sources;
mod sum;
mod union;
mod window;
mod window_aggregates;
mod with_processing_time;
mod write_as_text;

/// Every operator the DSL knows.
pub const ALL: &[&OpSpec] = &[
    &sources::FROM_COLLECTION,
    &sources::READ_TEXT_FILE,
    &sources::FROM_SOURCE,
    &assign_timestamps::SPEC,
    &with_processing_time::SPEC,
    &map::SPEC,
    &filter::SPEC,
    &flat_map::SPEC,
    &inspect::SPEC,
    &union::SPEC,
    &key_by::SPEC,
    &reduce::SPEC,
    &sum::SPEC,
    &count::SPEC,
    &window::SPEC,
    &window::ALL_SPEC,
    &count_window::SPEC,
    &count_window::ALL_SPEC,
    &allowed_lateness::SPEC,
    &window_aggregates::MIN,
    &window_aggregates::MAX,
    &window_aggregates::AVG,
    &window_aggregates::AGGREGATE,
    &process_window::SPEC,
    &late::SPEC,
    &process::SPEC,
    &side_output::SPEC,
    &interval_join::SPEC,
    &interval_join::BETWEEN,
    &join::SPEC,
    &join::LOOKUP,
    &join::ON,
    &apply::SPEC,
    &print::SPEC,
    &print::DISCARD,
    &write_as_text::SPEC,
    &sink::SPEC,
    &kafka_sink::SPEC,
    &dead_letters::SPEC,
    &collect::SPEC,
];

/// Looks an operator up by name.
pub fn lookup(name: &str) -> Option<&'static OpSpec> {
    ALL.iter().copied().find(|op| op.name == name)
}

/// What kind of stream flows on an edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A plain stream of records.
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

/// What an operator consumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// A source: no input stream.
    Nothing,
    /// A stream of one of these kinds.
    Stream(&'static [Kind]),
}

/// What an operator produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Yields {
    /// A stream of this kind.
    Stream(Kind),
    /// Nothing: the operator is a sink.
    Nothing,
}

/// The form an argument must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Any expression.
    Expr,
    /// A closure (or the name of a function).
    Closure,
    /// A closure, or a tuple field index such as `0`.
    Selector,
    /// The name of a stream defined earlier.
    Stream,
    /// A window spec: `tumbling(10s)` or `sliding(10s, 2s)`.
    Window,
    /// A duration literal: `500ms`, `10s`, `1min`, `2h`.
    Duration,
}

impl Arg {
    /// How the argument is described in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Arg::Expr => "an expression",
            Arg::Closure => "a closure",
            Arg::Selector => "a closure or a tuple field index",
            Arg::Stream => "a stream name",
            Arg::Window => "a window, `tumbling(size)`, `sliding(size, slide)` or `session(gap)`,",
            Arg::Duration => "a duration such as `500ms`, `10s`, `1min` or `2h`",
        }
    }
}

/// How a stateless operator is fused into its chain.
pub struct Fused {
    /// The typed helper in `tidemill::__private::operators::fused` that binds the closure.
    pub helper: &'static str,
    /// Wraps the rest of the per-record body (`inner`) around a call of the closure `f`;
    /// the current record is `__tm_r`.
    pub wrap: fn(f: &Ident, inner: TokenStream) -> TokenStream,
}

/// How an operator becomes code.
pub enum Codegen {
    /// A stateless operator, fused with its neighbours into one timely operator.
    Fused(Fused),
    /// Any other operator: returns the expression of its output (unit for sinks).
    Op(fn(&mut Emitter<'_>, &Node) -> TokenStream),
    /// A source: returns the expression of its `SourceSpec`, evaluated once per process.
    Source(fn(&Node) -> TokenStream),
}

/// The specification of one DSL operator.
pub struct OpSpec {
    pub name: &'static str,
    /// How the operator is called, for messages, e.g. `map(|x| ...)`.
    pub usage: &'static str,
    pub needs: Needs,
    pub yields: Yields,
    pub args: &'static [Arg],
    /// The last argument may repeat (at least once).
    pub variadic: bool,
    /// Named options that may follow the arguments, each `name = value` with a value of
    /// the given form.
    pub options: &'static [(&'static str, Arg)],
    /// For sources: whether the input is finite.
    pub bounded: bool,
    /// The time of the records it yields, when the operator sets it (timestamp assigners).
    pub time: Option<Time>,
    pub codegen: Codegen,
}

impl OpSpec {
    pub fn is_source(&self) -> bool {
        self.needs == Needs::Nothing
    }
    pub fn is_sink(&self) -> bool {
        self.yields == Yields::Nothing
    }
    pub fn fused(&self) -> Option<&Fused> {
        match &self.codegen {
            Codegen::Fused(f) => Some(f),
            Codegen::Op(_) | Codegen::Source(_) => None,
        }
    }
}
