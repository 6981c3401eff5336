//! Large transactions in SQL: the seed's fraud query, verbatim, over a JSON-lines file of
//! card transactions, compiled with the pipeline (a wrong column is a compile error at
//! the query). `transaction_filter.rs` is the same job in the DSL.
//!
//! ```text
//! cargo run --release --example sql_transaction_filter -- [-w N] [FILE]
//! ```
//! FILE holds one transaction per line, `{"transaction_id", "account_id", "amount",
//! "timestamp"}` (default: the bundled `examples/data/transactions.jsonl`). Prints each
//! result row as Flink's print sink does, `+I[transaction_id, amount, timestamp]`, and
//! `dead letter: ..` for each line that is not a transaction: nothing is dropped
//! silently.

use std::path::PathBuf;

use tidemill::clap::{self, Parser};
use tidemill::prelude::*;

mod common;
use common::transactions::{self, Transaction};

#[derive(Parser)]
#[command(disable_help_flag = true, about = "Transactions over 1000, in SQL")]
struct Cli {
    #[command(flatten)]
    tidemill: tidemill::Args,
    /// JSON lines of transactions (default: the bundled sample).
    file: Option<PathBuf>,
}

fn main() -> tidemill::Result<()> {
    let cli = Cli::parse();
    let file = cli.file.unwrap_or_else(transactions::sample);
    tidemill::run(
        cli.tidemill,
        stream! {
            let transactions = from_source(json_lines::<Transaction>(file));
            transactions.dead_letters().map(|d| format!("dead letter: {d}")).print();
            sql!("SELECT transaction_id, amount, timestamp FROM transactions WHERE amount > 1000")
                .print();
        },
    )?;
    Ok(())
}
