//! The Nexmark queries in the DSL, after the Flink SQL of the nexmark/nexmark
//! repository. Each takes the event source (generated, or pregenerated into memory) and
//! a collector for its rows, and runs the job.
//!
//! Event time is each event's `date_time`, with a watermark 4 s behind the largest time
//! seen, as in the Flink setup. Queries over bids alone pick the bids out before
//! `assign_timestamps`, so that the picking runs inside the source operator (the DSL fuses
//! the stateless operators up to `assign_timestamps` into the source) and only bids are
//! batched; their watermark is the bids' (the generator's events are in time order, so the
//! results are the same). Queries that are continuous in Flink SQL (q3, q4, q17,
//! q18, q19) emit updates as their results change; q4 and q9 close an auction when the
//! watermark passes its expiry (or when the input ends).

pub mod sql;
pub mod timely;

use std::cmp::Reverse;

use tidemill::nexmark::{Auction, Bid, Event, Text};
use tidemill::prelude::*;
use tidemill::sources::{Reader, SourceSpec};
use tidemill::{JobReport, Result};

/// A source of Nexmark events: the generator or its pregenerated shares.
pub trait Events: SourceSpec<Reader = <Self as Events>::R> + Send + Sync + 'static {
    /// The reader, which yields events.
    type R: Reader<Item = Event>;
}

impl<S> Events for S
where
    S: SourceSpec + Send + Sync + 'static,
    S::Reader: Reader<Item = Event>,
{
    type R = S::Reader;
}

/// Dollars to euros, as q1 and q14 convert.
#[inline]
pub fn euros(cents: u64) -> f64 {
    0.908 * cents as f64
}

/// q0, pass-through: every bid, unchanged. Measures the source and the engine alone.
pub fn q0(args: Args, events: impl Events, out: &Collector<Bid>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s)
                .collect(out);
        },
    )
}

/// A bid with its price in euros (q1).
#[derive(Clone, Debug, PartialEq)]
pub struct Q1 {
    pub auction: u64,
    pub bidder: u64,
    pub price: f64,
    pub date_time: u64,
    pub extra: Text,
}

/// q1, currency conversion: each bid with its price converted to euros.
pub fn q1(args: Args, events: impl Events, out: &Collector<Q1>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s)
                .map(|b| Q1 {
                    auction: b.auction,
                    bidder: b.bidder,
                    price: euros(b.price),
                    date_time: b.date_time,
                    extra: b.extra,
                })
                .collect(out);
        },
    )
}

/// q2, selection: `(auction, price)` of the bids on auctions whose id is a multiple of
/// 123.
pub fn q2(args: Args, events: impl Events, out: &Collector<(u64, u64)>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s)
                .filter(|b| b.auction % 123 == 0)
                .map(|b| (b.auction, b.price))
                .collect(out);
        },
    )
}

/// What q3 joins: sellers in Oregon, Idaho or California, and auctions in category 10.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Q3In {
    Seller {
        id: u64,
        name: Text,
        city: Text,
        state: Text,
    },
    Auction {
        id: u64,
        seller: u64,
    },
}

/// A q3 row: `(name, city, state, auction id)`.
pub type Q3 = (Text, Text, Text, u64);

/// q3's incremental join: a seller's auctions wait for the seller, and the seller's
/// later auctions join at once. Like Flink's regular join, it keeps both sides.
#[derive(Default, Serialize, Deserialize)]
pub struct LocalItems {
    sellers: ValueState<u64, (Text, Text, Text)>,
    waiting: ListState<u64, u64>,
}

impl KeyedProcessFunction<u64, Q3In> for LocalItems {
    type Out = Q3;
    #[inline]
    fn process_element(&mut self, record: Q3In, ctx: &mut Context<'_, u64>, out: &mut Vec<Q3>) {
        match record {
            Q3In::Seller {
                name, city, state, ..
            } => {
                for auction in self.waiting.clear(ctx) {
                    out.push((name.clone(), city.clone(), state.clone(), auction));
                }
                self.sellers.update(ctx, (name, city, state));
            }
            Q3In::Auction { id, .. } => match self.sellers.value(ctx) {
                Some((name, city, state)) => {
                    out.push((name.clone(), city.clone(), state.clone(), id))
                }
                None => self.waiting.add(ctx, id),
            },
        }
    }
}

