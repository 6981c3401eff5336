//! What the SQL of `sql!("..")` compiles to: generic functions over the record's own
//! field types (see [`value`]), so rustc checks each column's name and type, and a
//! query costs what the same closures written by hand cost.
//!
//! Semantics follow Flink SQL: NULL is an `Option` field's `None` and propagates through
//! operators; `AND`, `OR` and `NOT` are three-valued; `WHERE` keeps the rows whose
//! condition is TRUE; result rows print as Flink's `+I[..]`.

pub mod aggregate;
pub mod changelog;
mod fields;
pub mod ops;
pub mod row;
pub mod text;
pub mod time;
pub mod total;
pub mod value;

pub use fields::write_row;
pub use ops::*;
pub use row::Field;
pub use text::*;
pub use value::{Int, Null, Value};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_valued_logic() {
        let t = Some(true);
        let f = Some(false);
        let n = None::<bool>;
        assert_eq!(and(f, || n), Some(false));
        assert_eq!(and(n, || f), Some(false));
        assert_eq!(and(t, || n), None);
        assert_eq!(and(t, || t), Some(true));
        assert_eq!(or(t, || n), Some(true));
        assert_eq!(or(n, || t), Some(true));
        assert_eq!(or(f, || n), None);
        assert_eq!(or(f, || f), Some(false));
        assert_eq!(not(n), None);
        assert!(!is_true(n));
        // Plain booleans stay plain.
        let plain: bool = and(true, || false);
        assert!(!plain);
    }

    #[test]
    fn the_right_of_and_runs_only_when_needed() {
        let d = 0i64;
        let x = 10i64;
        assert!(!and(ne(&d, Int(0)), || gt(div(&x, &d), Int(1))));
    }

    #[test]
    fn comparisons_across_numeric_types_and_nulls() {
        assert!(gt(1200.5f64, Int(1000)));
        assert!(!gt(999u64, Int(1000)));
        assert!(eq(3u8, 3.0f64));
        assert!(lt(-1i64, 0u64));
        assert!(gt(u64::MAX, i64::MAX));
        assert_eq!(gt(Some(5i32), Int(1)), Some(true));
        assert_eq!(gt(None::<i32>, Int(1)), None);
        assert!(eq("a", &"a".to_string()));
        assert!(ne(f64::NAN, f64::NAN) == eq(f64::NAN, f64::NAN));
    }

    #[test]
    fn arithmetic_widens_as_flink_does() {
        let count: u64 = add(7u64, Int(1));
        assert_eq!(count, 8);
        let mixed: i64 = add(7u32, 1i16);
        assert_eq!(mixed, 8);
        let double: f64 = mul(3u64, 0.5f64);
        assert_eq!(double, 1.5);
        assert_eq!(div(7i64, Int(2)), 3);
        assert_eq!(rem(7i64, Int(2)), 1);
        assert_eq!(add(Some(1i64), Int(1)), Some(2));
        assert_eq!(sub(None::<i64>, Int(1)), None);
        assert_eq!(neg(Int(3)), Int(-3));
        assert_eq!(add(i64::MAX, Int(1)), i64::MIN, "wraps, as Java does");
    }

    #[test]
    #[should_panic(expected = "integer division by zero")]
    fn integer_division_by_zero_stops_the_job() {
        div(1i64, Int(0));
    }

    #[test]
    fn coalesce_and_own() {
        let name: Option<String> = None;
        let owned: String = coalesce(&name, || "anonymous");
        assert_eq!(owned, "anonymous");
        assert_eq!(coalesce(Some(3u64), || 4u64), 3);
        assert_eq!(coalesce(None::<u64>, || None::<u64>), None);
        assert!(is_null(None::<u8>));
        assert_eq!(own(&"x".to_string()), "x");
        assert_eq!(nullable(5u8), Some(5));
    }
}
