//! Sources: where records enter a pipeline. Each splits its input among all workers.
//!
//! A source is a [`SourceSpec`] (evaluated once per process) that opens one [`Reader`]
//! per worker. [`build`] turns it into a timely source operator, together with the
//! stateless operators that follow it up to `assign_timestamps` (fused into the source)
//! and a [`Stamper`] that stamps records and holds the source's capability at its
//! watermark.

mod collection;
mod file;
pub mod readers;
mod text_file;

use std::rc::Rc;
use std::time::{Duration, Instant};

use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::Probe;
use timely::dataflow::{ProbeHandle, Scope, StreamVec};

use crate::context::JobContext;
use crate::dead_letter::DeadLetter;
use crate::error::Result;
use crate::operators::fused::Push;
use crate::time::{at, event_frontier, Stamper, Time};

pub use collection::Collection;
pub use file::{csv_file, json_lines, read_file, FileReader, FileSource};
pub use text_file::TextFile;

/// How long an unbounded source with nothing to read waits before it looks again.
const POLL: Duration = Duration::from_millis(20);

/// How long a source that is ahead waits before it looks at the slowest source again.
const STEP_WAIT: Duration = Duration::from_micros(200);

/// How long a source waits for a slowest source that does not move at all (an idle one
/// without an idle timeout, say) before it reads on regardless.
const STALL: Duration = Duration::from_millis(100);

/// What a reader has left after a call to [`Reader::read`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// More records are ready.
    More,
    /// Nothing now; more may come later (an unbounded source).
    Idle,
    /// The input is exhausted.
    Done,
}

/// One worker's share of a source.
pub trait Reader: 'static {
    /// The records it reads.
    type Item;
    /// Reads up to `budget` records into `out`.
    fn read(&mut self, budget: usize, out: &mut dyn FnMut(Self::Item)) -> Result<Status>;

    /// Whether the input has splits, each in its own order (a Kafka topic's partitions):
    /// the source then reads with [`Reader::read_splits`], and a bounded-out-of-orderness
    /// watermark is kept per split.
    fn has_splits(&self) -> bool {
        false
    }

    /// As [`Reader::read`], also telling which split the records that follow come from
    /// ([`Read::Split`], before them) and which splits have ended ([`Read::SplitDone`]).
    /// A reader announces each of its splits before its first record, so that one that
    /// has sent nothing yet holds the watermark back.
    fn read_splits(
        &mut self,
        budget: usize,
        out: &mut dyn FnMut(Read<Self::Item>),
    ) -> Result<Status> {
        self.read(budget, &mut |item| out(Read::Record(item)))
    }

    /// Moves the input that [`Reader::read`] could not decode since the last call into
    /// `out`. Readers of decoded formats keep such input as [`DeadLetter`]s.
    fn take_dead_letters(&mut self, _out: &mut Vec<DeadLetter>) {}

    /// For checkpoints: where the reader is, as `(split, offset)` pairs that
    /// [`Reader::seek`] resumes from (a collection's index, a file's byte offset, a
    /// Kafka partition's next offset). `None`: the reader cannot be checkpointed.
    fn position(&self) -> Option<Vec<(u32, u64)>> {
        None
    }

    /// Resumes from a position that [`Reader::position`] gave in an earlier run.
    fn seek(&mut self, position: &[(u32, u64)]) -> Result<()> {
        let _ = position;
        Ok(())
    }

    /// A checkpoint covering everything up to `position` (from [`Reader::position`]) is
    /// complete; `last`: the job's final one. A Kafka reader commits the offsets to its
    /// group then, so that monitoring tools see the progress (as Flink does).
    fn checkpoint_complete(&mut self, position: &[(u32, u64)], last: bool) {
        let _ = (position, last);
    }

    /// The reader's [`TracksCompletion`], if it wants to know when the sinks have
    /// finished what it read (a Kafka reader commits offsets then). Most readers do not.
    fn completion(&mut self) -> Option<&mut dyn TracksCompletion> {
        None
    }
}

