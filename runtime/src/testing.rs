//! Test support: an input that a test drives round by round, in event time.
//!
//! Timely's `InputHandle` needs a totally ordered time, and [`Time`] is a product
//! (epoch, event time); this input sends at epoch 0 and advances the event time.

use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::core::unordered_input::UnorderedHandle;
use timely::dataflow::operators::core::UnorderedInput;
use timely::dataflow::operators::ActivateCapability;
use timely::dataflow::{Scope, StreamVec};

use crate::time::{at, Time};

/// The sending end of [`event_input`].
pub struct EventInput<D: 'static> {
    handle: UnorderedHandle<Time, CapacityContainerBuilder<Vec<D>>>,
    cap: Option<ActivateCapability<Time>>,
}

/// An input stream in `scope` and the handle that feeds it, at epoch 0 and event time 0.
pub fn event_input<'scope, D: Clone + 'static>(
    scope: Scope<'scope, Time>,
) -> (EventInput<D>, StreamVec<'scope, Time, D>) {
    let ((handle, cap), stream) = scope.new_unordered_input();
    (
        EventInput {
            handle,
            cap: Some(cap),
        },
        stream,
    )
}

impl<D: Clone + 'static> EventInput<D> {
    /// Sends `record` at the current time.
    pub fn send(&mut self, record: D) {
        let cap = self.cap.as_ref().expect("the input is open");
        self.handle.activate().session(cap).give(record);
    }

    /// Moves the input's time forward to event time `event` (never back).
    pub fn advance_to(&mut self, event: u64) {
        let cap = self.cap.as_mut().expect("the input is open");
        if event > cap.time().event {
            cap.downgrade(&at(0, event));
        }
    }

    /// The input's time.
    pub fn time(&self) -> Time {
        *self.cap.as_ref().expect("the input is open").time()
    }

    /// Ends the input.
    pub fn close(&mut self) {
        self.cap = None;
    }
}
