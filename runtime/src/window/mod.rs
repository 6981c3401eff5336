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

mod aggregate;
mod combine;
mod count;
mod session;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

pub use aggregate::{
    max, min, Aggregator, AsF64, Avg, Collect, Count, Extreme, Reduce, Sum, SumField,
};
use combine::Part;

use crate::checkpoint::{Caps, EpochGate};
use crate::hash::StateMap;
use crate::key::{ExchangeData, KeyFn, KeySelector, OnValue};
use crate::operators::keyed::{state_of, KeyedStream};
use crate::time::{epoch_frontier, event_frontier, time_of, Time, Timed};

/// The window a result belongs to: `[start, end)` in milliseconds of event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Window {
    /// First millisecond of the window (negative for windows that begin before the epoch).
    pub start: i64,
    /// First millisecond after the window.
    pub end: i64,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// What a window aggregation emits: the key, the window, and the aggregate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowResult<K, V> {
    /// The key (`()` for `window_all`).
    pub key: K,
    /// First millisecond of the window.
    pub start: i64,
    /// First millisecond after the window.
    pub end: i64,
    /// The aggregate.
    pub value: V,
}

impl<K, V> WindowResult<K, V> {
    /// The window as a value.
    pub fn window(&self) -> Window {
        Window {
            start: self.start,
            end: self.end,
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Display for WindowResult<K, V> {
    /// `[start, end) key: value`, with `Debug` forms for key and value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}, {}) {:?}: {:?}",
            self.start, self.end, self.key, self.value
        )
    }
}

/// Which windows a record belongs to: tumbling (`slide == size`) or sliding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assigner {
    size: u64,
    slide: u64,
    pane: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Assigner {
    /// `tumbling(size)`: windows `[k·size, (k+1)·size)`.
    pub fn tumbling(size: u64) -> Self {
        Self::sliding(size, size)
    }

    /// `sliding(size, slide)`: windows of `size` starting at every multiple of `slide`.
    /// The macro checks `0 < slide <= size` at compile time.
    pub fn sliding(size: u64, slide: u64) -> Self {
        assert!(
            slide > 0 && slide <= size,
            "a window needs 0 < slide <= size"
        );
        Assigner {
            size,
            slide,
            pane: gcd(size, slide),
        }
    }

    /// The end of the last window that contains `ts`.
    fn last_end(&self, ts: u64) -> u64 {
        ts - ts % self.slide + self.size
    }

    /// The end of the first window that contains `ts`.
    fn first_end(&self, ts: u64) -> u64 {
        let last = self.last_end(ts);
        last - (last - ts - 1) / self.slide * self.slide
    }

    /// The ends of the windows that contain `ts`, latest first.
    fn ends(&self, ts: u64) -> impl Iterator<Item = u64> {
        let slide = self.slide;
        std::iter::successors(Some(self.last_end(ts)), move |e| e.checked_sub(slide))
            .take_while(move |&e| e > ts)
    }

    /// The end of the pane that holds `ts`.
    fn pane_end(&self, ts: u64) -> u64 {
        ts - ts % self.pane + self.pane
    }

    /// The end of the last window that contains the pane ending at `pane_end`.
    fn pane_last_window_end(&self, pane_end: u64) -> u64 {
        self.last_end(pane_end - self.pane)
    }

    /// The pane ends of the window ending at `end`.
    fn panes_of(&self, end: u64) -> std::ops::RangeInclusive<u64> {
        (end + self.pane).saturating_sub(self.size)..=end
    }

    fn window(&self, end: u64) -> Window {
        Window {
            start: end as i64 - self.size as i64,
            end: end as i64,
        }
    }
}

/// A keyed, timestamped stream with a window assigner: the input of a window aggregation.
pub struct WindowedStream<'scope, T, S> {
    keyed: KeyedStream<'scope, Timed<T>, S>,
    windows: Windows,
    lateness: u64,
}

/// The windows of a windowed stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Windows {
    /// Tumbling or sliding windows, aggregated in panes.
    Panes(Assigner),
    /// Session windows: a key's records less than (or exactly) a gap apart share a
    /// session, and sessions merge as records arrive.
    Session {
        /// The gap, in ms.
        gap: u64,
        /// The pipeline's tick: a session's result travels at its last millisecond
        /// rounded down to it, so sessions that end within one tick share a timely time.
        tick: u64,
    },
    /// Count windows: the last `size` records of a key, every `step` records (see
    /// [`count_windows`]).
    Count {
        /// Records in a full window.
        size: u64,
        /// Records between firings (`size` for tumbling count windows).
        step: u64,
    },
}

impl From<Assigner> for Windows {
    fn from(assigner: Assigner) -> Self {
        Windows::Panes(assigner)
    }
}

