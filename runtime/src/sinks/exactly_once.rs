//! Exactly-once sinks: records become visible only once the checkpoint that covers them
//! is complete (Flink's two-phase commit).
//!
//! A [`Transactional`] sink takes each record with its epoch. When the sink's input has
//! passed an epoch, it *prepares* what it took (makes it durable, not visible) and writes
//! what is pending into the checkpoint; when the checkpoint completes, it *commits* the
//! epochs up to it. A restored job first *recovers*: it commits what the restored
//! checkpoint had prepared and throws away what later epochs left.

use std::collections::BTreeMap;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::{CapabilitySet, Operator};
use timely::dataflow::StreamVec;
use timely::order::PartialOrder;

use super::Written;
use crate::checkpoint::store::OPEN_END;
use crate::context::JobContext;
use crate::error::Result;
use crate::time::{epoch_frontier, time_of, Time};

/// A sink with two-phase commit; see the module docs.
pub trait Transactional<T>: 'static {
    /// Takes records of epoch `epoch`, leaving `batch` empty.
    fn write(&mut self, epoch: u64, batch: &mut Vec<T>) -> Result<()>;
    /// Makes what was taken for epochs before `before` durable but not visible; returns
    /// what is pending (prepared, not committed), for the checkpoint.
    fn prepare(&mut self, before: u64) -> Result<Vec<u8>>;
    /// Makes every prepared epoch up to `checkpoint` visible.
    fn commit(&mut self, checkpoint: u64) -> Result<()>;
    /// At the start of a run of the sink named `sink` (the same in every run of the
    /// pipeline), for the worker it [acts as](Self::act_as): `pending` is what the
    /// restored checkpoint `checkpoint` had pending for that worker (`None`: nothing);
    /// commits its epochs up to the checkpoint and discards what later epochs left.
    fn recover(
        &mut self,
        sink: &str,
        pending: Option<&[u8]>,
        checkpoint: Option<u64>,
    ) -> Result<()>;
    /// Whose output the sink writes and recovers from now on: its own worker's, or,
    /// while a job restored at another number of workers recovers, an old worker's
    /// (file names, progress rows and record headers name the worker).
    fn act_as(&mut self, worker: usize);
}

/// The sink operator around `sink` (or the error that stopped it from being made); only
/// for a job that checkpoints. Its [`Written`] stream passes an epoch once the sink has
/// prepared it and written its part of the checkpoint.
pub fn write_transactional<'scope, T: 'static, X: Transactional<T>>(
    stream: StreamVec<'scope, Time, T>,
    name: &str,
    context: &JobContext,
    sink: Result<X>,
) -> Written<'scope> {
    let context = context.clone();
    let worker = crate::checkpoint::worker().expect("exactly-once sinks need checkpoints");
    let index = stream.scope().index();
    stream.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Pipeline,
        name,
        move |initial, _info| {
            let part = worker.register("sink");
            let mut current = worker.first_epoch();
            let mut barrier = crate::checkpoint::Barrier::new(&initial, current);
            drop(initial);
            let restored = worker.restored_id();
            // Its own output and, restored at another number of workers, that of the old
            // workers it takes over.
            let sink = sink.and_then(|mut sink| {
                for (identity, pending) in worker.restored_identities(&part) {
                    sink.act_as(identity);
                    sink.recover(&part, pending, restored)?;
                }
                sink.act_as(index);
                Ok(sink)
            });
            let sink = match sink {
                Ok(sink) => Some(std::rc::Rc::new(std::cell::RefCell::new(sink))),
                Err(e) => {
                    context.fail(e);
                    None
                }
            };
            if let Some(sink) = &sink {
                let (sink, context) = (std::rc::Rc::clone(sink), context.clone());
                worker.on_commit(move |checkpoint| {
                    if let Err(e) = sink.borrow_mut().commit(checkpoint) {
                        context.fail(e);
                    }
                });
            }
            // Per epoch, the least times taken: released once the epoch is prepared.
            let mut held: BTreeMap<u64, CapabilitySet<Time>> = BTreeMap::new();
            move |(input, frontier), _output| {
                let Some(sink) = sink.as_ref() else {
                    input.for_each(|_, data| data.clear());
                    barrier = crate::checkpoint::Barrier::default();
                    return;
                };
                let mut sink = sink.borrow_mut();
                let mut result = Ok(());
                input.for_each(|cap, data| {
                    let time = time_of(&cap);
                    if time.epoch < current && result.is_ok() {
                        // An operator upstream emitted into an epoch it had closed.
                        result = Err(crate::error::Error::Config(format!(
                            "checkpoint: records of epoch {} reached the sink `{part}` after that epoch was prepared",
                            time.epoch
                        )));
                    }
                    let caps = held.entry(time.epoch).or_default();
                    if !caps.iter().any(|c| c.time().less_equal(&time)) {
                        caps.insert(cap.delayed(&time, 0));
                    }
                    if result.is_ok() {
                        result = sink.write(time.epoch, data);
                    }
                    data.clear();
                });
                let passed = epoch_frontier(&frontier.frontier());
                if result.is_ok() && passed > current && current != OPEN_END {
                    match sink.prepare(passed) {
                        Ok(pending) => {
                            let last = if passed == OPEN_END {
                                OPEN_END
                            } else {
                                passed - 1
                            };
                            worker.write(&part, current, last, &pending);
                            current = passed;
                            held.retain(|&epoch, _| epoch >= passed);
                        }
                        Err(e) => result = Err(e),
                    }
                }
                if let Err(e) = result {
                    context.fail(e);
                    held.clear();
                }
                barrier.follow(current, crate::time::event_frontier(&frontier.frontier()));
            }
        },
    )
}
