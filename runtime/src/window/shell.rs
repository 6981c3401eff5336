//! The window operator shell: the exchange by key, the two outputs (results and late
//! records), batching, and checkpoints around a [`WindowLogic`] (panes, sessions, count
//! windows), which decides what records do and when windows fire.

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use crate::checkpoint::{Caps, EpochGate};
use crate::key::ExchangeData;
use crate::time::{epoch_frontier, event_frontier, time_of, Time, Timed};

/// An output of a window operator.
pub(super) type Out<D> = OutputBuilder<Time, CapacityContainerBuilder<Vec<D>>>;

/// Where a window operator's logic sends the results of windows that fire.
pub(super) type Fire<'a, R> = dyn FnMut(&Capability<Time>, Timed<R>) + 'a;

/// What a window operator does with records and with progress; the operator around it
/// (the exchange by key, the two outputs, batching) is [`window_operator`]. Its input
/// items `I` are records (`Timed<T>`) or, after a combiner, partial aggregates.
pub(super) trait WindowLogic<I, T, R>: 'static {
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
