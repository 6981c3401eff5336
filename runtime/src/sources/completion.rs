//! What the sinks of a worker's dataflow have finished, for sources that commit what they
//! read once it is written, and for the checkpoint coordinator.

use timely::dataflow::operators::Probe;
use timely::dataflow::ProbeHandle;

use crate::time::Time;

/// What the sinks of a worker's dataflow have finished, for sources that commit what
/// they read (Kafka offsets) once it is written. Built once per worker by the generated
/// code; sinks are probed only when a source asks for it.
#[derive(Default)]
pub struct Completion<'scope> {
    pub(super) probe: ProbeHandle<Time>,
    pub(super) wanted: std::rc::Rc<std::cell::Cell<bool>>,
    /// What every sink has written, for the checkpoint coordinator.
    written: std::cell::RefCell<Vec<crate::sinks::Written<'scope>>>,
}

impl Completion<'_> {
    /// Nothing probed yet.
    pub fn new() -> Self {
        Completion::default()
    }
}

/// What a sink has written, probed for [`Completion`] if a source of the worker's
/// dataflow tracks completion (sources are built before sinks), and kept for the
/// checkpoint coordinator if the job checkpoints.
pub fn written<'scope>(written: crate::sinks::Written<'scope>, completion: &Completion<'scope>) {
    let written = if completion.wanted.get() {
        written.probe_with(&completion.probe)
    } else {
        written
    };
    if crate::checkpoint::worker().is_some() {
        completion.written.borrow_mut().push(written);
    }
}

/// After the last sink: builds the worker's checkpoint coordinator over what the sinks
/// wrote, if the job checkpoints.
pub fn finish(completion: Completion<'_>) {
    crate::checkpoint::coordinate(completion.written.into_inner());
}
