//! Checkpoints and recovery.
//!
//! - Real processes killed with SIGKILL at random points (during checkpoint writes too)
//!   and restarted with `--restore latest` give exactly the output of an uninterrupted
//!   run, which is checked against a brute-force count.
//! - In process: a job with tumbling, sliding, session or count windows over random
//!   out-of-order input, restored from every checkpoint it took, at 1, 2 and 4 workers,
//!   ends with the uninterrupted output, which brute force computes.
//! - A damaged or partial checkpoint is skipped for the previous one; one of another
//!   pipeline is refused; a pipeline with an operator that cannot be checkpointed yet
//!   fails at start-up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tidemill::checkpoint::Restore;
use tidemill::prelude::*;

mod common;

/// A fresh, empty temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(common::unique(&format!("tidemill-ckpt-{name}")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The committed lines of an output directory and its subdirectories, sorted; fails on
/// in-progress files left behind by a finished job.
fn committed_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        assert!(
            !name.ends_with(".inprogress"),
            "a finished job left {name} in {}",
            dir.display()
        );
        if entry.file_type().unwrap().is_dir() {
            lines.extend(committed_lines(&entry.path()));
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        lines.extend(text.lines().map(str::to_string));
    }
    lines.sort();
    lines
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Reading {
    sensor: u64,
    ts: u64,
    value: u64,
}

/// `{"key", "start", "end", "value": [count, sum]}` lines of one-second windows, by brute
/// force.
fn reference(readings: &[Reading]) -> Vec<String> {
    let mut windows: BTreeMap<(u64, u64), (u64, u64)> = BTreeMap::new();
    for r in readings {
        let w = windows.entry((r.sensor, r.ts / 1000 * 1000)).or_default();
        w.0 += 1;
        w.1 += r.value;
    }
    let mut lines: Vec<String> = windows
        .iter()
        .map(|((key, start), (n, sum))| {
            format!(
                r#"{{"key":{key},"start":{start},"end":{},"value":[{n},{sum}]}}"#,
                start + 1000
            )
        })
        .collect();
    lines.sort();
    lines
}

fn read_readings(path: &Path) -> Vec<Reading> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `cmd` to its end, collecting its output; fails the test if it runs for more than
/// two minutes (a job that hangs), killing it.
fn output(mut cmd: Command) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the job did not end within two minutes: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// A xorshift generator for kill times.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn jobs_killed_at_random_points_and_restored_give_the_uninterrupted_output() {
    let example = common::example_binary("checkpointed_counts");
    let dir = temp_dir("kill");
    let input = dir.join("readings.jsonl");
    let status = Command::new(&example)
        .args(["--generate", "20000"])
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.success());
    let want = reference(&read_readings(&input));
    let job = |out: &Path, ckpt: &Path, workers: &str, restore: bool| {
        let mut cmd = Command::new(&example);
        cmd.arg(&input)
            .arg(out)
            .args(["-w", workers, "--source-batch", "100", "--pace", "10"])
            .args(["--checkpoint-interval", "20ms", "--checkpoint-dir"])
            .arg(ckpt)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if restore {
            cmd.args(["--restore", "latest"]);
        }
        cmd
    };
    let kills = kill_and_restore(&dir, 10, &want, job);
    assert!(kills >= 15, "only {kills} of 20 kills hit a running job");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the job made by `job(out, ckpt, workers, restore)` uninterrupted at one and two
/// workers, which must leave `want`; then `runs` jobs, at one and two workers in turn, each
/// killed (SIGKILL) twice at random points (in the first half of the uninterrupted run's
/// time, then in the first quarter of it once restored) and then restored to its end, which must leave `want` too.
/// Returns how many kills hit a running job.
fn kill_and_restore(
    dir: &Path,
    runs: u32,
    want: &[String],
    job: impl Fn(&Path, &Path, &str, bool) -> Command,
) -> u32 {
    // Uninterrupted, with checkpoints: the reference, and how long a run takes.
    let mut durations = BTreeMap::new();
    for workers in ["1", "2"] {
        let (out, ckpt) = (dir.join(format!("whole{workers}")), dir.join("whole-ckpt"));
        let _ = std::fs::remove_dir_all(&ckpt);
        let started = Instant::now();
        let whole = output(job(&out, &ckpt, workers, false));
        durations.insert(workers, started.elapsed().as_millis() as u64);
        assert!(whole.status.success(), "{whole:?}");
        assert_eq!(
            committed_lines(&out),
            want,
            "the uninterrupted run at -w {workers}"
        );
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut kills = 0;
    for run in 0..runs {
        let workers = if run % 2 == 0 { "1" } else { "2" };
        let (out, ckpt) = (
            dir.join(format!("out{run}")),
            dir.join(format!("ckpt{run}")),
        );
        for attempt in 0..2 {
            let mut child = job(&out, &ckpt, workers, attempt > 0).spawn().unwrap();
            // A restored run has less left to do: its kill comes sooner.
            let within = durations[workers] / if attempt == 0 { 2 } else { 4 };
            let at = 20 + rng.below(within.max(40));
            std::thread::sleep(Duration::from_millis(at));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                kills += 1;
            }
            child.wait().unwrap();
        }
        let last = output(job(&out, &ckpt, workers, true));
        assert!(last.status.success(), "run {run}: {last:?}");
        assert_eq!(
            committed_lines(&out),
            want,
            "run {run} at -w {workers}: {}",
            String::from_utf8_lossy(&last.stderr)
        );
    }
    kills
}

