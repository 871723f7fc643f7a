//! Typed parameters of the mean-field solver: the model (β, kernel, attention, regime and the
//! perceptron, as in the particle solver) and the numerics (`meanfield.*`), each checked once by
//! `validate` with a message naming the parameter.

use serde::{Deserialize, Serialize};
use sphereflow_solver::params::{MAX_COORDINATES, MAX_FRAMES, PAPER_KERNEL_BETA_MAX};
use sphereflow_solver::perceptron::Sigma;
use sphereflow_solver::{Activation, Attention, Dynamics, Kernel, PairKernel, Perceptron, Regime};

use crate::error::MeanFieldError;

/// Most cells a grid may have (2^26: 512 MiB per density array).
pub const MAX_CELLS: usize = 1 << 26;

/// Most snapshots a run may keep: as many as a particle run's frames.
pub const MAX_SNAPSHOTS: usize = MAX_FRAMES;

/// Most values the snapshots may hold together (`snapshots × cells`): as many as a particle
/// state's coordinates. Larger runs are refused up front rather than failing to allocate.
pub const MAX_SNAPSHOT_VALUES: usize = MAX_COORDINATES;

/// The fewest cells a grid may have: below it the MUSCL stencil and the kernel's cell averages
/// stop meaning anything.
pub const MIN_CELLS: usize = 8;

fn refuse(key: &'static str, reason: impl Into<String>) -> MeanFieldError {
    MeanFieldError::InvalidParameter {
        key,
        reason: reason.into(),
    }
}

/// The physics of the mean-field equation (MODEL.md §10): the particle model's parameters on
/// S^1, without the particles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Inverse temperature β.
    pub beta: f64,
    /// Attention weight convention.
    pub kernel: Kernel,
    /// USA or SA.
    pub attention: Attention,
    /// Ascent (`s = +1`) or descent (`s = -1`).
    pub regime: Regime,
    /// The perceptron, in dimension 2 (possibly off).
    pub perceptron: Perceptron,
}

impl Model {
    /// Pure attention (the perceptron off: activation `none`, no neuron).
    pub fn pure_attention(
        beta: f64,
        kernel: Kernel,
        attention: Attention,
        regime: Regime,
    ) -> Model {
        Model {
            beta,
            kernel,
            attention,
            regime,
            perceptron: Perceptron {
                dim: 2,
                directions: Vec::new(),
                weights: Vec::new(),
                sigma: Sigma {
                    activation: Activation::None,
                    leaky_slope: 0.0,
                },
            },
        }
    }

    /// The model of a particle system on S^1.
    ///
    /// # Errors
    /// `InvalidParameter` (`model.dim`) unless `dynamics.dim == 2`, and whatever `validate`
    /// refuses.
    pub fn from_dynamics(dynamics: &Dynamics) -> Result<Model, MeanFieldError> {
        if dynamics.dim != 2 {
            return Err(refuse(
                "model.dim",
                format!(
                    "the mean-field solver is on S^1 (dim = 2), got {}",
                    dynamics.dim
                ),
            ));
        }
        let model = Model {
            beta: dynamics.beta,
            kernel: dynamics.kernel,
            attention: dynamics.attention,
            regime: dynamics.regime,
            perceptron: dynamics.perceptron.clone(),
        };
        model.validate()?;
        Ok(model)
    }

    /// The particle dynamics of the same model (`dim = 2`, pair kernel `auto`).
    pub fn dynamics(&self) -> Dynamics {
        Dynamics {
            dim: 2,
            beta: self.beta,
            kernel: self.kernel,
            attention: self.attention,
            regime: self.regime,
            perceptron: self.perceptron.clone(),
            pair_kernel: PairKernel::Auto,
        }
    }

    /// `s`: +1 for ascent, -1 for descent.
    pub fn sign(&self) -> f64 {
        match self.regime {
            Regime::Ascent => 1.0,
            Regime::Descent => -1.0,
        }
    }

    /// The factor turning the `shifted` kernel into this one: 1, or `e^β` for `paper`.
    pub fn kernel_scale(&self) -> f64 {
        match self.kernel {
            Kernel::Shifted => 1.0,
            Kernel::Paper => self.beta.exp(),
        }
    }

