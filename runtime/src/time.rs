//! Event time as timely time.
//!
//! A timestamped stream carries [`Timed`] records: the value with its exact event time in
//! milliseconds. The record travels at a timely time that is its event time rounded down
//! to the pipeline's *tick* (a granularity the `stream!` macro derives from the window
//! specs: the gcd of sizes, slides and allowed lateness), so a batch of thousands of
//! records shares one timestamp and progress tracking stays cheap.
//!
//! The watermark is the source's capability. With bounded out-of-orderness `B`, Flink's
//! watermark after seeing a largest timestamp `m` is `W = m - B - 1`; every record that is
//! not late has a timestamp of at least `W + 1`, so the source holds its capability at
//! `tick_floor(W + 1)`. A window `[start, end)` fires when the input frontier reaches
//! `end`, which for tick-aligned ends is exactly Flink's `W >= end - 1`. A record older
//! than the watermark cannot travel at its own time (timely time never goes back): it
//! travels at the watermark's time, and the window operator decides by its event time.
//!
//! Timely time is [`Time`]: that event time (its `event` part) and a checkpoint epoch,
//! ordered as a product. Windows and timers fire by the least event part of a frontier
//! ([`event_frontier`]); the epoch only moves when the job checkpoints (see
//! [`crate::checkpoint`]).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Timely time in Tidemill: a checkpoint epoch and an event time, ordered as a product
/// (`(e1, t1) <= (e2, t2)` when both parts are), as Bytewax orders its epochs on timely.
///
/// The event part is what windows and timers fire by: an input frontier's event time is
/// the least event part of its elements ([`event_frontier`]). The epoch part is the
/// checkpoint barrier: sources move it forward at each checkpoint interval, and an
/// operator whose input frontier has passed epoch `e` has seen every record of epochs up
/// to `e` (see [`crate::checkpoint`]). Without checkpoints every time is at epoch 0.
#[derive(Copy, Clone, Hash, Eq, PartialEq, Default, Ord, PartialOrd, Serialize, Deserialize)]
pub struct Time {
    /// The checkpoint epoch.
    pub epoch: u64,
    /// Event time in milliseconds (rounded down to the pipeline's tick), or 0 on streams
    /// without timestamps.
    pub event: u64,
}

impl Time {
    /// The same event time in epoch `epoch`.
    #[inline]
    pub fn with_epoch(self, epoch: u64) -> Time {
        Time { epoch, ..self }
    }

    /// The same epoch at event time `event`.
    #[inline]
    pub fn with_event(self, event: u64) -> Time {
        Time { event, ..self }
    }
}

impl std::fmt::Debug for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {})", self.epoch, self.event)
    }
}

impl timely::order::PartialOrder for Time {
    #[inline]
    fn less_equal(&self, other: &Self) -> bool {
        self.epoch <= other.epoch && self.event <= other.event
    }
}

impl timely::progress::Timestamp for Time {
    type Summary = TimeSummary;
    fn minimum() -> Self {
        Time::default()
    }
}

/// Times form a lattice (the product's), as differential dataflow needs of the
/// collections behind updating SQL queries.
impl differential_dataflow::lattice::Lattice for Time {
    #[inline]
    fn join(&self, other: &Self) -> Self {
        Time {
            epoch: self.epoch.max(other.epoch),
            event: self.event.max(other.event),
        }
    }
    #[inline]
    fn meet(&self, other: &Self) -> Self {
        Time {
            epoch: self.epoch.min(other.epoch),
            event: self.event.min(other.event),
        }
    }
}

/// How a [`Time`] changes along a dataflow path: never (pipelines have no loops).
#[derive(Copy, Clone, Debug, Default, Hash, Eq, PartialEq, Ord, PartialOrd)]
pub struct TimeSummary;

impl timely::order::PartialOrder for TimeSummary {
    #[inline]
    fn less_equal(&self, _other: &Self) -> bool {
        true
    }
}

