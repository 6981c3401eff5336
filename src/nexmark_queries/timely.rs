//! Hand-written timely versions of q1, q5 and q7, in the spirit of megaphone's Nexmark
//! queries: no macro and no Tidemill operators, the same source and the same results, so
//! that the DSL's overhead is a ratio. Like the DSL, the source holds its capability at
//! the watermark (4 s behind the largest event time seen), floored to the query's tick.

use std::collections::BTreeMap;
use std::sync::Arc;

use tidemill::hash::{route_hash, StateMap};
use tidemill::nexmark::{Bid, Event};
use tidemill::sources::{Reader, Status};
use tidemill::{Args, Collector, JobReport, Result};
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::{Capability, Operator};
use timely::dataflow::{Scope, StreamVec};

use super::{euros, Events, Highest, HighestOf, Q1, Q5};
use tidemill::Aggregator;

const BOUND: u64 = 4_000;

/// This worker's share of `events`, passed through `pick`, at the tick-floored maximum of
/// each record's time and the watermark.
fn read<'scope, S: Events, T: 'static>(
    scope: Scope<'scope, u64>,
    events: &Arc<S>,
    tick: u64,
    mut pick: impl FnMut(Event) -> Option<T> + 'static,
) -> StreamVec<'scope, u64, T> {
    let mut reader = events
        .open(scope.index(), scope.peers())
        .expect("the Nexmark sources open");
    source(scope, "events", move |cap, info| {
        let activator = scope.activator_for(info.address);
        let mut cap = Some(cap);
        let mut max_seen = 0u64;
        let mut batches: Vec<(u64, Vec<T>)> = Vec::new();
        move |output| {
            let Some(c) = cap.as_mut() else { return };
            let status = reader
                .read(4096, &mut |event| {
                    let ts = event.date_time();
                    let watermark = max_seen.saturating_sub(BOUND);
                    max_seen = max_seen.max(ts);
                    if let Some(record) = pick(event) {
                        let t = ts.max(watermark) / tick * tick;
                        match batches.iter_mut().rev().find(|(bt, _)| *bt == t) {
                            Some((_, b)) => b.push(record),
                            None => batches.push((t, vec![record])),
                        }
                    }
                })
                .expect("the Nexmark sources read");
            for (t, mut batch) in batches.drain(..) {
                output.session(&c.delayed(&t)).give_container(&mut batch);
            }
            if status == Status::Done {
                cap = None;
            } else {
                let watermark = max_seen.saturating_sub(BOUND) / tick * tick;
                if watermark > *c.time() {
                    c.downgrade(&watermark);
                }
                activator.activate();
            }
        }
    })
}

/// Counts (and drops) the records of `stream` into `out`.
fn count<T: 'static>(stream: StreamVec<'_, u64, T>, out: &Collector<T>) {
    let out = out.clone();
    stream.sink(Pipeline, "count", move |(input, _)| {
        input.for_each(|_, data| out.push_all(std::mem::take(data)));
    });
}

/// Runs `build` on every worker of the job `args` describes.
fn execute<S, F>(args: Args, events: S, build: F) -> Result<JobReport>
where
    S: Events,
    F: for<'scope> Fn(Scope<'scope, u64>, &Arc<S>) + Send + Sync + 'static,
{
    let events = Arc::new(events);
    let config = args.timely_config()?;
    let guards = timely::execute(config, move |worker| {
        let events = Arc::clone(&events);
        worker.dataflow::<u64, _, _>(|scope| build(scope, &events));
    })
    .map_err(tidemill::Error::Startup)?;
    let mut report = JobReport::default();
    for result in guards.join() {
        result.map_err(tidemill::Error::WorkerPanicked)?;
        report.local_workers += 1;
    }
    Ok(report)
}

/// q1 by hand: the conversion runs in the source operator, as the DSL fuses it there.
pub fn q1(args: Args, events: impl Events, out: &Collector<Q1>) -> Result<JobReport> {
    let out = out.clone();
    execute(args, events, move |scope, events| {
        let converted = read(scope, events, 1_000, |e| match e {
            Event::Bid(b) => Some(Q1 {
                auction: b.auction,
                bidder: b.bidder,
                price: euros(b.price),
                date_time: b.date_time,
                extra: b.extra,
            }),
            _ => None,
        });
        count(converted, &out);
    })
}

const SIZE: u64 = 10_000;
const SLIDE: u64 = 2_000;

