//! Windows fire only when complete: records arrive in rounds through an input handle,
//! the watermark (the input's time) advances between rounds, and after each round the
//! test checks exactly which results exist.

use std::cell::RefCell;
use std::rc::Rc;

use tidemill_runtime::operators::keyed::key_by_fn_timed;
use tidemill_runtime::testing::event_input;
use tidemill_runtime::time::{Time, Timed};
use tidemill_runtime::window::{self, Assigner, Count, WindowKind, WindowResult};
use timely::dataflow::operators::{Inspect, Probe};
use timely::dataflow::ProbeHandle;

/// `(key, start, end, count)` of the results that appeared in a round.
type Appeared = Vec<(u8, i64, i64, u64)>;

/// Runs `script` against a per-key count over `windows`: the script calls its argument
/// with the records of a round (sent at the current watermark) and the next watermark,
/// and gets back the results that appeared. Returns the late records' timestamps.
fn rounds(
    windows: impl WindowKind + Send + Sync,
    lateness: u64,
    script: impl FnOnce(&mut dyn FnMut(&[(u8, u64)], u64) -> Appeared) + Send + Sync + 'static,
) -> Vec<u64> {
    timely::execute_directly(move |worker| {
        let probe = ProbeHandle::new();
        let results = Rc::new(RefCell::new(Vec::new()));
        let late = Rc::new(RefCell::new(Vec::new()));
        let (r, l) = (Rc::clone(&results), Rc::clone(&late));
        let mut input = worker.dataflow::<Time, _, _>(|scope| {
            let (input, stream) = event_input::<Timed<u8>>(scope);
            let keyed = key_by_fn_timed(stream, |k: &u8| *k);
            let windowed = window::allowed_lateness(window::window(keyed, windows), lateness);
            let (out, too_late) = window::aggregate(windowed, "count", Count);
            out.inspect(move |t| r.borrow_mut().push(t.value.clone()))
                .probe_with(&probe);
            too_late
                .inspect(move |t| l.borrow_mut().push(t.ts))
                .probe_with(&probe);
            input
        });
        script(&mut |records, watermark| {
            for &(key, ts) in records {
                input.send(Timed { ts, value: key });
            }
            input.advance_to(watermark);
            while probe.less_than(&input.time()) {
                worker.step();
            }
            let mut got: Appeared = results
                .borrow_mut()
                .drain(..)
                .map(|w: WindowResult<u8, u64>| (w.key, w.start, w.end, w.value))
                .collect();
            got.sort();
            got
        });
        let late = late.borrow().clone();
        late
    })
}

#[test]
fn tumbling_windows_fire_once_complete_and_again_for_allowed_late_records() {
    let late = rounds(Assigner::tumbling(10), 5, |round| {
        // Records in [0, 10) and one in [10, 20); the watermark stops short of 10.
        assert_eq!(round(&[(1, 1), (1, 5), (2, 5), (1, 12)], 9), []);
        // The watermark reaches the end of [0, 10): it fires, once per key.
        assert_eq!(round(&[], 10), [(1, 0, 10, 2), (2, 0, 10, 1)]);
        assert_eq!(round(&[], 11), []);
        // A record for [0, 10) after it fired, within the allowed lateness: an update.
        assert_eq!(round(&[(1, 3)], 12), [(1, 0, 10, 3)]);
        // At 15 the lateness of [0, 10) has passed: its records go to the late output.
        assert_eq!(round(&[], 15), []);
        assert_eq!(round(&[(1, 4)], 19), []);
        // [10, 20) fires when the watermark reaches 20.
        assert_eq!(round(&[], 20), [(1, 10, 20, 1)]);
    });
    assert_eq!(late, [4]);
}

