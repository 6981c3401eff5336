//! Windows on timestamped streams: assignment, incremental aggregation, firing by the
//! frontier, allowed lateness and late data.
//!
//! # Semantics (Flink's, see `docs/flink-semantics.md`)
//! - Tumbling windows of size `S` are `[k·S, (k+1)·S)`; sliding windows of size `S` and
//!   slide `L` start at every multiple of `L`, so a record belongs to `S / L` of them.
//!   Results carry `[start, end)` and the event time `end - 1`.
//! - A window fires once the input frontier (the watermark) reaches its end, i.e. when
//!   `watermark >= end - 1`: every record that is not late has then arrived.
//! - A record is late for a window when its source's watermark had passed
//!   `end - 1 + allowed_lateness` when the record was read. The record travels at that
//!   watermark's timely time, so the operator decides from the record's own time, and the
//!   decision does not depend on thread scheduling. A record late for every window it
//!   belongs to goes to the late output; a record that reaches a window which already
//!   fired, within the allowed lateness, updates it and the window fires again with the
//!   updated result.
//! - State of a window is dropped when the frontier passes `end + allowed_lateness`.
//!
//! # Memory
//! Sliding windows share work through panes of `gcd(size, slide)`: a record updates one
//! accumulator (of its key and pane) and a firing window merges its panes. State is one
//! accumulator per live key and open pane, where a pane stays open until the frontier
//! passes the end of the last window it belongs to plus the allowed lateness.
//!
//! # Layout
//! This module holds the windowed stream and the aggregations a pipeline calls. Which
//! windows a record belongs to is `assigner.rs`; the operator shell (the exchange, the
//! outputs, the capabilities, checkpoints) around a `WindowLogic` is `shell.rs`; the
//! logics are `panes.rs` (tumbling and sliding), `session.rs` and `count.rs`, with the
//! combiner before the exchange in `combine.rs`; the aggregators are those of
//! [`crate::aggregate`], and uncollected late records are counted by `late.rs`. A logic
//! names the event times it will emit at and touches no timely type, so each is
//! unit-tested alone, driven by `testing.rs`.

mod assigner;
mod combine;
mod count;
mod late;
mod panes;
mod session;
mod shell;
#[cfg(test)]
mod testing;

use timely::dataflow::StreamVec;

pub use crate::aggregate::{
    max, min, Aggregator, AsF64, Avg, Collect, Count, Extreme, Reduce, Sum, SumField,
};
use assigner::window_result;
pub use assigner::{Assigner, Window, WindowResult};
pub use count::{count_windows, CountWindows};
pub use late::count_late;
pub use session::{session, Sessions};

use crate::key::{ExchangeData, KeyFn, KeySelector, OnValue};
use crate::operators::keyed::KeyedStream;
use crate::time::{Time, Timed};

/// A keyed, timestamped stream with a kind of windows: the input of a window
/// aggregation.
pub struct WindowedStream<'scope, T, S, W> {
    keyed: KeyedStream<'scope, Timed<T>, S>,
    windows: W,
    lateness: u64,
}

/// A kind of windows: which records share a window, and the logic that aggregates them.
/// Tumbling and sliding windows are an [`Assigner`], sessions are [`Sessions`], count
/// windows are [`CountWindows`]. A new kind is a type that implements this, in its own
/// file with its `WindowLogic` (see `docs/extending.md`).
pub trait WindowKind: Copy + 'static {
    /// Aggregates the windows of `keyed` with `agg`, records late by more than
    /// `lateness` ms to the second output.
    fn aggregate<'scope, T, S, A>(
        self,
        keyed: KeyedStream<'scope, Timed<T>, S>,
        lateness: u64,
        name: &str,
        agg: A,
    ) -> Aggregated<'scope, S::Key, A::Out, T>
    where
        T: ExchangeData,
        S: KeySelector<Timed<T>>,
        A: Aggregator<T>;
}

/// A keyed stream without timestamps, as count windows take it: its records at event
/// time 0.
pub fn untimed<'scope, T: 'static, S>(
    keyed: KeyedStream<'scope, T, S>,
) -> KeyedStream<'scope, Timed<T>, OnValue<S>> {
    let (stream, selector) = keyed.into_parts();
    KeyedStream::from_parts(crate::operators::fused::at_zero(stream), OnValue(selector))
}

