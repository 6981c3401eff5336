//! Every Nexmark query against a brute-force reference computed in plain Rust over the
//! same events, at 1 and 2 workers with small source batches (so that windows fire and
//! auctions close while the sources still read). The hand-written timely versions of q1,
//! q5 and q7, and the SQL versions of q0, q1 and q2, must give the same rows as the
//! DSL's.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;

use tidemill::nexmark::{self, Auction, Bid, Config, Event, Generator, Source, Text};
use tidemill::{Args, Collector, JobReport, Result};

use tidemill::nexmark_queries::*;
use tidemill::nexmark_queries::{self as queries, sql as sql_queries, timely as timely_queries};

const EVENTS: u64 = 20_000;

/// 20k events over 100 s of event time (200 events/s), so that the 10 s windows and
/// sessions come and go many times.
fn config() -> Config {
    Config {
        events: EVENTS,
        event_rate: 200,
        ..Config::default()
    }
}

fn events() -> Vec<Event> {
    let generator = Generator::new(config());
    (0..EVENTS).map(|n| generator.event(n)).collect()
}

fn bids() -> Vec<Bid> {
    events().into_iter().filter_map(Event::bid).collect()
}

fn auctions() -> Vec<Auction> {
    events().into_iter().filter_map(Event::auction).collect()
}

type Query<T> = fn(Args, Source<Event>, &Collector<T>) -> Result<JobReport>;

/// The rows of `query` at `workers` workers, with sources emitting 61 events at a time
/// and, with `drift`, their watermarks aligned within that many ms.
fn run<T>(query: Query<T>, workers: u64, drift: Option<u64>) -> Vec<T> {
    let out = Collector::new();
    let mut args = Args::with_workers(workers).source_batch(61);
    if let Some(ms) = drift {
        args = args.max_watermark_drift(ms);
    }
    query(args, nexmark::events(config()), &out).unwrap();
    out.take()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Asserts that `query` gives exactly `expected` (in any order) at 1 and 2 workers, and
/// at 2 workers with watermarks aligned within 500 ms (100 events).
fn check<T, K: Ord + Debug>(query: Query<T>, key: impl Fn(T) -> K, expected: Vec<K>) {
    let expected = sorted(expected);
    assert!(!expected.is_empty(), "the reference has rows");
    for (workers, drift) in [(1, None), (2, None), (2, Some(500))] {
        let got = sorted(run(query, workers, drift).into_iter().map(&key).collect());
        assert!(
            got == expected,
            "{workers} worker(s), drift {drift:?}: {} rows, expected {}; first difference: {:?}",
            got.len(),
            expected.len(),
            got.iter().zip(&expected).find(|(g, e)| g != e)
        );
    }
}

/// A float as something `Ord`.
fn bits(x: f64) -> u64 {
    x.to_bits()
}

#[test]
fn q0_passes_every_bid() {
    check(queries::q0, |b| b, bids());
    let selected = |b: Bid| (b.auction, b.bidder, b.price, b.date_time, b.extra);
    check(
        sql_queries::q0,
        |r| (r.auction, r.bidder, r.price, r.date_time, r.extra),
        bids().into_iter().map(selected).collect(),
    );
}

#[test]
fn q1_converts_prices() {
    let key = |r: Q1| (r.auction, r.bidder, r.date_time, bits(r.price), r.extra);
    let expected = bids()
        .into_iter()
        .map(|b| {
            (
                b.auction,
                b.bidder,
                b.date_time,
                bits(0.908 * b.price as f64),
                b.extra,
            )
        })
        .collect::<Vec<_>>();
    check(queries::q1, key, expected.clone());
    check(timely_queries::q1, key, expected.clone());
    check(sql_queries::q1, key, expected);
}

#[test]
fn q2_selects_auctions() {
    let expected: Vec<(u64, u64)> = bids()
        .into_iter()
        .filter(|b| b.auction % 123 == 0)
        .map(|b| (b.auction, b.price))
        .collect();
    check(queries::q2, |r| r, expected.clone());
    check(sql_queries::q2, |r| (r.auction, r.price), expected);
}

#[test]
fn q3_joins_sellers_and_auctions() {
    let events = events();
    let sellers: HashMap<u64, (Text, Text, Text)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Person(p) if ["or", "id", "ca"].contains(&&*p.state) => {
                Some((p.id, (p.name.clone(), p.city.clone(), p.state.clone())))
            }
            _ => None,
        })
        .collect();
    let expected = events
        .iter()
        .filter_map(|e| match e {
            Event::Auction(a) if a.category == 10 => sellers
                .get(&a.seller)
                .map(|(n, c, s)| (n.clone(), c.clone(), s.clone(), a.id)),
            _ => None,
        })
        .collect();
    check(queries::q3, |r| r, expected);
}

