//! Single linkage, cluster spreads and window masses on `S^{d-1}`, `d >= 3`, through cell lists,
//! against the all-pairs oracle of `reference`: the same components and the same spreads, bit for
//! bit, and the same window masses to rounding, on uniform, clustered and chained states and on
//! points exactly at the counting radius; and merging on S^1 joins exactly the particles that
//! have met.

mod common;

use common::random_state;
use proptest::prelude::*;
use sphereflow_solver::clusters::{
    count_and_spread, count_and_spread_within, linkage_groups, observe, widest_chord_sq,
};
use sphereflow_solver::{reference, State};

/// Normalizes `x` in place.
fn normalize(x: &mut [f64]) {
    let length = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    x.iter_mut().for_each(|v| *v /= length);
}

/// `n` particles: `groups` tight groups of angular width about `width` around random centres,
/// the rest uniform (`groups = 0`: all uniform).
fn grouped_state(dim: usize, n: usize, groups: usize, width: f64, seed: u64) -> State {
    let mut state = random_state(dim, n, seed);
    if groups == 0 {
        return state;
    }
    let centres = random_state(dim, groups, seed + 1);
    let offsets = random_state(dim, n, seed + 2);
    for i in 0..(n * 3 / 4) {
        let centre = centres.position(i % groups);
        let mut x: Vec<f64> = centre
            .iter()
            .zip(offsets.position(i))
            .map(|(c, o)| c + width * o)
            .collect();
        normalize(&mut x);
        state.positions[i * dim..(i + 1) * dim].copy_from_slice(&x);
    }
    state
}

/// Points along a great circle, consecutive ones exactly `step` apart as far as rounding goes
/// (the linkage threshold is then met with equality, up to the last bit, pair after pair), with
/// copies of a few of them.
fn chain_state(dim: usize, n: usize, step: f64, seed: u64) -> State {
    let frame = random_state(dim, 2, seed);
    let e = frame.position(0).to_vec();
    let mut f = frame.position(1).to_vec();
    let along: f64 = e.iter().zip(&f).map(|(a, b)| a * b).sum();
    f.iter_mut().zip(&e).for_each(|(fk, ek)| *fk -= along * ek);
    normalize(&mut f);
    let mut positions = Vec::with_capacity(n * dim);
    for i in 0..n {
        // Every fifth point repeats the one before it.
        let k = if i % 5 == 4 { i - 1 } else { i };
        let t = step * k as f64;
        positions.extend(e.iter().zip(&f).map(|(a, b)| t.cos() * a + t.sin() * b));
    }
    State {
        dim,
        masses: vec![1.0 / n as f64; n],
        positions,
    }
}

