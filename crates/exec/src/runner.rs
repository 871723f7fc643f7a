//! The scheduler: a sweep's tasks (or several sweeps' in one queue) across cores, longest first,
//! each claimed by lease, run with checkpoints, and committed atomically; failures are recorded
//! and the sweep goes on.
//!
//! `jobs` runners share one rayon pool of `jobs` threads. A runner takes the most expensive
//! pending task (estimated cost n² × steps, the steps learned from finished tasks of the same
//! β, dimension and size), so long tasks start first. While other tasks wait, a task runs on
//! its runner's thread; once nothing waits, a task's field is computed with the whole pool
//! (the solver's results do not depend on the thread count, so this never changes a bit).
//!
//! Long file: the runners, the group committer and the heartbeats share one `Shared` state, and
//! a task's way from claim to commit (resume checks, retries, failures) reads best in one place.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use sphereflow_plan::{Plan, Task, TaskId, Typed};

use crate::state::{label, task_state, TaskState};
use sphereflow_meanfield::{as_run_result, Model};
use sphereflow_plan::MeanFieldSetup;
use sphereflow_solver::params::Method;
use sphereflow_solver::{
    certify_options, Certificate, Conclusion, PairKernel, Par, Problem, RunResult, Simulation,
    SOLVER_REV,
};

use crate::error::{chain, ExecError};
use crate::events::{Event, EventLog};
use crate::lease::{self, Claim, Holder};
use crate::provenance::{rfc3339, Provenance};
use crate::resume::{checkpoint_problem, memory_problem};
use crate::store::{
    Checkpoint, CheckpointRead, Committed, FailureRecord, FrameIndex, ObjectContent, ObjectState,
    Staged, Store, StoredSummary, TaskSpec,
};

/// A static split of a sweep: this process runs the tasks whose id falls in part `index` of
/// `count` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, from 1.
    pub index: u64,
    /// How many parts.
    pub count: u64,
}

impl Shard {
    /// Parses `I/N`.
    ///
    /// # Errors
    /// Anything but `I/N` with `1 <= I <= N`.
    pub fn parse(text: &str) -> Result<Shard, ExecError> {
        let fail = || ExecError::Option {
            option: "shard",
            reason: format!("expected I/N with 1 <= I <= N, got {text:?}"),
        };
        let (i, n) = text.split_once('/').ok_or_else(fail)?;
        let index: u64 = i.trim().parse().map_err(|_| fail())?;
        let count: u64 = n.trim().parse().map_err(|_| fail())?;
        if index == 0 || index > count {
            return Err(fail());
        }
        Ok(Shard { index, count })
    }

    /// Whether a task belongs to this shard (by the first 8 bytes of its id).
    pub fn contains(&self, id: &TaskId) -> bool {
        let hex = id.to_hex();
        let head = u64::from_str_radix(&hex[..16], 16).expect("hex");
        head % self.count == self.index - 1
    }
}

/// Most tasks in parallel (`jobs`): each is a thread of the pool; more than this only costs
/// memory and start-up time, never speed.
pub const MAX_JOBS: usize = 1024;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Tasks in parallel (and threads in the pool), 1 to [`MAX_JOBS`].
    pub jobs: usize,
    /// Only this part of the sweep.
    pub shard: Option<Shard>,
    /// Run tasks that failed before.
    pub retry_failed: bool,
    /// Stop starting tasks after this many failures.
    pub max_failures: Option<usize>,
    /// Time between checkpoints of a running task.
    pub checkpoint_every: Duration,
    /// Lease time-to-live (heartbeats every quarter of it).
    pub lease_ttl: Duration,
    /// How often to look again at tasks held by other runners.
    pub poll: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            shard: None,
            retry_failed: false,
            max_failures: None,
            checkpoint_every: Duration::from_secs(10),
            lease_ttl: Duration::from_secs(60),
            poll: Duration::from_millis(500),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Tasks in the sweep (this shard's).
    pub tasks: usize,
    /// Already committed before the run.
    pub cached: usize,
    /// Committed by this run.
    pub committed: usize,
    /// Committed by other runners while this one waited.
    pub done_elsewhere: usize,
    /// Failed in this run: `(id, reason)`.
    pub failed: Vec<(String, String)>,
    /// Failed in an earlier run and not retried: `(id, reason)`.
    pub failed_before: Vec<(String, String)>,
    /// Kept from running by a store entry of the wrong kind (counted in `remaining`):
    /// `(id, reason)`.
    pub blocked: Vec<(String, String)>,
    /// Interrupted (Ctrl-C or a signal): running tasks were checkpointed.
    pub interrupted: bool,
    /// Stopped starting tasks because the failure budget was spent.
    pub failure_budget_spent: bool,
    /// Tasks neither committed nor failed at the end.
    pub remaining: usize,
}

