//! `a.union(b)`: the records of two streams of one type, as one stream.

use crate::time::Time;
use timely::dataflow::operators::Concat;
use timely::dataflow::StreamVec;

/// Merges `b` into `a`; both must carry the same record type.
pub fn union<'scope, T: 'static>(
    a: StreamVec<'scope, Time, T>,
    b: StreamVec<'scope, Time, T>,
) -> StreamVec<'scope, Time, T> {
    a.concat(b)
}
