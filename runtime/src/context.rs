//! What every worker's part of a job shares: the execution mode, the job's errors, its
//! cancellation flag and its counts of dropped late records.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::args::ExecutionMode;
use crate::error::Error;

/// Per-process state shared by all workers of a job; cheap to clone.
#[derive(Clone)]
pub struct JobContext {
    mode: ExecutionMode,
    source_batch: usize,
    max_drift: u64,
    shared: Arc<Shared>,
}

struct Shared {
    errors: Mutex<Vec<Error>>,
    /// Late records that no pipeline output took, by the window that dropped them.
    late: Mutex<BTreeMap<&'static str, u64>>,
    cancelled: AtomicBool,
    /// Records dropped by `discard()` sinks.
    discarded: AtomicU64,
    /// Input that sources could not decode, by source.
    dead_letters: Mutex<BTreeMap<String, u64>>,
    /// Set by SIGTERM or Ctrl-C in a job that checkpoints: stop with a savepoint.
    stop: Arc<AtomicBool>,
    /// Set when a worker panicked: the others abandon the dataflow, which can no longer
    /// make progress.
    aborted: AtomicBool,
    /// Workers of this process whose sinks have committed the savepoint.
    savepointed: std::sync::atomic::AtomicUsize,
}

impl JobContext {
    #[cfg(test)]
    pub(crate) fn new(mode: ExecutionMode, source_batch: usize) -> Self {
        Self::with_stop(mode, source_batch, Arc::new(AtomicBool::new(false)))
    }

    /// A context whose savepoint flag is `stop` (kept across a job's restarts).
    pub(crate) fn with_stop(
        mode: ExecutionMode,
        source_batch: usize,
        stop: Arc<AtomicBool>,
    ) -> Self {
        JobContext {
            mode,
            source_batch,
            max_drift: 0,
            shared: Arc::new(Shared {
                errors: Mutex::new(Vec::new()),
                late: Mutex::new(BTreeMap::new()),
                cancelled: AtomicBool::new(false),
                discarded: AtomicU64::new(0),
                dead_letters: Mutex::new(BTreeMap::new()),
                stop,
                aborted: AtomicBool::new(false),
                savepointed: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    /// The resolved execution mode: [`ExecutionMode::Batch`] or [`ExecutionMode::Streaming`].
    pub fn mode(&self) -> ExecutionMode {
        self.mode
    }

    /// Records a source emits per activation (`--source-batch`).
    pub fn source_batch(&self) -> usize {
        self.source_batch
    }

    /// The same context with the sources' watermarks aligned within `ms`
    /// (`--max-watermark-drift`; 0: not aligned).
    pub(crate) fn with_max_drift(mut self, ms: u64) -> Self {
        self.max_drift = ms;
        self
    }

    /// How far, in ms of event time, a source's watermark may lead the slowest source's
    /// (0: no limit).
    pub fn max_watermark_drift(&self) -> u64 {
        self.max_drift
    }

    /// The flag that SIGTERM and Ctrl-C set in a job that checkpoints.
    pub(crate) fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.shared.stop)
    }

    /// Whether the job is to stop with a savepoint: sources start one last epoch and
    /// read no further.
    pub fn stop_requested(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    /// A worker's sinks have committed the savepoint; returns whether all `local` workers
    /// of the process have.
    pub(crate) fn savepointed(&self, local: usize) -> bool {
        self.shared.savepointed.fetch_add(1, Ordering::SeqCst) + 1 >= local
    }

    /// Records an error: the job will fail with it, and sources stop reading.
    pub fn fail(&self, error: Error) {
        self.shared.cancelled.store(true, Ordering::Relaxed);
        self.shared
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(error);
    }

    /// A worker panicked with `message`: the job fails, and every worker abandons the
    /// dataflow.
    pub(crate) fn abort(&self, message: String) {
        self.fail(Error::WorkerPanicked(message));
        self.shared.aborted.store(true, Ordering::SeqCst);
    }

    /// Whether a worker panicked.
    pub(crate) fn is_aborted(&self) -> bool {
        self.shared.aborted.load(Ordering::Relaxed)
    }

    /// Whether the job has failed; sources check this and finish early.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::Relaxed)
    }

    /// Counts `n` late records that the window `at` dropped because the pipeline does not
    /// route its late output; the counts are reported when the job ends.
    pub fn count_late(&self, at: &'static str, n: u64) {
        *self
            .shared
            .late
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(at)
            .or_default() += n;
    }

    /// Counts `n` records dropped by a `discard()` sink.
    pub fn count_discarded(&self, n: u64) {
        self.shared.discarded.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` dead letters of the source `source`; the counts are reported when the
    /// job ends.
    pub fn count_dead_letters(&self, source: &str, n: u64) {
        let mut counts = self
            .shared
            .dead_letters
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match counts.get_mut(source) {
            Some(count) => *count += n,
            None => {
                counts.insert(source.to_string(), n);
            }
        }
    }

    pub(crate) fn dead_letter_counts(&self) -> Vec<(String, u64)> {
        let counts = self
            .shared
            .dead_letters
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        counts.iter().map(|(s, n)| (s.clone(), *n)).collect()
    }

    pub(crate) fn discarded(&self) -> u64 {
        self.shared.discarded.load(Ordering::Relaxed)
    }

    pub(crate) fn late_counts(&self) -> Vec<(&'static str, u64)> {
        let late = self.shared.late.lock().unwrap_or_else(|p| p.into_inner());
        late.iter().map(|(at, n)| (*at, *n)).collect()
    }

    pub(crate) fn take_errors(&self) -> Vec<Error> {
        std::mem::take(&mut *self.shared.errors.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
