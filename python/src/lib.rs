//! `sphereflow._sphereflow`: the Python extension, thin over the crates. Each function resolves
//! its settings and runs exactly as the command line does (the same planner, solver, runner and
//! analyzer calls), with the GIL released while the work runs.
//!
//! - [`convert`]: settings dictionaries, JSON values, numpy arrays and exceptions;
//! - [`run`]: `simulate`, `load_task`, `params` and the `Run` class;
//! - [`certificate`]: the `Certificate` class;
//! - [`stationary`]: the `stationary` function;
//! - [`meanfield`]: `meanfield` and the `MeanFieldRun` class;
//! - [`sweep`]: the `Sweep` and `Task` classes.

mod certificate;
mod convert;
mod meanfield;
mod run;
mod stationary;
mod sweep;

use pyo3::prelude::*;

/// sphereflow's solver, sweeps, store and tables from Python.
#[pymodule]
fn _sphereflow(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SOLVER_REV", sphereflow_solver::SOLVER_REV)?;
    m.add("DEFAULT_STORE", sweep::DEFAULT_STORE)?;
    m.add("SimulationError", py.get_type::<convert::SimulationError>())?;
    m.add("StoreError", py.get_type::<convert::StoreError>())?;
    m.add_function(wrap_pyfunction!(run::params, m)?)?;
    m.add_function(wrap_pyfunction!(run::simulate, m)?)?;
    m.add_function(wrap_pyfunction!(run::load_task, m)?)?;
    m.add_function(wrap_pyfunction!(stationary::stationary, m)?)?;
    m.add_function(wrap_pyfunction!(meanfield::meanfield, m)?)?;
    m.add_function(wrap_pyfunction!(meanfield::meanfield_params, m)?)?;
    m.add_class::<run::Run>()?;
    m.add_class::<certificate::Certificate>()?;
    m.add_class::<meanfield::MeanFieldRun>()?;
    m.add_class::<sweep::Sweep>()?;
    m.add_class::<sweep::Task>()?;
    Ok(())
}