/// `keyed.window(windows)`.
pub fn window<'scope, T, S, W: WindowKind>(
    keyed: KeyedStream<'scope, Timed<T>, S>,
    windows: W,
) -> WindowedStream<'scope, T, S, W> {
    WindowedStream {
        keyed,
        windows,
        lateness: 0,
    }
}

/// The key of every record in `window_all`.
pub type AllKey<T> = KeyFn<fn(&Timed<T>)>;

/// `stream.window_all(assigner)`: one window over the whole stream, computed on one
/// worker (Flink's `windowAll` runs with parallelism 1).
pub fn window_all<'scope, T: 'static, W: WindowKind>(
    stream: StreamVec<'scope, Time, Timed<T>>,
    windows: W,
) -> WindowedStream<'scope, T, AllKey<T>, W> {
    fn no_key<T>(_: &Timed<T>) {}
    window(
        crate::operators::keyed::key_by_fn(stream, no_key as fn(&Timed<T>)),
        windows,
    )
}

/// `.allowed_lateness(ms)`.
pub fn allowed_lateness<T, S, W>(
    mut windowed: WindowedStream<'_, T, S, W>,
    lateness: u64,
) -> WindowedStream<'_, T, S, W> {
    windowed.lateness = lateness;
    windowed
}

/// Pins a value closure (`sum`, `min`, `max`, `avg`) to the windowed stream's record type.
pub fn value_fn<T, S, W, V, F: Fn(&T) -> V>(_: &WindowedStream<'_, T, S, W>, f: F) -> F {
    f
}

/// Pins a field accessor (`sum(N)`) to the windowed stream's record type.
pub fn field_fn<T, S, W, V, F>(_: &WindowedStream<'_, T, S, W>, f: F) -> F
where
    F: for<'a> Fn(&'a mut T) -> &'a mut V,
{
    f
}

/// Pins a `reduce` closure to the windowed stream's record type.
pub fn reduce_fn<T, S, W, F: Fn(T, T) -> T>(_: &WindowedStream<'_, T, S, W>, f: F) -> F {
    f
}

/// A window aggregation's outputs: the results, and the records that came too late.
pub type Aggregated<'scope, K, O, T> = (
    StreamVec<'scope, Time, Timed<WindowResult<K, O>>>,
    StreamVec<'scope, Time, Timed<T>>,
);

/// Aggregates each window of `windowed` with `agg`; see the module docs for when windows
/// fire and what is late.
pub fn aggregate<'scope, T, S, W, A>(
    windowed: WindowedStream<'scope, T, S, W>,
    name: &str,
    agg: A,
) -> Aggregated<'scope, S::Key, A::Out, T>
where
    T: ExchangeData,
    S: KeySelector<Timed<T>>,
    W: WindowKind,
    A: Aggregator<T>,
{
    let WindowedStream {
        keyed,
        windows,
        lateness,
    } = windowed;
    windows.aggregate(keyed, lateness, name, agg)
}

/// `process_window(|key, window, records, out| ...)`: Flink's `ProcessWindowFunction`.
/// When a window fires, `f` gets its key, its bounds and all its records (in arrival
/// order within each pane) and pushes any number of outputs, which travel at the
/// window's last millisecond. This is the one window path that buffers records; an
/// update within the allowed lateness calls `f` again with all the window's records.
pub fn process<'scope, T, S, W, O, F>(
    windowed: WindowedStream<'scope, T, S, W>,
    name: &str,
    mut f: F,
) -> (
    StreamVec<'scope, Time, Timed<O>>,
    StreamVec<'scope, Time, Timed<T>>,
)
where
    T: ExchangeData,
    S: KeySelector<Timed<T>>,
    W: WindowKind,
    O: 'static,
    F: FnMut(&S::Key, Window, Vec<T>, &mut Vec<O>) + 'static,
{
    use timely::dataflow::channels::pact::Pipeline;
    use timely::dataflow::operators::Operator;
    let (windows, late) = aggregate(windowed, name, Collect);
    let mut outputs = Vec::new();
    let processed = windows.unary(Pipeline, name, move |_, _| {
        move |input, output| {
            input.for_each(|time, data| {
                let mut session = output.session(&time);
                for result in data.drain(..) {
                    let (ts, window) = (result.ts, result.value.window());
                    f(&result.value.key, window, result.value.value, &mut outputs);
                    session.give_iterator(outputs.drain(..).map(|value| Timed { ts, value }));
                }
            });
        }
    });
    (processed, late)
}
