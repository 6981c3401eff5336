//! The Nexmark benchmark: runs one query (or all) over generated events and prints
//! throughput, CPU time, output rows and peak memory.
//!
//! ```text
//! cargo run --release --features nexmark --bin nexmark -- --query q5 --events 10000000 -w 2
//! cargo run --release --features nexmark --bin nexmark -- --query all --events 10000000 --pregenerated
//! ```
//! `--pregenerated` generates each worker's events into memory before the clock starts,
//! so that the figures are the engine's alone. `--query q1-timely` (also q5, q7) runs the
//! hand-written timely version of a query, for the DSL's overhead as a ratio; `--query
//! q1-sql` (also q0, q2) its SQL version, for SQL's. `--query
//! all` runs each query in a process of its own and prints a table; `--query gen` runs
//! the generator alone on one thread.

use std::process::Command;
use std::time::Instant;

use tidemill::clap::{self, Parser};
use tidemill::nexmark::{self, Config, Pregenerated};
use tidemill::{Args, Collector, Result};

use tidemill::nexmark_queries::{
    self as queries, sql as sql_queries, timely as timely_queries, Events,
};

#[derive(Parser)]
#[command(disable_help_flag = true, about = "Runs the Nexmark queries")]
struct Cli {
    #[command(flatten)]
    tidemill: Args,
    /// The query: q0 q1 q2 q3 q4 q5 q7 q8 q9 q11 q12 q14 q17 q18 q19, an SQL version
    /// q0-sql q1-sql q2-sql, a hand-written timely version q1-timely q5-timely q7-timely,
    /// `gen` (the generator alone, on one thread), or `all`.
    #[arg(long, default_value = "q0")]
    query: String,
    /// How many events to generate.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Generate the events into memory before the clock starts.
    #[arg(long)]
    pregenerated: bool,
    /// With `all`: run each query this many times and report the run with the median
    /// events/s, with the range over the runs.
    #[arg(long, default_value_t = 1)]
    runs: usize,
}

/// Every query `all` runs, in order.
const ALL: [&str; 21] = [
    "q0",
    "q0-sql",
    "q1",
    "q1-sql",
    "q1-timely",
    "q2",
    "q2-sql",
    "q3",
    "q4",
    "q5",
    "q5-timely",
    "q7",
    "q7-timely",
    "q8",
    "q9",
    "q11",
    "q12",
    "q14",
    "q17",
    "q18",
    "q19",
];

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.query == "all" {
        return all(&cli);
    }
    if cli.query == "gen" {
        return generate_only(cli.events);
    }
    let config = Config::with_events(cli.events);
    let event_rate = config.event_rate;
    let source = nexmark::events(config);
    let mut args = cli.tidemill.clone();
    // The workers' shares of the generator interleave event time: keep their sources in
    // step (watermark alignment), unless the command line says otherwise. One source
    // batch of each worker spans `source_batch * peers` events of the sequence, and a
    // source sees the others' progress a step late, so the bound is four batches of event
    // time: at one batch (820 ms at -w 2) the sources waited on each other every other
    // batch, and q1 made 11.7-13.1M events/s at -w 2 against 13.9-14.3M.
    let peers = args.workers * args.processes.max(1);
    let batch_ms = args.source_batch * peers * 1000 / event_rate.max(1);
    args.max_watermark_drift.get_or_insert(4 * batch_ms.max(1));
    let mut baseline_rss = None;
    let measured = if cli.pregenerated {
        let local = args.workers as usize;
        let first = args.process as usize * local;
        let peers = local * args.processes.max(1) as usize;
        let pre = Pregenerated::new(&source, first, local, peers);
        baseline_rss = Some(peak_rss_mb());
        // `pre` outlives the clock: the emptied buffers are freed after it stops.
        measure(|| run(&cli.query, args, pre.clone()))?
    } else {
        measure(|| run(&cli.query, args, source))?
    };
    let (rows, elapsed, cpu) = measured;
    let rss = peak_rss_mb();
    let rate = cli.events as f64 / elapsed;
    println!(
        "{} {}: {:.2}M events/s, {elapsed:.2} s, {cpu:.2} CPU s, {rows} rows, peak RSS {rss:.0} MB{}",
        cli.query,
        if cli.pregenerated { "pregenerated" } else { "generated" },
        rate / 1e6,
        baseline_rss.map_or(String::new(), |b| format!(" ({b:.0} MB after generating)")),
    );
    println!(
        "RESULT {} {rate:.0} {elapsed:.3} {cpu:.3} {rows} {rss:.0}",
        cli.query
    );
    Ok(())
}

