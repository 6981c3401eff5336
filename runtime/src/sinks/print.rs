//! `print()`: each record's `Display` form on its own line of standard output.

use std::fmt::{Display, Write as _};
use std::io::Write as _;
use std::time::Duration;

use timely::dataflow::StreamVec;

use super::{write_with, Writer, Written};
use crate::context::JobContext;
use crate::error::{Error, Result};
use crate::time::Time;

/// Prints every record of `stream`; a worker writes a whole batch at once, so lines of
/// different workers interleave but never mix.
pub fn print<'scope, T: Display + 'static>(
    stream: StreamVec<'scope, Time, T>,
    context: &JobContext,
) -> Written<'scope> {
    write_with(
        stream,
        "print",
        context,
        Ok(Printer(String::new())),
        Duration::ZERO,
    )
}

/// The lines of one activation, written at once.
struct Printer(String);

impl<T: Display> Writer<T> for Printer {
    fn write(&mut self, batch: &mut Vec<T>) -> Result<()> {
        for record in batch.drain(..) {
            let _ = writeln!(self.0, "{record}");
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let written = std::io::stdout().lock().write_all(self.0.as_bytes());
        self.0.clear();
        written.map_err(|e| Error::io("cannot write to", "standard output", e))
    }

    fn wants_flush(&self) -> bool {
        true
    }
}
