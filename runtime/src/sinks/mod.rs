//! Sinks: where records leave a pipeline.
//!
//! The DSL has sinks of its own (`print()`, `write_as_text(dir)`, `collect(c)`,
//! `discard()`); `sink(spec)` takes any [`SinkSpec`]: files in a format
//! ([`json_lines_sink`], [`csv_sink`], [`write_file`]), Kafka, PostgreSQL.

mod collect;
mod discard;
pub mod exactly_once;
mod file;
mod print;
mod text_file;

use std::time::{Duration, Instant};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::{CapabilitySet, Operator};
use timely::dataflow::{Scope, StreamVec};
use timely::order::PartialOrder;

use crate::context::JobContext;
use crate::error::Result;
use crate::time::{time_of, Time};

pub use collect::{collect, collect_timed, Collector};
pub use discard::discard;
pub use file::{csv_sink, json_lines_sink, write_file, FileSink};
pub use print::print;
pub use text_file::{part_file, TextFileSink};

pub use crate::checkpoint::Written;

/// The records a sink takes: a stream of `T` in Tidemill's time.
pub type Records<'scope, T> = StreamVec<'scope, Time, T>;

/// A sink as the pipeline names it (`sink(spec)`): evaluated once per process, built on
/// every worker. The `tidemill` crate's docs ("Extension points") have a runnable sink of
/// one's own.
pub trait SinkSpec<T> {
    /// Writes this worker's records of `stream`. A failure fails the job through
    /// `context`, with a clear error; what the sink buffers is written before the job
    /// ends.
    fn build<'scope>(
        &self,
        stream: StreamVec<'scope, Time, T>,
        context: &JobContext,
    ) -> Written<'scope>;
}

/// The writing half of a sink, driven by [`write_with`].
pub trait Writer<T> {
    /// Takes a batch of records, leaving `batch` empty. An error fails the job.
    fn write(&mut self, batch: &mut Vec<T>) -> Result<()>;

    /// Makes everything taken so far durable. An error fails the job.
    fn flush(&mut self) -> Result<()>;

    /// Whether to flush now rather than at the next interval (a full batch, say).
    fn wants_flush(&self) -> bool {
        false
    }
}

/// A sink operator around `writer` (or the error that stopped it from being made, which
/// fails the job). It flushes when the writer asks, when `interval` has passed since the
/// oldest record it has not flushed, and when its input ends; until a record is flushed,
/// the operator holds its time back in the [`Written`] stream.
pub fn write_with<'scope, T: 'static, W: Writer<T> + 'static>(
    stream: StreamVec<'scope, Time, T>,
    name: &str,
    context: &JobContext,
    writer: Result<W>,
    interval: Duration,
) -> Written<'scope> {
    let context = context.clone();
    let mut writer = writer.map_err(|e| context.fail(e)).ok();
    let scope: Scope<'scope, Time> = stream.scope();
    stream.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Pipeline,
        name,
        move |_, info| {
            let activator = scope.activator_for(info.address);
            // The least times taken and not yet flushed, and since when they are held.
            let mut held: Option<(CapabilitySet<Time>, Instant)> = None;
            let mut woken_at: Option<Instant> = None;
            move |(input, frontier), _output| {
                let Some(w) = writer.as_mut() else {
                    input.for_each(|_, data| data.clear());
                    held = None;
                    return;
                };
                let mut result = Ok(());
                input.for_each(|time, data| {
                    if result.is_err() {
                        data.clear();
                        return;
                    }
                    // Times are partly ordered: hold every least time taken (a new
                    // capability only for a time the held ones do not cover).
                    let t = time_of(&time);
                    let (caps, _) =
                        held.get_or_insert_with(|| (CapabilitySet::new(), Instant::now()));
                    if !caps.iter().any(|c| c.time().less_equal(&t)) {
                        caps.insert(time.delayed(&t, 0));
                    }
                    result = w.write(data);
                    data.clear();
                });
                if let (Ok(()), Some((_, since))) = (&result, &held) {
                    let due = *since + interval;
                    if frontier.is_empty() || w.wants_flush() || Instant::now() >= due {
                        result = w.flush();
                        if result.is_ok() {
                            held = None;
                        }
                    } else if woken_at != Some(due) {
                        activator.activate_after(due.saturating_duration_since(Instant::now()));
                        woken_at = Some(due);
                    }
                }
                if let Err(e) = result {
                    context.fail(e);
                    writer = None;
                    held = None;
                } else if frontier.is_empty() {
                    writer = None;
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use timely::dataflow::operators::Probe;
    use timely::dataflow::ProbeHandle;

    use super::*;
    use crate::args::ExecutionMode;
    use crate::time::at;

    /// Records what reaches it; flushes only when told to by `write_with`.
    struct Log(Arc<Mutex<Vec<String>>>);

    impl Writer<u64> for Log {
        fn write(&mut self, batch: &mut Vec<u64>) -> Result<()> {
            let mut log = self.0.lock().unwrap();
            log.extend(batch.drain(..).map(|r| format!("write {r}")));
            Ok(())
        }
        fn flush(&mut self) -> Result<()> {
            self.0.lock().unwrap().push("flush".into());
            Ok(())
        }
    }

    #[test]
    fn written_holds_each_time_until_its_records_are_flushed() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let for_worker = Arc::clone(&log);
        timely::execute_directly(move |worker| {
            let context = JobContext::new(ExecutionMode::Streaming, 64);
            let probe = ProbeHandle::new();
            let mut input = worker.dataflow::<Time, _, _>(|scope| {
                let (input, stream) = crate::testing::event_input(scope);
                let writer = Log(Arc::clone(&for_worker));
                // An interval no test waits for: only the input's end flushes.
                let written = write_with(
                    stream,
                    "log",
                    &context,
                    Ok(writer),
                    Duration::from_secs(3600),
                );
                written.probe_with(&probe);
                input
            });
            input.send(7);
            input.advance_to(5);
            for _ in 0..50 {
                worker.step();
            }
            assert!(
                probe.less_than(&at(0, 1)),
                "time 0 is held: its record is not flushed"
            );
            assert_eq!(*for_worker.lock().unwrap(), ["write 7"]);
            input.advance_to(9);
            for _ in 0..50 {
                worker.step();
            }
            assert!(
                probe.less_than(&at(0, 1)),
                "still held while the input moves on"
            );
            input.close();
            while !probe.done() {
                worker.step();
            }
        });
        assert_eq!(*log.lock().unwrap(), ["write 7", "flush"]);
    }
}
