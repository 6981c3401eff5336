//! WordCount throughput: the DSL pipeline beside a hand-written timely dataflow and a
//! plain single-threaded `HashMap` loop, on one generated text, in one run.
//!
//! ```text
//! cargo bench --bench wordcount                    # ~200 MB of text
//! TIDEMILL_BENCH_MB=50 cargo bench --bench wordcount
//! ```
//! Prints words/s, MB/s and peak RSS per variant. All three tokenize alike (lower-cased,
//! split on non-alphanumerics) and must agree on the counts, which the bench checks.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tidemill::prelude::*;

mod common;
use common::{peak_rss_mb, reset_peak_rss};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::{Capability, Operator};

fn words(line: &str) -> Vec<String> {
    line.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A deterministic text of about `mb` megabytes with a Zipf-like vocabulary of 50k words.
fn generate(path: &Path, mb: usize) -> u64 {
    let vocabulary: Vec<String> = (0..50_000u32)
        .map(|i| {
            let len = 2 + (i.wrapping_mul(2_654_435_761) % 9) as usize;
            let mut w: String = (0..len)
                .map(|j| (b'a' + ((i as usize * 7 + j * 13) % 26) as u8) as char)
                .collect();
            if i % 11 == 0 {
                w = w.to_uppercase();
            }
            w
        })
        .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = std::io::BufWriter::new(File::create(path).unwrap());
    let (mut written, mut words) = (0usize, 0u64);
    let mut line = String::new();
    while written < mb * 1_000_000 {
        line.clear();
        for _ in 0..12 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Zipf-like: small indexes far more often than large ones.
            let r = (state >> 11) as f64 / (1u64 << 53) as f64;
            let index = ((vocabulary.len() as f64).powf(r) as usize).saturating_sub(1);
            line.push_str(&vocabulary[index]);
            line.push_str(if state.is_multiple_of(7) { ", " } else { " " });
            words += 1;
        }
        line.push('\n');
        out.write_all(line.as_bytes()).unwrap();
        written += line.len();
    }
    out.flush().unwrap();
    words
}

fn dsl(path: &Path, workers: u64) -> Vec<(String, u64)> {
    let out = Collector::new();
    let file = path.to_path_buf();
    tidemill::run(
        Args::with_workers(workers),
        stream! {
            read_text_file(file)
                .flat_map(|line| words(&line))
                .map(|word| (word, 1u64))
                .key_by(0)
                .sum(1)
                .collect(out);
        },
    )
    .unwrap();
    out.take()
}

/// The same dataflow written by hand against timely: a byte-range line source, one
/// operator that splits words, an exchange by word, a counting operator.
fn hand_written(path: &Path, workers: u64) -> Vec<(String, u64)> {
    let results = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = results.clone();
    let path = path.to_path_buf();
    let config = timely::Config::process(workers as usize);
    timely::execute(config, move |worker| {
        let (path, sink) = (path.clone(), sink.clone());
        worker.dataflow::<u64, _, _>(|scope| {
            let (index, peers) = (scope.index() as u64, scope.peers() as u64);
            let lines = source(scope, "lines", move |cap, info| {
                let activator = scope.activator_for(info.address);
                let mut cap = Some(cap);
                let file = File::open(&path).unwrap();
                let size = file.metadata().unwrap().len();
                let (start, end) = (size * index / peers, size * (index + 1) / peers);
                let mut reader = BufReader::with_capacity(256 * 1024, file);
                let mut pos = start;
                if start > 0 {
                    reader.seek(SeekFrom::Start(start - 1)).unwrap();
                    pos = start - 1 + reader.read_until(b'\n', &mut Vec::new()).unwrap() as u64;
                }
                move |output| {
                    let Some(c) = cap.as_ref() else { return };
                    let mut session = output.session(c);
                    for _ in 0..8192 {
                        let mut line = String::new();
                        let n = if pos < end {
                            reader.read_line(&mut line).unwrap()
                        } else {
                            0
                        };
                        if n == 0 {
                            drop(session);
                            cap = None;
                            return;
                        }
                        pos += n as u64;
                        session.give(line);
                    }
                    activator.activate();
                }
            });
            lines
                .container::<Vec<String>>()
                .unary(
                    timely::dataflow::channels::pact::Pipeline,
                    "words",
                    |_, _| {
                        move |input, output| {
                            input.for_each(|time, data| {
                                let mut session = output.session(&time);
                                for line in data.drain(..) {
                                    for w in words(&line) {
                                        session.give(w);
                                    }
                                }
                            })
                        }
                    },
                )
                .container::<Vec<String>>()
                .unary_frontier(
                    Exchange::new(|w: &String| tidemill::hash::route_hash(w)),
                    "count",
                    move |_, _| {
                        // The same fast hasher as the DSL's state, so the ratio measures the macro, not the hash.
                        let mut counts: tidemill::hash::StateMap<String, u64> = Default::default();
                        let mut held: Option<Capability<u64>> = None;
                        move |(input, frontier), output| {
                            input.for_each(|time, data| {
                                if held.is_none() {
                                    held = time.retain_least(output.output_index());
                                }
                                for w in data.drain(..) {
                                    match counts.get_mut(&w) {
                                        Some(c) => *c += 1,
                                        None => {
                                            counts.insert(w, 1);
                                        }
                                    }
                                }
                            });
                            if frontier.is_empty() {
                                if let Some(cap) = held.take() {
                                    let mut session = output.session(&cap);
                                    for kv in counts.drain() {
                                        session.give(kv);
                                    }
                                }
                            }
                        }
                    },
                )
                .container::<Vec<(String, u64)>>()
                .sink(
                    timely::dataflow::channels::pact::Pipeline,
                    "collect",
                    move |(input, _)| {
                        input.for_each(|_, data| sink.lock().unwrap().append(data));
                    },
                );
        });
    })
    .unwrap();
    let counts = std::mem::take(&mut *results.lock().unwrap());
    counts
}

