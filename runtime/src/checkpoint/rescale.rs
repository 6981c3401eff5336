//! Restoring keyed state at another number of workers.
//!
//! Keys are routed by key group ([`crate::hash::KeyGroups`]): a key's group never changes,
//! and each worker owns a contiguous range of groups. A checkpoint taken at `n` workers
//! restores at `m`: each new worker decodes the parts of the old workers whose ranges
//! overlap its own, keeps the entries of the keys it owns now ([`Rescale::retain`]), and
//! merges them ([`Rescale::merge`]); keys of different old workers never meet.
//!
//! State that is not keyed (the event times windows and timers are pending at, the last
//! window end fired) merges as the least of the old workers' values, as a worker that had
//! not got as far would have it: every key's window or timer still fires.

use std::collections::{BTreeMap, VecDeque};
use std::hash::Hash;

use crate::hash::{route_hash, StateMap};

/// Keyed operator state that a restore at another number of workers splits by key
/// group and merges; see the module docs.
pub trait Rescale: Sized {
    /// Keeps the entries of the keys whose routing hash `owns` accepts.
    fn retain(&mut self, owns: &dyn Fn(u64) -> bool);
    /// Adds the state of another old worker (other keys).
    fn merge(&mut self, other: Self);
}

impl<K: Hash + Eq, V> Rescale for StateMap<K, V> {
    fn retain(&mut self, owns: &dyn Fn(u64) -> bool) {
        std::collections::HashMap::retain(self, |k, _| owns(route_hash(k)));
    }
    fn merge(&mut self, other: Self) {
        self.extend(other);
    }
}

/// Keys by time (timers, expiry queues): the keys at each time, merged by time.
impl<K: Hash> Rescale for BTreeMap<u64, Vec<K>> {
    fn retain(&mut self, owns: &dyn Fn(u64) -> bool) {
        BTreeMap::retain(self, |_, keys| {
            keys.retain(|k| owns(route_hash(k)));
            !keys.is_empty()
        });
    }
    fn merge(&mut self, other: Self) {
        for (time, mut keys) in other {
            self.entry(time).or_default().append(&mut keys);
        }
    }
}

/// Keyed maps by time (panes by start, timers by time), merged by time.
impl<K: Hash + Eq, V> Rescale for BTreeMap<u64, StateMap<K, V>> {
    fn retain(&mut self, owns: &dyn Fn(u64) -> bool) {
        BTreeMap::retain(self, |_, map| {
            Rescale::retain(map, owns);
            !map.is_empty()
        });
    }
    fn merge(&mut self, other: Self) {
        for (time, map) in other {
            self.entry(time).or_default().extend(map);
        }
    }
}

/// Panes by end, in order.
impl<K: Hash + Eq, V> Rescale for VecDeque<(u64, StateMap<K, V>)> {
    fn retain(&mut self, owns: &dyn Fn(u64) -> bool) {
        VecDeque::retain_mut(self, |(_, map)| {
            Rescale::retain(map, owns);
            !map.is_empty()
        });
    }
    fn merge(&mut self, other: Self) {
        let mut all: BTreeMap<u64, StateMap<K, V>> = std::mem::take(self).into_iter().collect();
        Rescale::merge(&mut all, other.into_iter().collect());
        *self = all.into_iter().collect();
    }
}

/// Event times pending by time (window ends with the event time their capability is
/// at; session timers with theirs and their keys): merged by time, at the least event time.
impl Rescale for Vec<(u64, u64)> {
    fn retain(&mut self, _owns: &dyn Fn(u64) -> bool) {}
    fn merge(&mut self, other: Self) {
        let mut all: BTreeMap<u64, u64> = self.drain(..).collect();
        for (time, at) in other {
            let held = all.entry(time).or_insert(at);
            *held = (*held).min(at);
        }
        *self = all.into_iter().collect();
    }
}

