//! Updating queries: a `GROUP BY` without a window, whose results change as records
//! arrive. Its output is a changelog, as Flink's: `+I` a new row, `-U`/`+U` the row
//! before and after an update, `-D` a row withdrawn (a `HAVING` no longer true).
//!
//! The aggregation runs on differential dataflow: the records become a collection of
//! `(key, arguments)` at their timely time, `reduce` folds each key's distinct
//! arguments with their multiplicities (the [`Fold`] of the query's aggregates), and its
//! output collection, consolidated per time, becomes the changelog once the frontier
//! passes that time: a key whose result changed has its old result retracted and its
//! new one added, which `HAVING` and the projection turn into `+I`, `-U`/`+U` or `-D`.
//! A key's changes at one time come out together, so an update is one `-U`/`+U` pair
//! per time, not per record (Flink's mini-batch, with the tick as the batch).
//!
//! Time is the stream's: on an event-time stream, a time's changes come out when the
//! watermark passes it; on a stream without timestamps (time 0), once the input ends.
//! State is one arranged entry per key and distinct argument tuple (one per key for
//! `COUNT(*)`), and one result per key.

use std::collections::BTreeMap;
use std::fmt;

use differential_dataflow::AsCollection;
use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::{Capability, Operator};
use timely::dataflow::StreamVec;

use crate::context::JobContext;
use crate::key::ExchangeData;
use crate::time::{tick_floor, time_of, Time, Timed};

use super::aggregate::Fold;
use super::total::{Ordered, Total};

/// What a change does to a row, Flink's `RowKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RowKind {
    /// `+I`: a new row.
    Insert,
    /// `-U`: the row before an update (an `UpdateAfter` follows).
    UpdateBefore,
    /// `+U`: the row after an update.
    UpdateAfter,
    /// `-D`: a row withdrawn.
    Delete,
}

impl RowKind {
    /// Flink's short form: `+I`, `-U`, `+U`, `-D`.
    pub fn short(self) -> &'static str {
        match self {
            RowKind::Insert => "+I",
            RowKind::UpdateBefore => "-U",
            RowKind::UpdateAfter => "+U",
            RowKind::Delete => "-D",
        }
    }

    /// Whether the row is there after the change (`+I`, `+U`).
    pub fn is_upsert(self) -> bool {
        matches!(self, RowKind::Insert | RowKind::UpdateAfter)
    }
}

/// One change of an updating query's result: the row and what happens to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change<R> {
    /// What happens to the row.
    pub kind: RowKind,
    /// The row.
    pub row: R,
}

/// `+I[..]`, `-U[..]`, `+U[..]`, `-D[..]`, as Flink's print sink shows a changelog: the
/// row's fields in order, whatever struct it is.
impl<R: Serialize> fmt::Display for Change<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::fields::write_row(f, self.kind.short(), &self.row)
    }
}

/// A key's aggregated result, as `HAVING` and the projection read it.
#[derive(Clone, Debug)]
pub struct Grouped<K, V> {
    /// The `GROUP BY` columns.
    pub key: K,
    /// The aggregates.
    pub value: V,
}

/// `GROUP BY` without a window over a stream without timestamps: see the module.
pub fn group_by<'scope, T, K, V, A, R, FK, FV, FH, FP>(
    stream: StreamVec<'scope, Time, T>,
    context: &JobContext,
    key: FK,
    value: FV,
    fold: A,
    having: FH,
    project: FP,
) -> StreamVec<'scope, Time, Change<R>>
where
    T: Clone + 'static,
    K: Total + ExchangeData + fmt::Debug,
    V: Total + ExchangeData + fmt::Debug,
    A: Fold<V>,
    A::Out: Total + ExchangeData + fmt::Debug,
    R: Clone + 'static,
    FK: Fn(&T) -> K + 'static,
    FV: Fn(&T) -> V + 'static,
    FH: Fn(&Grouped<K, A::Out>) -> bool + 'static,
    FP: Fn(Grouped<K, A::Out>) -> R + 'static,
{
    not_checkpointed(context);
    let updates = updates(stream, |r| r, |_, at| at, key, value);
    changelog(updates, fold, having, project, |change, _| change)
}

