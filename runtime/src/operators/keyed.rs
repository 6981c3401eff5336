//! `key_by` and the rolling aggregations on a keyed stream: `reduce`, `sum`, `count`.
//!
//! `key_by` itself moves nothing: it pairs a stream with a [`KeySelector`], and the next
//! keyed operator receives its input through an exchange routed by the key's fixed hash,
//! so the exchange sits exactly at `key_by`. Each worker owns the state of its keys.
//!
//! A rolling aggregation is Flink's `KeyedStream.reduce` / `sum` / `count`. What it emits
//! depends on the job's [`ExecutionMode`]: in streaming mode, the updated aggregate for
//! every input record; in batch mode (every source bounded), each key's final aggregate
//! once, when the input ends. Memory is one accumulator per live key.

use std::collections::hash_map::Entry;
use std::ops::AddAssign;

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Capability, Operator};
use timely::dataflow::StreamVec;

use crate::args::ExecutionMode;
use crate::context::JobContext;
use crate::hash::KeyGroups;
use crate::hash::StateMap;
use crate::key::{ExchangeData, Key, KeyField, KeyFn, KeySelector, OnValue};
use crate::time::{time_of, Time, Timed};

/// A stream partitioned by key: the result of `key_by`.
pub struct KeyedStream<'scope, T, S> {
    stream: StreamVec<'scope, Time, T>,
    selector: S,
}

impl<T: Clone + 'static, S: Clone> Clone for KeyedStream<'_, T, S> {
    fn clone(&self) -> Self {
        KeyedStream {
            stream: self.stream.clone(),
            selector: self.selector.clone(),
        }
    }
}

/// `key_by(|r| key)`: the key is computed by a closure.
pub fn key_by_fn<'scope, T, K, F>(
    stream: StreamVec<'scope, Time, T>,
    f: F,
) -> KeyedStream<'scope, T, KeyFn<F>>
where
    K: Key,
    F: Fn(&T) -> K + Clone + 'static,
{
    KeyedStream {
        stream,
        selector: KeyFn(f),
    }
}

/// `key_by(N)`: the key is field `N` of a tuple, borrowed in place.
pub fn key_by_field<'scope, T, K, F>(
    stream: StreamVec<'scope, Time, T>,
    f: F,
) -> KeyedStream<'scope, T, KeyField<F>>
where
    K: Key,
    F: for<'a> Fn(&'a T) -> &'a K + Clone + 'static,
{
    KeyedStream {
        stream,
        selector: KeyField(f),
    }
}

impl<'scope, T, S> KeyedStream<'scope, T, S> {
    /// A stream partitioned by `selector`.
    pub fn from_parts(stream: StreamVec<'scope, Time, T>, selector: S) -> Self {
        KeyedStream { stream, selector }
    }

    /// The stream and its key selector.
    pub fn into_parts(self) -> (StreamVec<'scope, Time, T>, S) {
        (self.stream, self.selector)
    }
}

/// `key_by(|r| key)` on a timestamped stream: the closure sees the value.
pub fn key_by_fn_timed<'scope, T, K, F>(
    stream: StreamVec<'scope, Time, Timed<T>>,
    f: F,
) -> KeyedStream<'scope, Timed<T>, OnValue<KeyFn<F>>>
where
    K: Key,
    F: Fn(&T) -> K + Clone + 'static,
{
    KeyedStream {
        stream,
        selector: OnValue(KeyFn(f)),
    }
}

/// `key_by(N)` on a timestamped stream: field `N` of the value.
pub fn key_by_field_timed<'scope, T, K, F>(
    stream: StreamVec<'scope, Time, Timed<T>>,
    f: F,
) -> KeyedStream<'scope, Timed<T>, OnValue<KeyField<F>>>
where
    K: Key,
    F: for<'a> Fn(&'a T) -> &'a K + Clone + 'static,
{
    KeyedStream {
        stream,
        selector: OnValue(KeyField(f)),
    }
}

