//! The connector examples end to end against the local servers (`scripts/kafka.sh`,
//! `scripts/postgres.sh`): set up with the example's own `--setup`, run in bounded mode
//! (the fraud alerts as two processes of two workers), and checked against the input.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use tidemill::postgres::client::{Client, NoTls};

fn client(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

fn run_ok(binary: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(binary).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}",
        binary.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `binary` with `args` in one process of one worker (`-w 1`), which must succeed.
fn one_worker_ok(binary: &Path, args: &[&str]) -> Vec<std::process::Output> {
    vec![run_ok(binary, &[args, &["-w", "1"]].concat())]
}

/// Runs `binary` with `args` as two processes of two workers, which must succeed.
fn two_processes_ok(binary: &Path, args: &[&str]) -> [std::process::Output; 2] {
    let outputs = common::two_processes(binary, args);
    for (p, out) in outputs.iter().enumerate() {
        assert!(
            out.status.success(),
            "process {p} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    outputs
}

#[test]
fn fraud_alerts_from_kafka_reach_kafka_and_postgres_once_across_processes() {
    let (brokers, url) = (common::kafka_brokers(), common::postgres_url());
    let bin = common::example_binary("kafka_fraud_alerts");
    let (input, alerts) = (common::unique("transactions"), common::unique("alerts"));
    let table = common::unique("fraud_alerts").replace('-', "_");
    let flags = [
        "--brokers",
        &brokers,
        "--postgres",
        &url,
        "--transactions",
        &input,
        "--alerts",
        &alerts,
        "--table",
        &table,
    ];
    run_ok(&bin, &[&flags[..], &["--setup"]].concat());
    let mut args = flags.to_vec();
    args.push("--until-end");
    let outputs = two_processes_ok(&bin, &args);

    // The expected alerts.
    let expected = large_transactions();

    let rows = client(&url)
        .query(
            &format!("SELECT transaction_id, amount FROM {table} ORDER BY 1"),
            &[],
        )
        .unwrap();
    let in_table: Vec<(i64, String)> = rows
        .iter()
        .map(|r| (r.get(0), format!("{:.2}", r.get::<_, f64>(1))))
        .collect();
    assert_eq!(in_table, expected, "the table's alerts");

    let mut in_topic: Vec<(i64, String)> = common::consume_all(&brokers, &alerts)
        .iter()
        .map(|json| {
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            let amount = format!("{:.2}", v["amount"].as_f64().unwrap());
            (v["transaction_id"].as_i64().unwrap(), amount)
        })
        .collect();
    in_topic.sort();
    assert_eq!(in_topic, expected, "the topic's alerts, each once");

    // Both processes report the two malformed records between them.
    let dead: usize = outputs
        .iter()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .matches("dead letter:")
                .count()
        })
        .sum();
    assert_eq!(dead, 2, "dead letters printed");
}

/// The sample's transactions over 1000 (its malformed lines aside), as `(id, amount)`.
fn large_transactions() -> Vec<(i64, String)> {
    let sample = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/transactions.jsonl"),
    )
    .unwrap();
    let mut expected: Vec<(i64, String)> = sample
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["amount"].as_f64().is_some_and(|a| a > 1000.0))
        .map(|v| {
            let id = v["transaction_id"].as_i64().unwrap();
            (id, format!("{:.2}", v["amount"].as_f64().unwrap()))
        })
        .collect();
    expected.sort();
    assert!(expected.len() > 5, "the sample has large transactions");
    expected
}

#[test]
fn the_sql_fraud_query_from_kafka_prints_and_reaches_kafka_at_one_worker_and_across_processes() {
    let brokers = common::kafka_brokers();
    let bin = common::example_binary("kafka_fraud_alerts_sql");
    let input = common::unique("transactions");
    let setup = ["--brokers", &brokers, "--transactions", &input, "--setup"];
    run_ok(&bin, &setup);
    let expected = large_transactions();
    for layout in ["-w 1", "two processes"] {
        // Each run its own alerts topic.
        let alerts = common::unique("alerts");
        tidemill::kafka::admin::create_topic(&brokers, &alerts, 2).unwrap();
        let args = [
            "--brokers",
            &brokers,
            "--transactions",
            &input,
            "--alerts",
            &alerts,
            "--until-end",
        ];
        let outputs = if layout == "-w 1" {
            one_worker_ok(&bin, &args)
        } else {
            two_processes_ok(&bin, &args).into()
        };
        check_fraud_run(layout, &outputs, &brokers, &alerts, &expected);
    }
}

