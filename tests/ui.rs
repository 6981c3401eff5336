//! Compile-time errors of `stream!`: each malformed pipeline gets one clear message at
//! the user's span. Expected output beside each case in `tests/ui/*.stderr`; regenerate
//! with `TRYBUILD=overwrite cargo test --test ui` after reviewing the change.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
