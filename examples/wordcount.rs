//! WordCount, the seed example: counts the words of a text file.
//!
//! ```text
//! cargo run --release --example wordcount -- [-w N] [FILE]
//! ```
//! Words are lower-cased and split on non-alphanumeric characters. Without FILE, the
//! bundled `examples/data/hamlet.txt` is counted. Prints `word count` lines.

use std::path::PathBuf;

use tidemill::clap::{self, Parser};
use tidemill::prelude::*;

#[derive(Parser)]
#[command(disable_help_flag = true, about = "Counts the words of a text file")]
struct Cli {
    #[command(flatten)]
    tidemill: tidemill::Args,
    /// The text file to count (default: the bundled Hamlet soliloquy).
    file: Option<PathBuf>,
}

/// The words of a line: lower-cased, split on anything that is not alphanumeric.
fn words(line: &str) -> Vec<String> {
    line.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn main() -> tidemill::Result<()> {
    let cli = Cli::parse();
    let file = cli.file.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/data/hamlet.txt")
    });
    tidemill::run(
        cli.tidemill,
        stream! {
            read_text_file(file)
                .flat_map(|line| words(&line))
                .map(|word| (word, 1u64))
                .key_by(0)
                .sum(1)
                .map(|(word, count)| format!("{word} {count}"))
                .print();
        },
    )?;
    Ok(())
}