    /// Checks β (positive, finite, at most 700 for `paper`) and the perceptron (dimension 2,
    /// unit directions, finite weights).
    ///
    /// # Errors
    /// `InvalidParameter` naming the first offending key.
    pub fn validate(&self) -> Result<(), MeanFieldError> {
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return Err(refuse(
                "model.beta",
                format!("must be positive and finite, got {}", self.beta),
            ));
        }
        if self.kernel == Kernel::Paper && self.beta > PAPER_KERNEL_BETA_MAX {
            return Err(refuse(
                "model.beta",
                format!(
                    "the paper kernel exp(β cos θ) overflows past β = {PAPER_KERNEL_BETA_MAX}, got {}",
                    self.beta
                ),
            ));
        }
        let perceptron = &self.perceptron;
        if perceptron.dim != 2 {
            return Err(refuse(
                "perceptron",
                format!("must live in dimension 2, got {}", perceptron.dim),
            ));
        }
        if perceptron.directions.len() != 2 * perceptron.weights.len() {
            return Err(refuse(
                "perceptron",
                format!(
                    "{} direction coordinates for {} neurons",
                    perceptron.directions.len(),
                    perceptron.weights.len()
                ),
            ));
        }
        if perceptron
            .directions
            .iter()
            .chain(&perceptron.weights)
            .any(|v| !v.is_finite())
        {
            return Err(refuse("perceptron", "holds a non-finite weight"));
        }
        for j in 0..perceptron.width() {
            let a = perceptron.direction(j);
            let norm = (a[0] * a[0] + a[1] * a[1]).sqrt();
            if (norm - 1.0).abs() > 1e-6 {
                return Err(refuse(
                    "perceptron",
                    format!("direction {j} has norm {norm}, expected a unit vector"),
                ));
            }
        }
        Ok(())
    }
}

/// The slope limiter of the MUSCL reconstruction: both are TVD, so face values stay between
/// neighbouring cell averages and the flux preserves positivity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Limiter {
    /// `minmod(a, b)`: the smaller one-sided difference, 0 at extrema (the most dissipative).
    Minmod,
    /// `2ab / (a + b)` when `a b > 0`, else 0: smooth, sharper than minmod.
    #[default]
    VanLeer,
}

impl Limiter {
    /// The limited difference of a cell from its backward and forward differences.
    #[inline]
    pub fn slope(self, backward: f64, forward: f64) -> f64 {
        let product = backward * forward;
        if product <= 0.0 {
            return 0.0;
        }
        match self {
            Limiter::Minmod => {
                if backward.abs() < forward.abs() {
                    backward
                } else {
                    forward
                }
            }
            Limiter::VanLeer => 2.0 * product / (backward + forward),
        }
    }
}

/// `meanfield.*`: the numerics of one mean-field run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanFieldParams {
    /// Number of cells `M` of the circle (`h = 2π / M`), at least 8.
    pub cells: usize,
    /// Courant number in `(0, 1]`: `dt = cfl · h / max_f |V_f|`. Positivity is guaranteed for
    /// `cfl <= 1/2` (a MUSCL face value can be twice its cell's average, and a cell can empty
    /// through both faces); above it a negative cell stops the run with an error.
    pub cfl: f64,
    /// Final time, positive and finite.
    pub t_end: f64,
    /// Number of snapshots, at least 2: the density at `t_end · j / (snapshots - 1)`,
    /// `j = 0, ..., snapshots - 1` (the initial and the final state included). Steps are cut to
    /// land on every snapshot time exactly.
    pub snapshots: usize,
    /// The MUSCL slope limiter.
    pub limiter: Limiter,
    /// Optional cap on the time step (for slow flows, where the CFL step would be huge).
    pub dt_max: Option<f64>,
    /// The run fails if `t_end` is not reached within this many steps.
    pub max_steps: u64,
    /// Steps between two rows of the mass and energy series (the final state is always a row).
    pub series_every: u64,
}

