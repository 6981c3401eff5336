//! `read_text_file(path)`: the lines of a text file, read in parallel.
//!
//! With `n` workers in all, the file is cut into `n` byte ranges of equal size; a worker
//! emits the lines that *start* in its range, so every line is read by exactly one worker
//! and no worker reads much more than its share. Line ends (`\n` or `\r\n`) are stripped.
//! Invalid UTF-8 fails the job with the file and the line number.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::{Reader, SourceSpec, Status};
use crate::error::{Error, Result};

/// A bounded source of the lines of a text file.
pub struct TextFile {
    path: PathBuf,
}

/// One worker's reader over its byte range of the file.
pub struct RangeReader {
    path: PathBuf,
    reader: BufReader<File>,
    /// Byte offset of the next line's first byte.
    position: u64,
    /// Lines starting at or after this offset belong to the next worker.
    end: u64,
    buffer: Vec<u8>,
    /// The byte offset where this range's first line starts.
    first_offset: u64,
    /// The 1-based file line number of that first line, once asked for.
    first_line: Option<u64>,
    /// Lines read so far from this range.
    lines_read: u64,
}

impl RangeReader {
    pub(crate) fn open(path: &Path, index: usize, peers: usize) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io("cannot open input file", path, e))?;
        let size = file
            .metadata()
            .map_err(|e| Error::io("cannot read input file", path, e))?
            .len();
        let (start, end) = byte_range(size, index as u64, peers as u64);
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        let mut position = start;
        if start > 0 {
            // The line under way at `start - 1` belongs to the previous worker: skip past its end.
            reader
                .seek(SeekFrom::Start(start - 1))
                .map_err(|e| Error::io("cannot seek in input file", path, e))?;
            let mut skipped = Vec::new();
            let n = reader
                .read_until(b'\n', &mut skipped)
                .map_err(|e| Error::io("cannot read input file", path, e))?;
            position = start - 1 + n as u64;
        }
        Ok(RangeReader {
            path: path.to_path_buf(),
            reader,
            position,
            end,
            buffer: Vec::new(),
            first_offset: position,
            first_line: None,
            lines_read: 0,
        })
    }

    /// Whether this range starts at the file's first line.
    pub(crate) fn starts_the_file(&self) -> bool {
        self.first_offset == 0
    }

    /// Reads the next line of this range into [`RangeReader::line`], without its line
    /// end; `false` at the range's end.
    pub(crate) fn advance(&mut self) -> Result<bool> {
        if self.position >= self.end {
            return Ok(false);
        }
        self.buffer.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buffer)
            .map_err(|e| Error::io("cannot read input file", &self.path, e))?;
        if n == 0 {
            return Ok(false);
        }
        self.position += n as u64;
        self.lines_read += 1;
        if self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
            if self.buffer.last() == Some(&b'\r') {
                self.buffer.pop();
            }
        }
        Ok(true)
    }

    /// For checkpoints: the byte offset of the next line to read.
    pub(crate) fn offset(&self) -> Vec<(u32, u64)> {
        vec![(0, self.position)]
    }

    /// Resumes at the line starting at byte `offset` of this range (from [`Self::offset`]).
    pub(crate) fn seek_to(&mut self, position: &[(u32, u64)]) -> Result<()> {
        let Some(&(_, offset)) = position.first() else {
            return Ok(());
        };
        self.reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io("cannot seek in input file", &self.path, e))?;
        self.position = offset;
        self.first_offset = offset;
        self.first_line = None;
        self.lines_read = 0;
        Ok(())
    }

    /// The line [`RangeReader::advance`] read last.
    pub(crate) fn line(&self) -> &[u8] {
        &self.buffer
    }

    /// The 1-based file line number of the line read last. The first call of a range
    /// counts the lines before it (only done for an error or a dead letter).
    pub(crate) fn line_number(&mut self) -> Result<u64> {
        let first = match self.first_line {
            Some(first) => first,
            None => *self
                .first_line
                .insert(line_number(&self.path, self.first_offset)?),
        };
        Ok(first + self.lines_read - 1)
    }

    /// The next line of this range, or `None` at its end.
    fn next_line(&mut self) -> Result<Option<String>> {
        if !self.advance()? {
            return Ok(None);
        }
        match std::str::from_utf8(&self.buffer) {
            Ok(line) => Ok(Some(line.to_owned())),
            Err(_) => Err(Error::InvalidUtf8 {
                path: self.path.clone(),
                line: self.line_number()?,
            }),
        }
    }
}

