//! A checkpointed interval join: each odd sensor's readings joined with those of the
//! even sensor before it (sensors 1 and 0, 3 and 2, ...) that lie within 100 ms, in
//! event time, written exactly once to JSON-lines files, resumable after a crash.
//!
//! ```text
//! cargo run --release --example checkpointed_counts -- --generate 100000 readings.jsonl
//! cargo run --release --example checkpointed_join -- readings.jsonl out/ \
//!     --checkpoint-dir ckpt/ --checkpoint-interval 1s
//! # kill it (kill -9 too), then resume where the last checkpoint left off:
//! cargo run --release --example checkpointed_join -- readings.jsonl out/ \
//!     --checkpoint-dir ckpt/ --restore latest
//! ```
//! The input is `checkpointed_counts`'s (`{"sensor": 3, "ts": .., "value": 12}`, up to
//! 200 ms out of order). Each output line is one pair, `[odd ts, even ts, sum of the
//! values]`. Both sides' buffers are part of each checkpoint, so after any number of
//! crashes and restores the directory holds each pair once.

use std::path::PathBuf;

use tidemill::clap::{self, Parser};
use tidemill::prelude::*;

#[derive(Parser)]
#[command(
    disable_help_flag = true,
    about = "Checkpointed interval join of sensor pairs"
)]
struct Cli {
    #[command(flatten)]
    tidemill: tidemill::Args,
    /// Pause a millisecond after every this many readings (0: never), to stretch a run.
    #[arg(long, default_value_t = 0)]
    pace: u64,
    /// The readings, one JSON object per line.
    input: PathBuf,
    /// The output directory.
    output: PathBuf,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Reading {
    sensor: u64,
    ts: u64,
    value: u64,
}

fn main() -> tidemill::Result<()> {
    let cli = Cli::parse();
    let (input, output, pace) = (cli.input, cli.output, cli.pace);
    let mut seen = 0u64;
    tidemill::run(
        cli.tidemill,
        stream! {
            let readings = from_source(json_lines::<Reading>(input))
                .map(move |r| {
                    seen += 1;
                    if pace > 0 && seen.is_multiple_of(pace) {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    r
                })
                .assign_timestamps(|r| r.ts, out_of_orderness = 200ms);
            let evens = readings.filter(|r| r.sensor % 2 == 0).key_by(|r| r.sensor / 2);
            readings
                .filter(|r| r.sensor % 2 == 1)
                .key_by(|r| r.sensor / 2)
                .interval_join(evens)
                .between(-100ms, 100ms)
                .process(|a, b, _ctx, out| out.push((a.ts, b.ts, a.value + b.value)))
                .sink(json_lines_sink(output));
        },
    )?;
    Ok(())
}
