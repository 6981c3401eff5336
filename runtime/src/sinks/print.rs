//! `print()`: each record's `Display` form on its own line of standard output.

use std::fmt::{Display, Write as _};
use std::io::Write as _;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

use crate::context::JobContext;
use crate::error::Error;

/// Prints every record of `stream`; a worker writes a whole batch at once, so lines of
/// different workers interleave but never mix.
pub fn print<T: Display + 'static>(stream: StreamVec<'_, u64, T>, context: &JobContext) {
    let context = context.clone();
    let mut text = String::new();
    stream.sink(Pipeline, "print", move |(input, _frontier)| {
        input.for_each(|_time, data| {
            for record in data.drain(..) {
                let _ = writeln!(text, "{record}");
            }
        });
        if !text.is_empty() {
            if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes()) {
                context.fail(Error::io("cannot write to", "standard output", e));
            }
            text.clear();
        }
    });
}