#[test]
fn sliding_windows_fire_in_turn() {
    let late = rounds(Assigner::sliding(10, 5), 0, |round| {
        assert_eq!(round(&[(1, 7)], 9), []);
        assert_eq!(round(&[], 10), [(1, 0, 10, 1)]);
        assert_eq!(round(&[(1, 11)], 15), [(1, 5, 15, 2)]);
        assert_eq!(round(&[], 20), [(1, 10, 20, 1)]);
        // Past every window of 7 (the last ends at 15), with no lateness allowed.
        assert_eq!(round(&[(1, 7)], 21), []);
    });
    assert_eq!(late, [7]);
}

#[test]
fn sessions_merge_and_a_late_record_bridges_two_fired_sessions() {
    let late = rounds(window::session(5), 10, |round| {
        // Two sessions of key 1, [0, 5) and [8, 13); records exactly a gap apart (20 and
        // 25) share one session, as in Flink.
        assert_eq!(
            round(&[(1, 0), (1, 8), (2, 20), (2, 25)], 12),
            [(1, 0, 5, 1)]
        );
        assert_eq!(round(&[], 14), [(1, 8, 13, 1)]);
        // A late record at 4 touches both: the merged session [0, 13) fires at once.
        assert_eq!(round(&[(1, 4)], 15), [(1, 0, 13, 3)]);
        assert_eq!(round(&[], 31), [(2, 20, 30, 2)]);
        // A record whose own window [9, 14) is past its lateness (14 + 1 + 10 <= 31): late.
        assert_eq!(round(&[(1, 9)], 40), []);
    });
    assert_eq!(late, [9]);
}

#[test]
fn ticked_session_results_travel_at_the_tick_and_keep_their_last_millisecond() {
    let seen = timely::execute_directly(|worker| {
        let probe = ProbeHandle::new();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = Rc::clone(&seen);
        let mut input = worker.dataflow::<Time, _, _>(|scope| {
            let (input, stream) = event_input::<Timed<u8>>(scope);
            let keyed = key_by_fn_timed(stream, |k: &u8| *k);
            let windowed = window::window(keyed, window::session(5).ticked(10));
            let (out, _late) = window::aggregate(windowed, "count", Count);
            out.inspect_core(move |event| {
                if let Ok((stamp, batch)) = event {
                    let time = stamp.elements()[0].event;
                    let mut s = s.borrow_mut();
                    s.extend(batch.iter().map(|r| (time, r.ts, r.value.end)));
                }
            })
            .probe_with(&probe);
            input
        });
        for (key, ts) in [(1, 0), (2, 3), (3, 13)] {
            input.send(Timed { ts, value: key });
        }
        input.advance_to(30);
        while probe.less_than(&input.time()) {
            worker.step();
        }
        let mut seen = seen.borrow().clone();
        seen.sort();
        seen
    });
    // Sessions [0, 5), [3, 8) and [13, 18): data times 4, 7 and 17 (their last ms), timely
    // times rounded down to the tick of 10.
    assert_eq!(seen, [(0, 4, 5), (0, 7, 8), (10, 17, 18)]);
}

#[test]
fn a_growing_session_fires_once_at_its_final_end_and_an_earlier_one_first() {
    // A pending session holds its output at its last millisecond, so each round's
    // watermark stays at or below that, or passes the session's close.
    let late = rounds(window::session(5), 0, |round| {
        // 0 and 3 share [0, 8); the first record's window alone would close at 6.
        assert_eq!(round(&[(1, 0), (1, 3)], 4), []);
        assert_eq!(round(&[], 6), []);
        // 6 extends it to [0, 11) before it closes.
        assert_eq!(round(&[(1, 6)], 6), []);
        assert_eq!(round(&[], 9), []);
        assert_eq!(round(&[], 12), [(1, 0, 11, 3)]);
        // Out of order within the bound: [40, 45) first, then [32, 37), which closes
        // earlier and fires first.
        assert_eq!(round(&[(2, 40)], 30), []);
        assert_eq!(round(&[(2, 32)], 31), []);
        assert_eq!(round(&[], 38), [(2, 32, 37, 1)]);
        assert_eq!(round(&[], 44), []);
        assert_eq!(round(&[], 46), [(2, 40, 45, 1)]);
    });
    assert!(late.is_empty());
}
