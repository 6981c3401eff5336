//! Sources: where records enter a pipeline. Each splits its input among all workers.
//!
//! A source is a [`SourceSpec`] (evaluated once per process) that opens one [`Reader`]
//! per worker. [`build`] turns it into a timely source operator, together with the
//! stateless operators that follow it up to `assign_timestamps` (fused into the source)
//! and a [`Stamper`] that stamps records and holds the source's capability at its
//! watermark.

mod collection;
mod text_file;

use std::time::Duration;

use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, StreamVec};

use crate::context::JobContext;
use crate::error::Result;
use crate::time::Stamper;

pub use collection::Collection;
pub use text_file::TextFile;

/// How long an unbounded source with nothing to read waits before it looks again.
const POLL: Duration = Duration::from_millis(20);

/// What a reader has left after a call to [`Reader::read`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// More records are ready.
    More,
    /// Nothing now; more may come later (an unbounded source).
    Idle,
    /// The input is exhausted.
    Done,
}

/// One worker's share of a source.
pub trait Reader: 'static {
    /// The records it reads.
    type Item;
    /// Reads up to `budget` records into `out`.
    fn read(&mut self, budget: usize, out: &mut dyn FnMut(Self::Item)) -> Result<Status>;
}

/// A source as the pipeline names it: evaluated once per process, opened per worker.
pub trait SourceSpec {
    /// The worker's reader.
    type Reader: Reader;
    /// Opens worker `index` of `peers` (all workers of all processes).
    fn open(&self, index: usize, peers: usize) -> Result<Self::Reader>;
}

/// Builds the source operator: reads this worker's share of `spec`, passes each record
/// through `logic` (the fused stateless operators after the source), stamps the results
/// with `stamper` and holds the capability at the stamper's watermark. A failure to open
/// or read fails the job with a clear error.
pub fn build<'scope, S, U, L, St>(
    scope: Scope<'scope, u64>,
    context: &JobContext,
    name: &str,
    spec: &S,
    mut logic: L,
    mut stamper: St,
) -> StreamVec<'scope, u64, St::Out>
where
    S: SourceSpec,
    U: 'static,
    L: FnMut(<S::Reader as Reader>::Item, &mut Vec<U>) + 'static,
    St: Stamper<U>,
{
    let context = context.clone();
    let (index, peers) = (scope.index(), scope.peers());
    let mut reader = Some(spec.open(index, peers));
    source(scope, name, move |capability, info| {
        let activator = scope.activator_for(info.address);
        let mut capability = Some(capability);
        let mut staged: Vec<U> = Vec::new();
        // Records of one activation by timely time; usually one or two times.
        let mut buckets: Vec<(u64, Vec<St::Out>)> = Vec::new();
        move |output| {
            let Some(cap) = capability.as_mut() else {
                return;
            };
            let status = match reader.as_mut().map(|r| r.as_mut()) {
                _ if context.is_cancelled() => Status::Done,
                Some(Ok(r)) => {
                    let result = r.read(context.source_batch(), &mut |item| {
                        logic(item, &mut staged);
                        for record in staged.drain(..) {
                            let (time, out) = stamper.stamp(record);
                            match buckets.iter_mut().rev().find(|(t, _)| *t == time) {
                                Some((_, batch)) => batch.push(out),
                                None => buckets.push((time, vec![out])),
                            }
                        }
                    });
                    result.unwrap_or_else(|e| {
                        context.fail(e);
                        Status::Done
                    })
                }
                Some(Err(_)) => {
                    if let Some(Err(e)) = reader.take() {
                        context.fail(e);
                    }
                    Status::Done
                }
                None => Status::Done,
            };
            for (time, mut batch) in buckets.drain(..) {
                output
                    .session(&cap.delayed(&time))
                    .give_container(&mut batch);
            }
            match status {
                Status::Done => {
                    capability = None;
                    reader = None;
                }
                Status::More | Status::Idle => {
                    let watermark = stamper.watermark_time();
                    if watermark > *cap.time() {
                        cap.downgrade(&watermark);
                    }
                    if status == Status::More {
                        activator.activate();
                    } else {
                        activator.activate_after(POLL);
                    }
                }
            }
        }
    })
}

/// The record type of a source, for binding the closures that follow it.
pub fn item_ty<S: SourceSpec>(
    _spec: &S,
) -> crate::operators::fused::Ty<<S::Reader as Reader>::Item> {
    crate::operators::fused::ty()
}

/// The identity chain: a source followed directly by something that is not fused.
pub fn pass<T>(record: T, out: &mut Vec<T>) {
    out.push(record);
}
