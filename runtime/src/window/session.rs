//! Session windows: per key, records less than (or exactly) a gap apart share a session
//! `[first, last + gap)`. Each record starts as the window `[ts, ts + gap)` and merges
//! with every session it touches, as in Flink's `EventTimeSessionWindows`; a late record
//! within the allowed lateness can bridge two sessions that already fired, and the merged
//! session fires with the combined result.
//!
//! A session `[start, end)` fires when the frontier passes `end` (the watermark reaches
//! `end`), one millisecond after Flink would fire it: a record at exactly `end` touches
//! the session and merges with it, and firing a moment earlier would make the result
//! depend on whether that record arrived before or after the firing. Lateness and cleanup
//! count from the same point. Session ends fall on any millisecond, while timely times
//! are rounded down to the pipeline's tick (at most 100 ms with sessions, which the macro
//! sees to): a session fires once the frontier reaches the first tick at or after its
//! close, and whether a record is late is judged by its timely time, i.e. by its source's
//! watermark rounded down to the tick. Records the exact watermark would call late may
//! thus still join a session that has not fired; none is lost either way.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use super::shell::{window_operator, Fire, Timers, WindowLogic};
use super::{window_result, Aggregated, Aggregator, Window, WindowKind, WindowResult};
use crate::checkpoint::EpochGate;
use crate::hash::StateMap;
use crate::key::{ExchangeData, KeySelector};
use crate::operators::keyed::KeyedStream;
use crate::time::Timed;

/// The frontier at which a session ending at `end` is complete: past `end` itself.
fn closes(end: u64) -> u64 {
    end + 1
}

/// The timely time of the result of a session ending at `end`: its last millisecond
/// rounded down to `tick`, and not before `not_before` (a capability's time).
fn result_time(end: u64, tick: u64, not_before: u64) -> u64 {
    crate::time::tick_floor(end - 1, tick).max(not_before)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Session<Acc> {
    start: u64,
    end: u64,
    acc: Acc,
}

struct SessionLogic<K, S, A: Aggregator<T>, T> {
    selector: S,
    gap: u64,
    /// Results travel at their last millisecond rounded down to this.
    tick: u64,
    lateness: u64,
    agg: A,
    /// Each key's sessions: disjoint and not touching.
    sessions: StateMap<K, Vec<Session<A::Acc>>>,
    /// Timers by time: the event time held for their results and the keys to look at
    /// then. A key's sessions fire when its timer does; a session that grows later than
    /// the key's timer does not add one (an in-order stream would add one per record):
    /// the timer re-arms at the key's next close instead.
    timers: BTreeMap<u64, (u64, Vec<K>)>,
    /// Each key's earliest pending timer; a key in `timers` at another time is stale there.
    armed: StateMap<K, u64>,
    /// Keys whose sessions may expire at this time (`closes(end)` + allowed lateness).
    cleanups: BTreeMap<u64, Vec<K>>,
    /// Sessions closing at or before this have fired.
    fired: u64,
    /// After a restore at another number of workers: keys whose sessions fired up to a
    /// later frontier than `fired` on their old worker, and that frontier (see
    /// `restore`). Empty otherwise.
    fired_for: StateMap<K, u64>,
    _record: PhantomData<fn(T)>,
}

/// Session windows: a key's records less than (or exactly) a gap apart share a session,
/// and sessions merge as records arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sessions {
    /// The gap, in ms.
    gap: u64,
    /// The pipeline's tick: a session's result travels at its last millisecond rounded
    /// down to it, so sessions that end within one tick share a timely time.
    tick: u64,
}

/// `session(gap)`: session windows, with results at their exact last millisecond.
pub fn session(gap: u64) -> Sessions {
    assert!(gap > 0, "a session gap must be positive");
    Sessions { gap, tick: 1 }
}

impl Sessions {
    /// The same windows in a pipeline whose timely times are rounded down to `tick` ms:
    /// session results travel at such times too (the macro passes its tick).
    pub fn ticked(self, tick: u64) -> Sessions {
        assert!(tick > 0, "the tick must be positive");
        Sessions { tick, ..self }
    }
}