/// An incremental per-key aggregation: the state starts from one record and absorbs more.
pub trait RollingAggregate<K, T>: 'static {
    /// The per-key accumulator (it goes into checkpoints).
    type State: ExchangeData;
    /// What is emitted for a key.
    type Output: 'static;
    /// The state after the key's first record.
    fn init(&mut self, record: T) -> Self::State;
    /// Absorbs another record of the key.
    fn add(&mut self, state: &mut Self::State, record: T);
    /// The output for the current state (streaming mode: after every record).
    fn emit(&self, key: &K, state: &Self::State) -> Self::Output;
    /// The final output, consuming key and state (batch mode: once per key).
    fn finish(&self, key: K, state: Self::State) -> Self::Output;
}

/// `reduce(|a, b| ...)`: combines the key's records pairwise; emits the combined record.
pub struct Reduce<F>(pub F);

impl<K, T: ExchangeData, F: FnMut(T, T) -> T + 'static> RollingAggregate<K, T> for Reduce<F> {
    // `Option` only so that the old value can be moved into `f`; it is never `None` between calls.
    type State = Option<T>;
    type Output = T;
    fn init(&mut self, record: T) -> Option<T> {
        Some(record)
    }
    fn add(&mut self, state: &mut Option<T>, record: T) {
        *state = state.take().map(|acc| (self.0)(acc, record));
    }
    fn emit(&self, _key: &K, state: &Option<T>) -> T {
        state.clone().expect("reduce state is always set")
    }
    fn finish(&self, _key: K, state: Option<T>) -> T {
        state.expect("reduce state is always set")
    }
}

/// `count()`: emits `(key, number of records)`.
pub struct Count;

impl<K: Clone + 'static, T> RollingAggregate<K, T> for Count {
    type State = u64;
    type Output = (K, u64);
    fn init(&mut self, _record: T) -> u64 {
        1
    }
    fn add(&mut self, state: &mut u64, _record: T) {
        *state += 1;
    }
    fn emit(&self, key: &K, state: &u64) -> (K, u64) {
        (key.clone(), *state)
    }
    fn finish(&self, key: K, state: u64) -> (K, u64) {
        (key, state)
    }
}

/// `sum(|r| value)`: emits `(key, sum of the values)`.
pub struct SumBy<F>(pub F);

impl<K, T, V, F> RollingAggregate<K, T> for SumBy<F>
where
    K: Clone + 'static,
    V: AddAssign + ExchangeData,
    F: Fn(&T) -> V + 'static,
{
    type State = V;
    type Output = (K, V);
    fn init(&mut self, record: T) -> V {
        (self.0)(&record)
    }
    fn add(&mut self, state: &mut V, record: T) {
        *state += (self.0)(&record);
    }
    fn emit(&self, key: &K, state: &V) -> (K, V) {
        (key.clone(), state.clone())
    }
    fn finish(&self, key: K, state: V) -> (K, V) {
        (key, state)
    }
}

/// `sum(N)`, Flink's positional sum: emits the key's first record with field `N` replaced
/// by the running sum of that field.
pub struct SumField<F>(pub F);

impl<K, T, V, F> RollingAggregate<K, T> for SumField<F>
where
    T: ExchangeData,
    V: AddAssign + Clone + 'static,
    F: for<'a> Fn(&'a mut T) -> &'a mut V + 'static,
{
    type State = T;
    type Output = T;
    fn init(&mut self, record: T) -> T {
        record
    }
    fn add(&mut self, state: &mut T, mut record: T) {
        let value = (self.0)(&mut record).clone();
        *(self.0)(state) += value;
    }
    fn emit(&self, _key: &K, state: &T) -> T {
        state.clone()
    }
    fn finish(&self, _key: K, state: T) -> T {
        state
    }
}

/// A rolling aggregation of the values of a timestamped stream: emits `A`'s output
/// stamped with the event time of the record that produced it (in batch mode, with the
/// key's latest event time), as Flink's rolling aggregations keep the element's timestamp.
pub struct OnTimed<A>(pub A);

