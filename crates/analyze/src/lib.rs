//! The sphereflow analyzer: a sweep's results as Parquet tables (docs/tables.md), scaling-law
//! fits with bootstrap intervals over seeds, and the checks of MODEL.md §7.
//!
//! It reads the store through `sphereflow-exec` and knows nothing about drawing. Analysis of a
//! partial sweep works: pending and failed tasks are rows of `tasks` with their status, and
//! running `analyze` again after more tasks finish picks them up.
//!
//! Long file: `analyze` builds the five tables and the fits in one pass over the tasks, each
//! task's stored result loaded once; split, the pass would be repeated per table.

pub mod error;
pub mod fits;
pub mod tables;
pub mod theory;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use sphereflow_exec::{task_result, Store, StoredResult, TaskState};
use sphereflow_plan::{Kind, Plan, Task, TaskId, Typed, SCHEMA};
use sphereflow_solver::{Problem, Regime};

pub use error::AnalyzeError;
pub use fits::{fit, Fit, Law};
pub use tables::{write_parquet, Column, Table};

/// How to analyze.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Fits use the tasks with β at least this.
    pub fit_beta_min: f64,
    /// The anti-concentration theorem is checked from this β on, never below the theorem's
    /// own 19 (and only where B(β, C_eff) < 1).
    pub theorem_beta_min: f64,
    /// Bootstrap resamplings per fit.
    pub replicates: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            fit_beta_min: 1.0,
            theorem_beta_min: theory::THEOREM_BETA_MIN,
            replicates: 1000,
            seed: 2026,
        }
    }
}

/// The quantities fitted against β.
pub const FITTED: &[&str] = &[
    "n_clusters",
    "n_active_clusters",
    "n_heavy",
    "max_cluster_mass",
];

impl GroupFit {
    /// Whether the group sets parameter `path` to `value` (`perceptron.activation`, `relu`).
    pub fn has(&self, path: &str, value: &Typed) -> bool {
        self.values.iter().any(|(p, v)| *p == path && v == value)
    }
}

/// A fit of one quantity in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFit {
    /// The group's label (`activation=relu`, or `all`).
    pub group: String,
    /// The parameters that define the group (the axes other than β and the seeds), typed.
    pub values: Vec<(&'static str, Typed)>,
    /// The quantity.
    pub quantity: &'static str,
    /// The fitted law.
    pub fit: Fit,
}

/// The theorem checks of one finished task: a row of `bounds.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundRow {
    /// The task id, hex.
    pub task_id: String,
    /// β.
    pub beta: f64,
    /// The largest mass in an arc of the theorem's length: of a set of at least two of the
    /// certified atoms when the task has a certificate on S^1
    /// ([`theory::pair_window_mass`]), else of the end state's particles.
    pub window_mass: f64,
    /// The heaviest certified atom (certified S^1 tasks), else the largest cluster mass.
    pub max_cluster_mass: f64,
    /// The perceptron constant in the theorem's convention (`e^β C` for the shifted kernel).
    pub c_eff: f64,
    /// B(β) with `c_eff`.
    pub bound: f64,
    /// Why the theorem does not apply to the task; `None` when every hypothesis holds.
    pub not_applicable: Option<&'static str>,
    /// Whether the window mass is at most B(β).
    pub holds: bool,
    /// B(β) minus the window mass.
    pub margin: f64,
    /// Heavy atoms at the end: certified atoms of mass at least `measure.heavy_mass` (certified
    /// S^1 tasks), else clusters.
    pub n_heavy: usize,
    /// The corollary's bound on heavy atoms.
    pub corollary_bound: f64,
    /// Whether the heavy atoms are at most the corollary's bound.
    pub corollary_holds: bool,
    /// Clusters at the end.
    pub n_clusters: usize,
    /// k*(β), for null runs on S^1.
    pub k_star: Option<usize>,
    /// For null runs on S^1: the cluster count on the first plateau of the count
    /// ([`theory::first_plateau`]), `None` if the run ended before clusters formed.
    pub first_plateau: Option<usize>,
    /// The kernel's concavity angle θ_c(β).
    pub theta_c: f64,
}

