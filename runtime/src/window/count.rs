//! Count windows, Flink's `countWindow(size)` and `countWindow(size, slide)`: windows
//! over a key's records in the order they reach the key's worker, not over time.
//!
//! - Tumbling (`count_window(n)`): every `n`-th record of a key closes a window of its
//!   last `n` records. A key's last window, with fewer than `n` records, never fires (as
//!   in Flink, where the count trigger alone fires a count window).
//! - Sliding (`count_window(n, step)`): every `step`-th record fires a window of the
//!   key's last `n` records, or all of them while the key has seen fewer than `n` (as
//!   Flink's count evictor keeps them).
//!
//! Start and end are record ordinals of the key: `[start, end)` holds its records number
//! `start` to `end - 1`, counting from 0. A result travels at the time of the record that
//! fired it, stamped with the latest event time among the window's records.
//!
//! A key's records come from every source worker, so which records share a window
//! depends on their arrival order when more than one worker reads the input; how many
//! windows fire, and their sizes, do not. There is no late data: every record counts.
//!
//! State is one accumulator per pane of `gcd(n, step)` records, at most `n / pane` panes
//! per key: sliding count windows are aggregated incrementally too.

use std::collections::VecDeque;
use std::marker::PhantomData;

use super::assigner::gcd;
use super::shell::{window_operator, Fire, Timers, WindowLogic};
use super::{window_result, Aggregated, Aggregator, Window, WindowKind, WindowResult};
use crate::checkpoint::EpochGate;
use crate::hash::StateMap;
use crate::key::{ExchangeData, KeySelector};
use crate::operators::keyed::{state_of, KeyedStream};
use crate::time::Timed;

/// A pane of a key's count windows: the accumulator and the latest event time in it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Pane<Acc> {
    acc: Acc,
    max_ts: u64,
}

/// One key's count-window state.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeyCount<Acc> {
    /// Records of the key so far.
    seen: u64,
    /// The latest panes, oldest first; the last one may be filling.
    panes: VecDeque<Pane<Acc>>,
}

struct CountLogic<K, S, A: Aggregator<T>, T> {
    selector: S,
    size: u64,
    step: u64,
    pane: u64,
    agg: A,
    keys: StateMap<K, KeyCount<A::Acc>>,
    _record: PhantomData<fn(T)>,
}

impl<K, S, A: Aggregator<T>, T> CountLogic<K, S, A, T> {
    fn new(selector: S, size: u64, step: u64, agg: A) -> Self {
        CountLogic {
            selector,
            size,
            step,
            pane: gcd(size, step),
            agg,
            keys: StateMap::default(),
            _record: PhantomData,
        }
    }
}

/// Count windows: the last `size` records of a key, every `step` records (see the module
/// docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountWindows {
    /// Records in a full window.
    size: u64,
    /// Records between firings (`size` for tumbling count windows).
    step: u64,
}

/// `count_window(size)` (`step == size`) or `count_window(size, step)`: count windows.
pub fn count_windows(size: u64, step: u64) -> CountWindows {
    assert!(
        step > 0 && step <= size,
        "a count window needs 0 < step <= size"
    );
    CountWindows { size, step }
}

/// Count windows have no late data: `lateness` does not apply (the macro allows none).
impl WindowKind for CountWindows {
    fn aggregate<'scope, T, S, A>(
        self,
        keyed: KeyedStream<'scope, Timed<T>, S>,
        _lateness: u64,
        name: &str,
        agg: A,
    ) -> Aggregated<'scope, S::Key, A::Out, T>
    where
        T: ExchangeData,
        S: KeySelector<Timed<T>>,
        A: Aggregator<T>,
    {
        let (stream, selector) = keyed.into_parts();
        let logic = CountLogic::new(selector.clone(), self.size, self.step, agg);
        window_operator(stream, move |r| selector.route(r), name, logic)
    }
}

