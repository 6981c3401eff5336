//! Compile-time errors of `stream!`: each malformed pipeline gets one clear message at
//! the user's span. The cases are grouped by topic (`tests/ui/<topic>/*.rs`), with the
//! expected output beside each; `several/` has pipelines with more than one mistake,
//! each reported once. Regenerate with `TRYBUILD=overwrite cargo test --test ui` after
//! reviewing the change.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}
