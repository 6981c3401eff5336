//! Running a pipeline: one dataflow per worker, on timely's threads and processes.

use std::fmt::Write as _;

use timely::dataflow::Scope;

use crate::args::Args;
use crate::context::JobContext;
use crate::error::{Error, Result};
use crate::time::Time;

/// One operator of a pipeline's plan, as the `stream!` macro saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanNode {
    /// Index of the node; inputs refer to it.
    pub id: usize,
    /// The timely operator the node runs in: fused stateless operators share one.
    pub operator: usize,
    /// The DSL operator, e.g. `map` or `key_by`.
    pub op: &'static str,
    /// Source line of the operator in the pipeline.
    pub line: usize,
    /// Nodes whose output this node reads.
    pub inputs: &'static [usize],
    /// Whether records are exchanged between workers (by key) on the way in.
    pub exchange: bool,
}

/// The shape of a pipeline: what the macro built, before any record flows.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Every operator, in an order where inputs come first.
    pub nodes: &'static [PlanNode],
    /// Whether every source is bounded (the job then ends by itself).
    pub bounded: bool,
}

impl Plan {
    /// The plan as a Mermaid flowchart: one box per DSL operator, fused operators grouped,
    /// exchanges drawn as thick edges labelled with what they route by.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        let mut operators: Vec<usize> = self.nodes.iter().map(|n| n.operator).collect();
        operators.dedup();
        for op in operators {
            let members: Vec<&PlanNode> = self.nodes.iter().filter(|n| n.operator == op).collect();
            if members.len() > 1 {
                let _ = writeln!(out, "  subgraph op{op} [fused]");
            }
            for n in &members {
                let _ = writeln!(out, "  n{}[\"{} (line {})\"]", n.id, n.op, n.line);
            }
            if members.len() > 1 {
                let _ = writeln!(out, "  end");
            }
        }
        for n in self.nodes {
            for i in n.inputs {
                let edge = if n.exchange { "== by key ==>" } else { "-->" };
                let _ = writeln!(out, "  n{i} {edge} n{}", n.id);
            }
        }
        out
    }
}

/// A pipeline built by `stream!`: its plan and the code that builds it on a worker.
pub struct Pipeline<F> {
    plan: Plan,
    build: F,
}

