//! Kafka end to end against a real broker (`scripts/kafka.sh` starts one): multi-partition
//! topics read in bounded mode at several worker counts, malformed records to the dead
//! letters, offsets committed, and an idempotent sink whose output a plain consumer reads
//! back. Without a broker these tests fail with what to run.

use tidemill::kafka::rdkafka;
mod common;
use tidemill::kafka::admin::{one_per_batch, ONE_PER_BATCH};

use std::time::Duration;

use tidemill::kafka::admin::create_topic;
use tidemill::prelude::*;
use tidemill::Position;

#[derive(Clone, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
struct Txn {
    transaction_id: u64,
    amount: f64,
    timestamp: u64,
}

/// `n` transactions as JSON, and after every 41st a malformed record (unique payloads).
fn records(n: u64) -> (Vec<Txn>, Vec<String>, Vec<String>) {
    let (mut txns, mut bad, mut all) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let txn = Txn {
            transaction_id: i,
            amount: (i * 7919 % 1500) as f64,
            timestamp: 1_000 * i,
        };
        all.push(serde_json::to_string(&txn).unwrap());
        txns.push(txn);
        if i % 41 == 40 {
            let broken = format!("{{\"transaction_id\": {i}, \"amount\": oops}}");
            all.push(broken.clone());
            bad.push(broken);
        }
    }
    (txns, bad, all)
}

/// Writes `lines` to `topic` as they are (keyed by position, so they spread over the
/// partitions), through Tidemill's own sink.
fn produce(brokers: &str, topic: &str, lines: Vec<String>) {
    let keyed: Vec<(usize, String)> = lines.into_iter().enumerate().collect();
    let (brokers, topic) = (brokers.to_string(), topic.to_string());
    tidemill::run(
        Args::with_workers(2),
        stream! {
            from_collection(keyed)
                .map(|(_, line)| line)
                .sink(one_per_batch(kafka_sink(&brokers, &topic).format(Text).key(|r: &String| r.clone())));
        },
    )
    .unwrap_or_else(|e| panic!("cannot produce to {topic}: {e}"));
}

#[test]
fn a_multi_partition_topic_is_read_once_transformed_and_written_once() {
    let brokers = common::kafka_brokers();
    let (txns, bad, all) = records(1000);
    for workers in [1, 2, 4] {
        let (input, output) = (common::unique("txns"), common::unique("alerts"));
        create_topic(&brokers, &input, 4).unwrap();
        create_topic(&brokers, &output, 3).unwrap();
        produce(&brokers, &input, all.clone());
        let dead = Collector::new();
        let (b1, b2, i, o) = (
            brokers.clone(),
            brokers.clone(),
            input.clone(),
            output.clone(),
        );
        let report = tidemill::run(
            Args::with_workers(workers),
            stream! {
                let txns = from_source(kafka::<Txn>(&b1, &i).until_end());
                txns.dead_letters().collect(dead);
                // The DSL's form: the key closure is typed by the stream.
                txns.filter(|t| t.amount > 1000.0)
                    .kafka_sink(&b2, &o, Json, key = |t| t.transaction_id, properties = ONE_PER_BATCH);
            },
        )
        .unwrap();
        let mut got: Vec<Txn> = Vec::new();
        for (key, payload) in common::consume_keyed(&brokers, &output) {
            let txn: Txn = serde_json::from_str(&payload).unwrap();
            assert_eq!(
                key,
                Some(txn.transaction_id.to_string()),
                "the record's key"
            );
            got.push(txn);
        }
        got.sort_by_key(|t| t.transaction_id);
        let expected: Vec<Txn> = txns.iter().filter(|t| t.amount > 1000.0).cloned().collect();
        assert!(expected.len() > 100);
        assert_eq!(got, expected, "at -w {workers}");
        let dead = dead.take();
        let mut payloads: Vec<String> = dead
            .iter()
            .map(|d| String::from_utf8(d.payload.clone()).unwrap())
            .collect();
        payloads.sort();
        let mut expected_bad = bad.clone();
        expected_bad.sort();
        assert_eq!(payloads, expected_bad, "at -w {workers}");
        for d in &dead {
            assert_eq!(d.source, format!("kafka topic `{input}`"));
            assert!(d.reason.starts_with("invalid JSON"), "{}", d.reason);
            assert!(
                matches!(d.position, Position::Offset { partition, offset } if (0..4).contains(&partition) && offset >= 0),
                "{:?}",
                d.position
            );
        }
        assert_eq!(
            report.dead_letters,
            [(format!("kafka topic `{input}`"), bad.len() as u64)]
        );
    }
}

