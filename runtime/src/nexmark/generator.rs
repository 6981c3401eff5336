//! The event generator: event `n` of the sequence, computed from `n` alone.
//!
//! Follows the `nexmark` crate (RisingWave's Rust port of the Nexmark generator) draw
//! for draw: each event seeds a xoshiro256++ generator (rand 0.8's `SmallRng`) with its
//! id and draws ids, prices, names and lengths in the crate's order with the crate's
//! sampling, so every field but the letters of `extra` equals the crate's. The crate
//! draws `extra` one random letter at a time, most of the cost of an event; here its
//! length is drawn the same way and its letters are a slice of a shared buffer of random
//! letters at a random offset, as the Java reference generator does.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::model::{Auction, Bid, Event, Person, Text};
use super::Config;

/// Events per proportion cycle: 1 person, 3 auctions, 46 bids.
const PROPORTION_DENOMINATOR: u64 = 50;
const PERSON_PROPORTION: u64 = 1;
const _: () = assert!(
    PERSON_PROPORTION == 1,
    "person_last_id assumes one person per cycle"
);
const AUCTION_PROPORTION: u64 = 3;
const FIRST_PERSON_ID: u64 = 1000;
const FIRST_AUCTION_ID: u64 = 1000;
const FIRST_CATEGORY_ID: u64 = 10;
const PERSON_ID_LEAD: u64 = 10;
const AUCTION_ID_LEAD: u64 = 10;
/// One in this many people or auctions is 'hot'.
const HOT_SELLER_RATIO: u64 = 100;
const HOT_AUCTION_RATIO: u64 = 100;
const HOT_BIDDER_RATIO: u64 = 100;
const CHANNELS: usize = 10_000;
const FIRST_NAMES: [&str; 11] = [
    "peter", "paul", "luke", "john", "saul", "vicky", "kate", "julie", "sarah", "deiter", "walter",
];
const LAST_NAMES: [&str; 9] = [
    "shultz", "abrams", "spencer", "white", "bartels", "walton", "smith", "jones", "noris",
];
const CITIES: [&str; 10] = [
    "phoenix",
    "los angeles",
    "san francisco",
    "boise",
    "portland",
    "bend",
    "redmond",
    "seattle",
    "kent",
    "cheyenne",
];
const STATES: [&str; 6] = ["az", "ca", "id", "or", "wa", "wy"];
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];
/// Random letters that `extra` fields are sliced from.
const LETTERS: usize = 1 << 16;

/// The kind of event number `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A new person.
    Person,
    /// A new auction.
    Auction,
    /// A bid.
    Bid,
}

impl EventKind {
    /// The kind of event number `n`.
    pub fn of(n: u64) -> EventKind {
        match n % PROPORTION_DENOMINATOR {
            r if r < PERSON_PROPORTION => EventKind::Person,
            r if r < PERSON_PROPORTION + AUCTION_PROPORTION => EventKind::Auction,
            _ => EventKind::Bid,
        }
    }

    /// The event number of the `k`-th event of this kind.
    pub fn nth(self, k: u64) -> u64 {
        let (per_cycle, first) = match self {
            EventKind::Person => (PERSON_PROPORTION, 0),
            EventKind::Auction => (AUCTION_PROPORTION, PERSON_PROPORTION),
            EventKind::Bid => (
                PROPORTION_DENOMINATOR - PERSON_PROPORTION - AUCTION_PROPORTION,
                PERSON_PROPORTION + AUCTION_PROPORTION,
            ),
        };
        k / per_cycle * PROPORTION_DENOMINATOR + first + k % per_cycle
    }

    /// How many of the events `0..n` are of this kind.
    pub fn count_below(self, n: u64) -> u64 {
        let (cycles, rest) = (n / PROPORTION_DENOMINATOR, n % PROPORTION_DENOMINATOR);
        let (lo, hi) = match self {
            EventKind::Person => (0, PERSON_PROPORTION),
            EventKind::Auction => (PERSON_PROPORTION, PERSON_PROPORTION + AUCTION_PROPORTION),
            EventKind::Bid => (
                PERSON_PROPORTION + AUCTION_PROPORTION,
                PROPORTION_DENOMINATOR,
            ),
        };
        cycles * (hi - lo) + rest.clamp(lo, hi) - lo
    }
}

/// xoshiro256++ seeded as rand 0.8's `SmallRng` is on 64-bit targets, with rand 0.8's
/// integer and float sampling.
struct Rng([u64; 4]);