impl<F> Pipeline<F>
where
    F: for<'scope> Fn(Scope<'scope, Time>, &JobContext) + Send + Sync + 'static,
{
    /// Wraps the builder that `stream!` generates. Not meant to be called by hand.
    #[doc(hidden)]
    pub fn new(plan: Plan, build: F) -> Self {
        Pipeline { plan, build }
    }

    /// The pipeline's plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

/// What a finished job reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobReport {
    /// Worker threads that ran in this process.
    pub local_workers: usize,
    /// Records that came later than their windows' allowed lateness and that the pipeline
    /// did not route (with `.late()`), by window (`"window at line N"`), in this process.
    /// Each count is also printed to standard error when the job ends.
    pub late_dropped: Vec<(&'static str, u64)>,
    /// Records that reached `discard()` sinks in this process.
    pub discarded: u64,
    /// Input that sources of this process could not decode, by source (e.g.
    /// ``kafka topic `txns` ``). Each count is also printed to standard error.
    pub dead_letters: Vec<(String, u64)>,
    /// How many times the job restarted from a checkpoint (`--restart-attempts`).
    pub restarts: u32,
}

/// Runs `pipeline` with the flags in `args` and returns when the job ends.
///
/// Every worker of every process builds the same dataflow; sources split their input by
/// worker. A job whose sources are all bounded ends by itself once they are exhausted.
/// With `--explain` the plan is printed as Mermaid and nothing runs. With
/// `--restart-attempts N`, a job that fails (other than by its configuration) restarts
/// from its latest checkpoint after `--restart-delay`, up to `N` times, reporting each
/// restart on standard error; then it fails with the last error.
pub fn run<F>(args: Args, pipeline: Pipeline<F>) -> Result<JobReport>
where
    F: for<'scope> Fn(Scope<'scope, Time>, &JobContext) + Send + Sync + 'static,
{
    if args.explain {
        print!("{}", pipeline.plan.to_mermaid());
        return Ok(JobReport::default());
    }
    if args.restart_attempts > 0 && args.checkpoint_dir.is_none() {
        return Err(Error::Config(
            "--restart-attempts restarts from the latest checkpoint: it needs --checkpoint-dir"
                .into(),
        ));
    }
    let (plan, build) = (pipeline.plan, std::sync::Arc::new(pipeline.build));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut args = args;
    // A restart that ran the program again (see `run_again`) counts too.
    let mut restarts = std::env::var(RESTARTS_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    loop {
        let left = args.restart_attempts.saturating_sub(restarts);
        *RESTARTS.lock().unwrap_or_else(|p| p.into_inner()) =
            (left > 0).then_some((restarts + 1, args.restart_attempts, args.restart_delay));
        match run_once(&args, plan, std::sync::Arc::clone(&build), &stop) {
            Ok(mut report) => {
                report.restarts = restarts;
                return Ok(report);
            }
            Err(e) if restarts < args.restart_attempts && e.is_restartable() => {
                restarts += 1;
                eprintln!(
                    "tidemill: the job failed: {e}\ntidemill: restart {restarts} of {} in {:?}, from the latest checkpoint",
                    args.restart_attempts, args.restart_delay
                );
                std::thread::sleep(args.restart_delay);
                args.restore = Some(crate::checkpoint::Restore::Latest);
            }
            Err(e) => return Err(e),
        }
    }
}

/// One run of the job: until it ends or fails.
fn run_once<F>(
    args: &Args,
    plan: Plan,
    build: std::sync::Arc<F>,
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Result<JobReport>
where
    F: for<'scope> Fn(Scope<'scope, Time>, &JobContext) + Send + Sync + 'static,
{
    let mode = args.resolve_mode(plan.bounded)?;
    let config = args.timely_config()?;
    // Before the processes connect: opening cleans up what later epochs (or an earlier
    // run) left, which must not race with another process's first parts.
    let peers = (args.workers * args.processes) as usize;
    let groups = args.max_parallelism as usize;
    if peers > groups {
        return Err(Error::Config(format!(
            "{peers} workers are more than --max-parallelism {groups}, the number of key groups: raise it"
        )));
    }
    let checkpointing = match args.checkpoint_settings()? {
        Some(settings) => Some(std::sync::Arc::new(crate::checkpoint::Checkpointing::open(
            &settings,
            fingerprint(&plan),
            peers,
            groups,
        )?)),
        None => None,
    };
    let (builders, network_guard) = match config.communication {
        timely::CommunicationConfig::Cluster {
            threads,
            process,
            addresses,
            ..
        } => crate::cluster::allocators(&addresses, process, threads, args.connect_timeout())?,
        local => local.try_build().map_err(Error::Startup)?,
    };
    let context = JobContext::with_stop(
        mode,
        args.source_batch as usize,
        std::sync::Arc::clone(stop),
    )
    .with_max_drift(args.max_watermark_drift.unwrap_or(0));
    if checkpointing.is_some() && !SIGNALS.swap(true, std::sync::atomic::Ordering::SeqCst) {
        // Stop with a savepoint (see `checkpoint`), as Flink's `stop`.
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(signal, context.stop_flag())
                .map_err(|e| Error::Startup(format!("cannot handle signal {signal}: {e}")))?;
        }
    }
    let worker_context = context.clone();
    let local_workers = args.workers as usize;
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        // A panicking worker fails its job before it unwinds: the capabilities its
        // operators drop on the way out would otherwise let the other workers' frontiers
        // pass, as if it had finished, and a checkpoint could complete.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = panic_message(info.payload());
            if UNWINDING.with(|u| u.replace(true)) {
                // A panic while unwinding (timely's queues, poisoned by a lost peer, panic
                // again in destructors): the process is about to abort. Run it again
                // instead, if restarts are left.
                previous(info);
                let next = *RESTARTS.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((n, of, delay)) = next {
                    run_again(n, of, delay);
                }
                return;
            }
            let _ = PANICS_FAIL.try_with(|slot| {
                if let Some(context) = slot.try_borrow().ok().as_ref().and_then(|s| s.as_ref()) {
                    context.abort(message);
                }
            });
            previous(info);
        }));
    });
    let guards =
        timely::execute::execute_from(builders, network_guard, config.worker, move |worker| {
            let context = worker_context.clone();
            PANICS_FAIL.with(|slot| *slot.borrow_mut() = Some(context.clone()));
            crate::hash::set_max_parallelism(groups);
            crate::checkpoint::enter(
                &context,
                checkpointing.clone(),
                worker.index(),
                worker.peers(),
                local_workers,
            );
            let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                worker.dataflow::<Time, _, _>(|scope| build(scope, &context));
            }));
            // Operators hold what they need; the thread's slot would outlive the
            // runtime of clients (PostgreSQL's) that sinks hold.
            crate::checkpoint::leave();
            // Stepped here rather than by timely: a worker that panics fails the job,
            // and the others abandon the dataflow instead of waiting for it forever.
            let ran = built.and_then(|()| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    while worker.has_dataflows() && !context.is_aborted() {
                        worker.step_or_park(Some(std::time::Duration::from_millis(100)));
                    }
                }))
            });
            UNWINDING.with(|u| u.set(false));
            if let Err(panic) = ran {
                if !context.is_aborted() {
                    context.abort(panic_message(&*panic));
                }
            }
            if context.is_aborted() {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    for dataflow in worker.installed_dataflows() {
                        worker.drop_dataflow(dataflow);
                    }
                }));
                UNWINDING.with(|u| u.set(false));
            }
            PANICS_FAIL.with(|slot| slot.borrow_mut().take());
        })
        .map_err(Error::Startup)?;
    let mut report = JobReport::default();
    let mut errors = Vec::new();
    // The network threads panic when a peer process is lost, and so does dropping their
    // guard.
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| guards.join()));
    match joined {
        Ok(results) => {
            for result in results {
                match result {
                    Ok(()) => report.local_workers += 1,
                    Err(panic) => errors.push(Error::WorkerPanicked(panic)),
                }
            }
        }
        Err(_) => errors.push(Error::Startup(
            "the connection to a peer process was lost".into(),
        )),
    }
    report.late_dropped = context.late_counts();
    report.discarded = context.discarded();
    report.dead_letters = context.dead_letter_counts();
    for (source, n) in &report.dead_letters {
        eprintln!("tidemill: {n} dead letter(s) from {source}");
    }
    for (at, n) in &report.late_dropped {
        eprintln!("tidemill: {n} late record(s) dropped by the {at}; route them with `.late()` to keep them");
    }
    // Every worker meets a missing input file: report each distinct failure once.
    for error in context.take_errors() {
        let message = error.to_string();
        if !errors.iter().any(|e| e.to_string() == message) {
            errors.push(error);
        }
    }
    match errors.len() {
        0 => Ok(report),
        1 => Err(errors.pop().expect("one error")),
        _ => Err(Error::Many(errors)),
    }
}

