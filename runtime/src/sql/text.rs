//! String functions, `LIKE` and `CAST`, as Flink defines them. Positions and lengths
//! count characters, not bytes.

use super::value::{Both, Either, Int, Nullness, Num, Number, Value, Wrap};

/// `UPPER(s)`.
#[inline]
pub fn upper<A: Value<Base = str>>(a: A) -> Wrap<A::Null, String> {
    A::Null::wrap(a.get().map(str::to_uppercase))
}

/// `LOWER(s)`.
#[inline]
pub fn lower<A: Value<Base = str>>(a: A) -> Wrap<A::Null, String> {
    A::Null::wrap(a.get().map(str::to_lowercase))
}

/// `CHAR_LENGTH(s)`, `CHARACTER_LENGTH(s)`: the number of characters.
#[inline]
pub fn char_length<A: Value<Base = str>>(a: A) -> Wrap<A::Null, i32> {
    A::Null::wrap(a.get().map(|s| s.chars().count() as i32))
}

/// `a || b`, `CONCAT(a, b, ..)` (a pair at a time): NULL if either is.
#[inline]
pub fn concat<A, B>(a: A, b: B) -> Wrap<Both<A, B>, String>
where
    A: Value<Base = str>,
    B: Value<Base = str>,
    A::Null: Either<B::Null>,
{
    <Both<A, B>>::wrap(match (a.get(), b.get()) {
        (Some(a), Some(b)) => {
            let mut s = String::with_capacity(a.len() + b.len());
            s.push_str(a);
            s.push_str(b);
            Some(s)
        }
        _ => None,
    })
}

/// A number as a position or length: `None` for a fraction or out of range.
fn index(n: Num) -> Option<i64> {
    match n {
        Num::Int(i) => i64::try_from(i).ok(),
        Num::Float(f) if f.fract() == 0.0 => Some(f as i64),
        Num::Float(_) => None,
    }
}

/// `SUBSTRING(s FROM start [FOR length])`, `SUBSTR(s, start[, length])`: from the
/// 1-based character `start` (counted from the end when negative, as Flink does),
/// `length` characters or to the end.
#[inline]
pub fn substring<A, S, L>(a: A, start: S, length: Option<L>) -> Wrap<Both<A, S>, String>
where
    A: Value<Base = str>,
    S: Value,
    S::Base: Number,
    L: Value,
    L::Base: Number,
    A::Null: Either<S::Null>,
{
    let result = match (a.get(), start.get()) {
        (Some(s), Some(from)) => {
            let length = match &length {
                Some(l) => l.get().and_then(|l| index(l.num())),
                None => Some(i64::MAX),
            };
            index(from.num()).zip(length).map(|(from, length)| {
                let chars = s.chars().count() as i64;
                // Flink: 0 is 1, and a negative start counts back from the end.
                let first = match from {
                    0 => 0,
                    f if f > 0 => f - 1,
                    f => (chars + f).max(0),
                };
                s.chars()
                    .skip(first as usize)
                    .take(length.max(0) as usize)
                    .collect()
            })
        }
        _ => None,
    };
    <Both<A, S>>::wrap(result)
}

/// `s LIKE pattern`: `%` matches any characters, `_` one character, `\` escapes the
/// next (Flink's default escape).
#[inline]
pub fn like<A, P>(a: A, pattern: P) -> Wrap<Both<A, P>, bool>
where
    A: Value<Base = str>,
    P: Value<Base = str>,
    A::Null: Either<P::Null>,
{
    <Both<A, P>>::wrap(match (a.get(), pattern.get()) {
        (Some(s), Some(p)) => Some(matches(s, p)),
        _ => None,
    })
}

/// One element of a `LIKE` pattern.
#[derive(Clone, Copy, PartialEq)]
enum Token {
    Any,
    One,
    Char(char),
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '%' => Token::Any,
            '_' => Token::One,
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            c => Token::Char(c),
        });
    }
    out
}

