//! # Tidemill
//!
//! A stream processor with Flink's programming model, written as a compile-time DSL:
//! `stream! { ... }` checks a pipeline when your crate compiles and turns it into
//! native timely-dataflow code that runs on any number of worker threads (`-w`) and
//! processes (`-n`, `-p`, `-h`).
//!
//! ```
//! use tidemill::prelude::*;
//!
//! let counts = Collector::new();
//! tidemill::run(Args::with_workers(2), stream! {
//!     from_collection(vec!["to be", "or not to be"])
//!         .flat_map(|line| line.split(' ').map(str::to_string).collect::<Vec<_>>())
//!         .map(|word| (word, 1u64))
//!         .key_by(0)
//!         .sum(1)
//!         .collect(counts);
//! })?;
//! let mut counts = counts.take();
//! counts.sort();
//! assert_eq!(counts, [("be".to_string(), 2), ("not".into(), 1), ("or".into(), 1), ("to".into(), 2)]);
//! # Ok::<(), tidemill::Error>(())
//! ```
//!
//! ## The DSL
//!
//! A pipeline is a list of statements. `let name = ...;` names a stream so that several
//! statements can read it; every stream must reach a sink.
//!
//! | operator | on | does |
//! |---|---|---|
//! | `from_collection(iter)` | source | the elements of any `IntoIterator`, split among workers (bounded) |
//! | `read_text_file(path)` | source | the lines of a text file, read in parallel by byte ranges (bounded) |
//! | `from_source(spec)` | source | any [`sources::SourceSpec`]: files in a format ([`sources::json_lines`], [`sources::csv_file`], [`sources::read_file`]; bounded), a Kafka topic ([`kafka::kafka`]; bounded with `.until_end()`), the Nexmark generator [`nexmark::events`] (unbounded) |
//! | `sql!("SELECT .. FROM s ..")` | the pipeline's streams | a SQL query, its rows a stream (see [SQL](#sql)) |
//! | `dead_letters()` | a source's stream | the input the source could not decode, as [`DeadLetter`]s with reason and position (see below) |
//! | `map(\|x\| y)` | stream | one record out per record in |
//! | `filter(\|x\| bool)` | stream | the records for which the closure is true |
//! | `flat_map(\|x\| iter)` | stream | any number of records per record |
//! | `inspect(\|x\| ...)` | stream | sees each record, passes it on |
//! | `union(b, c, ...)` | stream | the records of several streams of one type |
//! | `key_by(\|x\| key)`, `key_by(N)` | stream | partitions by key (a closure, or tuple field `N`) |
//! | `reduce(\|a, b\| c)` | keyed | rolling reduce per key; emits the reduced record |
//! | `sum(N)` | keyed | the key's first record with tuple field `N` summed (Flink's positional sum) |
//! | `sum(\|x\| v)` | keyed | `(key, sum of v)` |
//! | `count()` | keyed | `(key, number of records)` |
//! | `assign_timestamps(\|x\| ms, out_of_orderness = 4s)` | after a source | event time with bounded out-of-orderness; the watermark is the source's capability. With `idle_timeout = 1min`, a source that reads nothing for that long lets its watermark follow the wall clock (`now - bound`) |
//! | `with_processing_time()` | after a source | the wall clock at the source as the records' time |
//! | `window(w)` | keyed, timed | `w` is `tumbling(size)`, `sliding(size, slide)`, `cumulate(step, max)` (windows from each multiple of `max` growing by `step`) or `session(gap)`; the first three take a last `offset = -8h` (Flink's window offset) |
//! | `window_all(w)` | timed | one window over the whole stream (computed on one worker) |
//! | `count_window(n)`, `count_window(n, step)` | keyed | count windows: a key's last `n` records, every `n` (or `step`) records; no timestamps needed |
//! | `count_window_all(n)`, `count_window_all(n, step)` | stream | count windows over the whole stream (on one worker) |
//! | `allowed_lateness(d)` | windowed | late records within `d` update their window, which fires again |
//! | `count()`, `sum(..)`, `min(\|x\| v)`, `max(..)`, `avg(..)`, `reduce(..)`, `aggregate(a)` | windowed | one [`WindowResult`] `{ key, start, end, value }` per key and window |
//! | `process_window(\|key, window, records, out\| ..)` | windowed | all records of each window when it fires (the only window path that buffers records); pushes any outputs into `out` |
//! | `process(f)` | keyed | a [`KeyedProcessFunction`]: per-key state, timers, side outputs |
//! | `side_output(TAG)` | process results | what the function emitted with `ctx.output(&TAG, v)` |
//! | `a.join(b).on(\|x\| k, \|y\| k).window(w).apply(\|x, y\| o)` | timed streams | window join: `o` for every pair of one key in one window (inner join) |
//! | `a.key_by(..).interval_join(b.key_by(..)).between(lo, hi).process(\|x, y, ctx, out\| ..)` | keyed, event time | interval join: every pair of one key with `x.ts + lo <= y.ts <= x.ts + hi` |
//! | `a.lookup_join(table).on(\|x\| k, \|row\| k).apply(\|x, row\| o)` | stream, bounded table | enriches each record with every row of its key; the table is loaded first, on every worker |
//! | `late()` | window results | the records that came too late for that window aggregation |
//! | `print()` | sink | each record's `Display` form on a line of stdout |
//! | `write_as_text(dir)` | sink | each record's `Display` form as a line, in `dir/part-NNNNN`, one file per worker |
//! | `sink(spec)` | sink | any [`sinks::SinkSpec`]: files in a format ([`sinks::json_lines_sink`], [`sinks::csv_sink`], [`sinks::write_file`]), a Kafka topic ([`kafka::kafka_sink`]), a PostgreSQL table ([`postgres::postgres`], insert or upsert) |
//! | `kafka_sink(brokers, topic, format, key = \|r\| k)` | sink | records to a Kafka topic in a [`format`](mod@format) (`Json`, `Csv`, `Text`, `Bytes`), keyed by `k` if given (one key, one partition, in order), with `properties = [(name, value), ..]` for the producer; the same as `sink(kafka::kafka_sink(..))` with the key closure typed by the stream |
//! | `collect(collector)` | sink | records back to the caller of [`run`] through a [`Collector`] |
//! | `discard()` | sink | drops the records, counting them in [`JobReport::discarded`] (Flink's discarding sink) |
//!
//! Stateless operators in a row are fused into one timely operator. Records move between
//! workers only at `key_by`, routed by a fixed seeded hash ([`tidemill_runtime::hash`]) that
//! every process agrees on. Records crossing workers must implement serde's `Serialize`
//! and `Deserialize` (derive them; the prelude re-exports the derives), and so must keys
//! and [`Aggregator`] accumulators: window combiners ship partial aggregates by key.
//!
//! ### Rolling aggregations and execution modes
//! `reduce`, `sum` and `count` without a window are Flink's rolling aggregations. As in
//! Flink, what they emit follows the execution mode (`--execution-mode`): in `streaming`
//! mode, the updated aggregate for every record; in `batch` mode, each key's final
//! aggregate once, when the input ends. The default, `automatic`, is `batch` when every
//! source is bounded and `streaming` otherwise. On a timestamped stream the outputs keep
//! event time: an update carries the timestamp of the record that caused it (a final
//! value, the key's latest), so rolling results can be windowed downstream.
//!
//! ### Event time and windows
//! Timestamps are milliseconds (`u64`). `assign_timestamps` (or `with_processing_time`)
//! follows a source, possibly through `map`/`filter`/`flat_map`: those run inside the
//! source operator, whose timely capability is the watermark (`max seen - bound - 1`, as
//! in Flink). Records keep their timestamps through stateless operators. A window fires
//! when the watermark reaches its end, computed incrementally: one accumulator per key
//! and pane (`gcd(size, slide)`), never the records themselves. Results carry
//! `[start, end)` and the event time `end - 1`, so they can be windowed again.
//!
//! Count windows count records rather than time, in the order they reach the key's
//! worker: `[start, end)` are the key's record numbers. As in Flink, a tumbling count
//! window fires on its `n`-th record (a key's last, incomplete window never fires), and a
//! sliding one every `step` records, over the last `n` (fewer while the key is young).
//! With more than one worker, which records share a count window depends on how sources
//! interleave; the number and sizes of the windows do not.
//!
//! Late data is never silently lost. A record is late when its source's watermark had
//! passed its window's end plus the allowed lateness; `.late()` on the results routes such
//! records, and otherwise the job counts them and reports the count on standard error
//! (and in [`JobReport::late_dropped`]). Differences from Flink, on purpose: lateness is
//! judged by the watermark of the record's own source (so it does not depend on thread
//! scheduling), and a session window fires once the watermark is past its end rather than
//! at `end - 1` (a record at exactly `end` still joins it).
//!
//! ```
//! use tidemill::prelude::*;
//!
//! let out = Collector::new();
//! let clicks: Vec<(String, u64)> = [("home", 1_000), ("cart", 1_500), ("home", 9_000), ("home", 12_000)]
//!     .map(|(page, ms)| (page.to_string(), ms))
//!     .into();
//! tidemill::run(Args::with_workers(2), stream! {
//!     from_collection(clicks)
//!         .assign_timestamps(|c| c.1, out_of_orderness = 1s)
//!         .key_by(0)
//!         .window(tumbling(10s))
//!         .count()
//!         .map(|w| format!("{} [{}, {}) {}", w.key, w.start, w.end, w.value))
//!         .collect(out);
//! })?;
//! let mut got = out.take();
//! got.sort();
//! assert_eq!(got, ["cart [0, 10000) 1", "home [0, 10000) 2", "home [10000, 20000) 1"]);
//! # Ok::<(), tidemill::Error>(())
//! ```
//!
//! ### Process functions, keyed state and timers
//! `key_by(..).process(f)` runs Flink's `KeyedProcessFunction`: `f` implements
//! [`KeyedProcessFunction`], whose `process_element(record, ctx, out)` sees each record of
//! its key and whose `on_timer(time, ctx, out)` runs when one of the key's timers fires.
//! Through the [`Context`] it reads the key and the record's timestamp, registers and
//! deletes event-time and processing-time timers (per key, deduplicated), and emits to
//! side outputs with `ctx.output(&TAG, value)`. State handles, [`ValueState`],
//! [`ListState`] and [`MapState`], are fields of the function holding every key's state;
//! each access takes `ctx` and acts on the current key. `with_ttl(Ttl::event_time(..))`
//! or `Ttl::processing_time(..)` makes entries expire after a time without a write, and
//! releases their memory. A side output is taken in the pipeline with
//! `.side_output(TAG)` on the function's result, `TAG` being an [`OutputTag`] constant.
//!
//! With `--checkpoint-dir`, the function itself is its state: a checkpoint holds the
//! whole struct (through serde, so derive `Serialize` and `Deserialize`; the state handles
//! implement them) and the pending timers, and a restore puts both back. A field marked
//! `#[serde(skip)]` comes back as its `Default`. A function that does not implement
//! serde's traits makes a checkpointing job fail at start-up, naming its type.
//!
//! ```
//! use tidemill::prelude::*;
//!
//! /// Counts each key's records and reports the count once the key has been quiet for a
//! /// second of event time.
//! struct CountUntilQuiet {
//!     count: ValueState<String, u64>,
//!     timer: ValueState<String, u64>,
//! }
//!
//! impl KeyedProcessFunction<String, (String, u64)> for CountUntilQuiet {
//!     type Out = (String, u64);
//!
//!     fn process_element(&mut self, _r: (String, u64), ctx: &mut Context<'_, String>, out: &mut Vec<(String, u64)>) {
//!         let mut count = self.count.value(ctx).copied().unwrap_or(0);
//!         if let Some(old) = self.timer.value(ctx).copied() {
//!             ctx.delete_event_time_timer(old);
//!             // The watermark may not have fired the timer yet: decide by event time.
//!             if old <= ctx.timestamp() {
//!                 out.push((ctx.key().clone(), count));
//!                 count = 0;
//!             }
//!         }
//!         self.count.update(ctx, count + 1);
//!         let at = ctx.timestamp() + 1000;
//!         ctx.register_event_time_timer(at);
//!         self.timer.update(ctx, at);
//!     }
//!
//!     fn on_timer(&mut self, _time: u64, ctx: &mut Context<'_, String>, out: &mut Vec<(String, u64)>) {
//!         self.timer.clear(ctx);
//!         if let Some(count) = self.count.clear(ctx) {
//!             out.push((ctx.key().clone(), count));
//!         }
//!     }
//! }
//!
//! let out = Collector::new();
//! let clicks = vec![("a".to_string(), 100), ("b".into(), 200), ("a".into(), 900), ("a".into(), 5000)];
//! tidemill::run(Args::with_workers(2), stream! {
//!     from_collection(clicks)
//!         .assign_timestamps(|r| r.1)
//!         .key_by(|r| r.0.clone())
//!         .process(CountUntilQuiet { count: ValueState::new(), timer: ValueState::new() })
//!         .collect(out);
//! })?;
//! let mut out = out.take();
//! out.sort();
//! // a's third click came after a quiet second: the count restarted.
//! assert_eq!(out, [("a".to_string(), 1), ("a".into(), 2), ("b".into(), 1)]);
//! # Ok::<(), tidemill::Error>(())
//! ```
//!
//! ### Joins
//! Three joins, as in Flink ([`tidemill_runtime::join`] has the details):
//! - the **window join** `a.join(b).on(|x| key, |y| key).window(w).apply(|x, y| out)`
//!   pairs the records of one key that fall in one window, for any window kind
//!   (`allowed_lateness` too); results carry the window's last millisecond;
//! - the **interval join** `a.key_by(..).interval_join(b.key_by(..)).between(-5s, 10s)
//!   .process(|x, y, ctx, out| ..)` pairs records of one key whose times are within the
//!   bounds; results carry the later time. Each side's records are freed as soon as the
//!   watermark makes a match impossible; records behind their source's watermark are
//!   late (`.late()` on the results routes them, otherwise they are counted);
//! - the **table join** `a.lookup_join(table).on(|x| key, |row| key).apply(|x, row| out)`
//!   enriches a stream with a bounded table (a collection or a file) loaded on every
//!   worker before any record is joined.
//!
//! Both sides' keys must have one type: a mismatch is one compile error at the keys.
//!
//! ```
//! use tidemill::prelude::*;
//!
//! let out = Collector::new();
//! let clicks = vec![(1u32, 1_000u64), (2, 1_500), (1, 9_000)];
//! let views = vec![(1u32, 800u64), (2, 5_000), (1, 8_000)];
//! tidemill::run(Args::with_workers(2), stream! {
//!     let views = from_collection(views).assign_timestamps(|v| v.1);
//!     from_collection(clicks)
//!         .assign_timestamps(|c| c.1)
//!         .key_by(|c| c.0)
//!         .interval_join(views.key_by(|v| v.0))
//!         .between(-1s, 0s) // a view at most a second before the click
//!         .process(|click, view, _ctx, out| out.push((click.0, view.1, click.1)))
//!         .collect(out);
//! })?;
//! let mut got = out.take();
//! got.sort();
//! assert_eq!(got, [(1, 800, 1_000), (1, 8_000, 9_000)]);
//! # Ok::<(), tidemill::Error>(())
//! ```
//!
//! ### Formats and dead letters
//! Files (and Kafka topics) hold bytes; a format ([`format::Json`], [`format::Csv`],
//! [`format::Text`], [`format::Bytes`], or [`format::decode_with`] for your own) turns
//! them into records with serde. Input that does not decode never fails the job and is
//! never dropped silently: it becomes a [`DeadLetter`] (source, file line or Kafka
//! offset, reason, the bytes), which `source.dead_letters()` routes like any stream.
//! Dead letters that the pipeline does not route are written to standard error. Either
//! way the job counts them in [`JobReport::dead_letters`] and prints the counts.
//!
//! ```
//! use tidemill::prelude::*;
//!
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! struct Txn { transaction_id: u64, amount: f64, timestamp: u64 }
//!
//! let dir = std::env::temp_dir().join(format!("tidemill-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let input = dir.join("txns.jsonl");
//! std::fs::write(&input, concat!(
//!     "{\"transaction_id\": 1, \"amount\": 1500.0, \"timestamp\": 1000}\n",
//!     "{\"transaction_id\": 2, \"amount\": \"a lot\"}\n",
//!     "{\"transaction_id\": 3, \"amount\": 20.0, \"timestamp\": 3000}\n",
//! ))?;
//! let (alerts, bad) = (Collector::new(), Collector::new());
//! let report = tidemill::run(Args::with_workers(2), stream! {
//!     let txns = from_source(json_lines::<Txn>(input));
//!     txns.dead_letters().collect(bad);
//!     txns.filter(|t| t.amount > 1000.0).map(|t| t.transaction_id).collect(alerts);
//! })?;
//! assert_eq!(alerts.take(), [1]);
//! let bad = bad.take();
//! assert_eq!(bad[0].position, tidemill::Position::Line(2));
//! assert!(bad[0].reason.starts_with("invalid JSON"));
//! assert_eq!(report.dead_letters[0].1, 1);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ### SQL
//!
//! `sql!("..")` is a query over the pipeline's named streams, parsed when the crate
//! compiles and lowered to the operators above: a column is a field of the stream's
//! struct (rustc checks it, at the query), the result a generated struct with the
//! projected names (or `row = MyStruct`). Window TVFs (`TUMBLE`, `HOP`, `SESSION`) with
//! `GROUP BY window_start, window_end, ..` become window aggregations; a `GROUP BY`
//! without a window is an updating query, a changelog of [`sql::Change`]s (Flink's
//! `+I`/`-U`/`+U`/`-D`) over differential dataflow. `docs/sql.md` has the rules.
//!
//! ```
//! use tidemill::prelude::*;
//!
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! struct Bid { auction: u64, price: u64, ts: u64 }
//!
//! let input = vec![
//!     Bid { auction: 1, price: 150, ts: 1_000 },
//!     Bid { auction: 1, price: 20, ts: 2_000 },
//!     Bid { auction: 2, price: 300, ts: 12_000 },
//! ];
//! let (large, top) = (Collector::new(), Collector::new());
//! tidemill::run(Args::with_workers(2), stream! {
//!     let bids = from_collection(input).assign_timestamps(|b| b.ts, out_of_orderness = 1s);
//!     sql!("SELECT auction, price * 2 AS doubled FROM bids WHERE price > 100")
//!         .map(|r| (r.auction, r.doubled))
//!         .collect(large);
//!     sql!("SELECT window_start, auction, MAX(price) AS top
//!           FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
//!           GROUP BY window_start, window_end, auction")
//!         .map(|r| r.to_string())
//!         .collect(top);
//! })?;
//! let (mut large, mut top) = (large.take(), top.take());
//! large.sort();
//! top.sort();
//! assert_eq!(large, [(1, 300), (2, 600)]);
//! assert_eq!(top, ["+I[0, 1, 150]", "+I[10000, 2, 300]"]);
//! # Ok::<(), tidemill::Error>(())
//! ```
//!
//! ### Closures
//! Closures are written as in Rust and need no type annotations: each is typed by the
//! stream it is applied to. The pipeline is built on every worker, so closures are moved
//! into it: capture `Copy` values or clones (`let f = factor; ... map(move |x| x * f)`).
//! Arguments of sources and sinks (collections, paths, collectors) are evaluated once,
//! before the workers start.
//!
//! ### Mistakes are compile errors
//! An unknown operator, a keyed operator on an unkeyed stream, a stream that reaches no
//! sink, an undefined or duplicate stream name, a wrong number of arguments, a value
//! where a closure is needed: each is one error at the offending tokens.
//!
//! ```compile_fail
//! use tidemill::prelude::*;
//! let _ = stream! { from_collection(vec![1, 2]).reduce(|a, b| a + b).print(); };
//! ```
//!
//! ## Extension points
//! `from_source(spec)` and `sink(spec)` take sources and sinks of your own;
//! `docs/extending.md` says where operators, window kinds, sources and sinks go in the
//! code.
//!
//! ### A source: [`sources::SourceSpec`] and [`sources::Reader`]
//! A spec is evaluated once per process and opened on every worker, which reads its share.
//! A reader that says where it is ([`sources::Reader::position`]) and resumes there
//! ([`sources::Reader::seek`]) can be checkpointed.
//!
//! ```
//! use tidemill::prelude::*;
//! use tidemill::sources::{Reader, SourceSpec, Status};
//!
//! /// The numbers `0..n`, worker `index` of `peers` taking `index, index + peers, ...`.
//! struct Numbers(u64);
//!
//! struct NumbersReader { next: u64, step: u64, end: u64 }
//!
//! impl SourceSpec for Numbers {
//!     type Reader = NumbersReader;
//!     fn open(&self, index: usize, peers: usize) -> tidemill::Result<NumbersReader> {
//!         Ok(NumbersReader { next: index as u64, step: peers as u64, end: self.0 })
//!     }
//!     fn bounded(&self) -> bool {
//!         true
//!     }
//! }
//!
//! impl Reader for NumbersReader {
//!     type Item = u64;
//!     fn read(&mut self, budget: usize, out: &mut dyn FnMut(u64)) -> tidemill::Result<Status> {
//!         for _ in 0..budget {
//!             if self.next >= self.end {
//!                 return Ok(Status::Done);
//!             }
//!             out(self.next);
//!             self.next += self.step;
//!         }
//!         Ok(Status::More)
//!     }
//!     // For checkpoints: one split, at the next number.
//!     fn position(&self) -> Option<Vec<(u32, u64)>> {
//!         Some(vec![(0, self.next)])
//!     }
//!     fn seek(&mut self, position: &[(u32, u64)]) -> tidemill::Result<()> {
//!         self.next = position.first().map_or(self.next, |p| p.1);
//!         Ok(())
//!     }
//! }
//!
//! let out = Collector::new();
//! tidemill::run(Args::with_workers(2), stream! {
//!     from_source(Numbers(1000)).filter(|n| n % 7 == 0).collect(out);
//! })?;
//! let mut got = out.take();
//! got.sort();
//! assert_eq!(got, (0..1000).filter(|n| n % 7 == 0).collect::<Vec<u64>>());
//! # Ok::<(), tidemill::Error>(())
//! ```
//!
//! ### A sink: [`sinks::SinkSpec`] and [`sinks::Writer`]
//! A sink spec builds the sink's operator on every worker; [`sinks::write_with`] makes
//! one around a [`sinks::Writer`], which takes batches and flushes them (when it asks, at
//! the interval, and when the input ends), and holds the sink's progress back until they
//! are flushed. A sink that must write each record once after a restore makes its output
//! visible only for completed checkpoints ([`sinks::exactly_once`]).
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//! use tidemill::prelude::*;
//! use tidemill::sinks::{write_with, Records, SinkSpec, Writer, Written};
//! use tidemill::JobContext;
//!
//! /// Appends the records' `Display` form to a shared list, a batch at a time.
//! struct Lines(Arc<Mutex<Vec<String>>>);
//!
//! struct LinesWriter { pending: Vec<String>, done: Arc<Mutex<Vec<String>>> }
//!
//! impl<T: std::fmt::Display + 'static> SinkSpec<T> for Lines {
//!     fn build<'scope>(&self, stream: Records<'scope, T>, context: &JobContext) -> Written<'scope> {
//!         let writer = LinesWriter { pending: Vec::new(), done: Arc::clone(&self.0) };
//!         write_with(stream, "lines", context, Ok(writer), Duration::from_millis(100))
//!     }
//! }
//!
//! impl<T: std::fmt::Display> Writer<T> for LinesWriter {
//!     fn write(&mut self, batch: &mut Vec<T>) -> tidemill::Result<()> {
//!         self.pending.extend(batch.drain(..).map(|r| r.to_string()));
//!         Ok(())
//!     }
//!     fn flush(&mut self) -> tidemill::Result<()> {
//!         self.done.lock().unwrap().append(&mut self.pending);
//!         Ok(())
//!     }
//! }
//!
//! let lines = Arc::new(Mutex::new(Vec::new()));
//! let sink = Lines(Arc::clone(&lines));
//! tidemill::run(Args::with_workers(2), stream! {
//!     from_collection(vec![3u64, 1, 2]).map(|n| n * 10).sink(sink);
//! })?;
//! let mut got = lines.lock().unwrap().clone();
//! got.sort();
//! assert_eq!(got, ["10", "20", "30"]);
//! # Ok::<(), tidemill::Error>(())
//! ```

