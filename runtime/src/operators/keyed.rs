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

use crate::aggregate::{Aggregator, Count, Reduce, Sum, SumField};
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

/// How the records of a keyed stream carry their values, as its key selector tells: a
/// plain record is its value; a timestamped one (keyed through [`OnValue`]) carries a
/// value and its event time, and a rolling aggregation's outputs keep event time, as
/// Flink's rolling aggregations keep the element's timestamp.
pub trait Rolls<R>: KeySelector<R> {
    /// What the aggregation folds: the record, or the value of a timestamped one.
    type Value;
    /// What a key's state keeps beside its accumulator: nothing, or event times.
    type Clock: ExchangeData;
    /// An output of the aggregation: `O`, or `O` stamped with event time.
    type Out<O: 'static>: 'static;
    /// The value of a key's first record, and the clock it starts.
    fn first(record: R) -> (Self::Value, Self::Clock);
    /// The value of a later record, noted in the key's clock.
    fn next(record: R, clock: &mut Self::Clock) -> Self::Value;
    /// `out` as emitted after a record (streaming mode), or once the input has ended
    /// (`last`, batch mode).
    fn stamp<O: 'static>(clock: &Self::Clock, out: O, last: bool) -> Self::Out<O>;
}

/// Plain records are their own values.
macro_rules! plain_rolls {
    ($($selector:ident),*) => {$(
        impl<T, F> Rolls<T> for $selector<F>
        where
            $selector<F>: KeySelector<T>,
        {
            type Value = T;
            type Clock = ();
            type Out<O: 'static> = O;
            #[inline]
            fn first(record: T) -> (T, ()) {
                (record, ())
            }
            #[inline]
            fn next(record: T, _clock: &mut ()) -> T {
                record
            }
            #[inline]
            fn stamp<O: 'static>(_clock: &(), out: O, _last: bool) -> O {
                out
            }
        }
    )*};
}
plain_rolls!(KeyFn, KeyField);

/// A timestamped record's output is stamped with the event time of the record that
/// produced it (in batch mode, with the key's latest event time); the clock is the last
/// record's event time and the latest one.
impl<T: 'static, S: KeySelector<T>> Rolls<Timed<T>> for OnValue<S> {
    type Value = T;
    type Clock = (u64, u64);
    type Out<O: 'static> = Timed<O>;
    #[inline]
    fn first(record: Timed<T>) -> (T, (u64, u64)) {
        (record.value, (record.ts, record.ts))
    }
    #[inline]
    fn next(record: Timed<T>, clock: &mut (u64, u64)) -> T {
        *clock = (record.ts, clock.1.max(record.ts));
        record.value
    }
    #[inline]
    fn stamp<O: 'static>(clock: &(u64, u64), value: O, last: bool) -> Timed<O> {
        let ts = if last { clock.1 } else { clock.0 };
        Timed { ts, value }
    }
}

/// What a key's output is made of: the aggregate alone (`reduce`, `sum(N)`), or paired
/// with the key (`count`, `sum(|r| v)`).
pub trait Emit<K, V>: 'static {
    /// The output.
    type Out: 'static;
    /// The output of `key` with aggregate `value`.
    fn emit(&self, key: &K, value: V) -> Self::Out;
}

/// The aggregate alone.
pub struct Alone;

impl<K, V: 'static> Emit<K, V> for Alone {
    type Out = V;
    #[inline]
    fn emit(&self, _key: &K, value: V) -> V {
        value
    }
}

/// `(key, aggregate)`.
pub struct WithKey;

impl<K: Clone + 'static, V: 'static> Emit<K, V> for WithKey {
    type Out = (K, V);
    #[inline]
    fn emit(&self, key: &K, value: V) -> (K, V) {
        (key.clone(), value)
    }
}

