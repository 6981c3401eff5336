//! Keyed state for process functions: [`ValueState`], [`ListState`] and [`MapState`].
//!
//! A state handle is a field of the user's process function and holds the state of every
//! key the worker owns; each access names the current key through the function's
//! [`Context`], so the state a function sees is always the current key's, as in Flink.
//!
//! ## Time-to-live
//! A state built `with_ttl(Ttl::..)` expires a key's entry after a duration without a
//! write (Flink's `StateTtlConfig` with `OnCreateAndWrite` and `NeverReturnExpired`): an
//! expired entry reads as absent, and its memory is released. Expiry is measured
//!
//! - in **event time** ([`Ttl::event_time`]): a write stamps the entry with the current
//!   event time (the record's timestamp, or the timer's time in `on_timer`; never
//!   backwards); a read at event time `t` finds it expired when `stamp + ttl <= t`, and
//!   it is released once the watermark reaches `stamp + ttl`, as a timer would clear it;
//! - in **processing time** ([`Ttl::processing_time`]): by the wall clock.
//!
//! Expired entries are released incrementally: every access first drops the entries due
//! (from a queue ordered by expiry, so the cost is proportional to what expires), so the
//! memory of a state is bounded by the keys written within one TTL. For [`MapState`] the
//! TTL applies to each map entry, as in Flink.
//!
//! ## Checkpoints
//! Handles implement serde's `Serialize` and `Deserialize` (their entries, stamps and
//! expiry queues) when their keys and values do: a process function that derives the two
//! traits is checkpointed whole (see `docs/checkpoints.md`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::hash::StateMap;
use crate::key::Key;
use crate::operators::process::Context;
use crate::time::now_ms;

/// How long state lives without a write, and by which clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ttl {
    ms: u64,
    clock: Clock,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Clock {
    Event,
    Processing,
}

impl Ttl {
    /// Expires state `ttl` of event time after its last write.
    pub fn event_time(ttl: Duration) -> Self {
        Ttl {
            ms: duration_ms(ttl),
            clock: Clock::Event,
        }
    }

    /// Expires state `ttl` of wall-clock time after its last write.
    pub fn processing_time(ttl: Duration) -> Self {
        Ttl {
            ms: duration_ms(ttl),
            clock: Clock::Processing,
        }
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A per-key slot's value: what expiry must know about it.
trait Slot {
    /// Drops parts that expired before `now` (map entries); whether anything is left.
    fn prune(&mut self, _now: u64, _ttl: u64) -> bool {
        true
    }
}

#[derive(Serialize, Deserialize)]
struct Entry<S> {
    value: S,
    /// The time of the last write (by the TTL's clock).
    stamp: u64,
}

/// The state of every key for one handle, with TTL bookkeeping.
#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Key, S: Serialize",
    deserialize = "K: Key, S: Deserialize<'de>"
))]
struct Store<K, S> {
    entries: StateMap<K, Entry<S>>,
    ttl: Option<Ttl>,
    /// Keys to check at each time; every entry is queued exactly once.
    queue: BTreeMap<u64, Vec<K>>,
    /// The first time in `queue` (`u64::MAX` when empty).
    next_due: u64,
}

impl<K: Key, S: Slot> Store<K, S> {
    fn new(ttl: Option<Ttl>) -> Self {
        Store {
            entries: StateMap::default(),
            ttl,
            queue: BTreeMap::new(),
            next_due: u64::MAX,
        }
    }

    /// The current time by the TTL's clock, for reads and writes.
    fn now(ttl: Ttl, ctx: &Context<'_, K>) -> u64 {
        match ttl.clock {
            Clock::Event => ctx.timestamp(),
            Clock::Processing => now_ms(),
        }
    }

    /// Releases entries whose expiry has passed: for event time, those the watermark has
    /// passed (no record on time can read them any more).
    fn sweep(&mut self, ctx: &Context<'_, K>) {
        let Some(ttl) = self.ttl else { return };
        let now = match ttl.clock {
            Clock::Event => ctx.frontier().saturating_sub(1),
            Clock::Processing => now_ms(),
        };
        while self.next_due <= now {
            let (_, keys) = self.queue.pop_first().expect("next_due is queued");
            for key in keys {
                let Some(entry) = self.entries.get_mut(&key) else {
                    continue;
                };
                let due = entry.stamp.saturating_add(ttl.ms);
                if due <= now || !entry.value.prune(now, ttl.ms) {
                    self.entries.remove(&key);
                } else {
                    self.queue.entry(due).or_default().push(key);
                }
            }
            self.next_due = self.queue.first_key_value().map_or(u64::MAX, |(t, _)| *t);
        }
    }

