//! Windowed WordCount: counts words per second of event time over timestamped lines.
//!
//! ```text
//! cargo run --release --example windowed_wordcount -- [-w N] [FILE]
//! ```
//! Each line of FILE is `<event time in ms>\t<text>` (default: the bundled
//! `examples/data/timestamped.txt`). Lines may arrive up to 500 ms out of order. Prints
//! `[start, end) word count` for every word of every one-second window.

use std::path::PathBuf;

use tidemill::clap::{self, Parser};
use tidemill::prelude::*;

#[derive(Parser)]
#[command(
    disable_help_flag = true,
    about = "Counts words per second of event time"
)]
struct Cli {
    #[command(flatten)]
    tidemill: tidemill::Args,
    /// Timestamped lines, `<ms>\t<text>` (default: the bundled sample).
    file: Option<PathBuf>,
}

/// `(event time, text)` of a line; a line without a timestamp stops the job with its text.
fn parse(line: &str) -> (u64, String) {
    line.split_once('\t')
        .and_then(|(ts, text)| Some((ts.trim().parse().ok()?, text.to_string())))
        .unwrap_or_else(|| panic!("not a `<ms>\\t<text>` line: {line:?}"))
}

fn main() -> tidemill::Result<()> {
    let cli = Cli::parse();
    let file = cli.file.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/data/timestamped.txt")
    });
    tidemill::run(
        cli.tidemill,
        stream! {
            read_text_file(file)
                .map(|line| parse(&line))
                .assign_timestamps(|(ts, _)| *ts, out_of_orderness = 500ms)
                .flat_map(|(_, text)| {
                    text.split(|c: char| !c.is_alphanumeric())
                        .filter(|w| !w.is_empty())
                        .map(|w| (w.to_lowercase(), 1u64))
                        .collect::<Vec<_>>()
                })
                .key_by(0)
                .window(tumbling(1s))
                .reduce(|a, b| (a.0, a.1 + b.1))
                .map(|w| format!("[{}, {}) {} {}", w.start, w.end, w.value.0, w.value.1))
                .print();
        },
    )?;
    Ok(())
}