/// `session(gap)`: session windows, with results at their exact last millisecond.
pub fn session(gap: u64) -> Windows {
    assert!(gap > 0, "a session gap must be positive");
    Windows::Session { gap, tick: 1 }
}

impl Windows {
    /// The same windows in a pipeline whose timely times are rounded down to `tick` ms:
    /// session results travel at such times too (the macro passes its tick).
    pub fn ticked(self, tick: u64) -> Windows {
        assert!(tick > 0, "the tick must be positive");
        match self {
            Windows::Session { gap, .. } => Windows::Session { gap, tick },
            other => other,
        }
    }
}

/// `count_window(size)` (`step == size`) or `count_window(size, step)`: count windows.
/// See [`count_windows`] for what they hold and when they fire.
pub fn count_windows(size: u64, step: u64) -> Windows {
    assert!(
        step > 0 && step <= size,
        "a count window needs 0 < step <= size"
    );
    Windows::Count { size, step }
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
pub fn window<'scope, T, S>(
    keyed: KeyedStream<'scope, Timed<T>, S>,
    windows: impl Into<Windows>,
) -> WindowedStream<'scope, T, S> {
    WindowedStream {
        keyed,
        windows: windows.into(),
        lateness: 0,
    }
}

/// The key of every record in `window_all`.
pub type AllKey<T> = KeyFn<fn(&Timed<T>)>;

/// `stream.window_all(assigner)`: one window over the whole stream, computed on one
/// worker (Flink's `windowAll` runs with parallelism 1).
pub fn window_all<'scope, T: 'static>(
    stream: StreamVec<'scope, Time, Timed<T>>,
    windows: impl Into<Windows>,
) -> WindowedStream<'scope, T, AllKey<T>> {
    fn no_key<T>(_: &Timed<T>) {}
    window(
        crate::operators::keyed::key_by_fn(stream, no_key as fn(&Timed<T>)),
        windows,
    )
}

/// `.allowed_lateness(ms)`.
pub fn allowed_lateness<T, S>(
    mut windowed: WindowedStream<'_, T, S>,
    lateness: u64,
) -> WindowedStream<'_, T, S> {
    windowed.lateness = lateness;
    windowed
}

/// Pins a value closure (`sum`, `min`, `max`, `avg`) to the windowed stream's record type.
pub fn value_fn<T, S, V, F: Fn(&T) -> V>(_: &WindowedStream<'_, T, S>, f: F) -> F {
    f
}

/// Pins a field accessor (`sum(N)`) to the windowed stream's record type.
pub fn field_fn<T, S, V, F>(_: &WindowedStream<'_, T, S>, f: F) -> F
where
    F: for<'a> Fn(&'a mut T) -> &'a mut V,
{
    f
}

/// Pins a `reduce` closure to the windowed stream's record type.
pub fn reduce_fn<T, S, F: Fn(T, T) -> T>(_: &WindowedStream<'_, T, S>, f: F) -> F {
    f
}

/// A window aggregation's outputs: the results, and the records that came too late.
pub type Aggregated<'scope, K, O, T> = (
    StreamVec<'scope, Time, Timed<WindowResult<K, O>>>,
    StreamVec<'scope, Time, Timed<T>>,
);

/// An output of a window operator.
type Out<D> = OutputBuilder<Time, CapacityContainerBuilder<Vec<D>>>;

/// Per-key accumulators of one window, for partly late records, by window end.
type Panes<K, A> = BTreeMap<u64, StateMap<K, A>>;

/// Per-key accumulators of the open panes, by pane end, in order. Records come mostly in
/// time order, so a pane is found by a short scan from the newest, and expired panes
/// leave from the front: cheaper than a tree lookup per record.
struct PaneStore<K, A> {
    panes: VecDeque<(u64, StateMap<K, A>)>,
}

impl<K, A> Default for PaneStore<K, A> {
    fn default() -> Self {
        PaneStore {
            panes: VecDeque::new(),
        }
    }
}

impl<K, A> PaneStore<K, A> {
    /// The accumulators of the pane ending at `end`, created empty if it has none.
    #[inline]
    fn pane(&mut self, end: u64) -> &mut StateMap<K, A> {
        let mut i = self.panes.len();
        while i > 0 && self.panes[i - 1].0 > end {
            i -= 1;
        }
        if i == 0 || self.panes[i - 1].0 != end {
            self.panes.insert(i, (end, StateMap::default()));
            i += 1;
        }
        &mut self.panes[i - 1].1
    }

    /// The place of the pane ending at `end`, if it exists.
    fn find(&self, end: u64) -> Option<usize> {
        let i = self.panes.iter().rposition(|(e, _)| *e <= end)?;
        (self.panes[i].0 == end).then_some(i)
    }

