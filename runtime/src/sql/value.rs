//! How a SQL expression sees a Rust value: its non-null type ([`Value::Base`]), whether
//! it may be NULL ([`Value::Null`], `Option` fields are nullable), and the value itself.
//!
//! A column compiles to a reference to its field, a literal to a Rust literal, and every
//! operator to a generic function over [`Value`]s. The nullness of a result is a type:
//! an expression over `NOT NULL` operands is a plain `bool` or number, one over a
//! nullable operand an `Option`, as Flink's type inference derives it.

use std::borrow::Cow;
use std::cmp::Ordering;

/// Whether a value may be NULL, at the type level.
pub trait Nullness {
    /// `T` for [`NotNull`], `Option<T>` for [`Nullable`].
    type Wrap<T>;
    /// A result computed as an `Option`, in this nullness (`Some` for [`NotNull`]: an
    /// operation over values that are never NULL is never NULL).
    fn wrap<T>(value: Option<T>) -> Self::Wrap<T>;
}

/// Never NULL: a plain field or literal.
#[derive(Debug)]
pub struct NotNull;

/// May be NULL: an `Option` field, or anything computed from one.
#[derive(Debug)]
pub struct Nullable;

impl Nullness for NotNull {
    type Wrap<T> = T;
    #[inline]
    fn wrap<T>(value: Option<T>) -> T {
        value.expect("an operation over NOT NULL values has a value")
    }
}

impl Nullness for Nullable {
    type Wrap<T> = Option<T>;
    #[inline]
    fn wrap<T>(value: Option<T>) -> Option<T> {
        value
    }
}

/// The nullness of a result of two operands: nullable if either is.
pub trait Either<Other: Nullness>: Nullness {
    /// Nullable if either is.
    type Out: Nullness;
}

impl Either<NotNull> for NotNull {
    type Out = NotNull;
}
impl Either<Nullable> for NotNull {
    type Out = Nullable;
}
impl Either<NotNull> for Nullable {
    type Out = Nullable;
}
impl Either<Nullable> for Nullable {
    type Out = Nullable;
}

/// `T` in the nullness `N`.
pub type Wrap<N, T> = <N as Nullness>::Wrap<T>;

/// The nullness of a result over `A` and `B`.
pub type Both<A, B> = <<A as Value>::Null as Either<<B as Value>::Null>>::Out;

/// A value a SQL expression reads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a SQL value",
    label = "a column of this query has the type `{Self}`",
    note = "SQL columns are numbers, `bool`, `String` (or `&str`), or an `Option` of one (a nullable column)"
)]
pub trait Value {
    /// The type without NULL: `i64`, `f64`, `bool`, `str` (for `String` and `&str`).
    type Base: ?Sized + ToOwned;
    /// Whether it may be NULL.
    type Null: Nullness;
    /// The value, `None` for NULL.
    fn get(&self) -> Option<&Self::Base>;
}

/// An integer literal of the query: it takes the type of what it meets (`count + 1` is
/// the type of `count`), as Flink's literals are widened to the other operand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Int(pub i64);

macro_rules! base {
    ($($t:ty),*) => {$(
        impl Value for $t {
            type Base = $t;
            type Null = NotNull;
            #[inline]
            fn get(&self) -> Option<&$t> {
                Some(self)
            }
        }
    )*};
}
base!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, bool, Int, str);

impl Value for String {
    type Base = str;
    type Null = NotNull;
    #[inline]
    fn get(&self) -> Option<&str> {
        Some(self)
    }
}

impl Value for Box<str> {
    type Base = str;
    type Null = NotNull;
    #[inline]
    fn get(&self) -> Option<&str> {
        Some(self)
    }
}

impl Value for Cow<'_, str> {
    type Base = str;
    type Null = NotNull;
    #[inline]
    fn get(&self) -> Option<&str> {
        Some(self)
    }
}

impl<T: Value + ?Sized> Value for &T {
    type Base = T::Base;
    type Null = T::Null;
    #[inline]
    fn get(&self) -> Option<&T::Base> {
        (**self).get()
    }
}

impl<T: Value<Null = NotNull>> Value for Option<T> {
    type Base = T::Base;
    type Null = Nullable;
    #[inline]
    fn get(&self) -> Option<&T::Base> {
        self.as_ref().and_then(Value::get)
    }
}

/// The SQL `NULL` literal, where its type comes from elsewhere (`CASE .. ELSE NULL`).
#[derive(Clone, Copy, Debug)]
pub struct Null;

impl Value for Null {
    type Base = bool;
    type Null = Nullable;
    #[inline]
    fn get(&self) -> Option<&bool> {
        None
    }
}

/// A number as comparisons see it: integers exactly, floats as `f64`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// Any integer.
    Int(i128),
    /// A float.
    Float(f64),
}

impl Num {
    #[inline]
    fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (Num::Int(a), Num::Float(b)) => (a as f64).partial_cmp(&b),
            (Num::Float(a), Num::Int(b)) => a.partial_cmp(&(b as f64)),
            (Num::Float(a), Num::Float(b)) => a.partial_cmp(&b),
        }
    }
}

/// A numeric base type.
pub trait Number: Copy {
    /// The value, to compare.
    fn num(self) -> Num;
}

macro_rules! number {
    (int: $($i:ty),*; float: $($f:ty),*) => {
        $(impl Number for $i {
            #[inline]
            fn num(self) -> Num {
                Num::Int(self as i128)
            }
        })*
        $(impl Number for $f {
            #[inline]
            fn num(self) -> Num {
                Num::Float(self as f64)
            }
        })*
    };
}
number!(int: i8, i16, i32, i64, u8, u16, u32, u64; float: f32, f64);

impl Number for Int {
    #[inline]
    fn num(self) -> Num {
        Num::Int(self.0 as i128)
    }
}

/// Base types that compare with `Rhs`: numbers with numbers (by value, whatever their
/// types), strings with strings, booleans with booleans.
#[diagnostic::on_unimplemented(
    message = "SQL cannot compare `{Self}` with `{Rhs}`",
    label = "a comparison in this query has operands of these types",
    note = "numbers compare with numbers, strings with strings, booleans with booleans (`Int` is an integer literal); CAST one side"
)]
pub trait Compare<Rhs: ?Sized> {
    /// The order of the two, `None` for NaN.
    fn compare(&self, rhs: &Rhs) -> Option<Ordering>;
}

macro_rules! compare_numbers {
    ($a:ty; $($b:ty),*) => {$(
        impl Compare<$b> for $a {
            #[inline]
            fn compare(&self, rhs: &$b) -> Option<Ordering> {
                self.num().compare(rhs.num())
            }
        }
    )*};
}
macro_rules! numbers_with_numbers {
    ($($a:ty),*) => {$(
        compare_numbers!($a; i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, Int);
    )*};
}
numbers_with_numbers!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, Int);

impl Compare<str> for str {
    #[inline]
    fn compare(&self, rhs: &str) -> Option<Ordering> {
        Some(self.cmp(rhs))
    }
}

impl Compare<bool> for bool {
    #[inline]
    fn compare(&self, rhs: &bool) -> Option<Ordering> {
        Some(self.cmp(rhs))
    }
}
