//! Join throughput: the interval join and the window join over two streams of events.
//!
//! ```text
//! cargo bench --bench joins                            # 10M events per side
//! TIDEMILL_BENCH_EVENTS=1000000 cargo bench --bench joins
//! ```
//! Each side has N events `(key, event time ms)` over 100k keys, 1000 events per
//! millisecond of event time, up to 1 s out of order (the declared bound); the sides use
//! different keys and times. Variants, at `-w 1` and `-w 2`:
//! - interval join, `between(-50ms, 50ms)`;
//! - window join, `tumbling(100ms)`.
//!
//! With `TIDEMILL_BENCH_CHECKPOINT=1s` (any interval), the jobs take checkpoints that
//! often, into a temporary directory.
//!
//! Each joined pair is counted per 10 s of event time (a combined `window_all` count), so
//! output does not dominate. Prints events/s (both sides), pairs, and peak RSS above the
//! input; the pair count must agree across worker counts.

use std::time::Instant;

use tidemill::prelude::*;

mod common;
use common::{peak_rss_mb, reset_peak_rss, rss_mb};

const KEYS: u64 = 100_000;
const PER_MS: u64 = 1_000;
const BOUND: u64 = 1_000;

fn events(n: u64, seed: u64) -> Vec<(u64, u64)> {
    (0..n)
        .map(|i| {
            let h = (i ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let key = (h >> 20) % KEYS;
            let ts = (i / PER_MS).saturating_sub((h >> 50) % BOUND);
            (key, ts)
        })
        .collect()
}

/// The job's flags: `workers` threads, checkpointing if `TIDEMILL_BENCH_CHECKPOINT` says
/// how often.
fn args(workers: u64) -> Args {
    let args = Args::with_workers(workers);
    let Ok(interval) = std::env::var("TIDEMILL_BENCH_CHECKPOINT") else {
        return args;
    };
    let dir = std::env::temp_dir().join(format!("tidemill-bench-joins-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut args = Args::try_parse_from(["joins", "--checkpoint-interval", &interval])
        .expect("TIDEMILL_BENCH_CHECKPOINT is a duration such as 1s");
    args.workers = workers;
    args.checkpoint_dir = Some(dir);
    args
}

/// Joined pairs counted per 10 s: the sum of the counts.
fn interval(left: &[(u64, u64)], right: &[(u64, u64)], workers: u64) -> u64 {
    let out = Collector::new();
    let (a, b) = (left.to_vec(), right.to_vec());
    tidemill::run(
        args(workers),
        stream! {
            let b = from_collection(b).assign_timestamps(|e| e.1, out_of_orderness = 1s);
            from_collection(a)
                .assign_timestamps(|e| e.1, out_of_orderness = 1s)
                .key_by(0)
                .interval_join(b.key_by(0))
                .between(-50ms, 50ms)
                .process(|_, _, _, out| out.push(()))
                .window_all(tumbling(10s))
                .count()
                .map(|w| w.value)
                .collect(out);
        },
    )
    .unwrap();
    out.take().iter().sum()
}

fn window(left: &[(u64, u64)], right: &[(u64, u64)], workers: u64) -> u64 {
    let out = Collector::new();
    let (a, b) = (left.to_vec(), right.to_vec());
    tidemill::run(
        args(workers),
        stream! {
            let a = from_collection(a).assign_timestamps(|e| e.1, out_of_orderness = 1s);
            let b = from_collection(b).assign_timestamps(|e| e.1, out_of_orderness = 1s);
            a.join(b)
                .on(|x| x.0, |y| y.0)
                .window(tumbling(100ms))
                .apply(|_, _| ())
                .window_all(tumbling(10s))
                .count()
                .map(|w| w.value)
                .collect(out);
        },
    )
    .unwrap();
    out.take().iter().sum()
}

fn main() {
    let n: u64 = std::env::var("TIDEMILL_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let (left, right) = (events(n, 0), events(n, 0x5eed));
    let baseline = rss_mb();
    println!("{n} events per side, {KEYS} keys, bound {BOUND} ms");
    println!(
        "{:<28} {:>3} {:>14} {:>12} {:>10}",
        "variant", "-w", "events/s", "pairs", "RSS+ MB"
    );
    type Join = fn(&[(u64, u64)], &[(u64, u64)], u64) -> u64;
    let variants: [(&str, Join); 2] = [
        ("interval join [-50ms, 50ms]", interval),
        ("window join tumbling 100ms", window),
    ];
    for (name, join) in variants {
        let mut pairs = None;
        for workers in [1, 2] {
            reset_peak_rss();
            let started = Instant::now();
            let got = join(&left, &right, workers);
            let secs = started.elapsed().as_secs_f64();
            let rss = peak_rss_mb() - baseline;
            println!(
                "{name:<28} {workers:>3} {:>14.0} {got:>12} {rss:>10.0}",
                (2 * n) as f64 / secs
            );
            assert!(got > 0, "{name}: no pairs");
            assert_eq!(
                *pairs.get_or_insert(got),
                got,
                "{name}: pairs differ by workers"
            );
        }
    }
}
