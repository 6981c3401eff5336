//! Checkpoints: consistent cuts of a running job, and restoring a job from one.
//!
//! # Design
//! Timely time is [`Time`]: an epoch and an event time, ordered as a product. The epoch
//! is the checkpoint barrier, as in Bytewax: every source moves to the next epoch once
//! per `--checkpoint-interval`, after writing its position (what it has emitted so far).
//! Timely's progress tracking then tells each operator when it has seen every record of
//! an epoch: its input frontier's least epoch ([`epoch_frontier`]) has passed it. At that
//! moment the operator writes its state as a *part* of the checkpoint, moves the
//! capabilities it holds (pending windows) to the next epoch, and only then handles the
//! records of the next epoch that arrived early, which wait in a stash ([`EpochGate`]) so
//! that the part holds exactly the epochs before the cut. The event part of the time is
//! untouched, so checkpoints never wait for the watermark: a silent Kafka partition holds
//! windows back, not checkpoints.
//!
//! A checkpoint `c` is complete once the frontier of every sink's output has passed epoch
//! `c`: every operator on every worker has then written its part. Each worker's
//! coordinator (an operator reading all the sinks' [`Written`] streams) then writes the
//! manifest, which names the parts (by an atomic rename; every worker writes the same
//! one), and tells the exactly-once sinks of its worker to make the records of epochs up
//! to `c` visible. See `docs/checkpoints.md` for the reasons and the alternatives.
//!
//! An operator's state for an epoch is the same as for the next epochs until its input
//! frontier moves, so a part covers a range of epochs (`first..=last`), and the last part
//! an operator writes once its input has ended covers all later epochs.
//!
//! The operators of a worker reach its checkpoint state through [`worker`], which the job
//! sets for the worker's thread while it builds the dataflow; operators register under
//! their kind and place among the operators with state, which is the same in every run
//! of the same pipeline at any number of workers. A checkpoint restores at another
//! number of workers: keyed state moves by key group ([`rescale`], `docs/checkpoints.md`).

mod objects;
pub mod rescale;
pub mod store;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::scheduling::SyncActivator;

use crate::context::JobContext;
use crate::error::{Error, Result};
use crate::time::{epoch_frontier, Time};
use store::{PartName, Parts, Store, OPEN_END};

pub use crate::args::{Restore, Settings};

/// What a sink has written: a stream without records whose frontier passes a time once
/// everything the sink took at that time is durable (flushed to its file, acknowledged by
/// the broker, committed by the database). Checkpoints complete, and sources that commit
/// what they read (Kafka's offsets) commit, once it has passed; see
/// [`crate::sources::Completion`].
pub type Written<'scope> = timely::dataflow::StreamVec<'scope, Time, ()>;

/// The checkpointing of one process of a job: shared by its workers.
pub struct Checkpointing {
    store: Store,
    interval: Duration,
    retained: usize,
    fingerprint: u64,
    /// The number of key groups (`--max-parallelism`).
    groups: usize,
    /// Whether every sink must be exactly-once (`--exactly-once`).
    exactly_once: bool,
    /// The checkpoint restored, its parts, and how many workers wrote it.
    restored: Option<(u64, Parts, usize)>,
}