/// A reader's optional capability ([`Reader::completion`]): it is told when the sinks
/// have finished what it read. Without checkpoints, a Kafka reader commits its offsets
/// then. A source whose reader has it stays, after its input ends, until the sinks are
/// done.
pub trait TracksCompletion {
    /// Everything read so far travels at timely times up to `up_to`.
    fn emitted(&mut self, up_to: u64);

    /// The sinks have finished every timely time before `frontier` (`None`: everything,
    /// the job is ending).
    fn completed(&mut self, frontier: Option<u64>);
}

/// What [`Reader::read_splits`] reports.
#[derive(Debug)]
pub enum Read<T> {
    /// A record of the current split.
    Record(T),
    /// The records that follow come from this split, until the next `Split`.
    Split(u32),
    /// This split has ended: it no longer holds the watermark back.
    SplitDone(u32),
}

/// A source as the pipeline names it: evaluated once per process, opened per worker.
/// The `tidemill` crate's docs ("Extension points") have a runnable source of one's own.
pub trait SourceSpec {
    /// The worker's reader.
    type Reader: Reader;
    /// Opens worker `index` of `peers` (all workers of all processes).
    fn open(&self, index: usize, peers: usize) -> Result<Self::Reader>;

    /// Whether the input is finite: a job whose sources are all bounded runs in batch
    /// mode unless told otherwise (`--execution-mode`). The default is unbounded.
    fn bounded(&self) -> bool {
        false
    }

    /// Whether its readers' splits are the same whatever the worker (a Kafka topic's
    /// partitions, named by number): a restore at another number of workers then opens
    /// each worker's reader at the new layout and seeks it with every old reader's
    /// position, instead of dealing the old readers out (see [`readers`]).
    fn global_splits(&self) -> bool {
        false
    }
}

