//! `a.union(b)`: the records of two streams of one type, as one stream.

use timely::dataflow::operators::Concat;
use timely::dataflow::StreamVec;

/// Merges `b` into `a`; both must carry the same record type.
pub fn union<'scope, T: 'static>(
    a: StreamVec<'scope, u64, T>,
    b: StreamVec<'scope, u64, T>,
) -> StreamVec<'scope, u64, T> {
    a.concat(b)
}
