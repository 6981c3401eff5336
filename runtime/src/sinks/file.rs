//! `json_lines_sink(dir)`, `csv_sink(dir)` and `write_file(dir, format)`: each record
//! encoded on its own line, one part file per worker (as `write_as_text`: worker `i`
//! writes `dir/part-0000i`). A record that cannot be encoded fails the job, naming it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use std::time::Duration;

use timely::dataflow::{Scope, StreamVec};

use super::text_file::open_part;
use super::{part_file, write_with, SinkSpec, Writer, Written};
use crate::context::JobContext;
use crate::error::{Error, Result};
use crate::format::{Csv, Encode, Json};
use crate::time::Time;

/// A sink writing the records of a stream, encoded as `E`, into part files.
pub struct FileSink<T, E> {
    dir: PathBuf,
    encoder: E,
    _t: PhantomData<fn(T)>,
}

/// JSON lines: one JSON value per line.
pub fn json_lines_sink<T>(dir: impl AsRef<Path>) -> FileSink<T, Json>
where
    Json: Encode<T>,
{
    write_file(dir, Json)
}

/// CSV lines without a header (so that part files concatenate into one CSV body).
pub fn csv_sink<T>(dir: impl AsRef<Path>) -> FileSink<T, Csv>
where
    Csv: Encode<T>,
{
    write_file(dir, Csv::new())
}

/// Records in any line format: `write_file(dir, Csv::new().delimiter(b'\t'))`.
pub fn write_file<T, E: Encode<T>>(dir: impl AsRef<Path>, encoder: E) -> FileSink<T, E> {
    FileSink {
        dir: dir.as_ref().to_path_buf(),
        encoder,
        _t: PhantomData,
    }
}

impl<T: 'static, E: Encode<T>> SinkSpec<T> for FileSink<T, E> {
    fn build<'scope>(
        &self,
        stream: StreamVec<'scope, Time, T>,
        context: &JobContext,
    ) -> Written<'scope> {
        let scope: Scope<'_, Time> = stream.scope();
        let (index, peers) = (scope.index(), scope.peers());
        let writer = open_part(&self.dir, index, peers).map(|file| PartWriter {
            file,
            path: part_file(&self.dir, index),
            encoder: self.encoder.clone(),
            line: Vec::new(),
        });
        write_with(stream, "write_file", context, writer, FLUSH_INTERVAL)
    }
}

/// How long a written line may wait in the buffer: a source that commits what it read
/// (Kafka) waits for the flush.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// One worker's part file.
struct PartWriter<E> {
    file: BufWriter<File>,
    path: PathBuf,
    encoder: E,
    line: Vec<u8>,
}

impl<T, E: Encode<T>> Writer<T> for PartWriter<E> {
    fn write(&mut self, batch: &mut Vec<T>) -> Result<()> {
        for record in batch.drain(..) {
            self.line.clear();
            self.encoder
                .encode(&record, &mut self.line)
                .map_err(|reason| {
                    Error::Config(format!(
                        "cannot write a record to {}: {reason}",
                        self.path.display()
                    ))
                })?;
            self.line.push(b'\n');
            self.file
                .write_all(&self.line)
                .map_err(|e| Error::io("cannot write output file", &self.path, e))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.file
            .flush()
            .map_err(|e| Error::io("cannot write output file", &self.path, e))
    }
}