impl Checkpointing {
    /// Opens the checkpoint directory and, if asked, loads the checkpoint to restore: the
    /// newest intact one (a damaged one is skipped with a message naming it). A
    /// checkpoint of another pipeline, or of another number of key groups (`groups`), is
    /// refused; one of another number of workers is rescaled to `peers`.
    pub fn open(
        settings: &Settings,
        fingerprint: u64,
        peers: usize,
        groups: usize,
    ) -> Result<Checkpointing> {
        if settings.interval.is_zero() {
            return Err(Error::Config(
                "--checkpoint-interval must be positive".into(),
            ));
        }
        let mut store = Store::open(&settings.dir)?;
        let candidates = match &settings.restore {
            None => Vec::new(),
            Some(Restore::Latest) => store.checkpoints()?.into_iter().rev().collect(),
            Some(Restore::Manifest(path)) => {
                let id = path
                    .file_name()
                    .and_then(|f| f.to_str())
                    .and_then(store::manifest_id)
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "--restore {}: not a checkpoint manifest (chk-N.json)",
                            path.display()
                        ))
                    })?;
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                store = Store::open(dir.map_or(settings.dir.clone(), |d| d.to_path_buf()))?;
                vec![id]
            }
        };
        if settings.restore.is_none() && !store.checkpoints()?.is_empty() {
            // A fresh start would throw them away: ask.
            return Err(Error::Config(format!(
                "{} holds checkpoints of an earlier run: resume with --restore latest, or \
                 remove the directory (or choose another --checkpoint-dir) to start afresh",
                store.dir().display()
            )));
        }
        let mut restored = None;
        for id in candidates {
            match store.load(id) {
                Ok((manifest, parts)) => {
                    if manifest.fingerprint != fingerprint {
                        return Err(Error::Config(format!(
                            "checkpoint {id} in {} was written by another pipeline (its operators differ); refusing to restore it",
                            store.dir().display()
                        )));
                    }
                    match manifest.max_parallelism {
                        Some(g) if g == groups => {}
                        Some(g) => {
                            return Err(Error::Config(format!(
                                "checkpoint {id} in {} splits keyed state into {g} key groups; restore it with --max-parallelism {g} (it cannot change across restores)",
                                store.dir().display()
                            )))
                        }
                        None => {
                            return Err(Error::Config(format!(
                                "checkpoint {id} in {} was taken by an earlier version of Tidemill, which routed keys without key groups; it cannot be restored",
                                store.dir().display()
                            )))
                        }
                    }
                    if manifest.peers != peers {
                        eprintln!(
                            "tidemill: checkpoint {id} was taken at {} workers: rescaling it to {peers}",
                            manifest.peers
                        );
                    }
                    restored = Some((id, parts, manifest.peers));
                    break;
                }
                Err(e) if settings.restore == Some(Restore::Latest) => {
                    eprintln!("tidemill: skipping checkpoint {id}: {e}");
                }
                Err(e) => return Err(e),
            }
        }
        match &restored {
            Some((id, _, _)) => {
                eprintln!(
                    "tidemill: restoring checkpoint {id} from {}",
                    store.dir().display()
                );
                store.forget_after(*id)?;
            }
            None if settings.restore.is_some() => {
                eprintln!(
                    "tidemill: no complete checkpoint in {}; starting from the beginning",
                    store.dir().display()
                );
            }
            None => {}
        }
        if restored.is_none() {
            // A fresh start: parts an earlier run left before its first checkpoint (or
            // after its last intact one) would be mistaken for this run's.
            store.clear()?;
        }
        Ok(Checkpointing {
            store,
            interval: settings.interval,
            retained: settings.retained,
            fingerprint,
            groups,
            exactly_once: settings.exactly_once,
            restored,
        })
    }

    /// The id of the checkpoint restored, if any.
    pub fn restored_id(&self) -> Option<u64> {
        self.restored.as_ref().map(|(id, _, _)| *id)
    }
}

/// One worker's view of checkpointing: what its operators register and restore.
pub struct Worker {
    shared: Arc<Checkpointing>,
    context: JobContext,
    index: usize,
    peers: usize,
    operators: RefCell<Vec<String>>,
    committers: RefCell<Vec<Committer>>,
    /// This worker's sources, and the epochs at which those that stopped (for a
    /// savepoint, or at their input's end) closed their last epoch.
    sources: std::cell::Cell<usize>,
    stopped: RefCell<Vec<u64>>,
    local_workers: usize,
    /// Whether this worker's sinks have committed the savepoint.
    savepointed: std::cell::Cell<bool>,
    /// The savepoint, once complete and committed by the sinks; the worker's sources
    /// that have committed it too (Kafka offsets to the group).
    savepoint: std::cell::Cell<Option<u64>>,
    sources_savepointed: std::cell::Cell<usize>,
    /// Sources that stopped for the savepoint (not those whose input had ended): the
    /// ones that commit it.
    sources_parked: std::cell::Cell<usize>,
    /// The thread that writes this worker's large parts (started on first use), and
    /// the channel to it.
    background: RefCell<Option<Background>>,
}

/// A worker's background writer.
type Background = (
    std::sync::mpsc::Sender<BackgroundWrite>,
    Option<std::thread::JoinHandle<()>>,
);

impl Drop for Worker {
    /// Waits for the parts still being written: a restarted job cleans up the
    /// directory, which a part written after it would then spoil.
    fn drop(&mut self) {
        if let Some((sender, thread)) = self.background.take() {
            drop(sender);
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
    }
}

/// A part for the background writer: its name, its payload, its ticket, and the
/// operator to wake once it is durable.
type BackgroundWrite = (PartName, Vec<u8>, Arc<Ticket>, SyncActivator);

/// A part being written in the background: done once durable (or failed).
#[derive(Default)]
pub struct Ticket {
    done: std::sync::atomic::AtomicBool,
    error: std::sync::Mutex<Option<Error>>,
}

/// Restored parts of one operator, by the old worker that wrote them.
type OldParts<'a> = Vec<(usize, &'a [u8])>;

/// What an exactly-once sink does when a checkpoint completes.
type Committer = Box<dyn FnMut(u64)>;

thread_local! {
    static WORKER: RefCell<Option<Rc<Worker>>> = const { RefCell::new(None) };
}

/// The checkpointing of the worker whose dataflow is being built on this thread, if the
/// job checkpoints.
pub fn worker() -> Option<Rc<Worker>> {
    WORKER.with(|w| w.borrow().clone())
}

