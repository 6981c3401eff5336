//! Late records that no pipeline output takes: counted, and reported when the job ends.

use timely::dataflow::StreamVec;

use crate::time::{Time, Timed};

/// Counts the late records of a window that the pipeline does not route, for the report
/// at the end of the job (`at` names the window, e.g. `"window at line 12"`).
pub fn count_late<T: 'static>(
    late: StreamVec<'_, Time, Timed<T>>,
    context: &crate::context::JobContext,
    at: &'static str,
) {
    use timely::dataflow::channels::pact::Pipeline;
    use timely::dataflow::operators::Operator;
    let context = context.clone();
    late.sink(Pipeline, "count_late", move |(input, _frontier)| {
        input.for_each(|_time, data| {
            context.count_late(at, data.len() as u64);
            data.clear();
        });
    });
}
