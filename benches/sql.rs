//! SQL against the DSL: each query beside the same pipeline written in the DSL, on the
//! same transactions, alternating in one run.
//!
//! ```text
//! cargo bench --bench sql                              # 5M transactions
//! TIDEMILL_BENCH_EVENTS=20000000 cargo bench --bench sql
//! ```
//! Transactions `{transaction_id, account_id, amount, timestamp}` over 10k accounts,
//! 1000 per millisecond of event time, up to 1 s out of order. Variants, at `-w 1` and
//! `-w 2`, each writing to `discard()` and checked to agree on the number of results:
//! - **filter**: the seed's fraud query, `SELECT transaction_id, amount, timestamp FROM
//!   transactions WHERE amount > 1000`, against `filter` and `map` into a tuple;
//! - **tumble**: `COUNT(*)` per account and 10 s window from `TUMBLE`, against
//!   `key_by(..).window(tumbling(10s)).count()`;
//! - **group by**: the updating `GROUP BY account_id` (`COUNT(*)`, differential
//!   dataflow, final rows only: no timestamps) against the DSL's rolling count in batch
//!   mode, which also emits each key's final count once.

use std::time::Instant;

use tidemill::prelude::*;

mod common;
use common::{env, peak_rss_mb, report, reset_peak_rss, rss_mb};

const ACCOUNTS: u64 = 10_000;
const PER_MS: u64 = 1_000;
const BOUND: u64 = 1_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Transaction {
    transaction_id: u64,
    account_id: u64,
    amount: f64,
    timestamp: u64,
}

fn transactions(n: u64) -> Vec<Transaction> {
    (0..n)
        .map(|i| {
            let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            Transaction {
                transaction_id: i,
                account_id: (h >> 20) % ACCOUNTS,
                amount: ((h >> 40) % 200_000) as f64 / 100.0,
                timestamp: (i / PER_MS).saturating_sub((h >> 50) % BOUND),
            }
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Query {
    Filter,
    Tumble,
    GroupBy,
}

/// The records discarded by the query in SQL (`sql`) or in the DSL.
fn run(input: &[Transaction], workers: u64, query: Query, sql: bool) -> u64 {
    let data = input.to_vec();
    let args = Args::with_workers(workers).execution_mode(ExecutionMode::Batch);
    let report = match (query, sql) {
        (Query::Filter, true) => tidemill::run(
            args,
            stream! {
                let transactions = from_collection(data);
                sql!("SELECT transaction_id, amount, timestamp FROM transactions WHERE amount > 1000")
                    .discard();
            },
        ),
        (Query::Filter, false) => tidemill::run(
            args,
            stream! {
                from_collection(data)
                    .filter(|t| t.amount > 1000.0)
                    .map(|t| (t.transaction_id, t.amount, t.timestamp))
                    .discard();
            },
        ),
        (Query::Tumble, true) => tidemill::run(
            args,
            stream! {
                let transactions = from_collection(data).assign_timestamps(|t| t.timestamp, out_of_orderness = 1s);
                sql!("SELECT window_start, account_id, COUNT(*) AS n
                  FROM TABLE(TUMBLE(TABLE transactions, DESCRIPTOR(timestamp), INTERVAL '10' SECOND))
                  GROUP BY window_start, window_end, account_id")
                    .discard();
            },
        ),
        (Query::Tumble, false) => tidemill::run(
            args,
            stream! {
                from_collection(data)
                    .assign_timestamps(|t| t.timestamp, out_of_orderness = 1s)
                    .key_by(|t| t.account_id)
                    .window(tumbling(10s))
                    .count()
                    .discard();
            },
        ),
        (Query::GroupBy, true) => tidemill::run(
            args,
            stream! {
                let transactions = from_collection(data);
                sql!("SELECT account_id, COUNT(*) AS n FROM transactions GROUP BY account_id")
                    .discard();
            },
        ),
        (Query::GroupBy, false) => tidemill::run(
            args,
            stream! {
                from_collection(data)
                    .key_by(|t| t.account_id)
                    .count()
                    .discard();
            },
        ),
    };
    report.unwrap().discarded
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env("TIDEMILL_BENCH_EVENTS", 5_000_000);
    let reps = env("TIDEMILL_BENCH_REPS", 3).max(1);
    let input = transactions(n);
    // Every variant copies the input once (the collection).
    let record = std::mem::size_of::<Transaction>() as f64;
    let baseline = rss_mb() + n as f64 * record / (1 << 20) as f64;
    println!(
        "{n} transactions, {ACCOUNTS} accounts, {PER_MS} per ms of event time, bound {BOUND} ms"
    );
    println!("{reps} runs per variant, alternating; seconds are the median (and the fastest)");
    println!("| query | variant | workers | median s (fastest) | events/s (median) | results | peak RSS above input MB |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (name, query) in [
        ("filter", Query::Filter),
        ("tumble", Query::Tumble),
        ("group by", Query::GroupBy),
    ] {
        for workers in [1, 2] {
            let variants = ["DSL", "SQL"];
            let mut secs = [Vec::new(), Vec::new()];
            let mut rss = [0f64; 2];
            let mut results = [0u64; 2];
            for _ in 0..reps {
                for (v, _) in variants.iter().enumerate() {
                    reset_peak_rss();
                    let start = Instant::now();
                    results[v] = run(&input, workers, query, v == 1);
                    secs[v].push(start.elapsed().as_secs_f64());
                    rss[v] = rss[v].max(peak_rss_mb() - baseline);
                }
                assert_eq!(results[0], results[1], "{name}: SQL and DSL disagree");
            }
            report(
                name,
                variants,
                workers,
                n,
                (&secs, &results, &rss),
                "SQL / DSL",
            );
        }
    }
}