/// Sets the worker's checkpointing for the dataflow built on this thread (the job does
/// this before building each worker's dataflow).
pub(crate) fn enter(
    context: &JobContext,
    checkpointing: Option<Arc<Checkpointing>>,
    index: usize,
    peers: usize,
    local_workers: usize,
) {
    let worker = checkpointing.map(|shared| {
        Rc::new(Worker {
            shared,
            context: context.clone(),
            index,
            peers,
            operators: RefCell::new(Vec::new()),
            committers: RefCell::new(Vec::new()),
            sources: std::cell::Cell::new(0),
            stopped: RefCell::new(Vec::new()),
            local_workers,
            savepointed: std::cell::Cell::new(false),
            savepoint: std::cell::Cell::new(None),
            sources_savepointed: std::cell::Cell::new(0),
            sources_parked: std::cell::Cell::new(0),
            background: RefCell::new(None),
        })
    });
    WORKER.with(|w| *w.borrow_mut() = worker);
}

/// Clears the slot [`enter`] set, once the worker's dataflow is built.
pub(crate) fn leave() {
    WORKER.with(|w| w.borrow_mut().take());
}

impl Worker {
    /// Registers an operator with state; returns its name in checkpoints: its kind and
    /// its place among the operators with state, in the order the dataflow builds them,
    /// which is the same in every run of the pipeline at any number of workers (timely
    /// addresses are not: a window's combiner exists only at more than one worker).
    pub fn register(&self, kind: &str) -> String {
        let mut operators = self.operators.borrow_mut();
        let name = format!("{kind}-{}", operators.len());
        operators.push(name.clone());
        name
    }

    /// Registers a source: a savepoint waits for it to stop.
    pub fn register_source(&self) -> String {
        self.sources.set(self.sources.get() + 1);
        self.register("source")
    }

    /// A source closed its last epoch, `epoch` (it stopped for a savepoint or ended).
    pub fn source_stopped(&self, epoch: u64) {
        self.stopped.borrow_mut().push(epoch);
    }

    /// Whether the job is to stop with a savepoint.
    pub fn stop_requested(&self) -> bool {
        self.context.stop_requested()
    }

    /// Fails the job: `what` cannot take part in checkpoints yet.
    pub fn unsupported(&self, what: &str) {
        self.refuse(format!(
            "{what} cannot be checkpointed yet: run this pipeline without --checkpoint-dir"
        ));
    }

    /// Fails the job at start-up: its pipeline cannot be checkpointed, as `message` says.
    pub fn refuse(&self, message: String) {
        self.context.fail(Error::Config(message));
    }

    /// The first epoch of this run: 0, or the one after the restored checkpoint.
    pub fn first_epoch(&self) -> u64 {
        self.shared
            .restored_id()
            .map_or(0, |id| id.saturating_add(1))
    }

    /// The checkpoint this run restored, if any (`u64::MAX`: a job's last one, after
    /// which the run has no epochs of its own).
    pub fn restored_id(&self) -> Option<u64> {
        self.shared.restored_id()
    }

    /// How often sources start a new epoch.
    pub fn interval(&self) -> Duration {
        self.shared.interval
    }

    /// The parts of operator `name` in the restored checkpoint, by the worker that wrote
    /// them, and how many workers there were.
    fn restored_parts(&self, name: &str) -> Option<(OldParts<'_>, usize)> {
        let (_, parts, peers) = self.shared.restored.as_ref()?;
        let parts = parts.get(name)?;
        let parts = parts
            .iter()
            .filter(|(w, _)| w < peers)
            .map(|(w, bytes)| (*w, bytes.as_slice()))
            .collect();
        Some((parts, *peers))
    }

    /// Whether the restored checkpoint was taken at another number of workers.
    pub fn rescaled(&self) -> bool {
        matches!(&self.shared.restored, Some((_, _, peers)) if *peers != self.peers)
    }

    /// The parts of operator `name` with keyed state this worker restores from: its own,
    /// or, [rescaled](Self::rescaled), those of the old workers whose key groups overlap
    /// its own (their keys then need sorting out with [`Self::owns`]).
    pub fn restored_keyed(&self, name: &str) -> Vec<&[u8]> {
        let Some((parts, old)) = self.restored_parts(name) else {
            return Vec::new();
        };
        let groups = self.shared.groups;
        let (now, then) = (
            crate::hash::KeyGroups::new(groups, self.peers),
            crate::hash::KeyGroups::new(groups, old),
        );
        let mine = now.range(self.index);
        parts
            .into_iter()
            .filter(|(w, _)| {
                let theirs = then.range(*w);
                theirs.start < mine.end && mine.start < theirs.end
            })
            .map(|(_, bytes)| bytes)
            .collect()
    }

