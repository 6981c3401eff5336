//! Incremental aggregation, for windows and rolling aggregations alike: an [`Aggregator`]
//! folds records into an accumulator (`init` / `add` / `merge` / `finish`), so a window
//! or a key holds one accumulator, not its records. Sliding windows keep one accumulator
//! per pane and `merge` the panes of a window when it fires; a rolling aggregation
//! ([`crate::operators::keyed::rolling`]) keeps one per key and emits `finish` after each
//! record, or once per key in batch mode.

use std::ops::AddAssign;

use crate::key::ExchangeData;

/// An incremental aggregation, as Flink's `AggregateFunction`: `init` makes an empty
/// accumulator, `add` folds in a record, `merge` combines two accumulators (panes of a
/// sliding window, partial aggregates from other workers), `finish` gives the result.
///
/// `finish` takes the accumulator by reference: a window whose allowed lateness has not
/// passed may fire again with late records added.
///
/// ```
/// use tidemill_runtime::aggregate::Aggregator;
///
/// /// The average price of bids, as `(sum, count)`.
/// #[derive(Clone)]
/// struct AvgPrice;
///
/// impl Aggregator<(u64, u64)> for AvgPrice {
///     type Acc = (u64, u64);
///     type Out = f64;
///     fn init(&self) -> (u64, u64) { (0, 0) }
///     fn add(&self, acc: &mut (u64, u64), bid: (u64, u64)) { acc.0 += bid.1; acc.1 += 1; }
///     fn merge(&self, acc: &mut (u64, u64), other: &(u64, u64)) { acc.0 += other.0; acc.1 += other.1; }
///     fn finish(&self, acc: &(u64, u64)) -> f64 { acc.0 as f64 / acc.1 as f64 }
/// }
///
/// let agg = AvgPrice;
/// let mut acc = agg.init();
/// agg.add(&mut acc, (7, 10));
/// let mut other = agg.init();
/// agg.add(&mut other, (7, 20));
/// agg.merge(&mut acc, &other);
/// assert_eq!(agg.finish(&acc), 15.0);
/// ```
pub trait Aggregator<T>: 'static {
    /// The accumulator: one per key and pane (or window). It crosses workers: the local
    /// combiner before the exchange ships accumulators rather than records.
    type Acc: ExchangeData;
    /// The result of a window.
    type Out: 'static;
    /// An empty accumulator.
    fn init(&self) -> Self::Acc;
    /// Folds `record` into `acc`.
    fn add(&self, acc: &mut Self::Acc, record: T);
    /// Folds `other` into `acc`.
    fn merge(&self, acc: &mut Self::Acc, other: &Self::Acc);
    /// The result for `acc`, which holds at least one record.
    fn finish(&self, acc: &Self::Acc) -> Self::Out;
    /// Whether pre-aggregating records per key and pane before the exchange pays off
    /// (not when the accumulator is as large as the records).
    const COMBINE: bool = true;
}

/// An aggregator shared by the operators of one worker (the combiner and the window).
impl<T, A: Aggregator<T>> Aggregator<T> for std::rc::Rc<A> {
    type Acc = A::Acc;
    type Out = A::Out;
    const COMBINE: bool = A::COMBINE;
    #[inline]
    fn init(&self) -> A::Acc {
        (**self).init()
    }
    #[inline]
    fn add(&self, acc: &mut A::Acc, record: T) {
        (**self).add(acc, record)
    }
    #[inline]
    fn merge(&self, acc: &mut A::Acc, other: &A::Acc) {
        (**self).merge(acc, other)
    }
    #[inline]
    fn finish(&self, acc: &A::Acc) -> A::Out {
        (**self).finish(acc)
    }
}

/// `count()`: the number of records.
#[derive(Clone, Copy, Debug, Default)]
pub struct Count;