/// The generator alone on this thread: `gen` measures events/s per core, without a job.
fn generate_only(events: u64) -> Result<()> {
    let generator = nexmark::Generator::new(Config::with_events(events));
    let (cpu0, start) = (cpu_seconds(), Instant::now());
    let mut bytes = 0usize;
    for n in 0..events {
        let event = std::hint::black_box(generator.event(n));
        bytes += match &event {
            nexmark::Event::Person(p) => p.extra.len(),
            nexmark::Event::Auction(a) => a.extra.len(),
            nexmark::Event::Bid(b) => b.extra.len(),
        };
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (cpu, rate) = (cpu_seconds() - cpu0, events as f64 / elapsed);
    println!(
        "gen: {:.2}M events/s on one thread, {elapsed:.2} s, {cpu:.2} CPU s, {:.0} bytes of extra per event",
        rate / 1e6,
        bytes as f64 / events.max(1) as f64
    );
    println!(
        "RESULT gen {rate:.0} {elapsed:.3} {cpu:.3} {events} {:.0}",
        peak_rss_mb()
    );
    Ok(())
}

/// Runs `job`, returning its output rows, wall seconds and CPU seconds.
fn measure(job: impl FnOnce() -> Result<u64>) -> Result<(u64, f64, f64)> {
    let (cpu0, start) = (cpu_seconds(), Instant::now());
    let rows = job()?;
    Ok((rows, start.elapsed().as_secs_f64(), cpu_seconds() - cpu0))
}

/// Runs query `name` over `events`, counting its output rows.
fn run(name: &str, args: Args, events: impl Events) -> Result<u64> {
    macro_rules! counted {
        ($query:path) => {{
            let out = Collector::counting();
            $query(args, events, &out)?;
            out.count()
        }};
    }
    Ok(match name {
        "q0" => counted!(queries::q0),
        "q1" => counted!(queries::q1),
        "q2" => counted!(queries::q2),
        "q3" => counted!(queries::q3),
        "q4" => counted!(queries::q4),
        "q5" => counted!(queries::q5),
        "q7" => counted!(queries::q7),
        "q8" => counted!(queries::q8),
        "q9" => counted!(queries::q9),
        "q11" => counted!(queries::q11),
        "q12" => counted!(queries::q12),
        "q14" => counted!(queries::q14),
        "q17" => counted!(queries::q17),
        "q18" => counted!(queries::q18),
        "q19" => counted!(queries::q19),
        "q0-sql" => counted!(sql_queries::q0),
        "q1-sql" => counted!(sql_queries::q1),
        "q2-sql" => counted!(sql_queries::q2),
        "q1-timely" => counted!(timely_queries::q1),
        "q5-timely" => counted!(timely_queries::q5),
        "q7-timely" => counted!(timely_queries::q7),
        other => {
            return Err(tidemill::Error::Config(format!(
                "unknown query `{other}`: one of {} or all",
                ALL.join(" ")
            )))
        }
    })
}

/// Runs every query in a process of its own (so that peak memory is each query's) and
/// prints a table.
fn all(cli: &Cli) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| tidemill::Error::Config(e.to_string()))?;
    // Every flag but the query, which each child gets as `--query NAME`.
    let mut argv: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--query" {
            args.next();
        } else if !arg.starts_with("--query=") {
            argv.push(arg);
        }
    }
    argv.push("--query".to_string());
    let at = argv.len();
    argv.push(String::new());
    let mode = if cli.pregenerated {
        "pregenerated"
    } else {
        "generated"
    };
    let runs = cli.runs.max(1);
    println!(
        "{} events, {mode}, -w {}:\n\n| query | events/s | range over {runs} runs | elapsed s | CPU s | rows | peak RSS MB |",
        cli.events, cli.tidemill.workers
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for query in ALL {
        argv[at] = query.to_string();
        // Each run's RESULT fields: query, events/s, elapsed, CPU, rows, peak RSS.
        let mut results: Vec<Vec<String>> = Vec::new();
        let mut failure = None;
        for _ in 0..runs {
            let output = Command::new(&exe)
                .args(&argv)
                .output()
                .map_err(|e| tidemill::Error::Config(e.to_string()))?;
            let stdout = String::from_utf8_lossy(&output.stdout);
            match stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) {
                Some(line) => results.push(line.split(' ').map(str::to_owned).collect()),
                None => {
                    failure = Some(String::from_utf8_lossy(&output.stderr).trim().to_owned());
                    break;
                }
            }
        }
        if let Some(error) = failure {
            println!("| {query} | failed: {error} | | | | | |");
            continue;
        }
        let rate = |r: &Vec<String>| r[1].parse::<f64>().unwrap_or(0.0);
        results.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
        let median = &results[results.len() / 2];
        println!(
            "| {query} | {:.2}M | {:.2}M–{:.2}M | {} | {} | {} | {} |",
            rate(median) / 1e6,
            rate(&results[0]) / 1e6,
            rate(&results[results.len() - 1]) / 1e6,
            median[2],
            median[3],
            median[4],
            median[5]
        );
    }
    Ok(())
}

/// User plus system CPU seconds of this process so far (Linux: `/proc/self/stat`).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th field.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // `rest` starts at field 3 (state); utime is field 14, stime 15. Clock ticks are 100/s
    // on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory of this process, MB (Linux: `VmHWM` in `/proc/self/status`).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
