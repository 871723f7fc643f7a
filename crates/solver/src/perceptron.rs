//! The perceptron block (MODEL.md §3): activations σ with primitives φ (φ' = 2σ), the weight
//! draw, the drift `u(x) = P_x Σ_j s_j σ(<a_j,x>) a_j` and the potential `v(x) = Σ_j s_j φ(<a_j,x>)`.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::SolverError;
use crate::params::{Activation, PerceptronParams, ScaleMode};
use crate::sphere::{dot, dot_fixed, random_unit_vector};

/// Stream of the ChaCha generator used for perceptron draws (the initial positions use another
/// stream, so equal seeds still give independent draws).
pub const PERCEPTRON_STREAM: u64 = 2;

const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Standard normal cdf Φ, via the exact erf.
pub fn normal_cdf(s: f64) -> f64 {
    0.5 * libm::erfc(-s * FRAC_1_SQRT_2)
}

/// Standard normal pdf ϕ.
pub fn normal_pdf(s: f64) -> f64 {
    FRAC_1_SQRT_2PI * (-0.5 * s * s).exp()
}

/// An activation with its parameters: σ and its primitive φ with `φ' = 2σ`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sigma {
    /// Which activation.
    pub activation: Activation,
    /// Slope for negative arguments (`leaky_relu` only).
    pub leaky_slope: f64,
}

impl Sigma {
    /// The activation a perceptron's parameters select.
    pub fn of(params: &PerceptronParams) -> Sigma {
        Sigma {
            activation: params.activation,
            leaky_slope: params.leaky_slope,
        }
    }

    /// σ(s).
    #[inline]
    pub fn sigma(&self, s: f64) -> f64 {
        match self.activation {
            Activation::Relu => s.max(0.0),
            Activation::Gelu => s * normal_cdf(s),
            Activation::Linear => s,
            Activation::Tanh => s.tanh(),
            Activation::LeakyRelu => {
                if s > 0.0 {
                    s
                } else {
                    self.leaky_slope * s
                }
            }
            Activation::None => 0.0,
        }
    }

    /// φ(s), the primitive with `φ' = 2σ` (MODEL.md §3 table).
    #[inline]
    pub fn phi(&self, s: f64) -> f64 {
        match self.activation {
            Activation::Relu => {
                let p = s.max(0.0);
                p * p
            }
            // d/ds [s²Φ + sϕ − Φ] = 2sΦ + s²ϕ + ϕ − s²ϕ − ϕ = 2sΦ, using ϕ' = −sϕ.
            Activation::Gelu => s * s * normal_cdf(s) + s * normal_pdf(s) - normal_cdf(s),
            Activation::Linear => s * s,
            Activation::Tanh => 2.0 * log_cosh(s),
            Activation::LeakyRelu => {
                if s > 0.0 {
                    s * s
                } else {
                    self.leaky_slope * s * s
                }
            }
            Activation::None => 0.0,
        }
    }
}

/// `log cosh s` without overflow for large |s|.
fn log_cosh(s: f64) -> f64 {
    let a = s.abs();
    a + (-2.0 * a).exp().ln_1p() - std::f64::consts::LN_2
}

/// The perceptron's weights: `m` unit directions `a_j` and scalar outputs `s_j`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Perceptron {
    /// Ambient dimension.
    pub dim: usize,
    /// Directions, row-major `m × d`, each row of unit norm.
    pub directions: Vec<f64>,
    /// Output weights `s_j`, length `m`.
    pub weights: Vec<f64>,
    /// The activation.
    pub sigma: Sigma,
}

impl Perceptron {
    /// Draws `width` directions uniform on the sphere and output weights by `scale_mode`, from
    /// `params.seed`.
    pub fn draw(dim: usize, params: &PerceptronParams) -> Perceptron {
        let mut rng = ChaCha20Rng::seed_from_u64(params.seed);
        rng.set_stream(PERCEPTRON_STREAM);
        let mut directions = Vec::with_capacity(params.width * dim);
        for _ in 0..params.width {
            directions.extend(random_unit_vector(&mut rng, dim));
        }
        let weights = (0..params.width)
            .map(|_| match params.scale_mode {
                ScaleMode::Std => {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    params.scale * z
                }
                ScaleMode::Norm => {
                    let sign: f64 = StandardNormal.sample(&mut rng);
                    if sign >= 0.0 {
                        params.scale
                    } else {
                        -params.scale
                    }
                }
            })
            .collect();
        Perceptron {
            dim,
            directions,
            weights,
            sigma: Sigma::of(params),
        }
    }

