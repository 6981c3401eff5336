//! Keyed state for process functions: [`ValueState`], [`ListState`] and [`MapState`].
//!
//! A state handle is a field of the user's process function and holds the state of every
//! key the worker owns; each access names the current key through the function's
//! [`Context`](crate::operators::process::Context), so the state a function sees is always the current key's, as in Flink.
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
use crate::time::now_ms;

/// What state handles read of a process function's context: the current key, and the
/// times by which state with a TTL expires. The process function's `Context`
/// (`operators::process::Context`) implements it; state handles take it, so the state
/// they act on is always the current key's.
pub trait KeyContext<K> {
    /// The key of the record or timer being handled.
    fn key(&self) -> &K;
    /// The current event time.
    fn timestamp(&self) -> u64;
    /// The operator's input frontier: the watermark + 1 (`u64::MAX` once the input has
    /// ended).
    fn frontier(&self) -> u64;
}

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
    deserialize = "K: Key, S: Deserialize<'de> + 'static"
))]
#[serde(from = "Decoded<K, S>")]
struct Store<K, S> {
    entries: StateMap<K, Entry<S>>,
    ttl: Option<Ttl>,
    /// Keys to check at each time; every entry is queued exactly once.
    queue: BTreeMap<u64, Vec<K>>,
    /// The first time in `queue` (`u64::MAX` when empty).
    next_due: u64,
}

/// A [`Store`] as decoded, before a restore at another number of workers sorts its keys
/// out (see [`rescaled`]); the same fields.
#[derive(Deserialize)]
#[serde(bound(deserialize = "K: Key, S: Deserialize<'de>"))]
struct Decoded<K, S> {
    entries: StateMap<K, Entry<S>>,
    ttl: Option<Ttl>,
    queue: BTreeMap<u64, Vec<K>>,
    next_due: u64,
}

impl<K: Key, S: 'static> From<Decoded<K, S>> for Store<K, S> {
    fn from(d: Decoded<K, S>) -> Self {
        let store = Store {
            entries: d.entries,
            ttl: d.ttl,
            queue: d.queue,
            next_due: d.next_due,
        };
        RESCALING.with(|r| match r.borrow_mut().as_mut() {
            Some(rescaling) => rescaling.take(store),
            None => store,
        })
    }
}

impl<K: Key, S> Store<K, S> {
    /// Keeps the keys whose routing hash `owns` accepts (a restore at another number of
    /// workers).
    fn retain_keys(&mut self, owns: &dyn Fn(u64) -> bool) {
        use crate::checkpoint::rescale::Rescale;
        Rescale::retain(&mut self.entries, owns);
        Rescale::retain(&mut self.queue, owns);
        self.next_due = self.queue.first_key_value().map_or(u64::MAX, |(t, _)| *t);
    }

    /// Adds `other`'s entries (another old worker's: other keys).
    fn absorb(&mut self, other: Store<K, S>) {
        use crate::checkpoint::rescale::Rescale;
        Rescale::merge(&mut self.entries, other.entries);
        Rescale::merge(&mut self.queue, other.queue);
        self.next_due = self.queue.first_key_value().map_or(u64::MAX, |(t, _)| *t);
    }
}

thread_local! {
    /// Set while a process function is restored at another number of workers.
    static RESCALING: std::cell::RefCell<Option<Rescaling>> = const { std::cell::RefCell::new(None) };
}

/// A restore of state handles at another number of workers (see [`rescaled`]).
struct Rescaling {
    owns: Box<dyn Fn(u64) -> bool>,
    /// The stores decoded from the old workers' parts so far, by their place in the
    /// function (the order serde decodes them in).
    slots: Vec<Vec<Box<dyn std::any::Any>>>,
    /// The place of the next store decoded.
    at: usize,
    /// Whether the last part is being decoded: its stores take in the others'.
    merging: bool,
}

impl Rescaling {
    fn take<K: Key, S: 'static>(&mut self, mut store: Store<K, S>) -> Store<K, S> {
        let at = self.at;
        self.at += 1;
        if self.slots.len() <= at {
            self.slots.resize_with(at + 1, Vec::new);
        }
        store.retain_keys(&*self.owns);
        if !self.merging {
            self.slots[at].push(Box::new(store));
            return Store {
                entries: StateMap::default(),
                ttl: None,
                queue: BTreeMap::new(),
                next_due: u64::MAX,
            };
        }
        for other in std::mem::take(&mut self.slots[at]) {
            match other.downcast::<Store<K, S>>() {
                Ok(other) => store.absorb(*other),
                Err(_) => self.slots.clear(), // not the same function: `rescaled` fails
            }
        }
        store
    }
}

