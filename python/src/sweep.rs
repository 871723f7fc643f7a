//! `Sweep`: a sweep file planned against a store; its tasks and their states, a run of it by the
//! executor's runner (GIL released, Ctrl-C stops it keeping committed work) and its tables.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use sphereflow_analyze::tables::parquet_bytes;
use sphereflow_analyze::{analyze, write_tables, AnalyzeError, AnalyzeOptions};
use sphereflow_exec::{label, run, task_states, Event, Report, RunOptions, Store, TaskState};
use sphereflow_plan::{Plan, PlanError, PlanOptions, Typed};

use crate::convert::{exec_error, plan_error, runtime_error, to_py};
use crate::run::{load_task, Run};

/// The store commands use unless told otherwise (the command line's `--store` default).
pub const DEFAULT_STORE: &str = "results/store";

/// One task of a sweep: its id, its axis values and its state in the store.
#[pyclass(frozen, module = "sphereflow")]
pub struct Task {
    /// The task id (hex).
    #[pyo3(get)]
    id: String,
    /// The axis values, `beta=10 activation=relu`.
    #[pyo3(get)]
    label: String,
    coordinates: Vec<(&'static str, Typed)>,
    /// `cached`, `stale`, `corrupt`, `failed`, `running` or `pending`.
    #[pyo3(get)]
    state: String,
    /// Why it failed or is corrupt, who holds it, which revision computed a stale result.
    #[pyo3(get)]
    detail: Option<String>,
    store: PathBuf,
}

fn typed_to_py<'py>(py: Python<'py>, value: &Typed) -> PyResult<Bound<'py, PyAny>> {
    use pyo3::IntoPyObjectExt;
    match value {
        Typed::Int(i) => i.into_bound_py_any(py),
        Typed::Float(x) => x.into_bound_py_any(py),
        Typed::Bool(b) => b.into_bound_py_any(py),
        Typed::Text(s) => s.into_bound_py_any(py),
    }
}

#[pymethods]
impl Task {
    /// The task's value on each axis, keyed by parameter path (`{"model.beta": 10.0}`).
    #[getter]
    fn coordinates<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (path, value) in &self.coordinates {
            dict.set_item(path, typed_to_py(py, value)?)?;
        }
        Ok(dict)
    }

    /// The task's result from the store (it must be cached).
    fn load(&self, py: Python<'_>) -> PyResult<Run> {
        load_task(py, self.store.clone(), &self.id)
    }

    fn __repr__(&self) -> String {
        format!("Task({} {} {})", &self.id[..12], self.label, self.state)
    }
}

/// A sweep file: its tasks (`plan`), a run of them against a store (`run`) and their tables
/// (`tables`), as `sphereflow plan`, `run`, `status` and `analyze` do.
#[pyclass(frozen, module = "sphereflow")]
pub struct Sweep {
    plan: Plan,
    path: PathBuf,
    profile: Option<String>,
    store: PathBuf,
}

fn load_plan(path: &Path, profile: Option<&str>) -> PyResult<Plan> {
    let mut sweep = sphereflow_plan::Sweep::read(path).map_err(plan_error)?;
    if let Some(name) = profile {
        sweep = sweep.with_profile(name).map_err(plan_error)?;
    }
    let options = PlanOptions {
        allow_large: true,
        ..PlanOptions::default()
    };
    Plan::new(sweep, &options).map_err(|error| match error {
        PlanError::TooLarge { .. } => PyValueError::new_err(error.to_string()),
        other => plan_error(other),
    })
}

fn analyze_error(error: AnalyzeError) -> PyErr {
    match error {
        AnalyzeError::Store(e) => exec_error(e),
        AnalyzeError::Resolve { task, source } => PyValueError::new_err(format!(
            "task {task}: {}",
            sphereflow_exec::error::chain(&source)
        )),
        AnalyzeError::Io { .. } => {
            pyo3::exceptions::PyOSError::new_err(sphereflow_exec::error::chain(&error))
        }
        other => runtime_error(&other),
    }
}

/// Draws a run's progress as plain lines on Python's `sys.stderr` (so notebooks show them): one
/// when the plan is known, then one at most every two seconds as tasks finish, and the last.
struct Lines {
    queued: usize,
    cached: usize,
    done: usize,
    failed: usize,
    running: usize,
    started: Instant,
    last: Option<Instant>,
}

impl Lines {
    fn new() -> Lines {
        Lines {
            queued: 0,
            cached: 0,
            done: 0,
            failed: 0,
            running: 0,
            started: Instant::now(),
            last: None,
        }
    }