    /// Every part of operator `name` in the restored checkpoint, by old worker (a
    /// source's readers are dealt out among the new workers).
    pub fn restored_all(&self, name: &str) -> Vec<(usize, &[u8])> {
        self.restored_parts(name).map_or_else(Vec::new, |(p, _)| p)
    }

    /// The identities whose output this worker's exactly-once sink recovers, each with
    /// its pending part: its own, and, rescaled, those of the old workers it takes over
    /// (`j % peers == index`) and of workers an earlier run at more workers had.
    pub fn restored_identities(&self, name: &str) -> Vec<(usize, Option<&[u8]>)> {
        let parts = self.restored_parts(name);
        let old = parts.as_ref().map_or(self.peers, |(_, old)| *old);
        (self.index..old.max(self.peers))
            .step_by(self.peers)
            .map(|j| {
                let part = parts
                    .as_ref()
                    .and_then(|(p, _)| p.iter().find(|(w, _)| *w == j).map(|(_, b)| *b));
                (j, part)
            })
            .collect()
    }

    /// Whether this worker owns the key with routing hash `hash` now.
    pub fn owns(&self) -> impl Fn(u64) -> bool {
        let (groups, index) = (
            crate::hash::KeyGroups::new(self.shared.groups, self.peers),
            self.index as u64,
        );
        move |hash| groups.worker(hash) == index
    }

    /// The number of workers that took the restored checkpoint, if any.
    pub fn restored_peers(&self) -> Option<usize> {
        self.shared.restored.as_ref().map(|(_, _, peers)| *peers)
    }

    /// Writes operator `name`'s state for epochs `first..=last`; a failure fails the job.
    pub fn write(&self, name: &str, first: u64, last: u64, payload: &[u8]) {
        let part = self.part(name, first, last);
        if let Err(e) = self.shared.store.write_part(&part, payload) {
            self.context.fail(e);
        }
    }

    /// The name of this worker's part of operator `name` for epochs `first..=last`.
    fn part(&self, name: &str, first: u64, last: u64) -> PartName {
        PartName {
            operator: name.to_string(),
            worker: self.index,
            first,
            last,
        }
    }

    /// Writes operator `name`'s state for epochs `first..=last` on this worker's
    /// background thread; `wake` is activated once it is durable (the ticket says so).
    pub fn write_in_background(
        &self,
        name: &str,
        first: u64,
        last: u64,
        payload: Vec<u8>,
        wake: SyncActivator,
    ) -> Arc<Ticket> {
        let part = self.part(name, first, last);
        let ticket = Arc::new(Ticket::default());
        let mut background = self.background.borrow_mut();
        let (sender, _) = background.get_or_insert_with(|| {
            let (tx, rx) = std::sync::mpsc::channel::<BackgroundWrite>();
            let shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new()
                .name(format!("tidemill:checkpoint-{}", self.index))
                .spawn(move || {
                    for (part, payload, ticket, wake) in rx {
                        if let Err(e) = shared.store.write_part(&part, &payload) {
                            *ticket.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        }
                        ticket
                            .done
                            .store(true, std::sync::atomic::Ordering::Release);
                        let _ = wake.activate();
                    }
                });
            let thread = spawned
                .map_err(|e| {
                    self.context.fail(Error::Startup(format!(
                        "cannot start the checkpoint writer: {e}"
                    )))
                })
                .ok();
            (tx, thread)
        });
        if sender
            .send((part, payload, Arc::clone(&ticket), wake))
            .is_err()
        {
            let mut error = ticket.error.lock().unwrap_or_else(|p| p.into_inner());
            *error = Some(Error::Startup("the checkpoint writer stopped".into()));
            ticket
                .done
                .store(true, std::sync::atomic::Ordering::Release);
        }
        ticket
    }

    /// Calls `commit(c)` once checkpoint `c` is complete (`u64::MAX`: the job's last).
    pub fn on_commit(&self, commit: impl FnMut(u64) + 'static) {
        self.committers.borrow_mut().push(Box::new(commit));
    }

    fn complete(&self, id: u64) -> Result<()> {
        let operators = self.operators.borrow();
        let shared = &self.shared;
        shared.store.complete(
            id,
            shared.fingerprint,
            (self.peers, shared.groups),
            &operators,
        )?;
        if self.index == 0 {
            shared.store.retain(shared.retained)?;
        }
        for commit in self.committers.borrow_mut().iter_mut() {
            commit(id);
        }
        // Stop with a savepoint: once every source of the worker has stopped and a
        // checkpoint covering their last epochs is committed by the sinks, the sources
        // commit it too (Kafka's offsets to the group), and then the process exits
        // without firing what is still open (see `source_savepointed`).
        let stopped = self.stopped.borrow();
        if self.context.stop_requested()
            && id != OPEN_END
            && stopped.len() == self.sources.get()
            && stopped.iter().all(|&e| e <= id)
            && self.savepoint.get().is_none()
        {
            self.savepoint.set(Some(id));
            if self.sources_parked.get() == 0 {
                self.exit_with_savepoint(id);
            }
        }
        Ok(())
    }
}

