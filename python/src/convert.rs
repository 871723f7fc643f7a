//! Between Python and the crates: settings dictionaries into the planner's settings, JSON values
//! into Python objects and back, states into numpy arrays, and the crates' errors into Python
//! exceptions carrying the command line's messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use pyo3::IntoPyObjectExt;
use sphereflow_exec::error::chain;
use sphereflow_exec::ExecError;
use sphereflow_plan::schema::{spec_of, suggest};
use sphereflow_plan::{PlanError, Setting};
use sphereflow_solver::{SolverError, State};

pyo3::create_exception!(
    sphereflow,
    SimulationError,
    PyRuntimeError,
    "A simulation that failed while running: a non-finite value, a divergence, a step size \
     underflow, a mean-field density that went negative."
);
pyo3::create_exception!(
    sphereflow,
    StoreError,
    PyRuntimeError,
    "A store that cannot be used: a corrupt or missing object, a folder of another layout."
);

/// A planner error as a Python exception: `ValueError` for keys and values, `FileNotFoundError`
/// or `OSError` for a file that cannot be read (the message names it), as the command line
/// prints it.
pub fn plan_error(error: PlanError) -> PyErr {
    let message = chain(&error);
    match &error {
        PlanError::File { origin, reason } if reason.starts_with("cannot read") => {
            if Path::new(origin).exists() {
                PyOSError::new_err(message)
            } else {
                PyFileNotFoundError::new_err(message)
            }
        }
        _ => PyValueError::new_err(message),
    }
}

/// A solver error: `ValueError` for parameters and inputs, `SimulationError` for a run that
/// broke down.
pub fn solver_error(error: SolverError) -> PyErr {
    let message = chain(&error);
    match error {
        SolverError::InvalidParameter { .. } | SolverError::InvalidInput { .. } => {
            PyValueError::new_err(message)
        }
        _ => SimulationError::new_err(message),
    }
}

/// An executor error: `OSError` for IO, `ValueError` for an option, `StoreError` otherwise.
pub fn exec_error(error: ExecError) -> PyErr {
    let message = chain(&error);
    match error {
        ExecError::Io { .. } => PyOSError::new_err(message),
        ExecError::Option { .. } => PyValueError::new_err(message),
        _ => StoreError::new_err(message),
    }
}

/// Any other error, as a `RuntimeError` with its causes.
pub fn runtime_error(error: &(dyn std::error::Error + 'static)) -> PyErr {
    PyRuntimeError::new_err(chain(error))
}

/// Where a setting given from Python was written, for messages: `settings["model.beta"]`.
pub fn origin_of(key: &str) -> String {
    format!("settings[{key:?}]")
}

/// A Python scalar as the TOML value a sweep file would hold: `bool`, `int`, `float` (numpy
/// scalars included) or `str`.
fn toml_value(key: &str, value: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    if value.is_instance_of::<PyBool>() || value.get_type().name()? == "bool" {
        return Ok(toml::Value::Boolean(value.extract()?));
    }
    if value.is_instance_of::<PyString>() {
        return Ok(toml::Value::String(value.extract()?));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(value.extract()?));
    }
    if value.is_instance_of::<PyInt>() || value.hasattr("__index__")? {
        return match value.extract::<i64>() {
            Ok(i) => Ok(toml::Value::Integer(i)),
            Err(_) => Err(PyValueError::new_err(format!(
                "{}: invalid value for `{key}`: the integer {value} is out of range",
                origin_of(key)
            ))),
        };
    }
    if let Ok(x) = value.extract::<f64>() {
        return Ok(toml::Value::Float(x));
    }
    if let Ok(path) = value.extract::<PathBuf>() {
        return Ok(toml::Value::String(path.to_string_lossy().into_owned()));
    }
    Err(PyTypeError::new_err(format!(
        "{}: invalid value for `{key}`: expected a bool, int, float or str, got {}",
        origin_of(key),
        value.get_type().name()?
    )))
}

/// The keys of a settings dictionary, each a `str`, with its value (`None` values are left out:
/// the parameter takes its default).
pub fn entries<'py>(
    settings: Option<&Bound<'py, PyDict>>,
) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let mut entries = Vec::new();
    if let Some(settings) = settings {
        for (key, value) in settings.iter() {
            let key: String = key.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "settings: keys are parameter paths (str), got {}",
                    key.repr().map_or_else(|_| "?".into(), |r| r.to_string())
                ))
            })?;
            if !value.is_none() {
                entries.push((key, value));
            }
        }
    }
    Ok(entries)
}

/// One setting of a parameter from Python; an unknown key raises `ValueError` naming it (with
/// the nearest parameter, as the command line's `--set`).
pub fn setting(key: &str, value: &Bound<'_, PyAny>) -> PyResult<Setting> {
    if spec_of(key).is_none() {
        return Err(plan_error(PlanError::UnknownKey {
            origin: origin_of(key),
            key: key.into(),
            suggestion: suggest(key),
        }));
    }
    Ok(Setting {
        value: toml_value(key, value)?,
        origin: origin_of(key),
        base: PathBuf::from("."),
    })
}