impl WindowKind for Sessions {
    fn aggregate<'scope, T, S, A>(
        self,
        keyed: KeyedStream<'scope, Timed<T>, S>,
        lateness: u64,
        name: &str,
        agg: A,
    ) -> Aggregated<'scope, S::Key, A::Out, T>
    where
        T: ExchangeData,
        S: KeySelector<Timed<T>>,
        A: Aggregator<T>,
    {
        let (stream, selector) = keyed.into_parts();
        let logic = SessionLogic::new(selector.clone(), self.gap, self.tick, lateness, agg);
        window_operator(stream, move |r| selector.route(r), name, logic)
    }
}

/// The result of session `s` of `key`.
fn session_result<K, T, A: Aggregator<T>>(
    agg: &A,
    key: K,
    s: &Session<A::Acc>,
) -> Timed<WindowResult<K, A::Out>> {
    let window = Window {
        start: s.start as i64,
        end: s.end as i64,
    };
    window_result(window, key, agg.finish(&s.acc))
}

impl<K: crate::key::Key, S, A: Aggregator<T>, T> SessionLogic<K, S, A, T> {
    fn new(selector: S, gap: u64, tick: u64, lateness: u64, agg: A) -> Self {
        SessionLogic {
            selector,
            gap,
            tick,
            lateness,
            agg,
            sessions: StateMap::default(),
            timers: BTreeMap::new(),
            armed: StateMap::default(),
            cleanups: BTreeMap::new(),
            fired: 0,
            fired_for: StateMap::default(),
            _record: PhantomData,
        }
    }

    /// How far `key`'s sessions have fired: `fired`, or further for a key whose old
    /// worker had fired further before a restore at another number of workers.
    #[inline]
    fn fired_at(&self, key: &K) -> u64 {
        if self.fired_for.is_empty() {
            return self.fired;
        }
        self.fired_for
            .get(key)
            .map_or(self.fired, |&at| at.max(self.fired))
    }
}

impl<T, S, A> WindowLogic<Timed<T>, T, WindowResult<S::Key, A::Out>>
    for SessionLogic<S::Key, S, A, T>
