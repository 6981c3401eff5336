//! Key selectors: how `key_by` finds a record's key.
//!
//! A key is found either by a closure that computes it (`key_by(|r| r.user.clone())`,
//! [`KeyFn`]) or by a tuple field that is borrowed in place (`key_by(0)`, [`KeyField`]).
//! The field form allocates nothing per record, which matters for string keys: the
//! routing hash and the state lookup both borrow the key, and it is cloned only when a
//! new key enters the state.

use std::hash::Hash;

use serde::{de::DeserializeOwned, Serialize};

/// What a key must be: hashable for routing and state, cloneable into state, and able to
/// cross workers (window combiners ship partial aggregates by key).
pub trait Key: Hash + Eq + ExchangeData {}
impl<K: Hash + Eq + ExchangeData> Key for K {}

/// Finds the key of a record of type `T`.
pub trait KeySelector<T>: Clone + 'static {
    /// The key's type.
    type Key: Key;
    /// Calls `f` with a reference to the key of `record`.
    fn with_key<R>(&self, record: &T, f: impl FnOnce(&Self::Key) -> R) -> R;
    /// The routing hash of the key of `record` (see [`crate::hash`]). Keep it equal to
    /// `route_hash` of the key: window combiners route partial aggregates by the key
    /// alone, and they must reach the worker that receives the key's records.
    fn route(&self, record: &T) -> u64 {
        self.with_key(record, crate::hash::route_hash)
    }
}

/// A key computed by a closure.
#[derive(Clone)]
pub struct KeyFn<F>(pub F);

impl<T, K: Key, F: Fn(&T) -> K + Clone + 'static> KeySelector<T> for KeyFn<F> {
    type Key = K;
    #[inline]
    fn with_key<R>(&self, record: &T, f: impl FnOnce(&K) -> R) -> R {
        f(&(self.0)(record))
    }
}

/// A key borrowed from inside the record (a tuple field).
#[derive(Clone)]
pub struct KeyField<F>(pub F);

impl<T, K: Key, F: for<'a> Fn(&'a T) -> &'a K + Clone + 'static> KeySelector<T> for KeyField<F> {
    type Key = K;
    #[inline]
    fn with_key<R>(&self, record: &T, f: impl FnOnce(&K) -> R) -> R {
        f((self.0)(record))
    }
}

/// The key of a timestamped record: `S`'s key of its value.
#[derive(Clone)]
pub struct OnValue<S>(pub S);

impl<T, S: KeySelector<T>> KeySelector<crate::time::Timed<T>> for OnValue<S> {
    type Key = S::Key;
    #[inline]
    fn with_key<R>(&self, record: &crate::time::Timed<T>, f: impl FnOnce(&S::Key) -> R) -> R {
        self.0.with_key(&record.value, f)
    }
}

/// Records that can cross a worker boundary: timely serializes them with bincode.
pub trait ExchangeData: Serialize + DeserializeOwned + Send + Clone + 'static {}
impl<T: Serialize + DeserializeOwned + Send + Clone + 'static> ExchangeData for T {}
