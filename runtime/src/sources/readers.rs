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

use super::{Read, Reader, SourceSpec, Status, TracksCompletion};
use crate::checkpoint::ReaderState;
use crate::dead_letter::DeadLetter;
use crate::error::Result;

/// Readers' splits are labelled `reader << SHIFT | split` when a worker has several.
const SHIFT: u32 = 20;

/// One reader: as it was opened, and whether it has ended. An ended reader is kept (not
/// read again): its dead letters, and a Kafka reader's commits once the sinks have
/// finished, come after its last read.
struct Sub<R> {
    index: usize,
    peers: usize,
    /// `None`: it had ended in the restored checkpoint, and was not opened.
    reader: Option<R>,
    /// Where an unopened reader had ended.
    ended_at: Vec<(u32, u64)>,
    done: bool,
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
                done: reader.is_none(),
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
                done: s.done,
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

    /// The readers opened (ended ones too), as mutable references.
    fn opened(&mut self) -> impl Iterator<Item = &mut R> {
        self.subs.iter_mut().filter_map(|s| s.reader.as_mut())
    }
}

impl<R: Reader> Readers<R> {
    /// Several readers: each reads its share of the budget, in turn, as its own split.
    #[inline(never)]
    fn read_several(
        &mut self,
        budget: usize,
        out: &mut dyn FnMut(Read<R::Item>),
    ) -> Result<Status> {
        let live = self.subs.iter().filter(|s| !s.done).count().max(1);
        let share = (budget / live).max(1);
        let (mut more, mut idle) = (false, false);
        let n = self.subs.len();
        for k in (0..n).map(|i| (self.next + i) % n) {
            let sub = &mut self.subs[k];
            if sub.done {
                continue;
            }
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
                    sub.done = true;
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
            let Some(reader) = sub.reader.as_mut().filter(|_| !sub.done) else {
                return Ok(Status::Done);
            };
            let status = reader.read(budget, out)?;
            sub.done = status == Status::Done;
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
            let Some(reader) = sub.reader.as_mut().filter(|_| !sub.done) else {
                return Ok(Status::Done);
            };
            let status = if reader.has_splits() {
                reader.read_splits(budget, out)?
            } else {
                reader.read(budget, &mut |item| out(Read::Record(item)))?
            };
            sub.done = status == Status::Done;
            return Ok(status);
        }
        if self.subs.is_empty() {
            return Ok(Status::Done);
        }
        self.read_several(budget, out)
    }

    fn take_dead_letters(&mut self, out: &mut Vec<DeadLetter>) {
        for r in self.opened() {
            r.take_dead_letters(out);
        }
    }

    fn completion(&mut self) -> Option<&mut dyn TracksCompletion> {
        let any = self
            .subs
            .iter_mut()
            .any(|s| s.reader.as_mut().is_some_and(|r| r.completion().is_some()));
        if any {
            Some(self)
        } else {
            None
        }
    }
}

/// Tells every reader that tracks completion.
impl<R: Reader> TracksCompletion for Readers<R> {
    fn emitted(&mut self, up_to: u64) {
        for c in self.opened().filter_map(Reader::completion) {
            c.emitted(up_to);
        }
    }

    fn completed(&mut self, frontier: Option<u64>) {
        for c in self.opened().filter_map(Reader::completion) {
            c.completed(frontier);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dead_letter::Position;

    /// Numbers `0..=40`, worker `index` of `peers` reading those `≡ index (mod peers)`, a
    /// few per call; every tenth is a dead letter, reported with the read that meets it.
    #[derive(Clone)]
    struct Numbers;

    struct NumbersReader {
        next: u64,
        step: u64,
        dead: Vec<DeadLetter>,
    }

    impl SourceSpec for Numbers {
        type Reader = NumbersReader;
        fn open(&self, index: usize, peers: usize) -> Result<NumbersReader> {
            Ok(NumbersReader {
                next: index as u64,
                step: peers as u64,
                dead: Vec::new(),
            })
        }
    }

    impl Reader for NumbersReader {
        type Item = u64;
        fn read(&mut self, budget: usize, out: &mut dyn FnMut(u64)) -> Result<Status> {
            for _ in 0..budget.min(3) {
                if self.next > 40 {
                    break;
                }
                if self.next.is_multiple_of(10) {
                    self.dead.push(DeadLetter {
                        source: "numbers".into(),
                        position: Position::Line(self.next),
                        reason: "a tenth".into(),
                        payload: Vec::new(),
                    });
                } else {
                    out(self.next);
                }
                self.next += self.step;
            }
            Ok(if self.next > 40 {
                Status::Done
            } else {
                Status::More
            })
        }
        fn take_dead_letters(&mut self, out: &mut Vec<DeadLetter>) {
            out.append(&mut self.dead);
        }
        fn position(&self) -> Option<Vec<(u32, u64)>> {
            Some(vec![(0, self.next)])
        }
        fn seek(&mut self, position: &[(u32, u64)]) -> Result<()> {
            if let Some(&(_, next)) = position.first() {
                self.next = next;
            }
            Ok(())
        }
    }

    /// Reads `readers` to the end: the records, the splits each came under, the dead
    /// letters' lines, and the readers' states at the end.
    #[allow(
        clippy::type_complexity,
        reason = "a test helper returning its three observations"
    )]
    fn drain(mut readers: Readers<NumbersReader>) -> (Vec<(u32, u64)>, Vec<u64>, Vec<ReaderState>) {
        let (mut records, mut dead) = (Vec::new(), Vec::new());
        let mut split = u32::MAX;
        loop {
            let status = readers
                .read_splits(4, &mut |read| match read {
                    Read::Record(n) => records.push((split, n)),
                    Read::Split(s) => split = s,
                    Read::SplitDone(_) => {}
                })
                .unwrap();
            readers.take_dead_letters(&mut dead);
            if status == Status::Done {
                break;
            }
        }
        let lines = dead
            .iter()
            .map(|d| match d.position {
                Position::Line(n) => n,
                Position::Offset { .. } => unreachable!(),
            })
            .collect();
        (records, lines, readers.states())
    }

