//! `simulate`, `load_task` and the `Run` they return: one task's result, its final state, time
//! series and snapshots as numpy arrays, and the field it ran under.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3::IntoPyObjectExt;
use sphereflow_exec::store::ObjectState;
use sphereflow_exec::Store;
use sphereflow_meanfield::{particle_spread, ParticleSpread};
use sphereflow_plan::schema::{check, default_value};
use sphereflow_plan::{resolve, Setting, Sweep, TaskId, Typed, SCHEMA};
use sphereflow_solver::{
    simulate as run_problem, Cluster, Dynamics, Par, Perceptron, Problem, SeriesRow, State,
    Summary, SOLVER_REV,
};

use crate::certificate::Certificate;
use crate::convert::{
    as_matrix, exec_error, implied, json_to_py, plan_error, positions, solver_error, to_py, vector,
    StoreError,
};

/// The result of one task: from `simulate` or read from a store by `load_task`.
#[pyclass(frozen, module = "sphereflow")]
pub struct Run {
    /// The task id these parameters have (the store object they would make).
    task_id: Option<String>,
    /// Every parameter's value (`None` for the optional ones left unset).
    parameters: serde_json::Map<String, serde_json::Value>,
    summary: Summary,
    runtime_s: f64,
    clusters: Vec<Cluster>,
    series: Vec<SeriesRow>,
    frames: Vec<(u64, f64, State)>,
    final_state: State,
    /// The field the run moved under (supplied weights included); rebuilt from the parameters
    /// for a stored run.
    pub dynamics: Dynamics,
    /// The stored certificate of the final state, when the store holds one.
    certificate: Option<serde_json::Value>,
    /// Where the result was computed, for a stored run.
    provenance: Option<serde_json::Value>,
}

impl Run {
    /// The final state.
    pub fn final_state(&self) -> &State {
        &self.final_state
    }

    /// The spread measures of a run that spreads, on S^1.
    fn spread(&self) -> Option<ParticleSpread> {
        if !self.dynamics.spreads() {
            return None;
        }
        particle_spread(&self.final_state).ok()
    }
}

/// Every parameter's value as the store's `spec.parameters` records it.
fn parameters_of(
    settings: &BTreeMap<String, Setting>,
    resolved: &Problem,
) -> PyResult<serde_json::Map<String, serde_json::Value>> {
    let mut parameters = serde_json::Map::new();
    for spec in SCHEMA {
        let typed = match settings.get(spec.path) {
            Some(setting) => Some(check(spec, setting).map_err(plan_error)?),
            None => default_value(spec),
        };
        // `Typed` serializes as the JSON number, bool or string it holds.
        let value = serde_json::to_value(typed).expect("plain data");
        parameters.insert(spec.path.into(), value);
    }
    // What the shape of supplied arrays fixed.
    parameters.insert(
        "model.particles".into(),
        serde_json::Value::from(resolved.params.model.particles as i64),
    );
    Ok(parameters)
}

/// Reads a sweep file into settings (as `sphereflow simulate FILE`): its fixed values, with each
/// of its axes pinned by a key of `pinned` (the dictionary, which then overrides the file).
fn file_settings(
    file: &std::path::Path,
    pinned: &BTreeMap<String, Setting>,
) -> PyResult<BTreeMap<String, Setting>> {
    let sweep = Sweep::read(file).map_err(plan_error)?;
    if let Some(free) = sweep.unpinned(|path| pinned.contains_key(path)) {
        let (path, value) = free.example;
        return Err(PyValueError::new_err(format!(
            "{}: simulate runs one task, but the sweep has axes ({}); pin each in the settings \
             (e.g. {{\"{path}\": {}}}), or run the grid with a Sweep",
            free.origin,
            free.paths.join(", "),
            value.value
        )));
    }
    Ok(sweep.fixed)
}

