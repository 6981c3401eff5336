//! Event-time windows against a brute-force reference model, on random out-of-order
//! input (some records beyond the declared bound), at 1, 2 and 4 workers.
//!
//! The model keeps all records in memory and computes every window directly from
//! Flink's rules (`docs/flink-semantics.md`). Which records are late depends on the
//! watermark of the source that read them, so the model mirrors how `from_collection`
//! splits its input (worker `i` of `n` reads elements `i, i + n, ...`) and each source's
//! watermark (`max seen - bound - 1`, updated after every record).

use std::collections::BTreeMap;

use proptest::prelude::*;
use tidemill::prelude::*;

mod common;

/// `(key, event time ms, value)`.
type Rec = (u8, u64, u64);

// The pipeline's constants; the macro derives the same tick (gcd of 100, 30 and 50).
const BOUND: u64 = 40;
const LATENESS: u64 = 50;
const TICK: u64 = 10;
const SIZE: u64 = 100;
const SLIDE: u64 = 30;

/// Window ends (of windows of `size` sliding by `slide`) that contain `ts`.
fn ends(ts: u64, size: u64, slide: u64) -> Vec<u64> {
    windows_ending(ts, ts - ts % slide + size, slide)
}

/// The ends of cumulating windows (starting at every multiple of `max`, ending at every
/// `step` after it up to `max`) that contain `ts`.
fn cumulating_ends(ts: u64, step: u64, max: u64) -> Vec<u64> {
    windows_ending(ts, ts - ts % max + max, step)
}

/// The ends of windows of `size` sliding by `slide` that contain `ts`, moved by `offset`
/// (starts at `offset` plus multiples of `slide`, Flink's rule).
fn moved_ends(ts: u64, size: u64, slide: u64, offset: u64) -> Vec<u64> {
    let (t, o, l) = (ts as i64, offset as i64, slide as i64);
    let last_start = t - (t - o).rem_euclid(l);
    windows_ending(ts, (last_start + size as i64) as u64, slide)
}

/// `last`, `last - step`, ... while after `ts`.
fn windows_ending(ts: u64, last: u64, slide: u64) -> Vec<u64> {
    (0..)
        .map(|j| last.checked_sub(j * slide))
        .take_while(|e| e.is_some_and(|e| e > ts))
        .flatten()
        .collect()
}

/// Each record with the timely time it travels at: its source's watermark time when late
/// (the shared model of `from_collection`'s watermark).
fn travel_times(input: &[Rec], workers: usize) -> Vec<u64> {
    common::travel_times(input.iter().map(|r| r.1), workers, BOUND, TICK)
}

/// Per `(key, window end)`, the records that count for the window; and the late records.
#[allow(
    clippy::type_complexity,
    reason = "the model returns its two maps side by side"
)]
fn model(
    input: &[Rec],
    workers: usize,
    size: u64,
    slide: u64,
    key: impl Fn(&Rec) -> u8,
) -> (BTreeMap<(u8, u64), Vec<Rec>>, Vec<Rec>) {
    model_of(input, workers, |ts| ends(ts, size, slide), key)
}

/// [`model`] of the windows `ends_of` gives a record.
#[allow(
    clippy::type_complexity,
    reason = "the model returns its two maps side by side"
)]
fn model_of(
    input: &[Rec],
    workers: usize,
    ends_of: impl Fn(u64) -> Vec<u64>,
    key: impl Fn(&Rec) -> u8,
) -> (BTreeMap<(u8, u64), Vec<Rec>>, Vec<Rec>) {
    let times = travel_times(input, workers);
    let mut windows: BTreeMap<(u8, u64), Vec<Rec>> = BTreeMap::new();
    let mut late = Vec::new();
    for (r, &time) in input.iter().zip(&times) {
        let open: Vec<u64> = ends_of(r.1)
            .into_iter()
            .filter(|e| e + LATENESS > time)
            .collect();
        if open.is_empty() {
            late.push(*r);
        }
        for e in open {
            windows.entry((key(r), e)).or_default().push(*r);
        }
    }
    (windows, late)
}

/// The last result of each `(key, window)`, checking that results of one window are
/// emitted by one worker in order (later results replace earlier ones).
fn last_results<K: Ord + Clone, V: Clone>(
    results: Vec<WindowResult<K, V>>,
) -> BTreeMap<(K, i64), V> {
    let mut last = BTreeMap::new();
    for r in results {
        last.insert((r.key.clone(), r.end), r.value);
    }
    last
}

fn expect<V>(
    windows: &BTreeMap<(u8, u64), Vec<Rec>>,
    f: impl Fn(&[Rec]) -> V,
) -> BTreeMap<(u8, i64), V> {
    windows
        .iter()
        .map(|((k, e), rs)| ((*k, *e as i64), f(rs)))
        .collect()
}

