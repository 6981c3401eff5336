//! Command-line flags of a Tidemill job: timely's `-w -n -p -h`, plus Tidemill's own.
//!
//! A program without flags of its own calls [`Args::parse`]. A program with flags of its
//! own flattens [`Args`] into its clap parser. `-h` is timely's hostfile flag, so the
//! parser must give up clap's `-h` for help (`--help` stays, [`Args`] brings it):
//!
//! ```
//! use clap::Parser;
//!
//! #[derive(Parser)]
//! #[command(disable_help_flag = true)] // -h is the hostfile; --help comes with tidemill::Args
//! struct Cli {
//!     #[command(flatten)]
//!     tidemill: tidemill_runtime::Args,
//!     /// The input file.
//!     file: Option<std::path::PathBuf>,
//! }
//!
//! let cli = Cli::parse_from(["wordcount", "-w", "2", "input.txt"]);
//! assert_eq!(cli.tidemill.workers, 2);
//! assert_eq!(cli.file.as_deref(), Some(std::path::Path::new("input.txt")));
//! ```

use std::io::BufRead;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// How keyed rolling aggregations (`reduce`, `sum`, `count` without a window) emit,
/// as Flink's `execution.runtime-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExecutionMode {
    /// Every input record emits the updated aggregate (Flink's STREAMING).
    Streaming,
    /// Each key emits its final aggregate once, when the input ends (Flink's BATCH).
    /// Only valid when every source is bounded.
    Batch,
    /// `batch` when every source of the pipeline is bounded, else `streaming` (Flink's AUTOMATIC).
    Automatic,
}

/// The flags every Tidemill job takes.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Worker threads per process.
    #[arg(short = 'w', long = "workers", visible_alias = "threads", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub workers: u64,
    /// Number of processes in the job.
    #[arg(short = 'n', long = "processes", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub processes: u64,
    /// Index of this process, from 0 to processes - 1.
    #[arg(short = 'p', long = "process", default_value_t = 0)]
    pub process: u64,
    /// File whose lines are the host:port addresses of the processes (default: localhost:2101, 2102, ...).
    #[arg(short = 'h', long = "hostfile")]
    pub hostfile: Option<PathBuf>,
    /// Seconds a process waits for the other processes of the job before giving up.
    #[arg(long = "connect-timeout", value_name = "SECS", default_value_t = 60)]
    pub connect_timeout_secs: u64,
    /// How keyed rolling aggregations emit: every update (streaming) or final values (batch).
    #[arg(long = "execution-mode", value_enum, default_value_t = ExecutionMode::Automatic)]
    pub execution_mode: ExecutionMode,
    /// Print the pipeline's plan as a Mermaid graph and exit.
    #[arg(long)]
    pub explain: bool,
    /// Records a source emits before it yields to the other operators of its worker.
    /// Smaller batches let windows fire while a source is still reading.
    #[arg(long = "source-batch", value_name = "RECORDS", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub source_batch: u64,
    /// Watermark alignment (Flink's `withWatermarkAlignment`): with more than one worker,
    /// a source does not read while the job's slowest source's watermark is more than
    /// this many milliseconds behind its own. Off by default, as in Flink: sources whose
    /// inputs cover different stretches of event time (the two halves of a file) would
    /// take turns instead of reading together. Sources that interleave event time (Kafka
    /// partitions, the Nexmark generator) keep less data in flight with it.
    #[arg(long = "max-watermark-drift", value_name = "MS")]
    pub max_watermark_drift: Option<u64>,
    /// The number of key groups keyed state is split into: the most workers a job (and
    /// the checkpoints it takes) can run at. Keys are routed by group, so a checkpoint
    /// restores at any number of workers up to this; it cannot change across restores.
    #[arg(long = "max-parallelism", value_name = "N", default_value_t = crate::hash::DEFAULT_MAX_PARALLELISM as u64, value_parser = clap::value_parser!(u64).range(1..=32768))]
    pub max_parallelism: u64,
    /// Take checkpoints into this directory: consistent cuts of every operator's state
    /// and every source's position, from which `--restore` resumes the job.
    #[arg(long = "checkpoint-dir", value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// How often to take a checkpoint, e.g. `10s`, `500ms`, `1min`.
    #[arg(long = "checkpoint-interval", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub checkpoint_interval: std::time::Duration,
    /// How many complete checkpoints to keep.
    #[arg(long = "checkpoints-retained", value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoints_retained: u64,
    /// Resume from a checkpoint: `latest` (the newest intact one in --checkpoint-dir,
    /// or none: start afresh) or the path of a checkpoint's manifest (`chk-N.json`).
    #[arg(long = "restore", value_name = "latest|PATH")]
    pub restore: Option<Restore>,
    /// Restart a failed job from its latest checkpoint up to this many times (Flink's
    /// fixed-delay restart strategy); needs --checkpoint-dir. A panic in user code, a
    /// lost peer process and a failing connector all restart it; invalid configuration
    /// does not.
    #[arg(long = "restart-attempts", value_name = "N", default_value_t = 0)]
    pub restart_attempts: u32,
    /// Refuse to start unless every sink is exactly-once (Flink's
    /// `DeliveryGuarantee.EXACTLY_ONCE`); needs --checkpoint-dir. Files, PostgreSQL and
    /// Kafka sinks are; `print`, `collect`, `discard` and custom sinks are at-least-once.
    #[arg(long = "exactly-once")]
    pub exactly_once: bool,
    /// How long to wait before each restart, e.g. `1s`, `500ms`.
    #[arg(long = "restart-delay", value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub restart_delay: std::time::Duration,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