/// A rolling aggregation: an [`Aggregator`] over the values of a keyed stream whose
/// records are `R`, keyed by `S`, and how a key's output is made.
struct Rolling<A, E, R, S> {
    agg: A,
    emit: E,
    _records: std::marker::PhantomData<fn(R, S)>,
}

/// A key's state: the accumulator and the clock. (Checkpoints hold it: for a plain
/// stream the clock is `()`, which encodes to nothing.)
type KeyState<A, R, S> = (
    <A as Aggregator<<S as Rolls<R>>::Value>>::Acc,
    <S as Rolls<R>>::Clock,
);

/// The states of the keys.
type States<A, R, S> = StateMap<<S as KeySelector<R>>::Key, KeyState<A, R, S>>;

impl<R, S, A, E> Rolling<A, E, R, S>
where
    S: Rolls<R>,
    A: Aggregator<S::Value>,
    E: Emit<S::Key, A::Out>,
{
    #[inline]
    fn start(&self, record: R) -> KeyState<A, R, S> {
        let (value, clock) = S::first(record);
        let mut acc = self.agg.init();
        self.agg.add(&mut acc, value);
        (acc, clock)
    }

    #[inline]
    fn add(&self, state: &mut KeyState<A, R, S>, record: R) {
        let value = S::next(record, &mut state.1);
        self.agg.add(&mut state.0, value);
    }

    #[inline]
    fn out(&self, key: &S::Key, state: &KeyState<A, R, S>, last: bool) -> S::Out<E::Out> {
        S::stamp(
            &state.1,
            self.emit.emit(key, self.agg.finish(&state.0)),
            last,
        )
    }

    /// Folds `data` into `states` (batch mode: nothing goes out yet). A key is cloned
    /// only when it is new.
    fn fold(&self, selector: &S, states: &mut States<A, R, S>, data: &mut Vec<R>) {
        for record in data.drain(..) {
            match state_of(states, selector, &record) {
                Some(state) => self.add(state, record),
                None => {
                    let key = selector.with_key(&record, S::Key::clone);
                    let state = self.start(record);
                    states.insert(key, state);
                }
            }
        }
    }

    /// Folds `data` into `states`, each key's updated output to `out` (streaming mode).
    fn fold_emitting(
        &self,
        selector: &S,
        states: &mut States<A, R, S>,
        data: &mut Vec<R>,
        out: &mut Vec<S::Out<E::Out>>,
    ) {
        for record in data.drain(..) {
            let key = selector.with_key(&record, S::Key::clone);
            out.push(match states.entry(key) {
                Entry::Occupied(mut e) => {
                    self.add(e.get_mut(), record);
                    self.out(e.key(), e.get(), false)
                }
                Entry::Vacant(v) => {
                    let e = v.insert_entry(self.start(record));
                    self.out(e.key(), e.get(), false)
                }
            });
        }
    }

    /// Each key's final output, emptying `states` (batch mode, once the input ended).
    fn finish<'a>(
        &'a self,
        states: &'a mut States<A, R, S>,
    ) -> impl Iterator<Item = S::Out<E::Out>> + 'a {
        states
            .drain()
            .map(|(key, state)| self.out(&key, &state, true))
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