    /// The current key's value, unless absent or expired.
    fn get(&mut self, ctx: &Context<'_, K>) -> Option<&mut S> {
        self.sweep(ctx);
        let key = ctx.key();
        if let Some(ttl) = self.ttl {
            let now = Self::now(ttl, ctx);
            let expired = self
                .entries
                .get(key)
                .is_some_and(|e| e.stamp.saturating_add(ttl.ms) <= now);
            if expired {
                self.entries.remove(key);
                return None;
            }
        }
        self.entries.get_mut(key).map(|e| &mut e.value)
    }

    /// The current key's value for a write (created by `init` when absent or expired),
    /// stamped with the current time, and that time.
    fn write(&mut self, ctx: &Context<'_, K>, init: impl FnOnce() -> S) -> (&mut S, u64) {
        let live = self.get(ctx).is_some();
        let now = self.ttl.map_or(0, |ttl| Self::now(ttl, ctx));
        let key = ctx.key();
        if !live {
            self.entries.insert(
                key.clone(),
                Entry {
                    value: init(),
                    stamp: now,
                },
            );
            if let Some(ttl) = self.ttl {
                let due = now.saturating_add(ttl.ms);
                self.queue.entry(due).or_default().push(key.clone());
                self.next_due = self.next_due.min(due);
            }
        }
        let entry = self.entries.get_mut(key).expect("just inserted");
        entry.stamp = entry.stamp.max(now);
        (&mut entry.value, now)
    }

    fn remove(&mut self, ctx: &Context<'_, K>) -> Option<S> {
        let value = self.get(ctx).is_some();
        value
            .then(|| self.entries.remove(ctx.key()))
            .flatten()
            .map(|e| e.value)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// A single value per key: Flink's `ValueState<T>`.
#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Key, T: Serialize",
    deserialize = "K: Key, T: Deserialize<'de>"
))]
pub struct ValueState<K, T> {
    store: Store<K, Value<T>>,
}

#[derive(Serialize, Deserialize)]
struct Value<T>(T);
impl<T> Slot for Value<T> {}

impl<K: Key, T> ValueState<K, T> {
    /// State that lives until cleared.
    pub fn new() -> Self {
        ValueState {
            store: Store::new(None),
        }
    }

    /// State that expires `ttl` after its last write.
    pub fn with_ttl(ttl: Ttl) -> Self {
        ValueState {
            store: Store::new(Some(ttl)),
        }
    }

    /// The current key's value, if set (and not expired).
    pub fn value(&mut self, ctx: &Context<'_, K>) -> Option<&T> {
        self.store.get(ctx).map(|v| &v.0)
    }

    /// Sets the current key's value.
    pub fn update(&mut self, ctx: &Context<'_, K>, value: T) {
        let mut value = Some(value);
        let (slot, _) = self
            .store
            .write(ctx, || Value(value.take().expect("taken once")));
        if let Some(value) = value {
            slot.0 = value;
        }
    }

    /// The current key's value to change in place, set to `init()` first when absent (or
    /// expired); a write, as [`ValueState::update`] is: it restarts the value's TTL. Saves
    /// the read-clone-update round trip for values such as collections.
    pub fn get_or_insert_with(&mut self, ctx: &Context<'_, K>, init: impl FnOnce() -> T) -> &mut T {
        &mut self.store.write(ctx, || Value(init())).0 .0
    }

    /// Removes the current key's value, returning it.
    pub fn clear(&mut self, ctx: &Context<'_, K>) -> Option<T> {
        self.store.remove(ctx).map(|v| v.0)
    }

    /// Keys with an entry held in memory (expired entries count until released).
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether no key has an entry in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Key, T> Default for ValueState<K, T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A list of values per key: Flink's `ListState<T>`.
#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Key, T: Serialize",
    deserialize = "K: Key, T: Deserialize<'de>"
))]
pub struct ListState<K, T> {
    store: Store<K, List<T>>,
}

#[derive(Serialize, Deserialize)]
struct List<T>(Vec<T>);
impl<T> Slot for List<T> {}

impl<K: Key, T> ListState<K, T> {
    /// State that lives until cleared.
    pub fn new() -> Self {
        ListState {
            store: Store::new(None),
        }
    }

    /// State that expires `ttl` after the list's last write.
    pub fn with_ttl(ttl: Ttl) -> Self {
        ListState {
            store: Store::new(Some(ttl)),
        }
    }

    /// The current key's values, oldest first (empty when none).
    pub fn get(&mut self, ctx: &Context<'_, K>) -> &[T] {
        self.store.get(ctx).map_or(&[], |l| &l.0)
    }

    /// Appends a value to the current key's list.
    pub fn add(&mut self, ctx: &Context<'_, K>, value: T) {
        self.store.write(ctx, || List(Vec::new())).0 .0.push(value);
    }

