//! The source operator: reads a worker's share of a source, stamps its records, holds
//! the source's capability at the watermark, and takes part in checkpoints. Its parts
//! are named: alignment with the other sources ([`Alignment`]), idleness ([`Idleness`]),
//! reading ([`read_batch`]), the stage that stamps and batches records ([`Stage`]),
//! completion tracking ([`Tracking`]), and the watermark's advance ([`advance`]);
//! checkpoints are `checkpoints.rs`'s.

use std::time::{Duration, Instant};

use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::{Capability, Probe};
use timely::dataflow::{ProbeHandle, Scope, StreamVec};

use super::checkpoints::SourceCheckpoints;
use super::completion::Completion;
use super::{readers, Read, Reader, SourceSpec, Status};
use crate::context::JobContext;
use crate::dead_letter::DeadLetter;
use crate::operators::fused::Push;
use crate::time::{at, event_frontier, Stamper, Time};

/// How long an unbounded source with nothing to read waits before it looks again.
const POLL: Duration = Duration::from_millis(20);

/// How long a source that is ahead waits before it looks at the slowest source again.
const STEP_WAIT: Duration = Duration::from_micros(200);

/// How long a source waits for a slowest source that does not move at all (an idle one
/// without an idle timeout, say) before it reads on regardless.
const STALL: Duration = Duration::from_millis(100);

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
    let skew = if peers > 1 {
        context.max_watermark_drift()
    } else {
        0
    };
    let mut alignment = Alignment::new(skew);
    let probe = alignment.slowest.clone();
    // With checkpoints, a reader that commits what it read (Kafka) does so when a
    // checkpoint completes; otherwise once the sinks have finished it.
    let mut tracking = (tracks && crate::checkpoint::worker().is_none()).then(|| {
        completion.wanted.set(true);
        Tracking {
            done: completion.probe.clone(),
            emitted: 0,
        }
    });
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
        let mut idleness = Idleness(None);
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
                let frontier = tracking.as_ref().and_then(Tracking::sinks_done);
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
            if !context.is_cancelled() && alignment.must_wait(cap.time().event) {
                activator.activate_after(STEP_WAIT);
                return false;
            }
            let status = match reader.as_mut().map(|r| r.as_mut()) {
                _ if context.is_cancelled() => Status::Done,
                Some(Ok(r)) => read_batch(r, splits, &mut logic, &mut stage, &mut dead, &context),
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
            idleness.observe(
                status == Status::Idle && stage.buckets.is_empty(),
                &mut stage.stamper,
            );
            let mut total = 0;
            let mut output = output.activate();
            let mut emitted = 0;
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
            if let Some(t) = tracking.as_mut() {
                if let Some(c) = reader.as_mut().and_then(|r| r.as_mut().ok()?.completion()) {
                    t.after_emit(c, emitted, total > 0);
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
                    advance(stage.stamper.watermark_time(), cap, dead_cap);
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

/// Watermark alignment (`--max-watermark-drift`, more than one worker): a source that is
/// more than `skew` ms of event time ahead of the job's slowest source waits, unless the
/// slowest has not moved for [`STALL`].
struct Alignment {
    /// 0: not aligned.
    skew: u64,
    /// The sources' output, probed (across processes too).
    slowest: ProbeHandle<Time>,
    /// While ahead: since when, and the slowest source's watermark then.
    waiting: Option<(Instant, u64)>,
}

impl Alignment {
    fn new(skew: u64) -> Self {
        Alignment {
            skew,
            slowest: ProbeHandle::new(),
            waiting: None,
        }
    }

    /// Whether a source whose watermark is at `event` waits for the slowest now.
    #[inline]
    fn must_wait(&mut self, event: u64) -> bool {
        if self.skew == 0 {
            return false;
        }
        let behind = self.slowest.with_frontier(|f| event_frontier(&f));
        if behind >= event.saturating_sub(self.skew) {
            self.waiting = None;
            return false;
        }
        // A new wait whenever the slowest source has moved since the last look.
        let since = match self.waiting {
            Some((since, seen)) if seen == behind => since,
            _ => self.waiting.insert((Instant::now(), behind)).0,
        };
        since.elapsed() < STALL
    }
}

/// Since when the reader has had nothing to read, for the stamper's idle timeout.
struct Idleness(Option<Instant>);

impl Idleness {
    /// After a read: `idle` when it read nothing and nothing is waiting to be sent.
    #[inline]
    fn observe<U, St: Stamper<U>>(&mut self, idle: bool, stamper: &mut St) {
        if idle {
            stamper.on_idle(self.0.get_or_insert_with(Instant::now).elapsed());
        } else {
            self.0 = None;
        }
    }
}

/// Reads up to a batch of `reader` through `logic` into `stage` (by split when the reader
/// has splits, so that the stamper keeps a watermark per split), and takes its dead
/// letters; a failure fails the job and ends the source.
#[inline]
fn read_batch<R, L, St, U, P, V>(
    reader: &mut R,
    splits: bool,
    logic: &mut L,
    stage: &mut Stage<St, P, V>,
    dead: &mut Vec<DeadLetter>,
    context: &JobContext,
) -> Status
where
    R: Reader,
    L: FnMut(R::Item, &mut Stage<St, P, V>),
    St: Stamper<U>,
{
    let result = if splits {
        reader.read_splits(context.source_batch(), &mut |read| match read {
            Read::Record(item) => logic(item, stage),
            Read::Split(split) => stage.stamper.enter_split(split),
            Read::SplitDone(split) => stage.stamper.finish_split(split),
        })
    } else {
        reader.read(context.source_batch(), &mut |item| logic(item, stage))
    };
    reader.take_dead_letters(dead);
    result.unwrap_or_else(|e| {
        context.fail(e);
        Status::Done
    })
}

/// Completion tracking without checkpoints, for a reader that wants it
/// ([`super::TracksCompletion`]): what the source has emitted, and what the sinks have
/// finished.
struct Tracking {
    /// The sinks' written streams, probed.
    done: ProbeHandle<Time>,
    /// The greatest timely time of anything emitted so far.
    emitted: u64,
}

impl Tracking {
    /// What the sinks have finished: every event time before the frontier's (`None`
    /// once they are done).
    fn sinks_done(&self) -> Option<u64> {
        self.done
            .with_frontier(|f| (!f.is_empty()).then(|| event_frontier(&f)))
    }

    /// After an activation that emitted up to `emitted` (`any`: it emitted records):
    /// tells the reader what it emitted and what the sinks have finished.
    fn after_emit(&mut self, c: &mut dyn super::TracksCompletion, emitted: u64, any: bool) {
        if emitted > self.emitted || any {
            self.emitted = self.emitted.max(emitted);
            c.emitted(self.emitted);
        }
        c.completed(self.sinks_done());
    }
}

/// Moves the source's capabilities up to the stamper's watermark, `watermark`: what it
/// emits from now on is at or after it.
#[inline]
fn advance(watermark: u64, cap: &mut Capability<Time>, dead_cap: &mut Capability<Time>) {
    if watermark > cap.time().event {
        let time = cap.time().with_event(watermark);
        cap.downgrade(&time);
        dead_cap.downgrade(&time);
    }
}

/// The record type of a source, for binding the closures that follow it.
pub fn item_ty<S: SourceSpec>(
    _spec: &S,
) -> crate::operators::fused::Ty<<S::Reader as Reader>::Item> {
    crate::operators::fused::ty()
}

/// The identity chain: nothing fused between a source and what follows it.
#[inline]
pub fn pass<T, O: Push<T>>(record: T, out: &mut O) {
    out.push(record);
}