impl Rng {
    /// `SmallRng::seed_from_u64`: rand_core's default seeding, eight PCG32 outputs.
    fn seeded(mut state: u64) -> Rng {
        let mut pcg32 = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(11_634_580_027_462_260_723);
            let xorshifted = (((state >> 18) ^ state) >> 27) as u32;
            u64::from(xorshifted.rotate_right((state >> 59) as u32))
        };
        let mut s = [0u64; 4];
        for word in &mut s {
            let low = pcg32();
            *word = low | pcg32() << 32;
        }
        // An all-zero seed is replaced (rand's `from_seed`); PCG32 never yields one here
        // in practice, but the rule is kept.
        if s == [0; 4] {
            return Rng::split_mix(0);
        }
        Rng(s)
    }

    /// xoshiro256++'s own `seed_from_u64`, through SplitMix64.
    fn split_mix(mut state: u64) -> Rng {
        let mut s = [0u64; 4];
        for word in &mut s {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            *word = z ^ (z >> 31);
        }
        Rng(s)
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` for a 64-bit range (`gen_range` on `usize`/`u64`).
    #[inline]
    fn below_u64(&mut self, n: u64) -> u64 {
        let zone = (n << n.leading_zeros()).wrapping_sub(1);
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) <= zone {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `0..n` for a 32-bit range (`gen_range` on `u32`/`i32`, `choose`).
    #[inline]
    fn below_u32(&mut self, n: u32) -> u32 {
        let zone = (n << n.leading_zeros()).wrapping_sub(1);
        loop {
            let m = u64::from(self.next_u32()) * u64::from(n);
            if (m as u32) <= zone {
                return (m >> 32) as u32;
            }
        }
    }

    /// A letter `a..=z` (`gen_range(b'a'..=b'z')`: 8-bit ranges reject by modulus).
    #[inline]
    fn letter(&mut self) -> u8 {
        const ZONE: u32 = u32::MAX - (u32::MAX - 26 + 1) % 26;
        loop {
            let m = u64::from(self.next_u32()) * 26;
            if (m as u32) <= ZONE {
                return b'a' + (m >> 32) as u8;
            }
        }
    }

    fn choose<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below_u32(items.len() as u32) as usize]
    }

    fn string(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        for _ in 0..len {
            s.push(char::from(self.letter()));
        }
        s
    }

    fn string_with_delimiter(&mut self, max: u64, delimiter: char) -> String {
        let len = 3 + self.below_u64(max - 3);
        (0..len)
            .map(|_| {
                if self.below_u32(13) == 0 {
                    delimiter
                } else {
                    char::from(self.letter())
                }
            })
            .collect()
    }

    /// Price in cents: `10^(6u) * 100` rounded, `u` uniform in `[0, 1)` (as an f32).
    fn price(&mut self) -> u64 {
        let u = (self.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32);
        round(10.0_f32.powf(u * 6.0) * 100.0)
    }

    /// The length of `extra` for an event of `current` bytes averaging `average`, then
    /// its letters: a slice of `letters` at a random offset, borrowed.
    fn extra(&mut self, current: u64, average: u64, letters: &'static str) -> Text {
        if current > average {
            return Cow::Borrowed("");
        }
        let wanted = average - current;
        let delta = (wanted + 2) / 5;
        let len = wanted - delta
            + if delta == 0 {
                0
            } else {
                self.below_u64(2 * delta)
            };
        let len = len as usize;
        if len <= letters.len() {
            let at = self.below_u64((letters.len() - len + 1) as u64) as usize;
            return Cow::Borrowed(&letters[at..at + len]);
        }
        // Longer than the buffer (averages of 64 KiB and more): the buffer, repeated.
        let at = self.below_u64(letters.len() as u64) as usize;
        letters
            .bytes()
            .cycle()
            .skip(at)
            .take(len)
            .map(char::from)
            .collect::<String>()
            .into()
    }
}

/// The channels and their URLs, and the random letters for `extra`: built once per
/// process.
struct Tables {
    channels: Vec<(String, String)>,
    hot_urls: [String; 4],
    letters: String,
}

fn base_url(seed: u64) -> String {
    let mut rng = Rng::seeded(seed);
    let id0 = rng.string_with_delimiter(5, '_');
    let id1 = rng.string_with_delimiter(5, '_');
    let id2 = rng.string_with_delimiter(5, '_');
    format!("https://www.nexmark.com/{id0}/{id1}/{id2}/item.htm?query=1")
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let channels = (0..CHANNELS)
            .map(|i| {
                let mut url = base_url(i as u64);
                if Rng::seeded(i as u64).below_u32(10) > 0 {
                    let id = i64::from((i as i32).reverse_bits()).abs();
                    url.push_str(&format!("&channel_id={id}"));
                }
                (format!("channel-{i}"), url)
            })
            .collect();
        let mut rng = Rng::seeded(0x006e_6578_6d61_726b);
        Tables {
            channels,
            hot_urls: [0, 1, 2, 3].map(base_url),
            letters: rng.string(LETTERS),
        }
    })
}

/// Computes the events of one configuration.
#[derive(Clone)]
pub struct Generator {
    config: Config,
    /// Microseconds between events, as an `f32` (as the crate computes timestamps).
    inter_event_us: f32,
    tables: &'static Tables,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Generator {
    /// A generator for `config`.
    pub fn new(config: Config) -> Generator {
        assert!(config.event_rate > 0, "the event rate must be positive");
        Generator {
            inter_event_us: 1_000_000.0 / config.event_rate as f32,
            config,
            tables: tables(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The event time of event number `n`, ms since the epoch.
    pub fn timestamp(&self, n: u64) -> u64 {
        self.config.base_time + round((n as f32 * self.inter_event_us) / 1000.0)
    }

    /// Event number `n` of the sequence.
    pub fn event(&self, n: u64) -> Event {
        let time = self.timestamp(n);
        match EventKind::of(n) {
            EventKind::Person => Event::Person(self.person(n, time)),
            EventKind::Auction => Event::Auction(self.auction(n, time)),
            EventKind::Bid => Event::Bid(self.bid(n, time)),
        }
    }

    fn person(&self, n: u64, time: u64) -> Person {
        let rng = &mut Rng::seeded(n);
        let first = rng.choose(&FIRST_NAMES);
        let name = format!("{first} {}", rng.choose(&LAST_NAMES));
        let user = rng.string(7);
        let email_address = format!("{user}@{}.com", rng.string(5));
        let mut card = [0; 4];
        card.iter_mut().for_each(|d| *d = rng.below_u32(10_000));
        let credit_card = format!(
            "{:04} {:04} {:04} {:04}",
            card[0], card[1], card[2], card[3]
        );
        let city = rng.choose(&CITIES);
        let state = rng.choose(&STATES);
        let size =
            8 + name.len() + email_address.len() + credit_card.len() + city.len() + state.len();
        let extra = rng.extra(
            size as u64,
            self.config.avg_person_byte_size,
            &self.tables.letters,
        );
        Person {
            id: person_last_id(n) + FIRST_PERSON_ID,
            name: name.into(),
            email_address: email_address.into(),
            credit_card: credit_card.into(),
            city: city.into(),
            state: state.into(),
            date_time: time,
            extra,
        }
    }

    fn auction(&self, n: u64, time: u64) -> Auction {
        let c = &self.config;
        let rng = &mut Rng::seeded(n);
        let item_name = rng.string(20);
        let description = rng.string(100);
        let initial_bid = rng.price();
        let reserve = initial_bid + rng.price();
        let events_for_auctions =
            (c.in_flight_auctions * PROPORTION_DENOMINATOR) / AUCTION_PROPORTION;
        let horizon = self.timestamp(n + events_for_auctions) - time;
        let expires = time + 1 + rng.below_u64((horizon * 2).max(1));
        let seller = if rng.below_u64(c.hot_seller_ratio) > 0 {
            (person_last_id(n) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO
        } else {
            person_next_id(n, rng, c)
        };
        let category = FIRST_CATEGORY_ID + rng.below_u64(c.num_categories);
        let extra = rng.extra(168, c.avg_auction_byte_size, &self.tables.letters);
        Auction {
            id: auction_last_id(n) + FIRST_AUCTION_ID,
            item_name: item_name.into(),
            description: description.into(),
            initial_bid,
            reserve,
            date_time: time,
            expires,
            seller: seller + FIRST_PERSON_ID,
            category,
            extra,
        }
    }

    fn bid(&self, n: u64, time: u64) -> Bid {
        let c = &self.config;
        let rng = &mut Rng::seeded(n);
        let auction = if rng.below_u64(c.hot_auction_ratio) > 0 {
            (auction_last_id(n) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO
        } else {
            auction_next_id(n, rng, c)
        };
        let bidder = if rng.below_u64(c.hot_bidder_ratio) > 0 {
            (person_last_id(n) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1
        } else {
            person_next_id(n, rng, c)
        };
        let price = rng.price();
        let (channel, url) = if rng.below_u64(c.hot_channel_ratio) > 0 {
            let i = rng.below_u64(HOT_CHANNELS.len() as u64) as usize;
            (HOT_CHANNELS[i], self.tables.hot_urls[i].as_str())
        } else {
            let (channel, url) = &self.tables.channels[rng.below_u32(CHANNELS as u32) as usize];
            (channel.as_str(), url.as_str())
        };
        let extra = rng.extra(32, c.avg_bid_byte_size, &self.tables.letters);
        Bid {
            auction: auction + FIRST_AUCTION_ID,
            bidder: bidder + FIRST_PERSON_ID,
            price,
            channel: channel.into(),
            url: url.into(),
            date_time: time,
            extra,
        }
    }
}

/// `x.round() as u64` for `0 <= x < 2^64`, without a call to libm's `roundf`: the
/// fraction `x - trunc(x)` of an `f32` is exact, and an `f32` of `2^24` or more is whole.
#[inline]
fn round(x: f32) -> u64 {
    let whole = x as u64;
    whole + u64::from(x - whole as f32 >= 0.5)
}

/// The id (from 0) of the last person created by event `n`.
fn person_last_id(n: u64) -> u64 {
    // One person per cycle: the crate's `min(n % 50, PERSON_PROPORTION - 1)` is 0.
    n / PROPORTION_DENOMINATOR * PERSON_PROPORTION
}

/// A random person id (from 0) among the active people.
fn person_next_id(n: u64, rng: &mut Rng, c: &Config) -> u64 {
    let people = person_last_id(n) + 1;
    let active = people.min(c.active_people);
    people - active + rng.below_u64(active + PERSON_ID_LEAD)
}

/// The id (from 0) of the last auction created by event `n` (an auction or a bid).
fn auction_last_id(n: u64) -> u64 {
    let mut epoch = n / PROPORTION_DENOMINATOR;
    let mut offset = n % PROPORTION_DENOMINATOR;
    if offset < PERSON_PROPORTION {
        epoch = epoch.saturating_sub(1);
        offset = AUCTION_PROPORTION - 1;
    } else if PERSON_PROPORTION + AUCTION_PROPORTION <= offset {
        offset = AUCTION_PROPORTION - 1;
    } else {
        offset -= PERSON_PROPORTION;
    }
    epoch * AUCTION_PROPORTION + offset
}

/// A random auction id (from 0) among those in flight.
fn auction_next_id(n: u64, rng: &mut Rng, c: &Config) -> u64 {
    let max = auction_last_id(n);
    let min = max.saturating_sub(c.in_flight_auctions);
    min + rng.below_u64(max - min + 1 + AUCTION_ID_LEAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_proportions() {
        let kinds: Vec<EventKind> = (0..100).map(EventKind::of).collect();
        for kind in [EventKind::Person, EventKind::Auction, EventKind::Bid] {
            let numbers: Vec<u64> = (0..100).filter(|&n| kinds[n as usize] == kind).collect();
            let nth: Vec<u64> = (0..numbers.len() as u64).map(|k| kind.nth(k)).collect();
            assert_eq!(nth, numbers, "{kind:?}");
            for n in 0..=100 {
                let below = (0..n).filter(|&m| kinds[m as usize] == kind).count() as u64;
                assert_eq!(kind.count_below(n), below, "{kind:?} below {n}");
            }
        }
        assert_eq!(EventKind::count_below(EventKind::Bid, 50), 46);
    }

    #[test]
    fn letters_are_uniform() {
        let mut rng = Rng::seeded(7);
        let mut counts = [0u32; 26];
        for _ in 0..260_000 {
            counts[usize::from(rng.letter() - b'a')] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_400..10_600).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn round_is_rounding_half_away_from_zero() {
        let mut rng = Rng::seeded(3);
        for x in [
            0.0,
            0.49999997,
            0.5,
            1.5,
            2.5,
            16_777_215.5,
            16_777_216.0,
            1e12,
            3.4e18,
        ] {
            assert_eq!(round(x), x.round() as u64, "{x}");
        }
        for _ in 0..100_000 {
            let x = f32::from_bits(rng.next_u32() & 0x5f7f_ffff);
            assert_eq!(round(x), x.round() as u64, "{x}");
        }
    }
}