/// Runs `agg` over the values of each key of `keyed`, emitting what `emit` makes of a
/// key and its aggregate, as the job's execution mode says: after every record in
/// streaming mode, once per key when the input ends in batch mode.
pub fn rolling<'scope, R, S, A, E>(
    keyed: KeyedStream<'scope, R, S>,
    context: &JobContext,
    name: &str,
    agg: A,
    emit: E,
) -> StreamVec<'scope, Time, S::Out<E::Out>>
where
    R: ExchangeData,
    S: Rolls<R>,
    A: Aggregator<S::Value>,
    E: Emit<S::Key, A::Out>,
{
    let KeyedStream { stream, selector } = keyed;
    let router = selector.clone();
    let peers = stream.scope().peers();
    let pact = Exchange::new(KeyGroups::router(peers, move |r: &R| router.route(r)));
    let rolling = Rolling {
        agg,
        emit,
        _records: std::marker::PhantomData,
    };
    if crate::checkpoint::worker().is_some() {
        let batch = context.mode() == ExecutionMode::Batch;
        return rolling_checkpointed(stream, pact, name, selector, rolling, batch);
    }
    match context.mode() {
        ExecutionMode::Batch => stream.unary_frontier(pact, name, move |_, _| {
            let mut state: States<A, R, S> = StateMap::default();
            let mut held: Option<Capability<Time>> = None;
            move |(input, frontier), output| {
                input.for_each(|time, data| {
                    let t = time_of(&time);
                    if held.as_ref().is_none_or(|c| t < *c.time()) {
                        held = Some(time.delayed(&t, output.output_index()));
                    }
                    rolling.fold(&selector, &mut state, data);
                });
                if frontier.is_empty() {
                    if let Some(cap) = held.take() {
                        output
                            .session(&cap)
                            .give_iterator(rolling.finish(&mut state));
                    }
                    state = StateMap::default(); // release the table's memory
                }
            }
        }),
        ExecutionMode::Streaming | ExecutionMode::Automatic => {
            stream.unary(pact, name, move |_, _| {
                let mut state: States<A, R, S> = StateMap::default();
                let mut out = Vec::new();
                move |input, output| {
                    input.for_each(|time, data| {
                        rolling.fold_emitting(&selector, &mut state, data, &mut out);
                        if !out.is_empty() {
                            output.session(&time).give_container(&mut out);
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
fn rolling_checkpointed<'scope, R, S, A, E>(
    stream: StreamVec<'scope, Time, R>,
    pact: Exchange<R, impl FnMut(&R) -> u64 + 'static>,
    name: &str,
    selector: S,
    rolling: Rolling<A, E, R, S>,
    batch: bool,
) -> StreamVec<'scope, Time, S::Out<E::Out>>
where
    R: ExchangeData,
    S: Rolls<R>,
    A: Aggregator<S::Value>,
    E: Emit<S::Key, A::Out>,
{
    use crate::checkpoint::EpochGate;
    use crate::time::epoch_frontier;
    let what = format!("the rolling aggregation `{name}`");
    let scope = stream.scope();
    stream.unary_frontier(pact, name, move |initial, info| {
        let mut gate: EpochGate<R> = EpochGate::new("rolling", true, &what);
        gate.write_in_background(scope.worker().sync_activator_for(info.address.to_vec()));
        let mut state: States<A, R, S> = StateMap::default();
        // Batch mode: where the final values go out.
        let mut held: Option<Capability<Time>> = None;
        if let Some((saved, at)) = gate.restored_state::<(States<A, R, S>, Option<u64>)>() {
            state = saved;
            held = at.map(|event| gate.restored_cap(&initial, event));
        }
        gate.hold(&initial);
        drop(initial);
        let mut out = Vec::new();
        move |(input, frontier), output| {
            input.for_each(|cap, data| {
                let t = time_of(&cap);
                if gate.is_later(&t) {
                    gate.stash(t, vec![cap.delayed(&t, 0)], std::mem::take(data));
                    return;
                }
                if batch && held.as_ref().is_none_or(|c| t < *c.time()) {
                    held = Some(cap.delayed(&t, 0));
                }
                if batch {
                    rolling.fold(&selector, &mut state, data);
                } else {
                    rolling.fold_emitting(&selector, &mut state, data, &mut out);
                    if !out.is_empty() {
                        output.session(&cap).give_container(&mut out);
                    }
                }
            });
            while let Some(next) = gate.next(epoch_frontier(&frontier.frontier())) {
                if batch && next == crate::checkpoint::store::OPEN_END {
                    // The input has ended: the final values go out in the open epoch,
                    // before its last part is written.
                    if let Some(cap) = held.take() {
                        output
                            .session(&cap)
                            .give_iterator(rolling.finish(&mut state));
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
                    if batch {
                        rolling.fold(&selector, &mut state, &mut data);
                    } else {
                        rolling.fold_emitting(&selector, &mut state, &mut data, &mut out);
                        if !out.is_empty() {
                            output.session(&caps[0]).give_container(&mut out);
                        }
                    }
                }
            }
            gate.follow(&frontier.frontier());
        }
    })
}

/// `reduce(|a, b| ...)`: the key's values combined pairwise; emits the combined value.
pub fn reduce<'scope, R, S, F>(
    keyed: KeyedStream<'scope, R, S>,
    context: &JobContext,
    f: F,
) -> StreamVec<'scope, Time, S::Out<S::Value>>
where
    R: ExchangeData,
    S: Rolls<R>,
    S::Value: ExchangeData,
    F: Fn(S::Value, S::Value) -> S::Value + 'static,
{
    rolling(keyed, context, "reduce", Reduce(f), Alone)
}

/// `count()`: `(key, records so far)`.
pub fn count<'scope, R, S>(
    keyed: KeyedStream<'scope, R, S>,
    context: &JobContext,
) -> StreamVec<'scope, Time, S::Out<(S::Key, u64)>>
where
    R: ExchangeData,
    S: Rolls<R>,
{
    rolling(keyed, context, "count", Count, WithKey)
}

/// `sum(|r| value)`: `(key, sum of values so far)`.
pub fn sum_by<'scope, R, S, V, F>(
    keyed: KeyedStream<'scope, R, S>,
    context: &JobContext,
    f: F,
) -> StreamVec<'scope, Time, S::Out<(S::Key, V)>>
where
    R: ExchangeData,
    S: Rolls<R>,
    V: AddAssign + Default + ExchangeData,
    F: Fn(&S::Value) -> V + 'static,
{
    rolling(keyed, context, "sum", Sum(f), WithKey)
}

/// `sum(N)`: the key's first value with field `N` replaced by the running sum.
pub fn sum_field<'scope, R, S, V, F>(
    keyed: KeyedStream<'scope, R, S>,
    context: &JobContext,
    field: F,
) -> StreamVec<'scope, Time, S::Out<S::Value>>
where
    R: ExchangeData,
    S: Rolls<R>,
    S::Value: ExchangeData,
    V: AddAssign + Clone + 'static,
    F: for<'a> Fn(&'a mut S::Value) -> &'a mut V + 'static,
{
    rolling(keyed, context, "sum", SumField(field), Alone)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Record = (u64, u64);
    /// The selector of a keyed stream of records by their first field.
    type ByFirst = KeyFn<fn(&Record) -> u64>;

    #[test]
    fn timed_outputs_keep_the_records_time_and_a_final_one_the_latest() {
        let rolling: Rolling<_, _, Timed<Record>, OnValue<ByFirst>> = Rolling {
            agg: Sum(|r: &Record| r.1),
            emit: WithKey,
            _records: std::marker::PhantomData,
        };
        let mut state = rolling.start(Timed {
            ts: 5,
            value: (1, 10),
        });
        rolling.add(
            &mut state,
            Timed {
                ts: 3,
                value: (1, 1),
            },
        );
        let streaming = rolling.out(&1, &state, false);
        assert_eq!((streaming.ts, streaming.value), (3, (1, 11)));
        let last = rolling.out(&1, &state, true);
        assert_eq!((last.ts, last.value), (5, (1, 11)));
    }

    #[test]
    fn a_plain_keys_state_encodes_as_its_accumulator() {
        // Checkpoints of `count` and `sum(|r| v)` written before the state had a clock
        // read back: the clock of a plain stream is `()`, which takes no bytes.
        let plain: KeyState<Count, Record, ByFirst> = (7, ());
        assert_eq!(
            crate::checkpoint::encode(&plain),
            crate::checkpoint::encode(&7u64)
        );
    }
}