    /// Replaces the current key's list.
    pub fn update(&mut self, ctx: &Context<'_, K>, values: Vec<T>) {
        if values.is_empty() {
            self.clear(ctx);
        } else {
            self.store.write(ctx, || List(Vec::new())).0 .0 = values;
        }
    }

    /// Removes the current key's list, returning it.
    pub fn clear(&mut self, ctx: &Context<'_, K>) -> Vec<T> {
        self.store.remove(ctx).map_or_else(Vec::new, |l| l.0)
    }

    /// Keys with a list held in memory.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether no key has a list in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Key, T> Default for ListState<K, T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A map per key: Flink's `MapState<UK, UV>`. With a TTL, each map entry expires on its
/// own, `ttl` after it was last written.
#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Key, MK: Serialize + std::hash::Hash + Eq, V: Serialize",
    deserialize = "K: Key, MK: Deserialize<'de> + std::hash::Hash + Eq, V: Deserialize<'de>"
))]
pub struct MapState<K, MK, V> {
    store: Store<K, Map<MK, V>>,
}

#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "MK: Serialize + std::hash::Hash + Eq, V: Serialize",
    deserialize = "MK: Deserialize<'de> + std::hash::Hash + Eq, V: Deserialize<'de>"
))]
struct Map<MK, V>(StateMap<MK, (V, u64)>);

impl<MK, V> Slot for Map<MK, V> {
    fn prune(&mut self, now: u64, ttl: u64) -> bool {
        self.0
            .retain(|_, (_, stamp)| stamp.saturating_add(ttl) > now);
        !self.0.is_empty()
    }
}

impl<K: Key, MK: std::hash::Hash + Eq, V> MapState<K, MK, V> {
    /// State that lives until cleared.
    pub fn new() -> Self {
        MapState {
            store: Store::new(None),
        }
    }

    /// State whose entries expire `ttl` after their last write.
    pub fn with_ttl(ttl: Ttl) -> Self {
        MapState {
            store: Store::new(Some(ttl)),
        }
    }

    /// The read time for entries (their own TTL), or `None` without a TTL.
    fn now(&self, ctx: &Context<'_, K>) -> Option<(u64, u64)> {
        self.store
            .ttl
            .map(|ttl| (Store::<K, Map<MK, V>>::now(ttl, ctx), ttl.ms))
    }

    /// The value of `key` in the current key's map.
    pub fn get(&mut self, ctx: &Context<'_, K>, key: &MK) -> Option<&V> {
        let now = self.now(ctx);
        let map = self.store.get(ctx)?;
        match map.0.get(key) {
            Some((_, stamp)) if now.is_some_and(|(now, ttl)| stamp.saturating_add(ttl) <= now) => {
                map.0.remove(key);
                None
            }
            _ => map.0.get(key).map(|(v, _)| v),
        }
    }

    /// Whether the current key's map has `key`.
    pub fn contains(&mut self, ctx: &Context<'_, K>, key: &MK) -> bool {
        self.get(ctx, key).is_some()
    }

    /// Sets `key` to `value` in the current key's map.
    pub fn put(&mut self, ctx: &Context<'_, K>, key: MK, value: V) {
        let (map, now) = self.store.write(ctx, || Map(StateMap::default()));
        map.0.insert(key, (value, now));
    }

    /// Removes `key` from the current key's map, returning its value.
    pub fn remove(&mut self, ctx: &Context<'_, K>, key: &MK) -> Option<V> {
        let now = self.now(ctx);
        let map = self.store.get(ctx)?;
        let (value, stamp) = map.0.remove(key)?;
        let empty = map.0.is_empty();
        if empty {
            self.store.remove(ctx);
        }
        let expired = now.is_some_and(|(now, ttl)| stamp.saturating_add(ttl) <= now);
        (!expired).then_some(value)
    }

    /// The current key's live entries, in no particular order.
    pub fn entries(&mut self, ctx: &Context<'_, K>) -> Vec<(&MK, &V)> {
        let now = self.now(ctx);
        match self.store.get(ctx) {
            None => Vec::new(),
            Some(map) => {
                if let Some((now, ttl)) = now {
                    map.prune(now, ttl);
                }
                map.0.iter().map(|(k, (v, _))| (k, v)).collect()
            }
        }
    }

    /// Whether the current key's map has no live entry.
    pub fn is_empty_for(&mut self, ctx: &Context<'_, K>) -> bool {
        self.entries(ctx).is_empty()
    }

    /// Removes the current key's map.
    pub fn clear(&mut self, ctx: &Context<'_, K>) {
        self.store.remove(ctx);
    }

    /// Keys with a map held in memory.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether no key has a map in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Key, MK: std::hash::Hash + Eq, V> Default for MapState<K, MK, V> {
    fn default() -> Self {
        Self::new()
    }
}
