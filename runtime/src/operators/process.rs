//! `key_by(..).process(f)`: Flink's `KeyedProcessFunction`, with keyed state, timers and
//! side outputs.
//!
//! The function sees each record of its keyed partition with a [`Context`] that names the
//! current key and time, reaches per-key state ([`crate::state`]), registers and deletes
//! timers, and emits to side outputs ([`OutputTag`]). Outputs travel at the event time
//! of what caused them: the record's timestamp, or an event-time timer's time.
//!
//! ## Timers
//! Timers are per key and deduplicated: registering the same time twice for a key fires
//! once. An **event-time** timer at `t` fires when the watermark reaches `t` (the input
//! frontier passes `t`); the operator holds a capability for it, so downstream windows
//! wait for what it may emit. A timer registered at a time the watermark has already
//! passed fires at the next progress step. A **processing-time** timer fires when the
//! wall clock reaches it; what it emits travels at the current watermark. When the input
//! ends, every remaining timer fires (event-time ones in time order, as Flink's final
//! watermark does; processing-time ones as Flink does at the end of a bounded input in
//! batch execution), so nothing a function holds is silently lost.
//!
//! Within one activation the operator first hands the function the records that arrived,
//! then fires the timers the frontier has passed. As in Flink with several upstream
//! channels, whether a record with a timestamp after a timer's time is seen before or after
//! that timer depends on when the watermark arrives; a function that must decide by time
//! compares the record's timestamp with the time it stored.

use std::any::Any;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::time::Duration;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::{Capability, InputCapability};
use timely::dataflow::StreamVec;
use timely::progress::operate::FrontierInterest;

use crate::checkpoint::EpochGate;
use crate::hash::StateMap;
use crate::key::{ExchangeData, Key, KeySelector};
use crate::operators::keyed::KeyedStream;
use crate::time::{epoch_frontier, event_frontier, now_ms, tick_floor, time_of, Time, Timed};

/// A function over a keyed stream with per-key state and timers: Flink's
/// `KeyedProcessFunction`. State handles ([`crate::state::ValueState`] and the others)
/// are fields of the function; they hold every key's state and act on the context's key.
///
/// See the `tidemill` crate's docs ("Process functions") for an example.
pub trait KeyedProcessFunction<K, I>: 'static {
    /// What the function emits on its main output.
    type Out: 'static;

    /// Handles one record of the current key (`ctx.key()`), at event time `ctx.timestamp()`.
    fn process_element(&mut self, record: I, ctx: &mut Context<'_, K>, out: &mut Vec<Self::Out>);

    /// A timer of the current key fired; `ctx.time_domain()` says which kind. The default
    /// does nothing.
    fn on_timer(&mut self, time: u64, ctx: &mut Context<'_, K>, out: &mut Vec<Self::Out>) {
        let _ = (time, ctx, out);
    }
}

/// Which clock a timer follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeDomain {
    /// Event time: fires when the watermark reaches it.
    EventTime,
    /// Processing time: fires when the wall clock reaches it.
    ProcessingTime,
}

/// Names a side output and the type of its records: `ctx.output(&ALERTS, alert)` in a
/// process function, `.side_output(ALERTS)` in the pipeline.
///
pub struct OutputTag<T> {
    name: &'static str,
    _type: PhantomData<fn(T) -> T>,
}

impl<T> OutputTag<T> {
    /// A tag named `name`; tags of one process function need distinct names.
    pub const fn new(name: &'static str) -> Self {
        OutputTag {
            name,
            _type: PhantomData,
        }
    }

    /// The tag's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<T> Clone for OutputTag<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for OutputTag<T> {}

/// The pending timers of every key of one operator.
pub struct Timers<K> {
    event: BTreeMap<u64, StateMap<K, ()>>,
    processing: BTreeMap<u64, StateMap<K, ()>>,
    /// Event-time timer times registered since the operator last secured capabilities.
    added: Vec<u64>,
    /// Whether a timer was deleted since the operator last released capabilities.
    deleted: bool,
}

impl<K: Key> Timers<K> {
    fn new() -> Self {
        Timers {
            event: BTreeMap::new(),
            processing: BTreeMap::new(),
            added: Vec::new(),
            deleted: false,
        }
    }