// The code `stream!` generates names `::tidemill`; this lets the crate's own modules
// (the Nexmark queries) use the macro too.
#[cfg(feature = "nexmark")]
extern crate self as tidemill;

/// The Nexmark queries in the DSL and, in [`nexmark_queries::timely`], hand-written
/// timely versions of q1, q5 and q7: what the `nexmark` binary runs and its tests check.
#[cfg(feature = "nexmark")]
pub mod nexmark_queries;

pub use tidemill_macros::stream;
pub use tidemill_runtime::dead_letter::{DeadLetter, Position};
#[cfg(feature = "kafka")]
pub use tidemill_runtime::kafka;
#[cfg(feature = "nexmark")]
pub use tidemill_runtime::nexmark;
pub use tidemill_runtime::operators::process::{
    Context, KeyedProcessFunction, OutputTag, TimeDomain,
};
#[cfg(feature = "postgres")]
pub use tidemill_runtime::postgres;
pub use tidemill_runtime::state::{ListState, MapState, Ttl, ValueState};
pub use tidemill_runtime::window::{Aggregator, Window, WindowResult};
/// What SQL queries compile to, and their results: the changes of an updating query
/// ([`sql::Change`], [`sql::RowKind`]), and how rows print ([`sql::write_row`]).
pub mod sql {
    pub use tidemill_runtime::sql::changelog::{Change, RowKind};
    pub use tidemill_runtime::sql::{write_row, Field};
}
pub use tidemill_runtime::{
    args, checkpoint, dead_letter, format, hash, join, run, sinks, sources, state, time, window,
    Args, Collector, Error, ExecutionMode, JobContext, JobReport, Pipeline, Plan, PlanNode, Result,
};

