//! Shared helpers of the mean-field tests: models with a drawn perceptron, particle sampling
//! and the particle field in angles.

#![allow(dead_code)]

use std::f64::consts::TAU;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sphereflow_meanfield::Model;
use sphereflow_solver::testing::default_params;
use sphereflow_solver::{Activation, Attention, Dynamics, Kernel, Par, Perceptron, Regime};

/// A model with the default perceptron draw (seed 777, width 2) and the given activation.
pub fn model(
    beta: f64,
    kernel: Kernel,
    attention: Attention,
    regime: Regime,
    activation: Activation,
) -> Model {
    let mut params = default_params().perceptron;
    params.activation = activation;
    let mut model = Model::pure_attention(beta, kernel, attention, regime);
    if activation != Activation::None {
        model.perceptron = Perceptron::draw(2, &params);
    }
    model
}

/// Unit vectors of `angles`, flattened.
pub fn positions(angles: &[f64]) -> Vec<f64> {
    angles.iter().flat_map(|t| [t.cos(), t.sin()]).collect()
}

/// The particle system's angular velocities `θ̇_i = <±F_i, e_θ>` (MODEL.md §4).
pub fn angular_velocity(dynamics: &Dynamics, angles: &[f64], masses: &[f64]) -> Vec<f64> {
    let x = positions(angles);
    let mut field = vec![0.0; x.len()];
    dynamics.velocity(&x, masses, &mut field, Par::Seq);
    angles
        .iter()
        .zip(field.chunks_exact(2))
        .map(|(t, f)| -t.sin() * f[0] + t.cos() * f[1])
        .collect()
}

/// `n` angles drawn from the piecewise-constant density `density` (inverse cdf), seeded.
pub fn sample(density: &[f64], n: usize, seed: u64) -> Vec<f64> {
    let h = TAU / density.len() as f64;
    let total: f64 = density.iter().sum();
    let mut cumulative = Vec::with_capacity(density.len() + 1);
    cumulative.push(0.0);
    for d in density {
        cumulative.push(cumulative.last().unwrap() + d / total);
    }
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u: f64 = rng.gen();
            let cell = cumulative
                .partition_point(|&c| c <= u)
                .clamp(1, density.len())
                - 1;
            let inside = (u - cumulative[cell]) / (cumulative[cell + 1] - cumulative[cell]);
            (cell as f64 + inside.clamp(0.0, 1.0)) * h
        })
        .collect()
}

/// The piecewise-constant `density` as `q` equal atoms per cell at sub-cell midpoints.
pub fn atoms_of(density: &[f64], q: usize) -> (Vec<f64>, Vec<f64>) {
    let h = TAU / density.len() as f64;
    let mut angles = Vec::with_capacity(density.len() * q);
    let mut masses = Vec::with_capacity(density.len() * q);
    for (i, &rho) in density.iter().enumerate() {
        for s in 0..q {
            angles.push((i as f64 + (s as f64 + 0.5) / q as f64) * h);
            masses.push(rho * h / q as f64);
        }
    }
    (angles, masses)
}

/// Mean of fine cells onto a coarse grid (`fine.len()` a multiple of `cells`): the exact cell
/// averages of the fine piecewise-constant density.
pub fn coarsen(fine: &[f64], cells: usize) -> Vec<f64> {
    let ratio = fine.len() / cells;
    fine.chunks_exact(ratio)
        .map(|c| c.iter().sum::<f64>() / ratio as f64)
        .collect()
}

/// `Σ_i h |a_i - b_i|`.
pub fn l1(a: &[f64], b: &[f64]) -> f64 {
    let h = TAU / a.len() as f64;
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() * h
}

/// A random unit-mass density with a few smooth bumps (for invariance tests).
pub fn random_direction(rng: &mut impl Rng) -> f64 {
    rng.gen::<f64>() * TAU
}