impl<K: Hash> Rescale for Vec<(u64, u64, Vec<K>)> {
    fn retain(&mut self, owns: &dyn Fn(u64) -> bool) {
        Vec::retain_mut(self, |(_, _, keys)| {
            keys.retain(|k| owns(route_hash(k)));
            !keys.is_empty()
        });
    }
    fn merge(&mut self, other: Self) {
        let mut all: BTreeMap<u64, (u64, Vec<K>)> = self
            .drain(..)
            .map(|(t, at, keys)| (t, (at, keys)))
            .collect();
        for (time, at, mut keys) in other {
            let (held, all_keys) = all.entry(time).or_insert((at, Vec::new()));
            *held = (*held).min(at);
            all_keys.append(&mut keys);
        }
        *self = all
            .into_iter()
            .map(|(t, (at, keys))| (t, at, keys))
            .collect();
    }
}

/// A watermark-like value (the last window end fired): the least.
impl Rescale for u64 {
    fn retain(&mut self, _owns: &dyn Fn(u64) -> bool) {}
    fn merge(&mut self, other: Self) {
        *self = (*self).min(other);
    }
}

/// An event time a capability is held at, if any: the least.
impl Rescale for Option<u64> {
    fn retain(&mut self, _owns: &dyn Fn(u64) -> bool) {}
    fn merge(&mut self, other: Self) {
        *self = match (*self, other) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),+))+) => {$(
        impl<$($t: Rescale),+> Rescale for ($($t,)+) {
            fn retain(&mut self, owns: &dyn Fn(u64) -> bool) {
                $(self.$i.retain(owns);)+
            }
            fn merge(&mut self, other: Self) {
                $(self.$i.merge(other.$i);)+
            }
        }
    )+};
}

tuples! {
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
}

/// For windows restored at another number of workers (see `docs/checkpoints.md`): the
/// merged state fires from `least`, the least old frontier, so an old worker's part that
/// had fired up to `fired` notes in its `fired_for` how far its keys (`keys`) had; what
/// is not past `least` no longer matters.
pub fn note_fired<'a, K: Hash + Eq + Clone + 'a>(
    keys: impl Iterator<Item = &'a K>,
    fired: u64,
    least: u64,
    fired_for: &mut StateMap<K, u64>,
) {
    if fired > least {
        for key in keys {
            let at = fired_for.entry(key.clone()).or_insert(fired);
            *at = (*at).max(fired);
        }
    }
    fired_for.retain(|_, at| *at > least);
}

/// Merges the states of several old workers into one, keeping the keys `owns`
/// accepts; `None` when there is none.
pub fn merge<T: Rescale>(states: Vec<T>, owns: &dyn Fn(u64) -> bool) -> Option<T> {
    states.into_iter().fold(None, |merged, mut state| {
        state.retain(owns);
        Some(match merged {
            Some(mut merged) => {
                merged.merge(state);
                merged
            }
            None => state,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_split_by_owner_and_merge_by_time() {
        let owns = |h: u64| h.is_multiple_of(2);
        let mine = |k: &u64| owns(route_hash(k));
        let keys: Vec<u64> = (0..40).collect();
        // Two old workers' panes (by start) and pending ends.
        type State = (BTreeMap<u64, StateMap<u64, u64>>, Vec<(u64, u64)>, u64);
        let old = |ks: &[u64], fired: u64, pending: Vec<(u64, u64)>| -> State {
            let mut panes: BTreeMap<u64, StateMap<u64, u64>> = BTreeMap::new();
            for &k in ks {
                panes.entry(k % 3 * 10).or_default().insert(k, k * 100);
            }
            (panes, pending, fired)
        };
        let a = old(&keys[..20], 50, vec![(10, 4), (20, 9)]);
        let b = old(&keys[20..], 40, vec![(20, 7), (30, 8)]);
        let (panes, pending, fired) = merge(vec![a, b], &owns).unwrap();
        let kept: Vec<u64> = {
            let mut kept: Vec<u64> = panes.values().flat_map(|m| m.keys().copied()).collect();
            kept.sort();
            kept
        };
        assert_eq!(kept, keys.iter().copied().filter(mine).collect::<Vec<_>>());
        for (start, map) in &panes {
            assert!(map
                .iter()
                .all(|(k, v)| k % 3 * 10 == *start && *v == k * 100));
        }
        assert_eq!(pending, vec![(10, 4), (20, 7), (30, 8)]);
        assert_eq!(fired, 40);
    }
}