/// q3, local item suggestion: who sells in category 10 from Oregon, Idaho or
/// California, with the auction (an unbounded join of people and auctions).
pub fn q3(args: Args, events: impl Events, out: &Collector<Q3>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .assign_timestamps(|e| e.date_time(), out_of_orderness = 4s)
                .flat_map(|e| match e {
                    Event::Person(p) if ["or", "id", "ca"].contains(&&*p.state) => {
                        Some(Q3In::Seller { id: p.id, name: p.name, city: p.city, state: p.state })
                    }
                    Event::Auction(a) if a.category == 10 => {
                        Some(Q3In::Auction { id: a.id, seller: a.seller })
                    }
                    _ => None,
                })
                .key_by(|r| match r {
                    Q3In::Seller { id, .. } => *id,
                    Q3In::Auction { seller, .. } => *seller,
                })
                .process(LocalItems::default())
                .collect(out);
        },
    )
}

/// An auction or a bid, keyed by the auction's id (q4, q9).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum AuctionOrBid {
    Auction(Auction),
    Bid(Bid),
}

impl AuctionOrBid {
    #[inline]
    pub fn of(event: Event) -> Option<AuctionOrBid> {
        match event {
            Event::Auction(a) => Some(AuctionOrBid::Auction(a)),
            Event::Bid(b) => Some(AuctionOrBid::Bid(b)),
            Event::Person(_) => None,
        }
    }

    #[inline]
    pub fn date_time(&self) -> u64 {
        match self {
            AuctionOrBid::Auction(a) => a.date_time,
            AuctionOrBid::Bid(b) => b.date_time,
        }
    }

    #[inline]
    pub fn auction_id(&self) -> u64 {
        match self {
            AuctionOrBid::Auction(a) => a.id,
            AuctionOrBid::Bid(b) => b.auction,
        }
    }
}

/// Whether `bid` counts for `auction`: placed while it was open (both ends included).
#[inline]
pub fn in_time(auction: &Auction, bid: &Bid) -> bool {
    (auction.date_time..=auction.expires).contains(&bid.date_time)
}

/// Which of two bids wins an auction: the higher price, then the earlier bid (q9's
/// `ORDER BY price DESC, dateTime ASC`), then the whole bid, so that ties are decided
/// the same way on every run.
#[inline]
pub fn better(a: &Bid, b: &Bid) -> bool {
    (Reverse(a.price), a.date_time, a) < (Reverse(b.price), b.date_time, b)
}

/// An open auction and its best bid so far.
#[derive(Serialize, Deserialize)]
pub struct Open {
    auction: Auction,
    best: Option<Bid>,
}

/// The winning bid of each auction, emitted when the watermark passes the auction's
/// expiry (q4, q9). Bids that arrive before their auction wait for it until the
/// watermark shows that the auction, if it comes, opened after them (they then cannot
/// count), so nothing is kept for auctions that never come. A key with waiting bids
/// holds one timer, at the drop time of its oldest waiting bid (the first to arrive,
/// within the bound).
#[derive(Default, Serialize, Deserialize)]
pub struct WinningBids {
    open: ValueState<u64, Open>,
    early: ListState<u64, Bid>,
}

/// A bid waiting for its auction is dropped once the watermark passes the end of its
/// 1024 ms block of event time, so that the bids waiting at a key leave in few rounds.
#[inline]
fn drop_time(bid: &Bid) -> u64 {
    bid.date_time | 1023
}

