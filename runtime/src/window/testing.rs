//! Window logics in unit tests, without a dataflow: a [`Recorder`] stands in for the
//! operator shell, checks that a logic holds every time it emits at and releases what it
//! holds, and [`run`] drives a logic through batches and frontiers as the shell would.

use std::collections::BTreeMap;

use super::shell::{Fire, Timers, WindowLogic};
use crate::time::Timed;

/// One step of the shell: a batch of records that travel at a time (not before the last
/// frontier), or a new input frontier.
pub(super) enum Step<T> {
    Batch(u64, Vec<Timed<T>>),
    Frontier(u64),
}

/// A result a logic emitted.
pub(super) struct Emitted<R> {
    /// Whether a window fired (or else a record updated one that had).
    pub fired: bool,
    /// The input frontier then (the last one, for an update).
    pub frontier: u64,
    /// The event time the result travels at (the batch's, for an update).
    pub at: u64,
    pub result: Timed<R>,
}

/// What a logic emitted over a run, in order.
pub(super) struct Run<T, R> {
    pub results: Vec<Emitted<R>>,
    /// Late records.
    pub late: Vec<Timed<T>>,
}

/// The holds of a logic, checked as the shell's capabilities would check them.
struct Recorder<R> {
    held: BTreeMap<u64, usize>,
    /// The time being handled, while a batch is; `None` while firing.
    batch: Option<u64>,
    fired: Vec<(u64, Timed<R>)>,
}

impl<R> Recorder<R> {
    fn earliest(&self) -> Option<u64> {
        self.held.keys().next().copied()
    }
}

impl<R> Timers for Recorder<R> {
    fn hold(&mut self, at: u64) {
        match self.batch {
            Some(time) => assert!(at >= time, "held {at}, before the batch's time {time}"),
            None => assert!(
                self.earliest().is_some_and(|e| e <= at),
                "held {at} while firing, before every time held"
            ),
        }
        *self.held.entry(at).or_default() += 1;
    }
    fn release(&mut self, at: u64) {
        let count = self.held.get_mut(&at).expect("released a time not held");
        *count -= 1;
        if *count == 0 {
            self.held.remove(&at);
        }
    }
}

impl<R> Fire<R> for Recorder<R> {
    fn fire(&mut self, at: u64, result: Timed<R>) {
        assert!(
            self.earliest().is_some_and(|e| e <= at),
            "fired at {at}, before every time held ({:?})",
            self.held
        );
        self.fired.push((at, result));
    }
}

/// Runs `logic` through `steps` and then to the end of the input, checking that it holds
/// nothing once done.
pub(super) fn run<T, R, L: WindowLogic<Timed<T>, T, R>>(
    logic: &mut L,
    steps: Vec<Step<T>>,
) -> Run<T, R> {
    let mut recorder = Recorder {
        held: BTreeMap::new(),
        batch: None,
        fired: Vec::new(),
    };
    let mut out = Run {
        results: Vec::new(),
        late: Vec::new(),
    };
    let mut frontier = 0;
    for step in steps.into_iter().chain([Step::Frontier(u64::MAX)]) {
        match step {
            Step::Batch(time, mut records) => {
                assert!(time >= frontier, "a batch at {time}, before the frontier");
                recorder.batch = Some(time);
                let mut updates = Vec::new();
                logic.on_batch(
                    &mut recorder,
                    time,
                    &mut records,
                    &mut updates,
                    &mut out.late,
                );
                out.results
                    .extend(updates.into_iter().map(|result| Emitted {
                        fired: false,
                        frontier,
                        at: time,
                        result,
                    }));
            }
            Step::Frontier(to) => {
                frontier = frontier.max(to);
                recorder.batch = None;
                logic.on_frontier(&mut recorder, frontier);
                let fired = std::mem::take(&mut recorder.fired);
                out.results
                    .extend(fired.into_iter().map(|(at, result)| Emitted {
                        fired: true,
                        frontier,
                        at,
                        result,
                    }));
            }
        }
    }
    assert!(
        recorder.held.is_empty(),
        "times still held at the end: {:?}",
        recorder.held
    );
    out
}

/// The records of the tests: `(key, value)`.
pub(super) type Record = (u64, u64);

/// The key of a test record.
pub(super) fn key_of(r: &Timed<Record>) -> u64 {
    r.value.0
}

/// The value of a test record.
pub(super) fn value_of(r: &Record) -> u64 {
    r.1
}

/// A small deterministic generator (xorshift), so that the tests need no crate.
pub(super) struct Rng(pub u64);

impl Rng {
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Random steps: batches of `(key, value)` records of `keys` keys, each batch at a time
/// from the frontier up, with timestamps from `before` ms before its time to `after` ms
/// after, and frontiers that move up by up to 20 ms.
pub(super) fn steps(
    rng: &mut Rng,
    count: usize,
    keys: u64,
    before: u64,
    after: u64,
) -> Vec<Step<Record>> {
    let mut frontier = before;
    let mut steps = Vec::new();
    for _ in 0..count {
        if rng.below(3) == 0 {
            frontier += rng.below(20);
            steps.push(Step::Frontier(frontier));
        } else {
            let time = frontier + rng.below(10);
            let records = (0..1 + rng.below(12))
                .map(|_| Timed {
                    ts: time - before + rng.below(before + after + 1),
                    value: (rng.below(keys), 1 + rng.below(100)),
                })
                .collect();
            steps.push(Step::Batch(time, records));
        }
    }
    steps
}
