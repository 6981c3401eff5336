//! `discard()`: drops every record, counting them (Flink's discarding sink, SQL's
//! `blackhole` connector); the count is in [`crate::JobReport::discarded`].

use std::time::Duration;

use timely::dataflow::StreamVec;

use super::{write_with, Writer, Written};
use crate::context::JobContext;
use crate::error::Result;
use crate::time::Time;

/// Drops every record of `stream`, adding their number to the job's count.
pub fn discard<'scope, T: 'static>(
    stream: StreamVec<'scope, Time, T>,
    context: &JobContext,
) -> Written<'scope> {
    let writer = Discarder(context.clone());
    write_with(stream, "discard", context, Ok(writer), Duration::ZERO)
}

struct Discarder(JobContext);

impl<T> Writer<T> for Discarder {
    fn write(&mut self, batch: &mut Vec<T>) -> Result<()> {
        self.0.count_discarded(batch.len() as u64);
        batch.clear();
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn wants_flush(&self) -> bool {
        true
    }
}