/// The spec stored beside a result: every parameter, defaults filled.
fn spec_of(plan: &Plan, task: &Task) -> TaskSpec {
    let identity = plan.identity(task).ok();
    let mut parameters = serde_json::Map::new();
    for spec in sphereflow_plan::SCHEMA {
        // `Typed` serializes as the JSON number, bool or string it holds.
        let value = serde_json::to_value(plan.value(task, spec.path)).expect("plain data");
        parameters.insert(spec.path.into(), value);
    }
    TaskSpec {
        scheme: sphereflow_plan::TASK_ID_SCHEME.into(),
        task_id: task.id.to_hex(),
        canonical: identity.map(|i| i.canonical).unwrap_or_default(),
        parameters,
    }
}

/// Learned steps per task, for the cost estimate (n² × steps).
struct Estimator {
    /// Per queued task: (dim, particles, β bits) and the step cap.
    keys: Vec<((u64, u64, u64), f64)>,
    /// Per queued task: the fixed cost of a mean-field task, `None` for a particle run.
    fixed: Vec<Option<f64>>,
    /// Total steps and count of finished tasks, by key.
    steps: HashMap<(u64, u64, u64), (f64, u32)>,
}

/// The scheduler's size of a task: `(particles, step cap)`. A mean-field task has no particles
/// here (the scheduler weighs it by [`MEANFIELD_COST`] instead).
fn size(plan: &Plan, task: &Task) -> (u64, u64) {
    let particles = match plan.value(task, "model.solver") {
        Some(Typed::Text(solver)) if solver == "meanfield" => 0,
        _ => int_value(plan, task, "model.particles").unwrap_or(0),
    };
    let max_steps = int_value(plan, task, "stop.max_steps").unwrap_or(0);
    (particles, max_steps.max(1))
}

/// A task's integer parameter, `None` when it is not one.
fn int_value(plan: &Plan, task: &Task, path: &str) -> Option<u64> {
    match plan.value(task, path) {
        Some(Typed::Int(i)) => Some(i as u64),
        _ => None,
    }
}

/// A task's float parameter, `None` when it is not one.
fn float_value(plan: &Plan, task: &Task, path: &str) -> Option<f64> {
    match plan.value(task, path) {
        Some(Typed::Float(x)) => Some(x),
        _ => None,
    }
}

/// What progress displays expect of a task ([`cost_model`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskCost {
    /// The pair weights one step computes: the solver's pair pass
    /// ([`sphereflow_solver::pair_pass_cost`]: `n² / 2` direct, `n (K + 1)` on S^1's spectral
    /// path) times the integrator's field evaluations per step
    /// ([`Method::field_evaluations`](sphereflow_solver::params::Method::field_evaluations)).
    /// 0 for a mean-field task (displays then count tasks).
    pub per_step: f64,
    /// The most steps it can take: `stop.max_steps`, or fewer when a fixed step reaches
    /// `stop.t_max` first (`ceil(t_max / dt)`).
    pub max_steps: u64,
    /// Whether it may stop before `max_steps` on its own (`stop.drift_tol > 0`: the stopping
    /// rule); without one a run goes to `max_steps`.
    pub stopping_rule: bool,
}

/// The cost model of a task, as progress displays estimate what is left ([`TaskCost`]).
pub fn cost_model(plan: &Plan, task: &Task) -> TaskCost {
    let (particles, mut max_steps) = size(plan, task);
    let stopping_rule = float_value(plan, task, "stop.drift_tol").is_none_or(|tol| tol > 0.0);
    if particles == 0 {
        return TaskCost {
            per_step: 0.0,
            max_steps,
            stopping_rule,
        };
    }
    let method = match plan.value(task, "integrator.method") {
        Some(Typed::Text(name)) => Method::from_name(&name).unwrap_or(Method::Euler),
        _ => Method::Euler,
    };
    let t_max = float_value(plan, task, "stop.t_max");
    let dt = float_value(plan, task, "integrator.dt");
    if let (true, Some(t_max), Some(dt)) = (method.fixed_step(), t_max, dt) {
        if t_max > 0.0 && dt > 0.0 {
            // Steps of dt reach t_max after ceil(t_max / dt) of them (within rounding).
            let steps = (t_max / dt - 1e-9).ceil().max(1.0);
            if steps < max_steps as f64 {
                max_steps = steps as u64;
            }
        }
    }
    let dim = int_value(plan, task, "model.dim").unwrap_or(2) as usize;
    let beta = float_value(plan, task, "model.beta").unwrap_or(1.0);
    let pair_kernel = match plan.value(task, "integrator.pair_kernel") {
        Some(Typed::Text(name)) => PairKernel::from_name(&name).unwrap_or(PairKernel::Auto),
        _ => PairKernel::Auto,
    };
    let pass = sphereflow_solver::pair_pass_cost(dim, particles as usize, beta, pair_kernel);
    TaskCost {
        per_step: pass * method.field_evaluations() as f64,
        max_steps,
        stopping_rule,
    }
}

