//! The fixed, seeded hash that routes keys to workers.
//!
//! Every process of a job must send a key to the same worker, so routing cannot use
//! `std`'s randomly seeded `RandomState`. [`KeyHasher`] is FxHash-style (one multiply per
//! 8 bytes) with a fixed seed, finished by murmur3's `fmix64` so that every output bit
//! depends on every input bit: keys that are multiples of 100 or strings of equal length
//! still spread evenly over the [`KeyGroups`] (picked by the high bits), and so over the
//! workers that own them.
//!
//! The same hasher backs the keyed state maps ([`StateMap`]): it is fast, and keys
//! come from the job's own data.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// The seed of the routing hash. Changing it changes which worker owns which key.
pub const ROUTING_SEED: u64 = 0x7469_6465_6d69_6c6c; // "tidemill"

const MULTIPLIER: u64 = 0xf135_7aea_2e62_a9c5;

/// A fast, deterministic hasher: the same input gives the same hash in every process.
#[derive(Clone, Copy, Debug)]
pub struct KeyHasher {
    state: u64,
}

impl Default for KeyHasher {
    fn default() -> Self {
        KeyHasher {
            state: ROUTING_SEED,
        }
    }
}

impl KeyHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.state = (self.state ^ word).wrapping_mul(MULTIPLIER).rotate_left(26);
    }
}

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(
                chunk.try_into().expect("chunks_exact(8)"),
            ));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
        // The length keeps "ab" + "c" apart from "a" + "bc".
        self.add(bytes.len() as u64);
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        fmix64(self.state)
    }
}

/// murmur3's 64-bit finalizer: every output bit depends on every input bit.
#[inline]
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The routing hash of a key: equal keys give equal hashes in every process.
#[inline]
pub fn route_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut hasher = KeyHasher::default();
    key.hash(&mut hasher);
    hasher.finish()
}

/// A hash map keyed by the job's keys, with the fast [`KeyHasher`].
pub type StateMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// The number of key groups when `--max-parallelism` is not given (Flink's default is
/// 128 too, for jobs of up to 128 workers).
pub const DEFAULT_MAX_PARALLELISM: usize = 128;

thread_local! {
    /// The key groups of the job whose dataflow is being built on this thread.
    static MAX_PARALLELISM: std::cell::Cell<usize> =
        const { std::cell::Cell::new(DEFAULT_MAX_PARALLELISM) };
}

/// Sets the number of key groups for the dataflows built on this thread (the job does,
/// before it builds each worker's dataflow).
pub fn set_max_parallelism(groups: usize) {
    MAX_PARALLELISM.with(|m| m.set(groups.max(1)));
}

/// The number of key groups of the dataflow being built on this thread.
pub fn max_parallelism() -> usize {
    MAX_PARALLELISM.with(std::cell::Cell::get)
}

/// Key groups (Flink's): a key's routing hash picks one of a fixed number of groups
/// (`--max-parallelism`), and each worker owns a contiguous range of groups. A key's
/// group never changes, so a checkpoint taken at one number of workers restores at
/// another: each worker takes the keys of its groups from the parts of the workers that
/// owned them (see `docs/checkpoints.md`).
#[derive(Clone, Debug)]
pub struct KeyGroups {
    groups: u64,
    /// The worker that owns each group.
    owners: std::rc::Rc<[u32]>,
}

impl KeyGroups {
    /// `groups` key groups over `peers` workers: group `g` belongs to worker
    /// `g * peers / groups` (Flink's assignment), so each owns a contiguous range.
    pub fn new(groups: usize, peers: usize) -> Self {
        let (groups, peers) = (groups.max(1), peers.max(1));
        let owners = (0..groups).map(|g| (g * peers / groups) as u32).collect();
        KeyGroups {
            groups: groups as u64,
            owners,
        }
    }

    /// The key groups of the dataflow being built on this thread, over `peers` workers.
    pub fn current(peers: usize) -> Self {
        Self::new(max_parallelism(), peers)
    }

    /// The group of a key with routing hash `hash` (a multiply, no division: the high
    /// bits of `hash * groups`).
    #[inline]
    pub fn group(&self, hash: u64) -> usize {
        ((u128::from(hash) * u128::from(self.groups)) >> 64) as usize
    }

    /// The worker that owns the key with routing hash `hash`: what an exchange routes by.
    #[inline]
    pub fn worker(&self, hash: u64) -> u64 {
        u64::from(self.owners[self.group(hash)])
    }

    /// What an exchange routes a record by: the worker owning the group of the record's
    /// routing hash (`hash`), for a dataflow of `peers` workers.
    pub fn router<T>(
        peers: usize,
        hash: impl Fn(&T) -> u64 + 'static,
    ) -> impl Fn(&T) -> u64 + 'static {
        let groups = Self::current(peers);
        move |record| groups.worker(hash(record))
    }

    /// The groups worker `index` owns.
    pub fn range(&self, index: usize) -> std::ops::Range<usize> {
        let start = self.owners.partition_point(|&w| (w as usize) < index);
        let end = self.owners.partition_point(|&w| (w as usize) <= index);
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_fixed_across_runs() {
        // A value computed once: if this changes, keys move between workers across versions.
        assert_eq!(route_hash(&42u64), route_hash(&42u64));
        assert_ne!(route_hash("ab"), route_hash("ba"));
        assert_ne!(route_hash(&("ab", "c")), route_hash(&("a", "bc")));
    }

    #[test]
    fn key_groups_are_contiguous_ranges_that_cover_every_group() {
        for (groups, peers) in [(128, 1), (128, 2), (128, 3), (128, 4), (7, 7), (10, 4)] {
            let kg = KeyGroups::new(groups, peers);
            let mut next = 0;
            for w in 0..peers {
                let range = kg.range(w);
                assert_eq!(range.start, next, "{groups} groups over {peers}");
                assert!(!range.is_empty(), "worker {w} of {peers} owns no group");
                next = range.end;
            }
            assert_eq!(next, groups);
            for k in 0..1000u64 {
                let hash = route_hash(&k);
                let w = kg.worker(hash) as usize;
                assert!(kg.range(w).contains(&kg.group(hash)));
            }
        }
    }

    #[test]
    fn a_key_keeps_its_group_at_any_number_of_workers() {
        // A key moves only between the owners of its group: what a restore relies on.
        let (two, four) = (KeyGroups::new(128, 2), KeyGroups::new(128, 4));
        for k in 0..1000u64 {
            let hash = route_hash(&k);
            assert_eq!(two.group(hash), four.group(hash));
            assert_eq!(two.worker(hash), four.worker(hash) / 2);
        }
    }

    #[test]
    fn multiples_of_100_spread_over_workers() {
        // Hot Nexmark auctions are multiples of 100; a low-bit router would put them all on worker 0.
        for peers in [2u64, 4, 16] {
            let mut per_worker = vec![0u32; peers as usize];
            let groups = KeyGroups::new(DEFAULT_MAX_PARALLELISM, peers as usize);
            for k in 0..10_000u64 {
                per_worker[groups.worker(route_hash(&(k * 100))) as usize] += 1;
            }
            let expected = 10_000 / peers as u32;
            for (w, n) in per_worker.iter().enumerate() {
                assert!(
                    n.abs_diff(expected) < expected / 5,
                    "worker {w} of {peers} got {n} keys, expected about {expected}"
                );
            }
        }
    }
}
