//! The window operator shell: the exchange by key, the two outputs (results and late
//! records), batching, the capabilities and checkpoints around a [`WindowLogic`]
//! (panes, sessions, count windows), which decides what records do and when windows
//! fire.
//!
//! A logic names the event times at which it will emit through [`Timers`], and emits
//! through [`Fire`]; it touches no timely type, so it runs in a unit test as it runs in
//! a dataflow (see `tests` in `panes.rs`, `session.rs` and `count.rs`). The shell holds
//! one capability per event time held, moves them to each new epoch, and turns the
//! times a restored logic holds back into capabilities.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::{OutputBuilder, OutputBuilderSession};
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use crate::checkpoint::EpochGate;
use crate::key::ExchangeData;
use crate::time::{epoch_frontier, event_frontier, time_of, Time, Timed};

/// An output of a window operator.
pub(super) type Out<D> = OutputBuilder<Time, CapacityContainerBuilder<Vec<D>>>;

/// What a window logic asks of the operator around it: to stay able to emit results at
/// the event times where its windows will fire.
pub(super) trait Timers {
    /// Holds event time `at`, which is not before the time being handled (or, while
    /// firing, not before a time held). Each call needs its own [`Timers::release`].
    fn hold(&mut self, at: u64);
    /// Gives up one hold of `at`.
    fn release(&mut self, at: u64);
}

/// Where a logic sends the results of windows that fire, while it may also hold and
/// release times.
pub(super) trait Fire<R>: Timers {
    /// Emits `result` at event time `at`, which is held or later than a time held.
    fn fire(&mut self, at: u64, result: Timed<R>);
}

/// What a window operator does with records and with progress; the operator around it
/// (the exchange by key, the outputs, batching, capabilities) is [`window_operator`].
/// Its input items `I` are records (`Timed<T>`) or, after a combiner, partial
/// aggregates.
pub(super) trait WindowLogic<I, T, R>: 'static {
    /// Handles one item that travels at `time`: updates state, pushes updated results
    /// of windows that already fired into `updates` and late records into `late` (both
    /// travel at `time`), and holds through `timers` the times of windows that will
    /// fire.
    fn on_record<H: Timers>(
        &mut self,
        timers: &mut H,
        time: u64,
        item: I,
        updates: &mut Vec<Timed<R>>,
        late: &mut Vec<Timed<T>>,
    );
    /// Handles a batch of items that travel at `time`, as [`Self::on_record`] each.
    fn on_batch<H: Timers>(
        &mut self,
        timers: &mut H,
        time: u64,
        items: &mut Vec<I>,
        updates: &mut Vec<Timed<R>>,
        late: &mut Vec<Timed<T>>,
    ) {
        for item in items.drain(..) {
            self.on_record(timers, time, item, updates, late);
        }
    }
    /// The input frontier reached `frontier` (`u64::MAX` once the input is done): fires
    /// complete windows through `out`, releases their times, and drops expired state.
    fn on_frontier<F: Fire<R>>(&mut self, out: &mut F, frontier: u64);

    /// What the logic computes, for messages.
    const KIND: &'static str;
    /// The state, for a checkpoint part (see [`crate::checkpoint`]).
    fn snapshot(&self) -> Vec<u8>;
    /// Takes the state of the restored checkpoint from `gate`, and holds through
    /// `timers` the times it held.
    fn restore<H: Timers>(&mut self, gate: &EpochGate<I>, timers: &mut H);
}

/// The capabilities a window operator holds for its logic: one per event time held, with
/// the number of holds, all in the open epoch.
#[derive(Default)]
struct Held {
    caps: BTreeMap<u64, (Capability<Time>, usize)>,
}

impl Held {
    /// One more hold of `at`, with a capability from `new` if `at` has none yet.
    #[inline]
    fn hold(&mut self, at: u64, new: impl FnOnce(u64) -> Capability<Time>) {
        match self.caps.entry(at) {
            Entry::Occupied(mut held) => held.get_mut().1 += 1,
            Entry::Vacant(free) => {
                free.insert((new(at), 1));
            }
        }
    }

    fn release(&mut self, at: u64) {
        let Entry::Occupied(mut held) = self.caps.entry(at) else {
            panic!("a window logic released event time {at}, which it does not hold");
        };
        held.get_mut().1 -= 1;
        if held.get().1 == 0 {
            held.remove();
        }
    }