impl Worker {
    /// The savepoint the worker is stopping with, once its sinks have committed it.
    pub fn savepoint(&self) -> Option<u64> {
        self.savepoint.get()
    }

    /// A source of this worker stopped reading for the savepoint.
    pub fn source_parked(&self) {
        self.sources_parked.set(self.sources_parked.get() + 1);
    }

    /// A source of this worker has committed the savepoint; once every one that stopped
    /// for it has, and every worker of the process is there, the process exits.
    pub fn source_savepointed(&self) {
        self.sources_savepointed
            .set(self.sources_savepointed.get() + 1);
        if let (true, Some(id)) = (
            self.sources_savepointed.get() >= self.sources_parked.get(),
            self.savepoint.get(),
        ) {
            self.exit_with_savepoint(id);
        }
    }

    fn exit_with_savepoint(&self, id: u64) {
        if !self.savepointed.replace(true) && self.context.savepointed(self.local_workers) {
            use std::io::Write;
            let _ = std::io::stdout().flush();
            eprintln!(
                "tidemill: stopped with savepoint {id} in {}; resume with --restore latest",
                self.shared.store.dir().display()
            );
            std::process::exit(0);
        }
    }
}

/// Encodes operator state for a part.
pub fn encode<T: serde::Serialize>(state: &T) -> Vec<u8> {
    bincode::serialize(state).expect("operator state serializes")
}

/// Decodes the state of operator `name` from its part.
pub fn decode_state<T: serde::de::DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<T> {
    bincode::deserialize(bytes).map_err(|e| {
        Error::Config(format!(
            "checkpoint: the state of {name} does not decode ({e}): it was written by another version of the pipeline"
        ))
    })
}

/// Decodes operator state from a part; a part that does not decode fails the job.
pub fn decode<T: serde::de::DeserializeOwned>(
    worker: &Worker,
    name: &str,
    bytes: &[u8],
) -> Option<T> {
    decode_state(name, bytes)
        .map_err(|e| worker.context.fail(e))
        .ok()
}

/// Moves `cap` to epoch `epoch` (never back), keeping its event time.
pub fn move_to_epoch(cap: &mut Capability<Time>, epoch: u64) {
    let time = cap.time().with_epoch(epoch.max(cap.time().epoch));
    cap.downgrade(&time);
}

/// A batch that arrived before its epoch: its time, a capability per output port, and
/// the records.
pub type Stashed<D> = (Time, Vec<Capability<Time>>, Vec<D>);

/// The epoch bookkeeping of an operator with state and one input: which epoch is open,
/// the batches of later epochs that wait, and the parts written as epochs close.
pub struct EpochGate<D> {
    worker: Option<Rc<Worker>>,
    name: String,
    barrier: Barrier,
    /// The epoch whose records the operator handles now; earlier ones are closed.
    current: u64,
    stash: Vec<Stashed<D>>,
    /// Wakes the operator when a part written in the background is durable; without
    /// it, parts are written on the worker thread.
    waker: Option<SyncActivator>,
    /// Parts being written in the background, oldest first, by their first epoch: the
    /// barrier holds the oldest's epoch until it is durable.
    writing: std::collections::VecDeque<(u64, Arc<Ticket>)>,
}

impl<D> EpochGate<D> {
    /// The gate of an operator of kind `kind`, registered when the job checkpoints.
    /// `supported`: whether its state can be checkpointed at all (if not, a
    /// checkpointing job fails at start-up, naming `what`).
    pub fn new(kind: &str, supported: bool, what: &str) -> Self {
        let worker = worker();
        let mut name = String::new();
        let mut current = 0;
        if let Some(w) = &worker {
            if supported {
                name = w.register(kind);
                current = w.first_epoch();
            } else {
                w.unsupported(what);
            }
        }
        EpochGate {
            worker,
            name,
            barrier: Barrier::default(),
            current,
            stash: Vec::new(),
            waker: None,
            writing: std::collections::VecDeque::new(),
        }
    }

    /// Writes this operator's parts on the worker's background thread, waking the
    /// operator with `waker` (its own) when one is durable: the operator goes on with
    /// the next epoch's records meanwhile, and its barrier holds the epoch until then.
    pub fn write_in_background(&mut self, waker: SyncActivator) {
        self.waker = Some(waker);
    }

    /// Takes the parts written in the background that are durable; a failed one fails
    /// the job.
    fn reap(&mut self) {
        while let Some((_, ticket)) = self.writing.front() {
            if !ticket.done.load(std::sync::atomic::Ordering::Acquire) {
                break;
            }
            let error = ticket
                .error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let (Some(e), Some(worker)) = (error, &self.worker) {
                worker.context.fail(e);
            }
            self.writing.pop_front();
        }
    }

