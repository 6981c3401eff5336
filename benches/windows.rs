//! Windowed count throughput: the DSL beside a hand-written timely dataflow computing the
//! same windows on the same events, in one run.
//!
//! ```text
//! cargo bench --bench windows                          # 20M events
//! TIDEMILL_BENCH_EVENTS=50000000 cargo bench --bench windows
//! ```
//! Events are `(key, event time ms)` over 100k keys, 1000 events per millisecond of
//! event time, up to 1 s out of order (the declared bound). Variants: tumbling 10 s and
//! sliding 10 s / 2 s, per key, at `-w 1` and `-w 2`. Prints events/s, peak RSS, and the
//! number of window results; every variant must count every event `size / slide` times.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tidemill::hash::{route_hash, StateMap};
use tidemill::prelude::*;

mod common;
use common::{env, peak_rss_mb, report, reset_peak_rss, rss_mb};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::{Capability, Operator};

const KEYS: u64 = 100_000;
const PER_MS: u64 = 1_000;
const BOUND: u64 = 1_000;

fn events(n: u64) -> Vec<(u64, u64)> {
    (0..n)
        .map(|i| {
            let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let key = (h >> 20) % KEYS;
            let ts = (i / PER_MS).saturating_sub((h >> 50) % BOUND);
            (key, ts)
        })
        .collect()
}

/// `(results, sum of counts)` of the DSL pipeline.
fn dsl(events: &[(u64, u64)], workers: u64, sliding: bool) -> (usize, u64) {
    let out = Collector::new();
    let data = events.to_vec();
    if sliding {
        tidemill::run(
            Args::with_workers(workers),
            stream! {
                from_collection(data)
                    .assign_timestamps(|e| e.1, out_of_orderness = 1s)
                    .key_by(0)
                    .window(sliding(10s, 2s))
                    .count()
                    .map(|w| w.value)
                    .collect(out);
            },
        )
        .unwrap();
    } else {
        tidemill::run(
            Args::with_workers(workers),
            stream! {
                from_collection(data)
                    .assign_timestamps(|e| e.1, out_of_orderness = 1s)
                    .key_by(0)
                    .window(tumbling(10s))
                    .count()
                    .map(|w| w.value)
                    .collect(out);
            },
        )
        .unwrap();
    }
    let counts = out.take();
    (counts.len(), counts.iter().sum())
}

