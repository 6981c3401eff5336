//! Sinks: where records leave a pipeline.

mod collect;
mod discard;
mod print;
mod text_file;

pub use collect::{collect, collect_timed, Collector};
pub use discard::discard;
pub use print::print;
pub use text_file::{part_file, TextFileSink};