    /// The panes whose ends lie in `ends`, in order.
    fn range(
        &self,
        ends: std::ops::RangeInclusive<u64>,
    ) -> impl Iterator<Item = &StateMap<K, A>> + '_ {
        let first = self.panes.partition_point(|(e, _)| e < ends.start());
        self.panes
            .range(first..)
            .take_while(move |(e, _)| e <= ends.end())
            .map(|(_, p)| p)
    }

    /// Drops the panes from the front while `expired` says so of their ends.
    fn expire(&mut self, mut expired: impl FnMut(u64) -> bool) {
        while self.panes.front().is_some_and(|(e, _)| expired(*e)) {
            self.panes.pop_front();
        }
    }
}

/// Aggregates each window of `windowed` with `agg`; see the module docs for when windows
/// fire and what is late.
pub fn aggregate<'scope, T, S, A>(
    windowed: WindowedStream<'scope, T, S>,
    name: &str,
    agg: A,
) -> Aggregated<'scope, S::Key, A::Out, T>
where
    T: ExchangeData,
    S: KeySelector<Timed<T>>,
    A: Aggregator<T>,
{
    let WindowedStream {
        keyed,
        windows,
        lateness,
    } = windowed;
    match windows {
        Windows::Panes(assigner) => pane_aggregate(keyed, assigner, lateness, name, agg),
        Windows::Session { gap, tick } => session::aggregate(keyed, gap, tick, lateness, name, agg),
        Windows::Count { size, step } => count::aggregate(keyed, size, step, name, agg),
    }
}

/// `process_window(|key, window, records, out| ...)`: Flink's `ProcessWindowFunction`.
/// When a window fires, `f` gets its key, its bounds and all its records (in arrival
/// order within each pane) and pushes any number of outputs, which travel at the
/// window's last millisecond. This is the one window path that buffers records; an
/// update within the allowed lateness calls `f` again with all the window's records.
pub fn process<'scope, T, S, O, F>(
    windowed: WindowedStream<'scope, T, S>,
    name: &str,
    mut f: F,
) -> (
    StreamVec<'scope, Time, Timed<O>>,
    StreamVec<'scope, Time, Timed<T>>,
)
where
    T: ExchangeData,
    S: KeySelector<Timed<T>>,
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

/// Where a window operator's logic sends the results of windows that fire.
type Fire<'a, R> = dyn FnMut(&Capability<Time>, Timed<R>) + 'a;

/// What a window operator does with records and with progress; the operator around it
/// (the exchange by key, the two outputs, batching) is [`window_operator`]. Its input
/// items `I` are records (`Timed<T>`) or, after a combiner, partial aggregates.
trait WindowLogic<I, T, R>: 'static {
    /// Handles one item that travels at `time`: updates state, pushes updated results
    /// of windows that already fired into `updates` and late records into `late`, and
    /// keeps capabilities (from `cap`, output 0) for windows that will fire.
    fn on_record<C: Caps + ?Sized>(
        &mut self,
        cap: &C,
        time: u64,
        item: I,
        updates: &mut Vec<Timed<R>>,
        late: &mut Vec<Timed<T>>,
    );
    /// Handles a batch of items that travel at `time`, as [`Self::on_record`] each.
    fn on_batch<C: Caps + ?Sized>(
        &mut self,
        cap: &C,
        time: u64,
        items: &mut Vec<I>,
        updates: &mut Vec<Timed<R>>,
        late: &mut Vec<Timed<T>>,
    ) {
        for item in items.drain(..) {
            self.on_record(cap, time, item, updates, late);
        }
    }
    /// The input frontier reached `frontier` (`u64::MAX` once the input is done): fires
    /// complete windows through `fire` and drops expired state.
    fn on_frontier(&mut self, frontier: u64, fire: &mut Fire<'_, R>);

    /// What the logic computes, for messages.
    const KIND: &'static str = "pane window";
    /// Whether the logic's state can be checkpointed (see [`crate::checkpoint`]).
    const CHECKPOINTS: bool = false;
    /// The state, for a checkpoint part.
    fn snapshot(&self) -> Vec<u8> {
        Vec::new()
    }
    /// Takes the state of the restored checkpoint from `gate`, holding capabilities
    /// (delayed from `initial`, output 0's) in the gate's current epoch.
    fn restore(&mut self, gate: &EpochGate<I>, initial: &Capability<Time>) {
        let _ = (gate, initial);
    }
    /// Moves the capabilities held for windows to epoch `epoch`.
    fn retime(&mut self, epoch: u64) {
        let _ = epoch;
    }
}

