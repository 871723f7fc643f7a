//! `meanfield`: the density of infinitely many tokens on S^1 (MODEL.md §10) from the
//! sphereflow-meanfield crate's `solve`, and the `MeanFieldRun` it returns.

use std::collections::BTreeMap;
use std::f64::consts::TAU;

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use sphereflow_meanfield::{
    solve, solve_density, InitialLaw, Limiter, MeanFieldError, MeanFieldParams, MeanFieldResult,
    Model,
};
use sphereflow_solver::Par;

use crate::convert::{
    as_matrix, as_vector, entries, implied, json_to_py, origin_of, py_to_json, setting, vector,
    SimulationError,
};
use crate::run::{dynamics_of, Run};

/// The numerics a mean-field run takes unless told otherwise: the crate's limiter, step cap and
/// series spacing, with 512 cells, `cfl = 0.5` (where positivity is guaranteed), `t_end = 10`
/// and 11 snapshots.
fn default_numerics() -> MeanFieldParams {
    MeanFieldParams::new(512, 0.5, 10.0, 11)
}

/// The `meanfield.*` keys: path, type and meaning (defaults from [`default_numerics`]).
const MEANFIELD_KEYS: &[(&str, &str, &str)] = &[
    (
        "meanfield.cells",
        "integer",
        "number of cells M of the circle (at least 8)",
    ),
    (
        "meanfield.cfl",
        "float",
        "Courant number in (0, 1]; positivity is guaranteed up to 0.5",
    ),
    ("meanfield.t_end", "float", "final time"),
    (
        "meanfield.snapshots",
        "integer",
        "densities kept at t_end·j/(snapshots-1), the initial and final included",
    ),
    (
        "meanfield.limiter",
        "van_leer|minmod",
        "MUSCL slope limiter",
    ),
    (
        "meanfield.dt_max",
        "float",
        "cap on the time step (none by default)",
    ),
    (
        "meanfield.max_steps",
        "integer",
        "the run fails if t_end is not reached within this many steps",
    ),
    (
        "meanfield.series_every",
        "integer",
        "steps between two rows of the mass and energy series",
    ),
];

/// A key's default, as JSON.
fn default_of(path: &str) -> serde_json::Value {
    let d = default_numerics();
    match path {
        "meanfield.cells" => d.cells.into(),
        "meanfield.cfl" => d.cfl.into(),
        "meanfield.t_end" => d.t_end.into(),
        "meanfield.snapshots" => d.snapshots.into(),
        "meanfield.limiter" => match d.limiter {
            Limiter::VanLeer => "van_leer".into(),
            Limiter::Minmod => "minmod".into(),
        },
        "meanfield.dt_max" => d.dt_max.into(),
        "meanfield.max_steps" => d.max_steps.into(),
        "meanfield.series_every" => d.series_every.into(),
        _ => serde_json::Value::Null,
    }
}

fn meanfield_error(error: MeanFieldError) -> PyErr {
    match error {
        MeanFieldError::InvalidParameter { .. } | MeanFieldError::InvalidInput { .. } => {
            PyValueError::new_err(error.to_string())
        }
        _ => SimulationError::new_err(error.to_string()),
    }
}

fn invalid(key: &str, reason: String) -> PyErr {
    PyValueError::new_err(format!(
        "{}: invalid value for `{key}`: {reason}",
        origin_of(key)
    ))
}

fn int_of(key: &str, value: &Bound<'_, PyAny>) -> PyResult<usize> {
    if value.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid(key, format!("expected an integer, got {value}")));
    }
    value
        .extract::<usize>()
        .map_err(|_| invalid(key, format!("expected a non-negative integer, got {value}")))
}

fn float_of(key: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if value.is_instance_of::<pyo3::types::PyBool>() || value.is_instance_of::<PyString>() {
        return Err(invalid(key, format!("expected a number, got {value}")));
    }
    value
        .extract::<f64>()
        .map_err(|_| invalid(key, format!("expected a number, got {value}")))
}

