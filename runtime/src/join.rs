//! Joins of two streams: the window join, the interval join, and the enrichment of a
//! stream by a bounded table.
//!
//! ## Window join
//! `a.join(b).on(|x| key, |y| key).window(w).apply(|x, y| out)` is Flink's inner window
//! join: for every window of `w` (tumbling, sliding or session) and key, every pair of a
//! record of `a` and a record of `b` in that window yields `apply(x, y)`, at the window's
//! last millisecond. As in Flink it is a co-group: both sides, tagged as [`JoinSide`],
//! are windowed together and buffered until the window fires, so every window rule
//! (lateness, re-firing, late records) is the window operator's.
//!
//! ## Interval join
//! `a.key_by(f).interval_join(b.key_by(g)).between(lower, upper).process(h)` is Flink's
//! interval join: `h(x, y, ctx, out)` for every pair of records of one key with
//! `x.ts + lower <= y.ts <= x.ts + upper`, at the later of the two timestamps. Each side's
//! records are kept per key in timestamp order, and freed as soon as the watermark makes a
//! match impossible: a left record once the watermark passes `ts + upper`, a right one
//! once it passes `ts - lower`. A record that comes after its source's watermark passed
//! its timestamp is late: it joins nothing and goes to the late output, so which pairs
//! are produced never depends on scheduling.
//!
//! ## Table join
//! `a.lookup_join(table).on(|x| key, |row| key).apply(|x, row| out)` enriches a stream
//! with a bounded table (Nexmark q13's side input): the table's rows are loaded on every
//! worker before any record is joined, and each record yields `apply(x, row)` for every
//! row with its key (an inner join). Records that arrive while the table is still
//! loading wait for it.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Capability, Operator};
use timely::dataflow::StreamVec;

use crate::checkpoint::EpochGate;
use crate::hash::StateMap;
use crate::key::{ExchangeData, Key, KeySelector, OnValue};
use crate::operators::keyed::KeyedStream;
use crate::operators::process::{StateCodec, StateProbe};
use crate::time::{epoch_frontier, event_frontier, tick_floor, time_of, Time, Timed};
use crate::window::{self, Window};

/// A record of one side of a window join.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinSide<L, R> {
    /// From the stream `join` was called on.
    Left(L),
    /// From the stream given to `join(..)`.
    Right(R),
}

impl<L: std::fmt::Display, R: std::fmt::Display> std::fmt::Display for JoinSide<L, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JoinSide::Left(l) => write!(f, "left {l}"),
            JoinSide::Right(r) => write!(f, "right {r}"),
        }
    }
}

/// Keys of the two sides of a join must be one type: this names the mismatch.
#[diagnostic::on_unimplemented(
    message = "the two sides of this join have different key types: `{Self}` and `{K}`",
    label = "this key is `{Self}`, the other side's is `{K}`",
    note = "both key selectors must return the same type; convert one, e.g. `|x| x.id as u64`"
)]
pub trait SameKey<K> {
    /// The key as the other side's type (it is that type).
    fn same(&self) -> &K;
}
impl<K> SameKey<K> for K {
    #[inline]
    fn same(&self) -> &K {
        self
    }
}

/// The key of one join side seen as the other side's key type (which it is: the
/// conversion is made where [`SameKey`] was checked).
pub struct Rekeyed<S, KR, K> {
    selector: S,
    same: for<'a> fn(&'a KR) -> &'a K,
}

impl<S: Clone, KR, K> Clone for Rekeyed<S, KR, K> {
    fn clone(&self) -> Self {
        Rekeyed {
            selector: self.selector.clone(),
            same: self.same,
        }
    }
}

impl<T, S, KR, K> KeySelector<T> for Rekeyed<S, KR, K>
where
    S: KeySelector<T, Key = KR>,
    KR: 'static,
    K: Key,
{
    type Key = K;
    #[inline]
    fn with_key<R>(&self, record: &T, f: impl FnOnce(&K) -> R) -> R {
        self.selector.with_key(record, |k| f((self.same)(k)))
    }
}