impl<K, T, A: RollingAggregate<K, T>> RollingAggregate<K, Timed<T>> for OnTimed<A> {
    /// `A`'s state, the last record's event time and the latest one.
    type State = (A::State, u64, u64);
    type Output = Timed<A::Output>;
    fn init(&mut self, record: Timed<T>) -> Self::State {
        (self.0.init(record.value), record.ts, record.ts)
    }
    fn add(&mut self, state: &mut Self::State, record: Timed<T>) {
        self.0.add(&mut state.0, record.value);
        state.1 = record.ts;
        state.2 = state.2.max(record.ts);
    }
    fn emit(&self, key: &K, state: &Self::State) -> Timed<A::Output> {
        Timed {
            ts: state.1,
            value: self.0.emit(key, &state.0),
        }
    }
    fn finish(&self, key: K, state: Self::State) -> Timed<A::Output> {
        Timed {
            ts: state.2,
            value: self.0.finish(key, state.0),
        }
    }
}

/// Looks up the state of `record`'s key without cloning the key.
pub(crate) fn state_of<'m, T, S: KeySelector<T>, V>(
    map: &'m mut StateMap<S::Key, V>,
    selector: &S,
    record: &T,
) -> Option<&'m mut V> {
    selector.with_key(record, move |k| {
        let map = map; // moved in, so the returned borrow may outlive the closure call
        map.get_mut(k)
    })
}

/// Runs `agg` per key of `keyed`, emitting as the job's execution mode says.
pub fn rolling<'scope, T, S, A>(
    keyed: KeyedStream<'scope, T, S>,
    context: &JobContext,
    name: &str,
    mut agg: A,
) -> StreamVec<'scope, Time, A::Output>
where
    T: ExchangeData,
    S: KeySelector<T>,
    A: RollingAggregate<S::Key, T>,
{
    let KeyedStream { stream, selector } = keyed;
    let router = selector.clone();
    let peers = stream.scope().peers();
    let pact = Exchange::new(KeyGroups::router(peers, move |r: &T| router.route(r)));
    if crate::checkpoint::worker().is_some() {
        let batch = context.mode() == ExecutionMode::Batch;
        return rolling_checkpointed(stream, pact, name, selector, agg, batch);
    }
    match context.mode() {
        ExecutionMode::Batch => stream.unary_frontier(pact, name, move |_, _| {
            let mut state: StateMap<S::Key, A::State> = StateMap::default();
            let mut held: Option<Capability<Time>> = None;
            move |(input, frontier), output| {
                input.for_each(|time, data| {
                    let t = time_of(&time);
                    if held.as_ref().is_none_or(|c| t < *c.time()) {
                        held = Some(time.delayed(&t, output.output_index()));
                    }
                    for record in data.drain(..) {
                        match state_of(&mut state, &selector, &record) {
                            Some(acc) => agg.add(acc, record),
                            None => {
                                let key = selector.with_key(&record, S::Key::clone);
                                let acc = agg.init(record);
                                state.insert(key, acc);
                            }
                        }
                    }
                });
                if frontier.is_empty() {
                    if let Some(cap) = held.take() {
                        let mut session = output.session(&cap);
                        for (key, acc) in state.drain() {
                            session.give(agg.finish(key, acc));
                        }
                    }
                    state = StateMap::default(); // release the table's memory
                }
            }
        }),
        ExecutionMode::Streaming | ExecutionMode::Automatic => {
            stream.unary(pact, name, move |_, _| {
                let mut state: StateMap<S::Key, A::State> = StateMap::default();
                move |input, output| {
                    input.for_each(|time, data| {
                        let mut session = output.session(&time);
                        for record in data.drain(..) {
                            let key = selector.with_key(&record, S::Key::clone);
                            let out = match state.entry(key) {
                                Entry::Occupied(mut e) => {
                                    agg.add(e.get_mut(), record);
                                    agg.emit(e.key(), e.get())
                                }
                                Entry::Vacant(v) => {
                                    let e = v.insert_entry(agg.init(record));
                                    agg.emit(e.key(), e.get())
                                }
                            };
                            session.give(out);
                        }
                    });
                }
            })
        }
    }
}