impl<T> Aggregator<T> for Count {
    type Acc = u64;
    type Out = u64;
    fn init(&self) -> u64 {
        0
    }
    #[inline]
    fn add(&self, acc: &mut u64, _record: T) {
        *acc += 1;
    }
    fn merge(&self, acc: &mut u64, other: &u64) {
        *acc += other;
    }
    fn finish(&self, acc: &u64) -> u64 {
        *acc
    }
}

/// `sum(|r| v)`: the sum of the values.
#[derive(Clone, Copy, Debug)]
pub struct Sum<F>(pub F);

impl<T, V, F> Aggregator<T> for Sum<F>
where
    V: AddAssign + Default + ExchangeData,
    F: Fn(&T) -> V + 'static,
{
    type Acc = V;
    type Out = V;
    fn init(&self) -> V {
        V::default()
    }
    #[inline]
    fn add(&self, acc: &mut V, record: T) {
        *acc += (self.0)(&record);
    }
    fn merge(&self, acc: &mut V, other: &V) {
        *acc += other.clone();
    }
    fn finish(&self, acc: &V) -> V {
        acc.clone()
    }
}

/// `sum(N)`, Flink's positional sum: the window's first record with field `N` replaced by
/// the sum of that field over the window.
#[derive(Clone, Copy, Debug)]
pub struct SumField<F>(pub F);

impl<T, V, F> Aggregator<T> for SumField<F>
where
    T: ExchangeData,
    V: AddAssign + Clone + 'static,
    F: for<'a> Fn(&'a mut T) -> &'a mut V + 'static,
{
    type Acc = Option<T>;
    type Out = T;
    fn init(&self) -> Option<T> {
        None
    }
    fn add(&self, acc: &mut Option<T>, mut record: T) {
        match acc {
            Some(first) => *(self.0)(first) += (self.0)(&mut record).clone(),
            None => *acc = Some(record),
        }
    }
    fn merge(&self, acc: &mut Option<T>, other: &Option<T>) {
        if let Some(other) = other {
            self.add(acc, other.clone());
        }
    }
    fn finish(&self, acc: &Option<T>) -> T {
        acc.clone().expect("a window holds at least one record")
    }
}

/// `min(|r| v)` and `max(|r| v)`: the least or greatest value (the first of equals).
#[derive(Clone, Copy, Debug)]
pub struct Extreme<F> {
    value: F,
    /// Replace the kept value by one that compares so to it.
    keep: std::cmp::Ordering,
}

/// `min(|r| v)`.
pub fn min<F>(value: F) -> Extreme<F> {
    Extreme {
        value,
        keep: std::cmp::Ordering::Less,
    }
}

/// `max(|r| v)`.
pub fn max<F>(value: F) -> Extreme<F> {
    Extreme {
        value,
        keep: std::cmp::Ordering::Greater,
    }
}

impl<F> Extreme<F> {
    fn offer<V: PartialOrd>(&self, acc: &mut Option<V>, value: V) {
        let replace = match acc {
            Some(current) => value.partial_cmp(current) == Some(self.keep),
            None => true,
        };
        if replace {
            *acc = Some(value);
        }
    }
}

impl<T, V, F> Aggregator<T> for Extreme<F>
where
    V: PartialOrd + ExchangeData,
    F: Fn(&T) -> V + 'static,
{
    type Acc = Option<V>;
    type Out = V;
    fn init(&self) -> Option<V> {
        None
    }
    fn add(&self, acc: &mut Option<V>, record: T) {
        self.offer(acc, (self.value)(&record));
    }
    fn merge(&self, acc: &mut Option<V>, other: &Option<V>) {
        if let Some(v) = other {
            self.offer(acc, v.clone());
        }
    }
    fn finish(&self, acc: &Option<V>) -> V {
        acc.clone().expect("a window holds at least one record")
    }
}

/// Numbers that `avg` can average.
pub trait AsF64 {
    /// The value as an `f64`.
    fn as_f64(&self) -> f64;
}

macro_rules! as_f64 {
    ($($t:ty),*) => {$(
        impl AsF64 for $t {
            #[inline]
            fn as_f64(&self) -> f64 {
                *self as f64
            }
        }
    )*};
}
as_f64!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