impl KeyedProcessFunction<u64, AuctionOrBid> for WinningBids {
    type Out = (Auction, Bid);
    #[inline]
    fn process_element(
        &mut self,
        record: AuctionOrBid,
        ctx: &mut Context<'_, u64>,
        _out: &mut Vec<(Auction, Bid)>,
    ) {
        match record {
            AuctionOrBid::Auction(auction) => {
                ctx.register_event_time_timer(auction.expires);
                let mut best: Option<Bid> = None;
                for bid in self.early.clear(ctx) {
                    if in_time(&auction, &bid) && best.as_ref().is_none_or(|b| better(&bid, b)) {
                        best = Some(bid);
                    }
                }
                self.open.update(ctx, Open { auction, best });
            }
            AuctionOrBid::Bid(bid) => match self.open.value(ctx) {
                Some(open) => {
                    let wins = in_time(&open.auction, &bid)
                        && open.best.as_ref().is_none_or(|b| better(&bid, b));
                    if wins {
                        let open = self.open.get_or_insert_with(ctx, || unreachable!());
                        open.best = Some(bid);
                    }
                }
                None => {
                    if self.early.get(ctx).is_empty() {
                        ctx.register_event_time_timer(drop_time(&bid));
                    }
                    self.early.add(ctx, bid);
                }
            },
        }
    }

    #[inline]
    fn on_timer(&mut self, time: u64, ctx: &mut Context<'_, u64>, out: &mut Vec<(Auction, Bid)>) {
        let closes = self
            .open
            .value(ctx)
            .is_some_and(|o| o.auction.expires <= time);
        if closes {
            if let Some(Open {
                auction,
                best: Some(bid),
            }) = self.open.clear(ctx)
            {
                out.push((auction, bid));
            }
        } else if self.open.value(ctx).is_none() && !self.early.get(ctx).is_empty() {
            let keep: Vec<Bid> = self
                .early
                .clear(ctx)
                .into_iter()
                .filter(|b| b.date_time > time)
                .collect();
            if let Some(next) = keep.iter().map(drop_time).min() {
                ctx.register_event_time_timer(next);
                self.early.update(ctx, keep);
            }
        }
    }
}

/// q4, average price per category: the average of the winning bids' prices of the
/// closed auctions in each category, updated as auctions close.
pub fn q4(args: Args, events: impl Events, out: &Collector<(u64, f64)>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(AuctionOrBid::of)
                .assign_timestamps(|r| r.date_time(), out_of_orderness = 4s)
                .key_by(|r| r.auction_id())
                .process(WinningBids::default())
                .map(|(auction, bid)| (auction.category, bid.price, 1u64))
                .key_by(0)
                .reduce(|a, b| (a.0, a.1 + b.1, a.2 + b.2))
                .map(|(category, sum, n)| (category, sum as f64 / n as f64))
                .collect(out);
        },
    )
}

/// The items with the highest score so far, ties included: q5's hottest auctions
/// (scored by bids) and q7's highest bids (scored by price).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ties<T> {
    pub score: u64,
    pub items: Vec<T>,
}

impl<T> Default for Ties<T> {
    fn default() -> Self {
        Ties {
            score: 0,
            items: Vec::new(),
        }
    }
}

impl<T: Clone> Ties<T> {
    /// Takes `item` if it scores at least as high as the items kept.
    #[inline]
    pub fn add(&mut self, score: u64, item: T) {
        // Most items score lower than the best so far: only the test is inlined.
        if self.items.is_empty() || score >= self.score {
            self.take(score, item);
        }
    }

    /// Keeps `item`, which scores at least as high as the items kept.
    #[inline(never)]
    fn take(&mut self, score: u64, item: T) {
        if score > self.score || self.items.is_empty() {
            self.score = score;
            self.items.clear();
        }
        self.items.push(item);
    }

    /// Takes the items of `other` that score at least as high as the items kept.
    pub fn merge(&mut self, other: &Ties<T>) {
        if other.items.is_empty() {
            return;
        }
        if self.items.is_empty() || other.score > self.score {
            self.score = other.score;
            self.items.clear();
        }
        if other.score == self.score {
            self.items.extend_from_slice(&other.items);
        }
    }
}

/// The auctions with the most bids in one window, and that count.
pub type Hottest = Ties<u64>;