/// The scheduler's cost of a mean-field task per `cells² × t_end`, in the particle runs' unit
/// (`particles² × steps`): its time step shrinks like `1/cells` (CFL) and each step costs
/// about `cells` times the modes it keeps. Measured on a 2-core machine: 4096 cells to
/// t = 1000 took 18.9 s, a 1000-particle Euler run of 22,210 steps 1.16 s. It only orders the
/// queue, so that a long mean-field task starts early rather than last.
const MEANFIELD_COST: f64 = 20.0;

/// A mean-field task's cost in the particle runs' unit ([`MEANFIELD_COST`]), `None` for a
/// particle run.
fn meanfield_cost(plan: &Plan, task: &Task) -> Option<f64> {
    match plan.value(task, "model.solver") {
        Some(Typed::Text(solver)) if solver == "meanfield" => {}
        _ => return None,
    }
    let cells = int_value(plan, task, "meanfield.cells").unwrap_or(0) as f64;
    let t_end = float_value(plan, task, "meanfield.t_end").unwrap_or(0.0);
    Some(MEANFIELD_COST * cells * cells * t_end)
}

impl Estimator {
    fn new(plans: &[&Plan], entries: &[(usize, usize)]) -> Estimator {
        let keys = entries
            .iter()
            .map(|&(p, t)| {
                let (plan, task) = (plans[p], &plans[p].tasks[t]);
                let beta = float_value(plan, task, "model.beta").map_or(0, f64::to_bits);
                let dim = int_value(plan, task, "model.dim").unwrap_or(0);
                // A mean-field task never shares a particle run's learned steps (it has none).
                let (particles, max_steps) = size(plan, task);
                ((dim, particles, beta), max_steps as f64)
            })
            .collect();
        let fixed = entries
            .iter()
            .map(|&(p, t)| meanfield_cost(plans[p], &plans[p].tasks[t]))
            .collect();
        Estimator {
            keys,
            fixed,
            steps: HashMap::new(),
        }
    }

    fn cost(&self, index: usize) -> f64 {
        if let Some(cost) = self.fixed[index] {
            return cost;
        }
        let (key, max_steps) = self.keys[index];
        let n = key.1 as f64;
        let steps = self
            .steps
            .get(&key)
            .map_or(max_steps, |(total, count)| total / f64::from(*count));
        n * n * steps
    }

    fn learn(&mut self, index: usize, steps: u64) {
        let entry = self.steps.entry(self.keys[index].0).or_default();
        entry.0 += steps as f64;
        entry.1 += 1;
    }
}

struct Queue {
    /// Indices into the queued tasks (`Shared::entries`), cheapest first (runners pop the end).
    pending: Vec<usize>,
    /// Held by other runners when last looked at.
    held: Vec<usize>,
    running: usize,
    since_sort: usize,
}

struct Shared<'a> {
    /// The sweeps run together, and each queued task as (sweep, task) indices into them; the
    /// queue holds indices into `entries`.
    plans: &'a [&'a Plan],
    entries: Vec<(usize, usize)>,
    store: &'a Store,
    options: &'a RunOptions,
    holder: Holder,
    log: EventLog,
    sink: &'a (dyn Fn(&Event) + Sync),
    interrupt: &'a AtomicBool,
    queue: Mutex<Queue>,
    leases: Mutex<HashSet<TaskId>>,
    estimator: Mutex<Estimator>,
    failures: AtomicUsize,
    report: Mutex<Report>,
    done: AtomicBool,
    runners_done: AtomicBool,
    to_commit: Mutex<Vec<Finished>>,
    commit_ready: std::sync::Condvar,
}

enum Outcome {
    /// Written to a private folder and handed to the committer.
    Staged,
    Failed(String),
    Interrupted,
}

/// A finished task waiting for the group commit.
struct Finished {
    index: usize,
    staged: Staged,
    steps: u64,
    stop_reason: &'static str,
    n_clusters: usize,
    runtime_s: f64,
}

impl<'a> Shared<'a> {
    /// The sweep and task of a queue entry.
    fn task(&self, index: usize) -> (&'a Plan, &'a Task) {
        let (p, t) = self.entries[index];
        (self.plans[p], &self.plans[p].tasks[t])
    }

    fn emit(&self, event: Event) {
        self.log.append(&event);
        (self.sink)(&event);
    }

    fn stopping(&self) -> bool {
        self.interrupt.load(Ordering::SeqCst) || self.budget_spent()
    }

    fn budget_spent(&self) -> bool {
        self.options
            .max_failures
            .is_some_and(|max| self.failures.load(Ordering::SeqCst) >= max)
    }

    /// Parallelism for a running task: the whole pool once nothing waits.
    fn par(&self) -> Par {
        let queue = self.queue.lock().expect("queue");
        if queue.pending.is_empty() && queue.running < self.options.jobs {
            Par::Rayon
        } else {
            Par::Seq
        }
    }

    fn sort_pending(&self, queue: &mut Queue) {
        let estimator = self.estimator.lock().expect("estimator");
        queue.pending.sort_by(|&a, &b| {
            estimator
                .cost(a)
                .total_cmp(&estimator.cost(b))
                .then(b.cmp(&a))
        });
        queue.since_sort = 0;
    }