/// q5 by hand: bid counts per auction and 2 s pane, exchanged by auction; each worker
/// sums the panes of a window when the frontier passes its end and sends its hottest
/// auctions to the worker of that window, which keeps the overall hottest.
pub fn q5(args: Args, events: impl Events, out: &Collector<Q5>) -> Result<JobReport> {
    let out = out.clone();
    execute(args, events, move |scope, events| {
        let bids = read(scope, events, SLIDE, |e| match e {
            Event::Bid(b) => Some((b.auction, b.date_time)),
            _ => None,
        });
        let local = bids.unary_frontier(
            Exchange::new(|b: &(u64, u64)| route_hash(&b.0)),
            "hot auctions",
            |_, _| {
                let mut panes: BTreeMap<u64, StateMap<u64, u64>> = BTreeMap::new();
                let mut pending: BTreeMap<u64, Capability<u64>> = BTreeMap::new();
                move |(input, frontier), output| {
                    input.for_each(|cap, data| {
                        let time = *cap.least().expect("a time");
                        // The windows of a pane are registered once per batch.
                        let mut registered = None;
                        for (auction, ts) in data.drain(..) {
                            let pane_end = ts / SLIDE * SLIDE + SLIDE;
                            *panes
                                .entry(pane_end)
                                .or_default()
                                .entry(auction)
                                .or_default() += 1;
                            if registered == Some(pane_end) {
                                continue;
                            }
                            registered = Some(pane_end);
                            for end in (pane_end..pane_end + SIZE).step_by(SLIDE as usize) {
                                pending
                                    .entry(end)
                                    .or_insert_with(|| cap.delayed(&time.max(end - 1), 0));
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
                        let mut counts: StateMap<u64, u64> = StateMap::default();
                        for (_, pane) in panes.range(end + SLIDE - SIZE..=end) {
                            for (auction, n) in pane {
                                *counts.entry(*auction).or_default() += n;
                            }
                        }
                        let max = counts.values().copied().max().unwrap_or(0);
                        let hottest: Vec<u64> = counts
                            .into_iter()
                            .filter(|(_, n)| *n == max)
                            .map(|(a, _)| a)
                            .collect();
                        output.session(&cap).give((end, max, hottest));
                        while panes
                            .first_key_value()
                            .is_some_and(|(p, _)| p + SIZE - SLIDE <= end)
                        {
                            panes.pop_first();
                        }
                    }
                }
            },
        );
        let hottest = local.unary_frontier(
            Exchange::new(|w: &(u64, u64, Vec<u64>)| route_hash(&w.0)),
            "hottest",
            |_, _| {
                let mut windows: BTreeMap<u64, (Capability<u64>, u64, Vec<u64>)> = BTreeMap::new();
                move |(input, frontier), output| {
                    input.for_each(|cap, data| {
                        for (end, n, auctions) in data.drain(..) {
                            let w = windows.entry(end).or_insert_with(|| {
                                (cap.retain_least(0).expect("a time"), 0, Vec::new())
                            });
                            if n > w.1 {
                                w.1 = n;
                                w.2.clear();
                            }
                            if n == w.1 {
                                w.2.extend(auctions);
                            }
                        }
                    });
                    let f = frontier.frontier().first().copied().unwrap_or(u64::MAX);
                    while let Some(entry) = windows.first_entry() {
                        if *entry.key() > f {
                            break;
                        }
                        let end = *entry.key();
                        let (cap, n, auctions) = entry.remove();
                        let start = end as i64 - SIZE as i64;
                        output
                            .session(&cap)
                            .give_iterator(auctions.into_iter().map(|a| (a, n, start)));
                    }
                }
            },
        );
        count(hottest, &out);
    })
}

const Q7_WINDOW: u64 = 10_000;

/// q7 by hand: each worker keeps the highest bids of each window and, when the frontier
/// passes its end, sends them to the worker of that window, which keeps the highest.
pub fn q7(args: Args, events: impl Events, out: &Collector<Bid>) -> Result<JobReport> {
    let out = out.clone();
    execute(args, events, move |scope, events| {
        let bids = read(scope, events, Q7_WINDOW, |e| match e {
            Event::Bid(b) => Some(b),
            _ => None,
        });
        let local = bids.unary_frontier(Pipeline, "highest here", |_, _| {
            let mut windows: BTreeMap<u64, (Capability<u64>, Highest)> = BTreeMap::new();
            move |(input, frontier), output| {
                input.for_each(|cap, data| {
                    for bid in data.drain(..) {
                        let end = bid.date_time / Q7_WINDOW * Q7_WINDOW + Q7_WINDOW;
                        let w = windows.entry(end).or_insert_with(|| {
                            (
                                cap.delayed(&(*cap.least().expect("a time")).max(end - 1), 0),
                                Highest::default(),
                            )
                        });
                        HighestOf.add(&mut w.1, bid);
                    }
                });
                let f = frontier.frontier().first().copied().unwrap_or(u64::MAX);
                while let Some(entry) = windows.first_entry() {
                    if *entry.key() > f {
                        break;
                    }
                    let end = *entry.key();
                    let (cap, highest) = entry.remove();
                    output.session(&cap).give((end, highest));
                }
            }
        });
        let overall = local.unary_frontier(
            Exchange::new(|w: &(u64, Highest)| route_hash(&w.0)),
            "highest",
            |_, _| {
                let mut windows: BTreeMap<u64, (Capability<u64>, Highest)> = BTreeMap::new();
                move |(input, frontier), output| {
                    input.for_each(|cap, data| {
                        for (end, highest) in data.drain(..) {
                            let w = windows.entry(end).or_insert_with(|| {
                                (cap.retain_least(0).expect("a time"), Highest::default())
                            });
                            HighestOf.merge(&mut w.1, &highest);
                        }
                    });
                    let f = frontier.frontier().first().copied().unwrap_or(u64::MAX);
                    while let Some(entry) = windows.first_entry() {
                        if *entry.key() > f {
                            break;
                        }
                        let (cap, highest) = entry.remove();
                        output
                            .session(&cap)
                            .give_iterator(highest.items.into_iter());
                    }
                }
            },
        );
        count(overall, &out);
    })
}
