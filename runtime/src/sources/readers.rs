//! The readers of one worker's source: one, or, after a restore at another number of
//! workers, those the old workers had that it was dealt.
//!
//! A source splits its input by the worker index and count it is opened with
//! ([`SourceSpec::open`]). A checkpoint records each reader as that pair and its
//! position; a restore at another number of workers deals the old readers out among the
//! new workers (reader `r`, in order, to worker `r % peers`), each opened as it was and
//! sought to its position, so every record is read once. A source whose readers' splits
//! are the same whatever the worker (Kafka partitions, [`SourceSpec::global_splits`]) is
//! instead opened afresh at the new layout and sought with every old reader's position:
//! its partitions are reassigned over all the new workers.
//!
//! Several readers on one worker read in turn, each as a split of its own (labelled
//! `reader << 20 | split`), so that the stamper keeps a watermark per reader and one
//! that is behind holds the source's watermark back.

use super::{Read, Reader, SourceSpec, Status};
use crate::checkpoint::ReaderState;
use crate::dead_letter::DeadLetter;
use crate::error::Result;

/// Readers' splits are labelled `reader << SHIFT | split` when a worker has several.
const SHIFT: u32 = 20;

/// One reader: as it was opened, and its position once it has ended.
struct Sub<R> {
    index: usize,
    peers: usize,
    /// `None` once ended.
    reader: Option<R>,
    /// The position it ended at.
    ended_at: Vec<(u32, u64)>,
}

/// The readers of one worker's source; a [`Reader`] over all of them.
pub struct Readers<R> {
    subs: Vec<Sub<R>>,
    /// Which reader reads first in the next call.
    next: usize,
}

impl<R: Reader> Readers<R> {
    /// Opens the readers `plan` lists (their worker index and count), seeking each to its
    /// position when `seek` (a restore).
    pub fn open<S: SourceSpec<Reader = R>>(
        spec: &S,
        plan: Vec<ReaderState>,
        seek: bool,
    ) -> Result<Readers<R>> {
        let mut subs = Vec::with_capacity(plan.len());
        for state in plan {
            let reader = if state.done {
                None
            } else {
                let mut reader = spec.open(state.index, state.peers)?;
                if seek {
                    reader.seek(&state.position)?;
                }
                Some(reader)
            };
            subs.push(Sub {
                index: state.index,
                peers: state.peers,
                reader,
                ended_at: state.position,
            });
        }
        Ok(Readers { subs, next: 0 })
    }

    /// Whether each reader can say where it is (`false`: the source cannot be
    /// checkpointed).
    pub fn positioned(&self) -> bool {
        self.subs
            .iter()
            .filter_map(|s| s.reader.as_ref())
            .all(|r| r.position().is_some())
    }

    /// Each reader as it was opened, with its position, for a checkpoint.
    pub fn states(&self) -> Vec<ReaderState> {
        self.subs
            .iter()
            .map(|s| ReaderState {
                index: s.index,
                peers: s.peers,
                position: match &s.reader {
                    Some(r) => r.position().unwrap_or_default(),
                    None => s.ended_at.clone(),
                },
                done: s.reader.is_none(),
            })
            .collect()
    }

    /// A checkpoint covering `states` (from [`Readers::states`]) is complete.
    pub fn checkpoint_complete(&mut self, states: &[ReaderState], last: bool) {
        for (sub, state) in self.subs.iter_mut().zip(states) {
            if let Some(r) = sub.reader.as_mut() {
                r.checkpoint_complete(&state.position, last);
            }
        }
    }

    fn several(&self) -> bool {
        self.subs.len() > 1
    }

    /// The readers still reading, as mutable references.
    fn live(&mut self) -> impl Iterator<Item = &mut R> {
        self.subs.iter_mut().filter_map(|s| s.reader.as_mut())
    }
}

impl<R: Reader> Readers<R> {
    /// The one reader's end (cold: once per reader).
    #[inline(never)]
    fn end_first(&mut self) {
        if let Some(sub) = self.subs.first_mut() {
            if let Some(reader) = sub.reader.take() {
                sub.ended_at = reader.position().unwrap_or_default();
            }
        }
    }

    /// Several readers: each reads its share of the budget, in turn, as its own split.
    #[inline(never)]
    fn read_several(
        &mut self,
        budget: usize,
        out: &mut dyn FnMut(Read<R::Item>),
    ) -> Result<Status> {
        let live = self
            .subs
            .iter()
            .filter(|s| s.reader.is_some())
            .count()
            .max(1);
        let share = (budget / live).max(1);
        let (mut more, mut idle) = (false, false);
        let n = self.subs.len();
        for k in (0..n).map(|i| (self.next + i) % n) {
            let sub = &mut self.subs[k];
            let Some(reader) = sub.reader.as_mut() else {
                continue;
            };
            let base = (k as u32) << SHIFT;
            let status = if reader.has_splits() {
                reader.read_splits(share, &mut |read| {
                    out(match read {
                        Read::Split(s) => Read::Split(base | s),
                        Read::SplitDone(s) => Read::SplitDone(base | s),
                        record => record,
                    })
                })?
            } else {
                // Every live reader reads in each call, so each is announced before the
                // first record of any.
                out(Read::Split(base));
                reader.read(share, &mut |item| out(Read::Record(item)))?
            };
            match status {
                Status::More => more = true,
                Status::Idle => idle = true,
                Status::Done => {
                    if !reader.has_splits() {
                        out(Read::SplitDone(base));
                    }
                    sub.ended_at = reader.position().unwrap_or_default();
                    sub.reader = None;
                }
            }
        }
        self.next = (self.next + 1) % n;
        Ok(if more {
            Status::More
        } else if idle {
            Status::Idle
        } else {
            Status::Done
        })
    }
}