#[test]
fn committed_offsets_resume_where_the_last_run_ended() {
    let brokers = common::kafka_brokers();
    let (input, group) = (common::unique("resume"), common::unique("group"));
    create_topic(&brokers, &input, 3).unwrap();
    let (first, _, lines) = records(300);
    produce(&brokers, &input, lines);
    let run = |expected_new: &[Txn]| {
        let out = Collector::new();
        let (b, i, g) = (brokers.clone(), input.clone(), group.clone());
        tidemill::run(
            Args::with_workers(2),
            stream! {
                from_source(kafka::<Txn>(&b, &i)
                    .group_id(&g)
                    .start_from(StartFrom::Committed)
                    .until_end())
                    .collect(out);
            },
        )
        .unwrap();
        let mut got = out.take();
        got.sort_by_key(|t| t.transaction_id);
        assert_eq!(got, expected_new);
    };
    // The first run reads everything and commits; the second has nothing new.
    run(&first);
    run(&[]);
    let later: Vec<Txn> = (1000..1010)
        .map(|i| Txn {
            transaction_id: i,
            amount: 1.0,
            timestamp: i,
        })
        .collect();
    produce(
        &brokers,
        &input,
        later
            .iter()
            .map(|t| serde_json::to_string(t).unwrap())
            .collect(),
    );
    run(&later);
}

#[test]
fn unreachable_brokers_fail_the_job_with_a_clear_error() {
    let result = tidemill::run(
        Args::with_workers(2),
        stream! {
            from_source(kafka::<Txn>("127.0.0.1:1", "nowhere")
                .timeout(Duration::from_millis(500))
                .until_end())
                .discard();
        },
    );
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("kafka topic `nowhere` at `127.0.0.1:1`: cannot reach the brokers"),
        "{message}"
    );
}

