//! What every worker's part of a job shares: the execution mode, the job's errors and
//! its cancellation flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::args::ExecutionMode;
use crate::error::Error;

/// Per-process state shared by all workers of a job; cheap to clone.
#[derive(Clone)]
pub struct JobContext {
    mode: ExecutionMode,
    shared: Arc<Shared>,
}

struct Shared {
    errors: Mutex<Vec<Error>>,
    cancelled: AtomicBool,
}

impl JobContext {
    pub(crate) fn new(mode: ExecutionMode) -> Self {
        JobContext {
            mode,
            shared: Arc::new(Shared {
                errors: Mutex::new(Vec::new()),
                cancelled: AtomicBool::new(false),
            }),
        }
    }

    /// The resolved execution mode: [`ExecutionMode::Batch`] or [`ExecutionMode::Streaming`].
    pub fn mode(&self) -> ExecutionMode {
        self.mode
    }

    /// Records an error: the job will fail with it, and sources stop reading.
    pub fn fail(&self, error: Error) {
        self.shared.cancelled.store(true, Ordering::Relaxed);
        self.shared
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(error);
    }

    /// Whether the job has failed; sources check this and finish early.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::Relaxed)
    }

    pub(crate) fn take_errors(&self) -> Vec<Error> {
        std::mem::take(&mut *self.shared.errors.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