impl timely::progress::PathSummary<Time> for TimeSummary {
    #[inline]
    fn results_in(&self, src: &Time) -> Option<Time> {
        Some(*src)
    }
    #[inline]
    fn followed_by(&self, _other: &Self) -> Option<Self> {
        Some(TimeSummary)
    }
}

impl timely::progress::timestamp::Refines<()> for Time {
    fn to_inner(_: ()) -> Time {
        Time::default()
    }
    fn to_outer(self) {}
    fn summarize(_: TimeSummary) {}
}

/// The timely time of event time `event` in epoch `epoch`.
#[inline]
pub fn at(epoch: u64, event: u64) -> Time {
    Time { epoch, event }
}

/// The time of a message: Tidemill sends every message under one capability, so its
/// stamp has one element.
#[inline]
pub fn time_of(cap: &timely::dataflow::operators::InputCapability<Time>) -> Time {
    *cap.stamp().expect_singleton()
}

/// The event time below which no more input can arrive at a frontier: the least event
/// part of its elements, or `u64::MAX` for an empty frontier (the input is done).
#[inline]
pub fn event_frontier(frontier: &[Time]) -> u64 {
    frontier.iter().map(|t| t.event).min().unwrap_or(u64::MAX)
}

/// The least epoch that may still arrive at a frontier (`u64::MAX` when it is empty):
/// every epoch before it is complete there.
#[inline]
pub fn epoch_frontier(frontier: &[Time]) -> u64 {
    frontier.iter().map(|t| t.epoch).min().unwrap_or(u64::MAX)
}

/// A record of a timestamped stream: the value and its event time in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timed<T> {
    /// Event time, milliseconds (for processing time: the wall clock at the source).
    pub ts: u64,
    /// The record.
    pub value: T,
}

/// `t` rounded down to a multiple of `tick`.
#[inline]
pub fn tick_floor(t: u64, tick: u64) -> u64 {
    t - t % tick
}

/// Milliseconds since the Unix epoch, by the wall clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// How a source stamps the records it emits and where it holds its watermark.
pub trait Stamper<U>: 'static {
    /// What the source emits: `U` itself, or `Timed<U>`.
    type Out: 'static;
    /// The timely time `record` travels at (never below [`Stamper::watermark_time`] as it
    /// was before the call) and its timestamp, which [`Stamper::wrap`] puts on it.
    fn time(&mut self, record: &U) -> (u64, u64);
    /// The record as the source emits it, with the timestamp [`Stamper::time`] gave. The
    /// source calls it once it has found the record's batch for the time, so that the
    /// record is moved only once.
    fn wrap(ts: u64, record: U) -> Self::Out;
    /// The timely time at which the source holds its capability now.
    fn watermark_time(&mut self) -> u64;
    /// The source has read nothing for `idle_for` (an unbounded source waiting for
    /// input): a stamper with an idle timeout may advance its watermark.
    fn on_idle(&mut self, idle_for: std::time::Duration) {
        let _ = idle_for;
    }
    /// For checkpoints: the least event time that is not late now (0 without a
    /// watermark), which [`Stamper::restore`] gives back to a restored source.
    fn checkpoint(&self) -> u64 {
        0
    }
    /// A restored source's stamper: nothing before `not_late_from` is in time any more.
    fn restore(&mut self, not_late_from: u64) {
        let _ = not_late_from;
    }
    /// The records that follow come from split `split` (a Kafka partition) until the
    /// next call. A stamper with a watermark keeps one per split, and the source's is
    /// their minimum (Flink's per-partition watermarks).
    fn enter_split(&mut self, split: u32) {
        let _ = split;
    }
    /// Split `split` has ended (a bounded read reached its end offset): it no longer holds
    /// the source's watermark back.
    fn finish_split(&mut self, split: u32) {
        let _ = split;
    }
}

/// No timestamps: every record travels at time 0 and the watermark stays there until
/// the source ends.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTime;

