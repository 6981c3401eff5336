//! Window aggregations in SQL: window TVFs (`TUMBLE`, `HOP`, `CUMULATE`, `SESSION`, with
//! arguments in order and by name) with `GROUP BY window_start, window_end, ..`, checked
//! against a model of Flink's window semantics written here (window assignment, session
//! merging, aggregates skipping NULLs, `HAVING`), on random out-of-order bids at 1, 2
//! and 4 workers.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use tidemill::prelude::*;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Bid {
    auction: u64,
    price: i64,
    bidder: String,
    extra: Option<i32>,
    ts: u64,
}

fn bids() -> impl Strategy<Value = Vec<Bid>> {
    prop::collection::vec(
        (
            0u64..4,
            -50i64..100,
            "[ab]{1,2}",
            prop::option::of(0i32..5),
            // On a 50 ms grid, so that bids fall on window bounds and session gaps.
            (0u64..100).prop_map(|t| t * 50),
        )
            .prop_map(|(auction, price, bidder, extra, ts)| Bid {
                auction,
                price,
                bidder,
                extra,
                ts,
            }),
        1..150,
    )
}

/// `(start, end, auction, n, total, lo, top, mean, extras, bidders)`.
type Tumbled = (i64, i64, u64, i64, i64, i64, String, i64, i64, i64);
/// `(start, end, n, hi, extra)`.
type Hopped = (i64, i64, i64, i64, Option<i32>);
/// `(start, end, auction, n, window_time)`.
type Sessions = (i64, i64, u64, i64, i64);
/// `(start, end, auction, n, total)`.
type Cumulated = (i64, i64, u64, i64, i64);

#[derive(Debug, PartialEq)]
struct Results {
    tumbled: Vec<Tumbled>,
    hopped: Vec<Hopped>,
    sessions: Vec<Sessions>,
    cumulated: Vec<Cumulated>,
}

fn sorted<T: PartialOrd>(mut v: Vec<T>) -> Vec<T> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

/// Flink's windows of a record at `ts`: tumbling ones start at multiples of the size,
/// sliding ones at every multiple of the slide within a size before it.
fn hop_starts(ts: i64, size: i64, slide: i64) -> Vec<i64> {
    let last = ts - ts.rem_euclid(slide);
    (0..)
        .map(|k| last - k * slide)
        .take_while(|s| *s > ts - size)
        .collect()
}