    /// Moves the barrier: to the open epoch and the input's event time `event`, or,
    /// while a part is being written, no further than that part's epoch.
    fn follow_at(&mut self, event: u64) {
        self.reap();
        match self.writing.front() {
            Some(&(epoch, _)) => self.barrier.hold(epoch, event),
            None => self.barrier.follow(self.current, event),
        }
    }

    /// Holds `cap` (an output's initial capability) as the barrier: see [`Barrier`].
    pub fn hold(&mut self, cap: &Capability<Time>) {
        if self.worker.is_some() && !self.name.is_empty() {
            self.barrier = Barrier::new(cap, self.current);
        }
    }

    /// Follows the input frontier with the barrier (after [`Self::close`]).
    pub fn follow(&mut self, frontier: &[Time]) {
        self.follow_at(crate::time::event_frontier(frontier));
    }

    /// As [`Self::follow`], for an operator of several inputs: `event` is their least
    /// event frontier (`u64::MAX`: all have ended).
    pub fn follow_event(&mut self, event: u64) {
        self.follow_at(event);
    }

    /// Whether the operator has state to restore.
    pub fn has_restored(&self) -> bool {
        self.worker
            .as_ref()
            .is_some_and(|w| !w.restored_keyed(&self.name).is_empty())
    }

    /// Decodes the restored keyed state: the operator's own part or, restored at another
    /// number of workers, the keys this worker owns now from the old workers' parts,
    /// merged ([`rescale`]).
    pub fn restored_state<T: serde::de::DeserializeOwned + rescale::Rescale>(&self) -> Option<T> {
        let worker = self.worker.as_ref()?;
        let states = self.restored_states()?;
        if !worker.rescaled() {
            return states.into_iter().next();
        }
        rescale::merge(states, &worker.owns())
    }

    /// The restored parts with keyed state, decoded, unmerged: the operator's own, or,
    /// [rescaled](Worker::rescaled), those of the old workers whose key groups overlap
    /// this worker's (`None`: one did not decode, which failed the job).
    pub fn restored_states<T: serde::de::DeserializeOwned>(&self) -> Option<Vec<T>> {
        let worker = self.worker.as_ref()?;
        worker
            .restored_keyed(&self.name)
            .into_iter()
            .map(|bytes| decode(worker, &self.name, bytes))
            .collect()
    }

    /// Whether the restored checkpoint was taken at another number of workers.
    pub fn rescaled(&self) -> bool {
        self.worker.as_ref().is_some_and(|w| w.rescaled())
    }

    /// Whether this worker owns the key with a routing hash.
    pub fn owns(&self) -> Box<dyn Fn(u64) -> bool> {
        match &self.worker {
            Some(w) => Box::new(w.owns()),
            None => Box::new(|_| true),
        }
    }

    /// Every restored part of the operator, and whether this worker takes over the
    /// state in it that is not keyed (records that wait for a table): its own part, or,
    /// restored at another number of workers, those of the old workers `j` with
    /// `j % peers == index`.
    pub fn restored_all(&self) -> Vec<(&[u8], bool)> {
        let Some(w) = self.worker.as_ref() else {
            return Vec::new();
        };
        w.restored_all(&self.name)
            .into_iter()
            .map(|(old, bytes)| (bytes, old % w.peers == w.index))
            .collect()
    }

    /// Decodes a restored part of the operator (a part that does not decode fails the
    /// job).
    pub fn decode<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Option<T> {
        decode(self.worker.as_ref()?, &self.name, bytes)
    }

    /// A capability at event time `event` in the open epoch, delayed from `initial` (an
    /// output's initial capability): what a restored pending window or timer holds.
    pub fn restored_cap(&self, initial: &Capability<Time>, event: u64) -> Capability<Time> {
        initial.delayed(&crate::time::at(self.current, event))
    }

    /// Fails the job with `error` (a restored state that cannot be used).
    pub fn fail(&self, error: Error) {
        if let Some(worker) = &self.worker {
            worker.context.fail(error);
        }
    }

    /// The epoch open now: capabilities the operator holds belong to it.
    pub fn current(&self) -> u64 {
        self.current
    }

    /// Whether records at `time` belong to a later epoch and must wait.
    #[inline]
    pub fn is_later(&self, time: &Time) -> bool {
        time.epoch > self.current
    }

    /// Keeps a batch of a later epoch until its epoch opens.
    pub fn stash(&mut self, time: Time, caps: Vec<Capability<Time>>, records: Vec<D>) {
        self.stash.push((time, caps, records));
    }

    /// Whether a stashed batch satisfies `is`.
    pub fn has_stashed(&self, mut is: impl FnMut(&D) -> bool) -> bool {
        self.stash
            .iter()
            .any(|(_, _, records)| records.iter().any(&mut is))
    }

