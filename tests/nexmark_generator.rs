//! The Nexmark generator against the `nexmark` crate (RisingWave's port of the reference
//! generator), which it follows draw for draw: every field of every event equals the
//! crate's except the letters of `extra` (same length, letters only), and the sources
//! split the sequence among workers exactly.

use ::nexmark::config::NexmarkConfig;
use ::nexmark::event::{Event as Theirs, EventType};
use ::nexmark::EventGenerator;
use tidemill::nexmark::{self, Config, Event, EventKind, Generator};
use tidemill::sources::{Reader, SourceSpec, Status};

fn crate_config(c: &Config) -> NexmarkConfig {
    NexmarkConfig {
        base_time: c.base_time,
        first_rate: c.event_rate as usize,
        next_rate: c.event_rate as usize,
        avg_person_byte_size: c.avg_person_byte_size as usize,
        avg_auction_byte_size: c.avg_auction_byte_size as usize,
        avg_bid_byte_size: c.avg_bid_byte_size as usize,
        ..NexmarkConfig::default()
    }
}

fn letters(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_lowercase())
}

/// Asserts that our event equals theirs but for `extra`'s letters.
fn same(ours: &Event, theirs: &Theirs, n: u64) {
    match (ours, theirs) {
        (Event::Person(o), Theirs::Person(t)) => {
            assert_eq!(
                (
                    o.id,
                    &*o.name,
                    &*o.email_address,
                    &*o.credit_card,
                    &*o.city,
                    &*o.state,
                    o.date_time
                ),
                (
                    t.id as u64,
                    &*t.name,
                    &*t.email_address,
                    &*t.credit_card,
                    &*t.city,
                    &*t.state,
                    t.date_time
                ),
                "person {n}"
            );
            assert_eq!(o.extra.len(), t.extra.len(), "person {n}");
            assert!(letters(&o.extra));
        }
        (Event::Auction(o), Theirs::Auction(t)) => {
            assert_eq!(
                (
                    o.id,
                    &*o.item_name,
                    &*o.description,
                    o.initial_bid,
                    o.reserve
                ),
                (
                    t.id as u64,
                    &*t.item_name,
                    &*t.description,
                    t.initial_bid as u64,
                    t.reserve as u64
                ),
                "auction {n}"
            );
            assert_eq!(
                (o.date_time, o.expires, o.seller, o.category, o.extra.len()),
                (
                    t.date_time,
                    t.expires,
                    t.seller as u64,
                    t.category as u64,
                    t.extra.len()
                ),
                "auction {n}"
            );
            assert!(letters(&o.extra));
        }
        (Event::Bid(o), Theirs::Bid(t)) => {
            assert_eq!(
                (
                    o.auction,
                    o.bidder,
                    o.price,
                    &*o.channel,
                    &*o.url,
                    o.date_time
                ),
                (
                    t.auction as u64,
                    t.bidder as u64,
                    t.price as u64,
                    &*t.channel,
                    &*t.url,
                    t.date_time
                ),
                "bid {n}"
            );
            assert_eq!(o.extra.len(), t.extra.len(), "bid {n}");
            assert!(letters(&o.extra));
        }
        _ => panic!("event {n}: {ours:?} vs {theirs:?}"),
    }
}

#[test]
fn events_match_the_nexmark_crate() {
    let config = Config::default();
    let ours = Generator::new(config.clone());
    let theirs = EventGenerator::new(crate_config(&config));
    for (n, t) in theirs.take(100_000).enumerate() {
        same(&ours.event(n as u64), &t, n as u64);
    }
    // Far into a long run, where the crate's f32 timestamps round coarsely.
    let far = 50_000_000;
    let theirs = EventGenerator::new(crate_config(&config)).with_offset(far);
    for (k, t) in theirs.take(5_000).enumerate() {
        let n = far + k as u64;
        same(&ours.event(n), &t, n);
    }
}

#[test]
fn other_settings_match_the_nexmark_crate() {
    let config = Config {
        base_time: 0,
        event_rate: 777,
        ..Config::default()
    };
    let ours = Generator::new(config.clone());
    let theirs = EventGenerator::new(crate_config(&config));
    for (n, t) in theirs.take(20_000).enumerate() {
        same(&ours.event(n as u64), &t, n as u64);
    }
}

#[test]
fn extras_longer_than_the_letter_buffer_keep_their_length() {
    let config = Config {
        avg_person_byte_size: 150_000,
        avg_auction_byte_size: 200_000,
        avg_bid_byte_size: 100_000,
        ..Config::default()
    };
    let ours = Generator::new(config.clone());
    let theirs = EventGenerator::new(crate_config(&config));
    for (n, t) in theirs.take(60).enumerate() {
        same(&ours.event(n as u64), &t, n as u64);
    }
}

#[test]
fn the_views_match_the_crates_type_filter() {
    let config = Config::with_events(5_000);
    let bids = read_all(&nexmark::bids(config.clone()), 0, 1);
    let theirs: Vec<Theirs> = EventGenerator::new(crate_config(&config))
        .with_type_filter(EventType::Bid)
        .take(bids.len())
        .collect();
    assert_eq!(bids.len(), 4_600);
    for (k, (o, t)) in bids.into_iter().zip(&theirs).enumerate() {
        same(&Event::Bid(o), t, k as u64);
    }
    assert_eq!(read_all(&nexmark::persons(config.clone()), 0, 1).len(), 100);
    let auctions = read_all(&nexmark::auctions(config), 0, 1);
    assert_eq!(auctions.len(), 300);
    assert!(auctions.windows(2).all(|w| w[1].id == w[0].id + 1));
}

fn read_all<S: SourceSpec>(
    spec: &S,
    index: usize,
    peers: usize,
) -> Vec<<S::Reader as Reader>::Item> {
    let mut reader = spec.open(index, peers).unwrap();
    let mut out = Vec::new();
    while let Status::More = reader.read(7, &mut |e| out.push(e)).unwrap() {}
    out
}

#[test]
fn workers_split_the_sequence_exactly() {
    let config = Config::with_events(10_007);
    let whole = read_all(&nexmark::events(config.clone()), 0, 1);
    assert_eq!(whole.len(), 10_007);
    for peers in [2, 3, 4] {
        let mut union = Vec::new();
        for index in 0..peers {
            let share = read_all(&nexmark::events(config.clone()), index, peers);
            union.extend(
                share
                    .into_iter()
                    .enumerate()
                    .map(|(k, e)| (index + k * peers, e)),
            );
        }
        union.sort_by_key(|(n, _)| *n);
        let union: Vec<Event> = union.into_iter().map(|(_, e)| e).collect();
        assert!(union == whole, "{peers} workers");
        let bids: Vec<_> = (0..peers)
            .flat_map(|i| read_all(&nexmark::bids(config.clone()), i, peers))
            .collect();
        assert_eq!(bids.len() as u64, EventKind::Bid.count_below(10_007));
    }
}

#[test]
fn pregenerated_shares_are_the_sources_shares() {
    let source = nexmark::events(Config::with_events(1_000));
    let pre = nexmark::Pregenerated::new(&source, 0, 3, 3);
    assert_eq!(pre.len(), 1_000);
    for i in 0..3 {
        assert!(read_all(&pre, i, 3) == read_all(&source, i, 3));
    }
    assert!(pre.open(0, 3).is_err(), "a share is read once");
    assert!(pre.is_empty());
}
