//! The examples end to end: the binaries at 1, 2 and 4 workers against
//! brute-force references computed here from the same input.

use std::collections::BTreeMap;
use std::process::Command;

mod common;

fn run(example: &str, workers: u32) -> (Vec<String>, String) {
    run_with(example, workers, &[])
}

/// Runs `example` at `workers` workers with `args`; its sorted stdout lines and stderr.
fn run_with(example: &str, workers: u32, args: &[&str]) -> (Vec<String>, String) {
    let output = Command::new(common::example_binary(example))
        .args(["-w", &workers.to_string()])
        .args(args)
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

#[derive(serde::Deserialize)]
struct Transaction {
    transaction_id: u64,
    account_id: u64,
    amount: f64,
    timestamp: u64,
}

/// The bundled transactions that parse, and the lines that do not.
fn bundled_transactions() -> (Vec<Transaction>, Vec<String>) {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/transactions.jsonl"),
    )
    .unwrap();
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for line in text.lines() {
        match serde_json::from_str(line) {
            Ok(t) => good.push(t),
            Err(_) => bad.push(line.to_string()),
        }
    }
    (good, bad)
}

#[test]
fn transaction_filter_prints_large_transactions_and_reports_bad_lines() {
    let (good, bad) = bundled_transactions();
    assert_eq!(bad.len(), 1);
    let mut want: Vec<String> = good
        .iter()
        .filter(|t| t.amount > 1000.0)
        .map(|t| {
            format!(
                "large {} account {} amount {:.2}",
                t.transaction_id, t.account_id, t.amount
            )
        })
        .collect();
    want.sort();
    assert!(want.len() > 5);
    for workers in [1, 2] {
        let (lines, _) = run("transaction_filter", workers);
        let (bad_lines, large): (Vec<String>, Vec<String>) = lines
            .into_iter()
            .partition(|l| l.starts_with("bad record: "));
        assert_eq!(large, want, "at {workers} workers");
        assert_eq!(bad_lines.len(), 1, "{bad_lines:?}");
        assert!(bad_lines[0].ends_with(&bad[0]), "{bad_lines:?}");
        assert!(bad_lines[0].contains("expected f64"), "{bad_lines:?}");
    }
}

#[test]
fn the_sql_transaction_filter_prints_flink_rows_and_dead_letters() {
    let (good, bad) = bundled_transactions();
    let mut want: Vec<String> = good
        .iter()
        .filter(|t| t.amount > 1000.0)
        .map(|t| {
            // Java's Double.toString for these amounts (cents, under 10^7).
            let amount = format!("{:?}", t.amount);
            format!("+I[{}, {amount}, {}]", t.transaction_id, t.timestamp)
        })
        .collect();
    want.sort();
    assert!(want.len() > 5);
    for workers in [1, 2] {
        let (lines, _) = run("sql_transaction_filter", workers);
        let (dead, rows): (Vec<String>, Vec<String>) = lines
            .into_iter()
            .partition(|l| l.starts_with("dead letter: "));
        assert_eq!(rows, want, "at {workers} workers");
        assert_eq!(dead.len(), bad.len(), "{dead:?}");
    }
}

/// Flink's fraud rule over one account's transactions in event-time order: alerts and
/// the small transactions whose minute expired.
fn fraud_reference(account: u64, mut txs: Vec<&Transaction>) -> (Vec<String>, Vec<String>) {
    txs.sort_by_key(|t| t.timestamp);
    let (mut alerts, mut expired) = (Vec::new(), Vec::new());
    let mut flag: Option<(u64, u64)> = None;
    for t in txs {
        if let Some((id, at)) = flag {
            if t.timestamp > at + 60_000 {
                expired.push(format!(
                    "expired account {} small transaction {id}",
                    t.account_id
                ));
                flag = None;
            }
        }
        if flag.take().is_some() && t.amount > 500.0 {
            alerts.push(format!(
                "alert account {} transaction {} amount {:.2}",
                t.account_id, t.transaction_id, t.amount
            ));
        }
        if t.amount < 1.0 {
            flag = Some((t.transaction_id, t.timestamp));
        }
    }
    // The last flag's timer fires when the input ends.
    if let Some((id, _)) = flag {
        expired.push(format!("expired account {account} small transaction {id}"));
    }
    (alerts, expired)
}

#[test]
fn fraud_detection_matches_the_rule_in_event_time_order() {
    let (good, _) = bundled_transactions();
    let mut want = Vec::new();
    for account in 1..=5 {
        let txs: Vec<&Transaction> = good.iter().filter(|t| t.account_id == account).collect();
        let (alerts, expired) = fraud_reference(account, txs);
        want.extend(alerts);
        want.extend(expired);
    }
    want.sort();
    assert!(want.iter().any(|l| l.starts_with("alert")));
    for workers in [1, 2, 4] {
        let (lines, _) = run("fraud_detection", workers);
        let (bad, got): (Vec<String>, Vec<String>) = lines
            .into_iter()
            .partition(|l| l.starts_with("bad record: "));
        assert_eq!(got, want, "at {workers} workers");
        assert_eq!(bad.len(), 1, "{bad:?}");
    }
}

#[test]
fn fraud_detection_on_a_scripted_sequence() {
    let minute = 60_000;
    let lines = [
        // Account 1: small, then large within the minute: alert.
        (1, 1, 0.5, 0),
        (2, 1, 900.0, 30_000),
        // Account 2: small, then large after the minute: the flag's timer fired first.
        (3, 2, 0.5, 0),
        (4, 2, 900.0, minute + 1),
        // Account 3: a medium transaction in between clears the flag.
        (5, 3, 0.5, 0),
        (6, 3, 20.0, 10_000),
        (7, 3, 900.0, 20_000),
        // Account 4: large exactly a minute after the small one: still within it.
        (8, 4, 0.5, 0),
        (9, 4, 900.0, minute),
        // Account 5: the large one arrives first but happened 2 s after the small one.
        (10, 5, 900.0, 7_000),
        (11, 5, 0.5, 5_000),
        // Time moves on for everyone.
        (12, 6, 10.0, 10 * minute),
    ];
    let mut text: String = lines
        .iter()
        .map(|(id, account, amount, ts)| {
            format!(
                "{{\"transaction_id\": {id}, \"account_id\": {account}, \"amount\": {amount}, \"timestamp\": {ts}}}\n"
            )
        })
        .collect();
    text.push_str("not json\n");
    let file = std::env::temp_dir().join(format!("tidemill-fraud-{}.jsonl", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let want = [
        "alert account 1 transaction 2 amount 900.00",
        "alert account 4 transaction 9 amount 900.00",
        "alert account 5 transaction 10 amount 900.00",
        "bad record: expected ident at line 1 column 2: not json",
        "expired account 2 small transaction 3",
    ];
    for workers in [1, 2, 4] {
        let (got, _) = run_with("fraud_detection", workers, &[file.to_str().unwrap()]);
        assert_eq!(got, want, "at {workers} workers");
    }
    std::fs::remove_file(&file).unwrap();
}
