//! `collect(collector)`: hands the records back to the program that ran the job.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use std::time::Duration;

use timely::dataflow::StreamVec;

use super::{write_with, Writer, Written};
use crate::context::JobContext;
use crate::error::Result;
use crate::time::{Time, Timed};

/// Gathers the records that reach a `collect` sink, for the caller of `run` to read.
///
/// Create it before the pipeline, name it in `collect(..)`, and read it after `run`
/// returns. In a multi-process job each process collects its own workers' records.
///
/// Clones share one store, so the clone a pipeline holds fills the caller's collector
/// (the `tidemill` crate's front page runs a whole pipeline into one):
///
/// ```
/// use tidemill_runtime::Collector;
///
/// let out = Collector::new();
/// let for_the_pipeline = out.clone();
/// std::thread::spawn(move || for_the_pipeline.push_all(vec![1, 2, 3])).join().unwrap();
/// assert_eq!(out.take(), vec![1, 2, 3]);
/// assert!(out.take().is_empty(), "take empties the collector");
/// ```
///
/// [`Collector::counting`] makes one that only counts the records and drops them, for
/// programs (such as benchmarks) that choose at run time whether to keep the output.
pub struct Collector<T> {
    records: Arc<Mutex<Vec<T>>>,
    count: Arc<AtomicU64>,
    keep: bool,
}

impl<T> Clone for Collector<T> {
    fn clone(&self) -> Self {
        Collector {
            records: Arc::clone(&self.records),
            count: Arc::clone(&self.count),
            keep: self.keep,
        }
    }
}

impl<T> Default for Collector<T> {
    fn default() -> Self {
        Collector {
            records: Arc::new(Mutex::new(Vec::new())),
            count: Arc::new(AtomicU64::new(0)),
            keep: true,
        }
    }
}

impl<T> Collector<T> {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// A collector that counts the records and drops them: [`Collector::take`] stays
    /// empty and [`Collector::count`] grows.
    ///
    /// ```
    /// use tidemill_runtime::Collector;
    ///
    /// let out = Collector::counting();
    /// out.push_all(vec![1, 2, 3]);
    /// assert_eq!((out.count(), out.take()), (3, vec![]));
    /// ```
    pub fn counting() -> Self {
        Collector {
            keep: false,
            ..Self::default()
        }
    }

    /// How many records have reached the collector, taken or not.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Takes every record collected so far, in no particular order.
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Adds records, as the `collect` sink does with each batch.
    pub fn push_all(&self, mut records: Vec<T>) {
        self.extend(&mut records);
    }

    /// Adds the values of timestamped records.
    fn extend_values(&self, batch: &mut Vec<Timed<T>>) {
        self.add(batch, |records, batch| {
            records.extend(batch.drain(..).map(|r| r.value))
        });
    }

    fn extend(&self, batch: &mut Vec<T>) {
        self.add(batch, Vec::append);
    }

    /// Counts `batch` and, unless only counting, moves it into the store with `into`.
    fn add<U>(&self, batch: &mut Vec<U>, into: impl FnOnce(&mut Vec<T>, &mut Vec<U>)) {
        self.count.fetch_add(batch.len() as u64, Ordering::Relaxed);
        if !self.keep {
            batch.clear();
            return;
        }
        into(
            &mut self.records.lock().unwrap_or_else(|p| p.into_inner()),
            batch,
        );
    }
}

/// Sends every record of `stream` to `collector`.
pub fn collect<'scope, T: 'static>(
    stream: StreamVec<'scope, Time, T>,
    collector: &Collector<T>,
    context: &JobContext,
) -> Written<'scope> {
    let writer = Collecting(collector.clone(), Collector::extend);
    write_with(stream, "collect", context, Ok(writer), Duration::ZERO)
}

/// Sends the values of every record of a timestamped `stream` to `collector`, without a
/// separate operator to drop the timestamps.
pub fn collect_timed<'scope, T: 'static>(
    stream: StreamVec<'scope, Time, Timed<T>>,
    collector: &Collector<T>,
    context: &JobContext,
) -> Written<'scope> {
    let writer = Collecting(collector.clone(), Collector::extend_values);
    write_with(stream, "collect", context, Ok(writer), Duration::ZERO)
}

/// A collector and how it takes a batch.
struct Collecting<T, F>(Collector<T>, F);

impl<T, U, F: FnMut(&Collector<T>, &mut Vec<U>)> Writer<U> for Collecting<T, F> {
    fn write(&mut self, batch: &mut Vec<U>) -> Result<()> {
        (self.1)(&self.0, batch);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn wants_flush(&self) -> bool {
        true
    }
}
