//! Connector throughput against the local servers (`scripts/kafka.sh`,
//! `scripts/postgres.sh`), each beside its ceiling measured in the same run:
//!
//! ```text
//! cargo bench --features kafka,postgres --bench connectors                                   # 1M records, both
//! TIDEMILL_BENCH_RECORDS=5000000 cargo bench --features kafka,postgres --bench connectors -- kafka
//! cargo bench --features kafka,postgres --bench connectors -- postgres
//! ```
//! - **kafka**: N JSON transactions of about 100 bytes in a 4-partition topic. The
//!   ceiling is a bare rdkafka consumer loop that reads every record of the topic (no
//!   decoding). The pipeline, at `-w 2`, reads the topic (bounded), decodes, keeps
//!   amounts over 1000 (about a third) and writes them as JSON to another topic, the
//!   job ending once the broker acknowledged every record. Prints records/s of each and
//!   their ratio.
//! - **postgres**: N rows `(user_id, item_id, count)` with distinct keys. The ceiling is
//!   one `COPY` of the same rows as text into an empty table; the sink at `-w 2` writes
//!   them in insert mode and in upsert mode (into an empty table, then again over the
//!   now full one, every row an update). The upserts' own ceiling is the sink's SQL
//!   written by hand: one COPY into a temporary table and one `INSERT .. ON CONFLICT`,
//!   all rows in one transaction. Prints rows/s and the ratios.
//!
//! Producing the input is not timed. The local broker (tansu, in memory) needs one record
//! per produced batch (see `tidemill::kafka::admin::one_per_batch`), which makes producing slow
//! (tens of thousands of records per second): the default N is 1M.

use std::time::{Duration, Instant};
use tidemill::kafka::rdkafka;
use tidemill::postgres::client as postgres;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tidemill::kafka::admin::{create_topic, delete_topic};
use tidemill::prelude::*;

use tidemill::kafka::admin::one_per_batch;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Transaction {
    transaction_id: u64,
    account_id: u64,
    amount: f64,
    timestamp: u64,
    currency: String,
}