/// Each auction's winning bid: the best bid placed while it was open.
fn winners() -> Vec<(Auction, Bid)> {
    let bids = bids();
    auctions()
        .into_iter()
        .filter_map(|a| {
            let best = bids
                .iter()
                .filter(|b| {
                    b.auction == a.id && a.date_time <= b.date_time && b.date_time <= a.expires
                })
                .fold(None::<&Bid>, |best, b| match best {
                    Some(x) if !better(b, x) => Some(x),
                    _ => Some(b),
                })?
                .clone();
            Some((a, best))
        })
        .collect()
}

#[test]
fn q9_finds_winning_bids() {
    let expected = winners();
    assert!(expected.len() > 50, "{} winners", expected.len());
    check(queries::q9, |r| r, expected);
}

#[test]
fn q4_averages_winning_prices_per_category() {
    let mut per_category: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for (a, b) in winners() {
        let e = per_category.entry(a.category).or_default();
        e.0 += b.price;
        e.1 += 1;
    }
    assert!(per_category.len() >= 3);
    for (workers, drift) in [(1, None), (2, None), (2, Some(500))] {
        let rows = run(queries::q4, workers, drift);
        // One update per closed auction with a winner; the last is the average of all.
        for (category, (sum, n)) in &per_category {
            let updates: Vec<f64> = rows
                .iter()
                .filter(|r| r.0 == *category)
                .map(|r| r.1)
                .collect();
            assert_eq!(
                updates.len() as u64,
                *n,
                "category {category}, {workers} worker(s)"
            );
            let avg = *sum as f64 / *n as f64;
            assert!(
                updates.iter().any(|u| u.to_bits() == avg.to_bits()),
                "category {category}: no update is the final average {avg}"
            );
        }
        assert_eq!(
            rows.len() as u64,
            per_category.values().map(|v| v.1).sum::<u64>()
        );
    }
}

/// Reference q5: per sliding window (10 s every 2 s), the auctions with the most bids.
fn hot_items() -> Vec<Q5> {
    let mut counts: BTreeMap<i64, HashMap<u64, u64>> = BTreeMap::new();
    for b in bids() {
        let last = b.date_time as i64 / 2_000 * 2_000;
        for start in (last - 8_000..=last).step_by(2_000) {
            *counts
                .entry(start)
                .or_default()
                .entry(b.auction)
                .or_default() += 1;
        }
    }
    let mut rows = Vec::new();
    for (start, per_auction) in counts {
        let max = *per_auction.values().max().unwrap();
        rows.extend(
            per_auction
                .into_iter()
                .filter(|(_, n)| *n == max)
                .map(|(a, n)| (a, n, start)),
        );
    }
    rows
}

#[test]
fn q5_finds_hot_items() {
    let expected = hot_items();
    check(queries::q5, |r| r, expected.clone());
    check(timely_queries::q5, |r| r, expected);
}

#[test]
fn q7_finds_highest_bids() {
    let mut windows: BTreeMap<u64, Vec<Bid>> = BTreeMap::new();
    for b in bids() {
        windows.entry(b.date_time / 10_000).or_default().push(b);
    }
    let expected: Vec<Bid> = windows
        .into_values()
        .flat_map(|bids| {
            let max = bids.iter().map(|b| b.price).max().unwrap();
            bids.into_iter().filter(move |b| b.price == max)
        })
        .collect();
    assert!(expected.len() >= 10);
    check(queries::q7, |r| r, expected.clone());
    check(timely_queries::q7, |r| r, expected);
}

