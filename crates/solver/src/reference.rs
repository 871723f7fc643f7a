//! Naive, obviously correct implementations used as oracles by tests: the field pair by pair as
//! MODEL.md writes it, with the projection inside the sum, and the energy as a double sum.

use crate::field::Dynamics;
use crate::params::Attention;
use crate::sphere::dot;

/// `±F_i` for every particle, term by term: `A_i = Σ_j m_j w_ij P_{x_i} x_j` (divided by
/// `Σ_j m_j w_ij` for SA), `u(x_i) = P_{x_i} Σ_k s_k σ(<a_k,x_i>) a_k`.
pub fn velocity(dynamics: &Dynamics, positions: &[f64], masses: &[f64]) -> Vec<f64> {
    let dim = dynamics.dim;
    let n = masses.len();
    let project = |x: &[f64], y: &[f64]| -> Vec<f64> {
        let c = dot(x, y);
        x.iter().zip(y).map(|(xk, yk)| yk - c * xk).collect()
    };
    let mut out = vec![0.0; n * dim];
    for i in 0..n {
        let xi = &positions[i * dim..(i + 1) * dim];
        let mut attention = vec![0.0; dim];
        let mut normalizer = 0.0;
        for j in 0..n {
            let xj = &positions[j * dim..(j + 1) * dim];
            let w = dynamics.weight(dot(xi, xj));
            normalizer += masses[j] * w;
            let p = project(xi, xj);
            for k in 0..dim {
                attention[k] += masses[j] * w * p[k];
            }
        }
        if dynamics.attention == Attention::Sa {
            attention.iter_mut().for_each(|a| *a /= normalizer);
        }
        let perceptron = &dynamics.perceptron;
        let mut drift = vec![0.0; dim];
        for neuron in 0..perceptron.width() {
            let a = perceptron.direction(neuron);
            let c = perceptron.weights[neuron] * perceptron.sigma.sigma(dot(a, xi));
            for k in 0..dim {
                drift[k] += c * a[k];
            }
        }
        let drift = project(xi, &drift);
        for k in 0..dim {
            out[i * dim + k] = dynamics.sign() * (attention[k] + drift[k]);
        }
    }
    out
}

/// `E` as a double sum (MODEL.md §4).
pub fn energy(dynamics: &Dynamics, positions: &[f64], masses: &[f64]) -> f64 {
    let dim = dynamics.dim;
    let n = masses.len();
    let mut pair = 0.0;
    let mut potential = 0.0;
    for i in 0..n {
        let xi = &positions[i * dim..(i + 1) * dim];
        for j in 0..n {
            let xj = &positions[j * dim..(j + 1) * dim];
            pair += masses[i] * masses[j] * dynamics.weight(dot(xi, xj));
        }
        potential += masses[i] * dynamics.perceptron.potential(xi);
    }
    pair / (2.0 * dynamics.beta) + 0.5 * potential
}