/// [`group_by`] over an event-time (or processing-time) stream: a record counts at its
/// event time rounded down to the pipeline's `tick` (or at its message's time, for a
/// record that came after the watermark), and the changes of a time carry it as their
/// event time.
#[allow(
    clippy::too_many_arguments,
    reason = "generated code passes the query's closures one by one, so that rustc infers their argument types from these bounds"
)]
pub fn group_by_timed<'scope, T, K, V, A, R, FK, FV, FH, FP>(
    stream: StreamVec<'scope, Time, Timed<T>>,
    context: &JobContext,
    tick: u64,
    key: FK,
    value: FV,
    fold: A,
    having: FH,
    project: FP,
) -> StreamVec<'scope, Time, Timed<Change<R>>>
where
    T: Clone + 'static,
    K: Total + ExchangeData + fmt::Debug,
    V: Total + ExchangeData + fmt::Debug,
    A: Fold<V>,
    A::Out: Total + ExchangeData + fmt::Debug,
    R: Clone + 'static,
    FK: Fn(&T) -> K + 'static,
    FV: Fn(&T) -> V + 'static,
    FH: Fn(&Grouped<K, A::Out>) -> bool + 'static,
    FP: Fn(Grouped<K, A::Out>) -> R + 'static,
{
    // Updates may be at times later than their message's.
    let at_its_time =
        move |r: &Timed<T>, at: Time| at.with_event(at.event.max(tick_floor(r.ts, tick)));
    not_checkpointed(context);
    let updates = updates(stream, |r| &r.value, at_its_time, key, value);
    changelog(updates, fold, having, project, |change, t: Time| Timed {
        ts: t.event,
        value: change,
    })
}

/// An updating query's state (differential dataflow's arrangements) is not in
/// checkpoints yet: a job that checkpoints fails at start rather than lose it at a
/// restore.
fn not_checkpointed(context: &JobContext) {
    if crate::checkpoint::worker().is_some() {
        context.fail(crate::error::Error::Config(
            "an updating SQL query (a GROUP BY without a window) is not checkpointed yet: run the job without --checkpoint-dir".to_string(),
        ));
    }
}

/// The records of `stream` as updates `((key, arguments), time, +1)`: `record` is the
/// record in an element, `time` the update's time given the element and its message's.
fn updates<'scope, I, T, K, V, FT, FK, FV>(
    stream: StreamVec<'scope, Time, I>,
    record: fn(&I) -> &T,
    time: FT,
    key: FK,
    value: FV,
) -> Updates<'scope, K, V>
where
    I: Clone + 'static,
    T: 'static,
    K: Total + ExchangeData,
    V: Total + ExchangeData,
    FT: Fn(&I, Time) -> Time + 'static,
    FK: Fn(&T) -> K + 'static,
    FV: Fn(&T) -> V + 'static,
{
    stream.unary(Pipeline, "SqlGroupBy", move |_, _| {
        move |input, output| {
            input.for_each(|cap, data| {
                let at = time_of(&cap);
                output
                    .session(&cap)
                    .give_iterator(data.drain(..).map(|element| {
                        let r = record(&element);
                        let row = (Ordered(key(r)), Ordered(value(r)));
                        (row, time(&element, at), 1isize)
                    }));
            });
        }
    })
}

/// Updates of `(key, value)` pairs: differential dataflow's `(data, time, diff)`.
type Updates<'scope, K, V> = StreamVec<'scope, Time, ((Ordered<K>, Ordered<V>), Time, isize)>;

/// A time's changes of `(key, result)`, held under the time's capability until the
/// frontier passes it.
type Pending<K, V> = BTreeMap<Time, (Capability<Time>, Vec<((Ordered<K>, Ordered<V>), isize)>)>;