/// Adds the settings an array's shape implies (unless written), and refuses a contradiction.
fn imply(
    settings: &mut BTreeMap<String, Setting>,
    key: &str,
    value: usize,
    what: &str,
) -> PyResult<()> {
    match settings.get(key) {
        None => {
            settings.insert(key.into(), implied(value as i64, what));
            Ok(())
        }
        Some(setting) => match setting.value.as_integer() {
            Some(written) if written == value as i64 => Ok(()),
            _ => Err(PyValueError::new_err(format!(
                "{}: invalid value for `{key}`: {what} has {value}, but {key} = {}",
                setting.origin,
                setting.shown()
            ))),
        },
    }
}

/// Runs one task, as `sphereflow simulate` does.
///
/// `settings` maps parameter paths to values (`{"model.beta": 10, "model.particles": 500}`;
/// `sphereflow.params()` lists them), resolved exactly as the command line's `--set`, so the
/// final positions are bit-identical to `sphereflow simulate --set ... --out final.npy`. `file`
/// is a sweep file read first (the dictionary overrides it and must pin each of its axes: a
/// point of its grid). `positions` (`n × d`)
/// replaces the seeded initial draw and `weights` (`m × (d+1)`: row `j` is `a_j` then `s_j`)
/// the seeded perceptron; their shapes set `model.particles`, `model.dim` and
/// `perceptron.width` when those are not written. The simulation runs with the GIL released,
/// on all cores.
///
/// Raises `ValueError` for an unknown key or a bad value (the message names the key),
/// `FileNotFoundError` for a missing file, `SimulationError` for a run that diverges.
#[pyfunction]
#[pyo3(signature = (settings=None, *, file=None, positions=None, weights=None))]
pub fn simulate(
    py: Python<'_>,
    settings: Option<&Bound<'_, PyDict>>,
    file: Option<PathBuf>,
    positions: Option<&Bound<'_, PyAny>>,
    weights: Option<&Bound<'_, PyAny>>,
) -> PyResult<Run> {
    let given = crate::convert::settings(settings)?;
    let mut all = match &file {
        Some(file) => file_settings(file, &given)?,
        None => BTreeMap::new(),
    };
    all.extend(given);
    let positions = positions
        .map(|p| as_matrix(py, "positions", p))
        .transpose()?;
    let weights = weights.map(|w| as_matrix(py, "weights", w)).transpose()?;
    for (key, given) in [
        ("init.positions_file", positions.is_some()),
        ("perceptron.weights_file", weights.is_some()),
    ] {
        if given && all.contains_key(key) {
            return Err(PyValueError::new_err(format!(
                "{}: `{key}` and the {} argument both give the same input",
                all[key].origin,
                if key.starts_with("init") {
                    "positions"
                } else {
                    "weights"
                }
            )));
        }
    }
    if let Some((rows, cols, _)) = &positions {
        imply(&mut all, "model.dim", *cols, "positions")?;
        imply(&mut all, "model.particles", *rows, "positions")?;
    }
    if let Some((rows, cols, _)) = &weights {
        if !all.contains_key("model.dim") && *cols >= 3 {
            imply(&mut all, "model.dim", cols - 1, "weights")?;
        }
        imply(&mut all, "perceptron.width", *rows, "weights")?;
    }
    let resolved = resolve(&all).map_err(plan_error)?;
    let dim = resolved.params.model.dim;
    let initial = match positions {
        Some((_, _, values)) => Some(State::from_positions(dim, &values).map_err(solver_error)?),
        None => resolved.initial,
    };
    let perceptron = match weights {
        Some((rows, cols, values)) => {
            if cols != dim + 1 {
                return Err(PyValueError::new_err(format!(
                    "weights: {cols} columns, expected model.dim + 1 = {}",
                    dim + 1
                )));
            }
            Some(
                Perceptron::from_rows(dim, rows, &values, &resolved.params.perceptron)
                    .map_err(solver_error)?,
            )
        }
        None => resolved.perceptron,
    };
    let supplied = initial.is_some() || perceptron.is_some();
    let problem = Problem::new(resolved.params, initial, perceptron).map_err(solver_error)?;
    let task_id = if supplied {
        None
    } else {
        Some(sphereflow_plan::task_id(&all).map_err(plan_error)?.id)
    };
    let parameters = parameters_of(&all, &problem)?;
    let (result, runtime_s) = py.detach(|| {
        let started = Instant::now();
        let result = run_problem(&problem, Par::Rayon);
        (result, started.elapsed().as_secs_f64())
    });
    let result = result.map_err(solver_error)?;
    Ok(Run {
        task_id,
        parameters,
        summary: result.summary,
        runtime_s,
        clusters: result.clusters,
        series: result.series,
        frames: result
            .frames
            .frames
            .into_iter()
            .map(|f| (f.step, f.t, f.state))
            .collect(),
        final_state: result.final_state,
        dynamics: problem.dynamics,
        certificate: None,
        provenance: None,
    })
}