impl BoundRow {
    /// Whether every hypothesis of the theorem holds for the task.
    pub fn applicable(&self) -> bool {
        self.not_applicable.is_none()
    }
}

/// Everything `analyze` produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// One row per task.
    pub tasks: Table,
    /// One row per final cluster of each finished task.
    pub clusters: Table,
    /// One row per check of each finished task.
    pub series: Table,
    /// One row per group, quantity and law.
    pub fits: Table,
    /// One row per finished task: the theorem checks (the table of `bound_rows`).
    pub bounds: Table,
    /// The theorem checks of each finished task, typed.
    pub bound_rows: Vec<BoundRow>,
    /// The fits, for the summary.
    pub group_fits: Vec<GroupFit>,
    /// Power-law fits of the cluster and heavy-atom counts of each perceptron draw (a group
    /// further split by `perceptron.seed`), when the sweep has several draws: the sqrt β law is
    /// judged draw by draw as well as pooled.
    pub draw_fits: Vec<GroupFit>,
    /// Tasks by status.
    pub counts: BTreeMap<&'static str, usize>,
    /// Finished tasks where the theorem applies.
    pub applicable: usize,
    /// Of those, where the window mass exceeds B(β).
    pub violations: usize,
    /// Ascent null runs on S^1 whose cluster count has a first plateau (the runs compared with
    /// k*(β)), and those whose first-plateau count is within ±1 of k*(β).
    pub null_runs: (usize, usize),
    /// Finished descent runs of pure attention: spread states, given no cluster fits.
    pub spread_runs: usize,
    /// Finished runs (other than those) stopped at the step or time cap: not converged, not
    /// fitted.
    pub capped_runs: usize,
}

/// The column a parameter gets: its key, except the two seeds and the mean-field step cap
/// (`stop.max_steps` has `max_steps`).
pub fn column_name(path: &str) -> String {
    match path {
        "init.seed" => "init_seed".into(),
        "perceptron.seed" => "perceptron_seed".into(),
        "meanfield.max_steps" => "meanfield_max_steps".into(),
        other => other.split('.').nth(1).unwrap_or(other).into(),
    }
}

fn parameter_column(kind: Kind) -> Column {
    match kind {
        Kind::Int { .. } => Column::Int(Vec::new()),
        Kind::Float { .. } => Column::Float(Vec::new()),
        Kind::Bool => Column::Bool(Vec::new()),
        Kind::Enum(_) => Column::Dict(Vec::new()),
        Kind::File => Column::Text(Vec::new()),
    }
}

fn push_typed(column: &mut Column, value: Option<Typed>) {
    match (column, value) {
        (Column::Int(v), Some(Typed::Int(i))) => v.push(Some(i)),
        (Column::Float(v), Some(Typed::Float(x))) => v.push(Some(x)),
        (Column::Bool(v), Some(Typed::Bool(b))) => v.push(Some(b)),
        (Column::Text(v) | Column::Dict(v), Some(Typed::Text(s))) => v.push(Some(s)),
        (Column::Int(v), _) => v.push(None),
        (Column::Float(v), _) => v.push(None),
        (Column::Bool(v), _) => v.push(None),
        (Column::Text(v) | Column::Dict(v), _) => v.push(None),
        (Column::FloatList(v), _) => v.push(None),
        (Column::Timestamp(v), _) => v.push(None),
    }
}

/// The values a task runs with for the parameters whose default follows other parameters: the
/// perceptron's width (`model.dim`, or the rows of a weights file), the retraction (`exp` on
/// S^1, `normalize` above) and the particle count (the rows of a positions file). The tasks
/// table records these rather than a null or a default the task did not run with.
fn derived_values(plan: &Plan, task: &Task) -> BTreeMap<&'static str, Typed> {
    let Ok(resolved) = plan.resolve(task) else {
        return BTreeMap::new();
    };
    let params = &resolved.params;
    BTreeMap::from([
        ("model.particles", Typed::Int(params.model.particles as i64)),
        (
            "perceptron.width",
            Typed::Int(params.perceptron.width as i64),
        ),
        (
            "integrator.retraction",
            Typed::Text(params.integrator.retraction.as_str().into()),
        ),
    ])
}