impl<T, S, A> WindowLogic<Timed<T>, T, WindowResult<S::Key, A::Out>> for CountLogic<S::Key, S, A, T>
where
    T: 'static,
    S: KeySelector<Timed<T>>,
    A: Aggregator<T>,
{
    const KIND: &'static str = "count window";

    fn on_record<H: Timers>(
        &mut self,
        _timers: &mut H,
        _time: u64,
        record: Timed<T>,
        updates: &mut Vec<Timed<WindowResult<S::Key, A::Out>>>,
        _late: &mut Vec<Timed<T>>,
    ) {
        // The key is cloned only for a record that fires a window (or is the key's first).
        let fires = |seen: u64| (seen + 1).is_multiple_of(self.step);
        let (state, key) = match state_of(&mut self.keys, &self.selector, &record) {
            Some(state) => {
                let key = fires(state.seen).then(|| self.selector.with_key(&record, Clone::clone));
                (state, key)
            }
            None => {
                let key = self.selector.with_key(&record, Clone::clone);
                let state = self.keys.entry(key.clone()).or_insert_with(|| KeyCount {
                    seen: 0,
                    panes: VecDeque::new(),
                });
                (state, Some(key))
            }
        };
        let agg = &self.agg;
        if state.seen.is_multiple_of(self.pane) {
            if state.panes.len() as u64 == self.size / self.pane {
                state.panes.pop_front();
            }
            state.panes.push_back(Pane {
                acc: agg.init(),
                max_ts: record.ts,
            });
        }
        let pane = state.panes.back_mut().expect("a pane was just ensured");
        pane.max_ts = pane.max_ts.max(record.ts);
        agg.add(&mut pane.acc, record.value);
        state.seen += 1;
        if !state.seen.is_multiple_of(self.step) {
            return;
        }
        let key = key.expect("the key is cloned for a record that fires");
        // `seen` is a multiple of the pane, so the panes hold exactly the window.
        let mut panes = state.panes.iter();
        let first = panes.next().expect("a window has a pane");
        let (mut acc, mut max_ts) = (first.acc.clone(), first.max_ts);
        for pane in panes {
            agg.merge(&mut acc, &pane.acc);
            max_ts = max_ts.max(pane.max_ts);
        }
        let window = Window {
            start: state.seen.saturating_sub(self.size) as i64,
            end: state.seen as i64,
        };
        let mut result = window_result(window, key, agg.finish(&acc));
        result.ts = max_ts;
        updates.push(result);
    }

    fn on_frontier<F: Fire<WindowResult<S::Key, A::Out>>>(&mut self, _out: &mut F, _frontier: u64) {
    }

    fn snapshot(&self) -> Vec<u8> {
        crate::checkpoint::encode(&self.keys)
    }

    fn restore<H: Timers>(&mut self, gate: &EpochGate<Timed<T>>, _timers: &mut H) {
        if let Some(keys) = gate.restored_state() {
            self.keys = keys;
        }
    }
}

/// The count logic alone, against each key's records in arrival order.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::testing::{key_of, run, steps, value_of, Record, Rng, Step};
    use super::super::{Sum, WindowResult};
    use super::CountLogic;
    use crate::key::KeyFn;
    use crate::time::Timed;

    #[test]
    fn count_windows_match_each_keys_last_records() {
        for (size, step) in [(3, 3), (3, 1), (4, 2), (6, 4)] {
            let mut rng = Rng(size * 10 + step);
            let steps = steps(&mut rng, 200, 3, 20, 20);
            // Each key's windows: at every `step`-th record, its last `size` records.
            let mut seen: BTreeMap<u64, Vec<&Timed<Record>>> = BTreeMap::new();
            let mut expected = Vec::new();
            for r in steps.iter().flat_map(|s| match s {
                Step::Batch(_, records) => records.as_slice(),
                Step::Frontier(_) => &[],
            }) {
                let records = seen.entry(r.value.0).or_default();
                records.push(r);
                let n = records.len() as u64;
                if n.is_multiple_of(step) {
                    let window = &records[n.saturating_sub(size) as usize..];
                    let sum = window.iter().map(|r| r.value.1).sum::<u64>();
                    let ts = window.iter().map(|r| r.ts).max().unwrap_or(0);
                    expected.push((r.value.0, n.saturating_sub(size) as i64, n as i64, sum, ts));
                }
            }
            let logic = &mut CountLogic::new(
                KeyFn(key_of as fn(&_) -> u64),
                size,
                step,
                Sum(value_of as fn(&Record) -> u64),
            );
            let run = run::<Record, WindowResult<u64, u64>, _>(logic, steps);
            let got: Vec<_> = run
                .results
                .iter()
                .map(|e| {
                    let r = &e.result.value;
                    (r.key, r.start, r.end, r.value, e.result.ts)
                })
                .collect();
            assert_eq!(got, expected, "count_window({size}, {step})");
            assert!(run.late.is_empty());
        }
    }
}
