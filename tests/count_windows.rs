//! Count windows (`count_window(n)`, `count_window(n, step)`, `count_window_all`) on
//! random input at 1, 2 and 4 workers.
//!
//! Which records share a count window depends on the order they reach the key's worker.
//! At one worker that order is the input's, and the results must equal a brute-force
//! model exactly. At more workers each source's records arrive in their order, but the
//! sources interleave: the test rebuilds each key's arrival sequence from the windows'
//! contents (`process_window`) and checks that every window is the right slice of it,
//! that the sequence interleaves the sources' sequences in order, and that no record is
//! lost, invented or counted twice.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tidemill::prelude::*;

/// `(key, id)`: ids are unique, so a record can be traced.
type Rec = (u8, u64);

/// `(key, start, end, records)` from `process_window`.
type Contents = (u8, i64, i64, Vec<Rec>);

struct Outputs {
    tumbling: Vec<Contents>,
    sliding: Vec<Contents>,
    sliding_sums: Vec<WindowResult<u8, u64>>,
    all_counts: Vec<WindowResult<(), u64>>,
    timed_counts: Vec<WindowResult<u8, u64>>,
}

fn run(input: &[Rec], workers: u64, batch: u64) -> Outputs {
    let (tumbling, sliding) = (Collector::new(), Collector::new());
    let (sliding_sums, all_counts, timed_counts) =
        (Collector::new(), Collector::new(), Collector::new());
    let (data, timed) = (input.to_vec(), input.to_vec());
    let report = tidemill::run(
        Args::with_workers(workers).source_batch(batch),
        stream! {
            let records = from_collection(data);
            records.key_by(0).count_window(3)
                .process_window(|k, w, rs, out| out.push((*k, w.start, w.end, rs)))
                .collect(tumbling);
            records.key_by(0).count_window(4, 2)
                .process_window(|k, w, rs, out| out.push((*k, w.start, w.end, rs)))
                .collect(sliding);
            records.key_by(|r| r.0).count_window(4, 2).sum(|r| r.1).collect(sliding_sums);
            records.count_window_all(5).count().collect(all_counts);
            // With timestamps (ids as event times), and none of them late.
            from_collection(timed)
                .assign_timestamps(|r| r.1, out_of_orderness = 1s)
                .key_by(0)
                .count_window(2)
                .count()
                .collect(timed_counts);
        },
    )
    .unwrap();
    assert!(report.late_dropped.is_empty(), "count windows drop nothing");
    Outputs {
        tumbling: tumbling.take(),
        sliding: sliding.take(),
        sliding_sums: sliding_sums.take(),
        all_counts: all_counts.take(),
        timed_counts: timed_counts.take(),
    }
}

/// Each key's records in input order, per source worker (`from_collection` gives worker
/// `i` of `n` the elements `i, i + n, ...`).
fn per_source(input: &[Rec], workers: usize) -> BTreeMap<u8, Vec<Vec<Rec>>> {
    let mut out: BTreeMap<u8, Vec<Vec<Rec>>> = BTreeMap::new();
    for (i, r) in input.iter().enumerate() {
        out.entry(r.0).or_insert_with(|| vec![Vec::new(); workers])[i % workers].push(*r);
    }
    out
}

/// Checks that `windows` (of one key, any order) are the windows of `size` records every
/// `step` over one arrival sequence of the key's `n` records, and returns that sequence.
fn sequence_of(mut windows: Vec<Contents>, size: i64, step: i64, n: i64) -> Vec<Rec> {
    windows.sort_by_key(|w| w.2);
    let ends: Vec<i64> = windows.iter().map(|w| w.2).collect();
    let want: Vec<i64> = (1..=n / step).map(|i| i * step).collect();
    assert_eq!(ends, want, "window ends of a key with {n} records");
    let mut sequence: Vec<Rec> = Vec::new();
    for (_, start, end, records) in windows {
        assert_eq!(
            start,
            (end - size).max(0),
            "start of the window ending at {end}"
        );
        assert_eq!(
            records.len() as i64,
            end - start,
            "records of [{start}, {end})"
        );
        // The records before `end` already known must be the window's first ones.
        let known = &sequence[start as usize..];
        assert_eq!(&records[..known.len()], known, "[{start}, {end}) overlaps");
        sequence.extend_from_slice(&records[known.len()..]);
    }
    sequence
}