    fn register(map: &mut BTreeMap<u64, StateMap<K, ()>>, time: u64, key: &K) -> bool {
        let keys = map.entry(time).or_default();
        if keys.contains_key(key) {
            return false;
        }
        keys.insert(key.clone(), ());
        true
    }

    fn delete(map: &mut BTreeMap<u64, StateMap<K, ()>>, time: u64, key: &K) -> bool {
        let Some(keys) = map.get_mut(&time) else {
            return false;
        };
        let removed = keys.remove(key).is_some();
        if keys.is_empty() {
            map.remove(&time);
        }
        removed
    }

    /// Pending timers: event-time and processing-time.
    pub fn len(&self) -> (usize, usize) {
        let count = |m: &BTreeMap<u64, StateMap<K, ()>>| m.values().map(StateMap::len).sum();
        (count(&self.event), count(&self.processing))
    }
}

/// Side-output buffers, found by tag name.
pub trait SideBuffers {
    /// The buffer (`Vec<Timed<T>>`) of the side output named `name`.
    fn buffer(&mut self, name: &str) -> Option<&mut dyn Any>;
}

/// What a process function sees besides the record: the current key and time, timers,
/// side outputs; state handles take it to find the current key.
pub struct Context<'a, K> {
    key: &'a K,
    timestamp: u64,
    frontier: u64,
    domain: Option<TimeDomain>,
    timers: &'a mut Timers<K>,
    side: &'a mut dyn SideBuffers,
}

impl<K: Key> crate::state::KeyContext<K> for Context<'_, K> {
    fn key(&self) -> &K {
        self.key
    }
    fn timestamp(&self) -> u64 {
        self.timestamp
    }
    fn frontier(&self) -> u64 {
        self.frontier
    }
}

impl<'a, K: Key> Context<'a, K> {
    /// The key of the record or timer being handled.
    pub fn key(&self) -> &K {
        self.key
    }

    /// The current event time: the record's timestamp, or the time of the event-time
    /// timer firing; for a processing-time timer, the time its outputs travel at (the
    /// watermark's). Outputs (main and side) carry this timestamp.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The operator's current watermark: every record still to come that is not late
    /// has a later timestamp. `0` before the first watermark.
    pub fn current_watermark(&self) -> u64 {
        self.frontier.saturating_sub(1)
    }

    /// The wall clock in milliseconds since the Unix epoch.
    pub fn current_processing_time(&self) -> u64 {
        now_ms()
    }

    /// In `on_timer`: the domain of the timer that fired; `None` in `process_element`.
    pub fn time_domain(&self) -> Option<TimeDomain> {
        self.domain
    }

    /// Fires `on_timer(time)` for this key once the watermark reaches `time` (a timer at
    /// `u64::MAX` fires when the input ends).
    pub fn register_event_time_timer(&mut self, time: u64) {
        let time = time.min(u64::MAX - 1);
        if Timers::register(&mut self.timers.event, time, self.key) {
            self.timers.added.push(time);
        }
    }

    /// Deletes this key's event-time timer at `time`, if any.
    pub fn delete_event_time_timer(&mut self, time: u64) {
        let time = time.min(u64::MAX - 1);
        self.timers.deleted |= Timers::delete(&mut self.timers.event, time, self.key);
    }

    /// Fires `on_timer(time)` for this key once the wall clock reaches `time`.
    pub fn register_processing_time_timer(&mut self, time: u64) {
        Timers::register(&mut self.timers.processing, time, self.key);
    }

    /// Deletes this key's processing-time timer at `time`, if any.
    pub fn delete_processing_time_timer(&mut self, time: u64) {
        Timers::delete(&mut self.timers.processing, time, self.key);
    }

    /// Emits `value` on the side output `tag`, at the current timestamp. A side output
    /// that the pipeline does not take (`.side_output(TAG)`) drops its records, as in
    /// Flink.
    pub fn output<T: 'static>(&mut self, tag: &OutputTag<T>, value: T) {
        let Some(buffer) = self.side.buffer(tag.name) else {
            return;
        };
        match buffer.downcast_mut::<Vec<Timed<T>>>() {
            Some(buffer) => buffer.push(Timed {
                ts: self.timestamp,
                value,
            }),
            None => panic!(
                "side output `{}` carries another type than this tag's `{}`: use one OutputTag constant for both",
                tag.name,
                std::any::type_name::<T>()
            ),
        }
    }
}