/// Restores a process function from the parts of several old workers (a restore at
/// another number of workers): `load` decodes each; the state handles of the last one
/// take in the entries of the keys `owns` accepts from all of them. The function's
/// other fields come from the last part.
pub(crate) fn rescaled<F>(
    parts: &[&[u8]],
    owns: Box<dyn Fn(u64) -> bool>,
    load: impl Fn(&[u8]) -> crate::Result<F>,
) -> crate::Result<Option<F>> {
    let Some((last, others)) = parts.split_last() else {
        return Ok(None);
    };
    RESCALING.with(|r| {
        *r.borrow_mut() = Some(Rescaling {
            owns,
            slots: Vec::new(),
            at: 0,
            merging: false,
        })
    });
    let result = (|| {
        let mut places = None;
        for part in others {
            drop(load(part)?);
            let at = RESCALING.with(|r| {
                let mut r = r.borrow_mut();
                let r = r.as_mut().expect("set above");
                std::mem::replace(&mut r.at, 0)
            });
            if places.is_some_and(|p| p != at) {
                return Err(crate::Error::Config(
                    "checkpoint: the old workers' process functions hold different numbers of state handles; they cannot be merged".into(),
                ));
            }
            places = Some(at);
        }
        RESCALING.with(|r| r.borrow_mut().as_mut().expect("set above").merging = true);
        let f = load(last)?;
        let left = RESCALING.with(|r| {
            let r = r.borrow();
            let r = r.as_ref().expect("set above");
            r.slots.iter().any(|s| !s.is_empty()) || places.is_some_and(|p| p != r.at)
        });
        if left {
            return Err(crate::Error::Config(
                "checkpoint: the old workers' process functions hold different state handles; they cannot be merged".into(),
            ));
        }
        Ok(Some(f))
    })();
    RESCALING.with(|r| r.borrow_mut().take());
    result
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
    fn now(ttl: Ttl, ctx: &impl KeyContext<K>) -> u64 {
        match ttl.clock {
            Clock::Event => ctx.timestamp(),
            Clock::Processing => now_ms(),
        }
    }

    /// Releases entries whose expiry has passed: for event time, those the watermark has
    /// passed (no record on time can read them any more).
    fn sweep(&mut self, ctx: &impl KeyContext<K>) {
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
    fn get(&mut self, ctx: &impl KeyContext<K>) -> Option<&mut S> {
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
    fn write(&mut self, ctx: &impl KeyContext<K>, init: impl FnOnce() -> S) -> (&mut S, u64) {
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

    fn remove(&mut self, ctx: &impl KeyContext<K>) -> Option<S> {
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
    deserialize = "K: Key, T: Deserialize<'de> + 'static"
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
    pub fn value(&mut self, ctx: &impl KeyContext<K>) -> Option<&T> {
        self.store.get(ctx).map(|v| &v.0)
    }

    /// Sets the current key's value.
    pub fn update(&mut self, ctx: &impl KeyContext<K>, value: T) {
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
    pub fn get_or_insert_with(
        &mut self,
        ctx: &impl KeyContext<K>,
        init: impl FnOnce() -> T,
    ) -> &mut T {
        &mut self.store.write(ctx, || Value(init())).0 .0
    }

    /// Removes the current key's value, returning it.
    pub fn clear(&mut self, ctx: &impl KeyContext<K>) -> Option<T> {
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
    deserialize = "K: Key, T: Deserialize<'de> + 'static"
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
    pub fn get(&mut self, ctx: &impl KeyContext<K>) -> &[T] {
        self.store.get(ctx).map_or(&[], |l| &l.0)
    }

    /// Appends a value to the current key's list.
    pub fn add(&mut self, ctx: &impl KeyContext<K>, value: T) {
        self.store.write(ctx, || List(Vec::new())).0 .0.push(value);
    }

    /// Replaces the current key's list.
    pub fn update(&mut self, ctx: &impl KeyContext<K>, values: Vec<T>) {
        if values.is_empty() {
            self.clear(ctx);
        } else {
            self.store.write(ctx, || List(Vec::new())).0 .0 = values;
        }
    }

    /// Removes the current key's list, returning it.
    pub fn clear(&mut self, ctx: &impl KeyContext<K>) -> Vec<T> {
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
    deserialize = "K: Key, MK: Deserialize<'de> + std::hash::Hash + Eq + 'static, V: Deserialize<'de> + 'static"
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
    fn now(&self, ctx: &impl KeyContext<K>) -> Option<(u64, u64)> {
        self.store
            .ttl
            .map(|ttl| (Store::<K, Map<MK, V>>::now(ttl, ctx), ttl.ms))
    }

    /// The value of `key` in the current key's map.
    pub fn get(&mut self, ctx: &impl KeyContext<K>, key: &MK) -> Option<&V> {
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
    pub fn contains(&mut self, ctx: &impl KeyContext<K>, key: &MK) -> bool {
        self.get(ctx, key).is_some()
    }

    /// Sets `key` to `value` in the current key's map.
    pub fn put(&mut self, ctx: &impl KeyContext<K>, key: MK, value: V) {
        let (map, now) = self.store.write(ctx, || Map(StateMap::default()));
        map.0.insert(key, (value, now));
    }

    /// Removes `key` from the current key's map, returning its value.
    pub fn remove(&mut self, ctx: &impl KeyContext<K>, key: &MK) -> Option<V> {
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
    pub fn entries(&mut self, ctx: &impl KeyContext<K>) -> Vec<(&MK, &V)> {
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
    pub fn is_empty_for(&mut self, ctx: &impl KeyContext<K>) -> bool {
        self.entries(ctx).is_empty()
    }

    /// Removes the current key's map.
    pub fn clear(&mut self, ctx: &impl KeyContext<K>) {
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