/// The printed rows, the alerts topic and the dead letters of one run of the SQL fraud
/// example.
fn check_fraud_run(
    layout: &str,
    outputs: &[std::process::Output],
    brokers: &str,
    alerts: &str,
    expected: &[(i64, String)],
) {
    // Printed as Flink rows, `+I[id, amount, timestamp]`, by both processes together.
    let mut printed: Vec<(i64, String)> = outputs
        .iter()
        .flat_map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.strip_prefix("+I[")?.strip_suffix(']').map(str::to_string))
                .collect::<Vec<_>>()
        })
        .map(|row| {
            let fields: Vec<&str> = row.split(", ").collect();
            assert_eq!(fields.len(), 3, "{row}");
            let amount: f64 = fields[1].parse().unwrap();
            (fields[0].parse().unwrap(), format!("{amount:.2}"))
        })
        .collect();
    printed.sort();
    assert_eq!(printed, expected, "the printed rows at {layout}");

    // The topic's records: JSON objects with the query's column names.
    let mut in_topic: Vec<(i64, String)> = common::consume_all(brokers, alerts)
        .iter()
        .map(|json| {
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            assert!(v["timestamp"].as_u64().is_some(), "{json}");
            let amount = format!("{:.2}", v["amount"].as_f64().unwrap());
            (v["transaction_id"].as_i64().unwrap(), amount)
        })
        .collect();
    in_topic.sort();
    assert_eq!(
        in_topic, expected,
        "the topic's rows, each once, at {layout}"
    );

    let dead: usize = outputs
        .iter()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .matches("dead letter:")
                .count()
        })
        .sum();
    assert_eq!(dead, 2, "dead letters printed at {layout}");
}

/// The reference of the recommendation examples: the topic's actions counted per pair,
/// the pairs seen more than once.
fn repeated_pairs(brokers: &str, topic: &str) -> BTreeMap<(i64, i64), i64> {
    // The reference: the topic's actions counted per pair, pairs seen more than once.
    let mut counts: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    let actions = common::consume_all(brokers, topic);
    let values: Vec<serde_json::Value> = actions
        .iter()
        .map(|json| serde_json::from_str(json).unwrap())
        .collect();
    // The setup's actions, each at most once (told apart by their timestamps, 10 ms
    // apart from a fixed start). The job's counts are checked against what the topic
    // holds; the Kafka sink's delivery of every record exactly once is tests/kafka.rs's
    // to check. The local broker (tansu, in memory) can lose an acknowledged idempotent
    // write: a produce that fails after advancing the producer's sequence number leaves
    // no record, and the client's retry is answered "duplicate", which counts as
    // delivered (the same engine's bug is reported as nisshi-io/nisshi#742). CI lost one
    // of the 3000 so once. A few such losses are reported here, not taken for ours.
    let mut stamps: Vec<u64> = values
        .iter()
        .map(|v| v["timestamp"].as_u64().unwrap())
        .collect();
    stamps.sort_unstable();
    let before = stamps.len();
    stamps.dedup();
    assert_eq!(stamps.len(), before, "an action is in the topic twice");
    let missing: Vec<u64> = (0..3000u64)
        .filter(|i| stamps.binary_search(&(1_700_000_000_000 + i * 10)).is_err())
        .collect();
    assert!(
        missing.len() <= 3,
        "the topic lacks {} of the 3000 actions set up: {missing:?}",
        missing.len()
    );
    if !missing.is_empty() {
        eprintln!("warning: the broker lost the setup's actions {missing:?}");
    }
    assert!(
        stamps.iter().all(|&t| t >= 1_700_000_000_000
            && (t - 1_700_000_000_000) % 10 == 0
            && (t - 1_700_000_000_000) / 10 < 3000),
        "an action in the topic was not set up"
    );
    for v in values {
        let pair = (
            v["user_id"].as_i64().unwrap(),
            v["item_id"].as_i64().unwrap(),
        );
        *counts.entry(pair).or_insert(0) += 1;
    }
    counts.retain(|_, c| *c > 1);
    assert!(counts.len() > 10, "some pairs repeat");
    counts
}

