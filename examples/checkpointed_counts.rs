//! Checkpointed window counts: per-sensor counts and sums of readings in one-second
//! event-time windows, written exactly once to JSON-lines files, resumable after a crash.
//!
//! ```text
//! cargo run --release --example checkpointed_counts -- --generate 100000 readings.jsonl
//! cargo run --release --example checkpointed_counts -- readings.jsonl out/ \
//!     --checkpoint-dir ckpt/ --checkpoint-interval 1s
//! # kill it (kill -9 too), then resume where the last checkpoint left off:
//! cargo run --release --example checkpointed_counts -- readings.jsonl out/ \
//!     --checkpoint-dir ckpt/ --restore latest
//! ```
//! Each input line is `{"sensor": 3, "ts": 1700000000123, "value": 12}`; readings may
//! arrive up to 200 ms out of order. Each output line is one window's
//! `{"key": 3, "start": .., "end": .., "value": [count, sum]}`. With checkpoints, the
//! output directory holds a window's result once a checkpoint covering it completes, and
//! exactly once after any number of crashes and restores.

use std::io::Write;
use std::path::PathBuf;

use tidemill::clap::{self, Parser};
use tidemill::prelude::*;

#[derive(Parser)]
#[command(
    disable_help_flag = true,
    about = "Checkpointed per-sensor window counts"
)]
struct Cli {
    #[command(flatten)]
    tidemill: tidemill::Args,
    /// Write this many generated readings to INPUT instead of running the job.
    #[arg(long, value_name = "N")]
    generate: Option<u64>,
    /// Pause a millisecond after every this many readings (0: never), to stretch a run.
    #[arg(long, default_value_t = 0)]
    pace: u64,
    /// The readings, one JSON object per line.
    input: PathBuf,
    /// The output directory.
    output: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Reading {
    sensor: u64,
    ts: u64,
    value: u64,
}

/// `n` readings of 50 sensors, about one per millisecond, up to 150 ms out of order.
fn generate(path: &PathBuf, n: u64) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..n {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let reading = Reading {
            sensor: seed % 50,
            ts: 1_700_000_000_000 + i + (seed >> 8) % 150,
            value: (seed >> 20) % 100,
        };
        writeln!(
            out,
            "{}",
            serde_json::to_string(&reading).expect("serializes")
        )?;
    }
    out.flush()
}

fn main() -> tidemill::Result<()> {
    let cli = Cli::parse();
    if let Some(n) = cli.generate {
        generate(&cli.input, n)
            .map_err(|e| tidemill::Error::Config(format!("cannot write the input: {e}")))?;
        return Ok(());
    }
    let output = cli
        .output
        .ok_or_else(|| tidemill::Error::Config("the output directory is missing".into()))?;
    let (input, pace) = (cli.input, cli.pace);
    let mut seen = 0u64;
    tidemill::run(
        cli.tidemill,
        stream! {
            from_source(json_lines::<Reading>(input))
                .map(move |r| {
                    seen += 1;
                    if pace > 0 && seen.is_multiple_of(pace) {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    r
                })
                .assign_timestamps(|r| r.ts, out_of_orderness = 200ms)
                .key_by(|r| r.sensor)
                .window(tumbling(1s))
                .aggregate(CountSum)
                .sink(json_lines_sink(output));
        },
    )?;
    Ok(())
}

/// Counts readings and sums their values.
struct CountSum;

impl Aggregator<Reading> for CountSum {
    type Acc = (u64, u64);
    type Out = (u64, u64);
    fn init(&self) -> (u64, u64) {
        (0, 0)
    }
    fn add(&self, acc: &mut (u64, u64), r: Reading) {
        acc.0 += 1;
        acc.1 += r.value;
    }
    fn merge(&self, acc: &mut (u64, u64), other: &(u64, u64)) {
        acc.0 += other.0;
        acc.1 += other.1;
    }
    fn finish(&self, acc: &(u64, u64)) -> (u64, u64) {
        *acc
    }
}