#[test]
fn q8_finds_new_users() {
    let events = events();
    let window = |t: u64| (t - t % 10_000) as i64;
    let sellers: BTreeSet<(u64, i64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Auction(a) => Some((a.seller, window(a.date_time))),
            _ => None,
        })
        .collect();
    let expected: Vec<Q8> = events
        .iter()
        .filter_map(|e| match e {
            Event::Person(p) if sellers.contains(&(p.id, window(p.date_time))) => {
                Some((p.id, p.name.clone(), window(p.date_time)))
            }
            _ => None,
        })
        .collect();
    check(queries::q8, |r| r, expected);
}

#[test]
fn q11_counts_bidder_sessions() {
    let mut times: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for b in bids() {
        times.entry(b.bidder).or_default().push(b.date_time);
    }
    let mut expected: Vec<Q11> = Vec::new();
    for (bidder, mut ts) in times {
        ts.sort();
        let (mut start, mut last, mut n) = (ts[0], ts[0], 0);
        for t in ts {
            // Sessions that touch merge: a bid exactly `gap` after the last one joins it.
            if t > last + 10_000 {
                expected.push((bidder, n, start as i64, (last + 10_000) as i64));
                (start, n) = (t, 0);
            }
            last = t;
            n += 1;
        }
        expected.push((bidder, n, start as i64, (last + 10_000) as i64));
    }
    assert!(
        expected.len()
            > bids()
                .iter()
                .map(|b| b.bidder)
                .collect::<BTreeSet<_>>()
                .len()
    );
    check(queries::q11, |r| r, expected);
}

#[test]
fn q12_counts_every_bid_once_per_processing_time_window() {
    let bids = bids();
    for (workers, drift) in [(1, None), (2, None), (2, Some(500))] {
        let rows = run(queries::q12, workers, drift);
        assert_eq!(rows.iter().map(|r| r.1).sum::<u64>(), bids.len() as u64);
        let windows: BTreeSet<(u64, i64)> = rows.iter().map(|r| (r.0, r.2)).collect();
        assert_eq!(windows.len(), rows.len(), "each bidder and window once");
        assert!(rows.iter().all(|r| r.2 % 10_000 == 0 && r.1 > 0));
        let bidders: BTreeSet<u64> = bids.iter().map(|b| b.bidder).collect();
        assert_eq!(rows.iter().map(|r| r.0).collect::<BTreeSet<_>>(), bidders);
    }
}

#[test]
fn q14_filters_and_projects() {
    let key = |r: Q14| {
        (
            r.auction,
            r.bidder,
            bits(r.price),
            r.bid_time_type,
            r.date_time,
            r.c_counts,
            r.extra,
        )
    };
    let expected = bids()
        .into_iter()
        .filter(|b| {
            let p = 0.908 * b.price as f64;
            p > 1_000_000.0 && p < 50_000_000.0
        })
        .map(|b| {
            let hour = b.date_time / 3_600_000 % 24;
            let kind = if (8..=18).contains(&hour) {
                "dayTime"
            } else if hour <= 6 || hour >= 20 {
                "nightTime"
            } else {
                "otherTime"
            };
            let c = b.extra.chars().filter(|&c| c == 'c').count();
            (
                b.auction,
                b.bidder,
                bits(0.908 * b.price as f64),
                kind,
                b.date_time,
                c,
                b.extra,
            )
        })
        .collect();
    check(queries::q14, key, expected);
}

#[test]
fn q14_parts_of_the_day() {
    let h = 3_600_000;
    let kinds: Vec<&str> = [0, 6, 7, 8, 18, 19, 20, 23, 24 + 9]
        .iter()
        .map(|x| bid_time_type(x * h + 5))
        .collect();
    assert_eq!(
        kinds,
        [
            "nightTime",
            "nightTime",
            "otherTime",
            "dayTime",
            "dayTime",
            "otherTime",
            "nightTime",
            "nightTime",
            "dayTime"
        ]
    );
}

