//! The operators of SQL expressions: comparison, three-valued logic, arithmetic.
//!
//! Each is a function over [`Value`]s whose result is NULL when an operand is (AND and OR
//! follow SQL's three-valued logic instead), and whose type is nullable only when an
//! operand is. The right operands of `AND`, `OR` and `CASE` branches are closures, so
//! they are evaluated only when needed, as in Flink (`d <> 0 AND x / d > 1` never divides
//! by zero).

use std::cmp::Ordering;

use super::value::{Both, Compare, Either, Int, Nullness, Value, Wrap};

#[inline]
fn compared<A: Value, B: Value>(a: &A, b: &B, test: fn(Ordering) -> bool) -> Wrap<Both<A, B>, bool>
where
    A::Base: Compare<B::Base>,
    A::Null: Either<B::Null>,
{
    let result = match (a.get(), b.get()) {
        // NaN compares with nothing: neither equal nor different, as in Java.
        (Some(a), Some(b)) => Some(a.compare(b).is_some_and(test)),
        _ => None,
    };
    <Both<A, B>>::wrap(result)
}

macro_rules! comparisons {
    ($($(#[$doc:meta])* $name:ident: $test:expr;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name<A: Value, B: Value>(a: A, b: B) -> Wrap<Both<A, B>, bool>
        where
            A::Base: Compare<B::Base>,
            A::Null: Either<B::Null>,
        {
            compared(&a, &b, $test)
        }
    )*};
}

comparisons! {
    /// `a = b`.
    eq: |o| o == Ordering::Equal;
    /// `a <> b`, `a != b`.
    ne: |o| o != Ordering::Equal;
    /// `a < b`.
    lt: |o| o == Ordering::Less;
    /// `a <= b`.
    le: |o| o != Ordering::Greater;
    /// `a > b`.
    gt: |o| o == Ordering::Greater;
    /// `a >= b`.
    ge: |o| o != Ordering::Less;
}

/// Whether a condition holds: `WHERE` and `CASE WHEN` keep what is TRUE (not FALSE, not
/// NULL).
#[inline]
pub fn is_true<A: Value<Base = bool>>(a: A) -> bool {
    a.get() == Some(&true)
}

/// `a IS NULL`.
#[inline]
pub fn is_null<A: Value>(a: A) -> bool {
    a.get().is_none()
}

/// `a AND b`: FALSE if either is FALSE, else NULL if either is NULL.
#[inline]
pub fn and<A, B, F>(a: A, b: F) -> Wrap<Both<A, B>, bool>
where
    A: Value<Base = bool>,
    B: Value<Base = bool>,
    A::Null: Either<B::Null>,
    F: FnOnce() -> B,
{
    let result = match a.get() {
        Some(false) => Some(false),
        left => match (left, b().get()) {
            (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
    };
    <Both<A, B>>::wrap(result)
}

/// `a OR b`: TRUE if either is TRUE, else NULL if either is NULL.
#[inline]
pub fn or<A, B, F>(a: A, b: F) -> Wrap<Both<A, B>, bool>
where
    A: Value<Base = bool>,
    B: Value<Base = bool>,
    A::Null: Either<B::Null>,
    F: FnOnce() -> B,
{
    let result = match a.get() {
        Some(true) => Some(true),
        left => match (left, b().get()) {
            (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
    };
    <Both<A, B>>::wrap(result)
}

/// `NOT a`.
#[inline]
pub fn not<A: Value<Base = bool>>(a: A) -> Wrap<A::Null, bool> {
    A::Null::wrap(a.get().map(|b| !b))
}

/// An owned copy of a value, in its nullness: what a projected column or a `CASE` branch
/// yields (`String` for a `str`).
#[inline]
pub fn own<A: Value>(a: A) -> Wrap<A::Null, <A::Base as ToOwned>::Owned> {
    A::Null::wrap(a.get().map(ToOwned::to_owned))
}

/// A value as an `Option`, whatever its nullness: the branches of a `CASE` without
/// `ELSE`, which is NULL when no branch matches.
#[inline]
pub fn nullable<A: Value>(a: A) -> Option<<A::Base as ToOwned>::Owned> {
    a.get().map(ToOwned::to_owned)
}

/// `COALESCE(a, b)`: `a` unless it is NULL, then `b` (evaluated only then). NULL only
/// if both are. Its type is `b`'s: write the nullable operands first.
#[inline]
pub fn coalesce<A, B, F>(a: A, b: F) -> Wrap<B::Null, <B::Base as ToOwned>::Owned>
where
    A: Value,
    B: Value<Base = A::Base>,
    F: FnOnce() -> B,
{
    B::Null::wrap(match a.get() {
        Some(a) => Some(a.to_owned()),
        None => b().get().map(ToOwned::to_owned),
    })
}

/// `COALESCE(a, literal)`: `a` unless it is NULL, then the literal, typed as `a`'s
/// values are (`COALESCE(n, 0)` is `n`'s type).
#[inline]
pub fn coalesce_with<A, F>(a: A, b: F) -> <A::Base as ToOwned>::Owned
where
    A: Value,
    F: FnOnce() -> <A::Base as ToOwned>::Owned,
{
    match a.get() {
        Some(a) => a.to_owned(),
        None => b(),
    }
}

/// Arithmetic between base types, with the result type of Flink's widening: the same
/// type for two of one type, the other operand's type with an integer literal, `f64`
/// with any `f64`, `i64` for two different integer types. Integers wrap on overflow,
/// as Java's do; dividing an integer by zero stops the job with that reason, as it
/// fails a Flink job.
#[diagnostic::on_unimplemented(
    message = "SQL arithmetic is not defined on `{Self}` and `{Rhs}`",
    label = "an arithmetic operator in this query has operands of these types",
    note = "`+ - * / %` take numbers (`Int` is an integer literal); CAST a string first"
)]
pub trait Arith<Rhs: ?Sized> {
    /// The result's type.
    type Out;
    /// `self + rhs`.
    fn add(&self, rhs: &Rhs) -> Self::Out;
    /// `self - rhs`.
    fn sub(&self, rhs: &Rhs) -> Self::Out;
    /// `self * rhs`.
    fn mul(&self, rhs: &Rhs) -> Self::Out;
    /// `self / rhs`.
    fn div(&self, rhs: &Rhs) -> Self::Out;
    /// `self % rhs`.
    fn rem(&self, rhs: &Rhs) -> Self::Out;
}

/// Arithmetic within one numeric type.
trait Ops: Copy {
    fn add(self, rhs: Self) -> Self;
    fn sub(self, rhs: Self) -> Self;
    fn mul(self, rhs: Self) -> Self;
    fn div(self, rhs: Self) -> Self;
    fn rem(self, rhs: Self) -> Self;
}

macro_rules! int_ops {
    ($($t:ty),*) => {$(
        impl Ops for $t {
            #[inline]
            fn add(self, rhs: $t) -> $t { self.wrapping_add(rhs) }
            #[inline]
            fn sub(self, rhs: $t) -> $t { self.wrapping_sub(rhs) }
            #[inline]
            fn mul(self, rhs: $t) -> $t { self.wrapping_mul(rhs) }
            #[inline]
            fn div(self, rhs: $t) -> $t {
                if rhs == 0 { division_by_zero() }
                self.wrapping_div(rhs)
            }
            #[inline]
            fn rem(self, rhs: $t) -> $t {
                if rhs == 0 { division_by_zero() }
                self.wrapping_rem(rhs)
            }
        }
    )*};
}
int_ops!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! float_ops {
    ($($t:ty),*) => {$(
        impl Ops for $t {
            #[inline]
            fn add(self, rhs: $t) -> $t { self + rhs }
            #[inline]
            fn sub(self, rhs: $t) -> $t { self - rhs }
            #[inline]
            fn mul(self, rhs: $t) -> $t { self * rhs }
            #[inline]
            fn div(self, rhs: $t) -> $t { self / rhs }
            #[inline]
            fn rem(self, rhs: $t) -> $t { self % rhs }
        }
    )*};
}
float_ops!(f32, f64);

#[cold]
#[inline(never)]
fn division_by_zero() -> ! {
    panic!("SQL: integer division by zero (an expression `a / b` or `a % b` with b = 0)")
}

/// A numeric conversion with `as` (an integer literal is its `i64`).
trait To<T> {
    fn to(self) -> T;
}

macro_rules! to {
    ($($from:ty),*; $to:tt) => {$(
        impl To<$to> for $from {
            #[inline]
            fn to(self) -> $to { self as $to }
        }
    )*
        impl To<$to> for Int {
            #[inline]
            fn to(self) -> $to { self.0 as $to }
        }
    };
}
macro_rules! to_all {
    ($($to:tt),*) => {$(
        to!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64; $to);
    )*};
}
to_all!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

macro_rules! arith {
    ($a:ty, $b:ty => $out:ty) => {
        impl Arith<$b> for $a {
            type Out = $out;
            #[inline]
            fn add(&self, rhs: &$b) -> $out {
                Ops::add(To::<$out>::to(*self), To::<$out>::to(*rhs))
            }
            #[inline]
            fn sub(&self, rhs: &$b) -> $out {
                Ops::sub(To::<$out>::to(*self), To::<$out>::to(*rhs))
            }
            #[inline]
            fn mul(&self, rhs: &$b) -> $out {
                Ops::mul(To::<$out>::to(*self), To::<$out>::to(*rhs))
            }
            #[inline]
            fn div(&self, rhs: &$b) -> $out {
                Ops::div(To::<$out>::to(*self), To::<$out>::to(*rhs))
            }
            #[inline]
            fn rem(&self, rhs: &$b) -> $out {
                Ops::rem(To::<$out>::to(*self), To::<$out>::to(*rhs))
            }
        }
    };
}

/// Two of one type, and a type with an integer literal either side: that type.
macro_rules! arith_same {
    ($($t:ty),*) => {$(
        arith!($t, $t => $t);
        arith!($t, Int => $t);
        arith!(Int, $t => $t);
    )*};
}
arith_same!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);
arith!(Int, Int => i64);

/// Each pair of different types among the list, both ways, widened to `$out`.
macro_rules! arith_pairs {
    ($out:ty; $head:ty $(, $tail:ty)*) => {
        $(
            arith!($head, $tail => $out);
            arith!($tail, $head => $out);
        )*
        arith_pairs!($out; $($tail),*);
    };
    ($out:ty;) => {};
}
arith_pairs!(i64; i8, i16, i32, i64, u8, u16, u32, u64);

/// `f64` with any other number, and `f32` with an integer.
macro_rules! arith_with {
    ($float:ty => $out:ty; $($t:ty),*) => {$(
        arith!($float, $t => $out);
        arith!($t, $float => $out);
    )*};
}
arith_with!(f64 => f64; i8, i16, i32, i64, u8, u16, u32, u64, f32);
arith_with!(f32 => f32; i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! arithmetic {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name<A: Value, B: Value>(a: A, b: B) -> Wrap<Both<A, B>, <A::Base as Arith<B::Base>>::Out>
        where
            A::Base: Arith<B::Base>,
            A::Null: Either<B::Null>,
        {
            <Both<A, B>>::wrap(match (a.get(), b.get()) {
                (Some(a), Some(b)) => Some(Arith::$name(a, b)),
                _ => None,
            })
        }
    )*};
}

