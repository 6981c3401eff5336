//! The Kafka source's offset bookkeeping, without a consumer: which offsets may be
//! committed to the group, and when.
//!
//! Without checkpoints, a reader commits the offsets of the records the sinks have
//! finished: it marks the offsets it had read when it emitted records up to each timely
//! time ([`Offsets::emitted`]), and when the sinks' frontier passes a mark, that mark's
//! offsets are finished ([`Offsets::completed`]). Commits go at most once per
//! [`COMMIT_EVERY`] while the job runs, synchronously when it ends, and never twice for
//! the same offsets.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How often offsets are committed at most.
pub const COMMIT_EVERY: Duration = Duration::from_secs(1);

/// A partition's next offset to read, as the group's commit records it.
pub type PartitionOffsets = Vec<(i32, i64)>;

/// How a commit is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commit {
    /// In the background, while the job runs.
    Async,
    /// Waited for: the job is ending.
    Sync,
}

/// The marks, the finished offsets waiting for a commit, and the last commit.
#[derive(Debug)]
pub struct Offsets {
    /// Offsets read when the records up to a timely time were emitted.
    marks: VecDeque<(u64, PartitionOffsets)>,
    /// The newest offsets the sinks have finished, waiting for the next commit.
    finished: Option<PartitionOffsets>,
    /// The offsets committed last.
    committed: PartitionOffsets,
    last_commit: Instant,
}

impl Offsets {
    /// Nothing read, nothing committed; the clock for [`COMMIT_EVERY`] starts `now`.
    pub fn new(now: Instant) -> Self {
        Offsets {
            marks: VecDeque::new(),
            finished: None,
            committed: Vec::new(),
            last_commit: now,
        }
    }

    /// Everything read so far, up to `offsets`, travels at timely times up to `up_to`.
    /// Later reads at the same (or an earlier) time replace the last mark.
    pub fn emitted(&mut self, up_to: u64, offsets: PartitionOffsets) {
        match self.marks.back_mut() {
            Some((time, last)) if *time >= up_to => *last = offsets,
            _ => self.marks.push_back((up_to, offsets)),
        }
    }

    /// The sinks have finished every timely time before `frontier` (`None`: everything,
    /// the job is ending). Returns the offsets to commit now and how, if any: the newest
    /// finished mark's, once [`COMMIT_EVERY`] has passed since the last commit (at once
    /// when the job ends).
    pub fn completed(
        &mut self,
        frontier: Option<u64>,
        now: Instant,
    ) -> Option<(PartitionOffsets, Commit)> {
        while let Some((time, _)) = self.marks.front() {
            if frontier.is_some_and(|f| *time >= f) {
                break;
            }
            self.finished = self.marks.pop_front().map(|(_, offsets)| offsets);
        }
        let mode = match frontier {
            None => Commit::Sync,
            Some(_) if now.duration_since(self.last_commit) >= COMMIT_EVERY => Commit::Async,
            Some(_) => return None,
        };
        let offsets = self.finished.take()?;
        self.wanted(offsets).map(|o| (o, mode))
    }

    /// `offsets`, unless they are what was committed last.
    pub fn wanted(&self, offsets: PartitionOffsets) -> Option<PartitionOffsets> {
        (offsets != self.committed).then_some(offsets)
    }

    /// A commit of `offsets` was tried at `now`; `ok`: it succeeded. A failed commit is
    /// retried with the next one (at-least-once either way).
    pub fn committed(&mut self, offsets: PartitionOffsets, ok: bool, now: Instant) {
        if ok {
            self.committed = offsets;
        }
        self.last_commit = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn commits_what_the_sinks_have_finished_once_per_interval() {
        let start = Instant::now();
        let mut o = Offsets::new(start);
        o.emitted(10, vec![(0, 5)]);
        o.emitted(20, vec![(0, 9)]);
        // The sinks are before 10: nothing finished.
        assert_eq!(o.completed(Some(10), at(start, 2000)), None);
        // Past 10, within the interval since the start: waits.
        assert_eq!(o.completed(Some(15), at(start, 500)), None);
        // The interval has passed: the finished mark's offsets.
        let (offsets, mode) = o.completed(Some(15), at(start, 1000)).unwrap();
        assert_eq!((offsets.clone(), mode), (vec![(0, 5)], Commit::Async));
        o.committed(offsets, true, at(start, 1000));
        // Past 20 soon after: waits for the interval; then commits the newer mark.
        assert_eq!(o.completed(Some(25), at(start, 1500)), None);
        let (offsets, _) = o.completed(Some(25), at(start, 2000)).unwrap();
        assert_eq!(offsets, vec![(0, 9)]);
    }

    #[test]
    fn later_reads_at_one_time_replace_its_mark() {
        let start = Instant::now();
        let mut o = Offsets::new(start);
        o.emitted(10, vec![(0, 5)]);
        o.emitted(10, vec![(0, 7), (1, 2)]);
        o.emitted(8, vec![(0, 8), (1, 2)]);
        let (offsets, _) = o.completed(Some(11), at(start, 1000)).unwrap();
        assert_eq!(offsets, vec![(0, 8), (1, 2)]);
    }

    #[test]
    fn the_end_commits_at_once_and_synchronously() {
        let start = Instant::now();
        let mut o = Offsets::new(start);
        o.emitted(10, vec![(0, 5)]);
        o.emitted(30, vec![(0, 12)]);
        assert_eq!(
            o.completed(None, start),
            Some((vec![(0, 12)], Commit::Sync))
        );
    }

    #[test]
    fn the_same_offsets_are_not_committed_twice_and_a_failed_commit_is_retried() {
        let start = Instant::now();
        let mut o = Offsets::new(start);
        o.emitted(10, vec![(0, 5)]);
        let (offsets, _) = o.completed(Some(11), at(start, 1000)).unwrap();
        o.committed(offsets, false, at(start, 1000));
        // Failed: the same offsets are still wanted.
        assert_eq!(o.wanted(vec![(0, 5)]), Some(vec![(0, 5)]));
        o.committed(vec![(0, 5)], true, at(start, 1100));
        assert_eq!(o.wanted(vec![(0, 5)]), None);
        o.emitted(20, vec![(0, 5)]);
        assert_eq!(o.completed(None, at(start, 5000)), None);
    }
}