    /// The line to print for an event, if any.
    fn line(&mut self, event: &Event) -> Option<String> {
        match event {
            Event::Planned {
                sweep,
                tasks,
                cached,
                queued,
                ..
            } => {
                self.queued = *queued;
                self.cached = *cached;
                return Some(format!(
                    "sweep {sweep}: {tasks} tasks, {cached} cached, {queued} to compute\n"
                ));
            }
            Event::Started { .. } => self.running += 1,
            Event::Finished { .. } => {
                self.running = self.running.saturating_sub(1);
                self.done += 1;
            }
            Event::Failed { id, reason, .. } => {
                self.running = self.running.saturating_sub(1);
                self.failed += 1;
                return Some(format!("failed {}: {reason}\n", &id[..12.min(id.len())]));
            }
            Event::Interrupted { .. } => {
                return Some(
                    "interrupted: committed results are kept and running tasks checkpointed\n"
                        .into(),
                )
            }
            _ => return None,
        }
        let finished = self.done + self.failed;
        let due = self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(2));
        if matches!(event, Event::Finished { .. }) && (due || finished == self.queued) {
            self.last = Some(Instant::now());
            let s = self.started.elapsed().as_secs();
            return Some(format!(
                "[{:02}:{:02}:{:02}] {finished}/{}: {} done · {} cached · {} running · {} failed\n",
                s / 3600,
                s / 60 % 60,
                s % 60,
                self.queued,
                self.done,
                self.cached,
                self.running,
                self.failed
            ));
        }
        None
    }
}

/// What `progress` asked for.
enum Progress<'py> {
    Quiet,
    Lines(Lines, Bound<'py, PyAny>),
    Call(Bound<'py, PyAny>),
}

impl Progress<'_> {
    fn handle(&mut self, py: Python<'_>, event: &Event) -> PyResult<()> {
        match self {
            Progress::Quiet => Ok(()),
            Progress::Lines(lines, stderr) => {
                if let Some(line) = lines.line(event) {
                    stderr.call_method1("write", (line,))?;
                    stderr.call_method0("flush")?;
                }
                Ok(())
            }
            Progress::Call(callback) => {
                callback.call1((to_py(py, event)?,))?;
                Ok(())
            }
        }
    }
}

fn report_dict<'py>(py: Python<'py>, report: &Report) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("tasks", report.tasks)?;
    dict.set_item("cached", report.cached)?;
    dict.set_item("committed", report.committed)?;
    dict.set_item("done_elsewhere", report.done_elsewhere)?;
    dict.set_item("failed", report.failed.clone())?;
    dict.set_item("failed_before", report.failed_before.clone())?;
    dict.set_item("interrupted", report.interrupted)?;
    dict.set_item("failure_budget_spent", report.failure_budget_spent)?;
    dict.set_item("remaining", report.remaining)?;
    Ok(dict)
}

#[pymethods]
impl Sweep {
    /// Reads, expands and validates a sweep file (with a profile's overrides if one is named),
    /// as `sphereflow plan` does; `store` is where `run` commits and `plan` and `tables` look
    /// (default `results/store`, relative to the working directory like the command line's).
    ///
    /// Raises `ValueError` naming the file, line, column and key of a mistake, and
    /// `FileNotFoundError` for a missing file.
    #[new]
    #[pyo3(signature = (path, *, profile=None, store=None))]
    fn new(path: PathBuf, profile: Option<String>, store: Option<PathBuf>) -> PyResult<Sweep> {
        let plan = load_plan(&path, profile.as_deref())?;
        Ok(Sweep {
            plan,
            path,
            profile,
            store: store.unwrap_or_else(|| PathBuf::from(DEFAULT_STORE)),
        })
    }

    /// The sweep's name.
    #[getter]
    fn name(&self) -> String {
        self.plan.sweep.name.clone()
    }

    /// The sweep file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The profile applied, if any.
    #[getter]
    fn profile(&self) -> Option<String> {
        self.profile.clone()
    }

    /// The store.
    #[getter]
    fn store(&self) -> PathBuf {
        self.store.clone()
    }