    /// The next task to run; `None` when there is nothing left for this runner.
    fn next(&self) -> Option<usize> {
        loop {
            if self.stopping() {
                return None;
            }
            {
                let mut queue = self.queue.lock().expect("queue");
                if let Some(index) = queue.pending.pop() {
                    queue.running += 1;
                    return Some(index);
                }
                if queue.held.is_empty() {
                    return None;
                }
            }
            std::thread::sleep(self.options.poll);
            self.look_at_held();
        }
    }

    /// Tasks held elsewhere: committed ones are done, expired leases go back to pending.
    fn look_at_held(&self) {
        let held = std::mem::take(&mut self.queue.lock().expect("queue").held);
        let mut still_held = Vec::new();
        let mut freed = Vec::new();
        for index in held {
            let id = &self.task(index).1.id;
            match task_state(self.store, id) {
                TaskState::Cached => self.report.lock().expect("report").done_elsewhere += 1,
                TaskState::Running(_) => still_held.push(index),
                TaskState::Blocked { reason } => self.block(id, reason),
                TaskState::Failed { reason } if !self.options.retry_failed => {
                    self.report
                        .lock()
                        .expect("report")
                        .failed_before
                        .push((id.to_hex(), reason));
                }
                _ => freed.push(index),
            }
        }
        let mut queue = self.queue.lock().expect("queue");
        queue.held.extend(still_held);
        queue.pending.extend(freed);
    }

    fn finish_task(&self) {
        let mut queue = self.queue.lock().expect("queue");
        queue.running -= 1;
        queue.since_sort += 1;
        if queue.since_sort > queue.pending.len() / 256 {
            self.sort_pending(&mut queue);
        }
    }

    fn runner(&self) {
        while let Some(index) = self.next() {
            self.claim_and_run(index);
            self.finish_task();
        }
    }

    fn claim_and_run(&self, index: usize) {
        let (_, task) = self.task(index);
        let id = task.id;
        match lease::claim(self.store, &id, &self.holder) {
            Ok(Claim::Acquired) => {}
            Ok(Claim::HeldBy(lease)) => {
                self.emit(Event::HeldElsewhere {
                    id: id.to_hex(),
                    holder: lease.map_or_else(|| "?".into(), |l| l.holder),
                });
                self.queue.lock().expect("queue").held.push(index);
                return;
            }
            Ok(Claim::Blocked(reason)) => {
                self.block(&id, reason);
                return;
            }
            Err(error) => {
                self.fail(task, "error", &chain(&error));
                return;
            }
        }
        self.leases.lock().expect("leases").insert(id);
        // Another runner may have committed it between our look and our claim.
        if matches!(self.store.inspect(&id), ObjectState::Ok { solver_rev } if solver_rev == SOLVER_REV)
        {
            self.report.lock().expect("report").done_elsewhere += 1;
        } else {
            let outcome = guarded(|| self.run_task(index));
            match outcome {
                // The committer releases the lease once the result is durable.
                Outcome::Staged => return,
                Outcome::Failed(reason) => {
                    let kind = if reason.starts_with("panic") {
                        "panic"
                    } else {
                        "error"
                    };
                    self.fail(task, kind, &reason);
                }
                Outcome::Interrupted => {}
            }
        }
        self.leases.lock().expect("leases").remove(&id);
        lease::release(self.store, &id, &self.holder);
    }

    /// Reports a task kept from running by a store entry of the wrong kind: not waited on, not
    /// recorded (the record's own place may be the entry).
    fn block(&self, id: &TaskId, reason: String) {
        self.report
            .lock()
            .expect("report")
            .blocked
            .push((id.to_hex(), reason.clone()));
        self.emit(Event::Blocked {
            id: id.to_hex(),
            reason,
        });
    }

    /// Removes a checkpoint that cannot be resumed from, with a warning event.
    fn discard_checkpoint(&self, id: &TaskId, reason: String) {
        self.store.remove_checkpoint(id);
        self.emit(Event::CheckpointDiscarded {
            id: id.to_hex(),
            reason,
        });
    }

    /// The task's checkpoint if it is one of this task's runs ([`checkpoint_problem`]); one
    /// that is not is discarded.
    fn usable_checkpoint(&self, id: &TaskId, problem: &Problem) -> Option<Checkpoint> {
        let checkpoint = match self.store.read_checkpoint(id, SOLVER_REV) {
            CheckpointRead::Missing => return None,
            CheckpointRead::Unusable { reason } => {
                self.discard_checkpoint(id, reason);
                return None;
            }
            CheckpointRead::Found(checkpoint) => *checkpoint,
        };
        let problem = checkpoint_problem(&checkpoint.simulation, problem).or_else(|| {
            (!(checkpoint.runtime_s.is_finite() && checkpoint.runtime_s >= 0.0))
                .then(|| format!("its runtime {} is not a duration", checkpoint.runtime_s))
        });
        match problem {
            Some(reason) => {
                self.discard_checkpoint(id, format!("not a run of this task: {reason}"));
                None
            }
            None => Some(checkpoint),
        }
    }