/// A window operator: items exchanged by `route` (the key's hash, by key group) into `logic`, results
/// and late records out.
fn window_operator<'scope, I, T, R, L>(
    stream: StreamVec<'scope, Time, I>,
    route: impl Fn(&I) -> u64 + 'static,
    name: &str,
    mut logic: L,
) -> (
    StreamVec<'scope, Time, Timed<R>>,
    StreamVec<'scope, Time, Timed<T>>,
)
where
    I: ExchangeData,
    T: 'static,
    R: 'static,
    L: WindowLogic<I, T, R>,
{
    let name = name.to_owned();
    let mut builder = OperatorBuilder::new(name.clone(), stream.scope());
    let address = builder.operator_info().address;
    let waker = stream.scope().worker().sync_activator_for(address.to_vec());
    let route = crate::hash::KeyGroups::router(stream.scope().peers(), route);
    let mut input = builder.new_input(stream, Exchange::new(route));
    let (results, results_stream) = builder.new_output();
    let (late, late_stream) = builder.new_output();
    let mut results: Out<Timed<R>> = OutputBuilder::from(results);
    let mut late: Out<Timed<T>> = OutputBuilder::from(late);
    builder.build(move |initial| {
        let kind = format!("the {} aggregation `{name}`", L::KIND);
        let mut gate = EpochGate::new("window", L::CHECKPOINTS, &kind);
        gate.write_in_background(waker);
        if gate.has_restored() {
            logic.restore(&gate, &initial[0]);
        }
        gate.hold(&initial[0]);
        drop(initial);
        let mut updates = Vec::new();
        let mut too_late = Vec::new();
        let mut fired = Vec::new();
        move |frontiers| {
            let mut results = results.activate();
            let mut late = late.activate();
            input.for_each(|cap, data| {
                let stamp = time_of(&cap);
                if gate.is_later(&stamp) {
                    // A later epoch than the one open: it waits for the checkpoint.
                    let caps = vec![cap.delayed(&stamp, 0), cap.delayed(&stamp, 1)];
                    gate.stash(stamp, caps, std::mem::take(data));
                    return;
                }
                logic.on_batch(&cap, stamp.event, data, &mut updates, &mut too_late);
                if !updates.is_empty() {
                    results
                        .session(&cap.delayed(&stamp, 0))
                        .give_container(&mut updates);
                }
                if !too_late.is_empty() {
                    late.session(&cap.delayed(&stamp, 1))
                        .give_container(&mut too_late);
                }
            });
            loop {
                let input_frontier = frontiers[0].frontier();
                // What waits in the stash is in already: no window fires past it.
                let frontier = event_frontier(&input_frontier).min(gate.event_floor());
                // Results of one capability ship as one batch: a session per result
                // would allocate a whole buffer for each.
                let mut batch_cap: Option<Capability<Time>> = None;
                logic.on_frontier(frontier, &mut |cap, result| {
                    if batch_cap.as_ref().is_some_and(|c| c.time() != cap.time()) {
                        let c = batch_cap.take().expect("checked");
                        results.session(&c).give_container(&mut fired);
                    }
                    if batch_cap.is_none() {
                        batch_cap = Some(cap.clone());
                    }
                    fired.push(result);
                });
                if let Some(c) = batch_cap {
                    results.session(&c).give_container(&mut fired);
                }
                // An epoch closed: write the state, move on, take what waited for it.
                let Some(next) = gate.next(epoch_frontier(&input_frontier)) else {
                    gate.follow(&input_frontier);
                    break;
                };
                let ready = gate.close(logic.snapshot(), next);
                logic.retime(next);
                for (stamp, caps, mut data) in ready {
                    logic.on_batch(
                        &caps[..],
                        stamp.event,
                        &mut data,
                        &mut updates,
                        &mut too_late,
                    );
                    if !updates.is_empty() {
                        results.session(&caps[0]).give_container(&mut updates);
                    }
                    if !too_late.is_empty() {
                        late.session(&caps[1]).give_container(&mut too_late);
                    }
                }
            }
        }
    });
    (results_stream, late_stream)
}

/// Tumbling and sliding windows, aggregated in panes.
struct PaneLogic<K, S, A: Aggregator<T>, T> {
    selector: S,
    assigner: Assigner,
    lateness: u64,
    agg: A,
    panes: PaneStore<K, A::Acc>,
    /// Accumulators of records that are late for some of their windows only (sliding
    /// windows): they count for the windows still open, by window end.
    partial: Panes<K, A::Acc>,
    /// A capability per window end that has state and has not fired yet.
    pending: BTreeMap<u64, Capability<Time>>,
    /// Windows ending at or before this have fired.
    fired: u64,
    /// Panes whose windows all hold a capability in `pending` and none fired: a record
    /// in time for them schedules nothing (with input out of order by less than a pane,
    /// records fall in one or two panes at a time).
    hot: [u64; 2],
    /// The bounds of the pane of the last record: every record of a pane belongs to the
    /// same windows, so they are computed once per pane, not per record.
    last_pane: PaneBounds,
    /// After a restore at another number of workers: keys whose windows fired up to a
    /// later frontier than `fired` on their old worker, and that frontier (see `restore`).
    /// Empty otherwise.
    fired_for: StateMap<K, u64>,
    _record: std::marker::PhantomData<fn(T)>,
}