#[derive(clap::Parser)]
#[command(disable_help_flag = true, about = "A Tidemill job")]
struct OnlyArgs {
    #[command(flatten)]
    args: Args,
}

impl Default for Args {
    fn default() -> Self {
        Args::with_workers(1)
    }
}

impl Args {
    /// Parses the process's command line; exits with a usage message on bad flags.
    pub fn parse() -> Self {
        <OnlyArgs as clap::Parser>::parse().args
    }

    /// Parses the given command line (the first item is the program name).
    pub fn try_parse_from<I, T>(iter: I) -> Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        <OnlyArgs as clap::Parser>::try_parse_from(iter)
            .map(|o| o.args)
            .map_err(|e| Error::Config(e.to_string()))
    }

    /// One process with `workers` threads, other flags at their defaults.
    pub fn with_workers(workers: u64) -> Self {
        Args {
            workers,
            processes: 1,
            process: 0,
            hostfile: None,
            connect_timeout_secs: 60,
            execution_mode: ExecutionMode::Automatic,
            explain: false,
            source_batch: 4096,
            max_watermark_drift: None,
            max_parallelism: crate::hash::DEFAULT_MAX_PARALLELISM as u64,
            checkpoint_dir: None,
            checkpoint_interval: std::time::Duration::from_secs(10),
            checkpoints_retained: 3,
            restore: None,
            restart_attempts: 0,
            restart_delay: std::time::Duration::from_secs(1),
            exactly_once: false,
            help: None,
        }
    }

    /// The checkpoint settings, if the job checkpoints. `--restore` needs a
    /// `--checkpoint-dir`, unless it names a manifest.
    pub fn checkpoint_settings(&self) -> Result<Option<Settings>> {
        let dir = match (&self.checkpoint_dir, &self.restore) {
            (Some(dir), _) => dir.clone(),
            (None, Some(Restore::Manifest(path))) => {
                path.parent().map(|p| p.to_path_buf()).unwrap_or_default()
            }
            (None, Some(Restore::Latest)) => {
                return Err(Error::Config(
                    "--restore latest needs --checkpoint-dir".into(),
                ))
            }
            (None, None) if self.exactly_once => {
                return Err(Error::Config(
                    "--exactly-once needs checkpoints: give a --checkpoint-dir".into(),
                ))
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(Settings {
            dir,
            interval: self.checkpoint_interval,
            retained: self.checkpoints_retained as usize,
            restore: self.restore.clone(),
            exactly_once: self.exactly_once,
        }))
    }

    /// The same flags, checkpointing into `dir` every `interval`.
    pub fn checkpoints(mut self, dir: impl Into<PathBuf>, interval: std::time::Duration) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self.checkpoint_interval = interval;
        self
    }

    /// The same flags, restarting a failed job up to `attempts` times after `delay`.
    pub fn restarts(mut self, attempts: u32, delay: std::time::Duration) -> Self {
        self.restart_attempts = attempts;
        self.restart_delay = delay;
        self
    }

    /// The same flags, restoring the latest checkpoint.
    pub fn restore_latest(mut self) -> Self {
        self.restore = Some(Restore::Latest);
        self
    }

    /// The same flags with another execution mode.
    pub fn execution_mode(mut self, mode: ExecutionMode) -> Self {
        self.execution_mode = mode;
        self
    }

    /// Sets the records a source emits per activation (`--source-batch`).
    pub fn source_batch(mut self, records: u64) -> Self {
        self.source_batch = records;
        self
    }

    /// Splits keyed state into `groups` key groups (`--max-parallelism`).
    pub fn max_parallelism(mut self, groups: u64) -> Self {
        self.max_parallelism = groups;
        self
    }

    /// Aligns the sources' watermarks within `ms` (`--max-watermark-drift`).
    pub fn max_watermark_drift(mut self, ms: u64) -> Self {
        self.max_watermark_drift = Some(ms);
        self
    }

    /// How long a process waits for its peers.
    pub fn connect_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.connect_timeout_secs)
    }

    /// Timely's configuration for these flags.
    pub fn timely_config(&self) -> Result<timely::Config> {
        let threads =
            usize::try_from(self.workers).map_err(|_| Error::Config("too many workers".into()))?;
        let processes = usize::try_from(self.processes)
            .map_err(|_| Error::Config("too many processes".into()))?;
        let process =
            usize::try_from(self.process).map_err(|_| Error::Config("bad process index".into()))?;
        if process >= processes {
            return Err(Error::Config(format!(
                "process index -p {process} must be below the number of processes -n {processes}"
            )));
        }
        let communication = if processes > 1 {
            let addresses = match &self.hostfile {
                Some(path) => read_hostfile(path, processes)?,
                None => (0..processes)
                    .map(|i| format!("localhost:{}", 2101 + i))
                    .collect(),
            };
            timely::CommunicationConfig::Cluster {
                threads,
                process,
                addresses,
                report: false,
                zerocopy: false,
            }
        } else if threads > 1 {
            timely::CommunicationConfig::Process(threads)
        } else {
            timely::CommunicationConfig::Thread
        };
        Ok(timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        })
    }

    /// Resolves [`ExecutionMode::Automatic`] for a pipeline whose sources are all bounded or not.
    pub fn resolve_mode(&self, all_sources_bounded: bool) -> Result<ExecutionMode> {
        match (self.execution_mode, all_sources_bounded) {
            (ExecutionMode::Automatic, true) => Ok(ExecutionMode::Batch),
            (ExecutionMode::Automatic, false) => Ok(ExecutionMode::Streaming),
            (ExecutionMode::Batch, false) => Err(Error::Config(
                "--execution-mode batch needs every source to be bounded".into(),
            )),
            (mode, _) => Ok(mode),
        }
    }
}