    fn fail(&self, task: &Task, kind: &str, reason: &str) {
        let now = SystemTime::now();
        let record = FailureRecord {
            task_id: task.id.to_hex(),
            kind: kind.into(),
            reason: reason.into(),
            provenance: Provenance::new(&self.holder.name, self.options.jobs, now, now),
        };
        let reason = match self.store.record_failure(&task.id, &record) {
            Ok(()) => reason.to_string(),
            Err(error) => format!(
                "{reason} (and the failure could not be recorded: {})",
                chain(&error)
            ),
        };
        self.store.remove_checkpoint(&task.id);
        self.failures.fetch_add(1, Ordering::SeqCst);
        self.report
            .lock()
            .expect("report")
            .failed
            .push((task.id.to_hex(), reason.clone()));
        self.emit(Event::Failed {
            id: task.id.to_hex(),
            reason,
        });
    }

    fn run_task(&self, index: usize) -> Outcome {
        let (plan, task) = self.task(index);
        let id = task.id;
        let resolved = match plan.resolve(task) {
            Ok(resolved) => resolved,
            Err(error) => return Outcome::Failed(format!("refused: {error}")),
        };
        let meanfield = resolved.meanfield.clone();
        if meanfield.is_none() {
            // Before the state is drawn: a task larger than the machine would abort the process.
            let model = &resolved.params.model;
            let width = resolved.params.perceptron.width;
            let snapshots = resolved.params.measure.frames;
            if let Some(reason) = memory_problem(model.particles, model.dim, width, snapshots) {
                return Outcome::Failed(format!("refused: {reason}"));
            }
        }
        let problem = match Problem::new(resolved.params, resolved.initial, resolved.perceptron) {
            Ok(problem) => problem,
            Err(error) => return Outcome::Failed(format!("refused: {error}")),
        };
        if let Some(setup) = meanfield {
            return self.run_mean_field(index, &problem, &setup);
        }
        let checkpoint = self.usable_checkpoint(&id, &problem);
        if checkpoint.is_none() {
            return self.run_particles(index, &problem, None);
        }
        // A run resumed from a checkpoint that then fails may have failed because of the
        // checkpoint: it is discarded and the task run once more from the beginning, so that
        // a checkpoint never fails a task for good.
        match guarded(|| self.run_particles(index, &problem, checkpoint)) {
            Outcome::Failed(reason) => {
                self.discard_checkpoint(&id, format!("the run resumed from it failed ({reason})"));
                self.run_particles(index, &problem, None)
            }
            outcome => outcome,
        }
    }

    /// Runs a particle task from its beginning or from a checkpoint (checked already), with
    /// checkpoints on the way, and stages its result.
    fn run_particles(
        &self,
        index: usize,
        problem: &Problem,
        checkpoint: Option<Checkpoint>,
    ) -> Outcome {
        let (plan, task) = self.task(index);
        let id = task.id;
        let session_start = Instant::now();
        let resumed_from_step = checkpoint.as_ref().map(|c| c.simulation.step);
        let (mut simulation, prior_runtime, started) = match checkpoint {
            Some(c) => (c.simulation, c.runtime_s, c.started),
            None => (Simulation::start(problem), 0.0, rfc3339(SystemTime::now())),
        };
        self.emit(Event::Started {
            id: id.to_hex(),
            label: label(plan, task),
            resumed_from_step,
        });
        let stop = &problem.params.stop;
        let mut chunk = stop.check_every.max(1);
        let mut last_checkpoint = Instant::now();
        let mut last_progress = Instant::now();
        let runtime = |start: Instant| prior_runtime + start.elapsed().as_secs_f64();
        let mut certificate = None;
        loop {
            let clock = Instant::now();
            match simulation.advance(problem, chunk, self.par()) {
                Err(error) => return Outcome::Failed(error.to_string()),
                Ok(Some(_)) if !stop.certify => break,
                Ok(Some(_)) => {
                    let options = certify_options(&problem.params, &simulation.state);
                    match simulation.conclude(problem, &options, self.par()) {
                        Err(error) => return Outcome::Failed(format!("certify: {error}")),
                        Ok(Conclusion::Certified(found)) => {
                            certificate = Some(*found);
                            break;
                        }
                        // Too many atoms to certify (a spread state): no certificate.
                        Ok(Conclusion::Uncertified { .. }) => break,
                        // Settled without a stationary point: the flow goes on.
                        Ok(Conclusion::Resumed) => {}
                    }
                }
                Ok(None) => {}
            }
            // Chunks of about a quarter second: responsive to Ctrl-C, cheap to schedule.
            let elapsed = clock.elapsed().as_secs_f64().max(1e-6);
            let scaled = (chunk as f64 * 0.25 / elapsed).clamp(1.0, 1e6) as u64;
            chunk = scaled.max(stop.check_every.max(1));
            if last_progress.elapsed() >= Duration::from_millis(250) {
                last_progress = Instant::now();
                let last = simulation.series.last();
                self.emit(Event::Progress {
                    id: id.to_hex(),
                    step: simulation.step,
                    max_steps: stop.max_steps,
                    t: simulation.t,
                    n_clusters: last.map_or(0, |r| r.n_clusters),
                    max_drift: last.map_or(f64::NAN, |r| r.max_drift),
                });
            }
            let interrupted = self.interrupt.load(Ordering::SeqCst);
            if interrupted || last_checkpoint.elapsed() >= self.options.checkpoint_every {
                let checkpoint = Checkpoint {
                    task_id: id.to_hex(),
                    solver_rev: SOLVER_REV,
                    runtime_s: runtime(session_start),
                    started: started.clone(),
                    simulation: simulation.clone(),
                };
                if let Err(error) = self.store.save_checkpoint(&id, &checkpoint) {
                    if interrupted {
                        return Outcome::Interrupted;
                    }
                    return Outcome::Failed(chain(&error));
                }
                self.emit(Event::Checkpointed {
                    id: id.to_hex(),
                    step: simulation.step,
                });
                last_checkpoint = Instant::now();
                if interrupted {
                    return Outcome::Interrupted;
                }
            }
        }
        let result = simulation.finish(problem);
        let runtime_s = runtime(session_start);
        self.stage_result(index, result, certificate, runtime_s, started)
    }

