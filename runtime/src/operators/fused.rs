//! A chain of stateless operators (`map`, `filter`, `flat_map`, `inspect`) fused into one
//! timely operator: one closure per record, no intermediate buffers or channels.
//!
//! The `stream!` macro binds each user closure through a typed helper ([`map`],
//! [`filter`], ...) that pins the closure's argument type to the type flowing at that
//! point of the chain, so closures like `|line| line.split(' ')` need no annotations, and
//! then writes the per-record body that [`fused`] runs.

use std::marker::PhantomData;

use crate::time::{Time, Timed};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

/// A witness of the record type at one point of a fused chain.
pub struct Ty<T>(PhantomData<fn() -> T>);

impl<T> Clone for Ty<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Ty<T> {}

/// The record type of `stream`.
pub fn of<Tm: timely::progress::Timestamp, T>(_stream: &StreamVec<'_, Tm, T>) -> Ty<T> {
    Ty(PhantomData)
}

/// The value type of a timestamped `stream`.
pub fn of_timed<T>(_stream: &StreamVec<'_, Time, Timed<T>>) -> Ty<T> {
    Ty(PhantomData)
}

/// A witness of type `T`, for code that builds chains without a stream at hand.
pub fn ty<T>() -> Ty<T> {
    Ty(PhantomData)
}

/// `map(f)`: `f` takes a record and returns the next one.
pub fn map<T, U, F: FnMut(T) -> U>(_: Ty<T>, f: F) -> (F, Ty<U>) {
    (f, Ty(PhantomData))
}

/// `filter(f)`: `f` keeps the records for which it returns true.
pub fn filter<T, F: FnMut(&T) -> bool>(ty: Ty<T>, f: F) -> (F, Ty<T>) {
    (f, ty)
}

/// `flat_map(f)`: `f` returns any number of records for each one.
pub fn flat_map<T, I: IntoIterator, F: FnMut(T) -> I>(_: Ty<T>, f: F) -> (F, Ty<I::Item>) {
    (f, Ty(PhantomData))
}

/// `inspect(f)`: `f` sees each record by reference.
pub fn inspect<T, F: FnMut(&T)>(ty: Ty<T>, f: F) -> (F, Ty<T>) {
    (f, ty)
}

/// Where a fused chain puts its outputs: an operator's output batch, or a source's
/// [`Stage`](crate::sources::Stage), which stamps them.
pub trait Push<T> {
    /// Takes one output record.
    fn push(&mut self, record: T);
}

impl<T> Push<T> for Vec<T> {
    #[inline]
    fn push(&mut self, record: T) {
        Vec::push(self, record);
    }
}

/// Runs `logic` on every record of `stream` within one operator; `logic` pushes its
/// outputs into the vector it is given, which is shipped whole as the output batch.
pub fn fused<'scope, Tm, T, U, L>(
    stream: StreamVec<'scope, Tm, T>,
    name: &str,
    mut logic: L,
) -> StreamVec<'scope, Tm, U>
where
    Tm: timely::progress::Timestamp,
    T: 'static,
    U: 'static,
    L: FnMut(T, &mut Vec<U>) + 'static,
{
    stream.unary(Pipeline, name, move |_, _| {
        let mut buffer: Vec<U> = Vec::new();
        move |input, output| {
            input.for_each(|time, data| {
                for record in data.drain(..) {
                    logic(record, &mut buffer);
                }
                if !buffer.is_empty() {
                    let len = buffer.len();
                    output.session(&time).give_container(&mut buffer);
                    // give_container took the allocation: size the next one like this one.
                    buffer.reserve(len);
                }
            });
        }
    })
}

/// Records of a timestamped stream without their timestamps: what a sink writes.
pub fn values<'scope, T: 'static>(
    stream: StreamVec<'scope, Time, Timed<T>>,
) -> StreamVec<'scope, Time, T> {
    fused(stream, "values", |r: Timed<T>, out| out.push(r.value))
}

/// Records of a stream without timestamps, at event time 0: how count windows, which
/// need no time, take such a stream.
pub fn at_zero<'scope, T: 'static>(
    stream: StreamVec<'scope, Time, T>,
) -> StreamVec<'scope, Time, Timed<T>> {
    fused(stream, "at_zero", |value: T, out| {
        out.push(Timed { ts: 0, value })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use timely::dataflow::operators::capture::Extract;
    use timely::dataflow::operators::{Capture, ToStream};

    #[test]
    fn fused_chain_maps_filters_and_flattens() {
        let captured = timely::example(|scope| {
            let s = (1u64..=6).to_stream(scope).container::<Vec<u64>>();
            let ty = of(&s);
            let (mut double, ty) = map(ty, |x| x * 2);
            let (mut big, ty) = filter(ty, |x| *x > 4);
            let (mut twice, _) = flat_map(ty, |x| [x, x + 1]);
            fused(s, "fused", move |r, out| {
                let r = double(r);
                if big(&r) {
                    for r in twice(r) {
                        out.push(r);
                    }
                }
            })
            .capture()
        });
        let mut got: Vec<u64> = captured
            .extract()
            .into_iter()
            .flat_map(|(_, v)| v)
            .collect();
        got.sort();
        assert_eq!(got, vec![6, 7, 8, 9, 10, 11, 12, 13]);
    }
}