fn model(input: &[Bid]) -> Results {
    let mut tumble: BTreeMap<(i64, u64), Vec<&Bid>> = BTreeMap::new();
    for b in input {
        let ts = b.ts as i64;
        // Tumbling seconds from 250 ms (the query's offset).
        tumble
            .entry((ts - (ts - 250).rem_euclid(1000), b.auction))
            .or_default()
            .push(b);
    }
    let tumbled = tumble
        .into_iter()
        .filter_map(|((start, auction), bids)| {
            let n = bids.len() as i64;
            let total: i64 = bids.iter().map(|b| b.price).sum();
            (total > 0).then(|| {
                let lo = bids.iter().map(|b| b.price).min().unwrap();
                let top = bids.iter().map(|b| b.bidder.clone()).max().unwrap();
                let extras = bids.iter().filter(|b| b.extra.is_some()).count() as i64;
                let bidders = bids
                    .iter()
                    .map(|b| &b.bidder)
                    .collect::<BTreeSet<_>>()
                    .len() as i64;
                (
                    start,
                    start + 1000,
                    auction,
                    n,
                    total,
                    lo,
                    top,
                    total / n,
                    extras,
                    bidders,
                )
            })
        })
        .collect();

    let mut hop: BTreeMap<i64, Vec<&Bid>> = BTreeMap::new();
    for b in input {
        for start in hop_starts(b.ts as i64, 2000, 500) {
            hop.entry(start).or_default().push(b);
        }
    }
    let hopped = hop
        .into_iter()
        .map(|(start, bids)| {
            let extras: Vec<i32> = bids.iter().filter_map(|b| b.extra).collect();
            let extra = (!extras.is_empty()).then(|| extras.iter().sum());
            let hi = bids.iter().map(|b| b.price).max().unwrap();
            (start, start + 2000, bids.len() as i64, hi, extra)
        })
        .collect();

    // Sessions: each record opens [ts, ts + gap); windows that overlap or touch merge
    // (Flink's `TimeWindow.intersects` is inclusive).
    let gap = 300i64;
    let mut per_auction: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
    for b in input {
        per_auction.entry(b.auction).or_default().push(b.ts as i64);
    }
    let mut sessions = Vec::new();
    for (auction, mut times) in per_auction {
        times.sort();
        let mut current: Option<(i64, i64, i64)> = None;
        for ts in times {
            current = match current {
                Some((start, end, n)) if ts <= end => Some((start, end.max(ts + gap), n + 1)),
                Some((start, end, n)) => {
                    sessions.push((start, end, auction, n, end - 1));
                    Some((ts, ts + gap, 1))
                }
                None => Some((ts, ts + gap, 1)),
            };
        }
        if let Some((start, end, n)) = current {
            sessions.push((start, end, auction, n, end - 1));
        }
    }
    // Cumulating windows start at every second and end every 250 ms within it: a bid
    // counts in each window of its second that ends after it.
    let mut cumulate: BTreeMap<(i64, i64, u64), Vec<&Bid>> = BTreeMap::new();
    for b in input {
        let ts = b.ts as i64;
        let start = ts - ts % 1000;
        for end in (1..=4).map(|k| start + 250 * k).filter(|&end| end > ts) {
            cumulate.entry((start, end, b.auction)).or_default().push(b);
        }
    }
    let cumulated = cumulate
        .into_iter()
        .map(|((start, end, auction), bids)| {
            let total = bids.iter().map(|b| b.price).sum();
            (start, end, auction, bids.len() as i64, total)
        })
        .collect();
    Results {
        tumbled: sorted(tumbled),
        hopped: sorted(hopped),
        sessions: sorted(sessions),
        cumulated: sorted(cumulated),
    }
}

