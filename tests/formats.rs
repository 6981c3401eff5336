//! JSON-lines and CSV files end to end, with malformed lines: every good record reaches
//! the sink, every bad one the dead-letter output with its line and reason, at 1, 2 and
//! 4 workers.

use std::path::{Path, PathBuf};

use tidemill::prelude::*;
use tidemill::Position;

const WORKERS: [u64; 3] = [1, 2, 4];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Txn {
    transaction_id: u64,
    amount: f64,
    timestamp: u64,
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tidemill-formats-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The lines of every part file in `dir`.
fn part_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        lines.extend(text.lines().map(str::to_string));
    }
    lines
}

/// 300 transactions as JSON lines, with a malformed line after every 50th (its line
/// number, 1-based, is recorded) and a few blank lines.
fn transactions(path: &Path) -> (Vec<Txn>, Vec<u64>) {
    let mut text = String::new();
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    let mut line = 0;
    for i in 0..300u64 {
        let txn = Txn {
            transaction_id: i,
            amount: (i * 37 % 2000) as f64 + 0.25,
            timestamp: 1_000 * i,
        };
        text.push_str(&serde_json::to_string(&txn).unwrap());
        text.push('\n');
        line += 1;
        good.push(txn);
        if i % 50 == 49 {
            text.push_str(&format!(
                "{{\"transaction_id\": {i}, \"amount\": \"lots\"\n"
            ));
            line += 1;
            bad.push(line);
        }
        if i % 70 == 0 {
            text.push('\n');
            line += 1;
        }
    }
    std::fs::write(path, text).unwrap();
    (good, bad)
}

#[test]
fn json_lines_to_json_lines_routes_bad_lines_to_the_dead_letters() {
    let dir = scratch("json");
    let input = dir.join("txns.jsonl");
    let (good, bad_lines) = transactions(&input);
    for w in WORKERS {
        let out = dir.join(format!("alerts-{w}"));
        let dead = Collector::new();
        let path = input.clone();
        let sink_dir = out.clone();
        let report = tidemill::run(
            Args::with_workers(w),
            stream! {
                let txns = from_source(json_lines::<Txn>(path));
                txns.dead_letters().collect(dead);
                txns.filter(|t| t.amount > 1000.0).sink(json_lines_sink(sink_dir));
            },
        )
        .unwrap();
        let mut alerts: Vec<Txn> = part_lines(&out)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        alerts.sort_by_key(|t| t.transaction_id);
        let expected: Vec<Txn> = good.iter().filter(|t| t.amount > 1000.0).cloned().collect();
        assert!(!expected.is_empty());
        assert_eq!(alerts, expected, "at -w {w}");
        let mut dead = dead.take();
        dead.sort_by(|a, b| a.position.cmp(&b.position));
        let lines: Vec<Position> = dead.iter().map(|d| d.position.clone()).collect();
        let expected_lines: Vec<Position> = bad_lines.iter().map(|&l| Position::Line(l)).collect();
        assert_eq!(lines, expected_lines, "at -w {w}");
        for d in &dead {
            assert_eq!(d.source, format!("file `{}`", input.display()));
            assert!(d.reason.contains("expected f64"), "{}", d.reason);
            assert!(d.payload.ends_with(b"\"amount\": \"lots\""));
        }
        assert_eq!(
            report.dead_letters,
            [(
                format!("file `{}`", input.display()),
                bad_lines.len() as u64
            )]
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unrouted_dead_letters_are_counted_and_timestamped_sources_keep_them_too() {
    let dir = scratch("unrouted");
    let input = dir.join("txns.jsonl");
    let (good, bad_lines) = transactions(&input);
    for w in WORKERS {
        let (counts, dead) = (Collector::new(), Collector::new());
        let (first, second) = (input.clone(), input.clone());
        let report = tidemill::run(
            Args::with_workers(w),
            stream! {
                // Dead letters of a source absorbed into its timestamp assigner's operator.
                let timed = from_source(json_lines::<Txn>(first));
                timed.dead_letters().map(|d| d.position).collect(dead);
                timed
                    .map(|t| (t.transaction_id % 3, t.timestamp))
                    .assign_timestamps(|t| t.1, out_of_orderness = 1s)
                    .key_by(0)
                    .window(tumbling(100s))
                    .count()
                    .collect(counts);
                // Not routed: written to stderr and counted.
                from_source(json_lines::<Txn>(second)).discard();
            },
        )
        .unwrap();
        let total: u64 = counts.take().iter().map(|r| r.value).sum();
        assert_eq!(total, good.len() as u64, "at -w {w}");
        let mut lines = dead.take();
        lines.sort();
        let expected: Vec<Position> = bad_lines.iter().map(|&l| Position::Line(l)).collect();
        assert_eq!(lines, expected, "at -w {w}");
        // Both sources read the same file: each counts its own dead letters.
        assert_eq!(
            report.dead_letters,
            [(
                format!("file `{}`", input.display()),
                2 * bad_lines.len() as u64
            )]
        );
        assert_eq!(report.discarded, good.len() as u64);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_with_a_header_to_csv_lines() {
    let dir = scratch("csv");
    let input = dir.join("txns.csv");
    let mut text = String::from("timestamp,transaction_id,amount\n");
    for i in 0..100u64 {
        text.push_str(&format!("{},{i},{}.5\n", i * 10, i * 30));
        if i == 41 {
            text.push_str("420,forty-one,1.0\n"); // line 44
        }
    }
    std::fs::write(&input, text).unwrap();
    for w in WORKERS {
        let out = dir.join(format!("out-{w}"));
        let dead = Collector::new();
        let (path, sink_dir) = (input.clone(), out.clone());
        tidemill::run(
            Args::with_workers(w),
            stream! {
                let txns = from_source(csv_file::<Txn>(path));
                txns.dead_letters().collect(dead);
                txns.filter(|t| t.amount > 1000.0)
                    .map(|t| (t.transaction_id, t.amount))
                    .sink(csv_sink(sink_dir));
            },
        )
        .unwrap();
        let mut lines = part_lines(&out);
        lines.sort();
        let mut expected: Vec<String> = (34..100u64).map(|i| format!("{i},{}.5", i * 30)).collect();
        expected.sort();
        assert_eq!(lines, expected, "at -w {w}");
        let dead = dead.take();
        assert_eq!(dead.len(), 1, "at -w {w}");
        assert_eq!(dead[0].position, Position::Line(44));
        assert_eq!(dead[0].payload, b"420,forty-one,1.0");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bounded_spec_makes_a_batch_job() {
    // Rolling aggregates emit final values only in batch mode: a file source is bounded.
    let dir = scratch("batch");
    let input = dir.join("txns.jsonl");
    let (good, _) = transactions(&input);
    let counts = Collector::new();
    let path = input.clone();
    tidemill::run(
        Args::with_workers(2),
        stream! {
            from_source(json_lines::<Txn>(path))
                .map(|t| (t.transaction_id % 2, 1u64))
                .key_by(0)
                .sum(1)
                .collect(counts);
        },
    )
    .unwrap();
    let mut counts = counts.take();
    counts.sort();
    assert_eq!(
        counts,
        [(0, good.len() as u64 / 2), (1, good.len() as u64 / 2)]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