/// A stored task's parameters back as settings (unset ones left out).
pub fn stored_settings(
    parameters: &serde_json::Map<String, serde_json::Value>,
) -> BTreeMap<String, Setting> {
    let mut settings = BTreeMap::new();
    for (key, value) in parameters {
        let value = match value {
            serde_json::Value::Bool(b) => toml::Value::Boolean(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => toml::Value::Integer(i),
                None => toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => toml::Value::String(s.clone()),
            _ => continue,
        };
        settings.insert(
            key.clone(),
            Setting {
                value,
                origin: format!("the stored parameters ({key})"),
                base: PathBuf::from("."),
            },
        );
    }
    settings
}

/// The field of the model the settings describe (the seeded perceptron, or the one of
/// `perceptron.weights_file`), as `simulate` builds it.
pub fn dynamics_of(settings: &BTreeMap<String, Setting>) -> PyResult<Dynamics> {
    let resolved = resolve(settings).map_err(plan_error)?;
    let mut params = resolved.params;
    // Only the field is wanted: no initial particles to draw.
    params.model.particles = 1;
    let problem = Problem::new(params, None, resolved.perceptron).map_err(solver_error)?;
    Ok(problem.dynamics)
}

/// The task whose id is `task_id` or starts with it (at least 8 hex digits, and only one task).
fn find_task(store: &Store, task_id: &str) -> PyResult<TaskId> {
    let wanted = task_id.trim().to_ascii_lowercase();
    if let Some(id) = TaskId::from_hex(&wanted) {
        return Ok(id);
    }
    if wanted.len() < 8 || !wanted.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(PyValueError::new_err(format!(
            "task id {task_id:?}: expected the hex id of a task (at least its first 8 digits)"
        )));
    }
    let folder = store.root().join("objects").join(&wanted[..2]);
    let mut found: Vec<String> = std::fs::read_dir(&folder)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| name.starts_with(&wanted))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    match found.as_slice() {
        [one] => TaskId::from_hex(one).ok_or_else(|| {
            StoreError::new_err(format!("{}: not a task id", folder.join(one).display()))
        }),
        [] => Err(StoreError::new_err(format!(
            "{}: no committed task whose id starts with {wanted}",
            store.root().display()
        ))),
        many => Err(PyValueError::new_err(format!(
            "task id {wanted} is ambiguous: {} tasks start with it",
            many.len()
        ))),
    }
}