    /// A mean-field task (`model.solver = "meanfield"`): the density solver from its initial law
    /// to `meanfield.t_end`, stored as a run whose states are the snapshot densities
    /// ([`sphereflow_meanfield::as_run_result`]). These runs take seconds and are not
    /// checkpointed: an interrupted one starts again.
    fn run_mean_field(&self, index: usize, problem: &Problem, setup: &MeanFieldSetup) -> Outcome {
        let (plan, task) = self.task(index);
        let started = rfc3339(SystemTime::now());
        let clock = Instant::now();
        self.emit(Event::Started {
            id: task.id.to_hex(),
            label: label(plan, task),
            resumed_from_step: None,
        });
        let model = match Model::from_dynamics(&problem.dynamics) {
            Ok(model) => model,
            Err(error) => return Outcome::Failed(format!("refused: {error}")),
        };
        let result = sphereflow_meanfield::solve(&model, &setup.numerics, &setup.law, self.par())
            .and_then(|result| as_run_result(&model, &setup.numerics, &result, &problem.params));
        match result {
            Ok(result) => {
                self.stage_result(index, result, None, clock.elapsed().as_secs_f64(), started)
            }
            Err(error) => Outcome::Failed(format!("meanfield: {error}")),
        }
    }

    /// Checks a finished run, stages its object and hands it to the committer.
    fn stage_result(
        &self,
        index: usize,
        result: RunResult,
        certificate: Option<Certificate>,
        runtime_s: f64,
        started: String,
    ) -> Outcome {
        let (plan, task) = self.task(index);
        let id = task.id;
        let summary = &result.summary;
        let finite = [
            summary.max_cluster_mass,
            summary.max_window_mass,
            summary.energy_initial,
            summary.energy_final,
            summary.t_final,
            summary.max_drift,
        ]
        .iter()
        .chain(&result.final_state.positions)
        .all(|x| x.is_finite());
        if result.final_state.masses.is_empty() {
            return Outcome::Failed(format!(
                "the run ended with no atoms after {} steps",
                summary.steps
            ));
        }
        if !finite {
            return Outcome::Failed(format!(
                "non-finite result after {} steps (t = {})",
                summary.steps, summary.t_final
            ));
        }
        let mut provenance = Provenance::new(
            &self.holder.name,
            self.options.jobs,
            SystemTime::now(),
            SystemTime::now(),
        );
        provenance.started = started;
        let stored = StoredSummary {
            spec: spec_of(plan, task),
            summary: summary.clone(),
            clusters: result.clusters.clone(),
            runtime_s,
            solver_rev: SOLVER_REV,
            certificate,
            provenance,
            frames: result
                .frames
                .frames
                .iter()
                .map(|f| FrameIndex {
                    step: f.step,
                    t: f.t,
                    atoms: f.state.len(),
                })
                .collect(),
        };
        let content =
            ObjectContent::new(&stored, &result.final_state, &result.series, &result.frames);
        let staged = match self.store.stage(&id, &content) {
            Ok(staged) => staged,
            Err(error) => return Outcome::Failed(chain(&error)),
        };
        self.to_commit.lock().expect("commits").push(Finished {
            index,
            staged,
            steps: summary.steps,
            stop_reason: summary.stop_reason.as_str(),
            n_clusters: summary.n_clusters,
            runtime_s,
        });
        self.commit_ready.notify_one();
        Outcome::Staged
    }

