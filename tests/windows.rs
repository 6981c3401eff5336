//! Windowed pipelines end to end: event time, tumbling and sliding windows, every
//! aggregation, allowed lateness and late output, at 1, 2 and 4 workers.

use tidemill::prelude::*;
use tidemill::window::WindowResult;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    ts: u64,
    value: u64,
}

fn reading(sensor: &str, ts: u64, value: u64) -> Reading {
    Reading {
        sensor: sensor.into(),
        ts,
        value,
    }
}

fn sorted<T: PartialOrd>(mut v: Vec<T>) -> Vec<T> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

#[test]
fn tumbling_count_per_key() {
    let input = vec![
        reading("a", 1_000, 1),
        reading("b", 2_500, 1),
        reading("a", 9_999, 1),
        reading("a", 10_000, 1),
        reading("b", 12_000, 1),
        reading("a", 7_000, 1), // 3 s out of order: within the bound
    ];
    for workers in [1, 2, 4] {
        let out = Collector::new();
        let report = tidemill::run(
            Args::with_workers(workers),
            stream! {
                from_collection(input.clone())
                    // The timeout never passes: a bounded source is never idle.
                    .assign_timestamps(|r| r.ts, out_of_orderness = 4s, idle_timeout = 1min)
                    .key_by(|r| r.sensor.clone())
                    .window(tumbling(10s))
                    .count()
                    .collect(out);
            },
        )
        .unwrap();
        assert!(report.late_dropped.is_empty(), "{report:?}");
        let got = sorted(out.take());
        let w = |key: &str, start: i64, value: u64| WindowResult {
            key: key.to_string(),
            start,
            end: start + 10_000,
            value,
        };
        assert_eq!(
            got,
            sorted(vec![
                w("a", 0, 3),
                w("b", 0, 1),
                w("a", 10_000, 1),
                w("b", 10_000, 1)
            ]),
            "at {workers} workers"
        );
    }
}

#[test]
fn processing_time_windows_count_every_record() {
    // Processing time: the wall clock at the source stamps each record, so which window a
    // record lands in depends on when it is read; every record is counted exactly once and
    // each window is reported once, with the job ending when the source does.
    let input: Vec<u64> = (0..10_000).collect();
    for workers in [1, 2, 4] {
        let out = Collector::new();
        let data = input.clone();
        tidemill::run(
            Args::with_workers(workers).source_batch(100),
            stream! {
                from_collection(data)
                    .with_processing_time()
                    .key_by(|x| x % 3)
                    .window(tumbling(5ms))
                    .count()
                    .collect(out);
            },
        )
        .unwrap();
        let got = out.take();
        let total: u64 = got.iter().map(|w| w.value).sum();
        assert_eq!(total, 10_000, "at {workers} workers");
        let mut windows: Vec<_> = got.iter().map(|w| (w.key, w.start)).collect();
        let n = windows.len();
        windows.sort();
        windows.dedup();
        assert_eq!(
            windows.len(),
            n,
            "a window fired twice at {workers} workers"
        );
        assert!(got.iter().all(|w| w.end - w.start == 5 && w.start % 5 == 0));
        let now = tidemill::time::now_ms() as i64;
        assert!(got
            .iter()
            .all(|w| w.end <= now + 5 && w.start > now - 600_000));
    }
}

