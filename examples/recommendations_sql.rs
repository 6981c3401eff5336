//! Recommendations in SQL: the seed's query, verbatim, over the Kafka topic of user
//! actions. It is an updating query (a `GROUP BY` without a window, whose counts grow),
//! so its result is a changelog: printed as Flink prints one (`+I[..]`, `-U[..]`,
//! `+U[..]`), and applied to a PostgreSQL table keyed by `(user_id, item_id)` as
//! upserts, so the table always holds the current count of every pair seen more than
//! once. `recommendations.rs` is the DSL version.
//!
//! ```text
//! scripts/kafka.sh; scripts/postgres.sh                                                                 # local servers
//! cargo run --release --features kafka,postgres --example recommendations_sql -- --setup 20000          # topic, table, actions
//! cargo run --release --features kafka,postgres --example recommendations_sql -- --until-end [-w N]     # the job
//! ```
//! The actions carry their event time (`timestamp`): the counts change as the watermark
//! passes each second of it (the changes of one second come together, one `-U`/`+U`
//! per pair and second). Without `--until-end` the job keeps counting new actions.

use tidemill::clap::{self, Parser};
use tidemill::prelude::*;

mod common;
use common::actions::Action;

#[derive(Parser)]
#[command(
    disable_help_flag = true,
    about = "Counts of (user, item) pairs from Kafka in SQL, a changelog upserted into PostgreSQL"
)]
struct Cli {
    #[command(flatten)]
    tidemill: tidemill::Args,
    /// Kafka bootstrap servers.
    #[arg(long, default_value = "127.0.0.1:19092")]
    brokers: String,
    /// The topic of user actions.
    #[arg(long, default_value = "user_actions")]
    actions: String,
    /// The PostgreSQL database the counts go to.
    #[arg(long, default_value = "postgres://tidemill@127.0.0.1:15432/postgres")]
    postgres: String,
    /// The table the counts go to.
    #[arg(long, default_value = "recommendations_sql")]
    table: String,
    /// Read the actions present at start, then end.
    #[arg(long)]
    until_end: bool,
    /// Print the changelog.
    #[arg(long)]
    print: bool,
    /// Create the topic and the table, produce this many generated actions, and exit.
    #[arg(long, value_name = "ACTIONS")]
    setup: Option<u64>,
}

/// A row of the query's result, and of the table.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PairCount {
    user_id: u64,
    item_id: u64,
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
        .group_id("recommendations-sql")
        .start_from(StartFrom::Earliest);
    if cli.until_end {
        source = source.until_end();
    }
    let table = postgres::<PairCount>(&cli.postgres, &cli.table).upsert();
    let print = cli.print;
    tidemill::run(
        cli.tidemill,
        stream! {
            let actions = from_source(source);
            actions.dead_letters().map(|d| format!("dead letter: {d}")).print();
            let user_actions = actions.assign_timestamps(|a| a.timestamp, out_of_orderness = 5s);
            let recommendations = sql!(
                "SELECT user_id, item_id, COUNT(*) AS count FROM user_actions GROUP BY user_id, item_id HAVING COUNT(*) > 1",
                row = PairCount
            );
            recommendations.filter(move |_| print).print();
            recommendations.sink(table);
        },
    )?;
    Ok(())
}