impl<U: 'static> Stamper<U> for NoTime {
    type Out = U;
    #[inline]
    fn time(&mut self, _record: &U) -> (u64, u64) {
        (0, 0)
    }
    #[inline]
    fn wrap(_ts: u64, record: U) -> U {
        record
    }
    fn watermark_time(&mut self) -> u64 {
        0
    }
}

/// Event time from a field of the record, with bounded out-of-orderness (Flink's
/// `forBoundedOutOfOrderness`; a bound of zero is `forMonotonousTimestamps`).
///
/// The watermark is updated after every record, so whether a record is late depends
/// only on the records this source emitted before it.
///
/// With an idle timeout (Flink's `withIdleness`), a source that has read nothing for that
/// long lets its watermark follow the wall clock (`now - bound`) for as long as it stays
/// idle, so windows still fire when input stops or one worker's share of it is quiet. The
/// watermark never moves back: a record older than it when input resumes is late. Flink
/// instead leaves an idle source out of the combined watermark; the two agree when event
/// time tracks the wall clock, and differ for replayed old data that resumes after a pause.
///
/// A source whose reader has splits (a Kafka topic's partitions) gets a watermark per
/// split ([`Stamper::enter_split`]): the source's is the least over its splits, so a
/// partition that is behind does not make the records of another late, and a split
/// that has not sent anything yet holds the watermark back. With an idle timeout, a split
/// without records for that long is left out of the minimum until it sends again (as
/// Flink's per-partition idleness); an ended split is left out for good.
pub struct BoundedOutOfOrderness<F> {
    timestamp: F,
    bound: u64,
    tick: u64,
    /// The largest timestamp seen, if any (without splits).
    max_seen: Option<u64>,
    idle_timeout: Option<std::time::Duration>,
    /// The least timestamp that is not late, raised while the source is idle.
    floor: u64,
    clock: fn() -> u64,
    /// Per split: the watermarks and which split the records come from now.
    splits: Vec<Split>,
    current: usize,
    /// The least `max_seen - bound` over the live splits (never lowered).
    combined: u64,
    /// The tick of the last record's time: the next one is usually in it too, and then
    /// needs no division.
    last_tick: u64,
}

/// One split's part of a [`BoundedOutOfOrderness`] watermark.
struct Split {
    id: u32,
    max_seen: Option<u64>,
    /// Records seen, and how many there were when the split was last found active.
    records: u64,
    checked: u64,
    active_at: std::time::Instant,
    idle: bool,
    done: bool,
}

impl<F> BoundedOutOfOrderness<F> {
    /// Timestamps by `timestamp`, records at most `bound` ms out of order, times rounded
    /// down to multiples of `tick` ms.
    pub fn new(timestamp: F, bound: u64, tick: u64) -> Self {
        assert!(tick > 0, "the tick must be positive");
        BoundedOutOfOrderness {
            timestamp,
            bound,
            tick,
            max_seen: None,
            idle_timeout: None,
            floor: 0,
            clock: now_ms,
            splits: Vec::new(),
            current: usize::MAX,
            combined: 0,
            last_tick: 0,
        }
    }

    /// `idle_timeout = ms`: after that long without records, the watermark follows the
    /// wall clock.
    pub fn with_idle_timeout(mut self, ms: u64) -> Self {
        self.idle_timeout = Some(std::time::Duration::from_millis(ms));
        self
    }

    /// Reads the wall clock from `clock` (tests use a fake one).
    pub fn with_clock(mut self, clock: fn() -> u64) -> Self {
        self.clock = clock;
        self
    }

    /// `W + 1`: the least timestamp that is not late.
    #[inline]
    fn not_late_from(&self) -> u64 {
        let from = if self.splits.is_empty() {
            self.max_seen.map_or(0, |m| m.saturating_sub(self.bound))
        } else {
            self.combined
        };
        from.max(self.floor)
    }

    fn split_floor(&self, max_seen: Option<u64>) -> u64 {
        max_seen.map_or(0, |m| m.saturating_sub(self.bound))
    }