/// The byte range `[start, end)` of worker `index` of `peers` in a file of `size` bytes.
fn byte_range(size: u64, index: u64, peers: u64) -> (u64, u64) {
    let cut = |i: u64| (u128::from(size) * u128::from(i) / u128::from(peers)) as u64;
    (cut(index), cut(index + 1))
}

/// The 1-based number of the line starting at byte `offset`: only computed for an error.
fn line_number(path: &Path, offset: u64) -> Result<u64> {
    let file = File::open(path).map_err(|e| Error::io("cannot open input file", path, e))?;
    let mut reader = BufReader::new(file).take(offset);
    let mut chunk = [0u8; 64 * 1024];
    let mut newlines = 0u64;
    loop {
        let n = reader
            .read(&mut chunk)
            .map_err(|e| Error::io("cannot read input file", path, e))?;
        if n == 0 {
            return Ok(newlines + 1);
        }
        newlines += chunk[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

impl TextFile {
    /// A source over the lines of the file at `path`.
    pub fn new(path: impl AsRef<Path>) -> Self {
        TextFile {
            path: path.as_ref().to_path_buf(),
        }
    }
}

impl SourceSpec for TextFile {
    type Reader = RangeReader;
    fn open(&self, index: usize, peers: usize) -> Result<RangeReader> {
        RangeReader::open(&self.path, index, peers)
    }

    fn bounded(&self) -> bool {
        true
    }
}

impl Reader for RangeReader {
    type Item = String;
    #[inline]
    fn read(&mut self, budget: usize, out: &mut dyn FnMut(String)) -> Result<Status> {
        for _ in 0..budget {
            match self.next_line()? {
                Some(line) => out(line),
                None => return Ok(Status::Done),
            }
        }
        Ok(Status::More)
    }

    fn position(&self) -> Option<Vec<(u32, u64)>> {
        Some(self.offset())
    }

    fn seek(&mut self, position: &[(u32, u64)]) -> Result<()> {
        self.seek_to(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of_all_ranges(text: &[u8], peers: usize) -> Vec<String> {
        let path = std::env::temp_dir().join(format!(
            "tidemill-ranges-{}-{peers}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        let mut all = Vec::new();
        for index in 0..peers {
            let mut r = RangeReader::open(&path, index, peers).unwrap();
            while let Some(line) = r.next_line().unwrap() {
                all.push(line);
            }
        }
        std::fs::remove_file(&path).unwrap();
        all
    }

    #[test]
    fn ranges_cover_every_line_once() {
        let text = b"alpha\nbeta\r\n\ngamma delta\nx\ny\nlast without newline";
        let expected: Vec<String> = [
            "alpha",
            "beta",
            "",
            "gamma delta",
            "x",
            "y",
            "last without newline",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for peers in 1..=20 {
            assert_eq!(
                lines_of_all_ranges(text, peers),
                expected,
                "with {peers} workers"
            );
        }
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let path = std::env::temp_dir().join(format!("tidemill-utf8-{}", std::process::id()));
        std::fs::write(&path, b"ok\nfine\nbad \xff byte\n").unwrap();
        let mut r = RangeReader::open(&path, 0, 1).unwrap();
        assert_eq!(r.next_line().unwrap().as_deref(), Some("ok"));
        assert_eq!(r.next_line().unwrap().as_deref(), Some("fine"));
        let err = r.next_line().unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains("at line 3"), "{err}");
    }
}
