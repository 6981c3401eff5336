//! Sources: where records enter a pipeline. Each splits its input among all workers.

mod collection;
mod text_file;

pub use collection::Collection;
pub use text_file::TextFile;