impl<R: Reader> Reader for Readers<R> {
    type Item = R::Item;

    /// With one reader (the usual case), straight through: inlined, so that the
    /// source's per-record code is what it is without this wrapper.
    #[inline]
    fn read(&mut self, budget: usize, out: &mut dyn FnMut(R::Item)) -> Result<Status> {
        if let [sub] = self.subs.as_mut_slice() {
            let Some(reader) = sub.reader.as_mut() else {
                return Ok(Status::Done);
            };
            let status = reader.read(budget, out)?;
            if status == Status::Done {
                self.end_first();
            }
            return Ok(status);
        }
        if self.subs.is_empty() {
            return Ok(Status::Done);
        }
        self.read_several(budget, &mut |read| {
            if let Read::Record(item) = read {
                out(item);
            }
        })
    }

    fn has_splits(&self) -> bool {
        self.several()
            || self
                .subs
                .iter()
                .any(|s| s.reader.as_ref().is_some_and(|r| r.has_splits()))
    }

    #[inline]
    fn read_splits(&mut self, budget: usize, out: &mut dyn FnMut(Read<R::Item>)) -> Result<Status> {
        if let [sub] = self.subs.as_mut_slice() {
            let Some(reader) = sub.reader.as_mut() else {
                return Ok(Status::Done);
            };
            let status = if reader.has_splits() {
                reader.read_splits(budget, out)?
            } else {
                reader.read(budget, &mut |item| out(Read::Record(item)))?
            };
            if status == Status::Done {
                self.end_first();
            }
            return Ok(status);
        }
        if self.subs.is_empty() {
            return Ok(Status::Done);
        }
        self.read_several(budget, out)
    }

    fn take_dead_letters(&mut self, out: &mut Vec<DeadLetter>) {
        for r in self.live() {
            r.take_dead_letters(out);
        }
    }

    fn position(&self) -> Option<Vec<(u32, u64)>> {
        self.positioned().then(Vec::new)
    }

    fn tracks_completion(&self) -> bool {
        self.subs
            .iter()
            .any(|s| s.reader.as_ref().is_some_and(|r| r.tracks_completion()))
    }

    fn emitted(&mut self, up_to: u64) {
        for r in self.live() {
            r.emitted(up_to);
        }
    }

    fn completed(&mut self, frontier: Option<u64>) {
        for r in self.live() {
            r.completed(frontier);
        }
    }
}

/// What worker `index` of `peers` restores from the parts of the old workers' sources
/// (`parts`, by old worker), when they were `old` workers: the readers it takes (each
/// opened as it was, or, with global splits, one reader at the new layout holding every
/// old position), the watermark to resume at and the least timestamp not late; `None`
/// if, at the same layout, its own part had ended. (At another layout, a worker dealt
/// no live reader ends at once, writing its last part: a worker that did not exist
/// before has no part to reuse.)
pub fn deal(
    parts: Vec<(usize, crate::checkpoint::SourceState)>,
    (index, peers, old): (usize, usize, usize),
    global_splits: bool,
) -> Option<(Vec<ReaderState>, u64, u64)> {
    if old == peers {
        // The same layout: the worker's own part (without one, from the start).
        let Some((_, state)) = parts.into_iter().find(|(w, _)| *w == index) else {
            return Some((vec![ReaderState::fresh(index, peers)], 0, 0));
        };
        if state.done {
            return None;
        }
        return Some((state.readers, state.watermark, state.not_late_from));
    }
    let parts: Vec<crate::checkpoint::SourceState> = parts.into_iter().map(|(_, p)| p).collect();
    let live: Vec<&crate::checkpoint::SourceState> = parts.iter().filter(|p| !p.done).collect();
    let watermark = live.iter().map(|p| p.watermark).min().unwrap_or(0);
    let not_late_from = live.iter().map(|p| p.not_late_from).min().unwrap_or(0);
    let mut readers: Vec<ReaderState> = parts.into_iter().flat_map(|p| p.readers).collect();
    if global_splits {
        let position = readers.into_iter().flat_map(|r| r.position).collect();
        let fresh = ReaderState {
            position,
            ..ReaderState::fresh(index, peers)
        };
        return Some((vec![fresh], watermark, not_late_from));
    }
    readers.sort_by_key(|r| (r.peers, r.index));
    readers.dedup_by_key(|r| (r.peers, r.index));
    let mine = readers
        .into_iter()
        .enumerate()
        .filter(|(r, _)| r % peers == index)
        .map(|(_, reader)| reader)
        .collect();
    Some((mine, watermark, not_late_from))
}
