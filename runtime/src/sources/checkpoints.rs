//! A source's part in checkpoints.

use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{readers, Reader, SourceSpec};
use crate::context::JobContext;
use crate::error::Result;
use crate::time::Time;

/// A source's part in checkpoints: its epoch, the positions it wrote, and whether it has
/// stopped. Kept out of the source's activation (its methods are not inlined there), so
/// that the per-record path is the same with and without checkpoints.
pub(super) struct SourceCheckpoints {
    pub(super) worker: Rc<crate::checkpoint::Worker>,
    pub(super) part: String,
    /// The last checkpoint completed, set by the coordinator, for the reader's commits.
    pub(super) completed: Rc<std::cell::Cell<Option<u64>>>,
    /// The open epoch, and when the next one starts.
    pub(super) epoch: u64,
    pub(super) next_epoch_at: Instant,
    /// Positions written for epochs whose checkpoints have not completed yet.
    pub(super) positions: std::collections::BTreeMap<u64, Vec<crate::checkpoint::ReaderState>>,
    /// Whether the job restores a checkpoint: readers seek to their positions.
    pub(super) restoring: bool,
    /// Whether the job's last checkpoint has completed.
    pub(super) finished: bool,
    /// Whether the source has stopped for a savepoint (or ended): it reads no more.
    pub(super) stopped: bool,
    /// Whether it stopped for the savepoint (its reader parked), not at its input's end:
    /// it then commits the savepoint before the process exits.
    pub(super) parked: bool,
}

impl SourceCheckpoints {
    pub(super) fn new(
        worker: Rc<crate::checkpoint::Worker>,
        wake: timely::scheduling::Activator,
    ) -> Self {
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
    pub(super) fn plan<S: SourceSpec>(
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
    pub(super) fn on_commits<R: Reader>(
        &mut self,
        reader: &mut Option<Result<readers::Readers<R>>>,
    ) {
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
    pub(super) fn after_read<R: Reader>(
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
    pub(super) fn until_next(&self) -> Duration {
        self.next_epoch_at.saturating_duration_since(Instant::now())
    }
}
