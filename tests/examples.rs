//! The event-time examples end to end: the binaries at 1, 2 and 4 workers against
//! brute-force references computed here from the same input.

use std::collections::BTreeMap;
use std::process::Command;

mod common;

fn run(example: &str, workers: u32) -> (Vec<String>, String) {
    let output = Command::new(common::example_binary(example))
        .args(["-w", &workers.to_string()])
        .output()
        .expect("the example runs");
    assert!(output.status.success(), "{output:?}");
    let mut lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    (lines, String::from_utf8(output.stderr).unwrap())
}

#[test]
fn windowed_wordcount_matches_a_per_second_count() {
    // The bundled lines are within the example's 500 ms bound: no line is late.
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/timestamped.txt"),
    )
    .unwrap();
    let mut counts: BTreeMap<(u64, String), u64> = BTreeMap::new();
    for line in text.lines() {
        let (ts, words) = line.split_once('\t').unwrap();
        let second = ts.parse::<u64>().unwrap() / 1000 * 1000;
        for word in words
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            *counts.entry((second, word.to_lowercase())).or_default() += 1;
        }
    }
    let mut want: Vec<String> = counts
        .iter()
        .map(|((s, w), n)| format!("[{s}, {}) {w} {n}", s + 1000))
        .collect();
    want.sort();
    for workers in [1, 2, 4] {
        let (got, stderr) = run("windowed_wordcount", workers);
        assert_eq!(got, want, "at {workers} workers");
        assert!(!stderr.contains("late"), "{stderr}");
    }
    // Two processes: the combiner's partial counts cross a real network channel.
    let outputs = common::two_processes(&common::example_binary("windowed_wordcount"), &[]);
    let mut got: Vec<String> = Vec::new();
    for o in &outputs {
        assert!(o.status.success(), "{o:?}");
        got.extend(
            String::from_utf8(o.stdout.clone())
                .unwrap()
                .lines()
                .map(str::to_string),
        );
    }
    got.sort();
    assert_eq!(got, want, "at -n 2 -w 2");
}

#[test]
fn sensors_route_late_readings_and_report_the_rest() {
    let (lines, stderr) = run("sensors", 1);
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    assert!(count("avg ") > 30, "{lines:?}");
    assert!(count("late ") > 0, "{lines:?}");
    // Sensor c pauses twice, so it has three sessions; a and b report throughout.
    assert_eq!(count("session a "), 1, "{lines:?}");
    assert_eq!(count("session c "), 3, "{lines:?}");
    // The session windows' late readings are not routed: counted, and reported.
    assert!(
        stderr.contains("late record(s) dropped by the window aggregation `count`"),
        "{stderr}"
    );
    // Every reading is accounted for: in a session or counted as dropped.
    let in_sessions: u64 = lines
        .iter()
        .filter(|l| l.starts_with("session "))
        .map(|l| l.split(' ').nth(4).unwrap().parse::<u64>().unwrap())
        .sum();
    let dropped: u64 = stderr
        .split("tidemill: ")
        .filter_map(|s| s.split(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(in_sessions + dropped, 120 * 3 - 20 - 16);
}
