//! The three Nexmark event types and the event that carries one of them.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// A string field of an event. The generator borrows what it takes from its process-wide
/// tables (channels, URLs, cities, the slice of random letters that `extra` is) and owns
/// what it draws letter by letter; either way it reads as a `&str`. Deserialized events
/// own all their strings.
pub type Text = Cow<'static, str>;

/// A person who sells items or bids on them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Person {
    /// Person id, unique; the first person is 1000.
    pub id: u64,
    /// First and last name, e.g. `"vicky noris"`.
    pub name: Text,
    /// E-mail address.
    pub email_address: Text,
    /// A 19-character credit card number, `"dddd dddd dddd dddd"`.
    pub credit_card: Text,
    /// One of ten US cities.
    pub city: Text,
    /// One of six US states, two letters (`"or"`, `"id"`, `"ca"`, ...).
    pub state: Text,
    /// Event time, ms since the epoch.
    pub date_time: u64,
    /// Padding that brings the event to its average size.
    pub extra: Text,
}

/// An item put up for auction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Auction {
    /// Auction id, unique; the first auction is 1000.
    pub id: u64,
    /// Item name, 20 letters.
    pub item_name: Text,
    /// Item description, 100 letters.
    pub description: Text,
    /// Opening price, in cents.
    pub initial_bid: u64,
    /// Reserve price, in cents: at least the opening price.
    pub reserve: u64,
    /// Event time, ms since the epoch.
    pub date_time: u64,
    /// When the auction closes, ms since the epoch.
    pub expires: u64,
    /// The seller's person id.
    pub seller: u64,
    /// Category id, 10 to 14.
    pub category: u64,
    /// Padding that brings the event to its average size.
    pub extra: Text,
}

/// A bid on an auction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bid {
    /// The auction's id.
    pub auction: u64,
    /// The bidder's person id.
    pub bidder: u64,
    /// Price, in cents.
    pub price: u64,
    /// The channel the bid came through (`"Google"`, `"channel-1234"`, ...).
    pub channel: Text,
    /// The URL the bid came from.
    pub url: Text,
    /// Event time, ms since the epoch.
    pub date_time: u64,
    /// Padding that brings the event to its average size.
    pub extra: Text,
}

/// One Nexmark event: a new person, a new auction or a bid.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Event {
    /// A new person.
    Person(Person),
    /// A new auction.
    Auction(Auction),
    /// A bid.
    Bid(Bid),
}

impl Event {
    /// The event time, ms since the epoch.
    #[inline]
    pub fn date_time(&self) -> u64 {
        match self {
            Event::Person(p) => p.date_time,
            Event::Auction(a) => a.date_time,
            Event::Bid(b) => b.date_time,
        }
    }

    /// The person, if this is one.
    #[inline]
    pub fn person(self) -> Option<Person> {
        match self {
            Event::Person(p) => Some(p),
            _ => None,
        }
    }

    /// The auction, if this is one.
    #[inline]
    pub fn auction(self) -> Option<Auction> {
        match self {
            Event::Auction(a) => Some(a),
            _ => None,
        }
    }

    /// The bid, if this is one.
    #[inline]
    pub fn bid(self) -> Option<Bid> {
        match self {
            Event::Bid(b) => Some(b),
            _ => None,
        }
    }
}