    /// One more hold of `at`, which is later than a time held, while firing.
    fn hold_later(&mut self, at: u64) {
        if let Some(entry) = self.caps.get_mut(&at) {
            entry.1 += 1;
        } else {
            let cap = self.at(at);
            self.caps.insert(at, (cap, 1));
        }
    }

    /// A capability at `at`: the one held there, or one delayed from the latest held
    /// before it.
    fn at(&self, at: u64) -> Capability<Time> {
        let Some((held, (cap, _))) = self.caps.range(..=at).next_back() else {
            panic!("a window logic emits at event time {at}, before any time it holds");
        };
        if *held == at {
            cap.clone()
        } else {
            cap.delayed(&cap.time().with_event(at))
        }
    }

    /// Moves every capability to epoch `epoch`.
    fn retime(&mut self, epoch: u64) {
        for (cap, _) in self.caps.values_mut() {
            crate::checkpoint::move_to_epoch(cap, epoch);
        }
    }
}

/// [`Timers`] over the held capabilities, taking a new one from `new`: the records'
/// capability, or the restored epoch's.
struct Holding<'a, F> {
    held: &'a mut Held,
    new: F,
}

impl<F: Fn(u64) -> Capability<Time>> Timers for Holding<'_, F> {
    #[inline]
    fn hold(&mut self, at: u64) {
        self.held.hold(at, &self.new);
    }
    fn release(&mut self, at: u64) {
        self.held.release(at);
    }
}

/// [`Fire`] for the shell: the results of one event time ship as one batch (a session
/// per result would allocate a whole buffer for each), and a time held while firing
/// takes its capability from one held before it.
struct Firing<'a, 'b, R: 'static> {
    held: &'b mut Held,
    output: &'b mut OutputBuilderSession<'a, Time, CapacityContainerBuilder<Vec<Timed<R>>>>,
    batch: Option<Capability<Time>>,
    fired: &'b mut Vec<Timed<R>>,
}

impl<R: 'static> Firing<'_, '_, R> {
    fn flush(&mut self) {
        if let Some(cap) = self.batch.take() {
            self.output.session(&cap).give_container(self.fired);
        }
    }
}

impl<R: 'static> Timers for Firing<'_, '_, R> {
    fn hold(&mut self, at: u64) {
        self.held.hold_later(at);
    }
    fn release(&mut self, at: u64) {
        self.held.release(at);
    }
}

impl<R: 'static> Fire<R> for Firing<'_, '_, R> {
    fn fire(&mut self, at: u64, result: Timed<R>) {
        if self.batch.as_ref().is_some_and(|c| c.time().event != at) {
            self.flush();
        }
        if self.batch.is_none() {
            self.batch = Some(self.held.at(at));
        }
        self.fired.push(result);
    }
}

/// A window operator: items exchanged by `route` (the key's hash, by key group) into
/// `logic`, results and late records out.
pub(super) fn window_operator<'scope, I, T, R, L>(
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
        let mut gate = EpochGate::new("window", true, &kind);
        gate.write_in_background(waker);
        let mut held = Held::default();
        if gate.has_restored() {
            let new = |at| gate.restored_cap(&initial[0], at);
            logic.restore(
                &gate,
                &mut Holding {
                    held: &mut held,
                    new,
                },
            );
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
                let new = |at| cap.delayed(&stamp.with_event(at), 0);
                let mut timers = Holding {
                    held: &mut held,
                    new,
                };
                logic.on_batch(&mut timers, stamp.event, data, &mut updates, &mut too_late);
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
                let mut out = Firing {
                    held: &mut held,
                    output: &mut results,
                    batch: None,
                    fired: &mut fired,
                };
                logic.on_frontier(&mut out, frontier);
                out.flush();
                // An epoch closed: write the state, move on, take what waited for it.
                let Some(next) = gate.next(epoch_frontier(&input_frontier)) else {
                    gate.follow(&input_frontier);
                    break;
                };
                let ready = gate.close(logic.snapshot(), next);
                held.retime(next);
                for (stamp, caps, mut data) in ready {
                    let new = |at| caps[0].delayed(&stamp.with_event(at));
                    let mut timers = Holding {
                        held: &mut held,
                        new,
                    };
                    logic.on_batch(
                        &mut timers,
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
