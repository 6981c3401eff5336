//! Recommendation counts over real connectors: user actions read from a Kafka topic as
//! JSON, counted per `(user_id, item_id)`, and each pair seen more than once upserted
//! into a PostgreSQL table, so the table always holds the current count of every such
//! pair.
//!
//! ```text
//! scripts/kafka.sh; scripts/postgres.sh                                        # local servers
//! cargo run --release --features kafka,postgres --example recommendations -- --setup 20000               # topic, table, actions
//! cargo run --release --features kafka,postgres --example recommendations -- --until-end [-w N]          # the job
//! psql postgres://tidemill@127.0.0.1:15432/postgres -c 'SELECT * FROM recommendations ORDER BY count DESC LIMIT 5'
//! ```
//! `--setup N` creates the topic (4 partitions) and the table, and produces N generated
//! actions `{"user_id", "item_id", "action", "timestamp"}`. Without `--until-end` the
//! job keeps counting new actions until stopped, updating the rows as counts grow.
//!
//! Counts are rolling (a streaming job): each action updates its pair's count, and the
//! sink writes the latest count per pair in batches, `INSERT .. ON CONFLICT (user_id,
//! item_id) DO UPDATE`. The pair is the key of both the count and the table, so a pair's
//! updates reach the table from one worker, in order, and the last one wins.

use tidemill::clap::{self, Parser};
use tidemill::prelude::*;

mod common;
use common::actions::Action;

#[derive(Parser)]
#[command(
    disable_help_flag = true,
    about = "Counts of (user, item) pairs from Kafka, upserted into PostgreSQL"
)]
struct Cli {
    #[command(flatten)]
    tidemill: tidemill::Args,
    /// Kafka bootstrap servers.
    #[arg(long, default_value = "127.0.0.1:19092")]
    brokers: String,
    /// The topic of user actions.
    #[arg(long, default_value = "user-actions")]
    actions: String,
    /// The PostgreSQL database the counts go to.
    #[arg(long, default_value = "postgres://tidemill@127.0.0.1:15432/postgres")]
    postgres: String,
    /// The table the counts go to.
    #[arg(long, default_value = "recommendations")]
    table: String,
    /// Read the actions present at start, then end.
    #[arg(long)]
    until_end: bool,
    /// Create the topic and the table, produce this many generated actions, and exit.
    #[arg(long, value_name = "ACTIONS")]
    setup: Option<u64>,
}

/// A row of the table.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PairCount {
    user_id: i64,
    item_id: i64,
    count: i64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if let Some(actions) = cli.setup {
        return common::actions::setup(
            &cli.brokers,
            &cli.actions,
            &cli.postgres,
            &cli.table,
            actions,
        );
    }
    let mut source = kafka::<Action>(&cli.brokers, &cli.actions)
        .group_id("recommendations")
        .start_from(StartFrom::Committed);
    if cli.until_end {
        source = source.until_end();
    }
    let table = postgres::<PairCount>(&cli.postgres, &cli.table).upsert();
    tidemill::run(
        // Rolling counts even when the source is bounded.
        cli.tidemill.execution_mode(ExecutionMode::Streaming),
        stream! {
            let actions = from_source(source);
            actions.dead_letters().map(|d| format!("dead letter: {d}")).print();
            actions
                .key_by(|a| (a.user_id, a.item_id))
                .count()
                .filter(|(_, count)| *count > 1)
                .map(|((user_id, item_id), count)| PairCount {
                    user_id: user_id as i64,
                    item_id: item_id as i64,
                    count: count as i64,
                })
                .sink(table);
        },
    )?;
    Ok(())
}
