//! Formats: how a record becomes bytes and back, for files and Kafka.
//!
//! - [`Json`]: one JSON value per record (serde), JSON lines in files.
//! - [`Csv`]: one CSV record per record (serde), fields by position, or by name with a
//!   header ([`Csv::with_header`] for files, [`Csv::with_columns`] anywhere).
//! - [`Text`]: the bytes as a UTF-8 `String`; [`Bytes`]: the bytes as they are.
//! - [`decode_with`]: any user function `&[u8] -> Result<T, String>`.
//!
//! Decoding never panics: a record that does not decode is an `Err` with the reason, and
//! sources send it, with where it came from, to their dead-letter output
//! ([`crate::dead_letter`]).

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Turns bytes into records of type `T`. A decoder is cloned for every worker.
pub trait Decode<T>: Clone + Send + Sync + 'static {
    /// The record in `bytes`, or why there is none.
    fn decode(&mut self, bytes: &[u8]) -> Result<T, String>;

    /// A file in this format starts with a header line (column names), read once by
    /// every worker: the default is no header.
    fn header(&mut self, _line: &[u8]) -> Result<(), String> {
        Ok(())
    }

    /// Whether files in this format start with a header line.
    fn has_header(&self) -> bool {
        false
    }
}

/// Turns records of type `T` into bytes. An encoder is cloned for every worker.
pub trait Encode<T>: Clone + Send + Sync + 'static {
    /// Appends the encoding of `value` to `out`, without a line end.
    fn encode(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), String>;
}

/// JSON through serde: one value per record; in files, one per line (JSON lines).
#[derive(Clone, Copy, Debug, Default)]
pub struct Json;

impl<T: DeserializeOwned> Decode<T> for Json {
    fn decode(&mut self, bytes: &[u8]) -> Result<T, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))
    }
}

impl<T: Serialize> Encode<T> for Json {
    fn encode(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), String> {
        serde_json::to_writer(out, value).map_err(|e| format!("cannot encode as JSON: {e}"))
    }
}

/// CSV through serde: one record per line, no quoted line breaks. Fields map to a struct
/// by position unless column names are known, from a file's header line
/// ([`Csv::with_header`]) or given ([`Csv::with_columns`]).
#[derive(Clone, Debug)]
pub struct Csv {
    delimiter: u8,
    header_line: bool,
    columns: Option<csv::StringRecord>,
    record: csv::StringRecord,
}

impl Default for Csv {
    fn default() -> Self {
        Csv {
            delimiter: b',',
            header_line: false,
            columns: None,
            record: csv::StringRecord::new(),
        }
    }
}

impl Csv {
    /// Comma-separated fields, by position.
    pub fn new() -> Self {
        Csv::default()
    }

    /// Fields separated by `delimiter` (e.g. `b';'` or `b'\t'`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Files start with a line of column names; fields map to struct fields by name.
    /// Sinks write no header (part files concatenate into one CSV body).
    pub fn with_header(mut self) -> Self {
        self.header_line = true;
        self
    }

    /// Fields map to struct fields by these names, in order.
    pub fn with_columns<S: AsRef<str>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.columns = Some(
            columns
                .into_iter()
                .map(|c| c.as_ref().to_string())
                .collect(),
        );
        self
    }

    fn parse(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(self.delimiter)
            .flexible(true)
            .buffer_capacity(bytes.len().clamp(64, 8 * 1024))
            .from_reader(bytes);
        match reader.read_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => return Err("empty CSV record".into()),
            Err(e) => return Err(format!("invalid CSV: {e}")),
        }
        let mut rest = csv::StringRecord::new();
        match reader.read_record(&mut rest) {
            Ok(false) => Ok(()),
            Ok(true) => Err("more than one CSV record".into()),
            Err(e) => Err(format!("invalid CSV: {e}")),
        }
    }
}

impl<T: DeserializeOwned> Decode<T> for Csv {
    fn decode(&mut self, bytes: &[u8]) -> Result<T, String> {
        self.parse(bytes)?;
        self.record
            .deserialize(self.columns.as_ref())
            .map_err(|e| format!("invalid CSV record: {e}"))
    }

    fn header(&mut self, line: &[u8]) -> Result<(), String> {
        self.parse(line)?;
        self.columns = Some(self.record.clone());
        Ok(())
    }

    fn has_header(&self) -> bool {
        self.header_line
    }
}

impl<T: Serialize> Encode<T> for Csv {
    fn encode(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), String> {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .delimiter(self.delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        writer
            .serialize(value)
            .map_err(|e| format!("cannot encode as CSV: {e}"))?;
        let bytes = writer
            .into_inner()
            .map_err(|e| format!("cannot encode as CSV: {e}"))?;
        out.extend_from_slice(bytes.strip_suffix(b"\n").unwrap_or(&bytes));
        Ok(())
    }
}

/// The bytes as a UTF-8 string.
#[derive(Clone, Copy, Debug, Default)]
pub struct Text;

impl Decode<String> for Text {
    fn decode(&mut self, bytes: &[u8]) -> Result<String, String> {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| format!("invalid UTF-8: {e}"))
    }
}