/// Sums values of a key: an aggregator written by a user.
struct SumValues;

impl Aggregator<Rec> for SumValues {
    type Acc = u64;
    type Out = u64;
    fn init(&self) -> u64 {
        0
    }
    fn add(&self, acc: &mut u64, r: Rec) {
        *acc += r.2;
    }
    fn merge(&self, acc: &mut u64, other: &u64) {
        *acc += other;
    }
    fn finish(&self, acc: &u64) -> u64 {
        *acc
    }
}

struct Outputs {
    counts: Vec<WindowResult<u8, u64>>,
    sliding_sums: Vec<WindowResult<u8, u64>>,
    sliding_late: Vec<Rec>,
    cumulating_sums: Vec<WindowResult<u8, u64>>,
    cumulating_late: Vec<Rec>,
    moved_sums: Vec<WindowResult<u8, u64>>,
    moved_late: Vec<Rec>,
    mins: Vec<WindowResult<u8, u64>>,
    maxes: Vec<WindowResult<u8, u64>>,
    avgs: Vec<WindowResult<u8, f64>>,
    reduced: Vec<WindowResult<u8, Rec>>,
    aggregated: Vec<WindowResult<u8, u64>>,
    all_counts: Vec<WindowResult<(), u64>>,
    processed: Vec<(u8, i64, Vec<Rec>)>,
    tumbling_late: Vec<Rec>,
    late_dropped: u64,
}

