//! `json_lines_sink(dir)`, `csv_sink(dir)` and `write_file(dir, format)`: each record
//! encoded on its own line, one part file per worker (as `write_as_text`: worker `i`
//! writes `dir/part-0000i`). A record that cannot be encoded fails the job, naming it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;
use timely::dataflow::{Scope, StreamVec};

use super::text_file::open_part;
use super::{part_file, SinkSpec};
use crate::context::JobContext;
use crate::error::Error;
use crate::format::{Csv, Encode, Json};

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
    fn build(&self, stream: StreamVec<'_, u64, T>, context: &JobContext) {
        let scope: Scope<'_, u64> = stream.scope();
        let (index, peers) = (scope.index(), scope.peers());
        let path = part_file(&self.dir, index);
        let context = context.clone();
        let mut encoder = self.encoder.clone();
        let mut writer: Option<BufWriter<File>> = match open_part(&self.dir, index, peers) {
            Ok(w) => Some(w),
            Err(e) => {
                context.fail(e);
                None
            }
        };
        let mut line = Vec::new();
        stream.sink(Pipeline, "write_file", move |(input, frontier)| {
            input.for_each(|_time, data| {
                let Some(w) = writer.as_mut() else {
                    data.clear();
                    return;
                };
                for record in data.drain(..) {
                    line.clear();
                    if let Err(reason) = encoder.encode(&record, &mut line) {
                        context.fail(Error::Config(format!(
                            "cannot write a record to {}: {reason}",
                            path.display()
                        )));
                        writer = None;
                        return;
                    }
                    line.push(b'\n');
                    if let Err(e) = w.write_all(&line) {
                        context.fail(Error::io("cannot write output file", &path, e));
                        writer = None;
                        return;
                    }
                }
            });
            if frontier.is_empty() {
                if let Some(mut w) = writer.take() {
                    if let Err(e) = w.flush() {
                        context.fail(Error::io("cannot write output file", &path, e));
                    }
                }
            }
        });
    }
}
