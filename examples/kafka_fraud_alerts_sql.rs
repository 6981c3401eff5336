//! Fraud alerts in SQL over Kafka: the seed's query, verbatim, over the JSON topic of
//! transactions, its rows printed (as Flink's print sink shows them) and written as JSON
//! to another topic. `kafka_fraud_alerts.rs` is the DSL version, which also writes to
//! PostgreSQL. Malformed records go to the dead letters, printed with partition and
//! offset.
//!
//! ```text
//! scripts/kafka.sh                                                          # local broker
//! cargo run --release --features kafka --example kafka_fraud_alerts_sql -- --setup              # topics, sample data
//! cargo run --release --features kafka --example kafka_fraud_alerts_sql -- --until-end [-w N]   # the job
//! ```
//! `--setup` creates the topics (4 partitions) and produces the bundled
//! `examples/data/transactions.jsonl` (plus one malformed record). Without `--until-end`
//! the job keeps reading new transactions until stopped.

use tidemill::clap::{self, Parser};
use tidemill::kafka::admin::{create_topic, ONE_PER_BATCH};
use tidemill::prelude::*;

mod common;

#[derive(Parser)]
#[command(
    disable_help_flag = true,
    about = "Transactions over 1000 from Kafka to Kafka, in SQL"
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
    #[arg(long, default_value = "fraud-alerts-sql")]
    alerts: String,
    /// Read the transactions present at start, then end.
    #[arg(long)]
    until_end: bool,
    /// Create the topics, produce the sample transactions, and exit.
    #[arg(long)]
    setup: bool,
}

/// A transaction as the topic carries it: the query's table.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Transaction {
    transaction_id: u64,
    amount: f64,
    /// Event time, ms since the Unix epoch.
    timestamp: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if cli.setup {
        create_topic(&cli.brokers, &cli.transactions, 4)?;
        create_topic(&cli.brokers, &cli.alerts, 2)?;
        let count = common::transactions::produce_sample(&cli.brokers, &cli.transactions)?;
        eprintln!("produced {count} transactions to {}", cli.transactions);
        return Ok(());
    }
    let mut source = kafka::<Transaction>(&cli.brokers, &cli.transactions)
        .group_id("fraud-alerts-sql")
        .start_from(StartFrom::Earliest);
    if cli.until_end {
        source = source.until_end();
    }
    let (brokers, alerts_topic) = (&cli.brokers, &cli.alerts);
    tidemill::run(
        cli.tidemill,
        stream! {
            let records = from_source(source);
            records.dead_letters().map(|d| format!("dead letter: {d}")).print();
            let transactions = records.assign_timestamps(|t| t.timestamp, out_of_orderness = 5s);
            let alerts = sql!("SELECT transaction_id, amount, timestamp FROM transactions WHERE amount > 1000");
            alerts.print();
            // Keyed by transaction: one transaction's alerts go to one partition.
            alerts.kafka_sink(brokers, alerts_topic, Json, key = |a| a.transaction_id, properties = ONE_PER_BATCH);
        },
    )?;
    Ok(())
}
