//! A total order and hash for SQL values, floats included (`f64::total_cmp`, by bits),
//! as differential dataflow needs of the keys and values it arranges: [`Ordered`].

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// Values with a total order and a hash consistent with it.
pub trait Total: Clone + 'static {
    /// The order.
    fn total_cmp(&self, other: &Self) -> Ordering;
    /// A hash, equal for values equal in the order.
    fn total_hash<H: Hasher>(&self, state: &mut H);
}

macro_rules! total_ord {
    ($($t:ty),*) => {$(
        impl Total for $t {
            #[inline]
            fn total_cmp(&self, other: &Self) -> Ordering {
                self.cmp(other)
            }
            #[inline]
            fn total_hash<H: Hasher>(&self, state: &mut H) {
                self.hash(state)
            }
        }
    )*};
}
total_ord!(
    i8,
    i16,
    i32,
    i64,
    i128,
    u8,
    u16,
    u32,
    u64,
    u128,
    bool,
    String,
    ()
);

macro_rules! total_float {
    ($($t:ty),*) => {$(
        impl Total for $t {
            #[inline]
            fn total_cmp(&self, other: &Self) -> Ordering {
                <$t>::total_cmp(self, other)
            }
            #[inline]
            fn total_hash<H: Hasher>(&self, state: &mut H) {
                self.to_bits().hash(state)
            }
        }
    )*};
}
total_float!(f32, f64);

impl<T: Total> Total for Option<T> {
    fn total_cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Some(a), Some(b)) => a.total_cmp(b),
            (a, b) => a.is_some().cmp(&b.is_some()),
        }
    }
    fn total_hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Some(v) => {
                1u8.hash(state);
                v.total_hash(state);
            }
            None => 0u8.hash(state),
        }
    }
}

macro_rules! total_tuples {
    ($(($($t:ident $i:tt),+))*) => {$(
        impl<$($t: Total),+> Total for ($($t,)+) {
            fn total_cmp(&self, other: &Self) -> Ordering {
                Ordering::Equal $(.then_with(|| self.$i.total_cmp(&other.$i)))+
            }
            fn total_hash<S: Hasher>(&self, state: &mut S) {
                $(self.$i.total_hash(state);)+
            }
        }
    )*};
}
total_tuples! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11)
}

/// A value in its total order: what differential dataflow arranges.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ordered<T>(pub T);

impl<T: Total> PartialEq for Ordered<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0) == Ordering::Equal
    }
}

impl<T: Total> Eq for Ordered<T> {}

impl<T: Total> PartialOrd for Ordered<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Total> Ord for Ordered<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl<T: Total> Hash for Ordered<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.total_hash(state)
    }
}
