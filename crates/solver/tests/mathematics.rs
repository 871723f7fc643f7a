//! The field, the energy and the perceptron against the mathematics of MODEL.md.

mod common;

use common::*;
use sphereflow_solver::perceptron::Sigma;
use sphereflow_solver::sphere::{dot, project_tangent};
use sphereflow_solver::Par;
use sphereflow_solver::{reference, Activation, Attention, Kernel, Regime};

const SMOOTH: [Activation; 6] = [
    Activation::Relu,
    Activation::Gelu,
    Activation::Linear,
    Activation::Tanh,
    Activation::LeakyRelu,
    Activation::None,
];

/// For USA, `F_i = (1/m_i) P_{x_i} ∇_{x_i} E`, checked by central differences of the energy.
#[test]
fn usa_field_is_the_wasserstein_gradient_of_the_energy() {
    let mut cases = 0;
    for dim in [2, 3, 5] {
        for activation in SMOOTH {
            for (kernel, beta) in [(Kernel::Shifted, 3.0), (Kernel::Paper, 1.5)] {
                let params = small_params(
                    dim,
                    9,
                    beta,
                    activation,
                    Attention::Usa,
                    Regime::Ascent,
                    kernel,
                );
                let state = random_state(dim, 9, 17 + dim as u64);
                let problem = problem_from(params, state.clone());
                let dynamics = &problem.dynamics;
                let mut field = vec![0.0; state.positions.len()];
                dynamics.velocity(&state.positions, &state.masses, &mut field, Par::Seq);
                let h = 1e-6;
                let mut gradient = vec![0.0; state.positions.len()];
                for i in 0..state.len() {
                    let mut g = vec![0.0; dim];
                    for k in 0..dim {
                        let mut plus = state.positions.clone();
                        let mut minus = state.positions.clone();
                        plus[i * dim + k] += h;
                        minus[i * dim + k] -= h;
                        let e_plus = dynamics.energy(&plus, &state.masses, Par::Seq);
                        let e_minus = dynamics.energy(&minus, &state.masses, Par::Seq);
                        g[k] = (e_plus - e_minus) / (2.0 * h) / state.masses[i];
                    }
                    project_tangent(state.position(i), &mut g);
                    gradient[i * dim..(i + 1) * dim].copy_from_slice(&g);
                }
                let error = max_abs_diff(&field, &gradient) / max_abs(&field).max(1e-300);
                assert!(
                    error <= 1e-6,
                    "dim {dim}, {activation}, {kernel}: relative error {error:e}"
                );
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 36);
}

/// `φ' = 2σ` for every activation, by central differences away from the kinks.
#[test]
fn primitives_differentiate_to_twice_sigma() {
    for activation in SMOOTH {
        let sigma = Sigma {
            activation,
            leaky_slope: 0.07,
        };
        for k in 0..400 {
            let s = -6.0 + 12.0 * (k as f64 + 0.37) / 400.0;
            let h = 1e-5;
            let derivative = (sigma.phi(s + h) - sigma.phi(s - h)) / (2.0 * h);
            let expected = 2.0 * sigma.sigma(s);
            assert!(
                (derivative - expected).abs() <= 1e-7 * (1.0 + expected.abs()),
                "{activation} at {s}: φ' = {derivative}, 2σ = {expected}"
            );
        }
    }
}

/// The GeLU primitive needs its `−Φ` term: without it φ' would be `2σ + ϕ`, so the check above
/// fails for the wrong formula. This pins values computed by hand: φ(0) = 0·Φ + 0·ϕ − ½ = −½.
#[test]
fn gelu_primitive_has_the_normal_cdf_term() {
    let sigma = Sigma {
        activation: Activation::Gelu,
        leaky_slope: 0.0,
    };
    assert!((sigma.phi(0.0) + 0.5).abs() < 1e-15);
    // s = 1: Φ(1) = 0.8413447460685429, ϕ(1) = 0.24197072451914337.
    let expected = 0.8413447460685429 + 0.24197072451914337 - 0.8413447460685429;
    assert!((sigma.phi(1.0) - expected).abs() < 1e-14);
}

/// The fused kernel agrees with the pair-by-pair reference on every combination of options.
#[test]
fn fused_kernel_matches_reference_on_every_option() {
    for dim in [2, 3, 4] {
        for activation in SMOOTH {
            for attention in [Attention::Usa, Attention::Sa] {
                for regime in [Regime::Ascent, Regime::Descent] {
                    for kernel in [Kernel::Shifted, Kernel::Paper] {
                        let n = 23;
                        let params =
                            small_params(dim, n, 4.0, activation, attention, regime, kernel);
                        let state = random_state(dim, n, 3);
                        let problem = problem_from(params, state.clone());
                        let mut fast = vec![0.0; state.positions.len()];
                        problem.dynamics.velocity(
                            &state.positions,
                            &state.masses,
                            &mut fast,
                            Par::Rayon,
                        );
                        let slow =
                            reference::velocity(&problem.dynamics, &state.positions, &state.masses);
                        let error = max_abs_diff(&fast, &slow);
                        assert!(error <= 1e-12 * (1.0 + max_abs(&slow)), "{error:e}");
                        let e_fast =
                            problem
                                .dynamics
                                .energy(&state.positions, &state.masses, Par::Rayon);
                        let e_slow =
                            reference::energy(&problem.dynamics, &state.positions, &state.masses);
                        assert!((e_fast - e_slow).abs() <= 1e-12 * (1.0 + e_slow.abs()));
                    }
                }
            }
        }
    }
}

/// The field is tangent: `<x_i, F_i> = 0`.
#[test]
fn field_is_tangent() {
    let params = small_params(
        4,
        30,
        2.0,
        Activation::Gelu,
        Attention::Sa,
        Regime::Descent,
        Kernel::Shifted,
    );
    let state = random_state(4, 30, 8);
    let problem = problem_from(params, state.clone());
    let mut field = vec![0.0; state.positions.len()];
    problem
        .dynamics
        .velocity(&state.positions, &state.masses, &mut field, Par::Seq);
    for i in 0..30 {
        let radial = dot(state.position(i), &field[i * 4..(i + 1) * 4]);
        assert!(radial.abs() < 1e-14, "particle {i}: {radial}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn activation() -> impl Strategy<Value = Activation> {
        prop::sample::select(SMOOTH.to_vec())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// On random systems the fast field equals the naive one.
        #[test]
        fn fast_field_matches_naive(
            dim in 2usize..6,
            n in 1usize..40,
            beta in 0.01f64..60.0,
            seed in 0u64..1000,
            act in activation(),
            sa in any::<bool>(),
            ascent in any::<bool>(),
        ) {
            let attention = if sa { Attention::Sa } else { Attention::Usa };
            let regime = if ascent { Regime::Ascent } else { Regime::Descent };
            let params = small_params(dim, n, beta, act, attention, regime, Kernel::Shifted);
            let state = random_state(dim, n, seed);
            let problem = problem_from(params, state.clone());
            let mut fast = vec![0.0; state.positions.len()];
            problem.dynamics.velocity(&state.positions, &state.masses, &mut fast, Par::Rayon);
            let slow = reference::velocity(&problem.dynamics, &state.positions, &state.masses);
            prop_assert!(max_abs_diff(&fast, &slow) <= 1e-12 * (1.0 + max_abs(&slow)));
        }
    }
}
