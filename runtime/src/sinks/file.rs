//! `json_lines_sink(dir)`, `csv_sink(dir)` and `write_file(dir, format)`: each record
//! encoded on its own line, one part file per worker (as `write_as_text`: worker `i`
//! writes `dir/part-0000i`). A record that cannot be encoded fails the job, naming it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use std::time::Duration;

use timely::dataflow::{Scope, StreamVec};

use super::exactly_once::{write_transactional, Transactional};
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
        if crate::checkpoint::worker().is_some() {
            let files = EpochFiles {
                dir: self.dir.clone(),
                index,
                encoder: self.encoder.clone(),
                open: BTreeMap::new(),
                pending: Vec::new(),
                line: Vec::new(),
            };
            let files = std::fs::create_dir_all(&self.dir)
                .map(|()| files)
                .map_err(|e| Error::io("cannot create output directory", &self.dir, e));
            return write_transactional(stream, "write_file", context, files);
        }
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

/// Encodes `record` as a line (in `line`, reused) and writes it to `file` at `path`.
fn write_line<T, E: Encode<T>>(
    encoder: &mut E,
    record: &T,
    line: &mut Vec<u8>,
    file: &mut BufWriter<File>,
    path: &Path,
) -> Result<()> {
    line.clear();
    encoder.encode(record, line).map_err(|reason| {
        Error::Config(format!(
            "cannot write a record to {}: {reason}",
            path.display()
        ))
    })?;
    line.push(b'\n');
    file.write_all(line)
        .map_err(|e| Error::io("cannot write output file", path, e))
}

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
            write_line(
                &mut self.encoder,
                &record,
                &mut self.line,
                &mut self.file,
                &self.path,
            )?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.file
            .flush()
            .map_err(|e| Error::io("cannot write output file", &self.path, e))
    }
}

/// With checkpoints, a worker writes each epoch's records to its own in-progress file,
/// `dir/.part-{worker}-{epoch}.inprogress`, and renames it to `dir/part-{worker}-{epoch}`
/// when the checkpoint covering the epoch completes (Flink's `FileSink`). A restored job
/// renames what the restored checkpoint had prepared and removes what later epochs
/// left, so the directory holds each record once.
struct EpochFiles<E> {
    dir: PathBuf,
    index: usize,
    encoder: E,
    /// Files of epochs still being written.
    open: BTreeMap<u64, (BufWriter<File>, PathBuf)>,
    /// Epochs prepared (synced) and not yet committed.
    pending: Vec<u64>,
    line: Vec<u8>,
}

impl<E> EpochFiles<E> {
    fn in_progress(&self, epoch: u64) -> PathBuf {
        self.dir
            .join(format!(".part-{:05}-{epoch}.inprogress", self.index))
    }

    fn committed(&self, epoch: u64) -> PathBuf {
        self.dir.join(format!("part-{:05}-{epoch}", self.index))
    }

    /// This worker's files in the directory: `(epoch, in progress)`.
    fn files(&self) -> Result<Vec<(u64, bool)>> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| Error::io("cannot list output directory", &self.dir, e))?;
        let prefix = format!("part-{:05}-", self.index);
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_prefix(&prefix)) {
                if let Some(Ok(epoch)) = rest.strip_suffix(".inprogress").map(str::parse) {
                    files.push((epoch, true));
                }
            } else if let Some(Ok(epoch)) = name.strip_prefix(&prefix).map(str::parse) {
                files.push((epoch, false));
            }
        }
        Ok(files)
    }
}

impl<T, E: Encode<T>> Transactional<T> for EpochFiles<E> {
    fn write(&mut self, epoch: u64, batch: &mut Vec<T>) -> Result<()> {
        if !self.open.contains_key(&epoch) {
            let path = self.in_progress(epoch);
            let file = File::create(&path)
                .map_err(|e| Error::io("cannot create output file", &path, e))?;
            self.open
                .insert(epoch, (BufWriter::with_capacity(256 * 1024, file), path));
        }
        let (file, path) = self.open.get_mut(&epoch).expect("just opened");
        for record in batch.drain(..) {
            write_line(&mut self.encoder, &record, &mut self.line, file, path)?;
        }
        Ok(())
    }

    fn prepare(&mut self, before: u64) -> Result<Vec<u8>> {
        let later = match before {
            u64::MAX => BTreeMap::new(),
            _ => self.open.split_off(&before),
        };
        for (epoch, (file, path)) in std::mem::replace(&mut self.open, later) {
            let file = file
                .into_inner()
                .map_err(|e| Error::io("cannot write output file", &path, e.into_error()))?;
            file.sync_all()
                .map_err(|e| Error::io("cannot sync output file", &path, e))?;
            self.pending.push(epoch);
        }
        Ok(crate::checkpoint::encode(&self.pending))
    }

    fn commit(&mut self, checkpoint: u64) -> Result<()> {
        let mut kept = Vec::new();
        for epoch in std::mem::take(&mut self.pending) {
            if epoch > checkpoint {
                kept.push(epoch);
                continue;
            }
            let (from, to) = (self.in_progress(epoch), self.committed(epoch));
            std::fs::rename(&from, &to)
                .map_err(|e| Error::io("cannot commit output file", &from, e))?;
        }
        self.pending = kept;
        Ok(())
    }

    fn act_as(&mut self, worker: usize) {
        self.index = worker;
    }

    fn recover(
        &mut self,
        sink: &str,
        pending: Option<&[u8]>,
        checkpoint: Option<u64>,
    ) -> Result<()> {
        let prepared: Vec<u64> = match pending {
            Some(bytes) => crate::checkpoint::decode_state(sink, bytes)?,
            None => Vec::new(),
        };
        for (epoch, in_progress) in self.files()? {
            let restored = checkpoint.is_some_and(|c| epoch <= c);
            let path = if in_progress {
                self.in_progress(epoch)
            } else {
                self.committed(epoch)
            };
            if in_progress && restored && prepared.contains(&epoch) {
                let to = self.committed(epoch);
                std::fs::rename(&path, &to)
                    .map_err(|e| Error::io("cannot commit output file", &path, e))?;
            } else if in_progress || !restored {
                // Not prepared by the restored checkpoint, or written after it.
                std::fs::remove_file(&path)
                    .map_err(|e| Error::io("cannot remove output file", &path, e))?;
            }
        }
        Ok(())
    }
}