/// `a.key_by(..).interval_join(b.key_by(..))`: both keyed sides, checked to have one key
/// type.
#[allow(
    clippy::type_complexity,
    reason = "the pair of keyed streams is the type; an alias would hide its two record types"
)]
pub fn interval_pair<'scope, L, SL, R, SR>(
    left: KeyedStream<'scope, Timed<L>, SL>,
    right: KeyedStream<'scope, Timed<R>, SR>,
) -> (
    KeyedStream<'scope, Timed<L>, SL>,
    KeyedStream<'scope, Timed<R>, Rekeyed<SR, SR::Key, SL::Key>>,
)
where
    SL: KeySelector<Timed<L>>,
    SR: KeySelector<Timed<R>>,
    SR::Key: SameKey<SL::Key>,
{
    let (right, selector) = right.into_parts();
    let same = <SR::Key as SameKey<SL::Key>>::same;
    (
        left,
        KeyedStream::from_parts(right, Rekeyed { selector, same }),
    )
}

/// The two sides of a window join: `a.join(b)`.
pub type Pair<'scope, L, R> = (
    StreamVec<'scope, Time, Timed<L>>,
    StreamVec<'scope, Time, Timed<R>>,
);

/// Pins the argument types of a window join's key selectors to the sides' record types.
pub fn pin_keys<'scope, L, R, KA, KB, FA, FB>(_: &Pair<'scope, L, R>, fa: FA, fb: FB) -> (FA, FB)
where
    FA: Fn(&L) -> KA,
    FB: Fn(&R) -> KB,
{
    (fa, fb)
}

/// The key of a window-join record: `fa` of a left record, `fb` of a right one (seen
/// as `fa`'s type, which it is: the conversion is made where [`SameKey`] was checked).
pub struct EitherKey<FA, FB, KB, K> {
    fa: FA,
    fb: FB,
    same: for<'a> fn(&'a KB) -> &'a K,
}

impl<FA: Clone, FB: Clone, KB, K> Clone for EitherKey<FA, FB, KB, K> {
    fn clone(&self) -> Self {
        EitherKey {
            fa: self.fa.clone(),
            fb: self.fb.clone(),
            same: self.same,
        }
    }
}

impl<L, R, K, KB, FA, FB> KeySelector<JoinSide<L, R>> for EitherKey<FA, FB, KB, K>
where
    K: Key,
    KB: 'static,
    FA: Fn(&L) -> K + Clone + 'static,
    FB: Fn(&R) -> KB + Clone + 'static,
{
    type Key = K;
    #[inline]
    fn with_key<T>(&self, record: &JoinSide<L, R>, f: impl FnOnce(&K) -> T) -> T {
        match record {
            JoinSide::Left(l) => f(&(self.fa)(l)),
            JoinSide::Right(r) => f((self.same)(&(self.fb)(r))),
        }
    }
}

/// Both sides of a window join, keyed: the result of `join(b).on(fa, fb)`.
pub type JoinKeyed<'scope, L, R, FA, FB, KB, K> =
    KeyedStream<'scope, Timed<JoinSide<L, R>>, OnValue<EitherKey<FA, FB, KB, K>>>;

/// `a.join(b).on(fa, fb)`: both sides as one stream keyed by `fa` or `fb`, which must
/// return one type.
pub fn on<'scope, L, R, K, KB, FA, FB>(
    (a, b): Pair<'scope, L, R>,
    fa: FA,
    fb: FB,
) -> JoinKeyed<'scope, L, R, FA, FB, KB, K>
where
    L: 'static,
    R: 'static,
    K: Key,
    KB: SameKey<K>,
    FA: Fn(&L) -> K + Clone + 'static,
    FB: Fn(&R) -> KB + Clone + 'static,
{
    let left = crate::operators::fused::fused(a, "join left", |r: Timed<L>, out| {
        out.push(Timed {
            ts: r.ts,
            value: JoinSide::Left(r.value),
        })
    });
    let right = crate::operators::fused::fused(b, "join right", |r: Timed<R>, out| {
        out.push(Timed {
            ts: r.ts,
            value: JoinSide::Right(r.value),
        })
    });
    let both = crate::operators::union(left, right);
    let same = <KB as SameKey<K>>::same;
    KeyedStream::from_parts(both, OnValue(EitherKey { fa, fb, same }))
}