/// One output of the process operator.
type Out<D> = OutputBuilder<Time, CapacityContainerBuilder<Vec<D>>>;

/// Where a batch of outputs may go: under the capability of the input message, or under
/// retained capabilities (one per output port).
pub enum At<'a> {
    /// The capability of the message being handled (valid for every output).
    Input(&'a InputCapability<Time>),
    /// Retained capabilities, one per output port (main output first).
    Held(&'a [Capability<Time>]),
}

/// The side outputs a process function is built with: `()` or a tuple of [`OutputTag`]s.
pub trait SideTags: 'static {
    /// The operator's side outputs.
    type Outputs: 'static;
    /// Their buffers.
    type Buffers: SideBuffers + 'static;
    /// The side-output streams, in tag order.
    type Streams<'scope>;
    /// Adds the side outputs to `builder`.
    fn outputs<'scope>(
        &self,
        builder: &mut OperatorBuilder<'scope, Time>,
    ) -> (Self::Outputs, Self::Buffers, Self::Streams<'scope>);
    /// Ships every buffered side-output record at `at`.
    fn flush(outputs: &mut Self::Outputs, buffers: &mut Self::Buffers, at: &At<'_>);
    /// The tag names, in order.
    fn names(&self) -> Vec<&'static str>;
}

/// One side output: its output handle, its named buffer and its stream.
type Side<'scope, T> = (
    Out<Timed<T>>,
    (&'static str, Vec<Timed<T>>),
    StreamVec<'scope, Time, Timed<T>>,
);

fn side_output<'scope, T: 'static>(
    builder: &mut OperatorBuilder<'scope, Time>,
    tag: &OutputTag<T>,
) -> Side<'scope, T> {
    let (output, stream) = builder.new_output();
    (OutputBuilder::from(output), (tag.name, Vec::new()), stream)
}

fn flush_one<T: 'static>(
    output: &mut Out<Timed<T>>,
    buffer: &mut Vec<Timed<T>>,
    at: &At<'_>,
    port: usize,
) {
    if buffer.is_empty() {
        return;
    }
    let mut output = output.activate();
    match at {
        At::Input(cap) => output.session(*cap).give_container(buffer),
        At::Held(caps) => output.session(&caps[port]).give_container(buffer),
    }
}

macro_rules! side_tags {
    ($($T:ident $i:tt),*) => {
        impl<$($T: 'static),*> SideBuffers for ($((&'static str, Vec<Timed<$T>>),)*) {
            #[allow(unused_variables, reason = "the tuple of no side outputs uses none of its arguments")]
            fn buffer(&mut self, name: &str) -> Option<&mut dyn Any> {
                $(if self.$i.0 == name {
                    return Some(&mut self.$i.1);
                })*
                None
            }
        }

        impl<$($T: 'static),*> SideTags for ($(OutputTag<$T>,)*) {
            type Outputs = ($(Out<Timed<$T>>,)*);
            type Buffers = ($((&'static str, Vec<Timed<$T>>),)*);
            type Streams<'scope> = ($(StreamVec<'scope, Time, Timed<$T>>,)*);

            #[allow(unused_variables, clippy::unused_unit, reason = "the tuple of no side outputs uses none of its arguments and builds ()")]
            fn outputs<'scope>(
                &self,
                builder: &mut OperatorBuilder<'scope, Time>,
            ) -> (Self::Outputs, Self::Buffers, Self::Streams<'scope>) {
                let parts = ($(side_output::<$T>(builder, &self.$i),)*);
                (($(parts.$i.0,)*), ($(parts.$i.1,)*), ($(parts.$i.2,)*))
            }

            #[allow(unused_variables, reason = "the tuple of no side outputs uses none of its arguments")]
            fn flush(outputs: &mut Self::Outputs, buffers: &mut Self::Buffers, at: &At<'_>) {
                $(flush_one(&mut outputs.$i, &mut buffers.$i.1, at, $i + 1);)*
            }

            fn names(&self) -> Vec<&'static str> {
                vec![$(self.$i.name),*]
            }
        }
    };
}

side_tags!();
side_tags!(A 0);
side_tags!(A 0, B 1);
side_tags!(A 0, B 1, C 2);
side_tags!(A 0, B 1, C 2, D 3);
side_tags!(A 0, B 1, C 2, D 3, E 4);
side_tags!(A 0, B 1, C 2, D 3, E 4, F 5);