    #[test]
    fn dealt_readers_each_read_their_share_once_as_their_own_split() {
        // A checkpoint at four workers, restored at two: worker 1 is dealt the old
        // readers 1 and 3, each from where it was.
        let parts: Vec<(usize, crate::checkpoint::SourceState)> = (0..4)
            .map(|w| {
                let state = crate::checkpoint::SourceState {
                    readers: vec![ReaderState {
                        position: vec![(0, w as u64 + 4)],
                        ..ReaderState::fresh(w, 4)
                    }],
                    watermark: 100 + w as u64,
                    not_late_from: 90 + w as u64,
                    done: false,
                };
                (w, state)
            })
            .collect();
        let (plan, watermark, not_late_from) = deal(parts.clone(), (1, 2, 4), false).unwrap();
        assert_eq!(
            (watermark, not_late_from),
            (100, 90),
            "the least of the old parts'"
        );
        assert_eq!(
            plan.iter().map(|r| (r.index, r.peers)).collect::<Vec<_>>(),
            [(1, 4), (3, 4)]
        );
        let readers = Readers::open(&Numbers, plan, true).unwrap();
        assert!(readers.has_splits());
        let (records, dead, states) = drain(readers);
        // Numbers ≡ 1 or 3 (mod 4) from 5 and 7 on, each once, under its reader's split.
        let mut numbers: Vec<u64> = records.iter().map(|r| r.1).collect();
        numbers.sort();
        let want: Vec<u64> = (5..=40).filter(|n| n % 2 == 1).collect();
        assert_eq!(numbers, want);
        for (split, n) in &records {
            assert_eq!(*split, if n % 4 == 1 { 0 } else { 1 << SHIFT }, "{n}");
        }
        // No dead letter is lost when its reader ends in the same read.
        assert!(dead.is_empty(), "{dead:?}"); // odd numbers: no tenth
        assert!(states.iter().all(|s| s.done), "{states:?}");
        // Worker 0 gets the even readers; every dead letter comes through, 40 too, which
        // its reader meets in its last read.
        let (plan, ..) = deal(parts, (0, 2, 4), false).unwrap();
        let (_, mut dead, _) = drain(Readers::open(&Numbers, plan, true).unwrap());
        dead.sort();
        assert_eq!(dead, [10, 20, 30, 40]);
    }

    #[test]
    fn one_reader_keeps_its_dead_letters_past_its_end() {
        let plan = vec![ReaderState {
            position: vec![(0, 36)],
            ..ReaderState::fresh(0, 1)
        }];
        // Its last read meets the dead letter at 40 and ends it.
        let (records, dead, states) = drain(Readers::open(&Numbers, plan, true).unwrap());
        let numbers: Vec<u64> = records.iter().map(|r| r.1).collect();
        assert_eq!(numbers, [36, 37, 38, 39]);
        assert_eq!(dead, [40]);
        assert_eq!(states[0].position, [(0, 41)]);
        assert!(states[0].done);
    }

    #[test]
    fn kafka_like_sources_are_opened_afresh_with_every_old_position() {
        let part = |w: usize, position| crate::checkpoint::SourceState {
            readers: vec![ReaderState {
                position,
                ..ReaderState::fresh(w, 2)
            }],
            watermark: 7,
            not_late_from: 5,
            done: false,
        };
        let parts = vec![
            (0, part(0, vec![(0, 10), (2, 12)])),
            (1, part(1, vec![(1, 11), (3, 13)])),
        ];
        let (plan, ..) = deal(parts, (2, 4, 2), true).unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!((plan[0].index, plan[0].peers), (2, 4));
        assert_eq!(plan[0].position, [(0, 10), (2, 12), (1, 11), (3, 13)]);
    }
}
