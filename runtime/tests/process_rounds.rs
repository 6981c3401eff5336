//! Process functions, keyed state and timers, driven in rounds: records go in through an
//! input handle, the watermark (the input's time) advances between rounds, and after each
//! round the test checks exactly what the function emitted.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tidemill_runtime::operators::keyed::key_by_fn_timed;
use tidemill_runtime::operators::process::{
    process, Context, KeyedProcessFunction, OutputTag, TimeDomain,
};
use tidemill_runtime::state::{ListState, MapState, Ttl, ValueState};
use tidemill_runtime::testing::event_input;
use tidemill_runtime::time::{Time, Timed};
use timely::dataflow::operators::{Inspect, Probe};
use timely::dataflow::ProbeHandle;

/// What a test record asks the function to do for its key.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum Cmd {
    /// Set the value state.
    Set(u64),
    /// Emit the value state.
    Read,
    /// Register an event-time timer.
    Timer(u64),
    /// Delete an event-time timer.
    Delete(u64),
    /// Register a processing-time timer this many ms from now.
    ProcessingTimer(u64),
    /// Append to the list state and emit the list.
    Add(u64),
    /// Put an entry in the map state.
    Put(u8, u64),
    /// Emit the map entry.
    Get(u8),
    /// Emit the live map entries.
    Entries,
    /// Emit how many keys each state holds in memory.
    Live,
    /// Emit a side output.
    Side(u64),
}

const DEBUG: OutputTag<String> = OutputTag::new("debug");

struct Scripted {
    value: ValueState<u8, u64>,
    list: ListState<u8, u64>,
    map: MapState<u8, u8, u64>,
}

impl KeyedProcessFunction<u8, (u8, Cmd)> for Scripted {
    type Out = String;

    fn process_element(
        &mut self,
        record: (u8, Cmd),
        ctx: &mut Context<'_, u8>,
        out: &mut Vec<String>,
    ) {
        let key = *ctx.key();
        match record.1 {
            Cmd::Set(v) => self.value.update(ctx, v),
            Cmd::Read => out.push(format!("{key} value {:?}", self.value.value(ctx))),
            Cmd::Timer(t) => ctx.register_event_time_timer(t),
            Cmd::Delete(t) => ctx.delete_event_time_timer(t),
            Cmd::ProcessingTimer(ms) => {
                let at = ctx.current_processing_time() + ms;
                ctx.register_processing_time_timer(at);
            }
            Cmd::Add(v) => {
                self.list.add(ctx, v);
                out.push(format!("{key} list {:?}", self.list.get(ctx)));
            }
            Cmd::Put(k, v) => self.map.put(ctx, k, v),
            Cmd::Get(k) => out.push(format!("{key} map {k} {:?}", self.map.get(ctx, &k))),
            Cmd::Entries => {
                let mut entries = self.map.entries(ctx);
                entries.sort();
                out.push(format!("{key} entries {entries:?}"));
            }
            Cmd::Live => {
                // Touching a state releases its expired entries first.
                self.value.value(ctx);
                self.map.get(ctx, &0);
                out.push(format!(
                    "live {} {} {}",
                    self.value.len(),
                    self.list.len(),
                    self.map.len()
                ));
            }
            Cmd::Side(v) => ctx.output(&DEBUG, format!("{key} side {v}")),
        }
    }

    fn on_timer(&mut self, time: u64, ctx: &mut Context<'_, u8>, out: &mut Vec<String>) {
        let domain = match ctx.time_domain() {
            Some(TimeDomain::EventTime) => "event",
            Some(TimeDomain::ProcessingTime) => "processing",
            None => "none",
        };
        if domain == "processing" {
            out.push(format!("{} processing timer", ctx.key()));
            // Key 9 chains an event-time timer from its processing-time timer.
            if *ctx.key() == 9 {
                ctx.register_event_time_timer(500);
            }
        } else {
            out.push(format!("{} {domain} timer {time}", ctx.key()));
        }
    }
}

/// `(timestamp, text)` of what appeared in a round, sorted.
type Appeared = Vec<(u64, String)>;

/// A round: records `(key, ts, cmd)` sent at the current watermark, then the next
/// watermark (`None` closes the input).
type Round<'a> = &'a mut dyn FnMut(&[(u8, u64, Cmd)], Option<u64>) -> Appeared;