/// The fast measurements equal the oracle's on `state` at `radius`.
fn check(state: &State, radius: f64) {
    let groups = linkage_groups(state, radius);
    assert_eq!(
        groups,
        reference::linkage_groups(state, radius),
        "r = {radius}"
    );
    let mut widest_spread = 0.0f64;
    for group in &groups {
        let fast = widest_chord_sq(state, group);
        let slow = reference::widest_chord_sq(state, group);
        assert_eq!(fast.to_bits(), slow.to_bits(), "{} members", group.len());
        widest_spread = widest_spread.max(2.0 * (0.5 * slow.sqrt()).min(1.0).asin());
    }
    let (count, spread) = count_and_spread(state, radius);
    assert_eq!(count, groups.len());
    assert_eq!(spread.to_bits(), widest_spread.to_bits());
    // The stopping rule's questions, answered from bounds where they decide, as the exact
    // spread answers them, at limits on both sides of it and exactly at it.
    let limits = [
        radius,
        0.1 * radius,
        spread,
        spread * (1.0 - 1e-12),
        spread * (1.0 + 1e-12),
        0.5 * spread,
        2.0 * spread,
    ];
    let (count_within, within) = count_and_spread_within(state, radius, &limits);
    assert_eq!(count_within, groups.len());
    for (limit, answer) in limits.iter().zip(within) {
        assert_eq!(answer, spread <= *limit, "limit {limit}, spread {spread}");
    }
    let observed = observe(state, radius, radius, 0.05);
    assert_eq!(observed.n_clusters, groups.len());
    assert_eq!(observed.max_spread.to_bits(), widest_spread.to_bits());
    // The window mass: the same caps, summed in another order.
    for length in [radius, 2.0 * radius] {
        let fast = sphereflow_solver::clusters::window_mass(state, length);
        let slow = reference::window_mass(state, length);
        assert!(
            (fast - slow).abs() <= 1e-12,
            "length {length}: {fast} vs {slow}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn linkage_and_spreads_match_all_pairs(
        dim in prop::sample::select(vec![3usize, 4, 8]),
        n in 1usize..700,
        groups in 0usize..6,
        width in prop::sample::select(vec![1e-6, 1e-3, 0.05, 0.3, 1.0]),
        radius in prop::sample::select(vec![0.0, 1e-9, 0.02, 0.1, 0.3, std::f64::consts::FRAC_PI_6, 1.5, 3.2]),
        seed in 0u64..10_000,
    ) {
        check(&grouped_state(dim, n, groups, width, seed), radius);
    }

    #[test]
    fn chains_exactly_at_the_radius_match_all_pairs(
        dim in prop::sample::select(vec![3usize, 4, 8]),
        n in 2usize..300,
        step in prop::sample::select(vec![1e-3, 0.01, 0.05, 0.2]),
        seed in 0u64..10_000,
    ) {
        let state = chain_state(dim, n, step, seed);
        for radius in [step, step * (1.0 - 1e-15), step * (1.0 + 1e-15), 0.5 * step] {
            check(&state, radius);
        }
    }
}

#[test]
fn large_spread_and_collapsed_states_match_all_pairs() {
    for (dim, n, groups, width) in [
        (3, 4000, 0, 0.0),
        (3, 4000, 3, 1e-4),
        (3, 3000, 1, 0.4),
        (4, 3000, 0, 0.0),
        (8, 2000, 2, 1e-3),
    ] {
        let state = grouped_state(dim, n, groups, width, 7 + n as u64);
        for radius in [0.01, 0.1, std::f64::consts::FRAC_PI_6 / (dim as f64 / 3.0)] {
            check(&state, radius);
        }
    }
}

#[test]
fn antipodal_pairs_and_duplicates_match_all_pairs() {
    // Every point with its antipode and a copy: the widest chord is exactly 2.
    let base = random_state(3, 200, 3);
    let mut positions = Vec::new();
    for i in 0..base.len() {
        let x = base.position(i);
        positions.extend_from_slice(x);
        positions.extend(x.iter().map(|v| -v));
        positions.extend_from_slice(x);
    }
    let n = positions.len() / 3;
    let state = State {
        dim: 3,
        masses: vec![1.0 / n as f64; n],
        positions,
    };
    for radius in [0.0, 0.05, 0.5, 3.2] {
        check(&state, radius);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Merging on S^1 at `tol = 1e-12` joins exactly the planted pairs: particles placed
    /// `δ <= 3e-13` after another one (at `δ = 0` too), among uniform ones that are farther apart
    /// than `tol`. A state with no planted pair is left as it is (the test of the sorted circle
    /// alone), one with `k` pairs loses `k` atoms and keeps its mass.
    #[test]
    fn merging_on_the_circle_joins_exactly_the_particles_that_have_met(
        angles in prop::collection::vec(0.0..std::f64::consts::TAU, 2..60),
        planted in prop::collection::vec((0usize..60, 0.0..3e-13f64), 0..4),
    ) {
        let tol = 1e-12;
        let mut sorted = angles.clone();
        sorted.sort_by(f64::total_cmp);
        let apart = sorted.windows(2).all(|w| w[1] - w[0] > 1e-9)
            && sorted[0] + std::f64::consts::TAU - sorted[sorted.len() - 1] > 1e-9;
        prop_assume!(apart);
        let mut hosts: Vec<usize> = planted.iter().map(|&(i, _)| i % angles.len()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        let mut all = angles.clone();
        for (&host, &(_, delta)) in hosts.iter().zip(&planted) {
            all.push(angles[host] + delta);
        }
        let n = all.len();
        let mut state = State {
            dim: 2,
            positions: all.iter().flat_map(|t| [t.cos(), t.sin()]).collect(),
            masses: vec![1.0 / n as f64; n],
        };
        let before = state.clone();
        let merged = sphereflow_solver::clusters::merge_close(&mut state, tol);
        prop_assert_eq!(merged, !hosts.is_empty());
        prop_assert_eq!(state.len(), n - hosts.len());
        if hosts.is_empty() {
            prop_assert_eq!(&state, &before);
        }
        let mass: f64 = state.masses.iter().sum();
        prop_assert!((mass - 1.0).abs() < 1e-12);
    }
}
