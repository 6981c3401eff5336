//! Windows fire only when complete: records arrive in rounds through an input handle,
//! the watermark (the input's time) advances between rounds, and after each round the
//! test checks exactly which results exist.

use std::cell::RefCell;
use std::rc::Rc;

use tidemill_runtime::operators::keyed::key_by_fn_timed;
use tidemill_runtime::time::Timed;
use tidemill_runtime::window::{self, Assigner, Count};
use timely::dataflow::operators::{Input, Inspect, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};

#[test]
fn windows_fire_once_complete_and_again_for_allowed_late_records() {
    timely::execute_directly(|worker| {
        let mut input = InputHandle::new();
        let probe = ProbeHandle::new();
        let results = Rc::new(RefCell::new(Vec::new()));
        let late = Rc::new(RefCell::new(Vec::new()));
        let (r, l) = (Rc::clone(&results), Rc::clone(&late));
        // Tumbling windows of 10 ms with 5 ms of allowed lateness, counting per key.
        worker.dataflow::<u64, _, _>(|scope| {
            let stream = scope.input_from(&mut input).container::<Vec<Timed<u8>>>();
            let keyed = key_by_fn_timed(stream, |k: &u8| *k);
            let windowed =
                window::allowed_lateness(window::window(keyed, Assigner::tumbling(10)), 5);
            let (out, too_late) = window::aggregate(windowed, "count", Count);
            out.inspect(move |t| r.borrow_mut().push(t.value.clone()))
                .probe_with(&probe);
            too_late
                .inspect(move |t| l.borrow_mut().push(t.ts))
                .probe_with(&probe);
        });
        // Sends records at the input's current time (the watermark), moves the watermark
        // and runs until everything before it is processed; returns the new results.
        let mut round = |records: &[(u8, u64)], watermark: u64| {
            for &(key, ts) in records {
                input.send(Timed { ts, value: key });
            }
            input.advance_to(watermark);
            while probe.less_than(input.time()) {
                worker.step();
            }
            let mut got: Vec<(u8, i64, u64)> = results
                .borrow_mut()
                .drain(..)
                .map(|w: tidemill_runtime::window::WindowResult<u8, u64>| (w.key, w.start, w.value))
                .collect();
            got.sort();
            got
        };
        // Round 1: records in [0, 10) and one in [10, 20); the watermark stops short of 10.
        assert_eq!(round(&[(1, 1), (1, 5), (2, 5), (1, 12)], 9), []);
        // The watermark reaches the end of [0, 10): it fires, once per key.
        assert_eq!(round(&[], 10), [(1, 0, 2), (2, 0, 1)]);
        assert_eq!(round(&[], 11), []);
        // A record for [0, 10) after it fired, within the allowed lateness: an update.
        assert_eq!(round(&[(1, 3)], 12), [(1, 0, 3)]);
        // At 15 the lateness of [0, 10) has passed: its records go to the late output.
        assert_eq!(round(&[], 15), []);
        assert_eq!(round(&[(1, 4)], 19), []);
        // [10, 20) fires when the watermark reaches 20.
        assert_eq!(round(&[], 20), [(1, 10, 1)]);
        drop(round);
        assert_eq!(*late.borrow(), [4]);
    });
}