/// Whether `s` matches `pattern`: the greedy matcher with one backtrack point (the
/// last `%`), linear for patterns without `%` and `O(n·m)` at worst.
fn matches(s: &str, pattern: &str) -> bool {
    // The common shapes without allocating: `abc`, `abc%`, `%abc`, `%abc%`, `%`.
    if !pattern.contains(['_', '\\']) {
        let inner = pattern.trim_matches('%');
        if !inner.contains('%') {
            let (lead, trail) = (pattern.starts_with('%'), pattern.ends_with('%'));
            return match (lead, trail) {
                _ if inner.is_empty() => lead || s.is_empty(),
                (false, false) => s == inner,
                (false, true) => s.starts_with(inner),
                (true, false) => s.ends_with(inner),
                (true, true) => s.contains(inner),
            };
        }
    }
    let p = tokens(pattern);
    let s: Vec<char> = s.chars().collect();
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match p.get(j) {
            Some(Token::Any) => {
                star = Some((j, i));
                j += 1;
            }
            Some(Token::One) => {
                i += 1;
                j += 1;
            }
            Some(Token::Char(c)) if *c == s[i] => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((sj, si)) => {
                    j = sj + 1;
                    i = si + 1;
                    star = Some((sj, si + 1));
                }
                None => return false,
            },
        }
    }
    p[j..].iter().all(|t| *t == Token::Any)
}

/// The SQL types a `CAST` names, as Rust types: `BIGINT` is `i64`, `INT` `i32`,
/// `SMALLINT` `i16`, `TINYINT` `i8`, `DOUBLE` (and `DECIMAL`) `f64`, `FLOAT`/`REAL`
/// `f32`, `BOOLEAN` `bool`, `STRING`/`VARCHAR`/`CHAR` `String`.
#[diagnostic::on_unimplemented(
    message = "SQL cannot CAST `{Self}` to `{T}`",
    label = "a CAST in this query"
)]
pub trait CastTo<T> {
    /// Whether the cast may fail, making the result NULL: from a string to a number or a
    /// boolean (Flink's `TRY_CAST`; Flink's `CAST` fails the job instead).
    type Null: Nullness;
    /// The value as a `T`, `None` where it has none.
    fn cast(&self) -> Option<T>;
}

macro_rules! cast_numbers {
    ($from:ty; $($to:ty),*) => {$(
        impl CastTo<$to> for $from {
            type Null = super::value::NotNull;
            #[inline]
            fn cast(&self) -> Option<$to> {
                Some(*self as $to)
            }
        }
    )*};
}
macro_rules! cast_from {
    ($($from:ty),*) => {$(
        cast_numbers!($from; i8, i16, i32, i64, f32, f64);
        impl CastTo<String> for $from {
            type Null = super::value::NotNull;
            #[inline]
            fn cast(&self) -> Option<String> {
                Some(super::row::text(self))
            }
        }
        impl CastTo<bool> for $from {
            type Null = super::value::NotNull;
            #[inline]
            fn cast(&self) -> Option<bool> {
                #[allow(clippy::float_cmp)]
                Some(*self != (0 as $from))
            }
        }
    )*};
}
cast_from!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

macro_rules! cast_int_literal {
    ($($to:ty),*) => {$(
        impl CastTo<$to> for Int {
            type Null = super::value::NotNull;
            #[inline]
            fn cast(&self) -> Option<$to> {
                Some(self.0 as $to)
            }
        }
    )*};
}
cast_int_literal!(i8, i16, i32, i64, f32, f64);

impl CastTo<String> for Int {
    type Null = super::value::NotNull;
    fn cast(&self) -> Option<String> {
        Some(self.0.to_string())
    }
}

macro_rules! cast_parse {
    ($($to:ty),*) => {$(
        impl CastTo<$to> for str {
            type Null = super::value::Nullable;
            #[inline]
            fn cast(&self) -> Option<$to> {
                self.trim().parse().ok()
            }
        }
    )*};
}
cast_parse!(i8, i16, i32, i64, f32, f64);

impl CastTo<bool> for str {
    type Null = super::value::Nullable;
    fn cast(&self) -> Option<bool> {
        match self.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Some(true),
            "false" | "f" | "no" | "n" | "0" => Some(false),
            _ => None,
        }
    }
}

impl CastTo<String> for str {
    type Null = super::value::NotNull;
    #[inline]
    fn cast(&self) -> Option<String> {
        Some(self.to_owned())
    }
}

impl CastTo<String> for bool {
    type Null = super::value::NotNull;
    fn cast(&self) -> Option<String> {
        Some(if *self { "TRUE" } else { "FALSE" }.to_owned())
    }
}

impl CastTo<bool> for bool {
    type Null = super::value::NotNull;
    #[inline]
    fn cast(&self) -> Option<bool> {
        Some(*self)
    }
}