    /// The group committer: publishes whatever has finished since its last sync in one batch,
    /// then releases the leases and reports. Runs until the runners are done and nothing waits.
    fn committer(&self) {
        loop {
            let batch = {
                let mut waiting = self.to_commit.lock().expect("commits");
                while waiting.is_empty() && !self.runners_done.load(Ordering::SeqCst) {
                    waiting = self
                        .commit_ready
                        .wait_timeout(waiting, Duration::from_millis(50))
                        .expect("commits")
                        .0;
                }
                if waiting.is_empty() {
                    return;
                }
                std::mem::take(&mut *waiting)
            };
            let (finished, staged): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .map(|f| {
                    let Finished {
                        index,
                        staged,
                        steps,
                        stop_reason,
                        n_clusters,
                        runtime_s,
                    } = f;
                    ((index, steps, stop_reason, n_clusters, runtime_s), staged)
                })
                .unzip();
            let results = self.store.publish(staged, SOLVER_REV);
            for ((index, steps, stop_reason, n_clusters, runtime_s), result) in
                finished.into_iter().zip(results)
            {
                let (_, task) = self.task(index);
                let id = task.id;
                match result {
                    Ok(Committed::Written) | Ok(Committed::AlreadyThere) => {
                        self.store.remove_checkpoint(&id);
                        self.store.clear_failure(&id);
                        self.estimator
                            .lock()
                            .expect("estimator")
                            .learn(index, steps);
                        self.report.lock().expect("report").committed += 1;
                        self.emit(Event::Finished {
                            id: id.to_hex(),
                            steps,
                            stop_reason: stop_reason.into(),
                            n_clusters,
                            runtime_s,
                        });
                    }
                    Err(error) => self.fail(task, "error", &chain(&error)),
                }
                self.leases.lock().expect("leases").remove(&id);
                lease::release(self.store, &id, &self.holder);
            }
        }
    }

    fn heartbeats(&self) {
        let every = (self.options.lease_ttl / 4).max(Duration::from_millis(50));
        let mut last = Instant::now();
        while !self.done.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20).min(every));
            if last.elapsed() < every {
                continue;
            }
            last = Instant::now();
            let held: Vec<TaskId> = self
                .leases
                .lock()
                .expect("leases")
                .iter()
                .copied()
                .collect();
            for id in held {
                lease::heartbeat(self.store, &id, &self.holder);
            }
        }
    }
}

/// Runs a task's work, turning a panic into a failure with its message.
fn guarded(work: impl FnOnce() -> Outcome) -> Outcome {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Outcome::Failed(format!("panic: {message}"))
    })
}

/// Runs a plan's tasks against a store: cached ones are skipped, the others computed in
/// parallel and committed. Events go to `sink` and to the store's event log. Setting
/// `interrupt` makes running tasks checkpoint and the run return.
///
/// # Errors
/// Only errors of the store itself (it cannot be written at all); a task's failure is recorded
/// in the report and the store.
pub fn run(
    plan: &Plan,
    store: &Store,
    options: &RunOptions,
    sink: &(dyn Fn(&Event) + Sync),
    interrupt: &AtomicBool,
) -> Result<Report, ExecError> {
    run_many(&[plan], store, options, sink, interrupt)
}