/// `.window(w)` on a window join.
pub fn window<'scope, T, S, W: window::WindowKind>(
    keyed: KeyedStream<'scope, Timed<T>, S>,
    windows: W,
) -> window::WindowedStream<'scope, T, S, W> {
    window::window(keyed, windows)
}

/// The results of a join and its late records.
pub type Joined<'scope, O, L, R> = (
    StreamVec<'scope, Time, Timed<O>>,
    StreamVec<'scope, Time, Timed<JoinSide<L, R>>>,
);

/// `.apply(|x, y| out)` on a windowed join: one output per pair of a window's records.
pub fn apply<'scope, L, R, S, W, O, F>(
    windowed: window::WindowedStream<'scope, JoinSide<L, R>, S, W>,
    name: &str,
    mut f: F,
) -> Joined<'scope, O, L, R>
where
    L: ExchangeData,
    R: ExchangeData,
    S: KeySelector<Timed<JoinSide<L, R>>>,
    W: window::WindowKind,
    O: 'static,
    F: FnMut(&L, &R) -> O + 'static,
{
    let mut lefts = Vec::new();
    let mut rights = Vec::new();
    window::process(
        windowed,
        name,
        move |_key, _window: Window, records, out: &mut Vec<O>| {
            for record in records {
                match record {
                    JoinSide::Left(l) => lefts.push(l),
                    JoinSide::Right(r) => rights.push(r),
                }
            }
            for l in &lefts {
                for r in &rights {
                    out.push(f(l, r));
                }
            }
            lefts.clear();
            rights.clear();
        },
    )
}

/// What an interval join's function sees besides the pair: their timestamps. It has no
/// timers and no state: those need a keyed process function.
#[derive(Debug)]
pub struct JoinContext {
    left: u64,
    right: u64,
}

/// Timers and state belong to keyed process functions.
#[diagnostic::on_unimplemented(
    message = "timers are not available in a join function: they need a keyed context",
    label = "a join function has no timers",
    note = "register timers in a `KeyedProcessFunction` (`.key_by(..).process(f)`), e.g. after the join"
)]
pub trait KeyedContextOnly {}

impl JoinContext {
    /// The left record's timestamp.
    pub fn left_timestamp(&self) -> u64 {
        self.left
    }

    /// The right record's timestamp.
    pub fn right_timestamp(&self) -> u64 {
        self.right
    }

    /// The pair's timestamp, the later of the two: what the outputs carry.
    pub fn timestamp(&self) -> u64 {
        self.left.max(self.right)
    }

    /// Not available: a join function has no timers (see [`KeyedContextOnly`]).
    pub fn register_event_time_timer<T: KeyedContextOnly>(&mut self, _time: T) {}

    /// Not available: a join function has no timers (see [`KeyedContextOnly`]).
    pub fn register_processing_time_timer<T: KeyedContextOnly>(&mut self, _time: T) {}
}

/// One side's records of an interval join, per key in timestamp order, each kept until
/// the frontier passes `ts + keep`.
struct Buffer<K, V> {
    records: StateMap<K, VecDeque<(u64, V)>>,
    /// Keys to look at when the frontier passes a time: each key is queued once, at the
    /// expiry of its oldest record.
    queue: BTreeMap<u64, Vec<K>>,
    keep: i64,
}

impl<K: Key, V> Buffer<K, V> {
    fn new(keep: i64) -> Self {
        Buffer {
            records: StateMap::default(),
            queue: BTreeMap::new(),
            keep,
        }
    }

    /// The last time at which a record at `ts` can still match (it is freed once the
    /// frontier passes this).
    fn expiry(&self, ts: u64) -> u64 {
        expiry(ts, self.keep)
    }