/// [`rolling`] in a job that checkpoints: the per-key state (and in batch mode the time
/// the final values go out at) is written as each epoch closes; records of a later epoch
/// wait until it opens.
fn rolling_checkpointed<'scope, T, S, A>(
    stream: StreamVec<'scope, Time, T>,
    pact: Exchange<T, impl FnMut(&T) -> u64 + 'static>,
    name: &str,
    selector: S,
    mut agg: A,
    batch: bool,
) -> StreamVec<'scope, Time, A::Output>
where
    T: ExchangeData,
    S: KeySelector<T>,
    A: RollingAggregate<S::Key, T>,
{
    use crate::checkpoint::{Caps, EpochGate};
    use crate::time::epoch_frontier;
    let what = format!("the rolling aggregation `{name}`");
    let scope = stream.scope();
    stream.unary_frontier(pact, name, move |initial, info| {
        let mut gate: EpochGate<T> = EpochGate::new("rolling", true, &what);
        gate.write_in_background(scope.worker().sync_activator_for(info.address.to_vec()));
        let mut state: StateMap<S::Key, A::State> = StateMap::default();
        // Batch mode: where the final values go out.
        let mut held: Option<Capability<Time>> = None;
        type Saved<K, V> = (StateMap<K, V>, Option<u64>);
        if let Some((saved, at)) = gate.restored_state::<Saved<S::Key, A::State>>() {
            state = saved;
            held = at.map(|event| gate.restored_cap(&initial, event));
        }
        gate.hold(&initial);
        drop(initial);
        let mut out = Vec::new();
        move |(input, frontier), output| {
            input.for_each(|cap, data| {
                let t = Caps::time(&cap);
                if gate.is_later(&t) {
                    gate.stash(t, vec![cap.delayed(&t, 0)], std::mem::take(data));
                    return;
                }
                if batch && held.as_ref().is_none_or(|c| t < *c.time()) {
                    held = Some(cap.delayed(&t, 0));
                }
                absorb(&mut agg, &selector, batch, &mut state, data, &mut out);
                if !out.is_empty() {
                    output.session(&cap).give_container(&mut out);
                }
            });
            while let Some(next) = gate.next(epoch_frontier(&frontier.frontier())) {
                if batch && next == crate::checkpoint::store::OPEN_END {
                    // The input has ended: the final values go out in the open epoch,
                    // before its last part is written.
                    if let Some(cap) = held.take() {
                        let mut session = output.session(&cap);
                        for (key, acc) in state.drain() {
                            session.give(agg.finish(key, acc));
                        }
                    }
                }
                let at = held.as_ref().map(|c| c.time().event);
                let ready = gate.close(crate::checkpoint::encode(&(&state, at)), next);
                if let Some(c) = held.as_mut() {
                    crate::checkpoint::move_to_epoch(c, next);
                }
                for (t, caps, mut data) in ready {
                    if batch && held.as_ref().is_none_or(|c| t < *c.time()) {
                        held = Some(caps[0].clone());
                    }
                    absorb(&mut agg, &selector, batch, &mut state, &mut data, &mut out);
                    if !out.is_empty() {
                        output.session(&caps[0]).give_container(&mut out);
                    }
                }
            }
            gate.follow(&frontier.frontier());
        }
    })
}

/// Folds `data` into `state`; in streaming mode (not `batch`) each update goes to `out`.
fn absorb<T, S: KeySelector<T>, A: RollingAggregate<S::Key, T>>(
    agg: &mut A,
    selector: &S,
    batch: bool,
    state: &mut StateMap<S::Key, A::State>,
    data: &mut Vec<T>,
    out: &mut Vec<A::Output>,
) {
    for record in data.drain(..) {
        let key = selector.with_key(&record, S::Key::clone);
        match state.entry(key) {
            Entry::Occupied(mut e) => {
                agg.add(e.get_mut(), record);
                if !batch {
                    out.push(agg.emit(e.key(), e.get()));
                }
            }
            Entry::Vacant(v) => {
                let e = v.insert_entry(agg.init(record));
                if !batch {
                    out.push(agg.emit(e.key(), e.get()));
                }
            }
        }
    }
}