/// Checks that `sequence` takes each source's records in that source's order.
fn interleaves_in_order(sequence: &[Rec], sources: &[Vec<Rec>]) {
    for source in sources {
        let taken: Vec<Rec> = sequence
            .iter()
            .filter(|r| source.contains(r))
            .copied()
            .collect();
        assert_eq!(
            taken,
            source[..taken.len()],
            "a source's records out of order"
        );
    }
}

fn check(input: &[Rec], workers: u64, batch: u64) {
    let n = workers as usize;
    let out = run(input, workers, batch);
    let sources = per_source(input, n);
    let mut tumbling: BTreeMap<u8, Vec<Contents>> = BTreeMap::new();
    for w in out.tumbling {
        tumbling.entry(w.0).or_default().push(w);
    }
    let mut sliding: BTreeMap<u8, Vec<Contents>> = BTreeMap::new();
    for w in out.sliding {
        sliding.entry(w.0).or_default().push(w);
    }
    let mut sums: BTreeMap<u8, Vec<(i64, i64, u64)>> = BTreeMap::new();
    for r in out.sliding_sums {
        sums.entry(r.key)
            .or_default()
            .push((r.start, r.end, r.value));
    }
    for (key, srcs) in &sources {
        let count = srcs.iter().map(Vec::len).sum::<usize>() as i64;
        let full = tumbling.remove(key).unwrap_or_default();
        let seq = sequence_of(full, 3, 3, count);
        assert_eq!(
            seq.len() as i64,
            count - count % 3,
            "key {key}: a record lost or extra"
        );
        interleaves_in_order(&seq, srcs);
        let seq = sequence_of(sliding.remove(key).unwrap_or_default(), 4, 2, count);
        assert_eq!(seq.len() as i64, count - count % 2);
        interleaves_in_order(&seq, srcs);
        let mut key_sums = sums.remove(key).unwrap_or_default();
        key_sums.sort();
        let shapes: Vec<(i64, i64)> = key_sums.iter().map(|s| (s.0, s.1)).collect();
        let want: Vec<(i64, i64)> = (1..=count / 2)
            .map(|i| ((2 * i - 4).max(0), 2 * i))
            .collect();
        assert_eq!(shapes, want, "sliding sums of key {key}");
        if workers == 1 {
            // One worker: arrival order is input order, so the sums are exact.
            let ids: Vec<u64> = srcs[0].iter().map(|r| r.1).collect();
            let want: Vec<u64> = want
                .iter()
                .map(|&(s, e)| ids[s as usize..e as usize].iter().sum())
                .collect();
            let got: Vec<u64> = key_sums.iter().map(|s| s.2).collect();
            assert_eq!(got, want, "sliding sums of key {key} at one worker");
        }
    }
    assert!(
        tumbling.is_empty() && sliding.is_empty() && sums.is_empty(),
        "windows of no key"
    );
    // `count_window_all(5)`: one window per five records of the whole stream.
    let mut all: Vec<(i64, i64, u64)> = out
        .all_counts
        .iter()
        .map(|r| (r.start, r.end, r.value))
        .collect();
    all.sort();
    let total = input.len() as i64;
    let want: Vec<(i64, i64, u64)> = (0..total / 5).map(|i| (5 * i, 5 * i + 5, 5)).collect();
    assert_eq!(all, want, "count_window_all at {workers} workers");
    // Event-time records in count windows of 2: every pair fires, stamped, none late.
    let fired: u64 = out.timed_counts.iter().map(|r| r.value).sum();
    let want: u64 = sources
        .values()
        .map(|s| {
            let c = s.iter().map(Vec::len).sum::<usize>() as u64;
            c - c % 2
        })
        .sum();
    assert_eq!(fired, want, "timed count windows at {workers} workers");
}

fn input() -> impl Strategy<Value = Vec<Rec>> {
    prop::collection::vec(0u8..4, 0..120).prop_map(|keys| {
        keys.into_iter()
            .enumerate()
            .map(|(i, k)| (k, i as u64))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn count_windows_match_the_model(input in input(), batch in 1u64..8) {
        for workers in [1, 2, 4] {
            check(&input, workers, batch);
        }
    }
}
