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
                    .assign_timestamps(|r| r.ts, out_of_orderness = 4s)
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
