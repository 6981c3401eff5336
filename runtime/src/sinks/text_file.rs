//! `write_as_text(dir)`: each record's `Display` form as a line, one part file per worker.
//!
//! Worker `i` (counted over all processes) writes `dir/part-0000i`; `dir` is created if
//! needed. Concatenating the part files gives the whole output. Part files left by an
//! earlier run with more workers are removed, so the directory holds exactly this run's
//! output. In a multi-process job, each process writes its own workers' parts into `dir`
//! on its own machine.

use std::fmt::Display;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use timely::dataflow::StreamVec;

use crate::context::JobContext;
use crate::error::{Error, Result};
use crate::time::Time;

/// A sink writing text part files into a directory.
pub struct TextFileSink {
    dir: PathBuf,
}

/// The file worker `index` writes.
pub fn part_file(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("part-{index:05}"))
}

pub(super) fn open_part(dir: &Path, index: usize, peers: usize) -> Result<BufWriter<File>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io("cannot create output directory", dir, e))?;
    if index == 0 {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::io("cannot list output directory", dir, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let stale = name
                .to_str()
                .and_then(|n| n.strip_prefix("part-"))
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|i| i >= peers);
            if stale {
                let path = entry.path();
                std::fs::remove_file(&path)
                    .map_err(|e| Error::io("cannot remove stale part file", path, e))?;
            }
        }
    }
    let path = part_file(dir, index);
    let file = File::create(&path).map_err(|e| Error::io("cannot create output file", path, e))?;
    Ok(BufWriter::with_capacity(256 * 1024, file))
}

impl TextFileSink {
    /// A sink into the directory `dir`.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        TextFileSink {
            dir: dir.as_ref().to_path_buf(),
        }
    }

    /// Writes this worker's records of `stream` to its part file.
    pub fn build<'scope, T: Display + 'static>(
        &self,
        stream: StreamVec<'scope, Time, T>,
        context: &JobContext,
    ) -> super::Written<'scope> {
        use super::SinkSpec;
        super::write_file(&self.dir, crate::format::Displayed).build(stream, context)
    }
}
