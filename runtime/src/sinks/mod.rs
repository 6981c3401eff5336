//! Sinks: where records leave a pipeline.

mod collect;
mod print;
mod text_file;

pub use collect::{collect, Collector};
pub use print::print;
pub use text_file::{part_file, TextFileSink};