#[test]
fn with_metadata_gives_each_record_its_partition_offset_key_and_time() {
    let brokers = common::kafka_brokers();
    let input = common::unique("meta");
    create_topic(&brokers, &input, 2).unwrap();
    let (txns, _, _) = records(100);
    let lines: Vec<String> = txns
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
    produce(&brokers, &input, lines.clone());
    let out = Collector::new();
    let (b, i) = (brokers.clone(), input.clone());
    tidemill::run(
        Args::with_workers(2),
        stream! {
            from_source(kafka::<Txn>(&b, &i).with_metadata().until_end())
                .map(|r| (r.partition, r.offset, r.key, r.timestamp.is_some(), r.value.transaction_id))
                .collect(out);
        },
    )
    .unwrap();
    let got = out.take();
    assert_eq!(got.len(), txns.len());
    // Offsets are 0.. in each partition, every record is there once, keyed as produced.
    for partition in 0..2 {
        let mut offsets: Vec<i64> = got
            .iter()
            .filter(|r| r.0 == partition)
            .map(|r| r.1)
            .collect();
        offsets.sort();
        assert_eq!(offsets, (0..offsets.len() as i64).collect::<Vec<_>>());
    }
    let mut ids: Vec<u64> = got.iter().map(|r| r.4).collect();
    ids.sort();
    assert_eq!(ids, (0..100).collect::<Vec<_>>());
    for (_, _, key, has_time, id) in &got {
        assert_eq!(key.as_deref(), Some(lines[*id as usize].as_bytes()));
        assert!(has_time);
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Reading {
    partition: i32,
    ts: u64,
}

/// Each partition keeps its own watermark: one partition far ahead in event time does not
/// make the other's records late, even when one worker reads both (per-worker watermarks
/// would drop most of the slow partition's records as late).
#[test]
fn each_partition_keeps_its_own_watermark() {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let brokers = common::kafka_brokers();
    let topic = common::unique("readings");
    create_topic(&brokers, &topic, 2).unwrap();
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("batch.num.messages", "1") // see tidemill::kafka::admin::one_per_batch
        .set("linger.ms", "0")
        .create()
        .unwrap();
    // Partition 0 at 1000..1300 s, partition 1 at 0..300 s, each in order. A reader
    // takes the partitions' records in runs (here, all of partition 0 first): with one
    // watermark per worker, partition 1 would be entirely late.
    for i in 0..300u64 {
        for (partition, base) in [(0, 1_000_000), (1, 0)] {
            let json = serde_json::to_string(&Reading {
                partition,
                ts: base + i * 1000,
            })
            .unwrap();
            loop {
                match producer.send(
                    BaseRecord::<(), _>::to(&topic)
                        .partition(partition)
                        .payload(&json),
                ) {
                    Ok(()) => break,
                    Err(_) => {
                        producer.poll(Duration::from_millis(10));
                    }
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    for workers in [1, 2] {
        let out = Collector::new();
        let (b, t) = (brokers.clone(), topic.clone());
        let report = tidemill::run(
            // Small reads: the watermark moves many times during the run.
            Args::with_workers(workers).source_batch(10),
            stream! {
                from_source(
                    kafka::<Reading>(&b, &t)
                        .until_end()
                )
                    .assign_timestamps(|r| r.ts, out_of_orderness = 0s)
                    .key_by(|r| r.partition)
                    .window(tumbling(10s))
                    .count()
                    .collect(out);
            },
        )
        .unwrap();
        assert!(
            report.late_dropped.is_empty(),
            "at -w {workers}: {report:?}"
        );
        let mut got: Vec<(i32, i64, u64)> = out
            .take()
            .into_iter()
            .map(|w| (w.key, w.start, w.value))
            .collect();
        got.sort();
        let expected: Vec<(i32, i64, u64)> = [(0, 1_000_000i64), (1, 0)]
            .into_iter()
            .flat_map(|(p, base)| (0..30).map(move |w| (p, base + w * 10_000, 10)))
            .collect();
        assert_eq!(got, expected, "at -w {workers}");
    }
}

#[test]
fn the_dsl_sink_without_a_key_writes_each_record_once_unkeyed() {
    let brokers = common::kafka_brokers();
    let topic = common::unique("unkeyed");
    create_topic(&brokers, &topic, 2).unwrap();
    let lines: Vec<String> = (0..200).map(|i| format!("line {i}")).collect();
    let (b, t) = (brokers.clone(), topic.clone());
    tidemill::run(
        Args::with_workers(2),
        stream! {
            from_collection(lines.clone()).kafka_sink(&b, &t, Text, properties = ONE_PER_BATCH);
        },
    )
    .unwrap();
    let mut got = common::consume_keyed(&brokers, &topic);
    got.sort();
    let mut expected: Vec<(Option<String>, String)> =
        lines.into_iter().map(|l| (None, l)).collect();
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn an_exactly_once_sink_restored_after_sending_sends_nothing_twice() {
    let brokers = common::kafka_brokers();
    let topic = common::unique("exactly-once");
    create_topic(&brokers, &topic, 2).unwrap();
    let ckpt = std::env::temp_dir().join(common::unique("kafka-ckpt"));
    let lines: Vec<String> = (0..300).map(|i| format!("line {i}")).collect();
    let run = |restore: bool| {
        let (b, t) = (brokers.clone(), topic.clone());
        let mut args = Args::with_workers(2)
            .source_batch(5)
            .checkpoints(&ckpt, Duration::from_millis(2));
        if restore {
            args = args.restore_latest();
        }
        let lines = lines.clone();
        tidemill::run(
            args,
            stream! {
                from_collection(lines.clone())
                    .map(|l| {
                        std::thread::sleep(Duration::from_micros(200));
                        l
                    })
                    .kafka_sink(&b, &t, Text, key = |l| l.len(), properties = ONE_PER_BATCH);
            },
        )
        .unwrap()
    };
    let mut expected: Vec<String> = lines.clone();
    expected.sort();
    run(false);
    let mut got = common::consume_all(&brokers, &topic);
    got.sort();
    assert_eq!(got, expected, "each record once, over many checkpoints");
    // The last checkpoint still holds the epochs it sent once it completed: restored, the
    // sink finds them in the topic and sends none again.
    run(true);
    let mut again = common::consume_all(&brokers, &topic);
    again.sort();
    assert_eq!(again, expected, "nothing sent twice");
    let _ = std::fs::remove_dir_all(&ckpt);
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Action {
    user_id: u64,
    item_id: u64,
    ts: u64,
}

/// An updating query into Kafka is upsert-kafka: a record per row upserted, keyed by the
/// GROUP BY columns, and a tombstone per row withdrawn; the last record of each key is
/// the query's final table.
#[test]
fn an_updating_query_writes_upserts_and_tombstones_keyed_by_its_group_by() {
    let brokers = common::kafka_brokers();
    // 12 pairs with 1 to 6 actions each, 250 ms apart: a pair's row appears at its
    // second action and is withdrawn at its fifth (`HAVING COUNT(*) < 5`).
    let actions: Vec<Action> = (0..6u64)
        .flat_map(|k| (0..12u64).filter(move |p| k <= p % 6).map(move |p| (k, p)))
        .map(|(k, p)| Action {
            user_id: p / 3,
            item_id: p % 3,
            ts: (k * 12 + p) * 250,
        })
        .collect();
    let mut counts = std::collections::BTreeMap::new();
    for a in &actions {
        *counts.entry((a.user_id, a.item_id)).or_insert(0i64) += 1;
    }
    let expected: std::collections::BTreeMap<String, String> = counts
        .iter()
        .filter(|(_, n)| (2..5).contains(*n))
        .map(|((u, i), n)| {
            (
                format!("{{\"user_id\":{u},\"item_id\":{i}}}"),
                format!("{{\"user_id\":{u},\"item_id\":{i},\"count\":{n}}}"),
            )
        })
        .collect();
    assert!(!expected.is_empty());
    for workers in [1, 2] {
        let topic = common::unique("sql-upserts");
        create_topic(&brokers, &topic, 2).unwrap();
        let (input, b, t) = (actions.clone(), brokers.clone(), topic.clone());
        tidemill::run(
            Args::with_workers(workers),
            stream! {
                let user_actions = from_collection(input).assign_timestamps(|a| a.ts, out_of_orderness = 20s);
                sql!("SELECT user_id, item_id, COUNT(*) AS count FROM user_actions
                      GROUP BY user_id, item_id HAVING COUNT(*) > 1 AND COUNT(*) < 5")
                    .kafka_sink(&b, &t, Json, properties = ONE_PER_BATCH);
            },
        )
        .unwrap_or_else(|e| panic!("at -w {workers}: {e}"));
        let records = common::consume_records(&brokers, &topic);
        let tombstones = records.iter().filter(|(_, v)| v.is_none()).count();
        assert!(tombstones > 0, "rows withdrawn are tombstones");
        let mut table = std::collections::BTreeMap::new();
        for (key, value) in records {
            let key = key.expect("every record is keyed");
            match value {
                Some(v) => table.insert(key, v),
                None => table.remove(&key),
            };
        }
        assert_eq!(table, expected, "at -w {workers}");
    }
}
