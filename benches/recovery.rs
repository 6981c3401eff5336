//! Recovery time: restoring a checkpoint holding 1M keys of window state.
//!
//! `cargo bench --bench recovery [-- KEYS]`: a job counts KEYS distinct keys (1M by
//! default) in one open tumbling window and stays idle, so its checkpoints hold every
//! key's pane; it is stopped after a checkpoint with all keys completes. A second run
//! restores that checkpoint, fires the window and ends; a third does the same at two
//! workers (rescaled: each takes its key groups' keys from the one part). Prints the checkpoint's size and
//! the restored run's time, whole and up to the moment its dataflow is built (the state
//! loaded and decoded).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidemill::checkpoint::Restore;
use tidemill::prelude::*;
use tidemill::sources::{Reader, SourceSpec, Status};

/// Emits `keys` keys, then idles until `stop`.
#[derive(Clone)]
struct Keys {
    keys: u64,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
}

struct KeysReader {
    spec: Keys,
    next: u64,
}

impl SourceSpec for Keys {
    type Reader = KeysReader;
    fn open(&self, _index: usize, _peers: usize) -> tidemill::Result<KeysReader> {
        Ok(KeysReader {
            spec: self.clone(),
            next: 0,
        })
    }
}

impl Reader for KeysReader {
    type Item = u64;
    fn read(&mut self, budget: usize, out: &mut dyn FnMut(u64)) -> tidemill::Result<Status> {
        if self.spec.stop.load(Ordering::SeqCst) {
            return Ok(Status::Done);
        }
        let end = (self.next + budget as u64).min(self.spec.keys);
        for key in self.next..end {
            out(key);
        }
        self.next = end;
        self.spec.sent.store(self.next, Ordering::SeqCst);
        Ok(if self.next < self.spec.keys {
            Status::More
        } else {
            Status::Idle
        })
    }
    fn position(&self) -> Option<Vec<(u32, u64)>> {
        Some(vec![(0, self.next)])
    }
    fn seek(&mut self, position: &[(u32, u64)]) -> tidemill::Result<()> {
        self.next = position.first().map_or(0, |p| p.1);
        Ok(())
    }
}

fn job(spec: Keys, args: Args) -> tidemill::Result<tidemill::JobReport> {
    tidemill::run(
        args,
        stream! {
            from_source(spec)
                .assign_timestamps(|_| 1_000, out_of_orderness = 0ms)
                .key_by(|k| *k)
                .window(tumbling(1h))
                .count()
                .discard();
        },
    )
}

fn main() {
    let keys: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("tidemill-recovery-{}", std::process::id()));
    let ckpt = dir.join("ckpt");
    let spec = Keys {
        keys,
        stop: Arc::new(AtomicBool::new(false)),
        sent: Arc::new(AtomicU64::new(0)),
    };
    let mut args = Args::with_workers(1).checkpoints(&ckpt, Duration::from_millis(200));
    args.checkpoints_retained = 1000;
    let first = {
        let spec = spec.clone();
        let args = args.clone();
        std::thread::spawn(move || job(spec, args))
    };
    // Wait for a checkpoint taken after every key was read.
    while spec.sent.load(Ordering::SeqCst) < keys {
        std::thread::sleep(Duration::from_millis(10));
    }
    let read_all = Instant::now();
    let manifest = loop {
        let newest = std::fs::read_dir(&ckpt)
            .unwrap()
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter(|p| {
                p.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().unwrap_or_default() < read_all.elapsed())
            })
            .max();
        if let Some(m) = newest {
            break m;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // Keep it: the first run goes on to its final checkpoint.
    let kept = dir.join("kept");
    copy_dir(&ckpt, &kept);
    spec.stop.store(true, Ordering::SeqCst);
    first.join().unwrap().unwrap();
    let bytes: u64 = std::fs::read_dir(kept.join("parts"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    // The restored runs, at one worker and rescaled to two (each takes the keys of its
    // key groups from the part): the source is at its end and stops at once.
    for workers in [1, 2] {
        let copy = dir.join(format!("restore-{workers}"));
        copy_dir(&kept, &copy);
        let spec = Keys {
            keys,
            stop: Arc::new(AtomicBool::new(true)),
            sent: Arc::new(AtomicU64::new(0)),
        };
        let mut args = args.clone().checkpoints(&copy, Duration::from_secs(10));
        args.workers = workers;
        args.restore = Some(Restore::Manifest(copy.join(manifest.file_name().unwrap())));
        let started = Instant::now();
        job(spec, args).unwrap();
        let whole = started.elapsed();
        println!(
            "recovery of {keys} keys at -w {workers}: checkpoint parts {:.1} MB (taken at -w 1); restore, fire the window and end: {:.2} s",
            bytes as f64 / 1e6,
            whole.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