/// A pane and the ends of the first and last windows that contain it.
#[derive(Clone, Copy, Debug)]
struct PaneBounds {
    start: u64,
    end: u64,
    first_end: u64,
    last_end: u64,
}

impl PaneBounds {
    /// Bounds that hold no timestamp.
    const NONE: PaneBounds = PaneBounds {
        start: 1,
        end: 0,
        first_end: 0,
        last_end: 0,
    };

    fn of(assigner: &Assigner, ts: u64) -> PaneBounds {
        let end = assigner.pane_end(ts);
        PaneBounds {
            start: end - assigner.pane,
            end,
            first_end: assigner.first_end(ts),
            last_end: assigner.last_end(ts),
        }
    }
}

fn pane_aggregate<'scope, T, S, A>(
    keyed: KeyedStream<'scope, Timed<T>, S>,
    assigner: Assigner,
    lateness: u64,
    name: &str,
    agg: A,
) -> Aggregated<'scope, S::Key, A::Out, T>
where
    T: ExchangeData,
    S: KeySelector<Timed<T>>,
    A: Aggregator<T>,
{
    let (stream, selector) = keyed.into_parts();
    let agg = std::rc::Rc::new(agg);
    let logic = PaneLogic {
        selector: selector.clone(),
        assigner,
        lateness,
        agg: agg.clone(),
        panes: PaneStore::default(),
        partial: BTreeMap::new(),
        pending: BTreeMap::new(),
        fired: 0,
        hot: [0; 2],
        last_pane: PaneBounds::NONE,
        fired_for: StateMap::default(),
        _record: std::marker::PhantomData,
    };
    if A::COMBINE && stream.scope().peers() > 1 {
        let parts = combine::combiner(stream, selector.clone(), assigner, lateness, agg);
        let route = move |part: &Part<T, S::Key, A::Acc>| match part {
            Part::Record(r) => selector.route(r),
            Part::Partial { key, .. } => crate::hash::route_hash(key),
        };
        window_operator(parts, route, name, logic)
    } else {
        window_operator(stream, move |r| selector.route(r), name, logic)
    }
}

/// The results of a pane window aggregation.
type PaneResults<S, T, A> =
    Vec<Timed<WindowResult<<S as KeySelector<Timed<T>>>::Key, <A as Aggregator<T>>::Out>>>;

/// A pane window operator takes records, or records and partial aggregates after a
/// combiner.
impl<I, T, S, A> WindowLogic<I, T, WindowResult<S::Key, A::Out>> for PaneLogic<S::Key, S, A, T>
where
    I: Into<Part<T, S::Key, A::Acc>>,
    T: Clone + 'static,
    S: KeySelector<Timed<T>>,
    A: Aggregator<T>,
{
    fn on_record<C: Caps + ?Sized>(
        &mut self,
        cap: &C,
        time: u64,
        item: I,
        updates: &mut PaneResults<S, T, A>,
        late: &mut Vec<Timed<T>>,
    ) {
        match item.into() {
            Part::Record(record) => self.record(cap, time, record, updates, late),
            Part::Partial { key, pane, acc } => self.partial(cap, time, key, pane, acc, updates),
        }
    }

    /// Most records of a batch fall in one pane whose windows are all scheduled and in
    /// time: those take a short path here, straight to the pane's accumulators (found
    /// once, not per record); any other record takes [`Self::record`], after which the
    /// short path's pane is found again.
    fn on_batch<C: Caps + ?Sized>(
        &mut self,
        cap: &C,
        time: u64,
        items: &mut Vec<I>,
        updates: &mut PaneResults<S, T, A>,
        late: &mut Vec<Timed<T>>,
    ) {
        // The pane of the short path: its bounds and its place in `self.panes`.
        let mut hot: Option<(u64, u64, usize)> = None;
        for item in items.drain(..) {
            let record = match item.into() {
                Part::Record(record) => record,
                Part::Partial { key, pane, acc } => {
                    self.partial(cap, time, key, pane, acc, updates);
                    hot = None; // panes may have moved
                    continue;
                }
            };
            if let Some((start, end, at)) = hot {
                if start <= record.ts && record.ts < end {
                    // As the common case of `record` (a shared `#[inline(always)]` helper
                    // for the two measured 13 instructions per event more on q7).
                    let pane = &mut self.panes.panes[at].1;
                    match state_of(pane, &self.selector, &record) {
                        Some(acc) => self.agg.add(acc, record.value),
                        None => {
                            let key = self.selector.with_key(&record, Clone::clone);
                            let mut acc = self.agg.init();
                            self.agg.add(&mut acc, record.value);
                            pane.insert(key, acc);
                        }
                    }
                    continue;
                }
            }
            self.record(cap, time, record, updates, late);
            hot = self.hot_pane(time);
        }
    }

    fn on_frontier(&mut self, frontier: u64, fire: &mut Fire<'_, WindowResult<S::Key, A::Out>>) {
        self.frontier(frontier, fire);
    }

    const CHECKPOINTS: bool = true;

    fn snapshot(&self) -> Vec<u8> {
        let pending: Vec<(u64, u64)> = self
            .pending
            .iter()
            .map(|(end, cap)| (*end, cap.time().event))
            .collect();
        crate::checkpoint::encode(&(
            &self.panes.panes,
            &self.partial,
            pending,
            self.fired,
            &self.fired_for,
        ))
    }

    fn restore(&mut self, gate: &EpochGate<I>, initial: &Capability<Time>) {
        type State<K, A> = (
            VecDeque<(u64, StateMap<K, A>)>,
            Panes<K, A>,
            Vec<(u64, u64)>,
            u64,
            StateMap<K, u64>,
        );
        let mut parts = gate
            .restored_states::<State<S::Key, A::Acc>>()
            .unwrap_or_default();
        if gate.rescaled() {
            // Restored at another number of workers: the old workers' frontiers differ a
            // little at a cut, so one may have fired windows another had not, and those
            // may still take records of the next epochs (they waited in its stash). The
            // merged state fires from the least of them; each key that had fired further
            // keeps how far, and windows up to there do not fire for it again.
            let least = parts.iter().map(|p| p.3).min().unwrap_or(0);
            for (panes, partial, _, fired, fired_for) in &mut parts {
                let keys = panes
                    .iter()
                    .flat_map(|(_, pane)| pane.keys())
                    .chain(partial.values().flat_map(|pane| pane.keys()));
                crate::checkpoint::rescale::note_fired(keys, *fired, least, fired_for);
            }
        }
        let Some((panes, partial, pending, fired, fired_for)) = (if gate.rescaled() {
            crate::checkpoint::rescale::merge(parts, &gate.owns())
        } else {
            parts.pop()
        }) else {
            return;
        };
        self.panes.panes = panes;
        self.partial = partial;
        self.pending = pending
            .into_iter()
            .map(|(end, at)| (end, gate.restored_cap(initial, at)))
            .collect();
        self.fired = fired;
        self.fired_for = fired_for;
    }

    fn retime(&mut self, epoch: u64) {
        for cap in self.pending.values_mut() {
            crate::checkpoint::move_to_epoch(cap, epoch);
        }
    }
}

