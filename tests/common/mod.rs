//! Helpers shared by the tests that run example binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The example binary `name`, built once per test run: a filtered run such as
/// `cargo test --test wordcount` does not build examples by itself.
pub fn example_binary(name: &str) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_cargo_at_a_time = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let exe = std::env::current_exe().unwrap();
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let bin = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if dir.file_name().is_some_and(|p| p == "release") {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("cargo runs");
    assert!(
        status.success() && bin.exists(),
        "cannot build {}",
        bin.display()
    );
    bin
}