    fn insert(&mut self, key: &K, ts: u64, value: V) {
        let expiry = self.expiry(ts);
        let records = match self.records.get_mut(key) {
            Some(records) => records,
            None => {
                self.queue.entry(expiry).or_default().push(key.clone());
                self.records.entry(key.clone()).or_default()
            }
        };
        if records.back().is_none_or(|(last, _)| *last <= ts) {
            records.push_back((ts, value));
        } else {
            let at = records.partition_point(|(t, _)| *t <= ts);
            records.insert(at, (ts, value));
        }
    }

    /// The records of `key` with timestamps in `[from, to]`.
    fn range(&self, key: &K, from: i64, to: i64) -> impl Iterator<Item = &(u64, V)> {
        let records = self.records.get(key);
        let (start, end) = match records {
            Some(records) if to >= 0 && from <= to => {
                let (from, to) = (from.max(0) as u64, to as u64);
                (
                    records.partition_point(|(t, _)| *t < from),
                    records.partition_point(|(t, _)| *t <= to),
                )
            }
            _ => (0, 0),
        };
        records.into_iter().flat_map(move |r| r.range(start..end))
    }

    /// Frees the records that can no longer match once the frontier is `frontier`.
    fn expire(&mut self, frontier: u64) {
        while let Some(entry) = self.queue.first_entry() {
            if *entry.key() >= frontier {
                break;
            }
            for key in entry.remove() {
                let Some(records) = self.records.get_mut(&key) else {
                    continue;
                };
                while records
                    .front()
                    .is_some_and(|(ts, _)| expiry(*ts, self.keep) < frontier)
                {
                    records.pop_front();
                }
                match records.front() {
                    None => {
                        self.records.remove(&key);
                    }
                    Some((ts, _)) => {
                        let at = expiry(*ts, self.keep);
                        self.queue.entry(at).or_default().push(key);
                    }
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.records.values().map(VecDeque::len).sum()
    }
}

/// The last time at which a record at `ts` kept `keep` can still match.
fn expiry(ts: u64, keep: i64) -> u64 {
    (ts as i64).saturating_add(keep).max(0) as u64
}

/// A buffer's state in a checkpoint: its records and its expiry queue.
type Buffered<K, V> = (StateMap<K, VecDeque<(u64, V)>>, BTreeMap<u64, Vec<K>>);

/// The state and logic of an interval join, apart from its operator.
struct IntervalJoin<K, L, R, SL, SR, F, O> {
    lefts: Buffer<K, L>,
    rights: Buffer<K, R>,
    left_key: SL,
    right_key: SR,
    lower: i64,
    upper: i64,
    tick: u64,
    f: F,
    out: Vec<O>,
}

impl<K, L, R, SL, SR, F, O> IntervalJoin<K, L, R, SL, SR, F, O>
where
    K: Key,
    SL: KeySelector<Timed<L>, Key = K>,
    SR: KeySelector<Timed<R>, Key = K>,
    F: FnMut(&L, &R, &mut JoinContext, &mut Vec<O>),
{
    /// Whether a record at `ts` that travels at `time` came after its watermark.
    #[inline]
    fn is_late(&self, time: u64, ts: u64) -> bool {
        time > tick_floor(ts, self.tick)
    }

    /// A left record at timely time `time`: joined with the right records in its
    /// interval, and kept while right records may still match it.
    #[inline]
    fn left(
        &mut self,
        time: u64,
        record: Timed<L>,
        frontier: u64,
        matched: &mut Vec<Timed<O>>,
        late: &mut Vec<Timed<JoinSide<L, R>>>,
    ) {
        if self.is_late(time, record.ts) {
            late.push(Timed {
                ts: record.ts,
                value: JoinSide::Left(record.value),
            });
            return;
        }
        let ts = record.ts as i64;
        let key = self.left_key.with_key(&record, K::clone);
        for (rts, r) in self.rights.range(&key, ts + self.lower, ts + self.upper) {
            let mut ctx = JoinContext {
                left: record.ts,
                right: *rts,
            };
            (self.f)(&record.value, r, &mut ctx, &mut self.out);
            let at = ctx.timestamp();
            matched.extend(self.out.drain(..).map(|value| Timed { ts: at, value }));
        }
        if self.lefts.expiry(record.ts) >= frontier {
            self.lefts.insert(&key, record.ts, record.value);
        }
    }

    /// A right record at timely time `time`, as [`Self::left`].
    #[inline]
    fn right(
        &mut self,
        time: u64,
        record: Timed<R>,
        frontier: u64,
        matched: &mut Vec<Timed<O>>,
        late: &mut Vec<Timed<JoinSide<L, R>>>,
    ) {
        if self.is_late(time, record.ts) {
            late.push(Timed {
                ts: record.ts,
                value: JoinSide::Right(record.value),
            });
            return;
        }
        let ts = record.ts as i64;
        let key = self.right_key.with_key(&record, K::clone);
        for (lts, l) in self.lefts.range(&key, ts - self.upper, ts - self.lower) {
            let mut ctx = JoinContext {
                left: *lts,
                right: record.ts,
            };
            (self.f)(l, &record.value, &mut ctx, &mut self.out);
            let at = ctx.timestamp();
            matched.extend(self.out.drain(..).map(|value| Timed { ts: at, value }));
        }
        if self.rights.expiry(record.ts) >= frontier {
            self.rights.insert(&key, record.ts, record.value);
        }
    }
}

/// An output of an interval join.
type Out<D> = OutputBuilder<Time, CapacityContainerBuilder<Vec<D>>>;

/// The two keyed sides of an interval join with its bounds.
pub type IntervalPair<'scope, L, SL, R, SR> = (
    (
        KeyedStream<'scope, Timed<L>, SL>,
        KeyedStream<'scope, Timed<R>, SR>,
    ),
    i64,
    i64,
);

/// `a.key_by(..).interval_join(b.key_by(..)).between(lower, upper).process(f)`; `tick` is
/// the pipeline's tick, by which a record's lateness is read from its timely time.
pub fn interval_join<'scope, L, SL, R, SR, O, F>(
    ((left, right), lower, upper): IntervalPair<'scope, L, SL, R, SR>,
    name: &str,
    tick: u64,
    f: F,
) -> Joined<'scope, O, L, R>
where
    L: ExchangeData,
    R: ExchangeData,
    SL: KeySelector<Timed<L>>,
    SR: KeySelector<Timed<R>, Key = SL::Key>,
    O: 'static,
    F: FnMut(&L, &R, &mut JoinContext, &mut Vec<O>) + 'static,
{
    let (left, left_key) = left.into_parts();
    let (right, right_key) = right.into_parts();
    let mut builder = OperatorBuilder::new(name.to_owned(), left.scope());
    let address = builder.operator_info().address;
    let waker = left.scope().worker().sync_activator_for(address.to_vec());
    let (lk, rk) = (left_key.clone(), right_key.clone());
    let peers = left.scope().peers();
    let lk = crate::hash::KeyGroups::router(peers, move |r: &Timed<L>| lk.route(r));
    let rk = crate::hash::KeyGroups::router(peers, move |r: &Timed<R>| rk.route(r));
    let mut left_in = builder.new_input(left, Exchange::new(lk));
    let mut right_in = builder.new_input(right, Exchange::new(rk));
    let (results, results_stream) = builder.new_output();
    let (late, late_stream) = builder.new_output();
    let mut results: Out<Timed<O>> = OutputBuilder::from(results);
    let mut late: Out<Timed<JoinSide<L, R>>> = OutputBuilder::from(late);
    let what = format!("the interval join `{name}`");
    builder.build(move |initial| {
        let mut gate: EpochGate<JoinSide<Timed<L>, Timed<R>>> =
            EpochGate::new("interval_join", true, &what);
        gate.write_in_background(waker);
        let mut join = IntervalJoin {
            lefts: Buffer::new(upper),
            rights: Buffer::new(lower.saturating_neg()),
            left_key,
            right_key,
            lower,
            upper,
            tick,
            f,
            out: Vec::new(),
        };
        type Saved<K, L, R> = (Buffered<K, L>, Buffered<K, R>);
        if let Some((l, r)) = gate.restored_state::<Saved<SL::Key, L, R>>() {
            (join.lefts.records, join.lefts.queue) = l;
            (join.rights.records, join.rights.queue) = r;
        }
        gate.hold(&initial[0]);
        drop(initial);
        let mut matched: Vec<Timed<O>> = Vec::new();
        let mut too_late: Vec<Timed<JoinSide<L, R>>> = Vec::new();
        let mut stashed = Vec::new();
        move |frontiers| {
            let input_frontier = |f: &[timely::progress::frontier::MutableAntichain<Time>]| {
                let event = f.iter().map(|f| event_frontier(&f.frontier())).min();
                let epoch = f.iter().map(|f| epoch_frontier(&f.frontier())).min();
                (event.unwrap_or(u64::MAX), epoch.unwrap_or(u64::MAX))
            };
            let (event, epoch) = input_frontier(frontiers);
            // What waits in the stash is in already: records are kept by the frontier
            // they would have met.
            let frontier = event.min(gate.event_floor());
            let mut results = results.activate();
            let mut late = late.activate();
            left_in.for_each(|cap, data| {
                let time = time_of(&cap);
                if gate.is_later(&time) {
                    stashed.extend(data.drain(..).map(JoinSide::Left));
                    let caps = vec![cap.delayed(&time, 0), cap.delayed(&time, 1)];
                    gate.stash(time, caps, std::mem::take(&mut stashed));
                    return;
                }
                for record in data.drain(..) {
                    join.left(time.event, record, frontier, &mut matched, &mut too_late);
                }
                results.session(&cap).give_container(&mut matched);
                late.session(&cap).give_container(&mut too_late);
            });
            right_in.for_each(|cap, data| {
                let time = time_of(&cap);
                if gate.is_later(&time) {
                    stashed.extend(data.drain(..).map(JoinSide::Right));
                    let caps = vec![cap.delayed(&time, 0), cap.delayed(&time, 1)];
                    gate.stash(time, caps, std::mem::take(&mut stashed));
                    return;
                }
                for record in data.drain(..) {
                    join.right(time.event, record, frontier, &mut matched, &mut too_late);
                }
                results.session(&cap).give_container(&mut matched);
                late.session(&cap).give_container(&mut too_late);
            });
            join.lefts.expire(frontier);
            join.rights.expire(frontier);
            // An epoch closed: write the state, move on, take what waited for it.
            while let Some(next) = gate.next(epoch) {
                let state = crate::checkpoint::encode(&(
                    (&join.lefts.records, &join.lefts.queue),
                    (&join.rights.records, &join.rights.queue),
                ));
                // The released records met this frontier, the stash's floor with them
                // in it: each is kept for the others, whatever their order.
                let frontier = event.min(gate.event_floor());
                for (time, caps, records) in gate.close(state, next) {
                    for record in records {
                        match record {
                            JoinSide::Left(r) => {
                                join.left(time.event, r, frontier, &mut matched, &mut too_late)
                            }
                            JoinSide::Right(r) => {
                                join.right(time.event, r, frontier, &mut matched, &mut too_late)
                            }
                        }
                    }
                    results.session(&caps[0]).give_container(&mut matched);
                    late.session(&caps[1]).give_container(&mut too_late);
                }
                let frontier = event.min(gate.event_floor());
                join.lefts.expire(frontier);
                join.rights.expire(frontier);
            }
            let (lefts, rights) = (&join.lefts, &join.rights);
            debug_assert!(event != u64::MAX || lefts.len() + rights.len() == 0);
            gate.follow_event(event);
        }
    });
    (results_stream, late_stream)
}

/// Pins the argument types of a table join's key selectors to the stream's records and
/// the table's rows.
pub fn pin_lookup_keys<'scope, T, Row, KA, KB, FA, FB>(
    _: &TablePair<'scope, T, Row>,
    fa: FA,
    fb: FB,
) -> (FA, FB)
where
    FA: Fn(&T) -> KA,
    FB: Fn(&Row) -> KB,
{
    (fa, fb)
}

