//! `stationary`: the certificate of a state (MODEL.md §9) from the solver's `certify`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sphereflow_solver::{certify, CertifyOptions, Par, State};

use crate::certificate::Certificate;
use crate::convert::{as_matrix, as_vector, implied, solver_error};
use crate::run::{dynamics_of, Run};

/// Certifies a state: merges particles within `merge_tol` into atoms, polishes them onto a
/// stationary point by Newton's method, classifies it by the spectrum of the Hessian of the
/// energy and, with `escape=True`, escapes from saddles to a local optimum (MODEL.md §9).
///
/// `state` is a `Run` (its final state, under the field it ran with) or an `n × d` array of
/// unit positions (a row whose norm is off 1 by more than 1e-9 raises `ValueError` naming it),
/// with `masses` (default equal) and `settings` for the model (as in `simulate`:
/// `model.beta`, `perceptron.*`, ...). Options left `None` take the solver's defaults;
/// `newton_handover=False` lets an escape's flow run to its own stop instead of handing the rest
/// of the descent to Newton's method. `coarsen=h` merges the atoms further into groups of
/// geodesic diameter at most `h` before polishing (no chaining along arcs), as `stop.certify` does
/// for end states of more than 300 atoms; the certificate records it as `coarsened`. With
/// escapes on, a polish that stalls above the tolerance descends by trust-region Newton from the
/// atoms it started from (an escape `from` `"stalled"`); `descend=False` reports it
/// `not_stationary` instead.
#[pyfunction]
#[pyo3(signature = (state, settings=None, *, masses=None, merge_tol=None, residual_tol=None,
    max_newton_iterations=None, escape=None, max_escapes=None, escape_step=None, flow_tol=None,
    max_flow_steps=None, newton_handover=None, coarsen=None, descend=None,
    max_descent_iterations=None))]
pub fn stationary(
    py: Python<'_>,
    state: &Bound<'_, PyAny>,
    settings: Option<&Bound<'_, PyDict>>,
    masses: Option<&Bound<'_, PyAny>>,
    merge_tol: Option<f64>,
    residual_tol: Option<f64>,
    max_newton_iterations: Option<usize>,
    escape: Option<bool>,
    max_escapes: Option<usize>,
    escape_step: Option<f64>,
    flow_tol: Option<f64>,
    max_flow_steps: Option<usize>,
    newton_handover: Option<bool>,
    coarsen: Option<f64>,
    descend: Option<bool>,
    max_descent_iterations: Option<usize>,
) -> PyResult<Certificate> {
    let (dynamics, mut state) = if let Ok(run) = state.cast::<Run>() {
        if settings.is_some() {
            return Err(PyValueError::new_err(
                "settings: a Run carries its own parameters; pass positions to certify under others",
            ));
        }
        let run = run.get();
        (run.dynamics.clone(), run.final_state().clone())
    } else {
        let (rows, cols, values) = as_matrix(py, "state", state)?;
        let mut all = crate::convert::settings(settings)?;
        if !all.contains_key("model.dim") {
            all.insert("model.dim".into(), implied(cols as i64, "state"));
        }
        let dynamics = dynamics_of(&all)?;
        if cols != dynamics.dim {
            return Err(PyValueError::new_err(format!(
                "state: {cols} columns, but model.dim = {}",
                dynamics.dim
            )));
        }
        let state = State {
            dim: cols,
            positions: values,
            masses: vec![1.0 / rows.max(1) as f64; rows],
        };
        (dynamics, state)
    };
    if let Some(masses) = masses {
        let masses = as_vector(py, "masses", masses)?;
        if masses.len() != state.len() {
            return Err(PyValueError::new_err(format!(
                "masses: {} values for {} particles",
                masses.len(),
                state.len()
            )));
        }
        state.masses = masses;
    }
    let defaults = CertifyOptions::default();
    let options = CertifyOptions {
        merge_tol: merge_tol.unwrap_or(defaults.merge_tol),
        residual_tol: residual_tol.unwrap_or(defaults.residual_tol),
        max_newton_iterations: max_newton_iterations.unwrap_or(defaults.max_newton_iterations),
        escape: escape.unwrap_or(defaults.escape),
        max_escapes: max_escapes.unwrap_or(defaults.max_escapes),
        escape_step: escape_step.unwrap_or(defaults.escape_step),
        flow_tol: flow_tol.unwrap_or(defaults.flow_tol),
        max_flow_steps: max_flow_steps.unwrap_or(defaults.max_flow_steps),
        newton_handover: newton_handover.unwrap_or(defaults.newton_handover),
        coarsen,
        descend: descend.unwrap_or(defaults.descend),
        max_descent_iterations: max_descent_iterations.unwrap_or(defaults.max_descent_iterations),
    };
    let certificate = py
        .detach(|| certify(&dynamics, &state, &options, Par::Rayon))
        .map_err(solver_error)?;
    Certificate::new(certificate)
}
