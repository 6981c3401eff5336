//! SQL's aggregate functions for windows (`GROUP BY window_start, window_end, ..` over a
//! window table-valued function): `COUNT(*)`, `COUNT(x)`, `COUNT(DISTINCT x)`, `SUM`,
//! `MIN`, `MAX` and `AVG`, each a [`SqlAggregate`] over the records, and a query's
//! aggregates together one [`Aggregator`] ([`Aggregates`] of a tuple), so a window
//! holds one accumulator per function, never its records.
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

/// One aggregate function over records `T`, as [`Aggregator`] but reading each record by
/// reference, so that a query's functions share it.
pub trait SqlAggregate<T>: 'static {
    /// The function's state in one window.
    type Acc: ExchangeData;
    /// The function's result.
    type Out: 'static;
    /// An empty state.
    fn init(&self) -> Self::Acc;
    /// Folds in a record.
    fn add(&self, acc: &mut Self::Acc, record: &T);
    /// Folds in another state (panes, partial aggregates of other workers).
    fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc);
    /// The result over at least one record.
    fn finish(&self, acc: &Self::Acc) -> Self::Out;
}

/// A query's aggregate functions, a tuple of them, as one window [`Aggregator`] whose
/// result is the tuple of their results.
#[derive(Clone, Copy, Debug)]
pub struct Aggregates<A>(pub A);