/// The streams of a process function: its main output and its side outputs.
pub type Processed<'scope, O, G> = (
    StreamVec<'scope, Time, Timed<O>>,
    <G as SideTags>::Streams<'scope>,
);

/// How state of type `F` goes into a checkpoint, through serde: a process function (its
/// state handles and every other field), or a table join's waiting records.
pub struct StateCodec<F> {
    save: fn(&F) -> Vec<u8>,
    load: fn(&str, &[u8]) -> crate::Result<F>,
}

impl<F> StateCodec<F> {
    /// Encodes `state`.
    pub fn save(&self, state: &F) -> Vec<u8> {
        (self.save)(state)
    }

    /// Decodes the state of `what` (for its message if it does not decode).
    pub fn load(&self, what: &str, bytes: &[u8]) -> crate::Result<F> {
        (self.load)(what, bytes)
    }
}

/// Tells, for `stream!`'s code, whether state of type `F` can be checkpointed: with
/// [`ViaSerde`] and [`ViaNothing`] in scope, `(&StateProbe::of(&f)).codec()` is a
/// [`StateCodec`] when `F` implements serde's `Serialize` and `Deserialize`, `None` when
/// it does not (method resolution decides, on the concrete type).
pub struct StateProbe<F>(PhantomData<fn() -> F>);

impl<F> StateProbe<F> {
    /// The probe of `f`'s type.
    pub fn of(_: &F) -> Self {
        StateProbe(PhantomData)
    }

    /// The probe of `F`.
    pub fn new() -> Self {
        StateProbe(PhantomData)
    }
}

impl<F> Default for StateProbe<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// See [`StateProbe`].
pub trait ViaSerde<F> {
    /// The codec of `F`.
    fn codec(&self) -> Option<StateCodec<F>>;
}

impl<F: serde::Serialize + serde::de::DeserializeOwned> ViaSerde<F> for StateProbe<F> {
    fn codec(&self) -> Option<StateCodec<F>> {
        Some(StateCodec {
            save: crate::checkpoint::encode::<F>,
            load: crate::checkpoint::decode_state::<F>,
        })
    }
}

/// See [`StateProbe`].
pub trait ViaNothing<F> {
    /// `None`: `F` cannot be checkpointed.
    fn codec(&self) -> Option<StateCodec<F>>;
}

impl<F> ViaNothing<F> for &StateProbe<F> {
    fn codec(&self) -> Option<StateCodec<F>> {
        None
    }
}

/// The pending timers in a checkpoint: event-time, processing-time, and the event time
/// that processing-time timers' outputs travel at.
type SavedTimers<K> = (
    BTreeMap<u64, StateMap<K, ()>>,
    BTreeMap<u64, StateMap<K, ()>>,
    Option<u64>,
);

/// The state and logic of a process operator, apart from its input.
struct Process<K, F: KeyedProcessFunction<K, T>, T, G: SideTags> {
    f: F,
    timers: Timers<K>,
    /// Event-time timer capabilities, one per output port, by tick.
    caps: BTreeMap<u64, Vec<Capability<Time>>>,
    /// Held while processing-time timers are pending, at the input frontier.
    processing_caps: Option<Vec<Capability<Time>>>,
    out: Vec<F::Out>,
    main: Out<Timed<F::Out>>,
    main_buffer: Vec<Timed<F::Out>>,
    sides: G::Outputs,
    side_buffers: G::Buffers,
    /// Output ports: the main one and the side outputs.
    ports: usize,
    tick: u64,
    _input: PhantomData<fn(T)>,
}

