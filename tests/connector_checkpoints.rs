//! The job of issue #17 end to end: per-sensor window counts from a Kafka topic into an
//! upserted and an insert-only PostgreSQL table, killed with SIGKILL at random points
//! and restored with `--restore latest`. Both tables and an output topic must hold each
//! window exactly once, as computed by brute force from what the input topic holds. Needs the local broker
//! and database (`scripts/kafka.sh`, `scripts/postgres.sh`).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tidemill::kafka::rdkafka;
use tidemill::postgres::client as postgres;

mod common;

#[derive(serde::Deserialize)]
struct Reading {
    sensor: i64,
    ts: i64,
    value: i64,
}

/// `(sensor, window_start) -> (count, total)` of one-second windows.
type Windows = BTreeMap<(i64, i64), (i64, i64)>;

fn windows_of(readings: &[Reading]) -> Windows {
    let mut windows = Windows::new();
    for r in readings {
        let w = windows.entry((r.sensor, r.ts / 1000 * 1000)).or_default();
        w.0 += 1;
        w.1 += r.value;
    }
    windows
}

/// The rows of `table`, in order, as `((sensor, window_start), (count, total))`.
fn rows(url: &str, table: &str) -> Vec<((i64, i64), (i64, i64))> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client
        .query(
            &format!("SELECT sensor, window_start, count, total FROM {table} ORDER BY 1, 2, 3, 4"),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
        .collect()
}

#[test]
fn a_windowed_kafka_to_postgres_job_killed_and_restored_writes_each_window_once() {
    let (brokers, url) = (common::kafka_brokers(), common::postgres_url());
    let example = common::example_binary("kafka_window_counts");
    let name = common::unique("counts").replace('-', "_");
    let base = |cmd: &mut Command| {
        cmd.args(["--brokers", &brokers, "--postgres", &url])
            .args(["--topic", &name, "--table", &name]);
    };
    let mut setup = Command::new(&example);
    base(&mut setup);
    let status = setup
        .args(["--setup", "2000", "--output-topic", &format!("{name}_out0")])
        .status()
        .unwrap();
    assert!(status.success());
    let readings: Vec<Reading> = common::consume_all(&brokers, &name)
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    // The local broker can lose an acknowledged record (see `one_per_batch`): the
    // reference is what the topic holds.
    assert!(
        readings.len() >= 1990,
        "the broker lost too many: {}",
        readings.len()
    );
    let want: Vec<_> = windows_of(&readings).into_iter().collect();
    let ckpt = std::env::temp_dir().join(&name);
    let job = |workers: &str, restore: bool, run: u32| {
        let mut cmd = Command::new(&example);
        base(&mut cmd);
        cmd.args(["--output-topic", &format!("{name}_out{run}")]);
        cmd.args([
            "--until-end",
            "-w",
            workers,
            "--pace",
            "3",
            "--source-batch",
            "50",
        ])
        .args(["--checkpoint-interval", "30ms", "--checkpoint-dir"])
        .arg(&ckpt)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        if restore {
            cmd.args(["--restore", "latest"]);
        }
        cmd
    };
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut kills = 0;
    // Each run is killed twice and restored: at one number of workers throughout, or at
    // others (a checkpoint taken at one restores at another: keyed state moves by key
    // group, Kafka partitions are reassigned from their offsets, and each sink recovers
    // the old workers' output).
    let layouts = [
        ["2", "2", "2"],
        ["1", "1", "1"],
        ["2", "4", "1"],
        ["1", "2", "4"],
        ["4", "1", "2"],
    ];
    for (run, workers) in (0..).zip(layouts) {
        client
            .batch_execute(&format!("TRUNCATE {name}; TRUNCATE {name}_log"))
            .unwrap();
        let _ = std::fs::remove_dir_all(&ckpt);
        let output_topic = format!("{name}_out{run}");
        tidemill::kafka::admin::create_topic(&brokers, &output_topic, 2).unwrap();
        // What each attempt printed, for a failure's message.
        let mut attempts = String::new();
        for (attempt, at) in workers[..2].iter().enumerate() {
            let mut child = job(at, attempt > 0, run).spawn().unwrap();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let after = 100 + seed % 1200;
            std::thread::sleep(Duration::from_millis(after));
            let killed = child.try_wait().unwrap().is_none();
            if killed {
                child.kill().unwrap(); // SIGKILL
                kills += 1;
            }
            let output = child.wait_with_output().unwrap();
            attempts += &format!(
                "attempt {attempt} at -w {at}, {} after {after} ms: {}\n",
                if killed { "killed" } else { "ended" },
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let mut last = job(workers[2], true, run).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while last.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "run {run} did not end");
            std::thread::sleep(Duration::from_millis(10));
        }
        let last = last.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&last.stderr);
        assert!(last.status.success(), "run {run}: {stderr}");
        assert_eq!(
            rows(&url, &name),
            want,
            "run {run} at -w {workers:?}: the upserted table\n{attempts}last: {stderr}"
        );
        assert_eq!(
            rows(&url, &format!("{name}_log")),
            want,
            "run {run} at -w {workers:?}: the insert-only table, where a replayed window would show twice\n{attempts}last: {stderr}"
        );
        let records = common::read_topic(&brokers, &output_topic);
        let mut sent: Vec<_> = records
            .iter()
            .map(|record| {
                let row = record.payload.as_deref().expect("a record with a value");
                let row: serde_json::Value = serde_json::from_str(row).unwrap();
                let at = |f: &str| row[f].as_i64().unwrap();
                let key = record.key.clone();
                assert_eq!(key, Some(at("sensor").to_string()), "keyed by sensor");
                (
                    (at("sensor"), at("window_start")),
                    (at("count"), at("total")),
                )
            })
            .collect();
        sent.sort();
        // Every window once: a duplicate or a foreign row fails. The broker itself can
        // lose an acknowledged record (tansu's idempotent produce, see
        // `tidemill::kafka::admin::one_per_batch`; CI lost one window so): one missing
        // window is reported, more fail.
        let (mut missing, mut extra) = (Vec::new(), Vec::new());
        let (mut w, mut s) = (want.iter().peekable(), sent.iter().peekable());
        loop {
            match (w.peek(), s.peek()) {
                (Some(a), Some(b)) if a == b => {
                    w.next();
                    s.next();
                }
                (Some(a), Some(b)) if a < b => missing.push(*w.next().unwrap()),
                (Some(_), Some(_)) | (None, Some(_)) => extra.push(*s.next().unwrap()),
                (Some(_), None) => missing.push(*w.next().unwrap()),
                (None, None) => break,
            }
        }
        if !extra.is_empty() || missing.len() > 1 {
            // Where each record is and who sent it, to tell a sink's fault from a
            // reader's or the broker's.
            let topic: Vec<String> = records.iter().map(|r| format!("{r:?}")).collect();
            panic!(
                "run {run} at -w {workers:?}: the output topic, where a resent window would show twice: \
                 missing {missing:?}, extra {extra:?}\n\
                 {attempts}last: {stderr}\n\
                 the topic:\n{}\n{}",
                topic.join("\n"),
                common::broker_log()
            );
        }
        if !missing.is_empty() {
            eprintln!(
                "warning: run {run}: the output topic lacks the window {missing:?} (lost by the broker?); {}",
                common::broker_log()
            );
        }
    }
    assert!(kills >= 6, "only {kills} of 10 kills hit a running job");
    let _ = std::fs::remove_dir_all(&ckpt);
}

