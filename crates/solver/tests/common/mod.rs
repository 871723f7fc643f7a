//! Shared helpers of the solver's tests.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sphereflow_solver::sphere::random_unit_vector;
use sphereflow_solver::testing::default_params_in;
use sphereflow_solver::{
    Activation, Attention, Kernel, Params, Perceptron, Problem, Regime, State,
};

/// A random state with unequal masses summing to one.
pub fn random_state(dim: usize, n: usize, seed: u64) -> State {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut positions = Vec::with_capacity(n * dim);
    for _ in 0..n {
        positions.extend(random_unit_vector(&mut rng, dim));
    }
    let raw: Vec<f64> = (0..n).map(|_| rng.gen_range(0.2..1.0)).collect();
    let total: f64 = raw.iter().sum();
    State {
        dim,
        positions,
        masses: raw.iter().map(|m| m / total).collect(),
    }
}

/// Parameters for a small system.
pub fn small_params(
    dim: usize,
    n: usize,
    beta: f64,
    activation: Activation,
    attention: Attention,
    regime: Regime,
    kernel: Kernel,
) -> Params {
    let mut params = default_params_in(dim);
    params.model.particles = n;
    params.model.beta = beta;
    params.model.attention = attention;
    params.model.regime = regime;
    params.model.kernel = kernel;
    params.perceptron.activation = activation;
    params
}

/// A problem starting from `state`, with the perceptron drawn from the parameters.
pub fn problem_from(params: Params, state: State) -> Problem {
    let perceptron = Perceptron::draw(params.model.dim, &params.perceptron);
    Problem::new(params, Some(state), Some(perceptron)).expect("valid test problem")
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Largest absolute value.
pub fn max_abs(a: &[f64]) -> f64 {
    a.iter().map(|x| x.abs()).fold(0.0, f64::max)
}
