//! Sinks: where records leave a pipeline.
//!
//! The DSL has sinks of its own (`print()`, `write_as_text(dir)`, `collect(c)`,
//! `discard()`); `sink(spec)` takes any [`SinkSpec`]: files in a format
//! ([`json_lines_sink`], [`csv_sink`], [`write_file`]), Kafka, PostgreSQL.

mod collect;
mod discard;
mod file;
mod print;
mod text_file;

use timely::dataflow::StreamVec;

use crate::context::JobContext;

pub use collect::{collect, collect_timed, Collector};
pub use discard::discard;
pub use file::{csv_sink, json_lines_sink, write_file, FileSink};
pub use print::print;
pub use text_file::{part_file, TextFileSink};

/// A sink as the pipeline names it (`sink(spec)`): evaluated once per process, built on
/// every worker.
pub trait SinkSpec<T> {
    /// Writes this worker's records of `stream`. A failure fails the job through
    /// `context`, with a clear error; what the sink buffers is written before the job
    /// ends.
    fn build(&self, stream: StreamVec<'_, u64, T>, context: &JobContext);
}