/// Reads a committed task from a store: its final state, series, snapshots and summary, verified
/// against their checksums first (a corrupt or stale object raises `StoreError`). `task_id` is
/// the full hex id or a unique prefix of at least 8 digits (as `sphereflow status` shows).
#[pyfunction]
pub fn load_task(py: Python<'_>, store: PathBuf, task_id: &str) -> PyResult<Run> {
    let opened = Store::open_existing(&store)
        .map_err(exec_error)?
        .ok_or_else(|| {
            pyo3::exceptions::PyFileNotFoundError::new_err(format!(
                "{}: not a sphereflow store (no layout file)",
                store.display()
            ))
        })?;
    let id = find_task(&opened, task_id)?;
    let loaded = py.detach(|| match opened.inspect(&id) {
        ObjectState::Ok { solver_rev } if solver_rev == SOLVER_REV => {
            Ok(opened.load(&id).map_err(|e| e.to_string()))
        }
        ObjectState::Ok { solver_rev } => Err(format!(
            "{}: task {id} was computed by solver revision {solver_rev}, now {SOLVER_REV} (stale: a run recomputes it)",
            store.display()
        )),
        ObjectState::Corrupt { reason } => Err(format!(
            "{}: task {id} is corrupt: {reason}",
            store.display()
        )),
        ObjectState::Missing => Err(format!(
            "{}: task {id} is not committed",
            store.display()
        )),
    });
    let loaded = loaded
        .map_err(StoreError::new_err)?
        .map_err(StoreError::new_err)?;
    let raw: Option<serde_json::Value> = std::fs::read(opened.object_dir(&id).join("summary.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let certificate = raw
        .as_ref()
        .and_then(|v| v.get("certificate"))
        .filter(|c| !c.is_null())
        .cloned();
    let parameters = loaded.summary.spec.parameters.clone();
    let dynamics = dynamics_of(&stored_settings(&parameters))?;
    Ok(Run {
        task_id: Some(id.to_hex()),
        parameters,
        summary: loaded.summary.summary.clone(),
        runtime_s: loaded.summary.runtime_s,
        clusters: loaded.summary.clusters.clone(),
        series: loaded.series,
        frames: loaded.frames,
        final_state: loaded.final_state,
        dynamics,
        certificate,
        provenance: serde_json::to_value(&loaded.summary.provenance).ok(),
    })
}

#[pymethods]
impl Run {
    /// Final positions, `n × d` float64 (`n` atoms once merged).
    #[getter]
    fn positions<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        positions(py, &self.final_state)
    }

    /// Final masses, summing to 1.
    #[getter]
    fn masses<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.final_state.masses.clone())
    }

    /// The energy at every check of the stopping rule (times in `series["t"]`).
    #[getter]
    fn energy<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.series.iter().map(|r| r.energy).collect())
    }

    /// The time series, one entry per check: `step`, `t`, `energy`, `n_clusters`, `max_drift`
    /// (numpy arrays).
    #[getter]
    fn series<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        let steps: Vec<u64> = self.series.iter().map(|r| r.step).collect();
        dict.set_item("step", PyArray1::from_vec(py, steps))?;
        dict.set_item("t", vector(py, self.series.iter().map(|r| r.t).collect()))?;
        dict.set_item(
            "energy",
            vector(py, self.series.iter().map(|r| r.energy).collect()),
        )?;
        let counts: Vec<u64> = self.series.iter().map(|r| r.n_clusters as u64).collect();
        dict.set_item("n_clusters", PyArray1::from_vec(py, counts))?;
        dict.set_item(
            "max_drift",
            vector(py, self.series.iter().map(|r| r.max_drift).collect()),
        )?;
        Ok(dict)
    }

    /// The summary of the end state (as `sphereflow simulate --json`): `n_clusters`, `n_heavy`,
    /// `max_cluster_mass`, `max_window_mass`, `max_spread`, `energy_initial`, `energy_final`,
    /// `steps`, `rejected_steps`, `t_final`, `stop_reason`, `max_drift`, `n_atoms`,
    /// `runtime_s`, `solver_rev`, and `spread`: whether the run spreads (descent without a
    /// perceptron), whose `n_clusters` then counts the arcs of width r that tile it, not
    /// clusters; on S^1 such a run also has `largest_gap` (× 2π/n) and `w1_uniform` (radians).
    #[getter]
    fn observables<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut json =
            serde_json::to_value(&self.summary).map_err(|e| crate::convert::runtime_error(&e))?;
        if let Some(map) = json.as_object_mut() {
            map.insert("runtime_s".into(), self.runtime_s.into());
            map.insert("solver_rev".into(), SOLVER_REV.into());
            // A run that spreads is described by its distance from uniform (S^1), never by a
            // cluster count (MODEL.md §7), as `simulate --json` does.
            map.insert("spread".into(), self.dynamics.spreads().into());
            if let Some(spread) = self.spread() {
                map.insert("largest_gap".into(), spread.largest_gap.into());
                map.insert("w1_uniform".into(), spread.w1_uniform.into());
            }
        }
        json_to_py(py, &json)
    }

    /// The final clusters, heaviest first: dicts of `mass`, `centre`, `spread`, `size`.
    #[getter]
    fn clusters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.clusters)
    }

    /// Snapshots along the run, ending with the final state: a list of
    /// `(step, t, positions, masses)` tuples (positions `n × d`; `n` shrinks when particles
    /// merge).
    #[getter]
    fn frames<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .frames
            .iter()
            .map(|(step, t, state)| {
                (
                    *step,
                    *t,
                    positions(py, state),
                    vector(py, state.masses.clone()),
                )
                    .into_bound_py_any(py)
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// The times of the snapshots in `frames`.
    #[getter]
    fn times<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.frames.iter().map(|f| f.1).collect())
    }

    /// Every parameter's value, keyed by path (`None` for optional ones left unset); passing it
    /// to `simulate` runs the same task again.
    #[getter]
    fn parameters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let map: serde_json::Map<String, serde_json::Value> = self
            .parameters
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        json_to_py(py, &serde_json::Value::Object(map))
    }

    /// The task id of these parameters: the store object a sweep with them commits. `None` when
    /// positions or weights were supplied as arrays.
    #[getter]
    fn task_id(&self) -> Option<String> {
        self.task_id.clone()
    }

    /// Wall time of the computation in seconds.
    #[getter]
    fn runtime_s(&self) -> f64 {
        self.runtime_s
    }

    /// The stored certificate of the final state (when the store holds one).
    #[getter]
    fn certificate(&self) -> PyResult<Option<Certificate>> {
        self.certificate
            .as_ref()
            .map(|c| Certificate::from_json(c.clone()))
            .transpose()
    }

    /// Where and when a stored run was computed (`None` for `simulate`).
    #[getter]
    fn provenance<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.provenance {
            Some(p) => json_to_py(py, p),
            None => Ok(py.None().into_bound(py)),
        }
    }

    fn __repr__(&self) -> String {
        let s = &self.summary;
        let shape = match (self.dynamics.spreads(), self.spread()) {
            (true, Some(m)) => format!(
                "spread, largest gap {:.2} × 2π/n, W1 to uniform {:.2e}",
                m.largest_gap, m.w1_uniform
            ),
            (true, None) => "spread".to_string(),
            (false, _) => format!(
                "{} clusters, {} heavy, largest mass {:.4}",
                s.n_clusters, s.n_heavy, s.max_cluster_mass
            ),
        };
        format!(
            "Run({} after {} steps, t = {:.1}: {shape}, energy {:.6} -> {:.6}{})",
            s.stop_reason.as_str(),
            s.steps,
            s.t_final,
            s.energy_initial,
            s.energy_final,
            self.task_id
                .as_ref()
                .map_or_else(String::new, |id| format!(", task {}", &id[..12]))
        )
    }
}

/// The schema: every parameter's path, type, default and meaning (as `sphereflow params`).
#[pyfunction]
pub fn params<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
    use sphereflow_plan::Kind;
    let items = SCHEMA
        .iter()
        .map(|spec| {
            let dict = PyDict::new(py);
            dict.set_item("path", spec.path)?;
            let kind = match spec.kind {
                Kind::Int { .. } => "integer".to_string(),
                Kind::Float { .. } => "float".to_string(),
                Kind::Bool => "bool".to_string(),
                Kind::Enum(names) => names.join("|"),
                Kind::File => "file".to_string(),
            };
            dict.set_item("type", kind)?;
            let default = default_value(spec).map(|typed| match typed {
                Typed::Int(i) => i.into_bound_py_any(py),
                Typed::Float(x) => x.into_bound_py_any(py),
                Typed::Bool(b) => b.into_bound_py_any(py),
                Typed::Text(s) => s.into_bound_py_any(py),
            });
            dict.set_item("default", default.transpose()?)?;
            dict.set_item("doc", spec.doc)?;
            Ok(dict)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}
