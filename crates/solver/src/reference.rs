//! Naive, obviously correct implementations used as oracles by tests: the field pair by pair as
//! MODEL.md writes it, with the projection inside the sum, the energy as a double sum, and single
//! linkage, cluster spreads and window masses on `S^{d-1}`, `d >= 3`, over all pairs (the code
//! `clusters.rs` ran before its cell lists).

use crate::field::Dynamics;
use crate::params::Attention;
use crate::sphere::dot;
use crate::state::State;

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

/// `|a - b|²`, summed in coordinate order.
fn chord_sq(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Single-linkage components at geodesic distance `<= radius`, by a sweep along the first
/// coordinate over all pairs closer than the chord along it; each component in increasing index
/// order, ordered by their smallest index.
pub fn linkage_groups(state: &State, radius: f64) -> Vec<Vec<usize>> {
    let n = state.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let chord = 2.0 * (0.5 * radius.min(std::f64::consts::PI)).sin();
    let threshold = chord * chord;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| state.position(a)[0].total_cmp(&state.position(b)[0]));
    for (k, &i) in order.iter().enumerate() {
        let xi = state.position(i);
        for &j in &order[k + 1..] {
            let xj = state.position(j);
            if xj[0] - xi[0] > chord {
                break;
            }
            if chord_sq(xi, xj) <= threshold {
                let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                parent[ri.max(rj)] = ri.min(rj);
            }
        }
    }
    let mut slot = vec![usize::MAX; n];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let root = find(&mut parent, i);
        if slot[root] == usize::MAX {
            slot[root] = groups.len();
            groups.push(Vec::new());
        }
        groups[slot[root]].push(i);
    }
    groups
}

/// The largest `|x_i - x_j|²` over all pairs of `members` (0 for one).
pub fn widest_chord_sq(state: &State, members: &[usize]) -> f64 {
    let mut widest = 0.0f64;
    for (a, &i) in members.iter().enumerate() {
        for &j in &members[a + 1..] {
            widest = widest.max(chord_sq(state.position(i), state.position(j)));
        }
    }
    widest
}

/// The heaviest cap of geodesic radius `length / 2` centred at a particle on `S^{d-1}`,
/// `d >= 3`, over all pairs (`clusters::window_mass` without its cell lists).
pub fn window_mass(state: &State, length: f64) -> f64 {
    let threshold = (2.0 * (0.25 * length.min(std::f64::consts::TAU)).sin()).powi(2);
    (0..state.len())
        .map(|i| {
            let xi = state.position(i);
            (0..state.len())
                .filter(|&j| chord_sq(xi, state.position(j)) <= threshold)
                .map(|j| state.masses[j])
                .sum::<f64>()
        })
        .fold(0.0, f64::max)
}