impl<T, S, A> PaneLogic<S::Key, S, A, T>
where
    T: Clone + 'static,
    S: KeySelector<Timed<T>>,
    A: Aggregator<T>,
{
    /// Holds a capability for each window ending at one of `ends` that is still to fire;
    /// returns whether any of them already fired.
    fn schedule<C: Caps + ?Sized>(
        &mut self,
        cap: &C,
        time: u64,
        ends: impl Iterator<Item = u64>,
        fired: u64,
    ) -> bool {
        let mut refire = false;
        for end in ends {
            if end <= fired {
                refire = true;
            } else {
                self.pending
                    .entry(end)
                    .or_insert_with(|| cap.delayed(&cap.time().with_event(time.max(end - 1)), 0));
            }
        }
        refire
    }

    /// Pushes the updated result of `key` in each window ending at one of `ends` that
    /// already fired.
    fn refire(
        &self,
        key: &S::Key,
        ends: impl Iterator<Item = u64>,
        fired: u64,
        updates: &mut PaneResults<S, T, A>,
    ) {
        let (agg, assigner) = (&self.agg, &self.assigner);
        for end in ends.filter(|&e| e <= fired) {
            if let Some(acc) = merge_key(agg, assigner, &self.panes, &self.partial, end, key) {
                updates.push(result(assigner, end, key.clone(), agg.finish(&acc)));
            }
        }
    }

    /// A partial aggregate from a combiner: the records of `key` in the pane ending at
    /// `pane`, all in time for every window of the pane (the combiner decided so from
    /// the same `time` as [`Self::record`] would).
    fn partial<C: Caps + ?Sized>(
        &mut self,
        cap: &C,
        time: u64,
        key: S::Key,
        pane: u64,
        acc: A::Acc,
        updates: &mut PaneResults<S, T, A>,
    ) {
        let assigner = self.assigner;
        let ends = move || assigner.ends(pane - assigner.pane);
        debug_assert!(
            ends().all(|e| e + self.lateness > time),
            "a combined pane is in time"
        );
        let fired = self.fired_at(&key);
        let refire = self.schedule(cap, time, ends(), fired);
        let agg = &self.agg;
        let states = self.panes.pane(pane);
        match states.get_mut(&key) {
            Some(state) => agg.merge(state, &acc),
            None => {
                states.insert(key.clone(), acc);
            }
        }
        if refire {
            self.refire(&key, ends(), fired, updates);
        }
    }

    /// How far `key`'s windows have fired: `fired`, or further for a key whose old
    /// worker had fired further before a restore at another number of workers.
    #[inline]
    fn fired_at(&self, key: &S::Key) -> u64 {
        if self.fired_for.is_empty() {
            return self.fired;
        }
        self.fired_for
            .get(key)
            .map_or(self.fired, |&at| at.max(self.fired))
    }

    /// The pane of the last record, with its place in `self.panes`, if a record at
    /// `time` in it would take the common path of [`Self::record`]: all its windows in
    /// time and scheduled, none fired.
    fn hot_pane(&self, time: u64) -> Option<(u64, u64, usize)> {
        let bounds = self.last_pane;
        if bounds.first_end + self.lateness <= time || !self.hot.contains(&bounds.end) {
            return None;
        }
        let at = self.panes.find(bounds.end)?;
        Some((bounds.start, bounds.end, at))
    }

    fn record<C: Caps + ?Sized>(
        &mut self,
        cap: &C,
        time: u64,
        record: Timed<T>,
        updates: &mut PaneResults<S, T, A>,
        late: &mut Vec<Timed<T>>,
    ) {
        let (assigner, ts) = (self.assigner, record.ts);
        let lateness = self.lateness;
        let open = |end: u64| end + lateness > time;
        let bounds = if self.last_pane.start <= ts && ts < self.last_pane.end {
            self.last_pane
        } else {
            self.last_pane = PaneBounds::of(&assigner, ts);
            self.last_pane
        };
        if !open(bounds.last_end) {
            late.push(record);
            return;
        }
        // Hold a capability for each window still to fire, and note whether the record is
        // late for some windows or reaches fired ones.
        let whole = open(bounds.first_end);
        let pane_end = bounds.end;
        // (Per key only after a restore at another number of workers.)
        let fired = if self.fired_for.is_empty() {
            self.fired
        } else {
            self.selector.with_key(&record, |k| self.fired_at(k))
        };
        let refire = if whole && self.hot.contains(&pane_end) {
            false
        } else {
            let ends = assigner.ends(ts).filter(|&e| open(e));
            let refire = self.schedule(cap, time, ends, fired);
            if whole && !refire && self.fired_for.is_empty() {
                self.hot = [pane_end, self.hot[0]];
            }
            refire
        };
        let agg = &self.agg;
        if whole && !refire {
            // The common case: the key is borrowed, and cloned only when new to the pane.
            let pane = self.panes.pane(pane_end);
            match state_of(pane, &self.selector, &record) {
                Some(acc) => agg.add(acc, record.value),
                None => {
                    let key = self.selector.with_key(&record, Clone::clone);
                    let mut acc = agg.init();
                    agg.add(&mut acc, record.value);
                    pane.insert(key, acc);
                }
            }
            return;
        }
        let key = self.selector.with_key(&record, Clone::clone);
        if whole {
            let pane = self.panes.pane(pane_end);
            agg.add(
                pane.entry(key.clone()).or_insert_with(|| agg.init()),
                record.value,
            );
        } else {
            for end in assigner.ends(ts).filter(|&e| open(e)) {
                let window = self.partial.entry(end).or_default();
                let acc = window.entry(key.clone()).or_insert_with(|| agg.init());
                agg.add(acc, record.value.clone());
            }
        }
        // Within the allowed lateness of windows that fired: fire them again.
        self.refire(&key, assigner.ends(ts).filter(|&e| open(e)), fired, updates);
    }

    fn frontier(&mut self, frontier: u64, fire: &mut Fire<'_, WindowResult<S::Key, A::Out>>) {
        let (assigner, agg) = (self.assigner, &self.agg);
        while let Some(entry) = self.pending.first_entry() {
            let end = *entry.key();
            if end > frontier {
                break;
            }
            let cap = entry.remove();
            for (key, acc) in merge_all(agg, &assigner, &self.panes, &self.partial, end) {
                if !self.fired_for.is_empty()
                    && self.fired_for.get(&key).is_some_and(|&at| at >= end)
                {
                    continue; // fired before a restore at another number of workers
                }
                fire(&cap, result(&assigner, end, key, agg.finish(&acc)));
            }
        }
        if !self.fired_for.is_empty() {
            self.fired_for.retain(|_, at| *at > frontier);
        }
        if frontier > self.fired {
            self.fired = frontier;
            self.hot = [0; 2]; // some of their windows may have fired
        }
        // Drop the state no window can use any more.
        let expired = |end: u64| end.saturating_add(self.lateness) <= frontier;
        self.panes
            .expire(|pane| expired(assigner.pane_last_window_end(pane)));
        while let Some(entry) = self.partial.first_entry() {
            if !expired(*entry.key()) {
                break;
            }
            entry.remove();
        }
    }
}

