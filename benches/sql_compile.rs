//! The compile time of SQL: one pipeline with 20 `sql!` queries (filters, projections,
//! expressions, window TVFs, updating `GROUP BY`s), the figure in BENCHMARKS.md. Run, it
//! pushes 1M transactions through all 20 at once and prints events/s, so the file is
//! also checked to build a working job.
//!
//! ```text
//! touch benches/sql_compile.rs && time cargo build --release --bench sql_compile
//! cargo bench --bench sql_compile
//! ```
//! The harness alone (this file with `job`'s pipeline cut to its source and a `discard`)
//! is the baseline the queries' share is measured against.

use std::time::Instant;

use tidemill::prelude::*;

mod common;
use common::env;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Transaction {
    transaction_id: u64,
    account_id: u64,
    amount: f64,
    note: Option<String>,
    timestamp: u64,
}

fn transactions(n: u64) -> Vec<Transaction> {
    (0..n)
        .map(|i| {
            let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            Transaction {
                transaction_id: i,
                account_id: (h >> 20) % 1_000,
                amount: ((h >> 40) % 200_000) as f64 / 100.0,
                note: (h % 3 == 0).then(|| format!("n{}", h % 7)),
                timestamp: i / 100,
            }
        })
        .collect()
}

fn job(data: Vec<Transaction>) -> tidemill::Result<tidemill::JobReport> {
    tidemill::run(
        Args::with_workers(1),
        stream! {
            let t = from_collection(data).assign_timestamps(|t| t.timestamp, out_of_orderness = 1s);
            sql!("SELECT transaction_id, amount, timestamp FROM t WHERE amount > 1000").discard();
            sql!("SELECT transaction_id, amount * 0.908 AS euros FROM t").discard();
            sql!("SELECT account_id, amount FROM t WHERE account_id BETWEEN 10 AND 20 AND amount < 50").discard();
            sql!("SELECT transaction_id, CASE WHEN amount > 1500 THEN 'high' WHEN amount > 500 THEN 'mid' ELSE 'low' END AS band FROM t").discard();
            sql!("SELECT transaction_id, COALESCE(note, 'none') AS note FROM t WHERE note IS NOT NULL OR amount > 1900").discard();
            sql!("SELECT transaction_id, UPPER(note) AS loud, CHAR_LENGTH(note) AS len FROM t WHERE note LIKE 'n%'").discard();
            sql!("SELECT transaction_id, CAST(amount AS BIGINT) AS cents FROM t WHERE MOD(transaction_id, 7) = 0").discard();
            sql!("SELECT transaction_id, account_id IN (1, 2, 3, 5, 8, 13) AS fib FROM t").discard();
            sql!("SELECT transaction_id, CONCAT('tx-', CAST(transaction_id AS STRING)) AS name FROM t WHERE amount > 1990").discard();
            sql!("SELECT transaction_id, EXTRACT(HOUR FROM timestamp) AS h, DATE_FORMAT(timestamp, 'yyyy-MM-dd') AS d FROM t WHERE amount > 1999").discard();
            sql!("SELECT window_start, window_end, account_id, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(timestamp), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, account_id").discard();
            sql!("SELECT window_start, window_end, SUM(amount) AS total, MAX(amount) AS top FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(timestamp), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end").discard();
            sql!("SELECT window_start, window_end, account_id, AVG(amount) AS mean FROM TABLE(HOP(TABLE t, DESCRIPTOR(timestamp), INTERVAL '5' SECOND, INTERVAL '20' SECOND)) GROUP BY window_start, window_end, account_id HAVING COUNT(*) > 2").discard();
            sql!("SELECT window_start, window_end, COUNT(DISTINCT account_id) AS accounts FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(timestamp), INTERVAL '10' SECOND, INTERVAL '1' MINUTE)) GROUP BY window_start, window_end").discard();
            sql!("SELECT window_start, window_end, account_id, COUNT(*) AS n FROM TABLE(SESSION(TABLE t PARTITION BY account_id, DESCRIPTOR(timestamp), INTERVAL '30' SECOND)) GROUP BY window_start, window_end, account_id").discard();
            sql!("SELECT window_start, window_end, MIN(amount) AS low FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(timestamp), INTERVAL '1' HOUR, INTERVAL '30' MINUTE)) GROUP BY window_start, window_end").discard();
            sql!("SELECT account_id, COUNT(*) AS n FROM t GROUP BY account_id HAVING COUNT(*) > 1").discard();
            sql!("SELECT account_id, SUM(amount) AS total, MAX(timestamp) AS last FROM t GROUP BY account_id").discard();
            sql!("SELECT DISTINCT account_id FROM t").discard();
            sql!("SELECT COUNT(*) AS n, AVG(amount) AS mean FROM t").discard();
        },
    )
}

fn main() {
    let n = env("TIDEMILL_BENCH_EVENTS", 1_000_000);
    let data = transactions(n);
    let start = Instant::now();
    job(data).expect("the job runs");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "20 queries over {n} transactions at -w 1: {secs:.2} s, {:.2}M events/s",
        n as f64 / secs / 1e6
    );
}