/// A stream and a table: `a.lookup_join(table)`.
pub type TablePair<'scope, T, Row> = (
    StreamVec<'scope, Time, Timed<T>>,
    StreamVec<'scope, Time, Row>,
);

/// The stream and table of a table join with their key selectors.
pub type LookupKeyed<'scope, T, Row, FA, FB, KB, K> = (
    TablePair<'scope, T, Row>,
    (FA, FB, for<'a> fn(&'a KB) -> &'a K),
);

/// `a.lookup_join(table).on(fa, fb)`: checks that both selectors return one key type.
pub fn lookup_keys<'scope, T, Row, K, KB, FA, FB>(
    pair: TablePair<'scope, T, Row>,
    fa: FA,
    fb: FB,
) -> LookupKeyed<'scope, T, Row, FA, FB, KB, K>
where
    FA: Fn(&T) -> K,
    FB: Fn(&Row) -> KB,
    KB: SameKey<K>,
{
    (pair, (fa, fb, <KB as SameKey<K>>::same))
}

/// Records of a table join that wait for the table to load: each batch's event time
/// and records (their capabilities apart, for a checkpoint).
pub type Waiting<T> = Vec<(u64, Vec<Timed<T>>)>;

/// The probe of whether a table join's records can be checkpointed (see
/// [`crate::operators::process::StateProbe`]), for `stream!`'s code.
pub fn waiting_probe<'scope, T, Row, FA, FB, KB, K>(
    _: &LookupKeyed<'scope, T, Row, FA, FB, KB, K>,
) -> StateProbe<Waiting<T>> {
    StateProbe::new()
}