/// The environment variable that tells a program run again how many restarts it has
/// used.
const RESTARTS_ENV: &str = "TIDEMILL_RESTARTS";

/// The next restart, if one is left: its number, the attempts allowed, the delay.
static RESTARTS: std::sync::Mutex<Option<(u32, u32, std::time::Duration)>> =
    std::sync::Mutex::new(None);

/// Restart `n` of `of`, when the process cannot go on (it would abort): after `delay`,
/// replaces the process by the same program with the same arguments and `--restore
/// latest`, telling it the restarts used.
fn run_again(n: u32, of: u32, delay: std::time::Duration) {
    use std::os::unix::process::CommandExt;
    // One write: other threads' panic messages go to stderr unlocked meanwhile, and
    // `eprintln!` writes piece by piece.
    let message = format!(
        "tidemill: the job cannot go on in this process\ntidemill: restart {n} of {of} in {delay:?}, from the latest checkpoint, running the program again\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
    std::thread::sleep(delay);
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = Vec::new();
    let mut given = std::env::args_os().skip(1);
    while let Some(arg) = given.next() {
        if arg == "--restore" {
            given.next();
        } else if !arg.to_string_lossy().starts_with("--restore=") {
            args.push(arg);
        }
    }
    let error = std::process::Command::new(exe)
        .args(args)
        .args(["--restore", "latest"])
        .env(RESTARTS_ENV, n.to_string())
        .exec();
    eprintln!("tidemill: cannot run the program again: {error}");
}

thread_local! {
    /// Whether this thread is unwinding from a panic (set by the hook, cleared where a
    /// worker catches it): a panic then is a panic in a destructor, which aborts.
    static UNWINDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };

    /// The job of the worker on this thread: a panic here fails it (see `run_once`).
    static PANICS_FAIL: std::cell::RefCell<Option<JobContext>> = const { std::cell::RefCell::new(None) };
}

/// Whether this process handles SIGTERM and SIGINT already (once for all runs and
/// restarts: the flag they set is shared).
static SIGNALS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "a panic without a message".into(),
    }
}

/// A stable fingerprint of a plan's operators and edges, so that a checkpoint is only
/// restored into the pipeline that wrote it.
pub fn fingerprint(plan: &Plan) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = crate::hash::KeyHasher::default();
    for n in plan.nodes {
        (n.id, n.operator, n.op, n.inputs, n.exchange).hash(&mut h);
    }
    h.finish()
}