    /// The least floor over the splits that neither ended nor idle, if any; the combined
    /// floor never goes back.
    fn recombine(&mut self) {
        let live = self.splits.iter().filter(|s| !s.done && !s.idle);
        if let Some(least) = live.map(|s| self.split_floor(s.max_seen)).min() {
            self.combined = self.combined.max(least);
        }
    }

    /// Splits without records for the idle timeout leave the minimum.
    fn check_idle_splits(&mut self) {
        let Some(timeout) = self.idle_timeout else {
            return;
        };
        let now = std::time::Instant::now();
        let mut changed = false;
        for split in self.splits.iter_mut().filter(|s| !s.done) {
            if split.records != split.checked {
                split.checked = split.records;
                split.active_at = now;
            } else if !split.idle && now.duration_since(split.active_at) >= timeout {
                split.idle = true;
                changed = true;
            }
        }
        if changed {
            self.recombine();
        }
    }
}

impl<U: 'static, F: FnMut(&U) -> u64 + 'static> Stamper<U> for BoundedOutOfOrderness<F> {
    type Out = Timed<U>;
    #[inline]
    fn time(&mut self, record: &U) -> (u64, u64) {
        let ts = (self.timestamp)(record);
        let t = ts.max(self.not_late_from());
        // `last_tick` is a multiple of the tick: it is `t`'s when `t` is less than a
        // tick past it.
        if t.wrapping_sub(self.last_tick) >= self.tick {
            self.last_tick = tick_floor(t, self.tick);
        }
        let time = self.last_tick;
        match self.splits.get_mut(self.current) {
            None => self.max_seen = Some(self.max_seen.map_or(ts, |m| m.max(ts))),
            Some(split) => {
                split.records += 1;
                let before = split.max_seen;
                if before.is_none_or(|m| ts > m) {
                    split.max_seen = Some(ts);
                    // Only a split at the minimum can raise it.
                    if self.split_floor(before) <= self.combined {
                        self.recombine();
                    }
                }
            }
        }
        (time, ts)
    }
    #[inline]
    fn wrap(ts: u64, value: U) -> Timed<U> {
        Timed { ts, value }
    }
    fn watermark_time(&mut self) -> u64 {
        self.check_idle_splits();
        tick_floor(self.not_late_from(), self.tick)
    }
    fn on_idle(&mut self, idle_for: std::time::Duration) {
        if self.idle_timeout.is_some_and(|t| idle_for >= t) {
            self.floor = self.floor.max((self.clock)().saturating_sub(self.bound));
        }
    }
    fn enter_split(&mut self, split: u32) {
        self.current = match self.splits.iter().position(|s| s.id == split) {
            Some(i) => i,
            None => {
                self.splits.push(Split {
                    id: split,
                    max_seen: None,
                    records: 0,
                    checked: 0,
                    active_at: std::time::Instant::now(),
                    idle: false,
                    done: false,
                });
                self.splits.len() - 1
            }
        };
        let split = &mut self.splits[self.current];
        if split.idle {
            // Back from idleness: in the minimum again (which never goes back).
            split.idle = false;
            split.checked = split.records;
            split.active_at = std::time::Instant::now();
        }
    }
    fn finish_split(&mut self, split: u32) {
        if let Some(s) = self.splits.iter_mut().find(|s| s.id == split) {
            s.done = true;
            self.recombine();
        }
    }
    fn checkpoint(&self) -> u64 {
        self.not_late_from()
    }
    fn restore(&mut self, not_late_from: u64) {
        self.floor = self.floor.max(not_late_from);
    }
}

/// Processing time: a record's time is the wall clock when the source reads it, and the
/// watermark follows the clock.
pub struct ProcessingTime {
    tick: u64,
    clock: fn() -> u64,
    /// The clock never goes back, even when the system clock does.
    last: u64,
}

impl ProcessingTime {
    /// Stamps by the wall clock, times rounded down to multiples of `tick` ms.
    pub fn new(tick: u64) -> Self {
        Self::with_clock(tick, now_ms)
    }