/// A settings dictionary of schema parameters, as the planner takes them.
pub fn settings(dict: Option<&Bound<'_, PyDict>>) -> PyResult<BTreeMap<String, Setting>> {
    let mut settings = BTreeMap::new();
    for (key, value) in entries(dict)? {
        let setting = setting(&key, &value)?;
        settings.insert(key, setting);
    }
    Ok(settings)
}

/// A setting the caller did not write but that follows from a supplied array (its shape).
pub fn implied(value: i64, origin: &str) -> Setting {
    Setting {
        value: toml::Value::Integer(value),
        origin: origin.into(),
        base: PathBuf::from("."),
    }
}

/// A JSON value as a Python object (objects become dicts, arrays lists).
pub fn json_to_py<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_bound_py_any(py)?,
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_bound_py_any(py)?
            } else if let Some(u) = n.as_u64() {
                u.into_bound_py_any(py)?
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)?
            }
        }
        Value::String(s) => s.into_bound_py_any(py)?,
        Value::Array(items) => {
            let items = items
                .iter()
                .map(|item| json_to_py(py, item))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// Any serializable value as a Python object, through its JSON form.
pub fn to_py<'py, T: serde::Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| runtime_error(&e))?;
    json_to_py(py, &json)
}

/// A Python object of plain data (dicts, lists, tuples, numbers, strings, numpy arrays) as JSON.
pub fn py_to_json(value: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    use serde_json::Value;
    if value.is_none() {
        return Ok(Value::Null);
    }
    if value.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(value.extract()?));
    }
    if value.is_instance_of::<PyString>() {
        return Ok(Value::String(value.extract()?));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(Value::from(value.extract::<i64>()?));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (key, item) in dict.iter() {
            map.insert(key.extract::<String>()?, py_to_json(&item)?);
        }
        return Ok(Value::Object(map));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value
            .try_iter()?
            .map(|item| py_to_json(&item?))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Value::Array(items));
    }
    if value.hasattr("tolist")? {
        return py_to_json(&value.call_method0("tolist")?);
    }
    if let Ok(x) = value.extract::<f64>() {
        return Ok(serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number));
    }
    Err(PyTypeError::new_err(format!(
        "expected plain data (dict, list, number, str), got {}",
        value.get_type().name()?
    )))
}

/// Row-major `n × d` values as a numpy array.
pub fn matrix<'py>(py: Python<'py>, values: &[f64], dim: usize) -> Bound<'py, PyArray2<f64>> {
    let rows = values.len().checked_div(dim).unwrap_or(0);
    Array2::from_shape_vec((rows, dim), values.to_vec())
        .expect("rows × dim values")
        .into_pyarray(py)
}

/// A vector as a numpy array.
pub fn vector<'py>(py: Python<'py>, values: Vec<f64>) -> Bound<'py, PyArray1<f64>> {
    PyArray1::from_vec(py, values)
}

/// A state's positions (`n × d`).
pub fn positions<'py>(py: Python<'py>, state: &State) -> Bound<'py, PyArray2<f64>> {
    matrix(py, &state.positions, state.dim.max(1))
}

/// A 2-d float array as (rows, columns, row-major values).
pub fn read_matrix(array: &PyReadonlyArray2<'_, f64>) -> (usize, usize, Vec<f64>) {
    let view = array.as_array();
    let (rows, cols) = view.dim();
    (rows, cols, view.iter().copied().collect())
}

/// An `n × d` array argument as float64, converted by numpy (lists and other dtypes accepted).
pub fn as_matrix<'py>(
    py: Python<'py>,
    name: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<(usize, usize, Vec<f64>)> {
    let numpy = py.import("numpy")?;
    let array = numpy
        .call_method1("asarray", (value, "float64"))
        .map_err(|e| PyValueError::new_err(format!("{name}: not an array of numbers: {e}")))?;
    let ndim: usize = array.getattr("ndim")?.extract()?;
    if ndim != 2 {
        return Err(PyValueError::new_err(format!(
            "{name}: expected a 2-d array, got {ndim} dimension(s)"
        )));
    }
    let array: PyReadonlyArray2<'py, f64> = array.extract()?;
    Ok(read_matrix(&array))
}

/// A 1-d array argument as float64.
pub fn as_vector<'py>(
    py: Python<'py>,
    name: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<Vec<f64>> {
    let numpy = py.import("numpy")?;
    let array = numpy
        .call_method1("asarray", (value, "float64"))
        .map_err(|e| PyValueError::new_err(format!("{name}: not an array of numbers: {e}")))?;
    let ndim: usize = array.getattr("ndim")?.extract()?;
    if ndim != 1 {
        return Err(PyValueError::new_err(format!(
            "{name}: expected a 1-d array, got {ndim} dimension(s)"
        )));
    }
    let array: numpy::PyReadonlyArray1<'py, f64> = array.extract()?;
    Ok(array.as_array().iter().copied().collect())
}