fn plain_loop(path: &Path) -> Vec<(String, u64)> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut lower = String::new();
    for line in BufReader::with_capacity(256 * 1024, File::open(path).unwrap()).lines() {
        for w in line
            .unwrap()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            lower.clear();
            lower.extend(w.chars().flat_map(char::to_lowercase));
            match counts.get_mut(lower.as_str()) {
                Some(c) => *c += 1,
                None => {
                    counts.insert(lower.clone(), 1);
                }
            }
        }
    }
    counts.into_iter().collect()
}

/// One way of counting the words of the file.
type Variant<'a> = dyn Fn() -> Vec<(String, u64)> + 'a;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass test flags: run only under bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mb: usize = std::env::var("TIDEMILL_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let path: PathBuf = std::env::temp_dir().join(format!("tidemill-bench-wordcount-{mb}mb.txt"));
    let words = generate(&path, mb);
    let bytes = std::fs::metadata(&path).unwrap().len() as f64;
    println!(
        "WordCount over {:.0} MB, {words} words; {} cores",
        bytes / 1e6,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<24} {:>9} {:>12} {:>9} {:>12}",
        "variant", "seconds", "words/s", "MB/s", "peak RSS MB"
    );
    let mut reference: Option<Vec<(String, u64)>> = None;
    let mut timings = Vec::new();
    let variants: Vec<(&str, Box<Variant<'_>>)> = vec![
        ("plain HashMap loop", Box::new(|| plain_loop(&path))),
        (
            "hand-written timely -w1",
            Box::new(|| hand_written(&path, 1)),
        ),
        ("tidemill DSL -w1", Box::new(|| dsl(&path, 1))),
        (
            "hand-written timely -w2",
            Box::new(|| hand_written(&path, 2)),
        ),
        ("tidemill DSL -w2", Box::new(|| dsl(&path, 2))),
    ];
    for (name, run) in &variants {
        reset_peak_rss();
        let start = Instant::now();
        let mut counts = run();
        let secs = start.elapsed().as_secs_f64();
        counts.sort_unstable();
        match &reference {
            None => reference = Some(counts),
            Some(r) => assert_eq!(r, &counts, "{name} disagrees with the plain loop"),
        }
        println!(
            "{name:<24} {secs:>9.2} {:>12.0} {:>9.1} {:>12.0}",
            words as f64 / secs,
            bytes / 1e6 / secs,
            peak_rss_mb()
        );
        timings.push((*name, secs));
    }
    let t = |n: &str| {
        timings
            .iter()
            .find(|(name, _)| *name == n)
            .map(|(_, s)| *s)
            .unwrap()
    };
    println!(
        "ratios: DSL/hand-written -w1 {:.2}x, -w2 {:.2}x; DSL -w1 speed vs plain loop {:.2}x",
        t("tidemill DSL -w1") / t("hand-written timely -w1"),
        t("tidemill DSL -w2") / t("hand-written timely -w2"),
        t("plain HashMap loop") / t("tidemill DSL -w1"),
    );
    let _ = std::fs::remove_file(&path);
}
