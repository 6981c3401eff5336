//! Per-sensor window counts from Kafka to PostgreSQL and back to Kafka, exactly once with
//! checkpoints: the job a Flink user moves first, and the one that must survive `kill -9`.
//!
//! ```text
//! scripts/kafka.sh && scripts/postgres.sh
//! cargo run --release --features kafka,postgres --example kafka_window_counts -- --setup 3000
//! cargo run --release --features kafka,postgres --example kafka_window_counts -- --until-end \
//!     --checkpoint-dir ckpt/ --checkpoint-interval 1s        # kill it any time, then:
//! cargo run --release --features kafka,postgres --example kafka_window_counts -- --until-end \
//!     --checkpoint-dir ckpt/ --restore latest
//! ```
//! Readings (`{"sensor", "ts", "value"}`, up to 200 ms out of order) are counted and
//! summed per sensor in one-second event-time windows. Each window's row is upserted into
//! `TABLE (sensor, window_start, count, total)` and inserted into `TABLE_log`, which has
//! no key, and sent as JSON to the topic `OUTPUT_TOPIC` keyed by sensor: with
//! checkpoints, the tables and the topic hold each window exactly once after any crash.

use tidemill::clap::{self, Parser};
use tidemill::kafka::admin::create_topic;
use tidemill::prelude::*;

use tidemill::kafka::admin::one_per_batch;

#[derive(Parser)]
#[command(
    disable_help_flag = true,
    about = "Per-sensor window counts from Kafka to PostgreSQL"
)]
struct Cli {
    #[command(flatten)]
    tidemill: tidemill::Args,
    /// Kafka bootstrap servers.
    #[arg(long, default_value = "127.0.0.1:19092")]
    brokers: String,
    /// The topic of readings.
    #[arg(long, default_value = "readings")]
    topic: String,
    /// The PostgreSQL database the counts go to.
    #[arg(long, default_value = "postgres://tidemill@127.0.0.1:15432/postgres")]
    postgres: String,
    /// The upserted table; the insert-only one is `TABLE_log`.
    #[arg(long, default_value = "sensor_counts")]
    table: String,
    /// The topic the rows are also sent to (created by `--setup`).
    #[arg(long, default_value = "sensor-counts")]
    output_topic: String,
    /// Read the readings present at start, then end.
    #[arg(long)]
    until_end: bool,
    /// Pause a millisecond after every this many readings (0: never), to stretch a run.
    #[arg(long, default_value_t = 0)]
    pace: u64,
    /// Create the topic (4 partitions) and the tables, produce this many readings, exit.
    #[arg(long, value_name = "N")]
    setup: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Reading {
    sensor: u64,
    ts: u64,
    value: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Row {
    sensor: i64,
    window_start: i64,
    count: i64,
    total: i64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if let Some(n) = cli.setup {
        return setup(&cli, n);
    }
    let mut source = kafka::<Reading>(&cli.brokers, &cli.topic).group_id("sensor-counts");
    if cli.until_end {
        source = source.until_end();
    }
    let upserted = postgres::<Row>(&cli.postgres, &cli.table).upsert();
    let logged = postgres::<Row>(&cli.postgres, &format!("{}_log", cli.table));
    let sent = one_per_batch(kafka_sink(&cli.brokers, &cli.output_topic).key(|r: &Row| r.sensor));
    let pace = cli.pace;
    let mut seen = 0u64;
    tidemill::run(
        cli.tidemill,
        stream! {
            let rows = from_source(source)
                .map(move |r| {
                    seen += 1;
                    if pace > 0 && seen.is_multiple_of(pace) {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    r
                })
                .assign_timestamps(|r| r.ts, out_of_orderness = 200ms)
                .key_by(|r| r.sensor)
                .window(tumbling(1s))
                .aggregate(CountSum)
                .map(|w| Row {
                    sensor: w.key as i64,
                    window_start: w.start,
                    count: w.value.0 as i64,
                    total: w.value.1 as i64,
                });
            rows.sink(upserted);
            rows.sink(logged);
            rows.sink(sent);
        },
    )?;
    Ok(())
}

/// The readings of sensor `i % 20`, about one per millisecond, up to 150 ms out of order.
fn reading(i: u64) -> Reading {
    let mix = i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17);
    Reading {
        sensor: i % 20,
        ts: 1_700_000_000_000 + i + mix % 150,
        value: mix % 100,
    }
}

fn setup(cli: &Cli, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    create_topic(&cli.brokers, &cli.topic, 4)?;
    create_topic(&cli.brokers, &cli.output_topic, 2)?;
    let mut db = tidemill::postgres::client::Client::connect(
        &cli.postgres,
        tidemill::postgres::client::NoTls,
    )?;
    let columns = "sensor bigint NOT NULL, window_start bigint NOT NULL, count bigint NOT NULL, total bigint NOT NULL";
    db.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {0} ({columns}, PRIMARY KEY (sensor, window_start));
         CREATE TABLE IF NOT EXISTS {0}_log ({columns});",
        cli.table
    ))?;
    let lines: Vec<String> = (0..n)
        .map(|i| serde_json::to_string(&reading(i)).expect("serializes"))
        .collect();
    let (brokers, topic) = (cli.brokers.clone(), cli.topic.clone());
    tidemill::run(
        Args::with_workers(1),
        stream! {
            from_collection(lines)
                .sink(one_per_batch(kafka_sink(&brokers, &topic).format(Text).key(|l: &String| l.len())));
        },
    )?;
    eprintln!("produced {n} readings to {}", cli.topic);
    Ok(())
}

/// Counts readings and sums their values.
struct CountSum;

impl Aggregator<Reading> for CountSum {
    type Acc = (u64, u64);
    type Out = (u64, u64);
    fn init(&self) -> (u64, u64) {
        (0, 0)
    }
    fn add(&self, acc: &mut (u64, u64), r: Reading) {
        acc.0 += 1;
        acc.1 += r.value;
    }
    fn merge(&self, acc: &mut (u64, u64), other: &(u64, u64)) {
        acc.0 += other.0;
        acc.1 += other.1;
    }
    fn finish(&self, acc: &(u64, u64)) -> (u64, u64) {
        *acc
    }
}