/// The same windows by hand: a source holding its capability at the watermark, an
/// exchange by key, and an operator with per-pane counts that fires on the frontier.
fn hand_written(events: &[(u64, u64)], workers: u64, size: u64, slide: u64) -> (usize, u64) {
    let events = Arc::new(events.to_vec());
    let totals = Arc::new(Mutex::new((0usize, 0u64)));
    let sink = Arc::clone(&totals);
    let pane = gcd(size, slide);
    timely::execute(timely::Config::process(workers as usize), move |worker| {
        let (events, sink) = (Arc::clone(&events), Arc::clone(&sink));
        worker.dataflow::<u64, _, _>(|scope| {
            let (index, peers) = (scope.index(), scope.peers());
            let stream = source(scope, "events", move |cap, info| {
                let activator = scope.activator_for(info.address);
                let mut cap = Some(cap);
                let mut next = index;
                let mut max_seen = 0u64;
                move |output| {
                    let Some(c) = cap.as_mut() else { return };
                    let mut batches: Vec<(u64, Vec<(u64, u64)>)> = Vec::new();
                    for _ in 0..4096 {
                        let Some(&(key, ts)) = events.get(next) else {
                            break;
                        };
                        next += peers;
                        let wm = max_seen.saturating_sub(BOUND);
                        let t = ts.max(wm) / pane * pane;
                        max_seen = max_seen.max(ts);
                        match batches.iter_mut().rev().find(|(bt, _)| *bt == t) {
                            Some((_, b)) => b.push((key, ts)),
                            None => batches.push((t, vec![(key, ts)])),
                        }
                    }
                    for (t, mut batch) in batches {
                        output.session(&c.delayed(&t)).give_container(&mut batch);
                    }
                    if next >= events.len() {
                        cap = None;
                    } else {
                        let wm = max_seen.saturating_sub(BOUND) / pane * pane;
                        if wm > *c.time() {
                            c.downgrade(&wm);
                        }
                        activator.activate();
                    }
                }
            });
            stream
                .unary_frontier(
                    Exchange::new(|e: &(u64, u64)| route_hash(&e.0)),
                    "window",
                    move |_, _| {
                        let mut panes: BTreeMap<u64, StateMap<u64, u64>> = BTreeMap::new();
                        let mut pending: BTreeMap<u64, Capability<u64>> = BTreeMap::new();
                        move |(input, frontier), output| {
                            input.for_each(|cap, data| {
                                let time = *cap.least().unwrap();
                                for (key, ts) in data.drain(..) {
                                    let pane_end = ts / pane * pane + pane;
                                    *panes.entry(pane_end).or_default().entry(key).or_default() +=
                                        1;
                                    let last = ts / slide * slide + size;
                                    let mut end = last;
                                    while end > ts {
                                        pending
                                            .entry(end)
                                            .or_insert_with(|| cap.delayed(&time.max(end - 1), 0));
                                        match end.checked_sub(slide) {
                                            Some(e) => end = e,
                                            None => break,
                                        }
                                    }
                                }
                            });
                            let f = frontier.frontier().first().copied().unwrap_or(u64::MAX);
                            while let Some(entry) = pending.first_entry() {
                                let end = *entry.key();
                                if end > f {
                                    break;
                                }
                                let cap = entry.remove();
                                let mut merged: StateMap<u64, u64> = StateMap::default();
                                for (_, p) in panes.range((end + pane).saturating_sub(size)..=end) {
                                    for (k, n) in p {
                                        *merged.entry(*k).or_default() += n;
                                    }
                                }
                                output.session(&cap).give_iterator(merged.into_iter());
                                while let Some(p) = panes.first_entry() {
                                    if (*p.key() - pane) / slide * slide + size > end {
                                        break;
                                    }
                                    p.remove();
                                }
                            }
                        }
                    },
                )
                .sink(
                    timely::dataflow::channels::pact::Pipeline,
                    "sum",
                    move |(input, _)| {
                        input.for_each(|_, data: &mut Vec<(u64, u64)>| {
                            let mut t = sink.lock().unwrap();
                            t.0 += data.len();
                            t.1 += data.iter().map(|r| r.1).sum::<u64>();
                        });
                    },
                );
        });
    })
    .unwrap();
    let t = *totals.lock().unwrap();
    t
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env("TIDEMILL_BENCH_EVENTS", 20_000_000);
    let reps = env("TIDEMILL_BENCH_REPS", 3).max(1);
    let input = events(n);
    // Every variant copies the input once (the DSL's collection, the hand-written Arc).
    let baseline = rss_mb() + (n * 16) as f64 / (1 << 20) as f64;
    println!("{n} events, {KEYS} keys, {PER_MS} per ms of event time, bound {BOUND} ms");
    println!("{reps} runs per variant, alternating; seconds are the median (and the fastest)");
    println!("peak RSS above the input and its copy ({baseline:.0} MB)");
    println!(
        "| windows | variant | workers | median s (fastest) | events/s (median) | results | peak RSS above input MB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (name, sliding) in [("tumbling 10s", false), ("sliding 10s/2s", true)] {
        let (size, slide) = if sliding {
            (10_000, 2_000)
        } else {
            (10_000, 10_000)
        };
        for workers in [1, 2] {
            let variants = ["hand-written timely", "Tidemill DSL"];
            let mut secs = [Vec::new(), Vec::new()];
            let mut rss = [0f64; 2];
            let mut results = [0usize; 2];
            for _ in 0..reps {
                for (v, variant) in variants.iter().enumerate() {
                    reset_peak_rss();
                    let start = Instant::now();
                    let (count, total) = if v == 1 {
                        dsl(&input, workers, sliding)
                    } else {
                        hand_written(&input, workers, size, slide)
                    };
                    secs[v].push(start.elapsed().as_secs_f64());
                    assert_eq!(total, n * size / slide, "{variant} lost or doubled events");
                    rss[v] = rss[v].max(peak_rss_mb() - baseline);
                    results[v] = count;
                }
            }
            report(
                name,
                variants,
                workers,
                n,
                (&secs, &results, &rss),
                "DSL / hand-written",
            );
        }
    }
}