impl<K: Key, F: KeyedProcessFunction<K, T>, T, G: SideTags> Process<K, F, T, G> {
    /// Hands a batch of records at `stamp` to the function; outputs go `at`.
    fn on_batch<S: KeySelector<Timed<T>, Key = K>>(
        &mut self,
        at: &At<'_>,
        stamp: Time,
        data: &mut Vec<Timed<T>>,
        selector: &S,
        frontier: u64,
    ) {
        let time = stamp.event;
        for record in data.drain(..) {
            let key = selector.with_key(&record, K::clone);
            let ts = record.ts;
            let mut ctx = Context {
                key: &key,
                timestamp: ts,
                frontier,
                domain: None,
                timers: &mut self.timers,
                side: &mut self.side_buffers,
            };
            self.f
                .process_element(record.value, &mut ctx, &mut self.out);
            let out = self.out.drain(..).map(|value| Timed { ts, value });
            self.main_buffer.extend(out);
            if self.timers.processing.is_empty() || self.processing_caps.is_some() {
                continue;
            }
            self.processing_caps = Some(at_caps(at, stamp, self.ports));
        }
        flush_one(&mut self.main, &mut self.main_buffer, at, 0);
        G::flush(&mut self.sides, &mut self.side_buffers, at);
        for t in self.timers.added.drain(..) {
            let bucket = tick_floor(t, self.tick);
            let ports = self.ports;
            self.caps
                .entry(bucket)
                .or_insert_with(|| at_caps(at, stamp.with_event(bucket.max(time)), ports));
        }
    }

    /// Fires the timers that are due once the (event) frontier is `frontier`.
    fn fire(&mut self, frontier: u64, activator: &timely::scheduling::Activator) {
        let tick = self.tick;
        // Event-time timers the watermark has passed, in time order; a timer may
        // register another, which fires in turn when it is due.
        while let Some(mut entry) = self.timers.event.first_entry() {
            let t = *entry.key();
            if t >= frontier {
                break;
            }
            let keys = std::mem::take(entry.get_mut());
            entry.remove();
            let held = self
                .caps
                .get(&tick_floor(t, tick))
                .expect("a capability is held for every event-time timer")
                .clone();
            for key in keys.into_keys() {
                self.on_timer(&key, t, t, frontier, TimeDomain::EventTime);
            }
            let at = At::Held(&held);
            flush_one(&mut self.main, &mut self.main_buffer, &at, 0);
            G::flush(&mut self.sides, &mut self.side_buffers, &at);
            hold_for_added(&mut self.caps, &mut self.timers.added, tick, &held);
            self.timers.deleted = true;
            if !self.timers.processing.is_empty() && self.processing_caps.is_none() {
                let at = *held[0].time();
                self.processing_caps = Some(held.iter().map(|c| c.delayed(&at)).collect());
            }
        }
        // Processing-time timers the wall clock has reached (all, once the input ended).
        let now = now_ms();
        if let Some(mut held) = self.processing_caps.take() {
            if frontier != u64::MAX && frontier > held[0].time().event {
                for c in held.iter_mut() {
                    let to = c.time().with_event(frontier);
                    c.downgrade(&to);
                }
            }
            let at = held[0].time().event;
            while let Some(entry) = self.timers.processing.first_entry() {
                let t = *entry.key();
                if t > now && frontier != u64::MAX {
                    break;
                }
                let keys = entry.remove();
                for key in keys.into_keys() {
                    self.on_timer(&key, t, at, frontier, TimeDomain::ProcessingTime);
                }
                let port_caps = At::Held(&held);
                flush_one(&mut self.main, &mut self.main_buffer, &port_caps, 0);
                G::flush(&mut self.sides, &mut self.side_buffers, &port_caps);
                // Event-time timers registered here are due at the next activation.
                hold_for_added(&mut self.caps, &mut self.timers.added, tick, &held);
            }
            if let Some((&next, _)) = self.timers.processing.first_key_value() {
                activator.activate_after(Duration::from_millis(next.saturating_sub(now)));
            }
            self.processing_caps = Some(held);
        }
        if self.timers.processing.is_empty() {
            self.processing_caps = None;
        }
        if frontier == u64::MAX && !self.timers.event.is_empty() {
            // Registered by processing-time timers after the input ended: due now.
            activator.activate();
        }
        if std::mem::take(&mut self.timers.deleted) {
            let event = &self.timers.event;
            self.caps.retain(|&bucket, _| {
                event
                    .range(bucket..bucket.saturating_add(tick))
                    .next()
                    .is_some()
            });
        }
    }

    /// Calls the function's `on_timer(t)` for `key`; its outputs travel at `timestamp`.
    fn on_timer(&mut self, key: &K, t: u64, timestamp: u64, frontier: u64, domain: TimeDomain) {
        let mut ctx = Context {
            key,
            timestamp,
            frontier,
            domain: Some(domain),
            timers: &mut self.timers,
            side: &mut self.side_buffers,
        };
        self.f.on_timer(t, &mut ctx, &mut self.out);
        let out = self.out.drain(..).map(|value| Timed {
            ts: timestamp,
            value,
        });
        self.main_buffer.extend(out);
    }