impl MeanFieldParams {
    /// Parameters with van Leer, no step cap, at most 10^7 steps and a series row every step.
    pub fn new(cells: usize, cfl: f64, t_end: f64, snapshots: usize) -> MeanFieldParams {
        MeanFieldParams {
            cells,
            cfl,
            t_end,
            snapshots,
            limiter: Limiter::VanLeer,
            dt_max: None,
            max_steps: 10_000_000,
            series_every: 1,
        }
    }

    /// Checks every numerical parameter.
    ///
    /// # Errors
    /// `InvalidParameter` naming the first offending key (`meanfield.cells`, `meanfield.cfl`,
    /// `meanfield.t_end`, `meanfield.snapshots`, `meanfield.dt_max`, `meanfield.max_steps`,
    /// `meanfield.series_every`).
    pub fn validate(&self) -> Result<(), MeanFieldError> {
        if self.cells < MIN_CELLS {
            return Err(refuse(
                "meanfield.cells",
                format!("must be at least {MIN_CELLS}, got {}", self.cells),
            ));
        }
        if self.cells > MAX_CELLS {
            return Err(refuse(
                "meanfield.cells",
                format!("must be at most {MAX_CELLS}, got {}", self.cells),
            ));
        }
        if !(self.cfl > 0.0 && self.cfl <= 1.0) {
            return Err(refuse(
                "meanfield.cfl",
                format!("must be in (0, 1], got {}", self.cfl),
            ));
        }
        if !(self.t_end.is_finite() && self.t_end > 0.0) {
            return Err(refuse(
                "meanfield.t_end",
                format!("must be positive and finite, got {}", self.t_end),
            ));
        }
        if self.snapshots < 2 {
            return Err(refuse(
                "meanfield.snapshots",
                format!(
                    "must be at least 2 (the initial and the final state), got {}",
                    self.snapshots
                ),
            ));
        }
        if self.snapshots > MAX_SNAPSHOTS {
            return Err(refuse(
                "meanfield.snapshots",
                format!("must be at most {MAX_SNAPSHOTS}, got {}", self.snapshots),
            ));
        }
        if self.snapshots.saturating_mul(self.cells) > MAX_SNAPSHOT_VALUES {
            return Err(refuse(
                "meanfield.snapshots",
                format!(
                    "{} snapshots of {} cells hold more than {MAX_SNAPSHOT_VALUES} values: keep \
                     at most {}",
                    self.snapshots,
                    self.cells,
                    MAX_SNAPSHOT_VALUES / self.cells
                ),
            ));
        }
        if let Some(dt_max) = self.dt_max {
            if !(dt_max.is_finite() && dt_max > 0.0) {
                return Err(refuse(
                    "meanfield.dt_max",
                    format!("must be positive and finite, got {dt_max}"),
                ));
            }
        }
        if self.max_steps < 1 {
            return Err(refuse("meanfield.max_steps", "must be at least 1"));
        }
        if self.series_every < 1 {
            return Err(refuse("meanfield.series_every", "must be at least 1"));
        }
        Ok(())
    }

    /// The snapshot times `t_end · j / (snapshots - 1)`, the last exactly `t_end`.
    pub fn snapshot_times(&self) -> Vec<f64> {
        let last = self.snapshots - 1;
        (0..self.snapshots)
            .map(|j| {
                if j == last {
                    self.t_end
                } else {
                    self.t_end * j as f64 / last as f64
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key and reason `validate` refuses `params` with, if it does.
    fn refusal(params: &MeanFieldParams) -> Option<String> {
        params.validate().err().map(|error| error.to_string())
    }

    #[test]
    fn snapshot_counts_too_large_to_hold_are_refused_by_name() {
        assert_eq!(
            refusal(&MeanFieldParams::new(512, 0.5, 1.0, MAX_SNAPSHOTS)),
            None
        );
        for (cells, snapshots, expected) in [
            (512, 100_000_000, "must be at most 1000000, got 100000000"),
            (
                MAX_CELLS,
                100,
                "100 snapshots of 67108864 cells hold more than",
            ),
        ] {
            let refused =
                refusal(&MeanFieldParams::new(cells, 0.5, 1.0, snapshots)).expect("refused");
            assert!(refused.contains("meanfield.snapshots"), "{refused}");
            assert!(refused.contains(expected), "{refused}");
        }
    }
}
