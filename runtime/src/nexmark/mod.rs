//! Nexmark, the standard streaming benchmark: an online auction's people, auctions and
//! bids, generated as a source.
//!
//! [`events`] is the whole event sequence (1 person, 3 auctions and 46 bids in every 50
//! events); [`persons`], [`auctions`] and [`bids`] are views that generate only one
//! kind, with the same events as in the whole sequence. Every source is split among all
//! workers of all processes (worker `i` of `n` generates events `i, i + n, ...` of its
//! kind), so the union over workers is exactly the single generator's sequence, and
//! every worker's share moves through event time at the same pace.
//!
//! The events are those of the `nexmark` crate (RisingWave's Rust port of the reference
//! generator) with `EventGenerator::new(config)`: the same ids, kinds, timestamps, hot
//! sellers, auctions, bidders and channels, prices and string lengths; only the letters
//! of the `extra` padding differ (see [`Generator`]). Event time is `date_time`; the
//! Nexmark queries declare a watermark bound of 4 s.
//!
//! ```
//! use tidemill_runtime::nexmark::{Config, Event, Generator};
//!
//! let generator = Generator::new(Config::default());
//! let Event::Person(first) = generator.event(0) else { panic!("event 0 is a person") };
//! assert_eq!(first.id, 1000);
//! assert!(matches!(generator.event(1), Event::Auction(_)));
//! assert!(matches!(generator.event(4), Event::Bid(_)));
//! ```

mod generator;
mod model;

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

pub use generator::{EventKind, Generator};
pub use model::{Auction, Bid, Event, Person, Text};

use crate::error::{Error, Result};
use crate::sources::{Reader, SourceSpec, Status};

/// The generator's settings; the defaults are the `nexmark` crate's (and the reference
/// generator's), with a fixed base time so that runs repeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How many events the sequence has (a bounded source).
    pub events: u64,
    /// Event time of the first event, ms since the epoch (default 2026-01-01T00:00:00Z).
    pub base_time: u64,
    /// Events per second of event time (default 10,000: 1,000 s for 10M events).
    pub event_rate: u64,
    /// How many of the most recent people place auctions and bids.
    pub active_people: u64,
    /// How many auctions are in flight at any time.
    pub in_flight_auctions: u64,
    /// Average size of a person event, in bytes.
    pub avg_person_byte_size: u64,
    /// Average size of an auction event, in bytes.
    pub avg_auction_byte_size: u64,
    /// Average size of a bid event, in bytes.
    pub avg_bid_byte_size: u64,
    /// 1 - 1/ratio of auctions are by hot sellers.
    pub hot_seller_ratio: u64,
    /// 1 - 1/ratio of bids are on hot auctions.
    pub hot_auction_ratio: u64,
    /// 1 - 1/ratio of bids are by hot bidders.
    pub hot_bidder_ratio: u64,
    /// 1 - 1/ratio of bids come through the four hot channels.
    pub hot_channel_ratio: u64,
    /// Auction categories.
    pub num_categories: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            events: 100_000,
            base_time: 1_767_225_600_000,
            event_rate: 10_000,
            active_people: 1000,
            in_flight_auctions: 100,
            avg_person_byte_size: 200,
            avg_auction_byte_size: 500,
            avg_bid_byte_size: 100,
            hot_seller_ratio: 4,
            hot_auction_ratio: 2,
            hot_bidder_ratio: 4,
            hot_channel_ratio: 2,
            num_categories: 5,
        }
    }
}

impl Config {
    /// The default configuration with `events` events.
    pub fn with_events(events: u64) -> Config {
        Config {
            events,
            ..Config::default()
        }
    }
}

/// What a [`Source`] yields: every [`Event`], or one kind of them. Known at compile
/// time, so that the reader hands each event on without a call through a pointer (and
/// without a copy).
pub trait View: Sized + 'static {
    /// The kind of event, if one.
    const KIND: Option<EventKind>;
    /// The record of `event`, if it is of this kind.
    fn of(event: Event) -> Option<Self>;
}

impl View for Event {
    const KIND: Option<EventKind> = None;
    #[inline(always)]
    fn of(event: Event) -> Option<Event> {
        Some(event)
    }
}

impl View for Person {
    const KIND: Option<EventKind> = Some(EventKind::Person);
    #[inline(always)]
    fn of(event: Event) -> Option<Person> {
        event.person()
    }
}

impl View for Auction {
    const KIND: Option<EventKind> = Some(EventKind::Auction);
    #[inline(always)]
    fn of(event: Event) -> Option<Auction> {
        event.auction()
    }
}

impl View for Bid {
    const KIND: Option<EventKind> = Some(EventKind::Bid);
    #[inline(always)]
    fn of(event: Event) -> Option<Bid> {
        event.bid()
    }
}

/// A Nexmark source: the events of a configuration, or one kind of them.
#[derive(Debug)]
pub struct Source<T> {
    generator: Generator,
    view: PhantomData<fn() -> T>,
}

impl<T> Clone for Source<T> {
    fn clone(&self) -> Self {
        Source {
            generator: self.generator.clone(),
            view: PhantomData,
        }
    }
}

/// Every event of `config`'s sequence.
pub fn events(config: Config) -> Source<Event> {
    Source::new(config)
}

/// The people of `config`'s sequence: the events the whole sequence has, without the
/// others.
pub fn persons(config: Config) -> Source<Person> {
    Source::new(config)
}

/// The auctions of `config`'s sequence.
pub fn auctions(config: Config) -> Source<Auction> {
    Source::new(config)
}