/// Builds the source operator: reads this worker's share of `spec`, passes each record
/// through `logic` (the fused stateless operators between the source and its timestamp
/// assigner), stamps the results with `stamper`, passes each stamped record through
/// `post` (the fused stateless operators after the assigner, which keep its timestamp)
/// and holds the capability at the stamper's watermark. A failure to open or read fails
/// the job with a clear error.
///
/// Returns the records and the source's dead letters: the input its reader could not
/// decode ([`Reader::take_dead_letters`]), which travel at the source's watermark and
/// are counted in the job's report.
///
/// With watermark alignment (`--max-watermark-drift`) and more than one worker, the
/// source keeps in step with the job's other sources: it does not read while the slowest
/// source's watermark (seen through a probe on the sources' output, so across processes
/// too) is more than that many ms behind its own. Otherwise one worker's source can run far ahead, and what it
/// sends waits at the other workers: records that arrive before their partners (a bid
/// before its auction) and data in flight grow with the lead. A slowest source that does
/// not move for 100 ms (`STALL`) no longer holds the others back until it moves again.
#[allow(
    clippy::type_complexity,
    clippy::too_many_arguments,
    reason = "the generated code passes the source, its stateless logic before and after the stamper, and the job state separately, each with its own type"
)]
pub fn build<'scope, S, U, V, L, St, P>(
    scope: Scope<'scope, Time>,
    context: &JobContext,
    completion: &Completion<'scope>,
    name: &str,
    spec: &S,
    mut logic: L,
    stamper: St,
    post: P,
) -> (
    StreamVec<'scope, Time, V>,
    StreamVec<'scope, Time, DeadLetter>,
)
where
    S: SourceSpec,
    U: 'static,
    V: 'static,
    L: FnMut(<S::Reader as Reader>::Item, &mut Stage<St, P, V>) + 'static,
    St: Stamper<U>,
    P: FnMut(St::Out, &mut Vec<V>) + 'static,
{
    let context = context.clone();
    let (index, peers) = (scope.index(), scope.peers());
    let mut builder = OperatorBuilder::new(name.to_owned(), scope);
    let address = builder.operator_info().address;
    let activator = scope.activator_for(address.clone());
    // Checkpoints: the source moves to the next epoch once per interval, after writing
    // its readers' positions; restored, its readers are those of the checkpoint.
    let mut checkpoints = crate::checkpoint::worker()
        .map(|worker| SourceCheckpoints::new(worker, scope.activator_for(address.clone())));
    let (plan, resume) = match &checkpoints {
        Some(ck) => ck.plan(spec, index, peers),
        None => (
            vec![crate::checkpoint::ReaderState::fresh(index, peers)],
            Some((0, 0)),
        ),
    };
    let seek = checkpoints.as_ref().is_some_and(|ck| ck.restoring);
    let mut reader = Some(readers::Readers::open(spec, plan, seek));
    if matches!(&reader, Some(Ok(r)) if !r.positioned()) {
        if let Some(ck) = checkpoints.take() {
            ck.worker.unsupported(&format!("the source `{name}`"));
        }
    }
    let tracks = match &mut reader {
        Some(Ok(r)) => r.completion().is_some(),
        _ => false,
    };
    let splits = matches!(&reader, Some(Ok(r)) if r.has_splits());
    let done = completion.probe.clone();
    let skew = if peers > 1 {
        context.max_watermark_drift()
    } else {
        0
    };
    let slowest = ProbeHandle::new();
    let probe = slowest.clone();
    // With checkpoints, a reader that commits what it read (Kafka) does so when a
    // checkpoint completes; otherwise once the sinks have finished it.
    let probes = tracks && crate::checkpoint::worker().is_none();
    if probes {
        completion.wanted.set(true);
    }
    let (output, stream) = builder.new_output();
    let (dead_output, dead_stream) = builder.new_output();
    let mut output =
        OutputBuilder::<_, timely::container::CapacityContainerBuilder<Vec<V>>>::from(output);
    let mut dead_output = OutputBuilder::<
        _,
        timely::container::CapacityContainerBuilder<Vec<DeadLetter>>,
    >::from(dead_output);
    builder.build_reschedule(move |mut capabilities| {
        let mut dead_capability = capabilities.pop();
        let mut capability = capabilities.pop();
        let mut stage = Stage {
            stamper,
            post,
            buckets: Vec::new(),
            capacity: 16,
        };
        if let Some(ck) = &checkpoints {
            match resume {
                // Its input had ended.
                None => {
                    reader = None;
                    capability = None;
                    dead_capability = None;
                }
                Some((watermark, not_late_from)) => {
                    stage.stamper.restore(not_late_from);
                    for cap in capability.iter_mut().chain(dead_capability.iter_mut()) {
                        cap.downgrade(&at(ck.epoch, watermark));
                    }
                }
            }
        }
        let mut dead = Vec::new();
        let mut idle_since: Option<Instant> = None;
        // While ahead: since when, and the slowest source's watermark then.
        let mut waiting: Option<(Instant, u64)> = None;
        // The greatest timely time of anything emitted so far.
        let mut emitted = 0;
        // The reader of a source stopped for a savepoint.
        let mut parked = None;
        move |_frontiers| {
            if let Some(ck) = checkpoints.as_mut() {
                // A source stopped for a savepoint commits it with its parked reader.
                let r = if parked.is_some() {
                    &mut parked
                } else {
                    &mut reader
                };
                ck.on_commits(r);
            }
            let (Some(cap), Some(dead_cap)) = (capability.as_mut(), dead_capability.as_mut())
            else {
                // Input done: a reader that tracks completion stays until the sinks are
                // (with checkpoints: until the last checkpoint has completed).
                let Some(Ok(r)) = reader.as_mut() else {
                    return false;
                };
                if let Some(ck) = &checkpoints {
                    if ck.finished || context.is_cancelled() {
                        reader = None;
                        return false;
                    }
                    return true;
                }
                let frontier = done.with_frontier(|f| sinks_done(&f));
                if let Some(c) = r.completion() {
                    c.completed(frontier);
                }
                if frontier.is_none() || context.is_cancelled() {
                    reader = None;
                    return false;
                }
                activator.activate_after(POLL);
                return true;
            };
            if skew > 0 && !context.is_cancelled() {
                let behind = slowest.with_frontier(|f| event_frontier(&f));
                if behind < cap.time().event.saturating_sub(skew) {
                    // A new wait whenever the slowest source has moved since the last look.
                    let since = match waiting {
                        Some((since, seen)) if seen == behind => since,
                        _ => waiting.insert((Instant::now(), behind)).0,
                    };
                    if since.elapsed() < STALL {
                        activator.activate_after(STEP_WAIT);
                        return false;
                    }
                } else {
                    waiting = None;
                }
            }
            let status = match reader.as_mut().map(|r| r.as_mut()) {
                _ if context.is_cancelled() => Status::Done,
                Some(Ok(r)) => {
                    let result = if splits {
                        r.read_splits(context.source_batch(), &mut |read| match read {
                            Read::Record(item) => logic(item, &mut stage),
                            Read::Split(split) => stage.stamper.enter_split(split),
                            Read::SplitDone(split) => stage.stamper.finish_split(split),
                        })
                    } else {
                        r.read(context.source_batch(), &mut |item| {
                            logic(item, &mut stage);
                        })
                    };
                    r.take_dead_letters(&mut dead);
                    result.unwrap_or_else(|e| {
                        context.fail(e);
                        Status::Done
                    })
                }
                Some(Err(_)) => {
                    if let Some(Err(e)) = reader.take() {
                        context.fail(e);
                    }
                    Status::Done
                }
                // Stopped for a savepoint (see below): nothing more, not even idleness.
                None if parked.is_some() => return true,
                None => Status::Done,
            };
            if status != Status::Idle || !stage.buckets.is_empty() {
                idle_since = None;
            } else {
                stage
                    .stamper
                    .on_idle(idle_since.get_or_insert_with(Instant::now).elapsed());
            }
            let mut total = 0;
            let mut output = output.activate();
            let emitted_before = emitted;
            for (time, mut batch) in stage.buckets.drain(..) {
                // A filter after the assigner may have emptied a batch.
                if batch.is_empty() {
                    continue;
                }
                total += batch.len();
                emitted = emitted.max(time);
                output
                    .session(&cap.delayed(&cap.time().with_event(time)))
                    .give_container(&mut batch);
            }
            if !dead.is_empty() {
                emitted = emitted.max(dead_cap.time().event);
                // One count per run of letters from one source (a reader has one).
                for run in dead.chunk_by(|a, b| a.source == b.source) {
                    context.count_dead_letters(&run[0].source, run.len() as u64);
                }
                dead_output
                    .activate()
                    .session(&*dead_cap)
                    .give_container(&mut dead);
            }
            if probes {
                if let Some(c) = reader.as_mut().and_then(|r| r.as_mut().ok()?.completion()) {
                    if emitted != emitted_before || total > 0 {
                        c.emitted(emitted);
                    }
                    c.completed(done.with_frontier(|f| sinks_done(&f)));
                }
            }
            // The next activation's buckets start at about this one's size.
            stage.capacity = total.clamp(16, context.source_batch().max(16));
            if let (Some(ck), Some(Ok(r))) = (checkpoints.as_mut(), reader.as_ref()) {
                let not_late_from = stage.stamper.checkpoint();
                let done = status == Status::Done;
                if let Some(time) = ck.after_read(r, done, cap.time(), not_late_from, &context) {
                    cap.downgrade(&time);
                    dead_cap.downgrade(&time);
                    if ck.stopped && !done {
                        // Stopped for a savepoint: the reader is put aside, so the source
                        // reads no more, and it holds its capabilities (nothing fires past
                        // its watermark) until the savepoint is committed and the process
                        // exits.
                        parked = reader.take();
                        ck.parked = true;
                        ck.worker.source_parked();
                        return true;
                    }
                }
                if !done {
                    activator.activate_after(ck.until_next());
                }
            }
            match status {
                Status::Done => {
                    capability = None;
                    dead_capability = None;
                    if tracks && !context.is_cancelled() {
                        activator.activate_after(POLL);
                        return true;
                    }
                    reader = None;
                }
                Status::More | Status::Idle => {
                    let watermark = stage.stamper.watermark_time();
                    if watermark > cap.time().event {
                        let time = cap.time().with_event(watermark);
                        cap.downgrade(&time);
                        dead_cap.downgrade(&time);
                    }
                    if status == Status::More {
                        activator.activate();
                    } else {
                        activator.activate_after(POLL);
                    }
                }
            }
            false
        }
    });
    let stream = if skew > 0 {
        stream.probe_with(&probe)
    } else {
        stream
    };
    (stream, dead_stream)
}