#[test]
fn a_savepoint_commits_the_kafka_offsets_it_holds_to_the_group() {
    use rdkafka::consumer::Consumer;
    let (brokers, url) = (common::kafka_brokers(), common::postgres_url());
    let example = common::example_binary("kafka_window_counts");
    let name = common::unique("savepoint").replace('-', "_");
    let base = |cmd: &mut Command| {
        cmd.args(["--brokers", &brokers, "--postgres", &url])
            .args(["--topic", &name, "--table", &name])
            .args(["--output-topic", &format!("{name}_out")]);
    };
    let mut setup = Command::new(&example);
    base(&mut setup);
    assert!(setup.args(["--setup", "300"]).status().unwrap().success());
    let read = common::consume_all(&brokers, &name).len() as i64;
    let ckpt = std::env::temp_dir().join(&name);
    // Unbounded, and no periodic checkpoint within the run: only the savepoint commits.
    let mut job = Command::new(&example);
    base(&mut job);
    job.args(["-w", "2", "--checkpoint-interval", "1h", "--checkpoint-dir"])
        .arg(&ckpt)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let running = job.spawn().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let killed = Command::new("kill")
        .args(["-TERM", &running.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = running.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("stopped with savepoint"), "{stderr}");
    // The group's offsets are the savepoint's: past every record the job read.
    let consumer: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "sensor-counts")
        .create()
        .unwrap();
    let mut list = rdkafka::TopicPartitionList::new();
    for p in 0..4 {
        list.add_partition(&name, p);
    }
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .unwrap();
    let total: i64 = committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            rdkafka::Offset::Offset(o) => o,
            _ => 0,
        })
        .sum();
    assert_eq!(total, read, "committed offsets: {committed:?}; {stderr}");
    let _ = std::fs::remove_dir_all(&ckpt);
}