fn run(input: &[Rec], workers: u64, batch: u64) -> Outputs {
    let c: [Collector<WindowResult<u8, u64>>; 6] = Default::default();
    let (avgs, reduced, all_counts) = (Collector::new(), Collector::new(), Collector::new());
    let (sliding_late, tumbling_late) = (Collector::new(), Collector::new());
    let (cumulating_sums, cumulating_late) = (Collector::new(), Collector::new());
    let (moved_sums, moved_late) = (Collector::new(), Collector::new());
    let processed = Collector::new();
    let [counts, sliding_sums, mins, maxes, aggregated, _] = c;
    let data = input.to_vec();
    let report = tidemill::run(
        Args::with_workers(workers).source_batch(batch),
        stream! {
            let readings = from_collection(data)
                .assign_timestamps(|r| r.1, out_of_orderness = 40ms);
            let tumbling_counts = readings.key_by(0).window(tumbling(100ms)).allowed_lateness(50ms).count();
            tumbling_counts.collect(counts);
            tumbling_counts.late().collect(tumbling_late);
            let sums = readings.key_by(|r| r.0).window(sliding(100ms, 30ms)).allowed_lateness(50ms).sum(|r| r.2);
            sums.collect(sliding_sums);
            sums.late().collect(sliding_late);
            let cumulating = readings.key_by(0).window(cumulate(30ms, 90ms)).allowed_lateness(50ms).sum(|r| r.2);
            cumulating.collect(cumulating_sums);
            cumulating.late().collect(cumulating_late);
            let moved = readings.key_by(0).window(sliding(100ms, 30ms, offset = 20ms)).allowed_lateness(50ms).sum(|r| r.2);
            moved.collect(moved_sums);
            moved.late().collect(moved_late);
            readings.key_by(0).window(tumbling(100ms)).allowed_lateness(50ms).min(|r| r.2).collect(mins);
            readings.key_by(0).window(tumbling(100ms)).allowed_lateness(50ms).max(|r| r.2).collect(maxes);
            readings.key_by(0).window(tumbling(100ms)).allowed_lateness(50ms).avg(|r| r.2).collect(avgs);
            readings.key_by(0).window(tumbling(100ms)).allowed_lateness(50ms)
                .reduce(|a, b| (a.0, a.1.max(b.1), a.2 + b.2)).collect(reduced);
            readings.key_by(0).window(tumbling(100ms)).allowed_lateness(50ms).aggregate(SumValues).collect(aggregated);
            readings.window_all(tumbling(100ms)).allowed_lateness(50ms).count().collect(all_counts);
            readings.key_by(0).window(sliding(100ms, 30ms)).allowed_lateness(50ms)
                .process_window(|k, w, rs, out| out.push((*k, w.end, rs)))
                .collect(processed);
        },
    )
    .unwrap();
    Outputs {
        counts: counts.take(),
        sliding_sums: sliding_sums.take(),
        sliding_late: sliding_late.take(),
        cumulating_sums: cumulating_sums.take(),
        cumulating_late: cumulating_late.take(),
        moved_sums: moved_sums.take(),
        moved_late: moved_late.take(),
        mins: mins.take(),
        maxes: maxes.take(),
        avgs: avgs.take(),
        reduced: reduced.take(),
        aggregated: aggregated.take(),
        all_counts: all_counts.take(),
        processed: processed.take(),
        tumbling_late: tumbling_late.take(),
        late_dropped: report.late_dropped.iter().map(|(_, n)| n).sum(),
    }
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Mostly ascending event times, shuffled within the bound, and now and then a record
/// far behind (beyond the bound).
fn input() -> impl Strategy<Value = Vec<Rec>> {
    prop::collection::vec(
        (0u8..4, 0u64..25, 0u64..=BOUND, 0u64..10, 1u64..100),
        0..150,
    )
    .prop_map(|steps| {
        let mut clock = 0;
        steps
            .into_iter()
            .map(|(key, step, jitter, far, value)| {
                clock += step;
                let ts = if far == 0 {
                    clock.saturating_sub(BOUND + 20 + jitter * 5)
                } else {
                    clock.saturating_sub(jitter)
                };
                (key, ts, value)
            })
            .collect()
    })
}

fn check(input: &[Rec], workers: u64, batch: u64) {
    let n = workers as usize;
    let out = run(input, workers, batch);
    let (tumbling, tumbling_late) = model(input, n, SIZE, SIZE, |r| r.0);
    let (sliding, sliding_late) = model(input, n, SIZE, SLIDE, |r| r.0);
    let (all, _) = model(input, n, SIZE, SIZE, |_| 0);
    let at = format!("at {workers} workers");

    assert_eq!(
        last_results(out.counts),
        expect(&tumbling, |rs| rs.len() as u64),
        "count {at}"
    );
    assert_eq!(
        sorted(out.tumbling_late),
        sorted(tumbling_late.clone()),
        "late {at}"
    );
    assert_eq!(
        last_results(out.sliding_sums),
        expect(&sliding, |rs| rs.iter().map(|r| r.2).sum()),
        "sliding sum {at}"
    );
    assert_eq!(
        sorted(out.sliding_late),
        sorted(sliding_late.clone()),
        "sliding late {at}"
    );
    let (cumulating, cumulating_late) = model_of(
        input,
        n,
        |ts| cumulating_ends(ts, SLIDE, 3 * SLIDE),
        |r| r.0,
    );
    assert_eq!(
        last_results(out.cumulating_sums),
        expect(&cumulating, |rs| rs.iter().map(|r| r.2).sum()),
        "cumulating sum {at}"
    );
    assert_eq!(
        sorted(out.cumulating_late),
        sorted(cumulating_late),
        "cumulating late {at}"
    );
    let (moved, moved_late) = model_of(input, n, |ts| moved_ends(ts, SIZE, SLIDE, 20), |r| r.0);
    assert_eq!(
        last_results(out.moved_sums),
        expect(&moved, |rs| rs.iter().map(|r| r.2).sum()),
        "sliding sum with an offset {at}"
    );
    assert_eq!(
        sorted(out.moved_late),
        sorted(moved_late),
        "sliding late with an offset {at}"
    );
    assert_eq!(
        last_results(out.mins),
        expect(&tumbling, |rs| rs.iter().map(|r| r.2).min().unwrap()),
        "min {at}"
    );
    assert_eq!(
        last_results(out.maxes),
        expect(&tumbling, |rs| rs.iter().map(|r| r.2).max().unwrap()),
        "max {at}"
    );
    let avgs: BTreeMap<_, _> = last_results(out.avgs);
    let want: BTreeMap<_, _> = expect(&tumbling, |rs| {
        rs.iter().map(|r| r.2).sum::<u64>() as f64 / rs.len() as f64
    });
    assert_eq!(avgs, want, "avg {at}");
    let reduced: BTreeMap<_, _> = last_results(out.reduced)
        .into_iter()
        .map(|(k, r)| (k, (r.1, r.2)))
        .collect();
    assert_eq!(
        reduced,
        expect(&tumbling, |rs| (
            rs.iter().map(|r| r.1).max().unwrap(),
            rs.iter().map(|r| r.2).sum()
        )),
        "reduce {at}"
    );
    assert_eq!(
        last_results(out.aggregated),
        expect(&tumbling, |rs| rs.iter().map(|r| r.2).sum()),
        "aggregate {at}"
    );
    let all_counts: BTreeMap<i64, u64> = last_results(out.all_counts)
        .into_iter()
        .map(|((_, end), v)| (end, v))
        .collect();
    let want: BTreeMap<i64, u64> = all
        .iter()
        .map(|((_, e), rs)| (*e as i64, rs.len() as u64))
        .collect();
    assert_eq!(all_counts, want, "window_all count {at}");
    // `process_window` sees each window's records (all of them again on an update).
    let mut processed = BTreeMap::new();
    for (key, end, records) in out.processed {
        processed.insert((key, end), sorted(records));
    }
    assert_eq!(
        processed,
        expect(&sliding, |rs| sorted(rs.to_vec())),
        "process_window {at}"
    );
    // Late records of the seven windows without `.late()` are counted, not lost.
    let (_, all_late) = model(input, n, SIZE, SIZE, |_| 0);
    assert_eq!(
        out.late_dropped,
        5 * tumbling_late.len() as u64 + all_late.len() as u64 + sliding_late.len() as u64,
        "late count {at}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn windows_match_the_model(input in input(), batch in 1u64..8) {
        // Small source batches let windows fire while records still arrive, so late
        // records within the allowed lateness update windows that already fired.
        for workers in [1, 2, 4] {
            check(&input, workers, batch);
        }
    }
}

/// Within the declared bound, every window fires exactly once, whatever the split.
#[test]
fn in_bound_windows_fire_once() {
    let input: Vec<Rec> = (0..400u64)
        .map(|i| ((i % 3) as u8, i * 7 - (i * 13) % BOUND.min(i * 7 + 1), i))
        .collect();
    for workers in [1, 2, 4] {
        let out = run(&input, workers, 3);
        assert!(out.tumbling_late.is_empty() && out.late_dropped == 0);
        let mut seen = std::collections::BTreeSet::new();
        for r in &out.counts {
            assert!(
                seen.insert((r.key, r.end)),
                "{r:?} fired twice at {workers} workers"
            );
        }
        let total: u64 = out.counts.iter().map(|r| r.value).sum();
        assert_eq!(total, input.len() as u64);
    }
}

/// Sessions of each key by brute force: sorted timestamps, split where the next one is
/// more than a gap after the previous (records exactly a gap apart share a session).
/// `(key, start, end, records, sum of values)` per session.
fn sessions(input: &[Rec], gap: u64) -> Vec<(u8, i64, i64, u64, u64)> {
    let mut per_key: BTreeMap<u8, Vec<(u64, u64)>> = BTreeMap::new();
    for r in input {
        per_key.entry(r.0).or_default().push((r.1, r.2));
    }
    let mut out = Vec::new();
    for (key, mut ts) in per_key {
        ts.sort();
        let (mut start, mut last, mut count, mut sum) = (ts[0].0, ts[0].0, 0, 0);
        for (t, v) in ts {
            if t > last + gap {
                out.push((key, start as i64, (last + gap) as i64, count, sum));
                (start, count, sum) = (t, 0, 0);
            }
            last = t;
            count += 1;
            sum += v;
        }
        out.push((key, start as i64, (last + gap) as i64, count, sum));
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Session windows on out-of-order input within the bound: every session is found,
    /// merged across arrival order, and fires exactly once, at any worker count.
    #[test]
    fn sessions_match_the_model(
        input in input().prop_map(|v| v.into_iter().filter(|r| r.1 % 7 != 0).collect::<Vec<_>>()),
        batch in 1u64..8,
    ) {
        // Keep only records within the bound: re-derive them from a monotone clock.
        let mut clock = 0;
        let input: Vec<Rec> = input
            .into_iter()
            .map(|(k, ts, v)| {
                clock = clock.max(ts);
                (k, ts.max(clock.saturating_sub(BOUND)), v)
            })
            .collect();
        for workers in [1, 2, 4] {
            let (out, sums) = (Collector::new(), Collector::new());
            let data = input.clone();
            let report = tidemill::run(
                Args::with_workers(workers).source_batch(batch),
                stream! {
                    let readings = from_collection(data)
                        .assign_timestamps(|r| r.1, out_of_orderness = 40ms);
                    readings.key_by(0).window(session(15ms)).count().collect(out);
                    readings.key_by(0).window(session(15ms)).sum(|r| r.2).collect(sums);
                },
            )
            .unwrap();
            prop_assert!(report.late_dropped.is_empty());
            let sums: BTreeMap<(u8, i64, i64), u64> = sums
                .take()
                .into_iter()
                .map(|w: WindowResult<u8, u64>| ((w.key, w.start, w.end), w.value))
                .collect();
            let got = sorted(
                out.take()
                    .into_iter()
                    .map(|w| (w.key, w.start, w.end, w.value, sums[&(w.key, w.start, w.end)]))
                    .collect(),
            );
            prop_assert_eq!(&got, &sessions(&input, 15), "at {} workers", workers);
        }
    }
}