where
    T: 'static,
    S: KeySelector<Timed<T>>,
    A: Aggregator<T>,
{
    const KIND: &'static str = "session window";

    fn on_record<H: Timers>(
        &mut self,
        timers: &mut H,
        time: u64,
        record: Timed<T>,
        updates: &mut Vec<Timed<WindowResult<S::Key, A::Out>>>,
        late: &mut Vec<Timed<T>>,
    ) {
        let ts = record.ts;
        if closes(ts + self.gap) + self.lateness <= time {
            late.push(record);
            return;
        }
        let key = self.selector.with_key(&record, Clone::clone);
        let (agg, lateness, fired) = (&self.agg, self.lateness, self.fired_at(&key));
        let mut merged = Session {
            start: ts,
            end: ts + self.gap,
            acc: agg.init(),
        };
        agg.add(&mut merged.acc, record.value);
        let list = self.sessions.entry(key.clone()).or_default();
        // Sessions never touch each other, so one pass finds all that the new one joins.
        let mut absorbed_end = None;
        list.retain(|s| {
            let touches = s.start <= merged.end && s.end >= merged.start;
            if touches {
                merged.start = merged.start.min(s.start);
                merged.end = merged.end.max(s.end);
                agg.merge(&mut merged.acc, &s.acc);
                absorbed_end = absorbed_end.max(Some(s.end));
            }
            !touches
        });
        let end = merged.end;
        if closes(end) <= fired {
            // Within the allowed lateness after the session's end: fire the update now.
            updates.push(session_result(agg, key.clone(), &merged));
            // When a joined session ended where the merged one ends, its cleanup already
            // stands.
            if absorbed_end != Some(end) {
                let cleanup = self.cleanups.entry(closes(end) + lateness).or_default();
                cleanup.push(key);
            }
        } else if self.armed.get(&key).is_none_or(|&t| t > closes(end)) {
            let timer = self.timers.entry(closes(end)).or_insert_with(|| {
                let at = result_time(end, self.tick, time);
                timers.hold(at);
                (at, Vec::new())
            });
            timer.1.push(key.clone());
            self.armed.insert(key, closes(end));
        }
        list.push(merged);
    }

    fn on_frontier<F: Fire<WindowResult<S::Key, A::Out>>>(&mut self, out: &mut F, frontier: u64) {
        // Sessions closing at or before `fired_before` have been emitted already.
        let fired_before = self.fired;
        let tick = self.tick;
        while let Some(entry) = self.timers.first_entry() {
            if *entry.key() > frontier {
                break;
            }
            let closed = *entry.key();
            let (held, keys) = entry.remove();
            for key in keys {
                if self.armed.get(&key) != Some(&closed) {
                    continue; // stale: the key re-armed earlier, or already fired here
                }
                let fired_before = if self.fired_for.is_empty() {
                    fired_before
                } else {
                    self.fired_for
                        .get(&key)
                        .map_or(fired_before, |&at| at.max(fired_before))
                };
                self.armed.remove(&key);
                let Some(list) = self.sessions.get(&key) else {
                    continue;
                };
                // Fire every session that closed since the last frontier; re-arm at the
                // next session's close, if any.
                let mut next_end: Option<u64> = None;
                for s in list {
                    let close = closes(s.end);
                    if close > frontier {
                        next_end = Some(next_end.map_or(s.end, |e| e.min(s.end)));
                    } else if close > fired_before {
                        let at = result_time(s.end, tick, held);
                        out.fire(at, session_result(&self.agg, key.clone(), s));
                        self.cleanups
                            .entry(close + self.lateness)
                            .or_default()
                            .push(key.clone());
                    }
                }
                if let Some(end) = next_end {
                    let timer = self.timers.entry(closes(end)).or_insert_with(|| {
                        let at = result_time(end, tick, held);
                        out.hold(at);
                        (at, Vec::new())
                    });
                    timer.1.push(key.clone());
                    self.armed.insert(key, closes(end));
                }
            }
            out.release(held);
        }
        self.fired = self.fired.max(frontier);
        if !self.fired_for.is_empty() {
            let fired = self.fired;
            self.fired_for.retain(|_, at| *at > fired);
        }
        while let Some(entry) = self.cleanups.first_entry() {
            if *entry.key() > frontier {
                break;
            }
            for key in entry.remove() {
                if let Some(list) = self.sessions.get_mut(&key) {
                    list.retain(|s| closes(s.end) + self.lateness > frontier);
                    if list.is_empty() {
                        self.sessions.remove(&key);
                    }
                }
            }
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let timers: Vec<(u64, u64, &Vec<S::Key>)> = self
            .timers
            .iter()
            .map(|(t, (at, keys))| (*t, *at, keys))
            .collect();
        crate::checkpoint::encode(&(
            &self.sessions,
            timers,
            &self.armed,
            &self.cleanups,
            self.fired,
            &self.fired_for,
        ))
    }

    fn restore<H: Timers>(&mut self, gate: &EpochGate<Timed<T>>, timers: &mut H) {
        type State<K, Acc> = (
            StateMap<K, Vec<Session<Acc>>>,
            Vec<(u64, u64, Vec<K>)>,
            StateMap<K, u64>,
            BTreeMap<u64, Vec<K>>,
            u64,
            StateMap<K, u64>,
        );
        let mut parts = gate
            .restored_states::<State<S::Key, A::Acc>>()
            .unwrap_or_default();
        if gate.rescaled() {
            // As pane windows do (see there): the merged state fires from the least old
            // frontier, and each key that had fired further keeps how far.
            let least = parts.iter().map(|p| p.4).min().unwrap_or(0);
            for (sessions, _, _, _, fired, fired_for) in &mut parts {
                crate::checkpoint::rescale::note_fired(sessions.keys(), *fired, least, fired_for);
            }
        }
        let restored = if gate.rescaled() {
            crate::checkpoint::rescale::merge(parts, &gate.owns())
        } else {
            parts.pop()
        };
        let Some((sessions, restored_timers, armed, cleanups, fired, fired_for)) = restored else {
            return;
        };
        self.fired_for = fired_for;
        self.sessions = sessions;
        self.timers = restored_timers
            .into_iter()
            .map(|(t, at, keys)| {
                timers.hold(at);
                (t, (at, keys))
            })
            .collect();
        self.armed = armed;
        self.cleanups = cleanups;
        self.fired = fired;
    }
}

/// The session logic alone: random input against a model of sessions, and a late record
/// that bridges two sessions that fired.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::testing::{key_of, run, steps, value_of, Record, Rng, Step};
    use super::super::{Sum, WindowResult};
    use super::SessionLogic;
    use crate::key::KeyFn;
    use crate::time::Timed;

    type Logic =
        SessionLogic<u64, KeyFn<fn(&Timed<Record>) -> u64>, Sum<fn(&Record) -> u64>, Record>;

    fn logic(gap: u64, tick: u64, lateness: u64) -> Logic {
        SessionLogic::new(
            KeyFn(key_of as fn(&_) -> u64),
            gap,
            tick,
            lateness,
            Sum(value_of as fn(&_) -> u64),
        )
    }

    /// Each key's sessions as `(key, start, end, sum)`: records sorted by time, a record
    /// within `gap` of a session's end (or at it) joining it.
    fn model(gap: u64, steps: &[Step<Record>]) -> Vec<(u64, i64, i64, u64)> {
        let mut by_key: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
        for step in steps {
            if let Step::Batch(_, records) = step {
                for r in records {
                    by_key.entry(r.value.0).or_default().push((r.ts, r.value.1));
                }
            }
        }
        let mut sessions = Vec::new();
        for (key, mut records) in by_key {
            records.sort();
            let mut current: Option<(u64, u64, u64)> = None;
            for (ts, value) in records {
                current = match current {
                    Some((start, end, sum)) if ts <= end => {
                        Some((start, end.max(ts + gap), sum + value))
                    }
                    done => {
                        if let Some((start, end, sum)) = done {
                            sessions.push((key, start as i64, end as i64, sum));
                        }
                        Some((ts, ts + gap, value))
                    }
                };
            }
            if let Some((start, end, sum)) = current {
                sessions.push((key, start as i64, end as i64, sum));
            }
        }
        sessions
    }

    #[test]
    fn sessions_match_the_model() {
        for (seed, tick) in (1..=30).zip([1, 1, 5].into_iter().cycle()) {
            let gap = 15;
            let mut rng = Rng(seed);
            // Timestamps from the records' time up: out of order, and none late.
            let steps = steps(&mut rng, 300, 4, 0, 40);
            let mut expected = model(gap, &steps);
            let run = run::<Record, WindowResult<u64, u64>, _>(&mut logic(gap, tick, 0), steps);
            let mut got = Vec::new();
            for e in &run.results {
                let r = &e.result.value;
                assert!(e.fired, "{r:?}: an update without allowed lateness");
                assert!(
                    (r.end as u64) < e.frontier,
                    "{r:?} fired before the frontier passed its end"
                );
                let due = crate::time::tick_floor(r.end as u64 - 1, tick);
                assert!(e.at >= due, "{r:?} travels at {}, before {due}", e.at);
                got.push((r.key, r.start, r.end, r.value));
            }
            assert!(run.late.is_empty());
            got.sort();
            expected.sort();
            assert_eq!(got, expected, "seed {seed}");
        }
    }

    #[test]
    fn a_late_record_bridges_two_fired_sessions() {
        let at = |ts, value| Timed {
            ts,
            value: (1, value),
        };
        let steps = vec![
            Step::Batch(0, vec![at(0, 1), at(20, 2)]),
            Step::Frontier(50),
            // Within the allowed lateness of both: `[10, 20)` touches `[0, 10)` and
            // `[20, 30)`, and the three make one session, fired at once.
            Step::Batch(50, vec![at(10, 4)]),
            // Past the lateness of the merged session (closed at 31): late.
            Step::Batch(140, vec![at(25, 8)]),
        ];
        let run = run::<Record, WindowResult<u64, u64>, _>(&mut logic(10, 1, 100), steps);
        let results: Vec<(bool, i64, i64, u64)> = run
            .results
            .iter()
            .map(|e| {
                (
                    e.fired,
                    e.result.value.start,
                    e.result.value.end,
                    e.result.value.value,
                )
            })
            .collect();
        assert_eq!(
            results,
            [(true, 0, 10, 1), (true, 20, 30, 2), (false, 0, 30, 7)]
        );
        assert_eq!(run.late, [at(25, 8)]);
    }
}