/// `reduce(|a, b| ...)`: the closure's argument types are those of the keyed stream.
pub fn reduce<'scope, T, S, F>(
    keyed: KeyedStream<'scope, T, S>,
    context: &JobContext,
    f: F,
) -> StreamVec<'scope, Time, T>
where
    T: ExchangeData,
    S: KeySelector<T>,
    F: FnMut(T, T) -> T + 'static,
{
    rolling(keyed, context, "reduce", Reduce(f))
}

/// `count()`: `(key, records so far)`.
pub fn count<'scope, T, S>(
    keyed: KeyedStream<'scope, T, S>,
    context: &JobContext,
) -> StreamVec<'scope, Time, (S::Key, u64)>
where
    T: ExchangeData,
    S: KeySelector<T>,
{
    rolling(keyed, context, "count", Count)
}

/// `sum(|r| value)`: `(key, sum of values so far)`.
pub fn sum_by<'scope, T, S, V, F>(
    keyed: KeyedStream<'scope, T, S>,
    context: &JobContext,
    f: F,
) -> StreamVec<'scope, Time, (S::Key, V)>
where
    T: ExchangeData,
    S: KeySelector<T>,
    V: AddAssign + ExchangeData,
    F: Fn(&T) -> V + 'static,
{
    rolling(keyed, context, "sum", SumBy(f))
}

/// `sum(N)`: the key's first record with field `N` replaced by the running sum.
pub fn sum_field<'scope, T, S, V, F>(
    keyed: KeyedStream<'scope, T, S>,
    context: &JobContext,
    field: F,
) -> StreamVec<'scope, Time, T>
where
    T: ExchangeData,
    S: KeySelector<T>,
    V: AddAssign + Clone + 'static,
    F: for<'a> Fn(&'a mut T) -> &'a mut V + 'static,
{
    rolling(keyed, context, "sum", SumField(field))
}

/// `reduce` on a timestamped keyed stream: the closure combines values.
pub fn reduce_timed<'scope, T, S, F>(
    keyed: KeyedStream<'scope, Timed<T>, S>,
    context: &JobContext,
    f: F,
) -> StreamVec<'scope, Time, Timed<T>>
where
    T: ExchangeData,
    S: KeySelector<Timed<T>>,
    F: FnMut(T, T) -> T + 'static,
{
    rolling(keyed, context, "reduce", OnTimed(Reduce(f)))
}

/// `count` on a timestamped keyed stream.
pub fn count_timed<'scope, T, S>(
    keyed: KeyedStream<'scope, Timed<T>, S>,
    context: &JobContext,
) -> StreamVec<'scope, Time, Timed<(S::Key, u64)>>
where
    T: ExchangeData,
    S: KeySelector<Timed<T>>,
{
    rolling(keyed, context, "count", OnTimed(Count))
}

/// `sum(|r| value)` on a timestamped keyed stream.
pub fn sum_by_timed<'scope, T, S, V, F>(
    keyed: KeyedStream<'scope, Timed<T>, S>,
    context: &JobContext,
    f: F,
) -> StreamVec<'scope, Time, Timed<(S::Key, V)>>
where
    T: ExchangeData,
    S: KeySelector<Timed<T>>,
    V: AddAssign + ExchangeData,
    F: Fn(&T) -> V + 'static,
{
    rolling(keyed, context, "sum", OnTimed(SumBy(f)))
}

/// `sum(N)` on a timestamped keyed stream.
pub fn sum_field_timed<'scope, T, S, V, F>(
    keyed: KeyedStream<'scope, Timed<T>, S>,
    context: &JobContext,
    field: F,
) -> StreamVec<'scope, Time, Timed<T>>
where
    T: ExchangeData,
    S: KeySelector<Timed<T>>,
    V: AddAssign + Clone + 'static,
    F: for<'a> Fn(&'a mut T) -> &'a mut V + 'static,
{
    rolling(keyed, context, "sum", OnTimed(SumField(field)))
}