/// `avg(|r| v)`: the mean of the values, as `f64`.
#[derive(Clone, Copy, Debug)]
pub struct Avg<F>(pub F);

impl<T, V, F> Aggregator<T> for Avg<F>
where
    V: AsF64,
    F: Fn(&T) -> V + 'static,
{
    type Acc = (f64, u64);
    type Out = f64;
    fn init(&self) -> (f64, u64) {
        (0.0, 0)
    }
    fn add(&self, acc: &mut (f64, u64), record: T) {
        acc.0 += (self.0)(&record).as_f64();
        acc.1 += 1;
    }
    fn merge(&self, acc: &mut (f64, u64), other: &(f64, u64)) {
        acc.0 += other.0;
        acc.1 += other.1;
    }
    fn finish(&self, acc: &(f64, u64)) -> f64 {
        acc.0 / acc.1 as f64
    }
}

/// `reduce(|a, b| c)`: the window's records combined pairwise.
#[derive(Clone, Copy, Debug)]
pub struct Reduce<F>(pub F);

impl<T, F> Aggregator<T> for Reduce<F>
where
    T: ExchangeData,
    F: Fn(T, T) -> T + 'static,
{
    type Acc = Option<T>;
    type Out = T;
    fn init(&self) -> Option<T> {
        None
    }
    fn add(&self, acc: &mut Option<T>, record: T) {
        *acc = Some(match acc.take() {
            Some(a) => (self.0)(a, record),
            None => record,
        });
    }
    fn merge(&self, acc: &mut Option<T>, other: &Option<T>) {
        if let Some(other) = other {
            self.add(acc, other.clone());
        }
    }
    fn finish(&self, acc: &Option<T>) -> T {
        acc.clone().expect("a window holds at least one record")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold<A: Aggregator<u64>>(agg: &A, records: &[u64]) -> A::Out {
        // Split in two accumulators and merge, as panes do.
        let (mut a, mut b) = (agg.init(), agg.init());
        for (i, r) in records.iter().enumerate() {
            agg.add(if i % 2 == 0 { &mut a } else { &mut b }, *r);
        }
        agg.merge(&mut a, &b);
        agg.finish(&a)
    }

    #[test]
    fn builtins_agree_with_plain_folds() {
        let xs = [5u64, 3, 9, 1, 7];
        assert_eq!(fold(&Count, &xs), 5);
        assert_eq!(fold(&Sum(|x: &u64| *x), &xs), 25);
        assert_eq!(fold(&min(|x: &u64| *x), &xs), 1);
        assert_eq!(fold(&max(|x: &u64| *x), &xs), 9);
        assert_eq!(fold(&Avg(|x: &u64| *x), &xs), 5.0);
        assert_eq!(fold(&Reduce(|a: u64, b: u64| a.max(b)), &xs), 9);
        let pairs = [(1u8, 2u64), (1, 3)];
        fn second(r: &mut (u8, u64)) -> &mut u64 {
            &mut r.1
        }
        let agg = SumField(second);
        let mut acc = agg.init();
        for p in pairs {
            agg.add(&mut acc, p);
        }
        assert_eq!(agg.finish(&acc), (1, 5));
    }
}

/// The records themselves, in arrival order: the accumulator behind `process_window`,
/// the one window aggregation that buffers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Collect;

impl<T: ExchangeData> Aggregator<T> for Collect {
    type Acc = Vec<T>;
    type Out = Vec<T>;
    const COMBINE: bool = false;
    fn init(&self) -> Vec<T> {
        Vec::new()
    }
    fn add(&self, acc: &mut Vec<T>, record: T) {
        acc.push(record);
    }
    fn merge(&self, acc: &mut Vec<T>, other: &Vec<T>) {
        acc.extend_from_slice(other);
    }
    fn finish(&self, acc: &Vec<T>) -> Vec<T> {
        acc.clone()
    }
}
