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

use crate::hash::StateMap;
use crate::key::{ExchangeData, Key, KeySelector};
use crate::operators::keyed::KeyedStream;
use crate::time::{event_frontier, now_ms, tick_floor, time_of, Time, Timed};

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

    /// The input frontier (watermark + 1); `u64::MAX` once the input has ended.
    pub(crate) fn frontier(&self) -> u64 {
        self.frontier
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
            #[allow(unused_variables)]
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

            #[allow(unused_variables, clippy::unused_unit)]
            fn outputs<'scope>(
                &self,
                builder: &mut OperatorBuilder<'scope, Time>,
            ) -> (Self::Outputs, Self::Buffers, Self::Streams<'scope>) {
                let parts = ($(side_output::<$T>(builder, &self.$i),)*);
                (($(parts.$i.0,)*), ($(parts.$i.1,)*), ($(parts.$i.2,)*))
            }

            #[allow(unused_variables)]
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

/// `keyed.process(f)`, with the side outputs `tags`; `tick` is the pipeline's tick (timer
/// capabilities are held per tick).
pub fn process<'scope, T, S, F, G>(
    keyed: KeyedStream<'scope, Timed<T>, S>,
    name: &str,
    mut f: F,
    tick: u64,
    tags: G,
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
    if let Some(worker) = crate::checkpoint::worker() {
        worker.unsupported(&format!("the process function `{name}`"));
    }
    let (stream, selector) = keyed.into_parts();
    let scope = stream.scope();
    let mut builder = OperatorBuilder::new(name.to_owned(), scope);
    let route = selector.clone();
    let mut input = builder.new_input(stream, Exchange::new(move |r: &Timed<T>| route.route(r)));
    builder.set_notify_for(0, FrontierInterest::Always);
    let (main, main_stream) = builder.new_output();
    let mut main: Out<Timed<F::Out>> = OutputBuilder::from(main);
    let (mut sides, mut side_buffers, side_streams) = tags.outputs(&mut builder);
    let activator = scope.activator_for(builder.operator_info().address);
    builder.build(move |_initial| {
        let mut timers = Timers::new();
        // Event-time timer capabilities, one per output port, by tick.
        let mut caps: BTreeMap<u64, Vec<Capability<Time>>> = BTreeMap::new();
        // Held while processing-time timers are pending, at the input frontier.
        let mut processing_caps: Option<Vec<Capability<Time>>> = None;
        let mut out = Vec::new();
        let mut main_buffer: Vec<Timed<F::Out>> = Vec::new();
        move |frontiers| {
            let frontier = event_frontier(&frontiers[0].frontier());
            input.for_each(|cap, data| {
                let stamp = time_of(&cap);
                let time = stamp.event;
                for record in data.drain(..) {
                    let key = selector.with_key(&record, S::Key::clone);
                    let ts = record.ts;
                    let mut ctx = Context {
                        key: &key,
                        timestamp: ts,
                        frontier,
                        domain: None,
                        timers: &mut timers,
                        side: &mut side_buffers,
                    };
                    f.process_element(record.value, &mut ctx, &mut out);
                    main_buffer.extend(out.drain(..).map(|value| Timed { ts, value }));
                    if ctx.timers.processing.is_empty() || processing_caps.is_some() {
                        continue;
                    }
                    processing_caps = Some(port_caps(&cap, stamp, 1 + names.len()));
                }
                if !main_buffer.is_empty() {
                    main.activate()
                        .session(&cap)
                        .give_container(&mut main_buffer);
                }
                G::flush(&mut sides, &mut side_buffers, &At::Input(&cap));
                for t in timers.added.drain(..) {
                    let bucket = tick_floor(t, tick);
                    let at = stamp.with_event(bucket.max(time));
                    caps.entry(bucket)
                        .or_insert_with(|| port_caps(&cap, at, 1 + names.len()));
                }
            });
            // Event-time timers the watermark has passed, in time order; a timer may
            // register another, which fires in turn when it is due.
            while let Some(mut entry) = timers.event.first_entry() {
                let t = *entry.key();
                if t >= frontier {
                    break;
                }
                let keys = std::mem::take(entry.get_mut());
                entry.remove();
                let held = caps
                    .get(&tick_floor(t, tick))
                    .expect("a capability is held for every event-time timer")
                    .clone();
                for key in keys.into_keys() {
                    let mut ctx = Context {
                        key: &key,
                        timestamp: t,
                        frontier,
                        domain: Some(TimeDomain::EventTime),
                        timers: &mut timers,
                        side: &mut side_buffers,
                    };
                    f.on_timer(t, &mut ctx, &mut out);
                    main_buffer.extend(out.drain(..).map(|value| Timed { ts: t, value }));
                }
                flush_held(&mut main, &mut main_buffer, &held);
                G::flush(&mut sides, &mut side_buffers, &At::Held(&held));
                hold_for_added(&mut caps, &mut timers.added, tick, &held);
                timers.deleted = true;
                if !timers.processing.is_empty() && processing_caps.is_none() {
                    let at = *held[0].time();
                    processing_caps = Some(held.iter().map(|c| c.delayed(&at)).collect());
                }
            }
            // Processing-time timers the wall clock has reached (all, once the input ended).
            let now = now_ms();
            if let Some(held) = processing_caps.as_mut() {
                if frontier != u64::MAX && frontier > held[0].time().event {
                    for c in held.iter_mut() {
                        let to = c.time().with_event(frontier);
                        c.downgrade(&to);
                    }
                }
                let at = held[0].time().event;
                while let Some(entry) = timers.processing.first_entry() {
                    let t = *entry.key();
                    if t > now && frontier != u64::MAX {
                        break;
                    }
                    let keys = entry.remove();
                    for key in keys.into_keys() {
                        let mut ctx = Context {
                            key: &key,
                            timestamp: at,
                            frontier,
                            domain: Some(TimeDomain::ProcessingTime),
                            timers: &mut timers,
                            side: &mut side_buffers,
                        };
                        f.on_timer(t, &mut ctx, &mut out);
                        main_buffer.extend(out.drain(..).map(|value| Timed { ts: at, value }));
                    }
                    flush_held(&mut main, &mut main_buffer, held);
                    G::flush(&mut sides, &mut side_buffers, &At::Held(held));
                    // Event-time timers registered here are due at the next activation.
                    hold_for_added(&mut caps, &mut timers.added, tick, held);
                }
                if let Some((&next, _)) = timers.processing.first_key_value() {
                    activator.activate_after(Duration::from_millis(next.saturating_sub(now)));
                }
            }
            if timers.processing.is_empty() {
                processing_caps = None;
            }
            if frontier == u64::MAX && !timers.event.is_empty() {
                // Registered by processing-time timers after the input ended: due now.
                activator.activate();
            }
            if std::mem::take(&mut timers.deleted) {
                caps.retain(|&bucket, _| {
                    timers
                        .event
                        .range(bucket..bucket.saturating_add(tick))
                        .next()
                        .is_some()
                });
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

/// A capability at `time` for each of `ports` output ports.
fn port_caps(cap: &InputCapability<Time>, time: Time, ports: usize) -> Vec<Capability<Time>> {
    (0..ports).map(|port| cap.delayed(&time, port)).collect()
}

fn flush_held<O: 'static>(
    main: &mut Out<Timed<O>>,
    buffer: &mut Vec<Timed<O>>,
    held: &[Capability<Time>],
) {
    if !buffer.is_empty() {
        main.activate().session(&held[0]).give_container(buffer);
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