/// Counts the late records of a window that the pipeline does not route, for the report
/// at the end of the job (`at` names the window, e.g. `"window at line 12"`).
pub fn count_late<T: 'static>(
    late: StreamVec<'_, Time, Timed<T>>,
    context: &crate::context::JobContext,
    at: &'static str,
) {
    use timely::dataflow::channels::pact::Pipeline;
    use timely::dataflow::operators::Operator;
    let context = context.clone();
    late.sink(Pipeline, "count_late", move |(input, _frontier)| {
        input.for_each(|_time, data| {
            context.count_late(at, data.len() as u64);
            data.clear();
        });
    });
}

fn result<K, V>(assigner: &Assigner, end: u64, key: K, value: V) -> Timed<WindowResult<K, V>> {
    window_result(assigner.window(end), key, value)
}

/// The result of `window`, stamped with the window's last millisecond.
fn window_result<K, V>(window: Window, key: K, value: V) -> Timed<WindowResult<K, V>> {
    Timed {
        ts: window.end as u64 - 1,
        value: WindowResult {
            key,
            start: window.start,
            end: window.end,
            value,
        },
    }
}

/// The accumulator of `key` in the window ending at `end`, if it has records.
fn merge_key<K: crate::key::Key, T, A: Aggregator<T>>(
    agg: &A,
    assigner: &Assigner,
    panes: &PaneStore<K, A::Acc>,
    partial: &Panes<K, A::Acc>,
    end: u64,
    key: &K,
) -> Option<A::Acc> {
    let mut merged: Option<A::Acc> = None;
    let parts = panes.range(assigner.panes_of(end)).chain(partial.get(&end));
    for acc in parts.filter_map(|p| p.get(key)) {
        match merged.as_mut() {
            Some(m) => agg.merge(m, acc),
            None => merged = Some(acc.clone()),
        }
    }
    merged
}