/// Rolling aggregations on a timestamped stream keep event time: in streaming mode each
/// update carries its record's timestamp, so windowing the updates again counts them per
/// window; in batch mode each key's final value comes once.
#[test]
fn rolling_aggregations_keep_event_time() {
    let input: Vec<Reading> = (0..40u64)
        .map(|i| reading(["a", "b", "c"][(i % 3) as usize], i * 500, i))
        .collect();
    for workers in [1, 2, 4] {
        let (per_window, sums, finals) = (Collector::new(), Collector::new(), Collector::new());
        let data = input.clone();
        tidemill::run(
            Args::with_workers(workers).execution_mode(ExecutionMode::Streaming),
            stream! {
                let readings = from_collection(data).assign_timestamps(|r| r.ts, out_of_orderness = 1s);
                let updates = readings.key_by(|r| r.sensor.clone()).count();
                updates.window_all(tumbling(5s)).count().collect(per_window);
                readings.key_by(|r| r.sensor.clone()).sum(|r| r.value).collect(sums);
            },
        )
        .unwrap();
        // One update per record, each in the window of its record's event time.
        let got: Vec<(i64, u64)> = sorted(per_window.take())
            .into_iter()
            .map(|w: WindowResult<(), u64>| (w.start, w.value))
            .collect();
        let want: Vec<(i64, u64)> = (0..4).map(|k| (k * 5_000, 10)).collect();
        assert_eq!(got, want, "at {workers} workers");
        let sums: Vec<(String, u64)> = sums.take();
        assert_eq!(sums.len(), input.len());
        let last_a = sums.iter().filter(|s| s.0 == "a").map(|s| s.1).max();
        assert_eq!(last_a, Some((0..40).step_by(3).sum()));
        let data = input.clone();
        tidemill::run(
            Args::with_workers(workers).execution_mode(ExecutionMode::Batch),
            stream! {
                from_collection(data)
                    .assign_timestamps(|r| r.ts, out_of_orderness = 1s)
                    .key_by(|r| r.sensor.clone())
                    .reduce(|a, b| reading(&a.sensor, a.ts.max(b.ts), a.value + b.value))
                    .collect(finals);
            },
        )
        .unwrap();
        let finals: Vec<(String, u64)> = sorted(
            finals
                .take()
                .into_iter()
                .map(|r: Reading| (r.sensor, r.value))
                .collect(),
        );
        let want: Vec<(String, u64)> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, s)| (s.to_string(), (i as u64..40).step_by(3).sum()))
            .collect();
        assert_eq!(finals, want, "batch reduce at {workers} workers");
    }
}

#[test]
fn late_records_arriving_together_each_update_the_fired_window() {
    // Source batches of two records: the first moves the watermark past the end of
    // [0, 10 s), which fires while later windows' records come; the last batch brings
    // two records of [0, 10 s), late but within the allowed lateness, in one batch. Each
    // must update the window: the last result counts all three records of key "a" (and
    // of the window, for window_all).
    let mut input = vec![reading("a", 1_000, 1), reading("a", 18_000, 1)];
    input.extend((0..20).map(|_| reading("b", 18_000, 1)));
    input.extend([reading("a", 5_000, 1), reading("a", 6_000, 1)]);
    let keyed = Collector::new();
    let all = Collector::new();
    let report = tidemill::run(
        Args::with_workers(1).source_batch(2),
        stream! {
            let readings = from_collection(input)
                .assign_timestamps(|r| r.ts, out_of_orderness = 4s);
            readings
                .key_by(|r| r.sensor.clone())
                .window(tumbling(10s))
                .allowed_lateness(30s)
                .count()
                .collect(keyed);
            readings
                .window_all(tumbling(10s))
                .allowed_lateness(30s)
                .count()
                .collect(all);
        },
    )
    .unwrap();
    assert!(report.late_dropped.is_empty(), "{report:?}");
    fn last<K>(results: Vec<WindowResult<K, u64>>) -> Vec<u64> {
        results
            .into_iter()
            .filter(|r| r.start == 0)
            .map(|r| r.value)
            .collect()
    }
    let (keyed, all) = (last(keyed.take()), last(all.take()));
    assert_eq!(
        keyed.last(),
        Some(&3),
        "keyed results of [0, 10 s): {keyed:?}"
    );
    assert_eq!(
        all.last(),
        Some(&3),
        "window_all results of [0, 10 s): {all:?}"
    );
    // The window fired before the late records came, or this test checks nothing.
    assert!(keyed.len() > 1 && all.len() > 1, "{keyed:?} {all:?}");
}