impl<T, A: SqlAggregate<T>> Aggregator<T> for Aggregates<A> {
    type Acc = A::Acc;
    type Out = A::Out;
    #[inline]
    fn init(&self) -> A::Acc {
        self.0.init()
    }
    #[inline]
    fn add(&self, acc: &mut A::Acc, record: T) {
        self.0.add(acc, &record)
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

macro_rules! tuples {
    ($(($($a:ident $i:tt),+))*) => {$(
        impl<T, $($a: SqlAggregate<T>),+> SqlAggregate<T> for ($($a,)+) {
            type Acc = ($($a::Acc,)+);
            type Out = ($($a::Out,)+);
            #[inline]
            fn init(&self) -> Self::Acc {
                ($(self.$i.init(),)+)
            }
            #[inline]
            fn add(&self, acc: &mut Self::Acc, record: &T) {
                $(self.$i.add(&mut acc.$i, record);)+
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
    (A0 0)
    (A0 0, A1 1)
    (A0 0, A1 1, A2 2)
    (A0 0, A1 1, A2 2, A3 3)
    (A0 0, A1 1, A2 2, A3 3, A4 4)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10)
    (A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11)
}

/// `COUNT(*)`: the rows.
#[derive(Clone, Copy, Debug)]
pub struct CountStar;

impl<T> SqlAggregate<T> for CountStar {
    type Acc = i64;
    type Out = i64;
    fn init(&self) -> i64 {
        0
    }
    #[inline]
    fn add(&self, acc: &mut i64, _: &T) {
        *acc += 1;
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
pub struct Count<F>(pub F);

impl<T, V: Value, F: Fn(&T) -> V + 'static> SqlAggregate<T> for Count<F> {
    type Acc = i64;
    type Out = i64;
    fn init(&self) -> i64 {
        0
    }
    #[inline]
    fn add(&self, acc: &mut i64, record: &T) {
        *acc += i64::from((self.0)(record).get().is_some());
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
pub struct CountDistinct<F>(pub F);

impl<T, V, F> SqlAggregate<T> for CountDistinct<F>
where
    V: Value,
    <V::Base as ToOwned>::Owned: Ord + ExchangeData,
    F: Fn(&T) -> V + 'static,
{
    type Acc = BTreeSet<<V::Base as ToOwned>::Owned>;
    type Out = i64;
    fn init(&self) -> Self::Acc {
        BTreeSet::new()
    }
    #[inline]
    fn add(&self, acc: &mut Self::Acc, record: &T) {
        if let Some(v) = (self.0)(record).get() {
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

/// `SUM(x)`: the sum of the values that are not NULL, in `x`'s type.
#[derive(Clone, Copy, Debug)]
pub struct Sum<F>(pub F);

impl<T, V, F> SqlAggregate<T> for Sum<F>
where
    V: Value,
    V::Base: Copy + Arith<V::Base, Out = V::Base> + ExchangeData,
    Wrap<V::Null, V::Base>: 'static,
    F: Fn(&T) -> V + 'static,
{
    type Acc = Option<V::Base>;
    type Out = Wrap<V::Null, V::Base>;
    fn init(&self) -> Self::Acc {
        None
    }
    #[inline]
    fn add(&self, acc: &mut Self::Acc, record: &T) {
        if let Some(v) = (self.0)(record).get() {
            *acc = Some(match acc {
                Some(sum) => sum.add(v),
                None => *v,
            });
        }
    }
    fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc) {
        if let Some(v) = other {
            *acc = Some(match acc {
                Some(sum) => sum.add(v),
                None => *v,
            });
        }
    }
    fn finish(&self, acc: &Self::Acc) -> Self::Out {
        V::Null::wrap(*acc)
    }
}

/// `AVG(x)`: the mean of the values that are not NULL, in `x`'s type (integer division
/// for integers, as in Flink).
#[derive(Clone, Copy, Debug)]
pub struct Avg<F>(pub F);

/// A count as a value of a numeric type, to divide by.
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

impl<T, V, F> SqlAggregate<T> for Avg<F>
where
    V: Value,
    V::Base: Copy + Arith<V::Base, Out = V::Base> + FromCount + ExchangeData,
    Wrap<V::Null, V::Base>: 'static,
    F: Fn(&T) -> V + 'static,
{
    type Acc = (Option<V::Base>, i64);
    type Out = Wrap<V::Null, V::Base>;
    fn init(&self) -> Self::Acc {
        (None, 0)
    }
    #[inline]
    fn add(&self, acc: &mut Self::Acc, record: &T) {
        if let Some(v) = (self.0)(record).get() {
            acc.0 = Some(match &acc.0 {
                Some(sum) => sum.add(v),
                None => *v,
            });
            acc.1 += 1;
        }
    }
    fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc) {
        if let Some(v) = &other.0 {
            acc.0 = Some(match &acc.0 {
                Some(sum) => sum.add(v),
                None => *v,
            });
            acc.1 += other.1;
        }
    }
    fn finish(&self, acc: &Self::Acc) -> Self::Out {
        V::Null::wrap(acc.0.map(|sum| sum.div(&V::Base::from_count(acc.1))))
    }
}

/// `MIN(x)` and `MAX(x)`: the least or greatest value that is not NULL.
#[derive(Clone, Copy, Debug)]
pub struct Extreme<F> {
    value: F,
    keep: Ordering,
}

/// `MIN(x)`.
pub fn min<F>(value: F) -> Extreme<F> {
    Extreme {
        value,
        keep: Ordering::Less,
    }
}

/// `MAX(x)`.
pub fn max<F>(value: F) -> Extreme<F> {
    Extreme {
        value,
        keep: Ordering::Greater,
    }
}

impl<F> Extreme<F> {
    fn offer<B, O>(&self, acc: &mut Option<O>, value: &B)
    where
        B: ?Sized + ToOwned<Owned = O> + Compare<B>,
        O: Borrow<B>,
    {
        let replace = match acc {
            Some(kept) => value.compare((*kept).borrow()) == Some(self.keep),
            None => true,
        };
        if replace {
            *acc = Some(value.to_owned());
        }
    }
}

impl<T, V, F> SqlAggregate<T> for Extreme<F>
where
    V: Value,
    V::Base: Compare<V::Base>,
    <V::Base as ToOwned>::Owned: ExchangeData,
    Wrap<V::Null, <V::Base as ToOwned>::Owned>: 'static,
    F: Fn(&T) -> V + 'static,
{
    type Acc = Option<<V::Base as ToOwned>::Owned>;
    type Out = Wrap<V::Null, <V::Base as ToOwned>::Owned>;
    fn init(&self) -> Self::Acc {
        None
    }
    #[inline]
    fn add(&self, acc: &mut Self::Acc, record: &T) {
        if let Some(v) = (self.value)(record).get() {
            self.offer(acc, v);
        }
    }
    fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc) {
        if let Some(v) = other {
            self.offer(acc, v.borrow());
        }
    }
    fn finish(&self, acc: &Self::Acc) -> Self::Out {
        V::Null::wrap(acc.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold<A: Aggregator<(i64, Option<i32>, String)>>(
        agg: &A,
        rows: &[(i64, Option<i32>, String)],
    ) -> A::Out {
        // Two halves merged: what panes and partial aggregates do.
        let (left, right) = rows.split_at(rows.len() / 2);
        let mut acc = agg.init();
        for r in left {
            agg.add(&mut acc, r.clone());
        }
        let mut other = agg.init();
        for r in right {
            agg.add(&mut other, r.clone());
        }
        agg.merge(&mut acc, &other);
        agg.finish(&acc)
    }

    #[test]
    fn aggregates_skip_nulls_and_keep_their_types() {
        type Row = (i64, Option<i32>, String);
        let rows: Vec<Row> = vec![
            (5, Some(3), "b".into()),
            (7, None, "a".into()),
            (-2, Some(4), "b".into()),
            (9, None, "c".into()),
        ];
        let agg = Aggregates((
            CountStar,
            Count(|r: &Row| r.1),
            CountDistinct(|r: &Row| r.2.clone()),
            Sum(|r: &Row| r.0),
            Sum(|r: &Row| r.1),
            Avg(|r: &Row| r.0),
            min(|r: &Row| r.2.clone()),
            max(|r: &Row| r.1),
        ));
        let out = fold(&agg, &rows);
        assert_eq!(
            out,
            (
                4,
                2,
                3,
                19i64,
                Some(7i32),
                4i64,
                "a".to_string(),
                Some(4i32)
            )
        );
        let nulls: Vec<Row> = vec![(1, None, "x".into())];
        let agg = Aggregates((Sum(|r: &Row| r.1), max(|r: &Row| r.1), Avg(|r: &Row| r.1)));
        assert_eq!(fold(&agg, &nulls), (None, None, None));
    }
}