/// Keeps the auctions with the highest bid count, ties included.
pub struct HottestOf;

impl Aggregator<WindowResult<u64, u64>> for HottestOf {
    type Acc = Hottest;
    type Out = Hottest;
    #[inline]
    fn init(&self) -> Hottest {
        Hottest::default()
    }
    #[inline]
    fn add(&self, acc: &mut Hottest, r: WindowResult<u64, u64>) {
        acc.add(r.value, r.key);
    }
    #[inline]
    fn merge(&self, acc: &mut Hottest, other: &Hottest) {
        acc.merge(other);
    }
    #[inline]
    fn finish(&self, acc: &Hottest) -> Hottest {
        acc.clone()
    }
}

/// A q5 row: `(auction, bids, window start)`.
pub type Q5 = (u64, u64, i64);

/// q5, hot items: in every sliding window of 10 s every 2 s, the auctions with the most
/// bids (ties included). Each window's counts are timed at its last millisecond, so the
/// tumbling 2 s windows of the second step take exactly one sliding window each.
/// Only the auction of a bid is kept (as a SQL planner projects), in the source operator.
pub fn q5(args: Args, events: impl Events, out: &Collector<Q5>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s)
                .map(|b| b.auction)
                .key_by(|auction| *auction)
                .window(sliding(10s, 2s))
                .count()
                .window_all(tumbling(2s))
                .aggregate(HottestOf)
                .flat_map(|w| {
                    let (bids, start) = (w.value.score, w.end - 10_000);
                    w.value.items.into_iter().map(move |a| (a, bids, start))
                })
                .collect(out);
        },
    )
}

/// The highest bids of a window (ties included), scored by price.
pub type Highest = Ties<Bid>;

/// Keeps the bids with the highest price.
pub struct HighestOf;

impl Aggregator<Bid> for HighestOf {
    type Acc = Highest;
    type Out = Highest;
    #[inline]
    fn init(&self) -> Highest {
        Highest::default()
    }
    #[inline]
    fn add(&self, acc: &mut Highest, bid: Bid) {
        acc.add(bid.price, bid);
    }
    #[inline]
    fn merge(&self, acc: &mut Highest, other: &Highest) {
        acc.merge(other);
    }
    #[inline]
    fn finish(&self, acc: &Highest) -> Highest {
        acc.clone()
    }
}

/// q7, highest bid: the bids with the highest price in each tumbling 10 s window
/// (`[start, end)`; Flink's SQL also admits bids at exactly `end`). Each worker keeps its
/// own highest bids per window and ships only those.
pub fn q7(args: Args, events: impl Events, out: &Collector<Bid>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s)
                .window_all(tumbling(10s))
                .aggregate(HighestOf)
                .flat_map(|w| w.value.items)
                .collect(out);
        },
    )
}

/// A q8 row: `(person id, name, window start)`.
pub type Q8 = (u64, Text, i64);

/// q8, new users: the people who opened an auction in the same tumbling 10 s window as
/// they registered. As in Flink's SQL, auctions are first counted per seller and window,
/// so each person and window joins once.
pub fn q8(args: Args, events: impl Events, out: &Collector<Q8>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            let people_and_sellers = from_source(events)
                .assign_timestamps(|e| e.date_time(), out_of_orderness = 4s)
                .flat_map(|e| match e {
                    Event::Person(p) => Some((p.id, Some(p.name))),
                    Event::Auction(a) => Some((a.seller, None)),
                    Event::Bid(_) => None,
                });
            let sellers = people_and_sellers
                .filter(|r| r.1.is_none())
                .key_by(0)
                .window(tumbling(10s))
                .count();
            people_and_sellers
                .flat_map(|(id, name)| name.map(|n| (id, n)))
                .join(sellers)
                .on(|p| p.0, |s| s.key)
                .window(tumbling(10s))
                .apply(|p, s| (p.0, p.1.clone(), s.start))
                .collect(out);
        },
    )
}

/// A q9 row: the auction and its winning bid.
pub type Q9 = (Auction, Bid);

