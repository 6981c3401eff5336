//! SQL's aggregate functions: `COUNT(*)`, `COUNT(x)`, `COUNT(DISTINCT x)`, `SUM`, `MIN`,
//! `MAX` and `AVG`, each a [`Fold`] of its argument's values, and a query's functions
//! together a tuple of folds over the tuple of their arguments. The same folds serve
//! windows ([`Aggregates`], a window [`Aggregator`]: one accumulator per window, never
//! its records) and updating queries ([`super::changelog`], which folds each key's
//! distinct values with their multiplicities).
//!
//! As in Flink: NULL values are skipped; `SUM`, `MIN`, `MAX` and `AVG` keep the
//! argument's type (`AVG` of integers is an integer) and are NULL when every value was
//! NULL; `COUNT` is a `BIGINT` (`i64`).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeSet;

use crate::aggregate::Aggregator;
use crate::key::ExchangeData;

use super::ops::Arith;
use super::value::{Compare, Nullness, Value, Wrap};

/// An aggregate function folding values `V` (its argument) into an accumulator.
pub trait Fold<V>: 'static {
    /// The function's state.
    type Acc: ExchangeData;
    /// The function's result.
    type Out: 'static;
    /// An empty state.
    fn init(&self) -> Self::Acc;
    /// Folds in `value`, `times` times (a record's multiplicity).
    fn add(&self, acc: &mut Self::Acc, value: &V, times: i64);
    /// Folds in another state (panes, partial aggregates of other workers).
    fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc);
    /// The result over at least one value.
    fn finish(&self, acc: &Self::Acc) -> Self::Out;
}

/// A query's aggregate functions over windows: records `(key, arguments)` folded by
/// the tuple of functions `A`, whose result is the tuple of their results.
#[derive(Clone, Copy, Debug)]
pub struct Aggregates<A>(pub A);

impl<K, V, A: Fold<V>> Aggregator<(K, V)> for Aggregates<A> {
    type Acc = A::Acc;
    type Out = A::Out;
    #[inline]
    fn init(&self) -> A::Acc {
        self.0.init()
    }
    #[inline]
    fn add(&self, acc: &mut A::Acc, record: (K, V)) {
        self.0.add(acc, &record.1, 1)
    }
    #[inline]
    fn merge(&self, acc: &mut A::Acc, other: &A::Acc) {
        self.0.merge(acc, other)
    }
    #[inline]
    fn finish(&self, acc: &A::Acc) -> A::Out {
        self.0.finish(acc)
    }
}

/// No aggregate functions (a grouping that only names its keys).
impl<V> Fold<V> for () {
    type Acc = ();
    type Out = ();
    fn init(&self) {}
    fn add(&self, _: &mut (), _: &V, _: i64) {}
    fn merge(&self, _: &mut (), _: &()) {}
    fn finish(&self, _: &()) {}
}

macro_rules! tuples {
    ($(($($a:ident $v:ident $i:tt),+))*) => {$(
        impl<$($v,)+ $($a: Fold<$v>),+> Fold<($($v,)+)> for ($($a,)+) {
            type Acc = ($($a::Acc,)+);
            type Out = ($($a::Out,)+);
            #[inline]
            fn init(&self) -> Self::Acc {
                ($(self.$i.init(),)+)
            }
            #[inline]
            fn add(&self, acc: &mut Self::Acc, value: &($($v,)+), times: i64) {
                $(self.$i.add(&mut acc.$i, &value.$i, times);)+
            }
            #[inline]
            fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc) {
                $(self.$i.merge(&mut acc.$i, &other.$i);)+
            }
            #[inline]
            fn finish(&self, acc: &Self::Acc) -> Self::Out {
                ($(self.$i.finish(&acc.$i),)+)
            }
        }
    )*};
}
tuples! {
    (A0 V0 0)
    (A0 V0 0, A1 V1 1)
    (A0 V0 0, A1 V1 1, A2 V2 2)
    (A0 V0 0, A1 V1 1, A2 V2 2, A3 V3 3)
    (A0 V0 0, A1 V1 1, A2 V2 2, A3 V3 3, A4 V4 4)
    (A0 V0 0, A1 V1 1, A2 V2 2, A3 V3 3, A4 V4 4, A5 V5 5)
    (A0 V0 0, A1 V1 1, A2 V2 2, A3 V3 3, A4 V4 4, A5 V5 5, A6 V6 6)
    (A0 V0 0, A1 V1 1, A2 V2 2, A3 V3 3, A4 V4 4, A5 V5 5, A6 V6 6, A7 V7 7)
    (A0 V0 0, A1 V1 1, A2 V2 2, A3 V3 3, A4 V4 4, A5 V5 5, A6 V6 6, A7 V7 7, A8 V8 8)
    (A0 V0 0, A1 V1 1, A2 V2 2, A3 V3 3, A4 V4 4, A5 V5 5, A6 V6 6, A7 V7 7, A8 V8 8, A9 V9 9)
    (A0 V0 0, A1 V1 1, A2 V2 2, A3 V3 3, A4 V4 4, A5 V5 5, A6 V6 6, A7 V7 7, A8 V8 8, A9 V9 9, A10 V10 10)
    (A0 V0 0, A1 V1 1, A2 V2 2, A3 V3 3, A4 V4 4, A5 V5 5, A6 V6 6, A7 V7 7, A8 V8 8, A9 V9 9, A10 V10 10, A11 V11 11)
}