    /// Builds a perceptron from supplied rows `a_j (d values) then s_j`, as read from a weights
    /// file (`m × (d+1)`).
    ///
    /// # Errors
    /// `InvalidInput` when the shape is wrong, a value is not finite, or a direction is not a
    /// unit vector (to 1e-6).
    pub fn from_rows(
        dim: usize,
        rows: usize,
        values: &[f64],
        params: &PerceptronParams,
    ) -> Result<Perceptron, SolverError> {
        let invalid = |reason: String| SolverError::InvalidInput {
            what: "perceptron weights",
            reason,
        };
        if values.len() != rows * (dim + 1) {
            return Err(invalid(format!(
                "expected {rows} rows of {} values (a_j then s_j), got {} values",
                dim + 1,
                values.len()
            )));
        }
        let mut directions = Vec::with_capacity(rows * dim);
        let mut weights = Vec::with_capacity(rows);
        for (j, row) in values.chunks_exact(dim + 1).enumerate() {
            if let Some(bad) = row.iter().find(|v| !v.is_finite()) {
                return Err(invalid(format!("row {j} holds the non-finite value {bad}")));
            }
            let direction = &row[..dim];
            let norm = dot(direction, direction).sqrt();
            if (norm - 1.0).abs() > 1e-6 {
                return Err(invalid(format!(
                    "row {j}: direction a_j has norm {norm}, expected a unit vector"
                )));
            }
            directions.extend(direction.iter().map(|v| v / norm));
            weights.push(row[dim]);
        }
        Ok(Perceptron {
            dim,
            directions,
            weights,
            sigma: Sigma::of(params),
        })
    }

    /// Number of neurons `m`.
    pub fn width(&self) -> usize {
        self.weights.len()
    }

    /// Direction `a_j`.
    pub fn direction(&self, j: usize) -> &[f64] {
        &self.directions[j * self.dim..(j + 1) * self.dim]
    }

    /// Whether the drift is identically zero (`none`, or all output weights zero).
    pub fn is_off(&self) -> bool {
        self.sigma.activation == Activation::None || self.weights.iter().all(|&s| s == 0.0)
    }

    /// Adds the ambient (unprojected) drift `Σ_j s_j σ(<a_j,x>) a_j` to `out`.
    #[inline]
    pub fn add_ambient_drift(&self, x: &[f64], out: &mut [f64]) {
        for j in 0..self.width() {
            let a = self.direction(j);
            let coefficient = self.weights[j] * self.sigma.sigma(dot(a, x));
            for (o, &ak) in out.iter_mut().zip(a) {
                *o += coefficient * ak;
            }
        }
    }

    /// [`Self::add_ambient_drift`] in a dimension known at compile time (the same operations
    /// in the same order, unrolled).
    #[inline(always)]
    pub fn add_ambient_drift_fixed<const D: usize>(&self, x: &[f64; D], out: &mut [f64; D]) {
        for (a, &weight) in self.directions.chunks_exact(D).zip(&self.weights) {
            let a: &[f64; D] = a.try_into().expect("a direction of length D");
            let coefficient = weight * self.sigma.sigma(dot_fixed(a, x));
            for k in 0..D {
                out[k] += coefficient * a[k];
            }
        }
    }

    /// The potential `v(x) = Σ_j s_j φ(<a_j,x>)`.
    pub fn potential(&self, x: &[f64]) -> f64 {
        (0..self.width())
            .map(|j| self.weights[j] * self.sigma.phi(dot(self.direction(j), x)))
            .sum()
    }

    /// Whether the drift acts near `x`: false where it vanishes on a neighbourhood, so that
    /// only attention moves a particle there. For `relu` that is where every neuron with
    /// `s_j ≠ 0` has `<a_j,x> <= 0` (a ReLU is 0 with its derivative on that side); the other
    /// activations vanish only at isolated points, so they act wherever some `s_j ≠ 0`.
    pub fn acts_at(&self, x: &[f64]) -> bool {
        let live = |j: &usize| self.weights[*j] != 0.0;
        match self.sigma.activation {
            Activation::None => false,
            Activation::Relu => (0..self.width())
                .filter(live)
                .any(|j| dot(self.direction(j), x) > 0.0),
            _ => (0..self.width()).any(|j| live(&j)),
        }
    }

    /// Number of neurons active at `x` (`<a_j,x> > 0`).
    pub fn active_count(&self, x: &[f64]) -> usize {
        (0..self.width())
            .filter(|&j| dot(self.direction(j), x) > 0.0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two ReLU neurons at angles 0 and π/2 on S^1: the drift vanishes exactly on the closed
    /// quarter circle where both `<a_j,x> <= 0`, and acts everywhere else; a neuron with
    /// `s_j = 0` never counts; other activations act everywhere.
    #[test]
    fn relu_drift_acts_off_the_quarter_where_every_neuron_is_off() {
        let mut perceptron = Perceptron {
            dim: 2,
            directions: vec![1.0, 0.0, 0.0, 1.0],
            weights: vec![0.7, -1.3],
            sigma: Sigma {
                activation: Activation::Relu,
                leaky_slope: 0.01,
            },
        };
        let at = |degrees: f64| {
            let angle = degrees.to_radians();
            [angle.cos(), angle.sin()]
        };
        for degrees in [-80.0, 0.0, 45.0, 91.0, 170.0] {
            assert!(perceptron.acts_at(&at(degrees)), "{degrees}");
        }
        for degrees in [181.0, 225.0, 269.0] {
            let x = at(degrees);
            assert!(!perceptron.acts_at(&x), "{degrees}");
            // Where it does not act, the drift is exactly zero.
            let mut drift = [0.0; 2];
            perceptron.add_ambient_drift(&x, &mut drift);
            assert_eq!(drift, [0.0, 0.0]);
        }
        perceptron.weights[1] = 0.0;
        assert!(!perceptron.acts_at(&at(120.0)));
        perceptron.sigma.activation = Activation::Gelu;
        assert!(perceptron.acts_at(&at(225.0)));
        perceptron.sigma.activation = Activation::None;
        assert!(!perceptron.acts_at(&at(0.0)));
    }
}