arithmetic! {
    /// `a + b`.
    add;
    /// `a - b`.
    sub;
    /// `a * b`.
    mul;
    /// `a / b`: integer division for integers, as in Flink.
    div;
    /// `a % b`, `MOD(a, b)`.
    rem;
}

/// Numbers with a sign: `-a`.
pub trait Negate {
    /// The result's type.
    type Out;
    /// `-self`.
    fn negate(&self) -> Self::Out;
}

macro_rules! negate {
    ($($t:ty),*) => {$(
        impl Negate for $t {
            type Out = $t;
            #[inline]
            fn negate(&self) -> $t { self.wrapping_neg() }
        }
    )*};
}
negate!(i8, i16, i32, i64);

impl Negate for f32 {
    type Out = f32;
    #[inline]
    fn negate(&self) -> f32 {
        -self
    }
}

impl Negate for f64 {
    type Out = f64;
    #[inline]
    fn negate(&self) -> f64 {
        -self
    }
}

impl Negate for Int {
    type Out = Int;
    #[inline]
    fn negate(&self) -> Int {
        Int(self.0.wrapping_neg())
    }
}

/// `-a`.
#[inline]
pub fn neg<A: Value>(a: A) -> Wrap<A::Null, <A::Base as Negate>::Out>
where
    A::Base: Negate,
{
    A::Null::wrap(a.get().map(Negate::negate))
}