/// `COUNT(*)`: the rows (its argument is `()`).
#[derive(Clone, Copy, Debug)]
pub struct CountStar;

impl<V> Fold<V> for CountStar {
    type Acc = i64;
    type Out = i64;
    fn init(&self) -> i64 {
        0
    }
    #[inline]
    fn add(&self, acc: &mut i64, _: &V, times: i64) {
        *acc += times;
    }
    fn merge(&self, acc: &mut i64, other: &i64) {
        *acc += other;
    }
    fn finish(&self, acc: &i64) -> i64 {
        *acc
    }
}

/// `COUNT(x)`: the rows where `x` is not NULL.
#[derive(Clone, Copy, Debug)]
pub struct Count;

impl<V: Value> Fold<V> for Count {
    type Acc = i64;
    type Out = i64;
    fn init(&self) -> i64 {
        0
    }
    #[inline]
    fn add(&self, acc: &mut i64, value: &V, times: i64) {
        if value.get().is_some() {
            *acc += times;
        }
    }
    fn merge(&self, acc: &mut i64, other: &i64) {
        *acc += other;
    }
    fn finish(&self, acc: &i64) -> i64 {
        *acc
    }
}

/// `COUNT(DISTINCT x)`: the distinct values of `x` that are not NULL. Its state is the
/// set of values, so it is as large as they are many.
#[derive(Clone, Copy, Debug)]
pub struct CountDistinct;

impl<V> Fold<V> for CountDistinct
where
    V: Value,
    <V::Base as ToOwned>::Owned: Ord + ExchangeData,
{
    type Acc = BTreeSet<<V::Base as ToOwned>::Owned>;
    type Out = i64;
    fn init(&self) -> Self::Acc {
        BTreeSet::new()
    }
    #[inline]
    fn add(&self, acc: &mut Self::Acc, value: &V, times: i64) {
        if let (Some(v), true) = (value.get(), times > 0) {
            acc.insert(v.to_owned());
        }
    }
    fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc) {
        acc.extend(other.iter().cloned());
    }
    fn finish(&self, acc: &Self::Acc) -> i64 {
        acc.len() as i64
    }
}

/// A count as a value of a numeric type, to multiply and divide by.
pub trait FromCount {
    /// `n` in this type.
    fn from_count(n: i64) -> Self;
}

macro_rules! from_count {
    ($($t:ty),*) => {$(
        impl FromCount for $t {
            #[inline]
            fn from_count(n: i64) -> $t {
                n as $t
            }
        }
    )*};
}
from_count!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// `v` added `times` times to `sum`.
#[inline]
fn add_times<B: Copy + Arith<B, Out = B> + FromCount>(sum: Option<B>, v: B, times: i64) -> B {
    let v = if times == 1 {
        v
    } else {
        v.mul(&B::from_count(times))
    };
    match sum {
        Some(sum) => sum.add(&v),
        None => v,
    }
}

/// `SUM(x)`: the sum of the values that are not NULL, in `x`'s type.
#[derive(Clone, Copy, Debug)]
pub struct Sum;

impl<V> Fold<V> for Sum
where
    V: Value,
    V::Base: Copy + Arith<V::Base, Out = V::Base> + FromCount + ExchangeData,
    Wrap<V::Null, V::Base>: 'static,
{
    type Acc = Option<V::Base>;
    type Out = Wrap<V::Null, V::Base>;
    fn init(&self) -> Self::Acc {
        None
    }
    #[inline]
    fn add(&self, acc: &mut Self::Acc, value: &V, times: i64) {
        if let Some(v) = value.get() {
            *acc = Some(add_times(*acc, *v, times));
        }
    }
    fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc) {
        if let Some(v) = other {
            *acc = Some(add_times(*acc, *v, 1));
        }
    }
    fn finish(&self, acc: &Self::Acc) -> Self::Out {
        V::Null::wrap(*acc)
    }
}

/// `AVG(x)`: the mean of the values that are not NULL, in `x`'s type (integer division
/// for integers, as in Flink).
#[derive(Clone, Copy, Debug)]
pub struct Avg;

impl<V> Fold<V> for Avg
where
    V: Value,
    V::Base: Copy + Arith<V::Base, Out = V::Base> + FromCount + ExchangeData,
    Wrap<V::Null, V::Base>: 'static,
{
    type Acc = (Option<V::Base>, i64);
    type Out = Wrap<V::Null, V::Base>;
    fn init(&self) -> Self::Acc {
        (None, 0)
    }
    #[inline]
    fn add(&self, acc: &mut Self::Acc, value: &V, times: i64) {
        if let Some(v) = value.get() {
            acc.0 = Some(add_times(acc.0, *v, times));
            acc.1 += times;
        }
    }
    fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc) {
        if let Some(v) = other.0 {
            acc.0 = Some(add_times(acc.0, v, 1));
            acc.1 += other.1;
        }
    }
    fn finish(&self, acc: &Self::Acc) -> Self::Out {
        V::Null::wrap(acc.0.map(|sum| sum.div(&V::Base::from_count(acc.1))))
    }
}