/// Runs `script` against [`Scripted`] with a TTL of 10 ms of event time on the value and
/// map states; side outputs appear in the same list as the main output.
fn rounds(script: impl FnOnce(Round<'_>) + Send + Sync + 'static) {
    timely::execute_directly(move |worker| {
        let probe = ProbeHandle::new();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let (main_seen, side_seen) = (Rc::clone(&seen), Rc::clone(&seen));
        let mut input = worker.dataflow::<Time, _, _>(|scope| {
            let (input, stream) = event_input::<Timed<(u8, Cmd)>>(scope);
            let keyed = key_by_fn_timed(stream, |r: &(u8, Cmd)| r.0);
            let f = Scripted {
                value: ValueState::with_ttl(Ttl::event_time(Duration::from_millis(10))),
                list: ListState::new(),
                map: MapState::with_ttl(Ttl::event_time(Duration::from_millis(10))),
            };
            let (main, (side,)) = process(keyed, "scripted", f, 1, (DEBUG,), None);
            main.inspect(move |t| main_seen.borrow_mut().push((t.ts, t.value.clone())))
                .probe_with(&probe);
            side.inspect(move |t| side_seen.borrow_mut().push((t.ts, t.value.clone())))
                .probe_with(&probe);
            Some(input)
        });
        script(&mut |records, watermark| {
            let handle = input.as_mut().expect("the input is open");
            for (key, ts, cmd) in records {
                handle.send(Timed {
                    ts: *ts,
                    value: (*key, cmd.clone()),
                });
            }
            match watermark {
                Some(w) => {
                    handle.advance_to(w);
                    worker.step_or_park(Some(Duration::from_millis(20)));
                    while probe.less_than(&handle.time()) {
                        worker.step();
                    }
                    // Records sent at a time the input already had are not waited for
                    // by the probe: a few more steps deliver them.
                    for _ in 0..5 {
                        worker.step();
                    }
                }
                None => {
                    input.take().expect("open").close();
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while worker.step() {
                        assert!(
                            Instant::now() < deadline,
                            "the dataflow did not end: a capability is still held"
                        );
                    }
                }
            }
            let mut got: Appeared = seen.borrow_mut().drain(..).collect();
            got.sort();
            got
        });
    });
}

fn at(ts: u64, text: &str) -> (u64, String) {
    (ts, text.to_string())
}

#[test]
fn event_time_timers_fire_once_per_key_and_time_when_the_watermark_passes() {
    rounds(|round| {
        let cmds = [
            (1, 1, Cmd::Timer(10)),
            (1, 2, Cmd::Timer(10)), // the same timer again: fires once
            (2, 3, Cmd::Timer(10)),
            (2, 3, Cmd::Timer(12)),
            (1, 4, Cmd::Timer(15)),
            (1, 4, Cmd::Delete(15)), // deleted: never fires
        ];
        assert_eq!(round(&cmds, Some(10)), []);
        // The watermark reaches 10 (the frontier passes it).
        assert_eq!(
            round(&[], Some(11)),
            [at(10, "1 event timer 10"), at(10, "2 event timer 10")]
        );
        assert_eq!(round(&[], Some(12)), []);
        assert_eq!(round(&[], Some(30)), [at(12, "2 event timer 12")]);
        // A timer in the past fires at the next progress step, stamped with its time.
        assert_eq!(
            round(&[(3, 30, Cmd::Timer(5))], Some(31)),
            [at(5, "3 event timer 5")]
        );
        // Timers still pending when the input ends fire then.
        assert_eq!(round(&[(4, 31, Cmd::Timer(1_000))], Some(40)), []);
        assert_eq!(round(&[], None), [at(1_000, "4 event timer 1000")]);
    });
}

#[test]
fn state_is_per_key_and_event_time_ttl_expires_it() {
    rounds(|round| {
        round(&[(1, 0, Cmd::Set(7)), (2, 0, Cmd::Set(8))], Some(1));
        // Within the TTL (10 ms after the write at 0), each key reads its own value.
        assert_eq!(
            round(&[(1, 9, Cmd::Read), (2, 5, Cmd::Set(9))], Some(2)),
            [at(9, "1 value Some(7)")]
        );
        // At event time 10 key 1's value is gone; key 2's was written again at 5.
        assert_eq!(
            round(&[(1, 10, Cmd::Read), (2, 14, Cmd::Read)], Some(3)),
            [at(10, "1 value None"), at(14, "2 value Some(9)")]
        );
        assert_eq!(
            round(&[(2, 15, Cmd::Read)], Some(4)),
            [at(15, "2 value None")]
        );
        // List state has no TTL: it keeps growing per key.
        assert_eq!(
            round(&[(1, 20, Cmd::Add(1)), (1, 21, Cmd::Add(2))], Some(20)),
            [at(20, "1 list [1]"), at(21, "1 list [1, 2]")]
        );
        // Map entries expire one by one, each 10 ms after its own write.
        round(
            &[(1, 30, Cmd::Put(1, 10)), (1, 35, Cmd::Put(2, 20))],
            Some(30),
        );
        assert_eq!(
            round(
                &[
                    (1, 39, Cmd::Get(1)),
                    (1, 40, Cmd::Get(1)),
                    (1, 40, Cmd::Get(2))
                ],
                Some(31)
            ),
            [
                at(39, "1 map 1 Some(10)"),
                at(40, "1 map 1 None"),
                at(40, "1 map 2 Some(20)")
            ]
        );
        // Entry 2 (written at 35) lives until 45.
        assert_eq!(
            round(&[(1, 44, Cmd::Entries), (1, 45, Cmd::Entries)], Some(32)),
            [at(44, "1 entries [(2, 20)]"), at(45, "1 entries []")]
        );
    });
}

#[test]
fn expired_state_is_released_as_the_watermark_passes() {
    rounds(|round| {
        // 100 keys each write their value and a map entry once, at times 0..100.
        let writes: Vec<_> = (0..100u8)
            .flat_map(|k| {
                [
                    (k, u64::from(k), Cmd::Set(1)),
                    (k, u64::from(k), Cmd::Put(0, 1)),
                ]
            })
            .collect();
        round(&writes, Some(50));
        // The watermark is at 49: keys written before 40 have expired (stamp + 10 <= 49)
        // and are released when the state is next touched.
        assert_eq!(
            round(&[(200, 99, Cmd::Live)], Some(50)),
            [at(99, "live 60 0 60")]
        );
        // Releasing needs an access; the watermark alone moves nothing.
        round(&[], Some(200));
        assert_eq!(
            round(&[(200, 200, Cmd::Live)], Some(200)),
            [at(200, "live 0 0 0")]
        );
    });
}

#[test]
fn state_of_rotating_keys_stays_bounded_over_a_long_run() {
    rounds(|round| {
        // 20,000 writes over 2,000 ms of event time to rotating keys (u8 keys wrap, so
        // keys come back after expiring); only the keys of the last two rounds live.
        let mut max_live = 0;
        for step in 0..200u64 {
            let records: Vec<_> = (0..100u64)
                .map(|i| ((step * 100 + i) as u8, step * 10 + i / 10, Cmd::Set(i)))
                .chain(std::iter::once((255, step * 10 + 9, Cmd::Live)))
                .collect();
            let got = round(&records, Some(step * 10 + 10));
            let live: usize = got[0].1.split(' ').nth(1).unwrap().parse().unwrap();
            max_live = max_live.max(live);
        }
        assert!(max_live > 0);
        // Without releasing, all 255 keys would be live from the third step on.
        assert!(max_live <= 200, "live keys {max_live}");
        round(&[], Some(3_000));
        let got = round(&[(255, 3_000, Cmd::Live)], Some(3_000));
        assert_eq!(got, [at(3_000, "live 0 0 0")]);
    });
}

#[test]
fn side_outputs_carry_the_record_time() {
    rounds(|round| {
        assert_eq!(
            round(&[(1, 5, Cmd::Side(1)), (2, 7, Cmd::Side(2))], Some(8)),
            [at(5, "1 side 1"), at(7, "2 side 2")]
        );
    });
}

#[test]
fn processing_time_timers_fire_by_the_wall_clock() {
    rounds(|round| {
        let started = Instant::now();
        assert_eq!(round(&[(1, 0, Cmd::ProcessingTimer(200))], Some(1)), []);
        // The input stays open at watermark 1; the timer fires by itself.
        let mut got = Vec::new();
        while got.is_empty() && started.elapsed() < Duration::from_secs(10) {
            got = round(&[], Some(1));
        }
        assert_eq!(got, [at(1, "1 processing timer")]);
        // Processing time is whole milliseconds of the wall clock: a timer registered at
        // `now` (truncated) + 200 may fire up to 1 ms before 200 ms have passed.
        assert!(started.elapsed() >= Duration::from_millis(199));
        // One still pending when the input ends fires then.
        assert_eq!(round(&[(1, 2, Cmd::ProcessingTimer(60_000))], Some(3)), []);
        assert_eq!(round(&[], None), [at(3, "1 processing timer")]);
    });
}

#[test]
fn timers_registered_after_the_input_ended_still_fire() {
    rounds(|round| {
        assert_eq!(round(&[(9, 1, Cmd::ProcessingTimer(60_000))], Some(2)), []);
        // At the end the processing-time timer fires and registers an event-time timer,
        // which fires too (and the job ends).
        assert_eq!(
            round(&[], None),
            [at(2, "9 processing timer"), at(500, "9 event timer 500")]
        );
    });
}
