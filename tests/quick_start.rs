//! The README's "Your first job": its `Cargo.toml` and `src/main.rs`, taken from the
//! README itself, make a crate outside this workspace, which is built and run; its output
//! must be the one the README shows. So the quick start cannot rot.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The fenced block after the README's `<!-- quick-start: NAME -->` marker.
fn block(readme: &str, name: &str) -> String {
    let marker = format!("<!-- quick-start: {name} -->");
    let after = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("the README has no {marker}"))
        .1;
    let fence = after
        .trim_start()
        .strip_prefix("```")
        .expect("a fenced block");
    let body = fence.split_once('\n').expect("a fence line").1;
    body.split_once("\n```")
        .expect("a closing fence")
        .0
        .to_string()
        + "\n"
}

/// `target/` of this build: the test runs as `target/<profile>/deps/<test>`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

#[test]
fn the_readme_quick_start_builds_and_runs_in_a_crate_of_its_own() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let manifest = block(&readme, "Cargo.toml");
    let main = block(&readme, "src/main.rs");
    let expected = block(&readme, "output");

    // The README's crate is a checkout of tidemill beside it: point it at this one.
    let beside = r#"tidemill = { path = "../tidemill" }"#;
    assert!(manifest.contains(beside), "{manifest}");
    let manifest = manifest.replace(
        beside,
        &format!("tidemill = {{ path = {:?} }}", repo.display().to_string()),
    );
    let dir = std::env::temp_dir().join(format!("tidemill-first-job-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/main.rs"), main).unwrap();
    // The workspace's versions of every dependency, so that nothing is fetched or built
    // again that this build already has.
    std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();

    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--offline", "--", "-w", "2"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("cargo runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the first job failed:\n{stderr}");
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    assert_eq!(
        sorted(&String::from_utf8_lossy(&output.stdout)),
        sorted(&expected),
        "the first job's output differs from the README's; stderr:\n{stderr}"
    );
}
