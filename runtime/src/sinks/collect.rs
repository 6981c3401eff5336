//! `collect(collector)`: hands the records back to the program that ran the job.

use std::sync::{Arc, Mutex};

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

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
pub struct Collector<T> {
    records: Arc<Mutex<Vec<T>>>,
}

impl<T> Clone for Collector<T> {
    fn clone(&self) -> Self {
        Collector {
            records: Arc::clone(&self.records),
        }
    }
}

impl<T> Default for Collector<T> {
    fn default() -> Self {
        Collector {
            records: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl<T> Collector<T> {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes every record collected so far, in no particular order.
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Adds records, as the `collect` sink does with each batch.
    pub fn push_all(&self, mut records: Vec<T>) {
        self.extend(&mut records);
    }

    fn extend(&self, batch: &mut Vec<T>) {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(batch);
    }
}

/// Sends every record of `stream` to `collector`.
pub fn collect<T: 'static>(stream: StreamVec<'_, u64, T>, collector: &Collector<T>) {
    let collector = collector.clone();
    stream.sink(Pipeline, "collect", move |(input, _frontier)| {
        input.for_each(|_time, data| collector.extend(data));
    });
}