/// A batch of a table join's input: records, or the table's rows.
enum LookupSide<T, Row> {
    Records(Vec<Timed<T>>),
    Rows(Vec<Row>),
}

/// `a.lookup_join(table).on(fa, fb).apply(f)`: `f(x, row)` for every row of the bounded
/// `table` whose key `fb(row)` equals the record's `fa(x)`. Records wait until the whole
/// table has loaded. In a job that checkpoints, the rows and the waiting records (through
/// `codec`, from [`waiting_probe`]) are written as each epoch closes, and batches of a
/// later epoch wait for it on both inputs, so a checkpoint holds the rows the table
/// source had sent by its position; records that serde cannot write fail the job at
/// start-up.
pub fn lookup_join<'scope, T, Row, K, KB, FA, FB, O, F>(
    ((stream, table), (fa, fb, same)): LookupKeyed<'scope, T, Row, FA, FB, KB, K>,
    name: &str,
    mut f: F,
    codec: Option<StateCodec<Waiting<T>>>,
) -> StreamVec<'scope, Time, Timed<O>>
where
    T: 'static,
    Row: ExchangeData,
    K: Key,
    KB: 'static,
    FA: Fn(&T) -> K + 'static,
    FB: Fn(&Row) -> KB + 'static,
    O: 'static,
    F: FnMut(&T, &Row) -> O + 'static,
{
    let what = format!("the table join `{name}`");
    if let (Some(worker), None) = (crate::checkpoint::worker(), &codec) {
        worker.refuse(format!(
            "{what} cannot be checkpointed: its records, of type `{}`, do not implement serde's Serialize and Deserialize, and those waiting for the table are part of its state; derive them, or run this pipeline without --checkpoint-dir",
            std::any::type_name::<T>()
        ));
    }
    let table = table.broadcast();
    let scope = stream.scope();
    stream.binary_frontier(table, Pipeline, Pipeline, name, move |initial, info| {
        let mut gate: EpochGate<LookupSide<T, Row>> = EpochGate::new("lookup_join", true, &what);
        gate.write_in_background(scope.worker().sync_activator_for(info.address.to_vec()));
        let mut rows: StateMap<K, Vec<Row>> = StateMap::default();
        // Records that wait for the table, with a capability per batch.
        let mut waiting: Waiting<T> = Vec::new();
        // Every worker holds the whole table (broadcast), so any part has its rows; the
        // records that wait are the worker's own, and a restore at another number of
        // workers deals them out with the old workers' parts.
        for (bytes, inherited) in gate.restored_all() {
            let (Some((saved, records)), Some(codec)) = (
                gate.decode::<(StateMap<K, Vec<Row>>, Vec<u8>)>(bytes),
                &codec,
            ) else {
                continue;
            };
            if rows.is_empty() {
                rows = saved;
            }
            if inherited {
                match codec.load(&what, &records) {
                    Ok(mut records) => waiting.append(&mut records),
                    Err(e) => gate.fail(e),
                }
            }
        }
        let mut held: Vec<Capability<Time>> = waiting
            .iter()
            .map(|(event, _)| gate.restored_cap(&initial, *event))
            .collect();
        gate.hold(&initial);
        drop(initial);
        let add_rows = move |rows: &mut StateMap<K, Vec<Row>>, data: &mut Vec<Row>| {
            for row in data.drain(..) {
                rows.entry(same(&fb(&row)).clone()).or_default().push(row);
            }
        };
        let mut join = move |rows: &StateMap<K, Vec<Row>>,
                             records: &mut Vec<Timed<T>>,
                             session: &mut dyn FnMut(Timed<O>)| {
            for record in records.drain(..) {
                for row in rows.get(&fa(&record.value)).into_iter().flatten() {
                    session(Timed {
                        ts: record.ts,
                        value: f(&record.value, row),
                    });
                }
            }
        };
        move |(input, input_frontier), (table_in, table_frontier), output| {
            table_in.for_each(|cap, data: &mut Vec<Row>| {
                let time = time_of(&cap);
                if gate.is_later(&time) {
                    let caps = vec![cap.delayed(&time, 0)];
                    gate.stash(time, caps, vec![LookupSide::Rows(std::mem::take(data))]);
                    return;
                }
                add_rows(&mut rows, data);
            });
            // Loaded: the table's input has ended and none of its rows waits in the stash.
            let loaded = |gate: &EpochGate<LookupSide<T, Row>>| {
                table_frontier.is_empty() && !gate.has_stashed(|s| matches!(s, LookupSide::Rows(_)))
            };
            input.for_each(|cap, data| {
                let time = time_of(&cap);
                if gate.is_later(&time) {
                    let caps = vec![cap.delayed(&time, 0)];
                    gate.stash(time, caps, vec![LookupSide::Records(std::mem::take(data))]);
                    return;
                }
                if loaded(&gate) {
                    let mut session = output.session(&cap);
                    join(&rows, data, &mut |r| session.give(r));
                } else {
                    held.push(cap.delayed(&time, 0));
                    waiting.push((time.event, std::mem::take(data)));
                }
            });
            let frontiers = [input_frontier.frontier(), table_frontier.frontier()];
            let epoch = frontiers
                .iter()
                .map(|f| epoch_frontier(f))
                .min()
                .unwrap_or(u64::MAX);
            let event = frontiers
                .iter()
                .map(|f| event_frontier(f))
                .min()
                .unwrap_or(u64::MAX);
            loop {
                if loaded(&gate) {
                    for (cap, (_, mut records)) in held.drain(..).zip(waiting.drain(..)) {
                        let mut session = output.session(&cap);
                        join(&rows, &mut records, &mut |r| session.give(r));
                    }
                }
                // An epoch closed: write the state, move on, take what waited for it.
                let Some(next) = gate.next(epoch) else { break };
                let state = match &codec {
                    Some(codec) => crate::checkpoint::encode(&(&rows, codec.save(&waiting))),
                    None => Vec::new(),
                };
                let ready = gate.close(state, next);
                for cap in held.iter_mut() {
                    crate::checkpoint::move_to_epoch(cap, next);
                }
                // Rows first: records of the same epoch join the table as it is then.
                let (mut row_batches, mut record_batches) = (Vec::new(), Vec::new());
                for (time, caps, batches) in ready {
                    for batch in batches {
                        match batch {
                            LookupSide::Rows(data) => row_batches.push(data),
                            LookupSide::Records(data) => {
                                record_batches.push((time, caps[0].clone(), data))
                            }
                        }
                    }
                }
                for mut data in row_batches {
                    add_rows(&mut rows, &mut data);
                }
                for (time, cap, data) in record_batches {
                    held.push(cap);
                    waiting.push((time.event, data));
                }
            }
            gate.follow_event(event);
        }
    })
}