    /// The least event time of what waits (`u64::MAX`: nothing): the operator must not
    /// fire past it, as the records are already in and would not be late otherwise.
    pub fn event_floor(&self) -> u64 {
        self.stash
            .iter()
            .map(|(t, _, _)| t.event)
            .min()
            .unwrap_or(u64::MAX)
    }

    /// The epoch to move to, if the input frontier's least epoch (`frontier_epoch`) has
    /// passed the current one: the next epoch with stashed records, or the frontier's.
    pub fn next(&self, frontier_epoch: u64) -> Option<u64> {
        if self.worker.is_none() || frontier_epoch <= self.current || self.current == OPEN_END {
            return None;
        }
        let stashed = self.stash.iter().map(|(t, _, _)| t.epoch).min();
        Some(stashed.map_or(frontier_epoch, |s| s.min(frontier_epoch)))
    }

    /// Closes the epochs from the current one to before `next` with `state` (the
    /// operator's state now) and opens `next`; returns the stashed batches of `next`.
    pub fn close(&mut self, state: Vec<u8>, next: u64) -> Vec<Stashed<D>> {
        if let Some(worker) = &self.worker {
            let last = if next == OPEN_END { OPEN_END } else { next - 1 };
            match &self.waker {
                Some(waker) => {
                    let (name, first, wake) = (&self.name, self.current, waker.clone());
                    let ticket = worker.write_in_background(name, first, last, state, wake);
                    self.writing.push_back((first, ticket));
                }
                None => worker.write(&self.name, self.current, last, &state),
            }
        }
        self.current = next;
        let (ready, later) = std::mem::take(&mut self.stash)
            .into_iter()
            .partition(|(t, _, _)| t.epoch <= next);
        self.stash = later;
        ready
    }
}

/// A capability that an operator with state holds in its open epoch until it has
/// written its part for that epoch: without it, an operator holding nothing else would
/// let the epoch pass downstream as soon as its input does, before its part is written.
/// Its event time follows the input frontier's, so it never holds windows back.
#[derive(Default)]
pub struct Barrier {
    cap: Option<Capability<Time>>,
}

impl Barrier {
    /// A barrier in epoch `epoch`, delayed from `cap`.
    pub fn new(cap: &Capability<Time>, epoch: u64) -> Self {
        Barrier {
            cap: Some(cap.delayed(&cap.time().with_epoch(epoch))),
        }
    }

    /// Holds the barrier at epoch `epoch` (a part of it is being written), following
    /// the input's least event time `event` but never dropping it.
    pub fn hold(&mut self, epoch: u64, event: u64) {
        let Some(cap) = self.cap.as_mut() else { return };
        let event = if event == u64::MAX {
            cap.time().event
        } else {
            event.max(cap.time().event)
        };
        let time = Time {
            epoch: epoch.max(cap.time().epoch),
            event,
        };
        if time != *cap.time() {
            cap.downgrade(&time);
        }
    }

    /// Moves the barrier to epoch `epoch` (once its part is written) and to the input's
    /// least event time `event`; drops it when the input has ended (`u64::MAX`).
    pub fn follow(&mut self, epoch: u64, event: u64) {
        let Some(cap) = self.cap.as_mut() else { return };
        if event == u64::MAX || epoch == OPEN_END {
            self.cap = None;
            return;
        }
        let event = event.max(cap.time().event);
        let time = Time {
            epoch: epoch.max(cap.time().epoch),
            event,
        };
        if time != *cap.time() {
            cap.downgrade(&time);
        }
    }
}

/// The coordinator of a worker: reads what every sink has written and, as each epoch
/// passes there, completes that checkpoint (the manifest) and commits the exactly-once
/// sinks. Called by the generated code after the sinks, only when the job checkpoints.
pub fn coordinate(written: Vec<Written<'_>>) {
    let Some(worker) = worker() else { return };
    // `--exactly-once`: every sink must be one (exactly-once sinks register as `sink`).
    let exactly = worker
        .operators
        .borrow()
        .iter()
        .filter(|n| n.starts_with("sink-"))
        .count();
    if worker.shared.exactly_once && exactly < written.len() {
        worker.refuse(format!(
            "--exactly-once: {} of this job's {} sinks are at-least-once (`print`, `collect`, `discard` or a custom sink); write to files, PostgreSQL or Kafka, or run without --exactly-once",
            written.len() - exactly,
            written.len()
        ));
    }
    let Some(first) = written.first() else { return };
    let scope = first.scope();
    let all = if written.len() == 1 {
        written.into_iter().next().expect("one")
    } else {
        timely::dataflow::operators::Concatenate::concatenate(&scope, written)
    };
    // The least epoch whose checkpoint has not completed.
    let mut next = worker.first_epoch();
    all.sink(Pipeline, "checkpoints", move |(input, frontier)| {
        input.for_each(|_, data| data.clear());
        let passed = epoch_frontier(&frontier.frontier());
        if worker.context.is_cancelled() {
            // A failed job's sources stop where they are: what follows is no cut of the
            // input, and nothing more commits.
            next = u64::MAX;
        }
        // Checkpoint c is complete once the frontier is past epoch c; the job's last
        // one (`u64::MAX`) once the frontier is empty.
        if passed > next && next != u64::MAX {
            let id = if passed == u64::MAX {
                u64::MAX
            } else {
                passed - 1
            };
            if let Err(e) = worker.complete(id) {
                worker.context.fail(e);
            }
            next = passed;
        }
    });
}

