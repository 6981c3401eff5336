//! Fraud detection, after Flink's DataStream walkthrough: a small transaction (under
//! 1.00) followed within one minute by a large one (over 500.00) on the same account
//! raises an alert.
//!
//! ```text
//! cargo run --release --example fraud_detection -- [-w N] [FILE]
//! ```
//! FILE holds one transaction per line, `{"transaction_id", "account_id", "amount",
//! "timestamp"}` (default: the bundled `examples/data/transactions.jsonl`), up to 5 s out
//! of order. Prints
//! - `alert account <a> transaction <id> amount <x>` for each alert;
//! - `expired account <a> small transaction <id>` (a side output) for each small
//!   transaction whose minute passed with no transaction after it;
//! - `bad record: <reason>` for each line that is not a transaction.
//!
//! As in Flink's walkthrough, the detector keeps a `ValueState<bool>` flag per account and
//! a one-minute timer that clears it. It runs in event time: "followed by" means by the
//! transactions' timestamps, whatever order they arrive in and however many workers read
//! the file. Each account's transactions wait in `MapState` until the watermark passes
//! their time (an event-time timer per timestamp) and are then checked in time order, so
//! the flag's timer fires before a transaction more than a minute after the small one.

use std::path::PathBuf;

use tidemill::clap::{self, Parser};
use tidemill::prelude::*;

mod common;
use common::transactions::{self, Transaction};

#[derive(Parser)]
#[command(
    disable_help_flag = true,
    about = "Alerts on a small transaction followed by a large one"
)]
struct Cli {
    #[command(flatten)]
    tidemill: tidemill::Args,
    /// JSON lines of transactions (default: the bundled sample).
    file: Option<PathBuf>,
    /// Write alerts to `DIR/alerts` and expired small transactions to `DIR/expired`
    /// (text part files, exactly once with `--checkpoint-dir`) instead of printing them.
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
}

const SMALL_AMOUNT: f64 = 1.00;
const LARGE_AMOUNT: f64 = 500.00;
const ONE_MINUTE: u64 = 60_000;

/// Small transactions whose minute passed with nothing after them.
const EXPIRED: OutputTag<String> = OutputTag::new("expired");

/// Its fields are its state: with `--checkpoint-dir`, each checkpoint holds them (and the
/// pending timers), so it derives serde's traits.
#[derive(Default, Serialize, Deserialize)]
struct FraudDetector {
    /// Transactions waiting for the watermark, by timestamp.
    pending: MapState<u64, u64, Vec<Transaction>>,
    /// Set while the account's last transaction was small: that transaction's id.
    flag: ValueState<u64, u64>,
    /// When the flag expires.
    timer: ValueState<u64, u64>,
}

impl FraudDetector {
    /// Flink's `processElement`, on transactions in event-time order.
    fn check(&mut self, tx: Transaction, ctx: &mut Context<'_, u64>, out: &mut Vec<String>) {
        if self.flag.value(ctx).is_some() {
            if tx.amount > LARGE_AMOUNT {
                out.push(format!(
                    "alert account {} transaction {} amount {:.2}",
                    tx.account_id, tx.transaction_id, tx.amount
                ));
            }
            self.clean_up(ctx);
        }
        if tx.amount < SMALL_AMOUNT {
            self.flag.update(ctx, tx.transaction_id);
            let timer = tx.timestamp + ONE_MINUTE;
            ctx.register_event_time_timer(timer);
            self.timer.update(ctx, timer);
        }
    }

    fn clean_up(&mut self, ctx: &mut Context<'_, u64>) {
        if let Some(timer) = self.timer.clear(ctx) {
            ctx.delete_event_time_timer(timer);
        }
        self.flag.clear(ctx);
    }
}

impl KeyedProcessFunction<u64, Transaction> for FraudDetector {
    type Out = String;

    fn process_element(
        &mut self,
        tx: Transaction,
        ctx: &mut Context<'_, u64>,
        _: &mut Vec<String>,
    ) {
        let ts = ctx.timestamp();
        let mut at_ts = self.pending.remove(ctx, &ts).unwrap_or_default();
        at_ts.push(tx);
        self.pending.put(ctx, ts, at_ts);
        ctx.register_event_time_timer(ts);
    }

    fn on_timer(&mut self, time: u64, ctx: &mut Context<'_, u64>, out: &mut Vec<String>) {
        // The transactions at this time (a timer fires once per key and time, even when a
        // flag's timer falls on it too) ...
        for tx in self.pending.remove(ctx, &time).unwrap_or_default() {
            self.check(tx, ctx, out);
        }
        // ... then the flag's minute, if it ends now.
        if self.timer.value(ctx) == Some(&time) {
            self.timer.clear(ctx);
            if let Some(id) = self.flag.clear(ctx) {
                let expired = format!("expired account {} small transaction {id}", ctx.key());
                ctx.output(&EXPIRED, expired);
            }
        }
    }
}

/// Where results go: printed, or text part files in a directory.
enum Results {
    Print,
    Files(tidemill::sinks::TextFileSink),
}

/// Prints, or writes to `output/name` when an output directory is given.
fn results(output: &Option<PathBuf>, name: &str) -> Results {
    match output {
        None => Results::Print,
        Some(dir) => Results::Files(tidemill::sinks::TextFileSink::new(dir.join(name))),
    }
}

impl<T: std::fmt::Display + 'static> tidemill::sinks::SinkSpec<T> for Results {
    fn build<'scope>(
        &self,
        stream: tidemill::sinks::Records<'scope, T>,
        context: &tidemill::JobContext,
    ) -> tidemill::sinks::Written<'scope> {
        match self {
            Results::Print => tidemill::sinks::print(stream, context),
            Results::Files(files) => files.build(stream, context),
        }
    }
}

fn main() -> tidemill::Result<()> {
    let cli = Cli::parse();
    let file = cli.file.unwrap_or_else(transactions::sample);
    let output = cli.output;
    tidemill::run(
        cli.tidemill,
        stream! {
            let parsed = read_text_file(file)
                .map(|line| transactions::parse(&line))
                .assign_timestamps(|t| t.as_ref().map_or(0, |t| t.timestamp), out_of_orderness = 5s);
            let alerts = parsed
                .flat_map(Result::ok)
                .key_by(|t| t.account_id)
                .process(FraudDetector::default());
            alerts.sink(results(&output, "alerts"));
            alerts.side_output(EXPIRED).sink(results(&output, "expired"));
            parsed
                .flat_map(Result::err)
                .map(|reason| format!("bad record: {reason}"))
                .print();
        },
    )?;
    Ok(())
}
