//! WordCount end to end: the example binary at `-w 1`, `-w 2`, `-w 4` and as two
//! processes on localhost gives the same `(word, count)` multiset as a plain HashMap count.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

/// The example binary, built once per test run.
fn wordcount_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| common::example_binary("wordcount"))
        .clone()
}

/// The reference: a plain single-threaded count, written independently of the example.
fn reference_count(text: &str) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    counts
}

/// Parses `word count` lines; a word printed twice is an error (the multiset must match).
fn parse_output(outputs: &[Output]) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for output in outputs {
        assert!(
            output.status.success(),
            "wordcount failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        for line in String::from_utf8(output.stdout.clone()).unwrap().lines() {
            let (word, count) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            let previous = counts.insert(word.to_string(), count.parse::<u64>().unwrap());
            assert!(previous.is_none(), "word {word:?} printed twice");
        }
    }
    counts
}

fn run(args: &[&str]) -> Output {
    Command::new(wordcount_binary())
        .args(args)
        .output()
        .unwrap()
}

/// A text with many distinct words, mixed case, punctuation and non-ASCII letters.
fn generated_text() -> String {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let separators = [" ", "  ", ", ", ". ", "--", "\t", "!\n", "\n", "\r\n", "'"];
    let mut text = String::new();
    for _ in 0..60_000 {
        let n = next();
        let word = match n % 5 {
            0 => format!("Word{}", n % 3000),
            1 => format!("wORD{}", n % 3000),
            2 => format!("élan{}", n % 50),
            3 => "The".to_string(),
            _ => format!("x{}", n % 20_000),
        };
        text.push_str(&word);
        text.push_str(separators[(n >> 32) as usize % separators.len()]);
    }
    text
}

fn check_all_configurations(file: &Path, text: &str) {
    let expected = reference_count(text);
    assert!(expected.len() > 10, "the text has words");
    let file = file.to_str().unwrap();
    for workers in ["1", "2", "4"] {
        let got = parse_output(&[run(&["-w", workers, file])]);
        assert_eq!(got, expected, "at -w {workers}");
    }
    // Two processes of two workers on localhost, with a hostfile of free ports.
    let outputs = common::two_processes(&wordcount_binary(), &[file]);
    assert!(
        outputs.iter().all(|o| !o.stdout.is_empty()),
        "both processes print their share"
    );
    assert_eq!(parse_output(&outputs), expected, "at -n 2 -w 2");
}

#[test]
fn bundled_text_at_every_worker_and_process_count() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/hamlet.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    check_all_configurations(&file, &text);
    // Without a file argument the example counts the bundled text.
    assert_eq!(parse_output(&[run(&[])]), reference_count(&text));
}

#[test]
fn generated_text_at_every_worker_and_process_count() {
    let text = generated_text();
    let file = std::env::temp_dir().join(format!("tidemill-wordcount-{}.txt", std::process::id()));
    std::fs::write(&file, &text).unwrap();
    check_all_configurations(&file, &text);
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn errors_are_messages_and_exit_codes() {
    let missing = run(&["/definitely/not/here.txt"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("cannot open input file /definitely/not/here.txt"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let bad_flag = run(&["-w", "zero"]);
    assert_eq!(bad_flag.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_flag.stderr).contains("invalid value 'zero'"));

    let path = std::env::temp_dir().join(format!("tidemill-wc-utf8-{}.txt", std::process::id()));
    std::fs::write(&path, b"fine\nalso fine\n\xff\xfe broken\n").unwrap();
    let utf8 = run(&["-w", "2", path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(utf8.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&utf8.stderr);
    assert!(
        stderr.contains(&format!("invalid UTF-8 in {} at line 3", path.display())),
        "{stderr}"
    );
}
