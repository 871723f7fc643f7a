//! The `Certificate` class: a certified stationary state (MODEL.md §9) as the solver's
//! `certify` returns it or the store keeps it.

use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;

use crate::convert::{json_to_py, matrix, runtime_error, vector, StoreError};

/// A certified stationary state: its classification, residual, spectrum and atoms.
#[pyclass(frozen, module = "sphereflow")]
pub struct Certificate {
    inner: sphereflow_solver::Certificate,
    json: serde_json::Value,
}

impl Certificate {
    /// A certificate from its JSON form (as the store keeps it).
    ///
    /// # Errors
    /// `StoreError` when the JSON is not a certificate.
    pub fn from_json(json: serde_json::Value) -> PyResult<Certificate> {
        let inner = serde_json::from_value(json.clone())
            .map_err(|e| StoreError::new_err(format!("certificate: {e}")))?;
        Ok(Certificate { inner, json })
    }

    pub fn new(inner: sphereflow_solver::Certificate) -> PyResult<Certificate> {
        let json = serde_json::to_value(&inner).map_err(|e| runtime_error(&e))?;
        Ok(Certificate { inner, json })
    }
}

#[pymethods]
impl Certificate {
    /// `strict`, `sopd`, `saddle`, `kink`, `undefined`, `unresolved` or `not_stationary`.
    #[getter]
    fn classification(&self) -> String {
        self.json["classification"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Whether the state is a local optimum to second order (`strict` or `sopd`).
    #[getter]
    fn is_sopd(&self) -> bool {
        self.inner.classification.is_sopd()
    }

    /// `max_a |F_a|` at the certified atoms.
    #[getter]
    fn residual(&self) -> f64 {
        self.inner.residual
    }

    /// The field scale the residual is measured against.
    #[getter]
    fn field_scale(&self) -> f64 {
        self.inner.field_scale
    }

    /// Eigenvalues of the mass-weighted objective Hessian, ascending (empty for SA).
    #[getter]
    fn eigenvalues<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.inner.eigenvalues.clone())
    }

    /// The smallest eigenvalue off the rotation zero modes (`None` for SA or when none is left).
    #[getter]
    fn lambda_min(&self) -> Option<f64> {
        self.inner.lambda_min
    }

    /// The spectral norm of the mass-weighted Hessian.
    #[getter]
    fn hessian_norm(&self) -> f64 {
        self.inner.hessian_norm
    }

    /// Eigenvalues within this of 0 count as zero.
    #[getter]
    fn threshold(&self) -> f64 {
        self.inner.threshold
    }

    /// The number of rotation (symmetry) zero modes in the spectrum.
    #[getter]
    fn zero_modes(&self) -> usize {
        self.inner.zero_modes
    }

    /// The atoms' positions, `k × d`.
    #[getter]
    fn atoms<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        let state = self.inner.state();
        matrix(py, &state.positions, state.dim.max(1))
    }

    /// The atoms' masses.
    #[getter]
    fn masses<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.inner.atoms.iter().map(|a| a.mass).collect())
    }

    /// The energy of the atoms.
    #[getter]
    fn energy(&self) -> f64 {
        self.inner.energy
    }

    /// The energy of the state as given, before merging and polishing (None for a certificate
    /// stored before it was kept).
    #[getter]
    fn energy_given(&self) -> Option<f64> {
        self.inner.energy_given
    }

    /// Newton iterations of the final polish.
    #[getter]
    fn newton_iterations(&self) -> usize {
        self.inner.newton_iterations
    }

    /// `max_a |F_a|` at the start of the final polish and after each Newton step.
    #[getter]
    fn residual_history<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vector(py, self.inner.residual_history.clone())
    }

    /// The escapes, in order (dicts; `from` is `saddle` or `stalled`).
    #[getter]
    fn escapes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.json["escapes"])
    }

    /// Whether the perceptron is below the rounding of attention (then `unresolved`).
    #[getter]
    fn perceptron_unresolved(&self) -> bool {
        self.inner.perceptron_unresolved
    }

    /// The atom on a ReLU kink, if any: a dict of `atom`, `neuron`, `distance`.
    #[getter]
    fn kink<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.json["kink"])
    }

    /// The diameter of the groups the state was merged into before polishing (`coarsen`), or
    /// `None` when it was not coarsened.
    #[getter]
    fn coarsened(&self) -> Option<f64> {
        self.inner.coarsened
    }

    /// The Hausdorff distance (geodesic, radians) between the given state's particles and the
    /// certified atoms, or `None` in a certificate stored before it was kept.
    #[getter]
    fn distance_given(&self) -> Option<f64> {
        self.inner.distance_given
    }

    /// Everything as plain data (the JSON form the store keeps).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.json)
    }

    fn __repr__(&self) -> String {
        format!(
            "Certificate({}: {} atoms, residual {:.2e}, lambda_min {}, {} zero modes, {} Newton iterations)",
            self.classification(),
            self.inner.atoms.len(),
            self.inner.residual,
            self.inner
                .lambda_min
                .map_or_else(|| "none".to_string(), |l| format!("{l:.4e}")),
            self.inner.zero_modes,
            self.inner.newton_iterations
        )
    }
}