/// The bids of `config`'s sequence.
pub fn bids(config: Config) -> Source<Bid> {
    Source::new(config)
}

impl<T: View> Source<T> {
    fn new(config: Config) -> Self {
        Source {
            generator: Generator::new(config),
            view: PhantomData,
        }
    }

    /// How many events this source generates over all workers.
    pub fn len(&self) -> u64 {
        let n = self.generator.config().events;
        T::KIND.map_or(n, |k| k.count_below(n))
    }

    /// Whether the source generates nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The event number of this source's `k`-th event.
    fn number(&self, k: u64) -> u64 {
        T::KIND.map_or(k, |kind| kind.nth(k))
    }
}

/// One worker's share of a [`Source`].
#[derive(Debug)]
pub struct SourceReader<T> {
    source: Source<T>,
    next: u64,
    step: u64,
    end: u64,
}

impl<T: View> SourceSpec for Source<T> {
    type Reader = SourceReader<T>;
    fn open(&self, index: usize, peers: usize) -> Result<SourceReader<T>> {
        Ok(SourceReader {
            source: self.clone(),
            next: index as u64,
            step: peers as u64,
            end: self.len(),
        })
    }
}

impl<T: View> Reader for SourceReader<T> {
    type Item = T;
    #[inline]
    fn read(&mut self, budget: usize, out: &mut dyn FnMut(T)) -> Result<Status> {
        for _ in 0..budget {
            if self.next >= self.end {
                return Ok(Status::Done);
            }
            let event = self.source.generator.event(self.source.number(self.next));
            self.next += self.step;
            if let Some(item) = T::of(event) {
                out(item);
            }
        }
        Ok(if self.next < self.end {
            Status::More
        } else {
            Status::Done
        })
    }

    /// The generator is deterministic: its position is the next event's number.
    fn position(&self) -> Option<Vec<(u32, u64)>> {
        Some(vec![(0, self.next)])
    }

    fn seek(&mut self, position: &[(u32, u64)]) -> Result<()> {
        if let Some(&(_, next)) = position.first() {
            self.next = next;
        }
        Ok(())
    }
}

/// A source's events generated into memory before the job starts, each worker's share
/// apart, so that a job over it measures the engine alone. The job moves the events out
/// (nothing is cloned); each share can be read once. A reader hands its emptied buffer
/// back, so the buffers are freed with the last clone of this value (after the job, when
/// it is kept), as they were allocated before it.
#[derive(Clone, Debug)]
pub struct Pregenerated<T> {
    /// Each worker's events, last first (a reader pops them).
    shares: Arc<Vec<Mutex<Option<Vec<T>>>>>,
    /// The buffers of the shares read.
    spent: Arc<Mutex<Vec<Vec<T>>>>,
    first: usize,
    peers: usize,
}

impl<T: View + Send> Pregenerated<T> {
    /// Generates the shares of `source` for workers `first..first + local` of `peers`
    /// (the workers of this process), using up to `local` threads.
    pub fn new(source: &Source<T>, first: usize, local: usize, peers: usize) -> Self {
        let shares = std::thread::scope(|s| {
            let handles: Vec<_> = (first..first + local)
                .map(|index| {
                    s.spawn(move || {
                        let mut reader = source.open(index, peers).expect("opening cannot fail");
                        let mut share = Vec::new();
                        while matches!(
                            reader.read(usize::MAX, &mut |e| share.push(e)),
                            Ok(Status::More)
                        ) {}
                        share.reverse();
                        Mutex::new(Some(share))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("generator thread"))
                .collect()
        });
        Pregenerated {
            shares: Arc::new(shares),
            spent: Arc::default(),
            first,
            peers,
        }
    }

    /// How many events the shares hold.
    pub fn len(&self) -> usize {
        self.shares
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                    .map_or(0, Vec::len)
            })
            .sum()
    }

    /// Whether the shares hold nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One worker's pregenerated events.
#[derive(Debug)]
pub struct PregeneratedReader<T> {
    /// The events still to read, last first.
    events: Vec<T>,
    spent: Arc<Mutex<Vec<Vec<T>>>>,
}

impl<T> Drop for PregeneratedReader<T> {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.events);
        self.spent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(buffer);
    }
}

impl<T: 'static> SourceSpec for Pregenerated<T> {
    type Reader = PregeneratedReader<T>;
    fn open(&self, index: usize, peers: usize) -> Result<PregeneratedReader<T>> {
        let share = index
            .checked_sub(self.first)
            .filter(|_| peers == self.peers)
            .and_then(|i| self.shares.get(i))
            .and_then(|s| s.lock().unwrap_or_else(|p| p.into_inner()).take())
            .ok_or_else(|| {
                Error::Config(format!(
                    "no pregenerated events for worker {index} of {peers}: they were generated \
                     for workers {}..{} of {} and each share is read once",
                    self.first,
                    self.first + self.shares.len(),
                    self.peers
                ))
            })?;
        Ok(PregeneratedReader {
            events: share,
            spent: Arc::clone(&self.spent),
        })
    }
}

impl<T: 'static> Reader for PregeneratedReader<T> {
    type Item = T;
    #[inline]
    fn read(&mut self, budget: usize, out: &mut dyn FnMut(T)) -> Result<Status> {
        for _ in 0..budget {
            match self.events.pop() {
                Some(e) => out(e),
                None => return Ok(Status::Done),
            }
        }
        Ok(if !self.events.is_empty() {
            Status::More
        } else {
            Status::Done
        })
    }
}