/// The numerics from the `meanfield.*` keys (the rest go to the model).
fn numerics(entries: &[(String, Bound<'_, PyAny>)]) -> PyResult<MeanFieldParams> {
    let mut params = default_numerics();
    for (key, value) in entries {
        match key.as_str() {
            "meanfield.cells" => params.cells = int_of(key, value)?,
            "meanfield.cfl" => params.cfl = float_of(key, value)?,
            "meanfield.t_end" => params.t_end = float_of(key, value)?,
            "meanfield.snapshots" => params.snapshots = int_of(key, value)?,
            "meanfield.limiter" => {
                params.limiter = match value.extract::<String>().ok().as_deref() {
                    Some("van_leer") => Limiter::VanLeer,
                    Some("minmod") => Limiter::Minmod,
                    _ => {
                        return Err(invalid(
                            key,
                            format!("expected one of van_leer, minmod, got {value}"),
                        ))
                    }
                }
            }
            "meanfield.dt_max" => params.dt_max = Some(float_of(key, value)?),
            "meanfield.max_steps" => params.max_steps = int_of(key, value)? as u64,
            "meanfield.series_every" => params.series_every = int_of(key, value)? as u64,
            _ if key.starts_with("meanfield.") => {
                let known: Vec<&str> = MEANFIELD_KEYS.iter().map(|k| k.0).collect();
                return Err(PyValueError::new_err(format!(
                    "{}: unknown parameter `{key}` (the mean-field keys: {})",
                    origin_of(key),
                    known.join(", ")
                )));
            }
            _ => {}
        }
    }
    params.validate().map_err(meanfield_error)?;
    Ok(params)
}

/// The initial law from what Python gave.
fn initial_law(py: Python<'_>, initial: Option<&Bound<'_, PyAny>>) -> PyResult<InitialLaw> {
    let Some(initial) = initial else {
        return Ok(InitialLaw::Uniform);
    };
    if let Ok(run) = initial.cast::<Run>() {
        let state = run.get().final_state();
        if state.dim != 2 {
            return Err(PyValueError::new_err(format!(
                "initial: a run on S^{}, the mean-field solver is on S^1",
                state.dim - 1
            )));
        }
        return Ok(InitialLaw::Particles {
            angles: state
                .positions
                .chunks_exact(2)
                .map(|p| p[1].atan2(p[0]))
                .collect(),
            masses: state.masses.clone(),
        });
    }
    if let Ok(name) = initial.extract::<String>() {
        return serde_json::from_value(serde_json::Value::String(name.clone())).map_err(|_| {
            PyValueError::new_err(format!(
                "initial: {name:?}: expected \"uniform\", a dict (cosine, von_mises, particles), \
                 a Run or an n × 2 array of positions"
            ))
        });
    }
    if initial.is_instance_of::<PyDict>() {
        let json = py_to_json(initial)?;
        return serde_json::from_value(json)
            .map_err(|e| PyValueError::new_err(format!("initial: {e}")));
    }
    let (rows, cols, values) = as_matrix(py, "initial", initial)?;
    if cols != 2 {
        return Err(PyValueError::new_err(format!(
            "initial: positions on S^1 have 2 columns, got {cols}"
        )));
    }
    Ok(InitialLaw::Particles {
        angles: values.chunks_exact(2).map(|p| p[1].atan2(p[0])).collect(),
        masses: vec![1.0 / rows.max(1) as f64; rows],
    })
}

/// A mean-field run: the density at each snapshot time, with the mass and energy series.
#[pyclass(frozen, module = "sphereflow")]
pub struct MeanFieldRun {
    result: MeanFieldResult,
}

#[pymethods]
impl MeanFieldRun {
    /// Number of cells `M`.
    #[getter]
    fn cells(&self) -> usize {
        self.result.cells
    }

    /// The angles of the cell centres, `(i + 1/2) 2π/M`.
    #[getter]
    fn angles<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let h = TAU / self.result.cells as f64;
        vector(
            py,
            (0..self.result.cells)
                .map(|i| (i as f64 + 0.5) * h)
                .collect(),
        )
    }

    /// Snapshot times.
    #[getter]
    fn times<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.result.times.clone())
    }

    /// Cell averages of the density (per radian) at each snapshot, `snapshots × cells`.
    #[getter]
    fn densities<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        let rows = self.result.times.len();
        Array2::from_shape_vec((rows, self.result.cells), self.result.densities.clone())
            .expect("snapshots × cells")
            .into_pyarray(py)
    }

    /// The final density.
    #[getter]
    fn final_density<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.result.final_density().to_vec())
    }

    /// Times of the series rows.
    #[getter]
    fn series_times<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.result.series_times.clone())
    }

    /// Total mass at each series time (1 up to rounding).
    #[getter]
    fn mass<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.result.mass.clone())
    }

    /// Discrete energy at each series time.
    #[getter]
    fn energy<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.result.energy.clone())
    }

    /// SSP-RK3 steps taken.
    #[getter]
    fn steps(&self) -> u64 {
        self.result.steps
    }

    /// Wall time in seconds.
    #[getter]
    fn runtime_s(&self) -> f64 {
        self.result.runtime_seconds
    }

    fn __repr__(&self) -> String {
        format!(
            "MeanFieldRun({} cells, t = {}, {} snapshots, {} steps, energy {:.6} -> {:.6})",
            self.result.cells,
            self.result.times.last().copied().unwrap_or(0.0),
            self.result.times.len(),
            self.result.steps,
            self.result.energy.first().copied().unwrap_or(f64::NAN),
            self.result.energy.last().copied().unwrap_or(f64::NAN)
        )
    }
}