/// `MIN(x)`.
#[derive(Clone, Copy, Debug)]
pub struct Min;

/// `MAX(x)`.
#[derive(Clone, Copy, Debug)]
pub struct Max;

/// Keeps in `acc` the value that compares as `keep` to the others.
fn offer<B, O>(acc: &mut Option<O>, value: &B, keep: Ordering)
where
    B: ?Sized + ToOwned<Owned = O> + Compare<B>,
    O: Borrow<B>,
{
    let replace = match acc {
        Some(kept) => value.compare((*kept).borrow()) == Some(keep),
        None => true,
    };
    if replace {
        *acc = Some(value.to_owned());
    }
}

macro_rules! extreme {
    ($($name:ident: $keep:expr),*) => {$(
        impl<V> Fold<V> for $name
        where
            V: Value,
            V::Base: Compare<V::Base>,
            <V::Base as ToOwned>::Owned: ExchangeData,
            Wrap<V::Null, <V::Base as ToOwned>::Owned>: 'static,
        {
            type Acc = Option<<V::Base as ToOwned>::Owned>;
            type Out = Wrap<V::Null, <V::Base as ToOwned>::Owned>;
            fn init(&self) -> Self::Acc {
                None
            }
            #[inline]
            fn add(&self, acc: &mut Self::Acc, value: &V, times: i64) {
                if let (Some(v), true) = (value.get(), times > 0) {
                    offer(acc, v, $keep);
                }
            }
            fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc) {
                if let Some(v) = other {
                    offer(acc, v.borrow(), $keep);
                }
            }
            fn finish(&self, acc: &Self::Acc) -> Self::Out {
                V::Null::wrap(acc.clone())
            }
        }
    )*};
}
extreme!(Min: Ordering::Less, Max: Ordering::Greater);

#[cfg(test)]
mod tests {
    use super::*;

    /// A query's arguments: `COUNT(*)`, `COUNT(extra)`, `COUNT(DISTINCT bidder)`,
    /// `SUM(price)`, `AVG(price)`, `SUM(extra)`, `MIN(bidder)`, `MAX(extra)`.
    type Args = (
        (),
        Option<i32>,
        String,
        i64,
        i64,
        Option<i32>,
        String,
        Option<i32>,
    );

    fn args(price: i64, extra: Option<i32>, bidder: &str) -> Args {
        let bidder = bidder.to_string();
        (
            (),
            extra,
            bidder.clone(),
            price,
            price,
            extra,
            bidder,
            extra,
        )
    }

    /// Folds the values in two halves and merges them, as panes and partial aggregates
    /// of other workers are.
    fn folded<V, A: Fold<V>>(fold: &A, values: &[(V, i64)]) -> A::Out {
        let (left, right) = values.split_at(values.len() / 2);
        let (mut acc, mut other) = (fold.init(), fold.init());
        for (v, n) in left {
            fold.add(&mut acc, v, *n);
        }
        for (v, n) in right {
            fold.add(&mut other, v, *n);
        }
        fold.merge(&mut acc, &other);
        fold.finish(&acc)
    }

    #[test]
    fn aggregates_skip_nulls_keep_their_types_and_merge() {
        let fold = (CountStar, Count, CountDistinct, Sum, Avg, Sum, Min, Max);
        let rows = [
            (args(5, Some(3), "b"), 1),
            (args(7, None, "a"), 1),
            (args(-2, Some(4), "b"), 1),
            (args(9, None, "c"), 1),
        ];
        assert_eq!(
            folded(&fold, &rows),
            (
                4,
                2,
                3,
                19i64,
                4i64,
                Some(7i32),
                "a".to_string(),
                Some(4i32)
            )
        );
        let nulls = [((None::<i32>, None::<i32>, None::<i32>), 1)];
        assert_eq!(folded(&(Sum, Max, Avg), &nulls), (None, None, None));
    }

    #[test]
    fn multiplicities_weigh_values() {
        let values = [(((), 10i64, 10i64, 1u8), 3), (((), 4i64, 4i64, 1u8), 1)];
        let fold = (CountStar, Sum, Avg, CountDistinct);
        assert_eq!(folded(&fold, &values), (4, 34, 8, 1));
    }

    #[test]
    fn a_window_aggregator_folds_the_arguments_of_its_records() {
        let agg = Aggregates((CountStar, Max));
        let mut acc = Aggregator::<(u8, ((), i64))>::init(&agg);
        Aggregator::<(u8, ((), i64))>::add(&agg, &mut acc, (1, ((), 5)));
        Aggregator::<(u8, ((), i64))>::add(&agg, &mut acc, (1, ((), 9)));
        assert_eq!(Aggregator::<(u8, ((), i64))>::finish(&agg, &acc), (2, 9));
    }
}
