//! How a query's values print: as Java prints them (`null` for NULL, `1200.0` for a
//! `DOUBLE`); `fields.rs` writes whole rows with them.

use std::fmt;

/// A value of a result row, written as Flink writes it.
pub trait Field {
    /// Writes the value.
    fn write(&self, out: &mut dyn fmt::Write) -> fmt::Result;
}

macro_rules! field_display {
    ($($t:ty),*) => {$(
        impl Field for $t {
            #[inline]
            fn write(&self, out: &mut dyn fmt::Write) -> fmt::Result {
                write!(out, "{self}")
            }
        }
    )*};
}
field_display!(i8, i16, i32, i64, i128, u8, u16, u32, u64, u128, bool, str, String);

macro_rules! field_float {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn write(&self, out: &mut dyn fmt::Write) -> fmt::Result {
                java_double(f64::from(*self), out)
            }
        }
    )*};
}
field_float!(f32, f64);

/// Java's `Double.toString`: plain between 10⁻³ and 10⁷, with at least one decimal
/// (`1200.0`), and in `1.5E7` notation outside.
fn java_double(v: f64, out: &mut dyn fmt::Write) -> fmt::Result {
    if v.is_nan() {
        return out.write_str("NaN");
    }
    if v.is_infinite() {
        return out.write_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let magnitude = v.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        return write!(out, "{v:?}");
    }
    let scientific = format!("{v:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    if mantissa.contains('.') {
        write!(out, "{mantissa}E{exponent}")
    } else {
        write!(out, "{mantissa}.0E{exponent}")
    }
}

impl<T: Field + ?Sized> Field for &T {
    #[inline]
    fn write(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        (**self).write(out)
    }
}

impl<T: Field> Field for Option<T> {
    #[inline]
    fn write(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        match self {
            Some(v) => v.write(out),
            None => out.write_str("null"),
        }
    }
}

impl Field for Box<str> {
    fn write(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str(self)
    }
}

/// A value as text, as a row prints it: `CAST(x AS STRING)`.
pub fn text<T: Field + ?Sized>(value: &T) -> String {
    let mut s = String::new();
    // Writing to a String does not fail.
    let _ = value.write(&mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java_does() {
        let cases = [
            (1200.0, "1200.0"),
            (0.5, "0.5"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (12345678.0, "1.2345678E7"),
            (1e7, "1.0E7"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
        ];
        for (v, want) in cases {
            assert_eq!(text(&v), want);
        }
        assert_eq!(text(&None::<u64>), "null");
        assert_eq!(text(&Some("x")), "x");
    }
}