/// Builds a table column by column from rows of values.
struct Builder {
    table: Table,
}

impl Builder {
    fn new(columns: Vec<(&str, Column)>) -> Builder {
        Builder {
            table: Table {
                columns: columns
                    .into_iter()
                    .map(|(n, c)| (n.to_string(), c))
                    .collect(),
            },
        }
    }

    fn column(&mut self, name: &str) -> &mut Column {
        &mut self
            .table
            .columns
            .iter_mut()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .1
    }

    fn int(&mut self, name: &str, value: Option<i64>) {
        match self.column(name) {
            Column::Int(v) => v.push(value),
            _ => panic!("{name} is not int64"),
        }
    }

    fn float(&mut self, name: &str, value: Option<f64>) {
        match self.column(name) {
            Column::Float(v) => v.push(value),
            _ => panic!("{name} is not float64"),
        }
    }

    fn text(&mut self, name: &str, value: Option<String>) {
        match self.column(name) {
            Column::Text(v) | Column::Dict(v) => v.push(value),
            _ => panic!("{name} is not a string"),
        }
    }

    fn bool(&mut self, name: &str, value: Option<bool>) {
        match self.column(name) {
            Column::Bool(v) => v.push(value),
            _ => panic!("{name} is not bool"),
        }
    }

    /// An RFC 3339 time as a timestamp (null when it does not parse).
    fn timestamp(&mut self, name: &str, value: Option<&str>) {
        match self.column(name) {
            Column::Timestamp(v) => v.push(value.and_then(tables::rfc3339_micros)),
            _ => panic!("{name} is not a timestamp"),
        }
    }

    fn floats(&mut self, name: &str, value: Option<Vec<f64>>) {
        match self.column(name) {
            Column::FloatList(v) => v.push(value),
            _ => panic!("{name} is not a list"),
        }
    }
}

fn int() -> Column {
    Column::Int(Vec::new())
}
fn float() -> Column {
    Column::Float(Vec::new())
}
fn text() -> Column {
    Column::Text(Vec::new())
}
fn dict() -> Column {
    Column::Dict(Vec::new())
}
fn boolean() -> Column {
    Column::Bool(Vec::new())
}

/// Result columns of `tasks`, after the parameters.
fn task_result_columns() -> Vec<(&'static str, Column)> {
    vec![
        ("status", dict()),
        ("error", text()),
        ("steps", int()),
        ("t_final", float()),
        ("stop_reason", dict()),
        ("n_clusters", int()),
        ("n_active_clusters", int()),
        ("n_heavy", int()),
        ("max_cluster_mass", float()),
        ("max_window_mass", float()),
        ("max_spread", float()),
        ("energy_initial", float()),
        ("energy_final", float()),
        ("max_drift", float()),
        ("n_atoms", int()),
        ("classification", dict()),
        ("residual", float()),
        ("lambda_min", float()),
        ("zero_modes", int()),
        ("certified_atoms", int()),
        ("escapes", int()),
        ("perceptron_unresolved", boolean()),
        ("coarsened", float()),
        ("distance_given", float()),
        ("runtime_s", float()),
        ("solver_rev", int()),
        ("sphereflow_version", dict()),
        ("git_commit", dict()),
        ("host", dict()),
        ("threads", int()),
        ("started", Column::Timestamp(Vec::new())),
        ("finished", Column::Timestamp(Vec::new())),
    ]
}

/// The parameters that vary across a sweep, other than β and the seeds: they define a group.
fn group_paths(plan: &Plan) -> Vec<&'static str> {
    plan.sweep
        .axes
        .iter()
        .flat_map(|axis| axis.paths.iter().copied())
        .filter(|p| !matches!(*p, "model.beta" | "init.seed" | "perceptron.seed"))
        .collect()
}