/// A source's part in checkpoints: its epoch, the positions it wrote, and whether it has
/// stopped. Kept out of the source's activation (its methods are not inlined there), so
/// that the per-record path is the same with and without checkpoints.
struct SourceCheckpoints {
    worker: Rc<crate::checkpoint::Worker>,
    part: String,
    /// The last checkpoint completed, set by the coordinator, for the reader's commits.
    completed: Rc<std::cell::Cell<Option<u64>>>,
    /// The open epoch, and when the next one starts.
    epoch: u64,
    next_epoch_at: Instant,
    /// Positions written for epochs whose checkpoints have not completed yet.
    positions: std::collections::BTreeMap<u64, Vec<crate::checkpoint::ReaderState>>,
    /// Whether the job restores a checkpoint: readers seek to their positions.
    restoring: bool,
    /// Whether the job's last checkpoint has completed.
    finished: bool,
    /// Whether the source has stopped for a savepoint (or ended): it reads no more.
    stopped: bool,
    /// Whether it stopped for the savepoint (its reader parked), not at its input's end:
    /// it then commits the savepoint before the process exits.
    parked: bool,
}

impl SourceCheckpoints {
    fn new(worker: Rc<crate::checkpoint::Worker>, wake: timely::scheduling::Activator) -> Self {
        let part = worker.register_source();
        let completed = Rc::new(std::cell::Cell::new(None));
        let cell = Rc::clone(&completed);
        worker.on_commit(move |id| {
            cell.set(Some(id));
            wake.activate();
        });
        let epoch = worker.first_epoch();
        let next_epoch_at = Instant::now() + worker.interval();
        let restoring = worker.restored_peers().is_some();
        SourceCheckpoints {
            restoring,
            worker,
            part,
            completed,
            epoch,
            next_epoch_at,
            positions: Default::default(),
            finished: false,
            stopped: false,
            parked: false,
        }
    }