    /// Stamps by `clock` (tests use a fake one).
    pub fn with_clock(tick: u64, clock: fn() -> u64) -> Self {
        assert!(tick > 0, "the tick must be positive");
        ProcessingTime {
            tick,
            clock,
            last: 0,
        }
    }

    fn now(&mut self) -> u64 {
        self.last = self.last.max((self.clock)());
        self.last
    }
}

impl<U: 'static> Stamper<U> for ProcessingTime {
    type Out = Timed<U>;
    #[inline]
    fn time(&mut self, _record: &U) -> (u64, u64) {
        let ts = self.now();
        (tick_floor(ts, self.tick), ts)
    }
    #[inline]
    fn wrap(ts: u64, value: U) -> Timed<U> {
        Timed { ts, value }
    }
    fn watermark_time(&mut self) -> u64 {
        tick_floor(self.now(), self.tick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a source does with a record: its time, then the record wrapped.
    trait Stamp<U>: Stamper<U> {
        fn stamp(&mut self, record: U) -> (u64, Self::Out) {
            let (time, ts) = self.time(&record);
            (time, Self::wrap(ts, record))
        }
    }

    impl<U, S: Stamper<U>> Stamp<U> for S {}

    #[test]
    fn an_idle_source_follows_the_wall_clock_after_the_timeout() {
        fn clock() -> u64 {
            50_000
        }
        let ms = std::time::Duration::from_millis;
        let mut s = BoundedOutOfOrderness::new(|t: &u64| *t, 1_000, 1)
            .with_idle_timeout(2_000)
            .with_clock(clock);
        s.stamp(10_000);
        s.on_idle(ms(1_999));
        assert_eq!(
            Stamper::<u64>::watermark_time(&mut s),
            9_000,
            "not yet idle"
        );
        s.on_idle(ms(2_000));
        assert_eq!(Stamper::<u64>::watermark_time(&mut s), 49_000);
        assert_eq!(s.stamp(30_000).0, 49_000, "older records are late now");
        assert_eq!(Stamper::<u64>::watermark_time(&mut s), 49_000, "never back");
        let mut plain = BoundedOutOfOrderness::new(|t: &u64| *t, 1_000, 1).with_clock(clock);
        plain.on_idle(ms(60_000));
        assert_eq!(
            Stamper::<u64>::watermark_time(&mut plain),
            0,
            "no timeout: waits"
        );
    }

    #[test]
    fn bounded_out_of_orderness_follows_flink() {
        // Bound 4 ms, tick 1: W = max - 4 - 1, a record at exactly max - 4 is not late.
        let mut s = BoundedOutOfOrderness::new(|t: &u64| *t, 4, 1);
        assert_eq!(Stamper::<u64>::watermark_time(&mut s), 0);
        assert_eq!(s.stamp(10).0, 10);
        assert_eq!(Stamper::<u64>::watermark_time(&mut s), 6);
        assert_eq!(
            s.stamp(6).0,
            6,
            "max - bound is not late and keeps its time"
        );
        assert_eq!(s.stamp(5).0, 6, "a late record travels at the watermark");
        assert_eq!(s.stamp(20).0, 20);
        assert_eq!(Stamper::<u64>::watermark_time(&mut s), 16);
    }

    #[test]
    fn each_split_keeps_its_own_watermark_and_the_source_takes_the_least() {
        let mut s = BoundedOutOfOrderness::new(|t: &u64| *t, 5, 1);
        let wm = |s: &mut BoundedOutOfOrderness<_>| Stamper::<u64>::watermark_time(s);
        // Two partitions announced: neither has sent anything, so nothing is late yet.
        s.enter_split(0);
        s.enter_split(1);
        assert_eq!(s.stamp(100).0, 100);
        assert_eq!(
            wm(&mut s),
            0,
            "split 0 has sent nothing: it holds the watermark"
        );
        s.enter_split(0);
        assert_eq!(
            s.stamp(20).0,
            20,
            "not late: split 1 is far ahead, split 0 is not"
        );
        assert_eq!(wm(&mut s), 15, "the least: split 0's 20 - 5");
        assert_eq!(s.stamp(18).0, 18, "within split 0's bound");
        assert_eq!(s.stamp(10).0, 15, "late for split 0: at the watermark");
        s.enter_split(1);
        assert_eq!(
            s.stamp(30).0,
            30,
            "split 1's own order is not checked against 100"
        );
        s.enter_split(0);
        s.stamp(200);
        assert_eq!(wm(&mut s), 95, "now split 1 is the least: 100 - 5");
        s.finish_split(1);
        assert_eq!(wm(&mut s), 195, "an ended split no longer holds it back");
        s.enter_split(0);
        assert_eq!(s.stamp(120).0, 195, "late");
        s.finish_split(0);
        assert_eq!(wm(&mut s), 195, "the watermark never goes back");
    }

    #[test]
    fn an_idle_split_leaves_the_minimum_until_it_sends_again() {
        let mut s = BoundedOutOfOrderness::new(|t: &u64| *t, 0, 1).with_idle_timeout(30);
        let wm = |s: &mut BoundedOutOfOrderness<_>| Stamper::<u64>::watermark_time(s);
        s.enter_split(0);
        s.stamp(10);
        s.enter_split(1);
        s.stamp(1000);
        assert_eq!(wm(&mut s), 10);
        // Split 1 keeps sending; split 0 is quiet past the timeout.
        for t in 0..4 {
            std::thread::sleep(std::time::Duration::from_millis(15));
            s.stamp(1000 + t);
            wm(&mut s);
        }
        assert_eq!(wm(&mut s), 1003, "split 0 is idle: split 1 alone");
        s.enter_split(0);
        assert_eq!(s.stamp(20).0, 1003, "back, behind the watermark: late");
        s.enter_split(1);
        s.stamp(2000);
        assert_eq!(wm(&mut s), 1003, "split 0 is in the minimum again");
    }

    #[test]
    fn times_round_down_to_the_tick() {
        let mut s = BoundedOutOfOrderness::new(|t: &u64| *t, 0, 1000);
        assert_eq!(
            s.stamp(1999),
            (
                1000,
                Timed {
                    ts: 1999,
                    value: 1999
                }
            )
        );
        assert_eq!(Stamper::<u64>::watermark_time(&mut s), 1000);
        assert_eq!(s.stamp(2000).0, 2000);
        assert_eq!(s.stamp(1500).0, 2000, "late: at the watermark's tick");
    }

    #[test]
    fn times_round_down_to_the_tick_going_back_and_forth() {
        // Out of order, across ticks both ways, late ones included: each time is the
        // floor of the timestamp (or of the least timestamp that is not late).
        let (bound, tick) = (2_500, 1_000);
        let mut s = BoundedOutOfOrderness::new(|t: &u64| *t, bound, tick);
        let (mut seed, mut max_seen) = (7u64, None::<u64>);
        for i in 0..10_000u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let ts = (i * 3 + (seed >> 33) % 4_000).saturating_sub(2_000);
            let not_late = max_seen.map_or(0, |m| m.saturating_sub(bound));
            assert_eq!(
                s.stamp(ts).0,
                tick_floor(ts.max(not_late), tick),
                "record {i}: {ts}"
            );
            max_seen = max_seen.max(Some(ts));
        }
    }

    #[test]
    fn processing_time_never_goes_back() {
        // A clock that jumps back after 1500.
        fn clock() -> u64 {
            use std::sync::atomic::{AtomicU64, Ordering};
            static CALLS: AtomicU64 = AtomicU64::new(0);
            match CALLS.fetch_add(1, Ordering::Relaxed) {
                0 => 1200,
                1 => 1500,
                _ => 900,
            }
        }
        let mut s = ProcessingTime::with_clock(100, clock);
        assert_eq!(s.stamp(()).0, 1200);
        assert_eq!(s.stamp(()).1.ts, 1500);
        assert_eq!(Stamper::<()>::watermark_time(&mut s), 1500);
    }
}