/// q9, winning bids: each auction with its highest bid placed while it was open (the
/// earliest among equal prices), emitted when the auction closes.
pub fn q9(args: Args, events: impl Events, out: &Collector<Q9>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(AuctionOrBid::of)
                .assign_timestamps(|r| r.date_time(), out_of_orderness = 4s)
                .key_by(|r| r.auction_id())
                .process(WinningBids::default())
                .collect(out);
        },
    )
}

/// A q11 row: `(bidder, bids, session start, session end)`.
pub type Q11 = (u64, u64, i64, i64);

/// q11, user sessions: each bidder's bids per session (bids at most 10 s apart; a
/// session ends 10 s after its last bid). Only the bidder of a bid is kept, in the source operator.
pub fn q11(args: Args, events: impl Events, out: &Collector<Q11>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s)
                .map(|b| b.bidder)
                .key_by(|bidder| *bidder)
                .window(session(10s))
                .count()
                .map(|w| (w.key, w.value, w.start, w.end))
                .collect(out);
        },
    )
}

/// A q12 row: `(bidder, bids, window start)`, the window in processing time.
pub type Q12 = (u64, u64, i64);

/// q12, processing-time windows: each bidder's bids per tumbling 10 s window of the wall
/// clock at the source.
pub fn q12(args: Args, events: impl Events, out: &Collector<Q12>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(|e| e.bid())
                .with_processing_time()
                .key_by(|b| b.bidder)
                .window(tumbling(10s))
                .count()
                .map(|w| (w.key, w.value, w.start))
                .collect(out);
        },
    )
}

/// A q14 row.
#[derive(Clone, Debug, PartialEq)]
pub struct Q14 {
    pub auction: u64,
    pub bidder: u64,
    pub price: f64,
    pub bid_time_type: &'static str,
    pub date_time: u64,
    pub extra: Text,
    pub c_counts: usize,
}

/// The part of the day a bid was placed in (UTC hours): q14's `CASE`.
#[inline]
pub fn bid_time_type(date_time: u64) -> &'static str {
    match date_time / 3_600_000 % 24 {
        8..=18 => "dayTime",
        0..=6 | 20..=23 => "nightTime",
        _ => "otherTime",
    }
}

/// q14's user-defined function: how many times `c` occurs in `s`.
#[inline]
pub fn count_char(s: &str, c: u8) -> usize {
    s.bytes().filter(|&b| b == c).count()
}

/// q14, projection and filter with a UDF: bids worth between 1M and 50M euro cents, with
/// the part of day and the number of `c`s in `extra`.
pub fn q14(args: Args, events: impl Events, out: &Collector<Q14>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s)
                .filter(|b| {
                    let euros = euros(b.price);
                    euros > 1_000_000.0 && euros < 50_000_000.0
                })
                .map(|b| Q14 {
                    auction: b.auction,
                    bidder: b.bidder,
                    price: euros(b.price),
                    bid_time_type: bid_time_type(b.date_time),
                    date_time: b.date_time,
                    c_counts: count_char(&b.extra, b'c'),
                    extra: b.extra,
                })
                .collect(out);
        },
    )
}

/// q17's statistics of one auction and day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStats {
    pub auction: u64,
    /// Days since the epoch (UTC).
    pub day: u64,
    pub total_bids: u64,
    /// Bids under $100, under $10,000, and from $10,000.
    pub rank1_bids: u64,
    pub rank2_bids: u64,
    pub rank3_bids: u64,
    pub min_price: u64,
    pub max_price: u64,
    pub sum_price: u64,
}

impl DayStats {
    #[inline]
    pub fn of(bid: &Bid) -> DayStats {
        let rank = |lo: u64, hi: u64| u64::from((lo..hi).contains(&bid.price));
        DayStats {
            auction: bid.auction,
            day: bid.date_time / 86_400_000,
            total_bids: 1,
            rank1_bids: rank(0, 10_000),
            rank2_bids: rank(10_000, 1_000_000),
            rank3_bids: rank(1_000_000, u64::MAX),
            min_price: bid.price,
            max_price: bid.price,
            sum_price: bid.price,
        }
    }