/// Runs several sweeps' tasks as one queue, longest first across all of them, so that no core
/// waits for the last task of one sweep while another sweep has work; otherwise as [`run`]. A
/// task that several sweeps share (the same id) is run once. The report adds up the sweeps;
/// each sweep's `Planned` event counts its own tasks.
///
/// # Errors
/// As [`run`].
pub fn run_many(
    plans: &[&Plan],
    store: &Store,
    options: &RunOptions,
    sink: &(dyn Fn(&Event) + Sync),
    interrupt: &AtomicBool,
) -> Result<Report, ExecError> {
    if !(1..=MAX_JOBS).contains(&options.jobs) {
        return Err(ExecError::Option {
            option: "jobs",
            reason: format!("must be between 1 and {MAX_JOBS}, got {}", options.jobs),
        });
    }
    let holder = Holder::new(options.lease_ttl);
    let log = EventLog::open(&store.event_log(), &holder.name)?;
    let mut report = Report::default();
    let mut entries = Vec::new();
    let mut pending = Vec::new();
    let shared_log_events = |event: Event| {
        log.append(&event);
        sink(&event);
    };
    let mut seen = HashSet::new();
    for (p, plan) in plans.iter().enumerate() {
        let selected: Vec<usize> = (0..plan.tasks.len())
            .filter(|&i| options.shard.is_none_or(|s| s.contains(&plan.tasks[i].id)))
            .filter(|&i| seen.insert(plan.tasks[i].id))
            .collect();
        let (mut cached, mut failed_before, mut queued) = (Vec::new(), 0, Vec::new());
        let mut blocked = Vec::new();
        for &index in &selected {
            let id = &plan.tasks[index].id;
            match task_state(store, id) {
                TaskState::Cached => cached.push(index),
                TaskState::Failed { reason } if !options.retry_failed => {
                    failed_before += 1;
                    report.failed_before.push((id.to_hex(), reason));
                }
                TaskState::Blocked { reason } => blocked.push((id.to_hex(), reason)),
                _ => queued.push(index),
            }
        }
        report.tasks += selected.len();
        report.cached += cached.len();
        shared_log_events(Event::Planned {
            sweep: plan.sweep.name.clone(),
            tasks: selected.len(),
            cached: cached.len(),
            queued: queued.len(),
            failed: failed_before,
        });
        for &index in &cached {
            shared_log_events(Event::CacheHit {
                id: plan.tasks[index].id.to_hex(),
            });
        }
        for (id, reason) in &blocked {
            shared_log_events(Event::Blocked {
                id: id.clone(),
                reason: reason.clone(),
            });
        }
        report.blocked.extend(blocked);
        for &index in &queued {
            shared_log_events(Event::Queued {
                id: plan.tasks[index].id.to_hex(),
                label: label(plan, &plan.tasks[index]),
            });
            pending.push(entries.len());
            entries.push((p, index));
        }
    }
    let estimator = Estimator::new(plans, &entries);
    let shared = Shared {
        plans,
        entries,
        store,
        options,
        holder,
        log,
        sink,
        interrupt,
        queue: Mutex::new(Queue {
            pending,
            held: Vec::new(),
            running: 0,
            since_sort: 0,
        }),
        leases: Mutex::new(HashSet::new()),
        estimator: Mutex::new(estimator),
        failures: AtomicUsize::new(0),
        report: Mutex::new(report),
        done: AtomicBool::new(false),
        runners_done: AtomicBool::new(false),
        to_commit: Mutex::new(Vec::new()),
        commit_ready: std::sync::Condvar::new(),
    };
    shared.sort_pending(&mut shared.queue.lock().expect("queue"));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs)
        .thread_name(|i| format!("sphereflow-runner-{i}"))
        .build()
        .map_err(|e| ExecError::Option {
            option: "jobs",
            reason: e.to_string(),
        })?;
    std::thread::scope(|scope| {
        scope.spawn(|| shared.heartbeats());
        let committer = scope.spawn(|| shared.committer());
        pool.scope(|s| {
            for _ in 0..options.jobs {
                s.spawn(|_| shared.runner());
            }
        });
        shared.runners_done.store(true, Ordering::SeqCst);
        shared.commit_ready.notify_all();
        committer.join().expect("the committer does not panic");
        shared.done.store(true, Ordering::SeqCst);
    });
    let mut report = shared.report.into_inner().expect("report");
    let queue = shared.queue.into_inner().expect("queue");
    report.interrupted = interrupt.load(Ordering::SeqCst);
    report.failure_budget_spent = options
        .max_failures
        .is_some_and(|max| shared.failures.load(Ordering::SeqCst) >= max);
    report.remaining = report.tasks
        - report.cached
        - report.committed
        - report.done_elsewhere
        - report.failed.len()
        - report.failed_before.len();
    debug_assert!(queue.running == 0);
    if report.interrupted {
        let event = Event::Interrupted {
            committed: report.committed,
            remaining: report.remaining,
        };
        shared.log.append(&event);
        sink(&event);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sphereflow_plan::{PlanOptions, Sweep};

    fn plan(text: &str) -> Plan {
        let sweep = Sweep::parse(text, "test.toml", std::path::Path::new("."), "test").unwrap();
        Plan::new(sweep, &PlanOptions::default()).unwrap()
    }

    #[test]
    fn a_long_mean_field_task_is_queued_before_short_particle_runs() {
        // The paper's mean-field atoms sweep in small: 1000 particles converge in about 2 · 10^4
        // steps, the 4096-cell density runs to t = 1000 (16 times the time of such a run).
        let plan = plan(
            "[model]\nparticles = 1000\n[stop]\nmax_steps = 20000\n\
             [meanfield]\nt_end = 1000\n\
             [grid]\nmodel.solver = [\"particles\", \"meanfield\"]\n\
             meanfield.cells = [256, 4096]\n",
        );
        let entries: Vec<(usize, usize)> = (0..plan.tasks.len()).map(|t| (0, t)).collect();
        let estimator = Estimator::new(&[&plan], &entries);
        let solver = |t: usize| plan.value(&plan.tasks[t], "model.solver");
        let cells = |t: usize| plan.value(&plan.tasks[t], "meanfield.cells");
        let (mut particles, mut long, mut short) = (Vec::new(), None, None);
        for t in 0..plan.tasks.len() {
            match (solver(t), cells(t)) {
                (Some(Typed::Text(s)), Some(Typed::Int(4096))) if s == "meanfield" => {
                    long = Some(t)
                }
                (Some(Typed::Text(s)), Some(Typed::Int(256))) if s == "meanfield" => {
                    short = Some(t)
                }
                _ => particles.push(t),
            }
        }
        let (long, short) = (long.unwrap(), short.unwrap());
        for &t in &particles {
            assert!(meanfield_cost(&plan, &plan.tasks[t]).is_none());
            assert!(estimator.cost(long) > estimator.cost(t));
            assert!(estimator.cost(short) < estimator.cost(t));
        }
        assert!(estimator.cost(short) > 0.0);
    }
}