impl<T: AsRef<str>> Encode<T> for Text {
    fn encode(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(value.as_ref().as_bytes());
        Ok(())
    }
}

/// A record's `Display` form (what `write_as_text` writes); encode only.
#[derive(Clone, Copy, Debug, Default)]
pub struct Displayed;

impl<T: std::fmt::Display> Encode<T> for Displayed {
    fn encode(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), String> {
        use std::io::Write;
        write!(out, "{value}").map_err(|e| e.to_string())
    }
}

/// The bytes as they are.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bytes;

impl Decode<Vec<u8>> for Bytes {
    fn decode(&mut self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        Ok(bytes.to_vec())
    }
}

impl<T: AsRef<[u8]>> Encode<T> for Bytes {
    fn encode(&mut self, value: &T, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(value.as_ref());
        Ok(())
    }
}

/// A decoder from a user function: `decode_with(|bytes| parse(bytes))`. An `Err` is the
/// reason the record goes to the dead letters.
pub fn decode_with<T, F>(f: F) -> DecodeWith<T, F>
where
    F: Fn(&[u8]) -> Result<T, String> + Clone + Send + Sync + 'static,
{
    DecodeWith { f, _t: PhantomData }
}

/// See [`decode_with`].
pub struct DecodeWith<T, F> {
    f: F,
    _t: PhantomData<fn() -> T>,
}

impl<T, F: Clone> Clone for DecodeWith<T, F> {
    fn clone(&self) -> Self {
        DecodeWith {
            f: self.f.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: 'static, F> Decode<T> for DecodeWith<T, F>
where
    F: Fn(&[u8]) -> Result<T, String> + Clone + Send + Sync + 'static,
{
    fn decode(&mut self, bytes: &[u8]) -> Result<T, String> {
        (self.f)(bytes)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Txn {
        transaction_id: u64,
        amount: f64,
        timestamp: u64,
    }

    #[test]
    fn json_round_trips_and_reports_what_is_wrong() {
        let txn = Txn {
            transaction_id: 7,
            amount: 1200.5,
            timestamp: 1000,
        };
        let mut bytes = Vec::new();
        Json.encode(&txn, &mut bytes).unwrap();
        let back: Txn = Json.decode(&bytes).unwrap();
        assert_eq!(back, txn);
        let err = Decode::<Txn>::decode(&mut Json, br#"{"transaction_id": 1, "amount": "x"}"#)
            .unwrap_err();
        assert!(
            err.starts_with("invalid JSON") && err.contains("expected f64"),
            "{err}"
        );
    }

    #[test]
    fn csv_maps_by_position_by_header_and_by_columns() {
        let by_position: Txn = Csv::new().decode(b"7,12.5,1000").unwrap();
        assert_eq!(by_position.transaction_id, 7);
        let mut headed = Csv::new().with_header();
        Decode::<Txn>::header(&mut headed, b"timestamp,amount,transaction_id").unwrap();
        let by_name: Txn = headed.decode(b"1000,12.5,7").unwrap();
        assert_eq!(by_name, by_position);
        let by_columns: Txn = Csv::new()
            .with_columns(["amount", "timestamp", "transaction_id"])
            .delimiter(b';')
            .decode(b"12.5;1000;7")
            .unwrap();
        assert_eq!(by_columns, by_position);
        let err = Decode::<Txn>::decode(&mut Csv::new(), b"7,lots,1000").unwrap_err();
        assert!(err.starts_with("invalid CSV record"), "{err}");
        let err = Decode::<Txn>::decode(&mut Csv::new(), b"1,2,3\n4,5,6").unwrap_err();
        assert_eq!(err, "more than one CSV record");
    }

    #[test]
    fn csv_encodes_one_line_with_quoting() {
        let mut out = Vec::new();
        Csv::new()
            .encode(&(1u32, "a,b".to_string(), 2.5f64), &mut out)
            .unwrap();
        assert_eq!(out, b"1,\"a,b\",2.5");
        let back: (u32, String, f64) = Csv::new().decode(&out).unwrap();
        assert_eq!(back, (1, "a,b".to_string(), 2.5));
    }

    #[test]
    fn text_rejects_invalid_utf8_and_user_decoders_give_their_reason() {
        assert_eq!(Text.decode(b"caf\xc3\xa9").unwrap(), "café");
        assert!(Text
            .decode(b"\xff")
            .unwrap_err()
            .starts_with("invalid UTF-8"));
        let mut even = decode_with(|b: &[u8]| {
            if b.len().is_multiple_of(2) {
                Ok(b.len())
            } else {
                Err(format!("odd length {}", b.len()))
            }
        });
        assert_eq!(even.decode(b"ab"), Ok(2));
        assert_eq!(even.decode(b"abc"), Err("odd length 3".to_string()));
    }
}