/// The table of counts, as `(user_id, item_id) -> count`.
fn counts_in(url: &str, table: &str) -> BTreeMap<(i64, i64), i64> {
    let rows = client(url)
        .query(&format!("SELECT user_id, item_id, count FROM {table}"), &[])
        .unwrap();
    let in_table: BTreeMap<(i64, i64), i64> = rows
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect();
    assert_eq!(in_table.len(), rows.len());
    in_table
}

#[test]
fn the_sql_recommendation_query_is_a_changelog_upserted_into_postgres_at_one_worker_and_across_processes(
) {
    let (brokers, url) = (common::kafka_brokers(), common::postgres_url());
    let bin = common::example_binary("recommendations_sql");
    let topic = common::unique("user_actions");
    let table = common::unique("recommendations_sql").replace('-', "_");
    let flags = [
        "--brokers",
        &brokers,
        "--postgres",
        &url,
        "--actions",
        &topic,
        "--table",
        &table,
    ];
    run_ok(&bin, &[&flags[..], &["--setup", "3000"]].concat());
    let mut args = flags.to_vec();
    args.extend(["--until-end", "--print"]);
    let counts = repeated_pairs(&brokers, &topic);
    for layout in ["-w 1", "two processes"] {
        // Each run upserts into an empty table.
        client(&url)
            .batch_execute(&format!("TRUNCATE {table}"))
            .unwrap();
        let outputs = if layout == "-w 1" {
            one_worker_ok(&bin, &args)
        } else {
            two_processes_ok(&bin, &args).into()
        };
        assert_eq!(counts_in(&url, &table), counts, "the table at {layout}");
        check_changelog(layout, &outputs, &counts);
    }
}

/// The printed changelog of a run of the SQL recommendation example: applied in order
/// per pair, it ends at `counts`.
fn check_changelog(
    layout: &str,
    outputs: &[std::process::Output],
    counts: &BTreeMap<(i64, i64), i64>,
) {
    // The printed changelog, applied in order per pair, ends at the same counts; each
    // update is a -U of the row before and a +U of the row after.
    let mut applied: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    let mut updates = 0;
    for out in outputs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        for line in stdout.lines().filter(|l| l.starts_with(['+', '-'])) {
            let (kind, rest) = line.split_at(2);
            let fields: Vec<i64> = rest
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(", ")
                .map(|f| f.parse().unwrap())
                .collect();
            let (pair, count) = ((fields[0], fields[1]), fields[2]);
            match kind {
                "+I" => assert!(
                    applied.insert(pair, count).is_none(),
                    "{line}: inserted twice"
                ),
                "-U" => {
                    assert_eq!(
                        applied.remove(&pair),
                        Some(count),
                        "{line}: not the row before"
                    );
                    updates += 1;
                }
                "+U" => assert!(
                    applied.insert(pair, count).is_none(),
                    "{line}: no -U before it"
                ),
                other => panic!("unexpected change {other}: {line}"),
            }
        }
    }
    assert_eq!(&applied, counts, "the printed changelog at {layout}");
    assert!(updates > 0, "some counts were updated at {layout}");
}

#[test]
fn recommendation_counts_from_kafka_are_upserted_into_postgres() {
    let (brokers, url) = (common::kafka_brokers(), common::postgres_url());
    let bin = common::example_binary("recommendations");
    let topic = common::unique("user-actions");
    let table = common::unique("recommendations").replace('-', "_");
    let flags = [
        "--brokers",
        &brokers,
        "--postgres",
        &url,
        "--actions",
        &topic,
        "--table",
        &table,
    ];
    run_ok(&bin, &[&flags[..], &["--setup", "3000"]].concat());
    run_ok(&bin, &[&flags[..], &["--until-end", "-w", "2"]].concat());

    let counts = repeated_pairs(&brokers, &topic);

    let rows = client(&url)
        .query(&format!("SELECT user_id, item_id, count FROM {table}"), &[])
        .unwrap();
    let in_table: BTreeMap<(i64, i64), i64> = rows
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect();
    assert_eq!(in_table.len(), rows.len());
    assert_eq!(in_table, counts);
}