fn run_queries(input: &[Bid], workers: u64) -> Results {
    let (tumbled, hopped, sessions) = (Collector::new(), Collector::new(), Collector::new());
    let cumulated = Collector::new();
    let data = input.to_vec();
    tidemill::run(
        Args::with_workers(workers),
        stream! {
            // The bound covers all the disorder: no bid is late.
            let bids = from_collection(data).assign_timestamps(|b| b.ts, out_of_orderness = 10s);
            sql!("SELECT window_start, window_end, auction, COUNT(*) AS n, SUM(price) AS total,
                         MIN(price) AS lo, MAX(bidder) AS top, AVG(price) AS mean,
                         COUNT(extra) AS extras, COUNT(DISTINCT bidder) AS bidders
                  FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '250' MILLISECOND))
                  GROUP BY window_start, window_end, auction
                  HAVING SUM(price) > 0")
                .map(|r| (r.window_start, r.window_end, r.auction, r.n, r.total, r.lo, r.top, r.mean, r.extras, r.bidders))
                .collect(tumbled);
            sql!("SELECT window_start, window_end, COUNT(*) AS n, MAX(price) AS hi, SUM(extra) AS extra
                  FROM TABLE(HOP(DATA => TABLE bids, TIMECOL => DESCRIPTOR(ts), SLIDE => INTERVAL '500' MILLISECOND, SIZE => INTERVAL '2' SECOND))
                  GROUP BY window_end, window_start")
                .map(|r| (r.window_start, r.window_end, r.n, r.hi, r.extra))
                .collect(hopped);
            sql!("SELECT window_start, window_end, auction, COUNT(*) AS n, window_time
                  FROM TABLE(SESSION(DATA => TABLE bids PARTITION BY auction, TIMECOL => DESCRIPTOR(ts), GAP => INTERVAL '300' MILLISECOND))
                  GROUP BY window_start, window_end, auction")
                .map(|r| (r.window_start, r.window_end, r.auction, r.n, r.window_time))
                .collect(sessions);
            sql!("SELECT window_start, window_end, auction, COUNT(*) AS n, SUM(price) AS total
                  FROM TABLE(CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '250' MILLISECOND, INTERVAL '1' SECOND))
                  GROUP BY window_start, window_end, auction")
                .map(|r| (r.window_start, r.window_end, r.auction, r.n, r.total))
                .collect(cumulated);
        },
    )
    .unwrap();
    Results {
        tumbled: sorted(tumbled.take()),
        hopped: sorted(hopped.take()),
        sessions: sorted(sessions.take()),
        cumulated: sorted(cumulated.take()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn window_queries_match_the_model(input in bids()) {
        let want = model(&input);
        for workers in [1, 2, 4] {
            prop_assert_eq!(&run_queries(&input, workers), &want, "at -w {}", workers);
        }
    }
}

#[test]
fn window_rows_print_as_flink_rows() {
    let data = vec![
        Bid {
            auction: 1,
            price: 10,
            bidder: "a".into(),
            extra: None,
            ts: 1_000,
        },
        Bid {
            auction: 1,
            price: 30,
            bidder: "b".into(),
            extra: Some(2),
            ts: 4_000,
        },
        Bid {
            auction: 2,
            price: 5,
            bidder: "a".into(),
            extra: None,
            ts: 2_000,
        },
    ];
    let rows = Collector::new();
    tidemill::run(
        Args::with_workers(2),
        stream! {
            let bids = from_collection(data).assign_timestamps(|b| b.ts, out_of_orderness = 1s);
            sql!("SELECT window_start, window_end, auction, COUNT(*), SUM(extra) AS extras
                  FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
                  GROUP BY window_start, window_end, auction")
                .map(|r| r.to_string())
                .collect(rows);
        },
    )
    .unwrap();
    let mut rows = rows.take();
    rows.sort();
    assert_eq!(rows, ["+I[0, 10000, 1, 2, 2]", "+I[0, 10000, 2, 1, null]"]);
}

/// `CREATE TABLE t (.., WATERMARK FOR ts AS ts - INTERVAL 'n' SECOND)` in the query
/// gives a stream without timestamps its event time: a bid behind the watermark misses
/// its window, one within the interval does not.
#[test]
fn a_create_table_watermark_gives_the_table_its_event_time() {
    let bid = |auction, ts| Bid {
        auction,
        price: 1,
        bidder: "a".into(),
        extra: None,
        ts,
    };
    // On one worker, in this order: after the bid at 15 s, the one at 2 s is 13 s late.
    let data = vec![bid(1, 1_000), bid(1, 15_000), bid(1, 2_000), bid(2, 3_000)];
    let counts = |bound: &str| -> Vec<String> {
        let (rows, input) = (Collector::new(), data.clone());
        let report = if bound == "20" {
            tidemill::run(
                Args::with_workers(1),
                stream! {
                    let bids = from_collection(input);
                    sql!("CREATE TABLE bids (auction BIGINT, ts BIGINT, WATERMARK FOR ts AS ts - INTERVAL '20' SECOND);
                          SELECT window_start, auction, COUNT(*) AS n
                          FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
                          GROUP BY window_start, window_end, auction")
                        .map(|r| r.to_string())
                        .collect(rows);
                },
            )
        } else {
            tidemill::run(
                Args::with_workers(1),
                stream! {
                    let bids = from_collection(input);
                    sql!("CREATE TABLE bids (WATERMARK FOR ts AS ts - INTERVAL '1' SECOND);
                          SELECT window_start, auction, COUNT(*) AS n
                          FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
                          GROUP BY window_start, window_end, auction")
                        .map(|r| r.to_string())
                        .collect(rows);
                },
            )
        };
        let report = report.unwrap();
        let mut rows = rows.take();
        rows.sort();
        let late: u64 = report.late_dropped.iter().map(|(_, n)| n).sum();
        rows.push(format!("late {late}"));
        rows
    };
    assert_eq!(
        counts("20"),
        ["+I[0, 1, 2]", "+I[0, 2, 1]", "+I[10000, 1, 1]", "late 0"]
    );
    assert_eq!(counts("1"), ["+I[0, 1, 1]", "+I[10000, 1, 1]", "late 2"]);
}
