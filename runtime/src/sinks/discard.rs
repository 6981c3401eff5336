//! `discard()`: drops every record, counting them (Flink's discarding sink, SQL's
//! `blackhole` connector); the count is in [`crate::JobReport::discarded`].

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

use crate::context::JobContext;

/// Drops every record of `stream`, adding their number to the job's count.
pub fn discard<T: 'static>(stream: StreamVec<'_, u64, T>, context: &JobContext) {
    let context = context.clone();
    stream.sink(Pipeline, "discard", move |(input, _frontier)| {
        input.for_each(|_time, data| {
            context.count_discarded(data.len() as u64);
            data.clear();
        });
    });
}
