//! Large transactions: the records of a JSON-lines file of card transactions with an
//! amount over 1000, as a plain DataStream pipeline.
//!
//! ```text
//! cargo run --release --example transaction_filter -- [-w N] [FILE]
//! ```
//! FILE holds one transaction per line, `{"transaction_id", "account_id", "amount",
//! "timestamp"}` (default: the bundled `examples/data/transactions.jsonl`). Prints
//! `large <id> account <account> amount <amount>` for each large transaction, and
//! `bad record: <reason>: <line>` for each line that is not a transaction: nothing is
//! dropped silently.

use std::path::PathBuf;

use tidemill::clap::{self, Parser};
use tidemill::prelude::*;

mod common;
use common::transactions;

#[derive(Parser)]
#[command(disable_help_flag = true, about = "Transactions over 1000")]
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
            let parsed = read_text_file(file).map(|line| transactions::parse(&line));
            parsed
                .flat_map(Result::ok)
                .filter(|t| t.amount > 1000.0)
                .map(|t| format!("large {} account {} amount {:.2}", t.transaction_id, t.account_id, t.amount))
                .print();
            parsed
                .flat_map(Result::err)
                .map(|reason| format!("bad record: {reason}"))
                .print();
        },
    )?;
    Ok(())
}