/// Solves the mean-field equation on S^1 (MODEL.md §10) by positivity-preserving finite volumes.
///
/// `settings` holds the model's keys (`model.beta`, `model.kernel`, `model.attention`,
/// `model.regime`, `perceptron.*`, as for `simulate`, on S^1) and the numerics,
/// `meanfield.cells` (default 512), `meanfield.cfl` (0.5), `meanfield.t_end` (10.0),
/// `meanfield.snapshots` (11), `meanfield.limiter` (`van_leer` or `minmod`),
/// `meanfield.dt_max`, `meanfield.max_steps`, `meanfield.series_every` (see
/// `meanfield_params()`). `initial` is `"uniform"` (the default), a dict in the crate's form
/// (`{"cosine": {"amplitude": 0.05, "mode": 2}}`,
/// `{"von_mises": [{"weight": 1, "centre": 0, "concentration": 4}]}`,
/// `{"particles": {"angles": [...], "masses": [...]}}`), a `Run` on S^1 (its final atoms
/// binned into cells) or an `n × 2` array of positions; `density` gives the cell averages
/// directly instead. Runs with the GIL released.
#[pyfunction]
#[pyo3(signature = (settings=None, *, initial=None, density=None))]
pub fn meanfield(
    py: Python<'_>,
    settings: Option<&Bound<'_, PyDict>>,
    initial: Option<&Bound<'_, PyAny>>,
    density: Option<&Bound<'_, PyAny>>,
) -> PyResult<MeanFieldRun> {
    let entries = entries(settings)?;
    let params = numerics(&entries)?;
    let mut model_settings = BTreeMap::new();
    for (key, value) in &entries {
        if !key.starts_with("meanfield.") {
            model_settings.insert(key.clone(), setting(key, value)?);
        }
    }
    model_settings
        .entry("model.dim".into())
        .or_insert_with(|| implied(2, "the mean-field solver (S^1)"));
    let dynamics = dynamics_of(&model_settings)?;
    let model = Model::from_dynamics(&dynamics).map_err(meanfield_error)?;
    if initial.is_some() && density.is_some() {
        return Err(PyValueError::new_err(
            "initial and density: give one starting point",
        ));
    }
    let result = match density {
        Some(density) => {
            let density = as_vector(py, "density", density)?;
            py.detach(|| solve_density(&model, &params, density, Par::Rayon))
        }
        None => {
            let law = initial_law(py, initial)?;
            py.detach(|| solve(&model, &params, &law, Par::Rayon))
        }
    }
    .map_err(meanfield_error)?;
    Ok(MeanFieldRun { result })
}

/// The mean-field numerics keys: dicts of `path`, `type`, `default`, `doc`.
#[pyfunction]
pub fn meanfield_params<'py>(py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
    MEANFIELD_KEYS
        .iter()
        .map(|(path, kind, doc)| {
            let dict = PyDict::new(py);
            dict.set_item("path", path)?;
            dict.set_item("type", kind)?;
            dict.set_item("default", json_to_py(py, &default_of(path))?)?;
            dict.set_item("doc", doc)?;
            Ok(dict)
        })
        .collect()
}
