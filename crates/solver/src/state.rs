//! The empirical measure `μ = Σ_i m_i δ_{x_i}`: positions on the sphere and masses.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::error::SolverError;
use crate::sphere::{norm, random_unit_vector};

/// Stream of the ChaCha generator used for initial positions.
pub const INIT_STREAM: u64 = 1;

/// Tolerance on `|x_i| - 1` for supplied positions.
pub const UNIT_NORM_TOL: f64 = 1e-6;

/// Particles on `S^{d-1}` with masses summing to one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Ambient dimension `d`.
    pub dim: usize,
    /// Positions, row-major `n × d`, unit rows.
    pub positions: Vec<f64>,
    /// Masses `m_i > 0`, summing to 1.
    pub masses: Vec<f64>,
}

impl State {
    /// `n` particles drawn uniformly on the sphere from `seed`, each of mass `1/n`.
    pub fn uniform(dim: usize, n: usize, seed: u64) -> State {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        rng.set_stream(INIT_STREAM);
        let mut positions = Vec::with_capacity(n * dim);
        for _ in 0..n {
            positions.extend(random_unit_vector(&mut rng, dim));
        }
        State {
            dim,
            positions,
            masses: vec![1.0 / n as f64; n],
        }
    }

    /// Particles at supplied positions (`n × d`, row-major), each of mass `1/n`. Rows are
    /// renormalized after checking they are unit vectors to `UNIT_NORM_TOL`.
    ///
    /// # Errors
    /// `InvalidInput` naming the first row that is non-finite or not of unit norm.
    pub fn from_positions(dim: usize, values: &[f64]) -> Result<State, SolverError> {
        let invalid = |reason: String| SolverError::InvalidInput {
            what: "initial positions",
            reason,
        };
        if dim < 2 || values.is_empty() || !values.len().is_multiple_of(dim) {
            return Err(invalid(format!(
                "expected rows of {dim} coordinates, got {} values",
                values.len()
            )));
        }
        let n = values.len() / dim;
        let mut positions = Vec::with_capacity(values.len());
        for (i, row) in values.chunks_exact(dim).enumerate() {
            if let Some(bad) = row.iter().find(|v| !v.is_finite()) {
                return Err(invalid(format!("row {i} holds the non-finite value {bad}")));
            }
            let length = norm(row);
            if (length - 1.0).abs() > UNIT_NORM_TOL {
                return Err(invalid(format!(
                    "row {i} has norm {length}, expected a point of the unit sphere"
                )));
            }
            positions.extend(row.iter().map(|v| v / length));
        }
        Ok(State {
            dim,
            positions,
            masses: vec![1.0 / n as f64; n],
        })
    }

    /// Atoms at supplied `[mass, x_1 .. x_d]` rows (`n × (d + 1)`, row-major: the layout of
    /// every state file the tool writes). Masses must be positive and finite and are normalized
    /// to sum 1; positions are checked and renormalized as by [`State::from_positions`].
    ///
    /// # Errors
    /// `InvalidInput` naming the first row with a bad mass or position.
    pub fn from_mass_rows(dim: usize, values: &[f64]) -> Result<State, SolverError> {
        let columns = dim + 1;
        if dim < 2 || values.is_empty() || !values.len().is_multiple_of(columns) {
            return Err(SolverError::InvalidInput {
                what: "initial positions",
                reason: format!(
                    "expected rows of a mass and {dim} coordinates, got {} values",
                    values.len()
                ),
            });
        }
        let mut masses = Vec::with_capacity(values.len() / columns);
        let mut positions = Vec::with_capacity(values.len() / columns * dim);
        for (i, row) in values.chunks_exact(columns).enumerate() {
            if !(row[0].is_finite() && row[0] > 0.0) {
                return Err(SolverError::InvalidInput {
                    what: "initial positions",
                    reason: format!(
                        "row {i} has mass {}, expected a positive number (rows are [mass, x_1 \
                         .. x_{dim}])",
                        row[0]
                    ),
                });
            }
            masses.push(row[0]);
            positions.extend_from_slice(&row[1..]);
        }
        let mut state = State::from_positions(dim, &positions)?;
        let total: f64 = masses.iter().sum();
        state.masses = masses.iter().map(|m| m / total).collect();
        Ok(state)
    }

    /// Number of particles (atoms, once merged).
    pub fn len(&self) -> usize {
        self.masses.len()
    }

    /// Whether there are no particles.
    pub fn is_empty(&self) -> bool {
        self.masses.is_empty()
    }

    /// Position of particle `i`.
    pub fn position(&self, i: usize) -> &[f64] {
        &self.positions[i * self.dim..(i + 1) * self.dim]
    }
}