    /// The function and its timers, for a checkpoint part.
    fn snapshot(&self, codec: &StateCodec<F>) -> Vec<u8> {
        let at = self.processing_caps.as_ref().map(|c| c[0].time().event);
        let timers = (&self.timers.event, &self.timers.processing, at);
        crate::checkpoint::encode(&(codec.save(&self.f), timers))
    }

    /// Takes the function and timers of the restored checkpoint, holding capabilities
    /// (delayed from `initial`, one per port) in the gate's open epoch.
    fn restore<D>(
        &mut self,
        codec: &StateCodec<F>,
        gate: &EpochGate<D>,
        initial: &[Capability<Time>],
        what: &str,
    ) -> crate::Result<()> {
        let parts = gate
            .restored_states::<(Vec<u8>, SavedTimers<K>)>()
            .unwrap_or_default();
        let (functions, timers): (Vec<Vec<u8>>, Vec<SavedTimers<K>>) = parts.into_iter().unzip();
        let restored = if gate.rescaled() {
            // At another number of workers: the keys this worker owns now, from the
            // functions and timers of the old workers that had them.
            let functions: Vec<&[u8]> = functions.iter().map(Vec::as_slice).collect();
            let f = crate::state::rescaled(&functions, gate.owns(), |b| codec.load(what, b))?;
            f.zip(crate::checkpoint::rescale::merge(timers, &gate.owns()))
        } else {
            let f = functions.first().map(|f| codec.load(what, f)).transpose()?;
            f.zip(timers.into_iter().next())
        };
        let Some((f, (event, processing, at))) = restored else {
            return Ok(());
        };
        self.f = f;
        let held = |event| {
            initial
                .iter()
                .map(|c| gate.restored_cap(c, event))
                .collect()
        };
        for &t in event.keys() {
            let bucket = tick_floor(t, self.tick);
            self.caps.entry(bucket).or_insert_with(|| held(bucket));
        }
        self.processing_caps = at.map(held);
        (self.timers.event, self.timers.processing) = (event, processing);
        Ok(())
    }

    /// Moves every held capability to epoch `epoch`.
    fn retime(&mut self, epoch: u64) {
        let held = self.caps.values_mut().chain(self.processing_caps.as_mut());
        for cap in held.flatten() {
            crate::checkpoint::move_to_epoch(cap, epoch);
        }
    }
}

/// A capability at `time` for each of `ports` output ports, from where outputs go now.
fn at_caps(at: &At<'_>, time: Time, ports: usize) -> Vec<Capability<Time>> {
    match at {
        At::Input(cap) => (0..ports).map(|port| cap.delayed(&time, port)).collect(),
        At::Held(caps) => caps.iter().map(|c| c.delayed(&time)).collect(),
    }
}