fn transaction(i: u64) -> Transaction {
    let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    Transaction {
        transaction_id: i,
        account_id: (h >> 16) % 100_000,
        amount: ((h >> 32) % 150_000) as f64 / 100.0,
        timestamp: 1_700_000_000_000 + i,
        currency: "EUR".to_string(),
    }
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

fn kafka_bench(n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let brokers =
        std::env::var("TIDEMILL_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into());
    let (input, output) = (unique("bench-txns"), unique("bench-alerts"));
    create_topic(&brokers, &input, 4)?;
    create_topic(&brokers, &output, 4)?;
    let started = Instant::now();
    let records: Vec<Transaction> = (0..n).map(transaction).collect();
    let size = serde_json::to_vec(&records[0])?.len();
    let (b, t) = (brokers.clone(), input.clone());
    tidemill::run(
        Args::with_workers(2),
        stream! {
            from_collection(records)
                .sink(one_per_batch(kafka_sink(&b, &t).key(|r: &Transaction| r.transaction_id)));
        },
    )?;
    println!(
        "kafka: produced {n} records of about {size} bytes in {:.1} s (not timed)",
        started.elapsed().as_secs_f64()
    );

    // The ceiling: a bare consumer loop over every partition.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", unique("bench-bare"))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut list = TopicPartitionList::new();
    for p in 0..4 {
        list.add_partition_offset(&input, p, Offset::Beginning)?;
    }
    consumer.assign(&list)?;
    let started = Instant::now();
    let mut read = 0u64;
    let mut bytes = 0usize;
    while read < n {
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            bytes += rdkafka::Message::payload(&message?).map_or(0, <[u8]>::len);
            read += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the bare loop stalled"
        );
    }
    let bare = started.elapsed().as_secs_f64();
    drop(consumer);

    let (b1, b2, i, o) = (
        brokers.clone(),
        brokers.clone(),
        input.clone(),
        output.clone(),
    );
    let started = Instant::now();
    tidemill::run(
        Args::with_workers(2),
        stream! {
            from_source(kafka::<Transaction>(&b1, &i).group_id(&unique("bench")).until_end())
                .filter(|t| t.amount > 1000.0)
                .sink(kafka_sink(&b2, &o).key(|t: &Transaction| t.account_id));
        },
    )?;
    let pipeline = started.elapsed().as_secs_f64();
    println!(
        "kafka: bare consumer loop {:>12.0} records/s ({bytes} bytes)",
        n as f64 / bare
    );
    println!(
        "kafka: tidemill -w 2      {:>12.0} records/s (read, decode, filter, write)",
        n as f64 / pipeline
    );
    println!("kafka: ceiling / tidemill = {:.2}x", pipeline / bare);
    delete_topic(&brokers, &input)?;
    delete_topic(&brokers, &output)?;
    Ok(())
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct PairCount {
    user_id: i64,
    item_id: i64,
    count: i64,
}

fn postgres_bench(n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TIDEMILL_PG_URL")
        .unwrap_or_else(|_| "postgres://tidemill@127.0.0.1:15432/postgres".into());
    let mut db = postgres::Client::connect(&url, postgres::NoTls)?;
    let rows: Vec<PairCount> = (0..n as i64)
        .map(|i| PairCount {
            user_id: i / 100,
            item_id: i % 100,
            count: i % 7 + 1,
        })
        .collect();
    let table = |db: &mut postgres::Client, name: &str| -> Result<(), postgres::Error> {
        db.batch_execute(&format!(
            "CREATE TABLE {name} (user_id bigint, item_id bigint, count bigint NOT NULL, \
             PRIMARY KEY (user_id, item_id))"
        ))
    };

    // The ceiling: one COPY of the rows, as text.
    let copy_table = unique("bench_copy");
    table(&mut db, &copy_table)?;
    let started = Instant::now();
    {
        use std::io::Write;
        let mut text = Vec::with_capacity(rows.len() * 16);
        for r in &rows {
            writeln!(text, "{}\t{}\t{}", r.user_id, r.item_id, r.count)?;
        }
        let mut writer = db.copy_in(&format!("COPY {copy_table} FROM STDIN"))?;
        writer.write_all(&text)?;
        writer.finish()?;
    }
    let copy = started.elapsed().as_secs_f64();
    // The upsert's own ceiling: the same SQL as the sink's, all rows in one transaction.
    let upsert_by_hand = |db: &mut postgres::Client, name: &str| -> Result<f64, postgres::Error> {
        use std::io::Write;
        let started = Instant::now();
        let mut tx = db.transaction()?;
        tx.batch_execute(&format!(
            "CREATE TEMPORARY TABLE stage ON COMMIT DROP AS SELECT * FROM {name} WITH NO DATA"
        ))?;
        let mut writer = tx.copy_in("COPY stage FROM STDIN")?;
        for r in &rows {
            writeln!(writer, "{}\t{}\t{}", r.user_id, r.item_id, r.count).expect("copy");
        }
        writer.finish()?;
        tx.batch_execute(&format!(
            "INSERT INTO {name} SELECT * FROM stage ON CONFLICT (user_id, item_id) \
             DO UPDATE SET count = EXCLUDED.count"
        ))?;
        tx.commit()?;
        Ok(started.elapsed().as_secs_f64())
    };
    let by_hand_table = unique("bench_by_hand");
    table(&mut db, &by_hand_table)?;
    let by_hand_new = upsert_by_hand(&mut db, &by_hand_table)?;
    let by_hand_again = upsert_by_hand(&mut db, &by_hand_table)?;

    let sink_run = |name: &str, upsert: bool| -> Result<f64, Box<dyn std::error::Error>> {
        let (input, u, t) = (rows.clone(), url.clone(), name.to_string());
        let started = Instant::now();
        tidemill::run(
            Args::with_workers(2),
            stream! {
                from_collection(input).sink({
                    let sink = postgres::<PairCount>(&u, &t);
                    if upsert { sink.upsert() } else { sink }
                });
            },
        )?;
        Ok(started.elapsed().as_secs_f64())
    };
    let insert_table = unique("bench_insert");
    table(&mut db, &insert_table)?;
    let insert = sink_run(&insert_table, false)?;
    let upsert_table = unique("bench_upsert");
    table(&mut db, &upsert_table)?;
    let upsert_new = sink_run(&upsert_table, true)?;
    let upsert_again = sink_run(&upsert_table, true)?;
    let count: i64 = db
        .query_one(&format!("SELECT count(*) FROM {upsert_table}"), &[])?
        .get(0);
    assert_eq!(count as u64, n, "every row once");
    let rate = |secs: f64| n as f64 / secs;
    println!(
        "postgres: COPY (ceiling)        {:>12.0} rows/s",
        rate(copy)
    );
    for (what, secs, ceiling, by) in [
        ("insert", insert, copy, "COPY"),
        ("upsert, new keys", upsert_new, by_hand_new, "by hand"),
        (
            "upsert, all updates",
            upsert_again,
            by_hand_again,
            "by hand",
        ),
    ] {
        println!(
            "postgres: sink -w 2 {what:<19} {:>12.0} rows/s, COPY / sink = {:.2}x, {by} {:.0} rows/s / sink = {:.2}x",
            rate(secs),
            secs / copy,
            rate(ceiling),
            secs / ceiling
        );
    }
    for t in [copy_table, insert_table, upsert_table, by_hand_table] {
        db.batch_execute(&format!("DROP TABLE {t}"))?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::var("TIDEMILL_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if wants("kafka") {
        kafka_bench(n)
            .map_err(|e| format!("kafka benchmark: {e} (is scripts/kafka.sh running?)"))?;
    }
    if wants("postgres") {
        postgres_bench(n)
            .map_err(|e| format!("postgres benchmark: {e} (is scripts/postgres.sh running?)"))?;
    }
    Ok(())
}