/// What a pipeline program needs in scope.
pub mod prelude {
    pub use serde::{Deserialize, Serialize};
    pub use tidemill_macros::stream;
    pub use tidemill_runtime::dead_letter::DeadLetter;
    pub use tidemill_runtime::format::{Bytes, Csv, Json, Text};
    #[cfg(feature = "kafka")]
    pub use tidemill_runtime::kafka::{kafka, kafka_sink, KafkaRecord, StartFrom};
    pub use tidemill_runtime::operators::process::{
        Context, KeyedProcessFunction, OutputTag, TimeDomain,
    };
    #[cfg(feature = "postgres")]
    pub use tidemill_runtime::postgres::postgres;
    pub use tidemill_runtime::sinks::{csv_sink, json_lines_sink, write_file};
    pub use tidemill_runtime::sources::{csv_file, json_lines, read_file};
    pub use tidemill_runtime::state::{ListState, MapState, Ttl, ValueState};
    pub use tidemill_runtime::window::{Aggregator, Window, WindowResult};
    pub use tidemill_runtime::{Args, Collector, ExecutionMode};
}

/// Re-exports for the `clap` parsers of programs with flags of their own.
pub use clap;

/// What the code generated by `stream!` calls: the runtime's codegen contract. Not a
/// stable API.
#[doc(hidden)]
pub use tidemill_runtime::codegen as __private;