/// `keyed.process(f)`, with the side outputs `tags`; `tick` is the pipeline's tick (timer
/// capabilities are held per tick). In a job that checkpoints, `codec` (from
/// [`StateProbe`]) writes the function and its timers as each epoch closes; a function
/// without one fails the job at start-up.
pub fn process<'scope, T, S, F, G>(
    keyed: KeyedStream<'scope, Timed<T>, S>,
    name: &str,
    f: F,
    tick: u64,
    tags: G,
    codec: Option<StateCodec<F>>,
) -> Processed<'scope, F::Out, G>
where
    T: ExchangeData,
    S: KeySelector<Timed<T>>,
    F: KeyedProcessFunction<S::Key, T>,
    G: SideTags,
{
    let names = tags.names();
    for (i, name) in names.iter().enumerate() {
        assert!(
            !names[..i].contains(name),
            "two side outputs of one process function are named `{name}`: give each OutputTag its own name"
        );
    }
    let (stream, selector) = keyed.into_parts();
    let scope = stream.scope();
    let mut builder = OperatorBuilder::new(name.to_owned(), scope);
    let address = builder.operator_info().address;
    let waker = scope.worker().sync_activator_for(address.to_vec());
    let route = selector.clone();
    let route = crate::hash::KeyGroups::router(scope.peers(), move |r: &Timed<T>| route.route(r));
    let mut input = builder.new_input(stream, Exchange::new(route));
    builder.set_notify_for(0, FrontierInterest::Always);
    let (main, main_stream) = builder.new_output();
    let (sides, side_buffers, side_streams) = tags.outputs(&mut builder);
    let activator = scope.activator_for(address.clone());
    let what = format!("the process function `{name}`");
    if let (Some(worker), None) = (crate::checkpoint::worker(), &codec) {
        worker.refuse(format!(
            "{what} cannot be checkpointed: its type `{}` does not implement serde's Serialize and Deserialize; derive them (the state handles implement them), or run this pipeline without --checkpoint-dir",
            std::any::type_name::<F>()
        ));
    }
    builder.build(move |initial| {
        let mut gate: EpochGate<Timed<T>> = EpochGate::new("process", true, &what);
        gate.write_in_background(waker);
        let mut logic: Process<S::Key, F, T, G> = Process {
            f,
            timers: Timers::new(),
            caps: BTreeMap::new(),
            processing_caps: None,
            out: Vec::new(),
            main: OutputBuilder::from(main),
            main_buffer: Vec::new(),
            sides,
            side_buffers,
            ports: 1 + names.len(),
            tick,
            _input: PhantomData,
        };
        if let Some(codec) = &codec {
            if let Err(e) = logic.restore(codec, &gate, &initial, &what) {
                gate.fail(e);
            }
        }
        gate.hold(&initial[0]);
        drop(initial);
        move |frontiers| {
            let input_frontier = frontiers[0].frontier();
            // What waits in the stash is in already: no timer fires past it.
            let mut frontier = event_frontier(&input_frontier).min(gate.event_floor());
            input.for_each(|cap, data| {
                let stamp = time_of(&cap);
                if gate.is_later(&stamp) {
                    // A later epoch than the one open: it waits for the checkpoint.
                    let caps = at_caps(&At::Input(&cap), stamp, logic.ports);
                    gate.stash(stamp, caps, std::mem::take(data));
                    return;
                }
                logic.on_batch(&At::Input(&cap), stamp, data, &selector, frontier);
            });
            loop {
                logic.fire(frontier, &activator);
                // An epoch closed: write the state, move on, take what waited for it.
                let Some(next) = gate.next(epoch_frontier(&input_frontier)) else {
                    gate.follow(&input_frontier);
                    break;
                };
                let state = codec.as_ref().map_or_else(Vec::new, |c| logic.snapshot(c));
                // The released records met this frontier, with them still waiting.
                for (stamp, held, mut data) in gate.close(state, next) {
                    logic.on_batch(&At::Held(&held), stamp, &mut data, &selector, frontier);
                }
                logic.retime(next);
                frontier = event_frontier(&input_frontier).min(gate.event_floor());
            }
        }
    });
    (main_stream, side_streams)
}

/// Holds capabilities (from `held`, one per port) for the ticks of the event-time timers
/// just `added` that have none yet.
fn hold_for_added(
    caps: &mut BTreeMap<u64, Vec<Capability<Time>>>,
    added: &mut Vec<u64>,
    tick: u64,
    held: &[Capability<Time>],
) {
    for t in added.drain(..) {
        let bucket = tick_floor(t, tick);
        caps.entry(bucket).or_insert_with(|| {
            let at = held[0].time().with_event(bucket.max(held[0].time().event));
            held.iter().map(|c| c.delayed(&at)).collect()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Ttl, ValueState};

    #[test]
    fn processing_time_ttl_expires_by_the_wall_clock() {
        let (mut timers, mut side) = (Timers::new(), ());
        let mut state: ValueState<u8, u32> =
            ValueState::with_ttl(Ttl::processing_time(Duration::from_millis(50)));
        let (one, two) = (1u8, 2u8);
        macro_rules! ctx {
            ($key:expr) => {
                &Context {
                    key: $key,
                    timestamp: 0,
                    frontier: 0,
                    domain: None,
                    timers: &mut timers,
                    side: &mut side,
                }
            };
        }
        state.update(ctx!(&one), 7);
        assert_eq!(state.value(ctx!(&one)), Some(&7));
        std::thread::sleep(Duration::from_millis(120));
        state.update(ctx!(&two), 8);
        // Key 1 was not written for more than the TTL; key 2 just was.
        assert_eq!(state.len(), 1, "an access releases what expired");
        assert_eq!(state.value(ctx!(&one)), None);
        assert_eq!(state.value(ctx!(&two)), Some(&8));
    }
}