    /// Warnings of the planner (filters that remove nothing, ...).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.plan.warnings.clone()
    }

    fn __len__(&self) -> usize {
        self.plan.tasks.len()
    }

    /// The tasks, in plan order, each with its id, axis values (`coordinates`) and state in the
    /// store (`store` overrides the sweep's).
    #[pyo3(signature = (*, store=None))]
    fn plan(&self, py: Python<'_>, store: Option<PathBuf>) -> PyResult<Vec<Task>> {
        let root = store.unwrap_or_else(|| self.store.clone());
        let opened = Store::open_existing(&root).map_err(exec_error)?;
        let states = py.detach(|| task_states(&self.plan, opened.as_ref()));
        Ok(self
            .plan
            .tasks
            .iter()
            .zip(states)
            .map(|(task, state)| Task {
                id: task.id.to_hex(),
                label: label(&self.plan, task),
                coordinates: self.plan.coordinates(task),
                state: state.name().to_string(),
                detail: state.detail(),
                store: root.clone(),
            })
            .collect())
    }

    /// How many tasks are in each state: `cached`, `stale`, `corrupt`, `failed`, `running`,
    /// `pending` (as `sphereflow status`).
    #[pyo3(signature = (*, store=None))]
    fn status<'py>(&self, py: Python<'py>, store: Option<PathBuf>) -> PyResult<Bound<'py, PyDict>> {
        let root = store.unwrap_or_else(|| self.store.clone());
        let opened = Store::open_existing(&root).map_err(exec_error)?;
        let states: Vec<TaskState> = py.detach(|| task_states(&self.plan, opened.as_ref()));
        let dict = PyDict::new(py);
        for (name, count) in sphereflow_exec::counts(&states) {
            dict.set_item(name, count)?;
        }
        Ok(dict)
    }

    /// Computes what the store lacks, as `sphereflow run`: `jobs` tasks at once (default: the
    /// cores), longest first, each checkpointed every `checkpoint_every` seconds and committed
    /// atomically; cached tasks are not run again. The runner works with the GIL released.
    ///
    /// `progress`: `True` prints plain progress lines on `sys.stderr`, `False` nothing, and a
    /// callable is called with every event (a dict with an `event` key: `planned`, `started`,
    /// `progress`, `finished`, `failed`, ...). Ctrl-C (`KeyboardInterrupt`) stops the run:
    /// running tasks checkpoint and release their leases, committed results stay, and the
    /// `KeyboardInterrupt` is raised once they have; the next run resumes. Returns the report:
    /// `tasks`, `cached`, `committed`, `done_elsewhere`, `failed` and `failed_before` (lists of
    /// `(id, reason)`), `interrupted`, `failure_budget_spent`, `remaining`.
    #[pyo3(signature = (jobs=None, progress=None, *, store=None, retry_failed=false,
        max_failures=None, checkpoint_every=None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        jobs: Option<usize>,
        progress: Option<Bound<'py, PyAny>>,
        store: Option<PathBuf>,
        retry_failed: bool,
        max_failures: Option<usize>,
        checkpoint_every: Option<f64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut options = RunOptions::default();
        if let Some(jobs) = jobs {
            if jobs == 0 {
                return Err(PyValueError::new_err("jobs: must be at least 1"));
            }
            options.jobs = jobs;
        }
        if let Some(seconds) = checkpoint_every {
            (options.checkpoint_every, options.lease_ttl) =
                sphereflow_exec::lease::timings(seconds, options.lease_ttl.as_secs_f64())
                    .map_err(exec_error)?;
        }
        options.retry_failed = retry_failed;
        options.max_failures = max_failures;
        let mut progress = match progress {
            None => Progress::Lines(Lines::new(), py.import("sys")?.getattr("stderr")?),
            Some(p) if p.is_callable() => Progress::Call(p),
            Some(p) if p.is_truthy()? => {
                Progress::Lines(Lines::new(), py.import("sys")?.getattr("stderr")?)
            }
            Some(_) => Progress::Quiet,
        };
        let root = store.unwrap_or_else(|| self.store.clone());
        let opened = Store::open(&root).map_err(exec_error)?;
        let interrupt = AtomicBool::new(false);
        let (sender, mut receiver) = mpsc::channel::<Event>();
        let plan = &self.plan;
        let mut raised: Option<PyErr> = None;
        let report = std::thread::scope(|scope| {
            let (store, options, interrupt) = (&opened, &options, &interrupt);
            let runner = scope.spawn(move || {
                let sink = move |event: &Event| {
                    let _ = sender.send(event.clone());
                };
                run(plan, store, options, &sink, interrupt)
            });
            loop {
                // Wait for events without the GIL; then, holding it, draw them and let Python
                // run its signal handlers (Ctrl-C raises KeyboardInterrupt here).
                let (back, events, open) = py.detach(move || {
                    let mut events = Vec::new();
                    let mut open = true;
                    match receiver.recv_timeout(Duration::from_millis(100)) {
                        Ok(event) => events.push(event),
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
                    }
                    while let Ok(event) = receiver.try_recv() {
                        events.push(event);
                    }
                    (receiver, events, open)
                });
                receiver = back;
                for event in &events {
                    if let Err(error) = progress.handle(py, event) {
                        // Ctrl-C may land inside the callback: the run stops, the callback
                        // still sees its last events. Any other error silences it.
                        if !error.is_instance_of::<PyKeyboardInterrupt>(py) {
                            progress = Progress::Quiet;
                        }
                        interrupt.store(true, Ordering::SeqCst);
                        raised.get_or_insert(error);
                    }
                }
                if let Err(error) = py.check_signals() {
                    interrupt.store(true, Ordering::SeqCst);
                    raised.get_or_insert(error);
                }
                if !open {
                    break;
                }
            }
            runner.join()
        });
        let report = match report {
            Ok(result) => result.map_err(exec_error)?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        if let Some(error) = raised {
            return Err(error);
        }
        report_dict(py, &report)
    }

    /// The sweep's tables (docs/tables.md: `tasks`, `clusters`, `series`, `fits`, `bounds`), as
    /// `sphereflow analyze` builds them: a dict of pyarrow tables, or of polars data frames when
    /// polars is installed (`kind="auto"`; `"pyarrow"` or `"polars"` to choose). With `out`, the
    /// Parquet files are also written there. Pending and failed tasks are rows of `tasks` with
    /// their status.
    #[pyo3(signature = (out=None, *, store=None, kind="auto", beta_min=None,
        theorem_beta_min=None, replicates=None))]
    fn tables<'py>(
        &self,
        py: Python<'py>,
        out: Option<PathBuf>,
        store: Option<PathBuf>,
        kind: &str,
        beta_min: Option<f64>,
        theorem_beta_min: Option<f64>,
        replicates: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let polars = match kind {
            "pyarrow" => false,
            "polars" => true,
            "auto" => py.import("polars").is_ok(),
            other => {
                return Err(PyValueError::new_err(format!(
                    "kind: expected auto, pyarrow or polars, got {other:?}"
                )))
            }
        };
        let defaults = AnalyzeOptions::default();
        let options = AnalyzeOptions {
            fit_beta_min: beta_min.unwrap_or(defaults.fit_beta_min),
            theorem_beta_min: theorem_beta_min.unwrap_or(defaults.theorem_beta_min),
            replicates: replicates.unwrap_or(defaults.replicates).max(1),
            ..defaults
        };
        for (name, value) in [
            ("beta_min", options.fit_beta_min),
            ("theorem_beta_min", options.theorem_beta_min),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(PyValueError::new_err(format!(
                    "{name}: must be a positive number"
                )));
            }
        }
        let root = store.unwrap_or_else(|| self.store.clone());
        let opened = Store::open_existing(&root).map_err(exec_error)?;
        let plan = &self.plan;
        let encoded = py.detach(|| -> Result<Vec<(&'static str, Vec<u8>)>, AnalyzeError> {
            let analysis = analyze(plan, opened.as_ref(), &options)?;
            if let Some(out) = &out {
                write_tables(&analysis, out)?;
            }
            let mut encoded = Vec::new();
            for (name, table) in [
                ("tasks", &analysis.tasks),
                ("clusters", &analysis.clusters),
                ("series", &analysis.series),
                ("fits", &analysis.fits),
                ("bounds", &analysis.bounds),
            ] {
                let bytes = parquet_bytes(table, Path::new(&format!("{name}.parquet")))?;
                encoded.push((name, bytes));
            }
            Ok(encoded)
        });
        let encoded = encoded.map_err(analyze_error)?;
        let reader = if polars {
            py.import("polars")?.getattr("read_parquet")?
        } else {
            py.import("pyarrow.parquet")?.getattr("read_table")?
        };
        let buffer = if polars {
            py.import("io")?.getattr("BytesIO")?
        } else {
            py.import("pyarrow")?.getattr("BufferReader")?
        };
        let tables = PyDict::new(py);
        for (name, bytes) in encoded {
            let source = buffer.call1((PyBytes::new(py, &bytes),))?;
            tables.set_item(name, reader.call1((source,))?)?;
        }
        Ok(tables)
    }

    fn __repr__(&self) -> String {
        format!(
            "Sweep({:?}: {} tasks{}, store {})",
            self.plan.sweep.name,
            self.plan.tasks.len(),
            self.profile
                .as_ref()
                .map_or_else(String::new, |p| format!(", profile {p}")),
            self.store.display()
        )
    }
}