fn read_hostfile(path: &std::path::Path, processes: usize) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("cannot open hostfile", path, e))?;
    let mut addresses = Vec::with_capacity(processes);
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io("cannot read hostfile", path, e))?;
        let line = line.trim();
        if !line.is_empty() {
            addresses.push(line.to_string());
        }
        if addresses.len() == processes {
            break;
        }
    }
    if addresses.len() < processes {
        return Err(Error::Config(format!(
            "hostfile {} lists {} addresses, but -n is {processes}",
            path.display(),
            addresses.len()
        )));
    }
    Ok(addresses)
}

/// A duration as the DSL writes them: `10s`, `500ms`, `1min`, `2h`.
fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 10s, 500ms or 1min"))?;
    let ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "min" | "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("`{s}`: the unit must be ms, s, min or h")),
    };
    Ok(std::time::Duration::from_millis(n * ms))
}

// Checkpoint settings live here, with the flags they come from; the checkpoint module
// re-exports them.

/// Where checkpoints are written, how often, and what to restore.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The checkpoint directory (`--checkpoint-dir`).
    pub dir: std::path::PathBuf,
    /// How often sources start a new epoch (`--checkpoint-interval`).
    pub interval: std::time::Duration,
    /// How many complete checkpoints to keep (`--checkpoints-retained`).
    pub retained: usize,
    /// What to restore at start-up (`--restore`).
    pub restore: Option<Restore>,
    /// Whether every sink must be exactly-once (`--exactly-once`).
    pub exactly_once: bool,
}

/// Which checkpoint a job resumes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restore {
    /// The newest complete and intact checkpoint in the directory; none: start afresh.
    Latest,
    /// The checkpoint whose manifest is this file.
    Manifest(std::path::PathBuf),
}

impl std::str::FromStr for Restore {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(if s == "latest" {
            Restore::Latest
        } else {
            Restore::Manifest(std::path::PathBuf::from(s))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timely_flags() {
        let args =
            Args::try_parse_from(["job", "-w", "4", "-n", "2", "-p", "1", "-h", "hosts.txt"])
                .unwrap();
        assert_eq!((args.workers, args.processes, args.process), (4, 2, 1));
        assert_eq!(args.hostfile, Some(PathBuf::from("hosts.txt")));
    }

    #[test]
    fn rejects_bad_flags() {
        assert!(Args::try_parse_from(["job", "-w", "0"]).is_err());
        assert!(Args::try_parse_from(["job", "-w", "two"]).is_err());
        assert!(Args::try_parse_from(["job", "--no-such-flag"]).is_err());
        let err = Args::try_parse_from(["job", "-n", "2", "-p", "2"])
            .unwrap()
            .timely_config()
            .unwrap_err();
        assert!(err.to_string().contains("-p 2"), "{err}");
    }

    #[test]
    fn hostfile_must_list_every_process() {
        let dir = std::env::temp_dir().join(format!("tidemill-hostfile-{}", std::process::id()));
        std::fs::write(&dir, "127.0.0.1:4000\n").unwrap();
        let args = Args::try_parse_from(["job", "-n", "2", "-h", dir.to_str().unwrap()]).unwrap();
        let err = args.timely_config().unwrap_err().to_string();
        std::fs::remove_file(&dir).unwrap();
        assert!(err.contains("lists 1 addresses, but -n is 2"), "{err}");
    }

    #[test]
    fn automatic_mode_follows_boundedness() {
        let args = Args::default();
        assert_eq!(args.resolve_mode(true).unwrap(), ExecutionMode::Batch);
        assert_eq!(args.resolve_mode(false).unwrap(), ExecutionMode::Streaming);
        assert!(args
            .execution_mode(ExecutionMode::Batch)
            .resolve_mode(false)
            .is_err());
    }
}