#[test]
fn a_process_function_killed_and_restored_gives_the_uninterrupted_output() {
    // Transactions of 30 accounts, up to 3 s out of order: a fifth small, a seventh large.
    let example = common::example_binary("fraud_detection");
    let dir = temp_dir("kill-fraud");
    let input = dir.join("transactions.jsonl");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut t = 1_546_300_800_000u64;
    let mut text = String::new();
    for id in 0..30_000 {
        t += rng.below(400);
        let amount = match rng.below(20) {
            0..=3 => 0.01 + rng.below(98) as f64 / 100.0,
            4..=6 => 501.0 + rng.below(400) as f64,
            _ => 1.0 + rng.below(400) as f64,
        };
        let (account, ts) = (rng.below(30), t - rng.below(3000));
        text += &format!(
            r#"{{"transaction_id":{id},"account_id":{account},"amount":{amount},"timestamp":{ts}}}"#
        );
        text.push('\n');
    }
    std::fs::write(&input, text).unwrap();
    // Without checkpoints, printed: what every run must leave.
    let printed = output({
        let mut cmd = Command::new(&example);
        cmd.arg(&input).args(["-w", "2"]);
        cmd
    });
    assert!(printed.status.success(), "{printed:?}");
    let mut want: Vec<String> = String::from_utf8(printed.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    want.sort();
    assert!(want.iter().any(|l| l.starts_with("alert")), "{want:?}");
    assert!(want.iter().any(|l| l.starts_with("expired")), "{want:?}");
    let job = |out: &Path, ckpt: &Path, workers: &str, restore: bool| {
        let mut cmd = Command::new(&example);
        cmd.arg(&input)
            .arg("--output")
            .arg(out)
            .args(["-w", workers, "--source-batch", "100"])
            .args(["--checkpoint-interval", "20ms", "--checkpoint-dir"])
            .arg(ckpt)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if restore {
            cmd.args(["--restore", "latest"]);
        }
        cmd
    };
    let kills = kill_and_restore(&dir, 6, &want, job);
    assert!(kills >= 8, "only {kills} of 12 kills hit a running job");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The window kinds the in-process tests restore.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Tumbling,
    Sliding,
    Session,
    /// Count windows of 3 records (per key, in arrival order: one worker only).
    Count,
    /// A rolling sum per key in batch mode: each key's final sum.
    Rolling,
    /// The same in streaming mode: every update (in arrival order: one worker only).
    RollingUpdates,
    /// Odd sensors' readings joined with the even ones' of the same pair within 100 ms.
    IntervalJoin,
    /// A process function ([`BucketTotals`]): keyed map and value state, event-time timers.
    Process,
    /// A table join of each reading with the rows of its sensor in [`table_rows`], read
    /// slowly: records wait for the table across many checkpoints.
    LookupJoin,
}

/// The table of the table join: `(key, value)`, keys 0 to 6 (sensors have 0 to 4).
fn table_rows() -> Vec<(u64, u64)> {
    (0..60).map(|i| (i % 7, i)).collect()
}

/// A row, 300 µs later.
fn slow_row(row: (u64, u64)) -> (u64, u64) {
    std::thread::sleep(Duration::from_micros(300));
    row
}

/// Runs a per-sensor count and sum over `readings` (a JSON-lines file) in windows of
/// `kind` at `workers`, with checkpoints into `ckpt` every millisecond, restoring
/// `restore` if given.
fn run_counts(
    kind: Kind,
    readings: &Path,
    out: &Path,
    ckpt: &Path,
    workers: u64,
    restore: Option<Restore>,
) -> tidemill::Result<tidemill::JobReport> {
    let mut args = Args::with_workers(workers)
        .source_batch(7)
        .checkpoints(ckpt, Duration::from_millis(1));
    args.checkpoints_retained = 10_000;
    args.restore = restore;
    if matches!(kind, Kind::RollingUpdates) {
        args = args.execution_mode(ExecutionMode::Streaming);
    }
    let (readings, out) = (readings.to_path_buf(), out.to_path_buf());
    match kind {
        Kind::LookupJoin => tidemill::run(
            args,
            stream! {
                let table = from_collection(table_rows()).map(slow_row);
                from_source(json_lines::<Reading>(readings))
                    .map(slowly)
                    .assign_timestamps(|r| r.ts, out_of_orderness = 300ms)
                    .lookup_join(table)
                    .on(|r| r.sensor, |row| row.0)
                    .apply(|r, row| (r.ts, r.sensor, row.1))
                    .sink(json_lines_sink(out));
            },
        ),
        Kind::Process => tidemill::run(
            args,
            stream! {
                from_source(json_lines::<Reading>(readings))
                    .map(slowly)
                    .assign_timestamps(|r| r.ts, out_of_orderness = 300ms)
                    .key_by(|r| r.sensor)
                    .process(BucketTotals::default())
                    .sink(json_lines_sink(out));
            },
        ),
        Kind::IntervalJoin => tidemill::run(
            args,
            stream! {
                let readings = from_source(json_lines::<Reading>(readings))
                    .map(slowly)
                    .assign_timestamps(|r| r.ts, out_of_orderness = 300ms);
                let evens = readings.filter(|r| r.sensor % 2 == 0).key_by(|r| r.sensor / 2);
                readings
                    .filter(|r| r.sensor % 2 == 1)
                    .key_by(|r| r.sensor / 2)
                    .interval_join(evens)
                    .between(-100ms, 100ms)
                    .process(|a, b, _ctx, out| out.push((a.ts, b.ts, a.value + b.value)))
                    .sink(json_lines_sink(out));
            },
        ),
        Kind::Rolling | Kind::RollingUpdates => tidemill::run(
            args,
            stream! {
                from_source(json_lines::<Reading>(readings))
                    .map(slowly)
                    .key_by(|r| r.sensor)
                    .sum(|r| r.value)
                    .sink(json_lines_sink(out));
            },
        ),
        Kind::Tumbling => tidemill::run(
            args,
            stream! {
                from_source(json_lines::<Reading>(readings))
                    .map(slowly)
                    .assign_timestamps(|r| r.ts, out_of_orderness = 300ms)
                    .key_by(|r| r.sensor)
                    .window(tumbling(1s))
                    .aggregate(CountSum)
                    .sink(json_lines_sink(out));
            },
        ),
        Kind::Sliding => tidemill::run(
            args,
            stream! {
                from_source(json_lines::<Reading>(readings))
                    .map(slowly)
                    .assign_timestamps(|r| r.ts, out_of_orderness = 300ms)
                    .key_by(|r| r.sensor)
                    .window(sliding(1s, 500ms))
                    .aggregate(CountSum)
                    .sink(json_lines_sink(out));
            },
        ),
        Kind::Session => tidemill::run(
            args,
            stream! {
                from_source(json_lines::<Reading>(readings))
                    .map(slowly)
                    .assign_timestamps(|r| r.ts, out_of_orderness = 300ms)
                    .key_by(|r| r.sensor)
                    .window(session(60ms))
                    .aggregate(CountSum)
                    .sink(json_lines_sink(out));
            },
        ),
        Kind::Count => tidemill::run(
            args,
            stream! {
                from_source(json_lines::<Reading>(readings))
                    .map(slowly)
                    .assign_timestamps(|r| r.ts, out_of_orderness = 300ms)
                    .key_by(|r| r.sensor)
                    .count_window(3)
                    .aggregate(CountSum)
                    .sink(json_lines_sink(out));
            },
        ),
    }
}

/// A reading, 500 µs later: a run lasts tens of milliseconds, so a checkpoint every
/// millisecond cuts it in many places.
fn slowly(r: Reading) -> Reading {
    std::thread::sleep(Duration::from_micros(500));
    r
}

/// The result lines of windows of `kind` over `readings`, by brute force.
fn reference_of(kind: Kind, readings: &[Reading]) -> Vec<String> {
    // (key, start, end) -> (count, sum)
    let mut windows: BTreeMap<(u64, i64, i64), (u64, u64)> = BTreeMap::new();
    let mut add = |key: u64, start: i64, end: i64, r: &Reading| {
        let w = windows.entry((key, start, end)).or_default();
        w.0 += 1;
        w.1 += r.value;
    };
    match kind {
        Kind::Tumbling => return reference(readings),
        Kind::LookupJoin => {
            let mut lines = Vec::new();
            for r in readings {
                for (key, value) in table_rows() {
                    if key == r.sensor {
                        lines.push(format!("[{},{},{value}]", r.ts, r.sensor));
                    }
                }
            }
            lines.sort();
            return lines;
        }
        Kind::Process => {
            let mut buckets: BTreeMap<(u64, u64), (u64, u64)> = BTreeMap::new();
            for r in readings {
                let b = buckets.entry((r.sensor, bucket_end(r.ts))).or_default();
                b.0 += 1;
                b.1 += r.value;
            }
            let mut totals: BTreeMap<u64, u64> = BTreeMap::new();
            let mut lines: Vec<String> = buckets
                .iter()
                .map(|(&(sensor, end), &(n, sum))| {
                    let total = totals.entry(sensor).or_default();
                    *total += n;
                    format!("[{sensor},{end},{n},{sum},{total}]")
                })
                .collect();
            lines.sort();
            return lines;
        }
        Kind::IntervalJoin => {
            let mut lines = Vec::new();
            for a in readings.iter().filter(|r| r.sensor % 2 == 1) {
                for b in readings.iter().filter(|r| r.sensor % 2 == 0) {
                    let close = (b.ts as i64 - a.ts as i64).abs() <= 100;
                    if a.sensor / 2 == b.sensor / 2 && close {
                        lines.push(format!("[{},{},{}]", a.ts, b.ts, a.value + b.value));
                    }
                }
            }
            lines.sort();
            return lines;
        }
        Kind::Rolling => {
            let mut sums: BTreeMap<u64, u64> = BTreeMap::new();
            for r in readings {
                *sums.entry(r.sensor).or_default() += r.value;
            }
            let mut lines: Vec<String> = sums.iter().map(|(k, v)| format!("[{k},{v}]")).collect();
            lines.sort();
            return lines;
        }
        Kind::Sliding => {
            for r in readings {
                let last = (r.ts / 500 * 500) as i64;
                for start in [last - 500, last] {
                    add(r.sensor, start, start + 1000, r);
                }
            }
        }
        Kind::Session => {
            let mut by_key: BTreeMap<u64, Vec<&Reading>> = BTreeMap::new();
            for r in readings {
                by_key.entry(r.sensor).or_default().push(r);
            }
            for (key, mut rs) in by_key {
                rs.sort_by_key(|r| r.ts);
                let mut members: Vec<&Reading> = Vec::new();
                let mut flush = |members: &mut Vec<&Reading>| {
                    let (start, end) = (members[0].ts, members.last().unwrap().ts + 60);
                    for r in members.drain(..) {
                        add(key, start as i64, end as i64, r);
                    }
                };
                for r in rs {
                    if members.last().is_some_and(|last| r.ts > last.ts + 60) {
                        flush(&mut members);
                    }
                    members.push(r);
                }
                flush(&mut members);
            }
        }
        Kind::Count | Kind::RollingUpdates => {
            unreachable!("arrival order decides: compared with the uninterrupted run")
        }
    }
    let mut lines: Vec<String> = windows
        .iter()
        .map(|((key, start, end), (n, sum))| {
            format!(r#"{{"key":{key},"start":{start},"end":{end},"value":[{n},{sum}]}}"#)
        })
        .collect();
    lines.sort();
    lines
}

/// The end of the 100 ms bucket of a timestamp.
fn bucket_end(ts: u64) -> u64 {
    ts / 100 * 100 + 100
}

/// Per sensor, the count and sum of each 100 ms bucket of readings, once the watermark
/// passes it, with the sensor's running count: `(sensor, end, count, sum, total)`.
#[derive(Default, Serialize, Deserialize)]
struct BucketTotals {
    /// Count and sum of the open buckets, by end.
    open: MapState<u64, u64, (u64, u64)>,
    /// Readings counted in closed buckets.
    total: ValueState<u64, u64>,
}

impl KeyedProcessFunction<u64, Reading> for BucketTotals {
    type Out = (u64, u64, u64, u64, u64);

    fn process_element(&mut self, r: Reading, ctx: &mut Context<'_, u64>, _: &mut Vec<Self::Out>) {
        let end = bucket_end(r.ts);
        let (n, sum) = self.open.get(ctx, &end).copied().unwrap_or_default();
        self.open.put(ctx, end, (n + 1, sum + r.value));
        ctx.register_event_time_timer(end - 1);
    }

    fn on_timer(&mut self, time: u64, ctx: &mut Context<'_, u64>, out: &mut Vec<Self::Out>) {
        let end = time + 1;
        let (n, sum) = self
            .open
            .remove(ctx, &end)
            .expect("a timer per open bucket");
        let total = self.total.value(ctx).copied().unwrap_or(0) + n;
        self.total.update(ctx, total);
        out.push((*ctx.key(), end, n, sum, total));
    }
}

struct CountSum;

impl Aggregator<Reading> for CountSum {
    type Acc = (u64, u64);
    type Out = (u64, u64);
    fn init(&self) -> (u64, u64) {
        (0, 0)
    }
    fn add(&self, acc: &mut (u64, u64), r: Reading) {
        acc.0 += 1;
        acc.1 += r.value;
    }
    fn merge(&self, acc: &mut (u64, u64), other: &(u64, u64)) {
        acc.0 += other.0;
        acc.1 += other.1;
    }
    fn finish(&self, acc: &(u64, u64)) -> (u64, u64) {
        *acc
    }
}

/// Readings of a few sensors, in order of `ts` but up to 300 ms out of order.
fn readings() -> impl Strategy<Value = Vec<Reading>> {
    prop::collection::vec((0u64..5, 0u64..40, 0u64..300, 0u64..100), 100..400).prop_map(|raw| {
        let mut t = 1_000_000;
        raw.into_iter()
            .map(|(sensor, step, back, value)| {
                t += step;
                Reading {
                    sensor,
                    ts: t - back.min(t - 1_000_000),
                    value,
                }
            })
            .collect()
    })
}

fn write_readings(path: &Path, readings: &[Reading]) {
    let text: String = readings
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(path, text).unwrap();
}

/// The manifests in a checkpoint directory, oldest first.
fn manifests(ckpt: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(ckpt) else {
        return Vec::new(); // not made yet
    };
    let mut found: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    found.sort();
    found
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn restoring_any_checkpoint_ends_with_the_uninterrupted_output(
        readings in readings(),
        workers in prop::sample::select(vec![1u64, 2, 4]),
        kind in prop::sample::select(vec![
            Kind::Tumbling,
            Kind::Sliding,
            Kind::Session,
            Kind::Count,
            Kind::Rolling,
            Kind::RollingUpdates,
            Kind::IntervalJoin,
            Kind::Process,
            Kind::LookupJoin,
        ]),
    ) {
        // Count windows and rolling updates follow each key's arrival order, which more
        // workers interleave.
        let ordered = matches!(kind, Kind::Count | Kind::RollingUpdates);
        let workers = if ordered { 1 } else { workers };
        let dir = temp_dir("cuts");
        let input = dir.join("readings.jsonl");
        write_readings(&input, &readings);
        let (out, ckpt) = (dir.join("out"), dir.join("ckpt"));
        run_counts(kind, &input, &out, &ckpt, workers, None).unwrap();
        let want = committed_lines(&out);
        // Arrival order, which the source's batches by time shape, decides for count
        // windows and rolling updates: restored runs are compared with the uninterrupted
        // one only.
        if !ordered {
            prop_assert_eq!(&want, &reference_of(kind, &readings));
        }
        let all = manifests(&ckpt);
        // At least one periodic checkpoint besides the final one.
        prop_assert!(all.len() >= 2, "{} checkpoints", all.len());
        // Restore eight checkpoints spread over the run (the first and the last among
        // them), into a copy of the directory each time (restoring one forgets the later
        // ones), over the output the whole run left.
        let step = all.len().div_ceil(8);
        let chosen = all.iter().step_by(step).chain(all.last());
        for manifest in chosen {
            let copy = dir.join("restore-ckpt");
            let _ = std::fs::remove_dir_all(&copy);
            copy_dir(&ckpt, &copy);
            let restore = Restore::Manifest(copy.join(manifest.file_name().unwrap()));
            let out = dir.join("restored");
            let _ = std::fs::remove_dir_all(&out);
            copy_dir(&dir.join("out"), &out);
            run_counts(kind, &input, &out, &copy, workers, Some(restore)).unwrap();
            prop_assert_eq!(
                committed_lines(&out),
                want.clone(),
                "{:?} at -w {} restored {}",
                kind,
                workers,
                manifest.display()
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn copy_dir(from: &Path, to: &Path) {
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

#[test]
fn a_damaged_or_partial_checkpoint_is_skipped_and_another_pipelines_is_refused() {
    let example = common::example_binary("checkpointed_counts");
    let dir = temp_dir("bad");
    let input = dir.join("readings.jsonl");
    let status = Command::new(&example)
        .args(["--generate", "5000"])
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.success());
    let want = reference(&read_readings(&input));
    let (out, ckpt) = (dir.join("out"), dir.join("ckpt"));
    let job = |restore: bool| {
        let mut cmd = Command::new(&example);
        cmd.arg(&input)
            .arg(&out)
            .args(["-w", "2", "--source-batch", "50", "--pace", "5"])
            .args([
                "--checkpoint-interval",
                "10ms",
                "--checkpoints-retained",
                "4",
            ])
            .arg("--checkpoint-dir")
            .arg(&ckpt);
        if restore {
            cmd.args(["--restore", "latest"]);
        }
        output(cmd)
    };
    assert!(job(false).status.success());
    let all = manifests(&ckpt);
    assert_eq!(all.len(), 4, "{all:?}");
    let parts = |manifest: &Path| -> Vec<PathBuf> {
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
        m["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| ckpt.join("parts").join(p["file"].as_str().unwrap()))
            .collect()
    };
    // The newest: one of its parts truncated. The one before: a part missing.
    let truncated = parts(&all[3])
        .into_iter()
        .find(|p| p.to_str().unwrap().contains("window"))
        .unwrap();
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let missing = parts(&all[2])
        .into_iter()
        .find(|p| p.to_str().unwrap().contains("source") && !parts(&all[1]).contains(p))
        .expect("a part of its own");
    std::fs::remove_file(&missing).unwrap();
    let restored = job(true);
    let stderr = String::from_utf8_lossy(&restored.stderr);
    assert!(restored.status.success(), "{stderr}");
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        stderr.contains("skipping checkpoint") && stderr.contains(&name(&truncated)),
        "the truncated part is named: {stderr}"
    );
    assert!(
        stderr.contains(&name(&missing)),
        "the missing part is named: {stderr}"
    );
    let id = name(&all[1]);
    let id: u64 = id[4..id.len() - 5].parse().unwrap();
    assert!(
        stderr.contains(&format!("restoring checkpoint {id} ")),
        "the intact one before them is used: {stderr}"
    );
    assert_eq!(committed_lines(&out), want);

    // Starting afresh over them is refused: it would throw them away.
    let fresh = job(false);
    let stderr = String::from_utf8_lossy(&fresh.stderr);
    assert!(!fresh.status.success());
    assert!(stderr.contains("--restore latest"), "{stderr}");
    assert_eq!(committed_lines(&out), want, "the refused run wrote nothing");

    // Another pipeline's checkpoint is refused, and nothing is written.
    let mut other = Command::new(common::example_binary("windowed_wordcount"));
    other
        .arg("--checkpoint-dir")
        .arg(&ckpt)
        .args(["--restore", "latest"]);
    let other = output(other);
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(!other.status.success());
    assert!(stderr.contains("another pipeline"), "{stderr}");
    assert!(other.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A process function whose state serde cannot write.
struct Unserializable;

impl KeyedProcessFunction<u64, Reading> for Unserializable {
    type Out = u64;

    fn process_element(&mut self, r: Reading, _: &mut Context<'_, u64>, out: &mut Vec<u64>) {
        out.push(r.value);
    }
}

#[test]
fn operators_whose_state_serde_cannot_write_fail_the_job_at_start_up() {
    let dir = temp_dir("unsupported");
    let out = Collector::new();
    let readings: Vec<Reading> = (0..100)
        .map(|i| Reading {
            sensor: i % 3,
            ts: i,
            value: i,
        })
        .collect();
    let args = Args::with_workers(2).checkpoints(dir.join("ckpt"), Duration::from_millis(1));
    let result = tidemill::run(
        args,
        stream! {
            from_collection(readings)
                .assign_timestamps(|r| r.ts)
                .key_by(|r| r.sensor)
                .process(Unserializable)
                .collect(out);
        },
    );
    let error = result.expect_err("refused").to_string();
    assert!(
        error.contains("the process function `process` cannot be checkpointed")
            && error.contains("Unserializable")
            && error.contains("does not implement serde's Serialize and Deserialize"),
        "{error}"
    );
    assert!(out.take().is_empty(), "nothing ran");
    // A table join's records wait for the table: they are state too.
    let args = Args::with_workers(2).checkpoints(dir.join("ckpt2"), Duration::from_millis(1));
    let joined = Collector::new();
    let result = tidemill::run(
        args,
        stream! {
            let table = from_collection(vec![(1u64, 10u64)]);
            from_collection((0..100u64).map(NotSerde).collect::<Vec<_>>())
                .lookup_join(table)
                .on(|r| r.0 % 3, |row| row.0)
                .apply(|r, row| r.0 + row.1)
                .collect(joined);
        },
    );
    let error = result.expect_err("refused").to_string();
    assert!(
        error.contains("the table join `apply` cannot be checkpointed")
            && error.contains("NotSerde"),
        "{error}"
    );
    assert!(joined.take().is_empty(), "nothing ran");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A record that serde cannot write.
#[derive(Clone)]
struct NotSerde(u64);

/// Worker 0 reads 100 timestamps, then every reader waits, idle and without an idle
/// timeout, until `stop` is set: worker 1's watermark never moves from 0.
#[derive(Clone)]
struct Stuck {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

struct StuckReader {
    index: usize,
    sent: u64,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl tidemill::sources::SourceSpec for Stuck {
    type Reader = StuckReader;
    fn open(&self, index: usize, _peers: usize) -> tidemill::Result<StuckReader> {
        Ok(StuckReader {
            index,
            sent: 0,
            stop: std::sync::Arc::clone(&self.stop),
        })
    }
}

impl tidemill::sources::Reader for StuckReader {
    type Item = u64;
    fn read(
        &mut self,
        _budget: usize,
        out: &mut dyn FnMut(u64),
    ) -> tidemill::Result<tidemill::sources::Status> {
        use tidemill::sources::Status;
        if self.stop.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(Status::Done);
        }
        if self.index == 0 && self.sent < 100 {
            for _ in 0..10 {
                out(1_000 + self.sent);
                self.sent += 1;
            }
            return Ok(Status::More);
        }
        Ok(Status::Idle)
    }
    fn position(&self) -> Option<Vec<(u32, u64)>> {
        Some(vec![(0, self.sent)])
    }
}

#[test]
fn checkpoints_complete_while_the_watermark_stands_still() {
    let dir = temp_dir("stuck");
    let (out, ckpt) = (dir.join("out"), dir.join("ckpt"));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spec = Stuck {
        stop: std::sync::Arc::clone(&stop),
    };
    let args = Args::with_workers(2).checkpoints(&ckpt, Duration::from_millis(50));
    let out_dir = out.clone();
    let job = std::thread::spawn(move || {
        tidemill::run(
            args,
            stream! {
                from_source(spec)
                    .assign_timestamps(|t| *t, out_of_orderness = 0ms)
                    .key_by(|t| t % 2)
                    .window(tumbling(10ms))
                    .count()
                    .sink(json_lines_sink(out_dir));
            },
        )
    });
    // Several checkpoints complete within twice their interval each, although worker
    // 1's watermark holds every window back.
    let started = Instant::now();
    while manifests(&ckpt).len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "checkpoints waited for the watermark"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(committed_lines(&out).is_empty(), "no window could fire yet");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    job.join().unwrap().unwrap();
    // Then every window fires: 10 windows of 10 timestamps, 5 of each key.
    let lines = committed_lines(&out);
    assert_eq!(lines.len(), 20, "{lines:?}");
    assert!(
        lines.iter().all(|l| l.ends_with(r#""value":5}"#)),
        "{lines:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_stops_with_a_savepoint_that_the_job_resumes_from() {
    let example = common::example_binary("checkpointed_counts");
    let dir = temp_dir("savepoint");
    let input = dir.join("readings.jsonl");
    let status = Command::new(&example)
        .args(["--generate", "20000"])
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.success());
    let want = reference(&read_readings(&input));
    let (out, ckpt) = (dir.join("out"), dir.join("ckpt"));
    let job = |restore: bool| {
        let mut cmd = Command::new(&example);
        cmd.arg(&input)
            .arg(&out)
            .args(["-w", "2", "--source-batch", "100", "--pace", "2"])
            .args(["--checkpoint-interval", "10s", "--checkpoint-dir"])
            .arg(&ckpt);
        if restore {
            cmd.args(["--restore", "latest"]);
        }
        cmd
    };
    let mut running = job(false).stderr(Stdio::piped()).spawn().unwrap();
    // Once the job has read for a while (no periodic checkpoint yet: the interval is
    // 10 s), stop it.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        running.try_wait().unwrap().is_none(),
        "the job ended before the signal"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &running.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    while running.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the job did not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
    let stopped = running.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert!(stopped.status.success(), "{stderr}");
    assert!(stderr.contains("stopped with savepoint"), "{stderr}");
    let partial = committed_lines(&out);
    assert!(
        partial.len() < want.len(),
        "stopped early: {} of {} windows",
        partial.len(),
        want.len()
    );
    assert!(
        partial.iter().all(|line| want.contains(line)),
        "the savepoint's output holds only complete windows"
    );
    let resumed = output(job(true));
    assert!(resumed.status.success(), "{resumed:?}");
    assert_eq!(committed_lines(&out), want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_processes_killed_and_restored_give_the_uninterrupted_output() {
    let example = common::example_binary("checkpointed_counts");
    let dir = temp_dir("processes");
    let input = dir.join("readings.jsonl");
    let status = Command::new(&example)
        .args(["--generate", "20000"])
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.success());
    let want = reference(&read_readings(&input));
    let (out, ckpt) = (dir.join("out"), dir.join("ckpt"));
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for run in 0..3 {
        let hosts = common::hostfile();
        let spawn = |process: &str, restore: bool| {
            let mut cmd = Command::new(&example);
            cmd.arg(&input)
                .arg(&out)
                .args(["-w", "2", "-n", "2", "-p", process, "-h"])
                .arg(&hosts)
                .args(["--source-batch", "100", "--pace", "10"])
                .args(["--checkpoint-interval", "20ms", "--checkpoint-dir"])
                .arg(&ckpt)
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            if restore {
                cmd.args(["--restore", "latest"]);
            }
            cmd.spawn().unwrap()
        };
        let last = run == 2;
        let mut processes = [spawn("0", run > 0), spawn("1", run > 0)];
        if !last {
            // Both processes killed at one random point, as a machine's loss would.
            std::thread::sleep(Duration::from_millis(200 + rng.below(800)));
            for p in &mut processes {
                let _ = p.kill();
            }
        }
        for p in processes {
            let output = p.wait_with_output().unwrap();
            if last {
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(output.status.success(), "{stderr}");
            }
        }
        let _ = std::fs::remove_file(&hosts);
    }
    assert_eq!(committed_lines(&out), want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_process_that_loses_its_peer_restarts_by_itself_when_the_peer_comes_back() {
    let example = common::example_binary("checkpointed_counts");
    let dir = temp_dir("lost-peer");
    let input = dir.join("readings.jsonl");
    let status = Command::new(&example)
        .args(["--generate", "20000"])
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.success());
    let want = reference(&read_readings(&input));
    let (out, ckpt) = (dir.join("out"), dir.join("ckpt"));
    let hosts = common::hostfile();
    let spawn = |process: &str, restore: bool| {
        let mut cmd = Command::new(&example);
        cmd.arg(&input)
            .arg(&out)
            .args(["-w", "2", "-n", "2", "-p", process, "-h"])
            .arg(&hosts)
            .args(["--source-batch", "100", "--pace", "10"])
            .args(["--checkpoint-interval", "20ms", "--checkpoint-dir"])
            .arg(&ckpt)
            .args(["--restart-attempts", "3", "--restart-delay", "100ms"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if restore {
            cmd.args(["--restore", "latest"]);
        }
        cmd.spawn().unwrap()
    };
    let survivor = spawn("0", false);
    let mut lost = spawn("1", false);
    std::thread::sleep(Duration::from_millis(400));
    assert!(lost.try_wait().unwrap().is_none(), "the job ended too soon");
    lost.kill().unwrap(); // SIGKILL: the machine is gone
    lost.wait().unwrap();
    // The peer comes back (a supervisor restarts it); the survivor restarts by itself.
    let back = spawn("1", true);
    for (name, p) in [("survivor", survivor), ("peer", back)] {
        let output = p.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{name}: {stderr}");
        if name == "survivor" {
            assert!(stderr.contains("restart 1 of 3"), "{stderr}");
        }
    }
    assert_eq!(committed_lines(&out), want);
    let _ = std::fs::remove_file(&hosts);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether [`panics_once`] has panicked.
static PANICKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Panics at the reading with `value` 77 and `ts` past the first half second, the first
/// time it meets one: a bug that a restart gets past.
fn panics_once(r: Reading) -> Reading {
    if r.value == 77
        && r.ts > 1_000_500
        && !PANICKED.swap(true, std::sync::atomic::Ordering::SeqCst)
    {
        panic!("injected failure at {r:?}");
    }
    slowly(r)
}

#[test]
fn a_panic_in_user_code_restarts_the_job_from_its_latest_checkpoint() {
    let dir = temp_dir("restart");
    let input = dir.join("readings.jsonl");
    let readings: Vec<Reading> = (0..600u64)
        .map(|i| Reading {
            sensor: i % 5,
            ts: 1_000_000 + i * 3 - (i * 7919 % 200).min(i * 3),
            value: i * 31 % 100,
        })
        .collect();
    write_readings(&input, &readings);
    let out = dir.join("out");
    let args = Args::with_workers(2)
        .source_batch(7)
        .checkpoints(dir.join("ckpt"), Duration::from_millis(1))
        .restarts(2, Duration::from_millis(10));
    let (file, sink) = (input.clone(), out.clone());
    let report = tidemill::run(
        args,
        stream! {
            from_source(json_lines::<Reading>(file))
                .map(panics_once)
                .assign_timestamps(|r| r.ts, out_of_orderness = 300ms)
                .key_by(|r| r.sensor)
                .window(tumbling(1s))
                .aggregate(CountSum)
                .sink(json_lines_sink(sink));
        },
    )
    .unwrap();
    assert!(PANICKED.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(report.restarts, 1);
    assert_eq!(committed_lines(&out), reference(&readings));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs of the job that keeps failing.
static FAILED_RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[test]
fn a_job_that_keeps_failing_fails_with_its_error_once_the_restarts_are_used_up() {
    let dir = temp_dir("restarts-used-up");
    let args = Args::with_workers(2)
        .checkpoints(dir.join("ckpt"), Duration::from_millis(5))
        .restarts(2, Duration::from_millis(10));
    let result = tidemill::run(
        args,
        stream! {
            from_collection((0..1000u64).collect::<Vec<_>>())
                .map(|i| {
                    if i == 500 {
                        FAILED_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        panic!("always fails at 500");
                    }
                    i
                })
                .discard();
        },
    );
    let error = result.expect_err("fails").to_string();
    assert!(error.contains("always fails at 500"), "{error}");
    assert_eq!(
        FAILED_RUNS.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "the run and two restarts"
    );
    // Without checkpoints there is nothing to restart from.
    let refused = tidemill::run(
        Args::with_workers(1).restarts(1, Duration::ZERO),
        stream! { from_collection(vec![1u64]).discard(); },
    );
    let refused = refused.expect_err("refused").to_string();
    assert!(refused.contains("needs --checkpoint-dir"), "{refused}");
    let _ = std::fs::remove_dir_all(&dir);
}