macro_rules! cast_bool_to_number {
    ($($to:ty),*) => {$(
        impl CastTo<$to> for bool {
            type Null = super::value::NotNull;
            #[inline]
            fn cast(&self) -> Option<$to> {
                Some(u8::from(*self) as $to)
            }
        }
    )*};
}
cast_bool_to_number!(i8, i16, i32, i64, f32, f64);

/// The nullness of `CAST(a AS T)`: nullable if `a` is or if the cast may fail.
pub type CastNull<A, T> =
    <<A as Value>::Null as Either<<<A as Value>::Base as CastTo<T>>::Null>>::Out;

/// `CAST(a AS T)`, `T` being the Rust type of the SQL type named.
#[inline]
pub fn cast<T, A>(a: A) -> Wrap<CastNull<A, T>, T>
where
    A: Value,
    A::Base: CastTo<T>,
    A::Null: Either<<A::Base as CastTo<T>>::Null>,
{
    <CastNull<A, T>>::wrap(a.get().and_then(CastTo::cast))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_as_flink_does() {
        let cases = [
            ("abc", "abc", true),
            ("abc", "ab", false),
            ("abc", "a%", true),
            ("abc", "%c", true),
            ("abc", "%b%", true),
            ("abc", "%d%", false),
            ("abc", "a_c", true),
            ("abc", "a_", false),
            ("", "%", true),
            ("", "", true),
            ("a", "", false),
            ("a", "%%", true),
            ("aXbXc", "a%b%c", true),
            ("aXbXd", "a%b%c", false),
            ("mississippi", "%iss%pi", true),
            ("100%", "100\\%", true),
            ("1000", "100\\%", false),
            ("héllo", "h_llo", true),
        ];
        for (s, p, want) in cases {
            assert_eq!(like(s, p), want, "{s:?} LIKE {p:?}");
        }
        assert_eq!(like(None::<String>, "%"), None);
    }

    #[test]
    fn like_agrees_with_a_brute_force_matcher() {
        // Every string and pattern over a small alphabet, against a recursive matcher.
        fn brute(s: &[char], p: &[char]) -> bool {
            match p.split_first() {
                None => s.is_empty(),
                Some(('%', rest)) => (0..=s.len()).any(|k| brute(&s[k..], rest)),
                Some(('_', rest)) => !s.is_empty() && brute(&s[1..], rest),
                Some((c, rest)) => s.first() == Some(c) && brute(&s[1..], rest),
            }
        }
        fn all(alphabet: &[char], max: usize) -> Vec<String> {
            let mut out = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last
                    .iter()
                    .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                    .collect();
                out.extend(last.iter().cloned());
            }
            out
        }
        let strings = all(&['a', 'b'], 4);
        let patterns = all(&['a', 'b', '%', '_'], 4);
        for p in &patterns {
            let pc: Vec<char> = p.chars().collect();
            for s in &strings {
                let sc: Vec<char> = s.chars().collect();
                assert_eq!(matches(s, p), brute(&sc, &pc), "{s:?} LIKE {p:?}");
            }
        }
    }

    #[test]
    fn substring_counts_characters_from_one() {
        assert_eq!(substring("héllo", 2, Some(3)), "éll");
        assert_eq!(substring("hello", 0, Some(2)), "he");
        assert_eq!(substring("hello", -3, None::<i32>), "llo");
        assert_eq!(substring("hello", 4, Some(10)), "lo");
        assert_eq!(substring("hello", 9, None::<i32>), "");
        assert_eq!(
            substring(Some("hello".to_string()), 1, Some(None::<i32>)),
            None
        );
    }

    #[test]
    fn casts_follow_flink() {
        assert_eq!(cast::<i64, _>(3.9f64), 3);
        assert_eq!(cast::<i32, _>("42"), Some(42));
        assert_eq!(cast::<i32, _>("x"), None);
        assert_eq!(cast::<String, _>(1.5f64), "1.5");
        assert_eq!(cast::<String, _>(2.0f64), "2.0");
        assert_eq!(cast::<f64, _>(Some(2u64)), Some(2.0));
        assert_eq!(cast::<bool, _>("TRUE"), Some(true));
        assert_eq!(upper(&"abc".to_string()), "ABC");
        assert_eq!(char_length("héllo"), 5);
        assert_eq!(concat("a", Some("b".to_string())), Some("ab".to_string()));
    }
}