/// What a source writes at each epoch: where its readers are, its watermark, and
/// whether its input has ended.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct SourceState {
    /// Its readers: one, or those a restore at another number of workers dealt it
    /// (see [`crate::sources::readers`]).
    pub readers: Vec<ReaderState>,
    /// The event time the source's capability was at.
    pub watermark: u64,
    /// Its stamper's least timestamp that was not late ([`crate::time::Stamper::checkpoint`]).
    pub not_late_from: u64,
    /// Whether the input had ended.
    pub done: bool,
}

/// One reader of a source in a checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReaderState {
    /// The worker index and number of workers it was opened as
    /// ([`crate::sources::SourceSpec::open`]).
    pub index: usize,
    /// See `index`.
    pub peers: usize,
    /// Its position ([`crate::sources::Reader::position`]).
    pub position: Vec<(u32, u64)>,
    /// Whether it had ended.
    pub done: bool,
}

impl ReaderState {
    /// Worker `index` of `peers`'s reader, from the start.
    pub fn fresh(index: usize, peers: usize) -> Self {
        ReaderState {
            index,
            peers,
            position: Vec::new(),
            done: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::ExecutionMode;
    use std::path::PathBuf;

    /// A worker slot on this thread, checkpointing into a fresh directory.
    fn checkpointing_worker(name: &str) -> (Rc<Worker>, PathBuf) {
        let dir = std::env::temp_dir().join(format!("tidemill-gate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let settings = Settings {
            dir: dir.clone(),
            interval: Duration::from_millis(10),
            retained: 3,
            restore: None,
            exactly_once: false,
        };
        let shared = Arc::new(Checkpointing::open(&settings, 7, 1, 128).unwrap());
        let context = JobContext::new(ExecutionMode::Streaming, 64);
        enter(&context, Some(shared), 0, 1, 1);
        (worker().expect("entered"), dir)
    }

    fn parts(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("parts"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_gate_closes_epoch_by_epoch_and_hands_back_what_waited() {
        let (_worker, dir) = checkpointing_worker("close");
        let mut gate: EpochGate<u32> = EpochGate::new("op", true, "the op");
        leave();
        let time = |epoch, event| Time { epoch, event };
        assert!(!gate.is_later(&time(0, 5)));
        assert!(gate.is_later(&time(2, 5)));
        // Batches of epochs 2 and 4 wait; the frontier is at epoch 0: nothing closes.
        gate.stash(time(4, 9), Vec::new(), vec![40]);
        gate.stash(time(2, 7), Vec::new(), vec![20, 21]);
        assert_eq!(gate.event_floor(), 7, "no window may fire past what waits");
        assert_eq!(gate.next(0), None);
        // The frontier jumps to epoch 5: epochs 0-1 close first, then 2-3, then 4.
        assert_eq!(gate.next(5), Some(2));
        let ready = gate.close(b"s0".to_vec(), 2);
        assert_eq!(
            ready.iter().map(|r| r.2.clone()).collect::<Vec<_>>(),
            [vec![20, 21]]
        );
        assert_eq!(gate.current(), 2);
        assert_eq!(gate.next(5), Some(4));
        let ready = gate.close(b"s1".to_vec(), 4);
        assert_eq!(
            ready.iter().map(|r| r.2.clone()).collect::<Vec<_>>(),
            [vec![40]]
        );
        assert_eq!(gate.event_floor(), u64::MAX);
        assert_eq!(gate.next(5), Some(5));
        assert!(gate.close(b"s2".to_vec(), 5).is_empty());
        assert_eq!(gate.next(5), None);
        // The input ends: a last part covers every later epoch.
        assert_eq!(gate.next(u64::MAX), Some(u64::MAX));
        gate.close(b"s3".to_vec(), u64::MAX);
        assert_eq!(gate.next(u64::MAX), None);
        assert_eq!(
            parts(&dir),
            [
                "op-0.w0.0-1",
                "op-0.w0.2-3",
                "op-0.w0.4-4",
                "op-0.w0.5-18446744073709551615"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_checkpoints_a_gate_never_closes() {
        leave();
        let gate: EpochGate<u32> = EpochGate::new("op", true, "the op");
        assert_eq!(gate.next(7), None);
        assert_eq!(gate.current(), 0);
    }
}
