//! A row as Flink prints it, `kind[v1, v2, ..]`, from any serde `Serialize` struct:
//! what prints every query's rows (`+I[..]`) and an updating query's changes (`-U[..]`),
//! whatever struct the rows are (a generated row or the user's `row = T`). Each value is
//! written as [`super::Field`] writes it.

use std::fmt::{self, Write};

use serde::ser::{self, Impossible, Serialize, SerializeStruct, SerializeTuple};

/// Writes a row as Flink's `Row.toString`: `kind[v1, v2, ..]`, `kind` being `+I`, `-U`,
/// `+U` or `-D`.
pub fn write_row<R: Serialize + ?Sized>(out: &mut dyn Write, kind: &str, row: &R) -> fmt::Result {
    out.write_str(kind)?;
    out.write_char('[')?;
    write_fields(row, out)?;
    out.write_char(']')
}

/// Writes `row`'s field values as `v1, v2, ..` (a struct's fields, or a tuple's).
fn write_fields<R: Serialize + ?Sized>(row: &R, out: &mut dyn Write) -> fmt::Result {
    row.serialize(Fields { out, first: true })
        .map_err(|_| fmt::Error)
}

#[derive(Debug)]
struct Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row value that cannot be printed")
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Error
    }
}

impl From<fmt::Error> for Error {
    fn from(_: fmt::Error) -> Self {
        Error
    }
}

/// The row: a struct or tuple whose fields are values.
struct Fields<'a> {
    out: &'a mut dyn Write,
    first: bool,
}

impl Fields<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.write_str(", ")?;
        }
        self.first = false;
        value.serialize(Value {
            out: &mut *self.out,
        })
    }
}

impl SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field(v)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl SerializeTuple for Fields<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.field(v)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

macro_rules! as_value {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(mut self, v: $t) -> Result<(), Error> {
            self.field(&v)
        }
    )*};
}

impl<'a> ser::Serializer for Fields<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Fields<'a>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = Impossible<(), Error>;
    as_value!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_f32: f32, serialize_f64: f64, serialize_char: char,
        serialize_str: &str);
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_none(mut self) -> Result<(), Error> {
        self.field(&None::<u8>)
    }
    fn serialize_some<T: Serialize + ?Sized>(mut self, v: &T) -> Result<(), Error> {
        self.field(v)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_variant(
        mut self,
        _: &'static str,
        _: u32,
        v: &'static str,
    ) -> Result<(), Error> {
        self.field(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Error)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Ok(self)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Error)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Error)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error)
    }
}

/// One value of a row, written as [`super::Field`] writes it.
struct Value<'a> {
    out: &'a mut dyn Write,
}

macro_rules! field {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<(), Error> {
            Ok(super::Field::write(&v, self.out)?)
        }
    )*};
}

impl ser::Serializer for Value<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;
    field!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_f32: f32, serialize_f64: f64, serialize_str: &str);
    fn serialize_char(self, v: char) -> Result<(), Error> {
        Ok(self.out.write_char(v)?)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_none(self) -> Result<(), Error> {
        Ok(self.out.write_str("null")?)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Error> {
        Ok(self.out.write_str(v)?)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(Error)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Error)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(Error)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Error)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Error)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(Error)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_structs_fields_print_as_a_rows_values() {
        #[derive(serde::Serialize)]
        struct Row {
            user: u64,
            name: Option<String>,
            amount: f64,
            none: Option<i32>,
        }
        let mut out = String::new();
        let row = Row {
            user: 7,
            name: Some("ann".into()),
            amount: 1500.0,
            none: None,
        };
        write_row(&mut out, "-U", &row).unwrap();
        assert_eq!(out, "-U[7, ann, 1500.0, null]");
    }
}
