//! `json_lines::<T>(path)`, `csv_file::<T>(path)` and `read_file(path, format)`: the
//! records of a file in a line format, decoded with serde, read in parallel.
//!
//! Workers split the file by byte ranges as for text files ([`super::TextFile`]), so a
//! record must not span lines (CSV fields with quoted line breaks are not supported).
//! Blank lines are skipped. A line that does not decode becomes a
//! [`DeadLetter`] with the file, the line number and the reason; the job goes on. With a
//! header ([`crate::format::Csv::with_header`]), every worker reads the file's first line
//! for the column names, and the first line is not a record.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use super::text_file::RangeReader;
use super::{Reader, SourceSpec, Status};
use crate::dead_letter::{DeadLetter, Position};
use crate::error::{Error, Result};
use crate::format::{Csv, Decode, Json};

/// A bounded source of the records of a file, one per line, in the format `D`.
pub struct FileSource<T, D> {
    path: PathBuf,
    decoder: D,
    _t: PhantomData<fn() -> T>,
}

/// The records of a JSON-lines file: one JSON value per line.
pub fn json_lines<T>(path: impl AsRef<Path>) -> FileSource<T, Json>
where
    Json: Decode<T>,
{
    read_file(path, Json)
}

/// The records of a CSV file with a header line naming the columns, which map to struct
/// fields by name. For a file without a header, `read_file(path, Csv::new())`.
pub fn csv_file<T>(path: impl AsRef<Path>) -> FileSource<T, Csv>
where
    Csv: Decode<T>,
{
    read_file(path, Csv::new().with_header())
}

/// The records of a file in any line format: `read_file(path, Csv::new().delimiter(b';'))`.
pub fn read_file<T, D: Decode<T>>(path: impl AsRef<Path>, decoder: D) -> FileSource<T, D> {
    FileSource {
        path: path.as_ref().to_path_buf(),
        decoder,
        _t: PhantomData,
    }
}

/// One worker's reader of a [`FileSource`].
pub struct FileReader<T, D> {
    lines: RangeReader,
    decoder: D,
    /// `file `path``, as dead letters name it.
    name: String,
    dead: Vec<DeadLetter>,
    _t: PhantomData<fn() -> T>,
}

impl<T: 'static, D: Decode<T>> SourceSpec for FileSource<T, D> {
    type Reader = FileReader<T, D>;

    fn open(&self, index: usize, peers: usize) -> Result<FileReader<T, D>> {
        let mut decoder = self.decoder.clone();
        let mut lines = RangeReader::open(&self.path, index, peers)?;
        if decoder.has_header() {
            let header = first_line(&self.path)?;
            decoder.header(&header).map_err(|reason| {
                Error::Config(format!(
                    "cannot read the header line of {}: {reason}",
                    self.path.display()
                ))
            })?;
            if lines.starts_the_file() {
                lines.advance()?;
            }
        }
        Ok(FileReader {
            name: format!("file `{}`", self.path.display()),
            lines,
            decoder,
            dead: Vec::new(),
            _t: PhantomData,
        })
    }

    fn bounded(&self) -> bool {
        true
    }
}

/// The first line of the file at `path`, without its line end.
fn first_line(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::io("cannot open input file", path, e))?;
    let mut line = Vec::new();
    BufReader::new(file)
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::io("cannot read input file", path, e))?;
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(line)
}

impl<T: 'static, D: Decode<T>> Reader for FileReader<T, D> {
    type Item = T;

    #[inline]
    fn read(&mut self, budget: usize, out: &mut dyn FnMut(T)) -> Result<Status> {
        for _ in 0..budget {
            if !self.lines.advance()? {
                return Ok(Status::Done);
            }
            let line = self.lines.line();
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match self.decoder.decode(line) {
                Ok(record) => out(record),
                Err(reason) => {
                    let payload = line.to_vec();
                    let line = self.lines.line_number()?;
                    self.dead.push(DeadLetter {
                        source: self.name.clone(),
                        position: Position::Line(line),
                        reason,
                        payload,
                    });
                }
            }
        }
        Ok(Status::More)
    }

    fn position(&self) -> Option<Vec<(u32, u64)>> {
        Some(self.lines.offset())
    }

    fn seek(&mut self, position: &[(u32, u64)]) -> Result<()> {
        self.lines.seek_to(position)
    }

    fn take_dead_letters(&mut self, out: &mut Vec<DeadLetter>) {
        out.append(&mut self.dead);
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Clone, PartialEq, Deserialize)]
    struct Row {
        id: u32,
        name: String,
    }

    /// Every record and dead letter of all `peers` ranges of a file holding `text`.
    fn read_all<D: Decode<Row>>(
        text: &str,
        peers: usize,
        decoder: D,
    ) -> (Vec<Row>, Vec<DeadLetter>) {
        let path = std::env::temp_dir().join(format!(
            "tidemill-file-source-{}-{peers}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        let spec = read_file(&path, decoder);
        let (mut rows, mut dead) = (Vec::new(), Vec::new());
        for index in 0..peers {
            let mut reader = spec.open(index, peers).unwrap();
            while reader.read(3, &mut |r| rows.push(r)).unwrap() == Status::More {}
            reader.take_dead_letters(&mut dead);
        }
        std::fs::remove_file(&path).unwrap();
        for letter in &mut dead {
            letter.source = letter.source.replace(&*path.to_string_lossy(), "F");
        }
        (rows, dead)
    }

    #[test]
    fn json_lines_keep_good_records_and_name_the_line_of_bad_ones() {
        let text = "{\"id\": 1, \"name\": \"a\"}\n\nnot json\n{\"id\": 2, \"name\": \"b\"}\r\n{\"id\": \"x\", \"name\": \"c\"}\n{\"id\": 3, \"name\": \"d\"}";
        for peers in 1..=6 {
            let (rows, dead) = read_all(text, peers, Json);
            let ids: Vec<u32> = rows.iter().map(|r| r.id).collect();
            assert_eq!(ids, [1, 2, 3], "with {peers} workers");
            let places: Vec<(Position, &[u8])> = dead
                .iter()
                .map(|d| (d.position.clone(), &d.payload[..]))
                .collect();
            assert_eq!(
                places,
                [
                    (Position::Line(3), &b"not json"[..]),
                    (Position::Line(5), &b"{\"id\": \"x\", \"name\": \"c\"}"[..]),
                ],
                "with {peers} workers"
            );
            assert!(dead.iter().all(|d| d.source == "file `F`"));
            assert!(
                dead[0].reason.starts_with("invalid JSON"),
                "{}",
                dead[0].reason
            );
        }
    }

    #[test]
    fn csv_files_map_columns_by_their_header() {
        let text = "name,id\nalpha,1\nbeta,two\ngamma,3\n";
        for peers in 1..=4 {
            let (rows, dead) = read_all(text, peers, Csv::new().with_header());
            assert_eq!(
                rows,
                [
                    Row {
                        id: 1,
                        name: "alpha".into()
                    },
                    Row {
                        id: 3,
                        name: "gamma".into()
                    }
                ],
                "with {peers} workers"
            );
            assert_eq!(dead.len(), 1);
            assert_eq!(dead[0].position, Position::Line(3));
            assert_eq!(dead[0].payload, b"beta,two");
        }
    }
}