    /// The readers to open and, restored, the watermark and least timestamp not late to
    /// resume at (`None`: the source had ended); see [`readers::deal`].
    #[inline(never)]
    fn plan<S: SourceSpec>(
        &self,
        spec: &S,
        index: usize,
        peers: usize,
    ) -> (Vec<crate::checkpoint::ReaderState>, Option<(u64, u64)>) {
        let (worker, part) = (&self.worker, &self.part);
        let fresh = || vec![crate::checkpoint::ReaderState::fresh(index, peers)];
        let Some(old) = worker.restored_peers() else {
            return (fresh(), Some((0, 0)));
        };
        if worker.first_epoch() == crate::checkpoint::store::OPEN_END {
            // The job's final checkpoint: every source had ended, and no checkpoint
            // follows that would need a part of this one.
            return (Vec::new(), None);
        }
        let mut parts = Vec::new();
        for (w, bytes) in worker.restored_all(part) {
            match crate::checkpoint::decode::<crate::checkpoint::SourceState>(worker, part, bytes) {
                Some(state) => parts.push((w, state)),
                None => return (Vec::new(), None), // the job has failed
            }
        }
        match readers::deal(parts, (index, peers, old), spec.global_splits()) {
            Some((plan, watermark, not_late_from)) => (plan, Some((watermark, not_late_from))),
            None => (Vec::new(), None),
        }
    }

    /// Tells the readers of a completed checkpoint (a Kafka reader commits its offsets).
    #[inline(never)]
    fn on_commits<R: Reader>(&mut self, reader: &mut Option<Result<readers::Readers<R>>>) {
        let Some(id) = self.completed.take() else {
            return;
        };
        let last = id == crate::checkpoint::store::OPEN_END;
        // The savepoint's commit is the last before the process exits: synchronous.
        let savepoint = self.worker.savepoint() == Some(id);
        if let (Some((_, position)), Some(Ok(r))) =
            (self.positions.range(..=id).next_back(), reader.as_mut())
        {
            r.checkpoint_complete(position, last || savepoint);
        }
        self.positions = self.positions.split_off(&id.saturating_add(1));
        self.finished |= last;
        if savepoint && self.parked {
            self.worker.source_savepointed();
        }
    }