fn group_label(plan: &Plan, task: &Task, paths: &[&'static str]) -> String {
    if paths.is_empty() {
        return "all".into();
    }
    paths
        .iter()
        .map(|p| {
            let value = plan.value(task, p).map_or("-".into(), |v| v.to_string());
            format!("{}={value}", column_name(p))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A perceptron draw's series: (group label, perceptron seed, quantity).
type DrawKey = (String, u64, &'static str);

/// Analyzes a sweep against a store (`None`: no store yet, every task pending).
///
/// # Errors
/// A committed object that cannot be read back.
pub fn analyze(
    plan: &Plan,
    store: Option<&Store>,
    options: &AnalyzeOptions,
) -> Result<Analysis, AnalyzeError> {
    analyze_from(plan, options, |task| match store {
        Some(store) => {
            let (state, result) = task_result(store, &task.id)?;
            Ok((state, result.map(Cow::Owned)))
        }
        None => Ok((TaskState::Pending, None)),
    })
}

/// Analyzes a sweep whose committed results are already read (`loaded`, by task id: for
/// instance the runs a report draws), as [`analyze`] would read them from `store`; the state
/// of every other task is read from `store`.
///
/// # Errors
/// A committed object that cannot be read back.
pub fn analyze_loaded(
    plan: &Plan,
    store: &Store,
    loaded: &HashMap<TaskId, &StoredResult>,
    options: &AnalyzeOptions,
) -> Result<Analysis, AnalyzeError> {
    analyze_from(plan, options, |task| match loaded.get(&task.id) {
        Some(result) => Ok((TaskState::Cached, Some(Cow::Borrowed(*result)))),
        None => {
            let (state, result) = task_result(store, &task.id)?;
            Ok((state, result.map(Cow::Owned)))
        }
    })
}

/// The analysis, with each task's state and committed result from `fetch`.
fn analyze_from<'a>(
    plan: &Plan,
    options: &AnalyzeOptions,
    mut fetch: impl FnMut(&Task) -> Result<(TaskState, Option<Cow<'a, StoredResult>>), AnalyzeError>,
) -> Result<Analysis, AnalyzeError> {
    let mut task_columns: Vec<(String, Column)> = vec![("task_id".into(), text())];
    for spec in SCHEMA {
        task_columns.push((column_name(spec.path), parameter_column(spec.kind)));
    }
    let mut tasks = Builder {
        table: Table {
            columns: task_columns,
        },
    };
    for (name, column) in task_result_columns() {
        tasks.table.columns.push((name.into(), column));
    }
    let mut clusters = Builder::new(vec![
        ("task_id", text()),
        ("cluster", int()),
        ("mass", float()),
        ("centre", Column::FloatList(Vec::new())),
        ("angle", float()),
        ("spread", float()),
        ("size", int()),
        ("active", boolean()),
    ]);
    let mut series = Builder::new(vec![
        ("task_id", text()),
        ("step", int()),
        ("t", float()),
        ("energy", float()),
        ("n_clusters", int()),
        ("max_drift", float()),
    ]);
    let bounds_columns = vec![
        ("task_id", text()),
        ("beta", float()),
        ("window_mass", float()),
        ("max_cluster_mass", float()),
        ("c_eff", float()),
        ("bound", float()),
        ("bound_limit", float()),
        ("applicable", boolean()),
        ("reason", text()),
        ("holds", boolean()),
        ("margin", float()),
        ("n_heavy", int()),
        ("corollary_bound", float()),
        ("corollary_holds", boolean()),
        ("n_clusters", int()),
        ("k_star", int()),
        ("first_plateau", int()),
        ("theta_c", float()),
    ];
    let mut counts: BTreeMap<&'static str, usize> = [("ok", 0), ("failed", 0), ("pending", 0)]
        .into_iter()
        .collect();
    let mut applicable_count = 0;
    let mut violations = 0;
    let mut null_runs = (0, 0);
    let mut spread_runs = 0usize;
    let mut capped_runs = 0usize;
    let mut bound_rows = Vec::new();
    let groups = group_paths(plan);
    let draws_vary = plan
        .sweep
        .axes
        .iter()
        .any(|axis| axis.paths.contains(&"perceptron.seed"));
    let mut draw_points: BTreeMap<DrawKey, Vec<(f64, f64)>> = BTreeMap::new();
    // (group label, quantity) -> points (β, value)
    let mut points: BTreeMap<(String, &'static str), Vec<(f64, f64)>> = BTreeMap::new();

    for task in &plan.tasks {
        let id = task.id.to_hex();
        tasks.text("task_id", Some(id.clone()));
        let derived = derived_values(plan, task);
        for spec in SCHEMA {
            let value = match derived.get(spec.path) {
                Some(value) => Some(value.clone()),
                None => plan.value(task, spec.path),
            };
            push_typed(tasks.column(&column_name(spec.path)), value);
        }
        let (state, stored) = fetch(task)?;
        let (status, error) = match &state {
            TaskState::Cached => ("ok", None),
            TaskState::Failed { reason } => ("failed", Some(reason.clone())),
            _ => ("pending", None),
        };
        *counts.entry(status).or_default() += 1;
        tasks.text("status", Some(status.into()));
        tasks.text("error", error);
        // The task's problem, for the theorem checks and where the perceptron acts (cheap: no
        // steps).
        let problem = match &stored {
            Some(_) => {
                let resolved = plan.resolve(task).map_err(|source| AnalyzeError::Resolve {
                    task: id.clone(),
                    source,
                })?;
                let problem = Problem::new(resolved.params, resolved.initial, resolved.perceptron)
                    .map_err(|source| AnalyzeError::Problem {
                        task: id.clone(),
                        source,
                    })?;
                Some(problem)
            }
            None => None,
        };
        // Each final cluster: whether the perceptron acts at its centre. Where it does not
        // (ReLU, every neuron off), only attention moves particles: in descent they repel
        // and spread, as in a null run.
        let active: Option<Vec<bool>> = stored.as_ref().zip(problem.as_ref()).map(|(r, p)| {
            r.summary
                .clusters
                .iter()
                .map(|c| p.dynamics.perceptron.acts_at(&c.centre))
                .collect()
        });
        let summary = stored.as_ref().map(|r| &r.summary.summary);
        let provenance = stored.as_ref().map(|r| &r.summary.provenance);
        tasks.int("steps", summary.map(|s| s.steps as i64));
        tasks.float("t_final", summary.map(|s| s.t_final));
        tasks.text(
            "stop_reason",
            summary.map(|s| s.stop_reason.as_str().into()),
        );
        tasks.int("n_clusters", summary.map(|s| s.n_clusters as i64));
        let n_active = active.as_ref().map(|a| a.iter().filter(|on| **on).count());
        tasks.int("n_active_clusters", n_active.map(|n| n as i64));
        tasks.int("n_heavy", summary.map(|s| s.n_heavy as i64));
        tasks.float("max_cluster_mass", summary.map(|s| s.max_cluster_mass));
        tasks.float("max_window_mass", summary.map(|s| s.max_window_mass));
        tasks.float("max_spread", summary.map(|s| s.max_spread));
        tasks.float("energy_initial", summary.map(|s| s.energy_initial));
        tasks.float("energy_final", summary.map(|s| s.energy_final));
        tasks.float("max_drift", summary.map(|s| s.max_drift));
        tasks.int("n_atoms", summary.map(|s| s.n_atoms as i64));
        let certificate = stored.as_ref().and_then(|r| r.summary.certificate.as_ref());
        tasks.text(
            "classification",
            certificate.map(|c| c.classification.as_str().into()),
        );
        tasks.float("residual", certificate.map(|c| c.residual));
        tasks.float("lambda_min", certificate.and_then(|c| c.lambda_min));
        tasks.int("zero_modes", certificate.map(|c| c.zero_modes as i64));
        tasks.int("certified_atoms", certificate.map(|c| c.atoms.len() as i64));
        tasks.int("escapes", certificate.map(|c| c.escapes.len() as i64));
        tasks.bool(
            "perceptron_unresolved",
            certificate.map(|c| c.perceptron_unresolved),
        );
        tasks.float("coarsened", certificate.and_then(|c| c.coarsened));
        tasks.float("distance_given", certificate.and_then(|c| c.distance_given));
        tasks.float("runtime_s", stored.as_ref().map(|r| r.summary.runtime_s));
        tasks.int(
            "solver_rev",
            stored.as_ref().map(|r| i64::from(r.summary.solver_rev)),
        );
        tasks.text(
            "sphereflow_version",
            provenance.map(|p| p.sphereflow_version.clone()),
        );
        tasks.text("git_commit", provenance.and_then(|p| p.git_commit.clone()));
        tasks.text("host", provenance.map(|p| p.host.clone()));
        tasks.int("threads", provenance.map(|p| p.threads as i64));
        tasks.timestamp("started", provenance.map(|p| p.started.as_str()));
        tasks.timestamp("finished", provenance.map(|p| p.finished.as_str()));

        let (Some(result), Some(problem), Some(active), Some(n_active)) =
            (stored, problem, active, n_active)
        else {
            continue;
        };
        let summary = &result.summary.summary;
        for (index, cluster) in result.summary.clusters.iter().enumerate() {
            clusters.text("task_id", Some(id.clone()));
            clusters.int("cluster", Some(index as i64));
            clusters.float("mass", Some(cluster.mass));
            clusters.floats("centre", Some(cluster.centre.clone()));
            let angle =
                (cluster.centre.len() == 2).then(|| cluster.centre[1].atan2(cluster.centre[0]));
            clusters.float("angle", angle);
            clusters.float("spread", Some(cluster.spread));
            clusters.int("size", Some(cluster.size as i64));
            clusters.bool("active", Some(active[index]));
        }
        for row in &result.series {
            series.text("task_id", Some(id.clone()));
            series.int("step", Some(row.step as i64));
            series.float("t", Some(row.t));
            series.float("energy", Some(row.energy));
            series.int("n_clusters", Some(row.n_clusters as i64));
            series.float("max_drift", Some(row.max_drift));
        }

        let params = problem.params.clone();
        let beta = params.model.beta;
        let perceptron = &problem.dynamics.perceptron;
        let c = theory::perceptron_constant(perceptron);
        let c_eff = theory::effective_constant(params.model.kernel, beta, c);
        let end = match &result.summary.certificate {
            Some(certificate) => theory::EndState::Certified(certificate.classification),
            None if summary.stop_reason.is_stationary() && params.stop.certify => {
                theory::EndState::TooManyAtoms
            }
            None if summary.stop_reason.is_stationary() => theory::EndState::Converged,
            None => theory::EndState::Capped,
        };
        let applies = theory::theorem_applies(
            &params,
            perceptron.weights.len(),
            c_eff,
            end,
            options.theorem_beta_min,
        );
        let bound = theory::mass_bound(beta, c_eff);
        // The theorem is about the certified state: on S^1 its window mass, heaviest atom and
        // heavy atoms are those of the certificate's atoms (after any escape),
        // not of the particles the flow stopped at.
        let heavy_mass = params.measure.heavy_mass;
        let certified = result
            .summary
            .certificate
            .as_ref()
            .and_then(|c| theory::certified_masses(c, beta, heavy_mass));
        let (max_cluster_mass, window_mass, n_heavy) = certified.unwrap_or((
            summary.max_cluster_mass,
            summary.max_window_mass,
            summary.n_heavy,
        ));
        let holds = window_mass <= bound;
        let corollary = theory::heavy_atom_bound(beta, c_eff, heavy_mass);
        let null_circle = params.model.dim == 2
            && params.perceptron.activation == sphereflow_solver::Activation::None;
        let k_star = null_circle.then(|| theory::unstable_mode(beta));
        let first_plateau = if null_circle {
            let counts: Vec<(f64, usize)> =
                result.series.iter().map(|r| (r.t, r.n_clusters)).collect();
            theory::first_plateau(&counts).map(|p| p.count)
        } else {
            None
        };
        bound_rows.push(BoundRow {
            task_id: id.clone(),
            beta,
            window_mass,
            max_cluster_mass,
            c_eff,
            bound,
            not_applicable: applies.err(),
            holds,
            margin: bound - window_mass,
            n_heavy,
            corollary_bound: corollary,
            corollary_holds: n_heavy as f64 <= corollary,
            n_clusters: summary.n_clusters,
            k_star,
            first_plateau,
            theta_c: theory::concavity_angle(beta),
        });
        if applies.is_ok() {
            applicable_count += 1;
            if !holds {
                violations += 1;
            }
        }
        if let (Some(k), Some(count), Regime::Ascent) = (k_star, first_plateau, params.model.regime)
        {
            null_runs.0 += 1;
            if count.abs_diff(k) <= 1 {
                null_runs.1 += 1;
            }
        }
        // A descent run of pure attention spreads towards the uniform law (MODEL.md §4): its
        // "clusters" are the arcs of width r that a spread state needs, which grow with β for
        // that reason alone. Such runs get no cluster fits (MODEL.md §7).
        if sphereflow_solver::spreads(&params, perceptron) {
            spread_runs += 1;
            continue;
        }
        // A run stopped at a cap has not reached its end state: not converged, not fitted.
        if summary.stop_reason.hit_cap() {
            capped_runs += 1;
            continue;
        }
        let label = group_label(plan, task, &groups);
        // Without a perceptron no neuron acts anywhere: the count of clusters where one acts is
        // 0 by construction, and a fit of it would say nothing.
        let has_perceptron = params.perceptron.activation != sphereflow_solver::Activation::None;
        let fitted = |quantity: &&(&str, f64)| has_perceptron || quantity.0 != "n_active_clusters";
        for (quantity, value) in [
            ("n_clusters", summary.n_clusters as f64),
            ("n_active_clusters", n_active as f64),
            ("n_heavy", summary.n_heavy as f64),
            ("max_cluster_mass", summary.max_cluster_mass),
        ]
        .iter()
        .filter(fitted)
        .copied()
        {
            points
                .entry((label.clone(), quantity))
                .or_default()
                .push((beta, value));
        }
        if draws_vary {
            let seed = params.perceptron.seed;
            for (quantity, value) in [
                ("n_clusters", summary.n_clusters as f64),
                ("n_active_clusters", n_active as f64),
                ("n_heavy", summary.n_heavy as f64),
            ]
            .iter()
            .filter(fitted)
            .copied()
            {
                draw_points
                    .entry((label.clone(), seed, quantity))
                    .or_default()
                    .push((beta, value));
            }
        }
    }

    // Fits, one row per group, quantity and law, with the group's parameters as columns.
    let mut fit_columns: Vec<(String, Column)> = vec![("group".into(), text())];
    for path in &groups {
        let spec = sphereflow_plan::schema::spec_of(path).expect("an axis is a parameter");
        fit_columns.push((column_name(path), parameter_column(spec.kind)));
    }
    let mut fits = Builder {
        table: Table {
            columns: fit_columns,
        },
    };
    for (name, column) in [
        ("quantity", dict()),
        ("model", dict()),
        ("exponent", float()),
        ("exponent_lo", float()),
        ("exponent_hi", float()),
        ("prefactor", float()),
        ("r2", float()),
        ("n_points", int()),
        ("few_points", boolean()),
        ("beta_min", float()),
        ("beta_max", float()),
    ] {
        fits.table.columns.push((name.into(), column));
    }
    let mut group_fits = Vec::new();
    let representative: BTreeMap<String, &Task> = plan
        .tasks
        .iter()
        .map(|t| (group_label(plan, t, &groups), t))
        .collect();
    for ((label, quantity), data) in &points {
        for law in [Law::Power, Law::Sqrt] {
            let Some(fitted) = fit(
                law,
                data,
                options.fit_beta_min,
                options.replicates,
                options.seed,
            ) else {
                continue;
            };
            fits.text("group", Some(label.clone()));
            let task = representative[label];
            for path in &groups {
                push_typed(fits.column(&column_name(path)), plan.value(task, path));
            }
            fits.text("quantity", Some((*quantity).into()));
            fits.text("model", Some(law.as_str().into()));
            fits.float("exponent", Some(fitted.exponent));
            fits.float("exponent_lo", fitted.interval.map(|(lo, _)| lo));
            fits.float("exponent_hi", fitted.interval.map(|(_, hi)| hi));
            fits.float("prefactor", Some(fitted.prefactor));
            fits.float("r2", Some(fitted.r2));
            fits.int("n_points", Some(fitted.n_points as i64));
            fits.bool("few_points", Some(fitted.few_points));
            fits.float("beta_min", Some(fitted.beta_min));
            fits.float("beta_max", Some(fitted.beta_max));
            group_fits.push(GroupFit {
                group: label.clone(),
                values: groups
                    .iter()
                    .filter_map(|path| Some((*path, plan.value(task, path)?)))
                    .collect(),
                quantity,
                fit: fitted,
            });
        }
    }
    let mut draw_fits = Vec::new();
    for ((label, seed, quantity), data) in &draw_points {
        let Some(fitted) = fit(
            Law::Power,
            data,
            options.fit_beta_min,
            options.replicates,
            options.seed,
        ) else {
            continue;
        };
        let task = representative[label];
        let mut values: Vec<(&'static str, Typed)> = groups
            .iter()
            .filter_map(|path| Some((*path, plan.value(task, path)?)))
            .collect();
        values.push(("perceptron.seed", Typed::Int(*seed as i64)));
        draw_fits.push(GroupFit {
            group: format!("{label} perceptron_seed={seed}"),
            values,
            quantity,
            fit: fitted,
        });
    }
    let mut bounds = Builder::new(bounds_columns);
    for row in &bound_rows {
        bounds.text("task_id", Some(row.task_id.clone()));
        bounds.float("beta", Some(row.beta));
        bounds.float("window_mass", Some(row.window_mass));
        bounds.float("max_cluster_mass", Some(row.max_cluster_mass));
        bounds.float("c_eff", Some(row.c_eff));
        bounds.float("bound", Some(row.bound));
        bounds.float("bound_limit", Some(theory::bound_limit()));
        bounds.bool("applicable", Some(row.applicable()));
        bounds.text("reason", row.not_applicable.map(str::to_string));
        bounds.bool("holds", Some(row.holds));
        bounds.float("margin", Some(row.margin));
        bounds.int("n_heavy", Some(row.n_heavy as i64));
        bounds.float("corollary_bound", Some(row.corollary_bound));
        bounds.bool("corollary_holds", Some(row.corollary_holds));
        bounds.int("n_clusters", Some(row.n_clusters as i64));
        bounds.int("k_star", row.k_star.map(|k| k as i64));
        bounds.int("first_plateau", row.first_plateau.map(|k| k as i64));
        bounds.float("theta_c", Some(row.theta_c));
    }
    Ok(Analysis {
        tasks: tasks.table,
        clusters: clusters.table,
        series: series.table,
        fits: fits.table,
        bounds: bounds.table,
        bound_rows,
        group_fits,
        draw_fits,
        counts,
        applicable: applicable_count,
        violations,
        null_runs,
        spread_runs,
        capped_runs,
    })
}

/// The table files `analyze` writes, by name.
pub const TABLES: &[&str] = &["tasks", "clusters", "series", "fits", "bounds"];

/// Writes every table as `<out>/<name>.parquet`, each atomically.
///
/// # Errors
/// IO and encoding errors.
pub fn write_tables(analysis: &Analysis, out: &Path) -> Result<Vec<PathBuf>, AnalyzeError> {
    std::fs::create_dir_all(out).map_err(|e| AnalyzeError::Io {
        path: out.to_path_buf(),
        source: e,
    })?;
    let mut written = Vec::new();
    for (name, table) in [
        ("tasks", &analysis.tasks),
        ("clusters", &analysis.clusters),
        ("series", &analysis.series),
        ("fits", &analysis.fits),
        ("bounds", &analysis.bounds),
    ] {
        let path = out.join(format!("{name}.parquet"));
        write_parquet(table, &path)?;
        written.push(path);
    }
    Ok(written)
}