/// q17's statistics: bids, the three price bands, min, max and sum.
type Stats = (u64, u64, u64, u64, u64, u64, u64);

#[test]
fn q17_keeps_auction_statistics_per_day() {
    let bids = bids();
    let mut expected: BTreeMap<(u64, u64), Stats> = BTreeMap::new();
    for b in &bids {
        let day = b.date_time / 86_400_000;
        let e = expected
            .entry((b.auction, day))
            .or_insert((0, 0, 0, 0, u64::MAX, 0, 0));
        e.0 += 1;
        match b.price {
            p if p < 10_000 => e.1 += 1,
            p if p < 1_000_000 => e.2 += 1,
            _ => e.3 += 1,
        }
        e.4 = e.4.min(b.price);
        e.5 = e.5.max(b.price);
        e.6 += b.price;
    }
    for (workers, drift) in [(1, None), (2, None), (2, Some(500))] {
        let rows = run(queries::q17, workers, drift);
        assert_eq!(rows.len(), bids.len(), "an update per bid");
        let mut last: BTreeMap<(u64, u64), (DayStats, f64)> = BTreeMap::new();
        for (s, avg) in rows {
            let e = last.entry((s.auction, s.day)).or_insert((s.clone(), avg));
            if s.total_bids > e.0.total_bids {
                *e = (s, avg);
            }
        }
        let got: BTreeMap<_, _> = last
            .into_iter()
            .map(|(k, (s, avg))| {
                assert_eq!(
                    avg.to_bits(),
                    (s.sum_price as f64 / s.total_bids as f64).to_bits()
                );
                let v = (
                    s.total_bids,
                    s.rank1_bids,
                    s.rank2_bids,
                    s.rank3_bids,
                    s.min_price,
                    s.max_price,
                    s.sum_price,
                );
                (k, v)
            })
            .collect();
        assert_eq!(got, expected, "{workers} worker(s)");
    }
}

#[test]
fn q18_keeps_the_last_bid_per_bidder_and_auction() {
    let bids = bids();
    let mut expected: BTreeMap<(u64, u64), Bid> = BTreeMap::new();
    for b in &bids {
        let e = expected
            .entry((b.bidder, b.auction))
            .or_insert_with(|| b.clone());
        if later(b, e) {
            *e = b.clone();
        }
    }
    let all: BTreeSet<&Bid> = bids.iter().collect();
    for (workers, drift) in [(1, None), (2, None), (2, Some(500))] {
        let rows = run(queries::q18, workers, drift);
        assert!(rows.iter().all(|r| all.contains(r)), "rows are input bids");
        assert!(rows.len() >= expected.len());
        let mut last: BTreeMap<(u64, u64), Bid> = BTreeMap::new();
        for b in rows {
            let e = last
                .entry((b.bidder, b.auction))
                .or_insert_with(|| b.clone());
            if later(&b, e) {
                *e = b;
            }
        }
        assert!(last == expected, "{workers} worker(s)");
    }
}

#[test]
fn q19_keeps_the_top_ten_bids_per_auction() {
    let mut expected: BTreeMap<u64, Vec<Bid>> = BTreeMap::new();
    for b in bids() {
        expected.entry(b.auction).or_default().push(b);
    }
    let top = |bids: &mut Vec<Bid>| {
        bids.sort_by(|a, b| {
            if better(a, b) {
                std::cmp::Ordering::Less
            } else if better(b, a) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        bids.truncate(TOP);
    };
    expected.values_mut().for_each(top);
    assert!(expected.values().any(|v| v.len() == TOP));
    for (workers, drift) in [(1, None), (2, None), (2, Some(500))] {
        let rows = run(queries::q19, workers, drift);
        assert!(rows.iter().all(|(_, rank)| (1..=TOP).contains(rank)));
        let mut got: BTreeMap<u64, Vec<Bid>> = BTreeMap::new();
        for (b, _) in rows {
            got.entry(b.auction).or_default().push(b);
        }
        got.values_mut().for_each(top);
        assert!(got == expected, "{workers} worker(s)");
    }
}
