//! Sources: where records enter a pipeline. Each splits its input among all workers.
//!
//! A source is a [`SourceSpec`] (evaluated once per process) that opens one [`Reader`]
//! per worker. [`build`] turns it into a timely source operator, together with the
//! stateless operators that follow it up to `assign_timestamps` (fused into the source)
//! and a [`Stamper`](crate::time::Stamper) that stamps records and holds the source's capability at its
//! watermark.

mod checkpoints;
mod collection;
mod completion;
mod file;
mod operator;
pub mod readers;
mod text_file;

use crate::dead_letter::DeadLetter;
use crate::error::Result;

pub use collection::Collection;
pub use file::{csv_file, json_lines, read_file, FileReader, FileSource};
pub use text_file::TextFile;

pub use completion::{finish, written, Completion};
pub use operator::{build, item_ty, pass, Stage};

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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use timely::dataflow::operators::Inspect;

    use super::*;
    use crate::args::ExecutionMode;
    use crate::context::JobContext;
    use crate::time::{now_ms, BoundedOutOfOrderness, Time};
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
