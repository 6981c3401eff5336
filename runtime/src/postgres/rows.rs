//! Records as rows: a struct's field names (read from its `Deserialize` impl, so they
//! are known before the first record), and each record as one line of `COPY ... FROM
//! STDIN` text, its fields in the sink's column order.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::Serialize;
use serde_json::Value;

/// The field names of `T` as serde writes them (renames applied), if `T` is a struct
/// with named fields.
pub fn struct_fields<T: for<'de> Deserialize<'de>>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    let _ = T::deserialize(FieldProbe(&mut fields));
    fields
}

/// A deserializer that only records the field list a struct asks for, then gives up.
struct FieldProbe<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for FieldProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("only the field names were wanted"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

/// How a column takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// A PostgreSQL array: a JSON array becomes an array literal.
    Array,
    /// Anything else: a JSON array or object is written as JSON text (json, jsonb).
    Scalar,
}

/// The columns a sink writes, in order: name and kind.
pub type Columns = Vec<(String, ColumnKind)>;

/// Encodes records as COPY text lines, and their key (the text of the key columns).
#[derive(Debug)]
pub struct RowEncoder {
    columns: Columns,
    /// Positions in `columns` of the upsert key.
    key: Vec<usize>,
}

impl RowEncoder {
    pub fn new(columns: Columns, key: Vec<usize>) -> Self {
        RowEncoder { columns, key }
    }

    /// Appends `record` as one line to `out`, and its key's text to `key` (empty when
    /// the sink inserts). A field the record leaves out is written as NULL.
    pub fn encode<T: Serialize>(
        &self,
        record: &T,
        out: &mut Vec<u8>,
        key: &mut Vec<u8>,
    ) -> Result<(), String> {
        let value = serde_json::to_value(record).map_err(|e| e.to_string())?;
        let Value::Object(fields) = value else {
            return Err(format!(
                "a record must serialize as a struct with named fields, not as {value}"
            ));
        };
        let start = out.len();
        for (i, (name, kind)) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            write_value(fields.get(name).unwrap_or(&Value::Null), *kind, out);
        }
        for &k in &self.key {
            let field = nth_field(&out[start..], k);
            key.extend_from_slice(field);
            key.push(b'\t');
        }
        out.push(b'\n');
        Ok(())
    }
}

/// The `n`-th tab-separated field of a line (COPY text escapes tabs inside values).
fn nth_field(line: &[u8], n: usize) -> &[u8] {
    line.split(|&b| b == b'\t').nth(n).unwrap_or(&[])
}

/// One value in COPY text form.
fn write_value(value: &Value, kind: ColumnKind, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"\\N"),
        Value::Bool(b) => out.push(if *b { b't' } else { b'f' }),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => escape(s, out),
        Value::Array(items) if kind == ColumnKind::Array => {
            let mut literal = String::new();
            array_literal(items, &mut literal);
            escape(&literal, out);
        }
        other => escape(&other.to_string(), out),
    }
}

/// A PostgreSQL array literal: `{"a","b",NULL}`, nested for nested arrays.
fn array_literal(items: &[Value], out: &mut String) {
    out.push('{');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            Value::Null => out.push_str("NULL"),
            Value::Array(inner) => array_literal(inner, out),
            Value::String(s) => quoted(s, out),
            other => quoted(&other.to_string(), out),
        }
    }
    out.push('}');
}

fn quoted(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// COPY text escaping: backslash, newline, carriage return and tab.
fn escape(s: &str, out: &mut Vec<u8>) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Row {
        id: u64,
        #[serde(rename = "label")]
        name: String,
        tags: Vec<String>,
        extra: Option<serde_json::Value>,
        ok: bool,
    }

    #[test]
    fn field_names_come_from_the_deserialize_impl() {
        assert_eq!(
            struct_fields::<Row>(),
            Some(&["id", "label", "tags", "extra", "ok"][..])
        );
        assert_eq!(struct_fields::<(u64, String)>(), None);
        assert_eq!(struct_fields::<u64>(), None);
    }

    #[test]
    fn records_become_escaped_copy_lines_in_column_order() {
        let encoder = RowEncoder::new(
            vec![
                ("ok".into(), ColumnKind::Scalar),
                ("label".into(), ColumnKind::Scalar),
                ("id".into(), ColumnKind::Scalar),
                ("tags".into(), ColumnKind::Array),
                ("extra".into(), ColumnKind::Scalar),
            ],
            vec![2, 1],
        );
        let row = Row {
            id: 7,
            name: "tab\there\\ \"q\"\nnext".into(),
            tags: vec!["a,b".into(), "c\"d".into()],
            extra: Some(serde_json::json!({"k": [1, 2]})),
            ok: true,
        };
        let (mut line, mut key) = (Vec::new(), Vec::new());
        encoder.encode(&row, &mut line, &mut key).unwrap();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "t\ttab\\there\\\\ \"q\"\\nnext\t7\t{\"a,b\",\"c\\\\\"d\"}\t{\"k\":[1,2]}\n"
        );
        assert_eq!(
            String::from_utf8(key).unwrap(),
            "7\ttab\\there\\\\ \"q\"\\nnext\t"
        );
        let (mut line, mut key) = (Vec::new(), Vec::new());
        let none = Row { extra: None, ..row };
        encoder.encode(&none, &mut line, &mut key).unwrap();
        assert!(String::from_utf8(line).unwrap().ends_with("\t\\N\n"));
        let err = encoder.encode(&(1, 2), &mut Vec::new(), &mut Vec::new());
        assert!(
            err.unwrap_err().contains("named fields"),
            "a tuple has no names"
        );
    }
}
