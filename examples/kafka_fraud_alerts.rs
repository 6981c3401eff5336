//! Fraud alerts over real connectors: transactions read from a Kafka topic as JSON,
//! those over 1000 written as alerts both to another Kafka topic and to a PostgreSQL
//! table. Malformed records go to the dead letters, printed with partition and offset.
//!
//! ```text
//! scripts/kafka.sh; scripts/postgres.sh                                    # local servers
//! cargo run --release --features kafka,postgres --example kafka_fraud_alerts -- --setup              # topics, table, sample data
//! cargo run --release --features kafka,postgres --example kafka_fraud_alerts -- --until-end [-w N]   # the job
//! ```
//! `--setup` creates the topics (4 partitions) and the table, and produces the bundled
//! `examples/data/transactions.jsonl` (plus one malformed record) to the input topic.
//! Without `--until-end` the job keeps reading new transactions until stopped. Offsets
//! are committed to the consumer group `fraud-alerts`: a second run reads only what is
//! new (at-least-once).

use tidemill::clap::{self, Parser};
use tidemill::kafka::admin::create_topic;
use tidemill::prelude::*;

use tidemill::kafka::admin::ONE_PER_BATCH;

mod common;

#[derive(Parser)]
#[command(
    disable_help_flag = true,
    about = "Transactions over 1000 from Kafka to Kafka and PostgreSQL"
)]
struct Cli {
    #[command(flatten)]
    tidemill: tidemill::Args,
    /// Kafka bootstrap servers.
    #[arg(long, default_value = "127.0.0.1:19092")]
    brokers: String,
    /// The topic of transactions.
    #[arg(long, default_value = "transactions")]
    transactions: String,
    /// The topic alerts go to.
    #[arg(long, default_value = "fraud-alerts")]
    alerts: String,
    /// The PostgreSQL database alerts go to.
    #[arg(long, default_value = "postgres://tidemill@127.0.0.1:15432/postgres")]
    postgres: String,
    /// The table alerts go to.
    #[arg(long, default_value = "fraud_alerts")]
    table: String,
    /// Read the transactions present at start, then end.
    #[arg(long)]
    until_end: bool,
    /// Create the topics and the table, produce the sample transactions, and exit.
    #[arg(long)]
    setup: bool,
}

/// A transaction as the topic carries it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Transaction {
    transaction_id: u64,
    amount: f64,
    /// Event time, ms since the Unix epoch.
    timestamp: u64,
}

/// An alert: one row of the table, one record of the alerts topic.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Alert {
    transaction_id: i64,
    amount: f64,
    timestamp: i64,
}

const THRESHOLD: f64 = 1000.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if cli.setup {
        return setup(&cli);
    }
    let mut source = kafka::<Transaction>(&cli.brokers, &cli.transactions)
        .group_id("fraud-alerts")
        .start_from(StartFrom::Committed);
    if cli.until_end {
        source = source.until_end();
    }
    let (brokers, alerts_topic) = (&cli.brokers, &cli.alerts);
    let table = postgres::<Alert>(&cli.postgres, &cli.table).upsert();
    tidemill::run(
        cli.tidemill,
        stream! {
            let transactions = from_source(source);
            transactions.dead_letters().map(|d| format!("dead letter: {d}")).print();
            let alerts = transactions
                .filter(|t| t.amount > THRESHOLD)
                .map(|t| Alert {
                    transaction_id: t.transaction_id as i64,
                    amount: t.amount,
                    timestamp: t.timestamp as i64,
                });
            // Keyed by transaction: one transaction's alerts go to one partition.
            alerts.kafka_sink(brokers, alerts_topic, Json, key = |a| a.transaction_id, properties = ONE_PER_BATCH);
            alerts.sink(table);
        },
    )?;
    Ok(())
}

/// The topics, the table (keyed by transaction, so a re-read transaction is not a second
/// alert), and the sample transactions.
fn setup(cli: &Cli) -> Result<(), Box<dyn std::error::Error>> {
    create_topic(&cli.brokers, &cli.transactions, 4)?;
    create_topic(&cli.brokers, &cli.alerts, 2)?;
    let mut db = tidemill::postgres::client::Client::connect(
        &cli.postgres,
        tidemill::postgres::client::NoTls,
    )?;
    db.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {} (transaction_id bigint PRIMARY KEY, \
         amount double precision NOT NULL, timestamp bigint NOT NULL)",
        cli.table
    ))?;
    let count = common::transactions::produce_sample(&cli.brokers, &cli.transactions)?;
    eprintln!("produced {count} transactions to {}", cli.transactions);
    Ok(())
}