/// The accumulator of every key in the window ending at `end`.
fn merge_all<K: crate::key::Key, T, A: Aggregator<T>>(
    agg: &A,
    assigner: &Assigner,
    panes: &PaneStore<K, A::Acc>,
    partial: &Panes<K, A::Acc>,
    end: u64,
) -> StateMap<K, A::Acc> {
    let mut merged: StateMap<K, A::Acc> = StateMap::default();
    let parts = panes.range(assigner.panes_of(end)).chain(partial.get(&end));
    for pane in parts {
        for (key, acc) in pane {
            match merged.get_mut(key) {
                Some(m) => agg.merge(m, acc),
                None => {
                    merged.insert(key.clone(), acc.clone());
                }
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pane_store_keeps_panes_in_order() {
        let mut store: PaneStore<u64, u64> = PaneStore::default();
        // Out of order: 30 and 10 arrive after 40 and 20.
        for (end, key) in [(20, 1), (40, 1), (30, 2), (10, 3), (40, 2), (20, 1)] {
            *store.pane(end).entry(key).or_default() += 1;
        }
        let ends: Vec<u64> = store.panes.iter().map(|(e, _)| *e).collect();
        assert_eq!(ends, [10, 20, 30, 40]);
        assert_eq!(store.pane(20).get(&1), Some(&2));
        let sizes: Vec<usize> = store.range(15..=35).map(|p| p.len()).collect();
        assert_eq!(sizes, [1, 1], "panes 20 and 30");
        assert_eq!(store.range(41..=50).count(), 0);
        store.expire(|end| end <= 20);
        let ends: Vec<u64> = store.panes.iter().map(|(e, _)| *e).collect();
        assert_eq!(ends, [30, 40]);
    }

    #[test]
    fn tumbling_and_sliding_assignment_follow_flink() {
        let t = Assigner::tumbling(10);
        assert_eq!(t.ends(0).collect::<Vec<_>>(), [10]);
        assert_eq!(t.ends(9).collect::<Vec<_>>(), [10]);
        assert_eq!(t.ends(10).collect::<Vec<_>>(), [20]);
        let s = Assigner::sliding(10, 4);
        // Windows start at multiples of 4: 12 is in [4, 14), [8, 18), [12, 22).
        assert_eq!(s.ends(12).collect::<Vec<_>>(), [22, 18, 14]);
        // 3 is in [-4, 6) and [0, 10): windows may begin before the epoch.
        assert_eq!(s.ends(3).collect::<Vec<_>>(), [10, 6]);
        for ts in 0..50 {
            assert_eq!(Some(s.first_end(ts)), s.ends(ts).last());
            assert_eq!(Some(t.first_end(ts)), t.ends(ts).last());
        }
        assert_eq!(s.window(6), Window { start: -4, end: 6 });
        assert_eq!(s.pane, 2);
        assert_eq!(s.pane_end(13), 14);
        // Pane [12, 14) lies in windows up to [12, 22).
        assert_eq!(s.pane_last_window_end(14), 22);
        assert_eq!(s.panes_of(22), 14..=22);
    }
}
