//! The error type of a Tidemill job.
//!
//! A job reports failures as values: a missing input file, invalid UTF-8 in a text
//! file (with file and line), a bad flag or an unreachable peer process. `main`
//! functions return [`Result`], and [`Error`]'s `Debug` prints the same clear message
//! as its `Display`, so `fn main() -> tidemill::Result<()>` shows no backtrace noise.

use std::fmt;
use std::path::PathBuf;

/// The result type of Tidemill's public API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can make a Tidemill job fail.
#[non_exhaustive]
pub enum Error {
    /// An input or output file could not be opened, read or written.
    Io {
        /// What was being done, e.g. "cannot open input file".
        context: String,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A text file holds bytes that are not UTF-8.
    InvalidUtf8 {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line number of the offending line.
        line: u64,
    },
    /// The command line or the cluster configuration is invalid.
    Config(String),
    /// Timely could not start the workers (e.g. a peer process is unreachable).
    Startup(String),
    /// A connector (Kafka, PostgreSQL) failed: the message names the server, the topic
    /// or table, and the reason.
    Connector(String),
    /// A worker thread panicked; the message is the panic's.
    WorkerPanicked(String),
    /// A checkpoint could not be completed while the job ran (its parts vanished: another
    /// process restored the directory meanwhile). A restart may cure it.
    Checkpoint(String),
    /// Several errors, from several workers; the first is the cause shown first.
    Many(Vec<Error>),
}

impl Error {
    /// Whether a restart may cure it: anything but invalid configuration (bad flags, a
    /// pipeline that cannot be checkpointed, a checkpoint of another pipeline).
    pub fn is_restartable(&self) -> bool {
        match self {
            Error::Config(_) => false,
            // The job fails with all its workers' errors: a configuration error among
            // them is the cause.
            Error::Many(errors) => errors.iter().all(Error::is_restartable),
            _ => true,
        }
    }

    pub(crate) fn io(
        context: impl Into<String>,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            context: context.into(),
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io {
                context,
                path,
                source,
            } => write!(f, "{context} {}: {source}", path.display()),
            Error::InvalidUtf8 { path, line } => {
                write!(f, "invalid UTF-8 in {} at line {line}", path.display())
            }
            Error::Config(msg) => write!(f, "invalid configuration: {msg}"),
            Error::Startup(msg) => write!(f, "cannot start the workers: {msg}"),
            Error::Connector(msg) => f.write_str(msg),
            Error::WorkerPanicked(msg) => write!(f, "a worker panicked: {msg}"),
            Error::Checkpoint(msg) => write!(f, "checkpoint failed: {msg}"),
            Error::Many(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

/// `Debug` is the `Display` message: it is what `main` prints when it returns `Err`.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