    /// After a read: when the interval has passed, the input has ended (`done`) or a
    /// savepoint is asked for, writes the position and returns the time (in the next
    /// epoch) to move the capabilities to.
    #[inline(never)]
    fn after_read<R: Reader>(
        &mut self,
        reader: &readers::Readers<R>,
        done: bool,
        cap: &Time,
        not_late_from: u64,
        context: &JobContext,
    ) -> Option<Time> {
        let worker = &self.worker;
        let stop = !done && worker.stop_requested() && !self.stopped;
        if !(done || stop || Instant::now() >= self.next_epoch_at) || context.is_cancelled() {
            return None;
        }
        let position = reader.states();
        self.positions.insert(self.epoch, position.clone());
        let state = crate::checkpoint::SourceState {
            readers: position,
            watermark: cap.event,
            not_late_from,
            done,
        };
        let last = if done {
            crate::checkpoint::store::OPEN_END
        } else {
            self.epoch
        };
        worker.write(
            &self.part,
            self.epoch,
            last,
            &crate::checkpoint::encode(&state),
        );
        if done || stop {
            worker.source_stopped(self.epoch);
            self.stopped = true;
        }
        // (A job restored from its final checkpoint is at the last epoch already.)
        self.epoch = self.epoch.saturating_add(1);
        self.next_epoch_at = Instant::now() + worker.interval();
        Some(cap.with_epoch(self.epoch))
    }

    /// How long until the next epoch starts.
    fn until_next(&self) -> Duration {
        self.next_epoch_at.saturating_duration_since(Instant::now())
    }
}

/// What a source's fused chain pushes its records into: each record is stamped, passed
/// through the chain after the timestamp assigner, and put in the batch of its timely
/// time.
pub struct Stage<St, P, V> {
    stamper: St,
    post: P,
    /// The records of one activation by timely time; usually one or two times.
    buckets: Vec<(u64, Vec<V>)>,
    /// The capacity a new bucket starts with.
    capacity: usize,
}

impl<U, V, St, P> Push<U> for Stage<St, P, V>
where
    St: Stamper<U>,
    P: FnMut(St::Out, &mut Vec<V>),
{
    #[inline]
    fn push(&mut self, record: U) {
        // The record is wrapped after its batch is found, so that it is moved once.
        let (time, ts) = self.stamper.time(&record);
        let batch = match self.buckets.iter().rposition(|(t, _)| *t == time) {
            Some(i) => &mut self.buckets[i].1,
            None => {
                self.buckets.push((time, Vec::with_capacity(self.capacity)));
                &mut self.buckets.last_mut().expect("just pushed").1
            }
        };
        (self.post)(St::wrap(ts, record), batch);
    }
}

/// What the sinks have finished, for [`Reader::completed`]: every event time before the
/// frontier's (`None` once they are done).
fn sinks_done(frontier: &[Time]) -> Option<u64> {
    (!frontier.is_empty()).then(|| event_frontier(frontier))
}

/// The record type of a source, for binding the closures that follow it.
pub fn item_ty<S: SourceSpec>(
    _spec: &S,
) -> crate::operators::fused::Ty<<S::Reader as Reader>::Item> {
    crate::operators::fused::ty()
}

/// What the sinks of a worker's dataflow have finished, for sources that commit what
/// they read (Kafka offsets) once it is written. Built once per worker by the generated
/// code; sinks are probed only when a source asks for it.
#[derive(Default)]
pub struct Completion<'scope> {
    probe: ProbeHandle<Time>,
    wanted: std::rc::Rc<std::cell::Cell<bool>>,
    /// What every sink has written, for the checkpoint coordinator.
    written: std::cell::RefCell<Vec<crate::sinks::Written<'scope>>>,
}

impl Completion<'_> {
    /// Nothing probed yet.
    pub fn new() -> Self {
        Completion::default()
    }
}

/// What a sink has written, probed for [`Completion`] if a source of the worker's
/// dataflow tracks completion (sources are built before sinks), and kept for the
/// checkpoint coordinator if the job checkpoints.
pub fn written<'scope>(written: crate::sinks::Written<'scope>, completion: &Completion<'scope>) {
    let written = if completion.wanted.get() {
        written.probe_with(&completion.probe)
    } else {
        written
    };
    if crate::checkpoint::worker().is_some() {
        completion.written.borrow_mut().push(written);
    }
}