/// The collection of `(key, arguments)` updates reduced per key, and its changes as a
/// changelog (each change wrapped by `out` with its time).
fn changelog<'scope, K, V, A, R, O, FH, FP, FO>(
    updates: Updates<'scope, K, V>,
    fold: A,
    having: FH,
    project: FP,
    out: FO,
) -> StreamVec<'scope, Time, O>
where
    K: Total + ExchangeData + fmt::Debug,
    V: Total + ExchangeData + fmt::Debug,
    A: Fold<V>,
    A::Out: Total + ExchangeData + fmt::Debug,
    R: Clone + 'static,
    O: Clone + 'static,
    FH: Fn(&Grouped<K, A::Out>) -> bool + 'static,
    FP: Fn(Grouped<K, A::Out>) -> R + 'static,
    FO: Fn(Change<R>, Time) -> O + 'static,
{
    let results =
        updates
            .as_collection()
            .reduce_named("SqlAggregate", move |_key, values, output| {
                let mut acc = fold.init();
                for (value, times) in values {
                    fold.add(&mut acc, &value.0, *times as i64);
                }
                output.push((Ordered(fold.finish(&acc)), 1isize));
            });
    results
        .inner
        .unary_frontier(Pipeline, "SqlChangelog", move |_, _| {
            let mut pending: Pending<K, A::Out> = BTreeMap::new();
            move |(input, frontier), output| {
                input.for_each(|cap, data| {
                    // By the updates' own times, which may be later than their message's.
                    for (row, t, diff) in data.drain(..) {
                        pending
                            .entry(t)
                            .or_insert_with(|| (cap.delayed(&t, 0), Vec::new()))
                            .1
                            .push((row, diff));
                    }
                });
                let done: Vec<Time> = pending
                    .keys()
                    .filter(|t| !frontier.less_equal(t))
                    .copied()
                    .collect();
                for t in done {
                    let (cap, mut changes) = pending.remove(&t).expect("a pending time");
                    changes.sort_by(|a, b| a.0.cmp(&b.0));
                    consolidate(&mut changes);
                    let mut session = output.session(&cap);
                    let mut changes = changes.into_iter().peekable();
                    while let Some(first) = changes.next() {
                        // One key's retraction (old result) and addition (new result),
                        // moved out of the batch.
                        let (mut old, mut new) = (None, None);
                        let mut next = Some(first);
                        while let Some(((k, v), diff)) = next {
                            next = changes.next_if(|((other, _), _)| *other == k);
                            let row = Grouped {
                                key: k.0,
                                value: v.0,
                            };
                            if diff < 0 {
                                old = Some(row);
                            } else {
                                new = Some(row);
                            }
                        }
                        let old = old.filter(|r| having(r));
                        let new = new.filter(|r| having(r));
                        let kinds = match (&old, &new) {
                            (Some(_), Some(_)) => (RowKind::UpdateBefore, RowKind::UpdateAfter),
                            _ => (RowKind::Delete, RowKind::Insert),
                        };
                        if let Some(row) = old {
                            session.give(out(
                                Change {
                                    kind: kinds.0,
                                    row: project(row),
                                },
                                t,
                            ));
                        }
                        if let Some(row) = new {
                            session.give(out(
                                Change {
                                    kind: kinds.1,
                                    row: project(row),
                                },
                                t,
                            ));
                        }
                    }
                }
            }
        })
}

/// Sums the diffs of equal updates and drops those that cancel (sorted input).
fn consolidate<D: Ord>(changes: &mut Vec<(D, isize)>) {
    let mut out: Vec<(D, isize)> = Vec::with_capacity(changes.len());
    for (d, diff) in changes.drain(..) {
        match out.last_mut() {
            Some((last, sum)) if *last == d => *sum += diff,
            _ => out.push((d, diff)),
        }
    }
    out.retain(|(_, diff)| *diff != 0);
    *changes = out;
}

/// A sink that applies an updating query's changes, rather than appending records: a
/// PostgreSQL table in upsert mode (an upsert for `+I`/`+U`, a `DELETE` for `-D`), a
/// Kafka topic as upsert-kafka (keyed records and tombstones).
#[diagnostic::on_unimplemented(
    message = "sink does not support consuming update changes: `{Self}` appends records, and the query is an updating one (a GROUP BY without a window, whose rows change)",
    label = "an append-only sink",
    note = "write an updating query to `print()`, to a PostgreSQL table in upsert mode, `postgres(url, table).upsert()`, or to Kafka as upsert-kafka, `kafka_sink(brokers, topic, Json)`"
)]
pub trait ChangelogSink<R> {
    /// The sink's operator for `changes`, whose rows are keyed by the columns `key`
    /// (the query's `GROUP BY`, empty when it does not project them all).
    fn build_changelog<'scope>(
        &self,
        changes: StreamVec<'scope, Time, Change<R>>,
        key: &[&str],
        context: &crate::context::JobContext,
    ) -> crate::sinks::Written<'scope>;
}

/// `changes.sink(spec)` for an updating query's changelog, keyed by `key`.
pub fn sink<'scope, R, S: ChangelogSink<R>>(
    spec: &S,
    changes: StreamVec<'scope, Time, Change<R>>,
    key: &[&str],
    context: &crate::context::JobContext,
) -> crate::sinks::Written<'scope> {
    spec.build_changelog(changes, key, context)
}