    #[inline]
    pub fn merge(self, other: DayStats) -> DayStats {
        DayStats {
            total_bids: self.total_bids + other.total_bids,
            rank1_bids: self.rank1_bids + other.rank1_bids,
            rank2_bids: self.rank2_bids + other.rank2_bids,
            rank3_bids: self.rank3_bids + other.rank3_bids,
            min_price: self.min_price.min(other.min_price),
            max_price: self.max_price.max(other.max_price),
            sum_price: self.sum_price + other.sum_price,
            ..self
        }
    }

    #[inline]
    pub fn avg_price(&self) -> f64 {
        self.sum_price as f64 / self.total_bids as f64
    }
}

/// A q17 row: the statistics and the average price.
pub type Q17 = (DayStats, f64);

/// q17, auction statistics: per auction and day, the number of bids (in all and by price
/// band) and the minimum, maximum, average and total price; an updated row per bid
/// (Flink's unbounded group aggregation).
pub fn q17(args: Args, events: impl Events, out: &Collector<Q17>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s)
                .map(|b| DayStats::of(&b))
                .key_by(|s| (s.auction, s.day))
                .reduce(|a, b| a.merge(b))
                .map(|s| {
                    let avg = s.avg_price();
                    (s, avg)
                })
                .collect(out);
        },
    )
}

/// q18's per-key latest bid.
#[derive(Default, Serialize, Deserialize)]
pub struct LatestBid {
    latest: ValueState<(u64, u64), Bid>,
}

/// Whether `a` is later than `b` (then by the whole bid, so that ties are decided the
/// same way on every run).
#[inline]
pub fn later(a: &Bid, b: &Bid) -> bool {
    (a.date_time, a) > (b.date_time, b)
}

impl KeyedProcessFunction<(u64, u64), Bid> for LatestBid {
    type Out = Bid;
    #[inline]
    fn process_element(&mut self, bid: Bid, ctx: &mut Context<'_, (u64, u64)>, out: &mut Vec<Bid>) {
        let newer = self.latest.value(ctx).is_none_or(|b| later(&bid, b));
        if newer {
            out.push(bid.clone());
            self.latest.update(ctx, bid);
        }
    }
}

/// q18, last bid per bidder and auction: a row whenever a bidder's latest bid on an
/// auction changes (Flink's deduplication keeping the last row by event time).
pub fn q18(args: Args, events: impl Events, out: &Collector<Bid>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s)
                .key_by(|b| (b.bidder, b.auction))
                .process(LatestBid::default())
                .collect(out);
        },
    )
}

/// How many bids q19 keeps per auction.
pub const TOP: usize = 10;

/// q19's per-auction top bids, best first.
#[derive(Default, Serialize, Deserialize)]
pub struct TopBids {
    top: ValueState<u64, Vec<Bid>>,
}

impl KeyedProcessFunction<u64, Bid> for TopBids {
    type Out = (Bid, usize);
    #[inline]
    fn process_element(
        &mut self,
        bid: Bid,
        ctx: &mut Context<'_, u64>,
        out: &mut Vec<(Bid, usize)>,
    ) {
        let top = self.top.get_or_insert_with(ctx, Vec::new);
        let rank = top.partition_point(|b| better(b, &bid));
        if rank < TOP {
            top.insert(rank, bid.clone());
            top.truncate(TOP);
            out.push((bid, rank + 1));
        }
    }
}

/// q19, top bids per auction: a row `(bid, rank)` whenever a bid enters its auction's
/// ten highest (by price, then earliest; Flink's `ROW_NUMBER() <= 10`); the bid it pushes
/// out is implied.
pub fn q19(args: Args, events: impl Events, out: &Collector<(Bid, usize)>) -> Result<JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(events)
                .flat_map(|e| e.bid())
                .assign_timestamps(|b| b.date_time, out_of_orderness = 4s)
                .key_by(|b| b.auction)
                .process(TopBids::default())
                .collect(out);
        },
    )
}