/// After the last sink: builds the worker's checkpoint coordinator over what the sinks
/// wrote, if the job checkpoints.
pub fn finish(completion: Completion<'_>) {
    crate::checkpoint::coordinate(completion.written.into_inner());
}

/// The identity chain: nothing fused between a source and what follows it.
#[inline]
pub fn pass<T, O: Push<T>>(record: T, out: &mut O) {
    out.push(record);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    use timely::dataflow::operators::Inspect;

    use super::*;
    use crate::args::ExecutionMode;
    use crate::time::{now_ms, BoundedOutOfOrderness};
    use crate::window::{self, Assigner, Count};

    /// Worker 0 reads ten records stamped with the wall clock, then every reader stays
    /// idle until `fired` is set (it then notes so in `stopped_by_result`) or `give_up`
    /// passes.
    #[derive(Clone)]
    struct Quiet {
        fired: Arc<AtomicBool>,
        stopped_by_result: Arc<AtomicBool>,
        give_up: Duration,
    }

    struct QuietReader {
        spec: Quiet,
        sent: bool,
        start: Instant,
    }

    impl SourceSpec for Quiet {
        type Reader = QuietReader;
        fn open(&self, index: usize, _peers: usize) -> Result<QuietReader> {
            Ok(QuietReader {
                spec: self.clone(),
                sent: index != 0,
                start: Instant::now(),
            })
        }
    }

    impl Reader for QuietReader {
        type Item = u64;
        fn read(&mut self, _budget: usize, out: &mut dyn FnMut(u64)) -> Result<Status> {
            if !self.sent {
                self.sent = true;
                // The start of a 50 ms window: the ten records fall in one window, whose
                // end their watermark does not reach.
                let now = now_ms() / 50 * 50;
                (0..10).for_each(|i| out(now + i));
                return Ok(Status::More);
            }
            if self.spec.fired.load(Ordering::SeqCst) {
                self.spec.stopped_by_result.store(true, Ordering::SeqCst);
                return Ok(Status::Done);
            }
            if self.start.elapsed() > self.spec.give_up {
                return Ok(Status::Done);
            }
            Ok(Status::Idle)
        }
    }

    /// Whether a 50 ms window over the records fires while the source is still idle.
    fn fires_while_idle(idle_timeout: Option<u64>, give_up: Duration) -> bool {
        let spec = Quiet {
            fired: Arc::new(AtomicBool::new(false)),
            stopped_by_result: Arc::new(AtomicBool::new(false)),
            give_up,
        };
        let stopped_by_result = Arc::clone(&spec.stopped_by_result);
        timely::execute(timely::Config::process(2), move |worker| {
            let context = JobContext::new(ExecutionMode::Streaming, 64);
            let spec = spec.clone();
            worker.dataflow::<Time, _, _>(|scope| {
                let stamper = BoundedOutOfOrderness::new(|t: &u64| *t, 0, 1);
                let stamper = match idle_timeout {
                    Some(ms) => stamper.with_idle_timeout(ms),
                    None => stamper,
                };
                let done = Completion::new();
                let (stream, _) =
                    build(scope, &context, &done, "quiet", &spec, pass, stamper, pass);
                let windowed = window::window_all(stream, Assigner::tumbling(50));
                let (results, _late) = window::aggregate(windowed, "count", Count);
                let fired = Arc::clone(&spec.fired);
                results.inspect(move |_| fired.store(true, Ordering::SeqCst));
            });
        })
        .unwrap();
        stopped_by_result.load(Ordering::SeqCst)
    }

    #[test]
    fn idle_sources_advance_after_the_timeout() {
        // Both workers idle (one never read a record): the watermark follows the clock
        // after 100 ms, the window fires, and the sources are still running.
        assert!(fires_while_idle(Some(100), Duration::from_secs(20)));
        // Without a timeout the window waits for the end of the input.
        assert!(!fires_while_idle(None, Duration::from_millis(500)));
    }

    /// Two workers read timestamps `0..records` in order: worker 0 as fast as it can,
    /// worker 1 ten records per call with a pause (or, when `idle_peer`, nothing until
    /// worker 0 is done). Worker 0 notes how far its timestamps get ahead of worker 1's.
    #[derive(Clone)]
    struct Paced {
        records: u64,
        idle_peer: bool,
        /// The next timestamp of each worker.
        next: Arc<[AtomicU64; 2]>,
        /// Worker 0's largest lead over worker 1.
        lead: Arc<AtomicU64>,
        started: Instant,
    }

    struct PacedReader {
        spec: Paced,
        index: usize,
    }

    impl SourceSpec for Paced {
        type Reader = PacedReader;
        fn open(&self, index: usize, _peers: usize) -> Result<PacedReader> {
            Ok(PacedReader {
                spec: self.clone(),
                index,
            })
        }
    }

    impl Reader for PacedReader {
        type Item = u64;
        fn read(&mut self, budget: usize, out: &mut dyn FnMut(u64)) -> Result<Status> {
            let spec = &self.spec;
            let next = &spec.next[self.index];
            let other = spec.next[1 - self.index].load(Ordering::SeqCst);
            let mut ts = next.load(Ordering::SeqCst);
            if self.index == 1 {
                if spec.idle_peer {
                    let done = spec.next[0].load(Ordering::SeqCst) >= spec.records;
                    let give_up = spec.started.elapsed() > Duration::from_secs(20);
                    return Ok(if done || give_up {
                        Status::Done
                    } else {
                        Status::Idle
                    });
                }
                std::thread::sleep(Duration::from_millis(1));
            } else {
                spec.lead
                    .fetch_max(ts.saturating_sub(other), Ordering::SeqCst);
            }
            let n = if self.index == 1 { 10 } else { budget as u64 };
            for _ in 0..n.min(spec.records - ts) {
                out(ts);
                ts += 1;
            }
            next.store(ts, Ordering::SeqCst);
            Ok(if ts < spec.records {
                Status::More
            } else {
                Status::Done
            })
        }
    }

    /// Runs `spec` on two workers with `skew`; returns worker 0's largest lead and the
    /// seconds the job took.
    fn paced(skew: u64, idle_peer: bool) -> (u64, f64) {
        let spec = Paced {
            records: 5_000,
            idle_peer,
            next: Arc::new([AtomicU64::new(0), AtomicU64::new(0)]),
            lead: Arc::new(AtomicU64::new(0)),
            started: Instant::now(),
        };
        let lead = Arc::clone(&spec.lead);
        let started = Instant::now();
        timely::execute(timely::Config::process(2), move |worker| {
            let context = JobContext::new(ExecutionMode::Streaming, 64).with_max_drift(skew);
            let spec = spec.clone();
            worker.dataflow::<Time, _, _>(|scope| {
                let stamper = BoundedOutOfOrderness::new(|t: &u64| *t, 0, 1);
                build(
                    scope,
                    &context,
                    &Completion::new(),
                    "paced",
                    &spec,
                    pass,
                    stamper,
                    pass,
                );
            });
        })
        .unwrap();
        (lead.load(Ordering::SeqCst), started.elapsed().as_secs_f64())
    }

    #[test]
    fn sources_keep_in_step_within_the_skew() {
        // Unchecked, the fast worker reads everything while the slow one is at the start.
        let (apart, _) = paced(0, false);
        assert!(apart > 2_000, "lead without a limit: {apart}");
        // Within 100 ms of event time, plus one batch of 64 and the probe's delay.
        let (in_step, _) = paced(100, false);
        assert!(in_step <= 400, "lead with a 100 ms skew: {in_step}");
    }

    #[test]
    fn a_source_reads_on_when_its_slowest_peer_does_not_move() {
        // The peer stays idle at watermark 0 until worker 0 has read everything: worker 0
        // waits about `STALL` once, then reads on.
        // Without that, it would wait for the peer's give-up after 20 s.
        let (lead, seconds) = paced(100, true);
        assert!(lead > 4_000, "worker 0 read on: lead {lead}");
        assert!(seconds < 10.0, "worker 0 was held back {seconds:.1} s");
    }
}
