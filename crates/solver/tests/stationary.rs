//! Certified stationary states (MODEL.md §9): the exact gradient and Hessian against finite
//! differences of the energy oracle, analytic spectra, saddles and escapes, Newton's quadratic
//! convergence, rotation equivariance, SA, the precision guard, the field scale of weakly
//! interacting atoms, a whole run's end state, and the coarsening of end states of too many atoms.
//!
//! Long file: every property of a certificate is tested here, beside the shared constructors of
//! dynamics, perceptrons and states near saddles.

mod common;

use common::*;
use sphereflow_solver::clusters::{bounded_groups, merge_close, merge_within};
use sphereflow_solver::sphere::{dot, norm};
use sphereflow_solver::stationary::{self, tangent_basis};
use sphereflow_solver::{
    certify, certify_options, coarsening, reference, simulate, simulate_certified, Activation,
    Attention, CertifyOptions, Classification, Conclusion, Dynamics, EscapeFrom, Kernel, Par,
    Perceptron, Problem, Regime, Simulation, State, StopReason, COARSEN_MAX, MAX_CERTIFIED_ATOMS,
    SETTLED_SPREAD,
};

const ACTIVATIONS: [Activation; 6] = [
    Activation::Relu,
    Activation::Gelu,
    Activation::Linear,
    Activation::Tanh,
    Activation::LeakyRelu,
    Activation::None,
];

fn dynamics(
    dim: usize,
    beta: f64,
    activation: Activation,
    attention: Attention,
    regime: Regime,
    kernel: Kernel,
) -> Dynamics {
    let params = small_params(dim, 4, beta, activation, attention, regime, kernel);
    problem_from(params.clone(), State::uniform(dim, 4, 1)).dynamics
}

/// A perceptron with the given directions and output weights.
fn perceptron(dim: usize, activation: Activation, rows: &[(Vec<f64>, f64)]) -> Perceptron {
    Perceptron {
        dim,
        directions: rows.iter().flat_map(|(a, _)| a.clone()).collect(),
        weights: rows.iter().map(|(_, s)| *s).collect(),
        sigma: sphereflow_solver::perceptron::Sigma {
            activation,
            leaky_slope: 0.01,
        },
    }
}

/// Moves every atom along the geodesic with initial tangent coordinates `t · xi_a`.
fn geodesic(state: &State, xi: &[f64], t: f64) -> State {
    let dim = state.dim;
    let mut moved = state.clone();
    for a in 0..state.len() {
        let basis = tangent_basis(state.position(a));
        let mut v = vec![0.0; dim];
        for (i, u) in basis.chunks_exact(dim).enumerate() {
            for k in 0..dim {
                v[k] += t * xi[a * (dim - 1) + i] * u[k];
            }
        }
        let speed = norm(&v);
        let x = state.position(a);
        for k in 0..dim {
            moved.positions[a * dim + k] = if speed == 0.0 {
                x[k]
            } else {
                x[k] * speed.cos() + v[k] / speed * speed.sin()
            };
        }
    }
    moved
}

/// The first random state of `n` atoms (seeds from `first_seed` on) with every
/// `|<a_j, x_a>| > 0.05`: away from ReLU kinks, where the energy is smooth.
fn state_off_kinks(dynamics: &Dynamics, n: usize, first_seed: u64) -> State {
    let dim = dynamics.perceptron.dim;
    (0..)
        .map(|seed| random_state(dim, n, first_seed + seed))
        .find(|s| {
            (0..s.len()).all(|a| {
                (0..dynamics.perceptron.width())
                    .all(|j| dot(dynamics.perceptron.direction(j), s.position(a)).abs() > 0.05)
            })
        })
        .unwrap()
}

fn quadratic_form(matrix: &[f64], xi: &[f64]) -> f64 {
    let n = xi.len();
    (0..n)
        .map(|i| xi[i] * (0..n).map(|j| matrix[i * n + j] * xi[j]).sum::<f64>())
        .sum()
}

#[test]
fn gradient_and_hessian_match_finite_differences_of_the_energy() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for dim in [2, 3, 4] {
        for kernel in [Kernel::Shifted, Kernel::Paper] {
            for activation in ACTIVATIONS {
                let dynamics = dynamics(
                    dim,
                    1.5,
                    activation,
                    Attention::Usa,
                    Regime::Descent,
                    kernel,
                );
                let state = state_off_kinks(&dynamics, 4, 100);
                let label = format!("d = {dim}, {kernel:?}, {activation:?}");
                // The field is the repo's (sign removed), and the energy the oracle's.
                let field = stationary::field(&dynamics, &state);
                let velocity = reference::velocity(&dynamics, &state.positions, &state.masses);
                let signed: Vec<f64> = field.iter().map(|f| dynamics.sign() * f).collect();
                assert!(max_abs_diff(&signed, &velocity) < 1e-13, "{label}");
                let e = |s: &State| reference::energy(&dynamics, &s.positions, &s.masses);
                assert!((stationary::energy(&dynamics, &state) - e(&state)).abs() < 1e-13);
                let gradient = stationary::gradient(&dynamics, &state);
                let hessian = stationary::hessian(&dynamics, &state);
                let size = gradient.len();
                let h_norm = max_abs(&hessian).max(1.0);
                let g_norm = max_abs(&gradient).max(1.0);
                // Gradient: central differences along each coordinate's geodesic.
                for i in 0..size {
                    let mut xi = vec![0.0; size];
                    xi[i] = 1.0;
                    let h = 1e-5;
                    let fd =
                        (e(&geodesic(&state, &xi, h)) - e(&geodesic(&state, &xi, -h))) / (2.0 * h);
                    assert!(
                        (fd - gradient[i]).abs() < 1e-7 * g_norm,
                        "{label}: gradient {i}: {fd} vs {}",
                        gradient[i]
                    );
                }
                // Hessian: along geodesics the second derivative is the quadratic form, for the
                // coordinate directions, their pairwise sums and random directions.
                let mut directions: Vec<Vec<f64>> = Vec::new();
                for i in 0..size {
                    for j in i..size {
                        let mut xi = vec![0.0; size];
                        xi[i] += 1.0;
                        xi[j] += 1.0;
                        directions.push(xi);
                    }
                }
                for _ in 0..5 {
                    directions.push((0..size).map(|_| rng.gen_range(-1.0..1.0)).collect());
                }
                for xi in &directions {
                    let h = 1e-4;
                    let fd = (e(&geodesic(&state, xi, h)) - 2.0 * e(&state)
                        + e(&geodesic(&state, xi, -h)))
                        / (h * h);
                    let exact = quadratic_form(&hessian, xi);
                    assert!(
                        (fd - exact).abs() < 2e-5 * h_norm * dot(xi, xi).max(1.0),
                        "{label}: {fd} vs {exact}"
                    );
                }
                // Symmetric.
                for i in 0..size {
                    for j in 0..size {
                        assert!((hessian[i * size + j] - hessian[j * size + i]).abs() < 1e-12);
                    }
                }
            }
        }
    }
}

/// `k` equal atoms equally spaced on S^1, pure attention, descent. In angles
/// `E = (m²/2β) Σ_a Σ_b W(θ_a − θ_b)`, `W(θ) = e^{β(cos θ − 1)}`, so `∂²E/∂θ_a∂θ_b = −(m²/β)
/// W''(θ_a − θ_b)` off the diagonal and the rows sum to zero: `H = (m²/β) L`, `L` the circulant
/// Laplacian with weights `W''(2πj/k)`, `W''(θ) = β (β sin²θ − cos θ) W(θ)`. Mass-weighted
/// (÷ m), its eigenvalues are `λ_p = (m/β) Σ_{j=1}^{k-1} W''(2πj/k) (1 − cos(2πpj/k))`.
#[test]
fn equally_spaced_atoms_on_the_circle_have_the_circulant_spectrum() {
    for (k, beta) in [(5usize, 1.0), (8, 3.0), (3, 0.5)] {
        let m = 1.0 / k as f64;
        let tau = std::f64::consts::TAU;
        let positions: Vec<f64> = (0..k)
            .flat_map(|a| {
                let theta = tau * a as f64 / k as f64 + 0.3;
                [theta.cos(), theta.sin()]
            })
            .collect();
        let state = State {
            dim: 2,
            positions,
            masses: vec![m; k],
        };
        let dynamics = dynamics(
            2,
            beta,
            Activation::None,
            Attention::Usa,
            Regime::Descent,
            Kernel::Shifted,
        );
        let cert = certify(&dynamics, &state, &CertifyOptions::default(), Par::Seq).unwrap();
        let w2 = |theta: f64| {
            beta * (beta * theta.sin().powi(2) - theta.cos()) * (beta * (theta.cos() - 1.0)).exp()
        };
        let mut expected: Vec<f64> = (0..k)
            .map(|p| {
                (1..k)
                    .map(|j| {
                        let theta = tau * j as f64 / k as f64;
                        w2(theta) * (1.0 - (theta * p as f64).cos())
                    })
                    .sum::<f64>()
                    * m
                    / beta
            })
            .collect();
        expected.sort_by(f64::total_cmp);
        assert_eq!(cert.atoms.len(), k);
        assert!(cert.residual <= 1e-12 * cert.field_scale);
        assert!(cert.classification.is_sopd(), "{:?}", cert.classification);
        assert_eq!(cert.zero_modes, 1, "k = {k}");
        assert_eq!(cert.eigenvalues.len(), k);
        for (got, want) in cert.eigenvalues.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-10, "k = {k}: {got} vs {want}");
        }
    }
}

#[test]
fn antipodal_atoms_in_ascent_are_a_saddle_and_escape_to_one_atom() {
    let state = State {
        dim: 3,
        positions: vec![0.0, 0.6, 0.8, 0.0, -0.6, -0.8],
        masses: vec![0.5, 0.5],
    };
    let dynamics = dynamics(
        3,
        1.0,
        Activation::None,
        Attention::Usa,
        Regime::Ascent,
        Kernel::Shifted,
    );
    let options = CertifyOptions::default();
    let cert = certify(&dynamics, &state, &options, Par::Seq).unwrap();
    assert_eq!(cert.classification, Classification::Saddle);
    // Rotations about the pair's axis move nothing: 2 of so(3)'s 3 act.
    assert_eq!(cert.zero_modes, 2);
    assert!(cert.lambda_min.unwrap() < 0.0);
    assert!(cert.escapes.is_empty());

    let escaping = CertifyOptions {
        escape: true,
        ..options
    };
    let cert = certify(&dynamics, &state, &escaping, Par::Seq).unwrap();
    assert!(cert.classification.is_sopd(), "{:?}", cert.classification);
    assert_eq!(cert.atoms.len(), 1);
    assert!((cert.atoms[0].mass - 1.0).abs() < 1e-15);
    assert!(!cert.escapes.is_empty());
    // Ascent raises the energy.
    assert!(cert.energy > cert.escapes[0].energy_before);
}

/// Two antipodal atoms at `±e_1` on S^1 with the linear perceptron `v = x_1² + 0.9 x_2²`, in
/// descent: stationary by symmetry, each atom at a maximum of `v` (curvature −0.1 per unit mass
/// along the common rotation), attention positive on the relative mode (`e^{-2β}` at β = 0.5):
/// a saddle. The minimum is the pair at `±e_2`.
fn perceptron_saddle(dim: usize) -> (Dynamics, State) {
    let mut dynamics = dynamics(
        dim,
        0.5,
        Activation::Linear,
        Attention::Usa,
        Regime::Descent,
        Kernel::Shifted,
    );
    let unit = |i: usize| (0..dim).map(|k| if k == i { 1.0 } else { 0.0 }).collect();
    let mut rows = vec![(unit(0), 1.0), (unit(1), 0.9)];
    for i in 2..dim {
        rows.push((unit(i), 0.95));
    }
    dynamics.perceptron = perceptron(dim, Activation::Linear, &rows);
    let mut positions = vec![0.0; 2 * dim];
    positions[0] = 1.0;
    positions[dim] = -1.0;
    // Near the saddle, not on it.
    positions[1] = 3e-3;
    positions[dim + 1] = 1e-3;
    let mut state = State {
        dim,
        positions,
        masses: vec![0.5, 0.5],
    };
    for a in 0..2 {
        let x = &mut state.positions[a * dim..(a + 1) * dim];
        let length = norm(x);
        x.iter_mut().for_each(|v| *v /= length);
    }
    (dynamics, state)
}

#[test]
fn a_perceptron_saddle_is_found_and_escaped_to_a_lower_sopd_state() {
    for dim in [2, 3] {
        let (dynamics, state) = perceptron_saddle(dim);
        let options = CertifyOptions::default();
        let cert = certify(&dynamics, &state, &options, Par::Seq).unwrap();
        assert_eq!(cert.classification, Classification::Saddle, "d = {dim}");
        assert_eq!(cert.zero_modes, 0);
        assert!(cert.residual <= 1e-12 * cert.field_scale);
        // Polished back onto ±e_1.
        assert!((cert.atoms[0].position[0].abs() - 1.0).abs() < 1e-12);
        let saddle_energy = cert.energy;
        let cert = certify(
            &dynamics,
            &state,
            &CertifyOptions {
                escape: true,
                ..options
            },
            Par::Seq,
        )
        .unwrap();
        assert_eq!(cert.classification, Classification::Strict, "d = {dim}");
        assert!(cert.energy < saddle_energy - 1e-3);
        assert!(!cert.escapes.is_empty());
        assert_eq!(cert.atoms.len(), 2);
        for atom in &cert.atoms {
            assert!((atom.position[1].abs() - 1.0).abs() < 1e-10, "{atom:?}");
        }
    }
}

#[test]
fn newton_converges_quadratically() {
    let (dynamics, mut state) = perceptron_saddle(2);
    // Start 0.2 rad off the minimum ±e_2.
    state.positions = vec![0.2f64.sin(), 0.2f64.cos(), -(0.1f64.sin()), -(0.1f64.cos())];
    let cert = certify(&dynamics, &state, &CertifyOptions::default(), Par::Seq).unwrap();
    assert_eq!(cert.classification, Classification::Strict);
    let history = &cert.residual_history;
    assert!(history.len() >= 4, "{history:?}");
    assert!(history.len() <= cert.newton_iterations + 1);
    // Quadratic: once small, r_{k+1} <= C r_k² (up to the rounding floor).
    let floor = 1e-14 * cert.field_scale;
    let quadratic = history
        .windows(2)
        .filter(|w| w[0] < 1e-2)
        .all(|w| w[1] <= 10.0 * w[0] * w[0] + floor);
    assert!(quadratic, "{history:?}");
    assert!(history
        .windows(2)
        .any(|w| w[0] < 1e-3 && w[1] < 1e-5 * w[0]));
}

/// A rotation of R^3 (Rodrigues).
fn rotation(axis: [f64; 3], angle: f64) -> [[f64; 3]; 3] {
    let n = norm(&axis);
    let [x, y, z] = axis.map(|v| v / n);
    let (s, c) = angle.sin_cos();
    let t = 1.0 - c;
    [
        [c + x * x * t, x * y * t - z * s, x * z * t + y * s],
        [y * x * t + z * s, c + y * y * t, y * z * t - x * s],
        [z * x * t - y * s, z * y * t + x * s, c + z * z * t],
    ]
}

fn rotate_rows(q: &[[f64; 3]; 3], values: &[f64]) -> Vec<f64> {
    values
        .chunks_exact(3)
        .flat_map(|v| (0..3).map(move |i| (0..3).map(|k| q[i][k] * v[k]).sum::<f64>()))
        .collect()
}

#[test]
fn the_certificate_is_rotation_equivariant() {
    let mut params = small_params(
        3,
        5,
        1.0,
        Activation::Gelu,
        Attention::Usa,
        Regime::Descent,
        Kernel::Shifted,
    );
    params.perceptron.width = 3;
    params.stop.max_steps = 400;
    let problem = problem_from(params.clone(), random_state(3, 5, 4));
    let end = simulate(&problem, Par::Seq).unwrap().final_state;
    let options = CertifyOptions {
        escape: true,
        merge_tol: 1e-3,
        ..CertifyOptions::default()
    };
    let cert = certify(&problem.dynamics, &end, &options, Par::Seq).unwrap();
    assert!(cert.classification.is_sopd(), "{:?}", cert.classification);

    let q = rotation([0.3, -1.0, 0.5], 1.1);
    let mut rotated_dynamics = problem.dynamics.clone();
    rotated_dynamics.perceptron.directions =
        rotate_rows(&q, &problem.dynamics.perceptron.directions);
    let rotated_state = State {
        positions: rotate_rows(&q, &end.positions),
        ..end.clone()
    };
    let rotated = certify(&rotated_dynamics, &rotated_state, &options, Par::Seq).unwrap();
    assert_eq!(rotated.classification, cert.classification);
    assert_eq!(rotated.atoms.len(), cert.atoms.len());
    assert!((rotated.energy - cert.energy).abs() < 1e-12);
    for (a, b) in rotated.eigenvalues.iter().zip(&cert.eigenvalues) {
        assert!((a - b).abs() < 1e-8 * cert.hessian_norm, "{a} vs {b}");
    }
    for (a, b) in rotated.atoms.iter().zip(&cert.atoms) {
        let expected = rotate_rows(&q, &b.position);
        assert!(max_abs_diff(&a.position, &expected) < 1e-8);
        assert!((a.mass - b.mass).abs() < 1e-15);
    }
}

#[test]
fn softmax_attention_is_checked_for_stationarity_only() {
    let (mut dynamics, state) = perceptron_saddle(2);
    dynamics.attention = Attention::Sa;
    let cert = certify(&dynamics, &state, &CertifyOptions::default(), Par::Seq).unwrap();
    assert_eq!(cert.classification, Classification::Undefined);
    assert!(cert.residual <= 1e-12 * cert.field_scale, "{cert:?}");
    assert!(cert.eigenvalues.is_empty());
    assert!(cert.lambda_min.is_none());
}

#[test]
fn the_precision_guard_refuses_a_perceptron_below_rounding() {
    // Two atoms 0.01 rad apart feel attention of about 0.5 e^β under the `paper` kernel: at
    // β = 40 the perceptron (Σ|s_j| = 1.9) is below its rounding, at β = 5 it is not. Newton is
    // not run, so the atoms stay as they are.
    let (mut dynamics, _) = perceptron_saddle(2);
    dynamics.kernel = Kernel::Paper;
    let close = State {
        dim: 2,
        positions: vec![1.0, 0.0, 0.01f64.cos(), 0.01f64.sin()],
        masses: vec![0.5, 0.5],
    };
    let options = CertifyOptions {
        max_newton_iterations: 0,
        ..CertifyOptions::default()
    };
    for (beta, unresolved) in [(5.0, false), (40.0, true)] {
        dynamics.beta = beta;
        let cert = certify(&dynamics, &close, &options, Par::Seq).unwrap();
        assert_eq!(cert.perceptron_unresolved, unresolved, "β = {beta}");
        assert_eq!(
            cert.classification == Classification::Unresolved,
            unresolved,
            "β = {beta}: {:?}",
            cert.classification
        );
    }
    // Near-antipodal atoms feel 0.5 e^{-β}: at β = 40 the perceptron decides, and the saddle
    // it makes is found as at β = 5.
    for beta in [5.0, 40.0] {
        let (mut dynamics, state) = perceptron_saddle(2);
        dynamics.kernel = Kernel::Paper;
        dynamics.beta = beta;
        let options = CertifyOptions::default();
        let cert = certify(&dynamics, &state, &options, Par::Seq).unwrap();
        assert!(!cert.perceptron_unresolved, "β = {beta}");
        assert_eq!(cert.classification, Classification::Saddle, "β = {beta}");
        assert!(cert.residual <= options.residual_tol * cert.field_scale);
    }
}

/// The angle between two unit vectors.
fn angle(x: &[f64], y: &[f64]) -> f64 {
    dot(x, y).clamp(-1.0, 1.0).acos()
}

#[test]
fn the_field_scale_is_what_the_atoms_feel_not_their_own_weight() {
    // One atom 0.05 rad from the minimum of a linear neuron's potential (the line <e_1, x> = 0),
    // with the `paper` kernel at β = 25: the atom's own weight m e^β = 7.2e10 is not a term of its
    // field (0.05 here), so Newton must polish it, not stop at once.
    let mut one = dynamics(
        2,
        25.0,
        Activation::Linear,
        Attention::Usa,
        Regime::Descent,
        Kernel::Paper,
    );
    one.perceptron = perceptron(2, Activation::Linear, &[(vec![1.0, 0.0], 1.0)]);
    let state = State {
        dim: 2,
        positions: vec![0.05f64.sin(), 0.05f64.cos()],
        masses: vec![1.0],
    };
    let options = CertifyOptions::default();
    let cert = certify(&one, &state, &options, Par::Seq).unwrap();
    assert!(cert.field_scale < 1.0, "{}", cert.field_scale);
    assert!(cert.newton_iterations > 0);
    assert!(cert.residual <= 1e-12 * cert.field_scale.max(1e-300) || cert.residual < 1e-15);
    assert!(cert.atoms[0].position[0].abs() < 1e-12, "{:?}", cert.atoms);
    assert_eq!(cert.classification, Classification::Strict);

    // Two atoms of pure attention that barely interact: 100° apart under the `paper` kernel at
    // β = 25 (d = 2), 95° apart under the shifted one at β = 10 (d = 3). Descent pushes them to
    // the antipodal pair, a strict minimum off the rotations (1 of them in d = 2, 2 about the
    // pair's axis in d = 3): polished there, never a saddle, no escape.
    for (dim, beta, kernel, degrees) in [
        (2, 25.0, Kernel::Paper, 100.0),
        (3, 10.0, Kernel::Shifted, 95.0),
    ] {
        let pair = dynamics(
            dim,
            beta,
            Activation::None,
            Attention::Usa,
            Regime::Descent,
            kernel,
        );
        let theta = f64::to_radians(degrees);
        let mut positions = vec![0.0; 2 * dim];
        positions[0] = 1.0;
        positions[dim] = theta.cos();
        positions[dim + 1] = theta.sin();
        let state = State {
            dim,
            positions,
            masses: vec![0.5, 0.5],
        };
        let options = CertifyOptions {
            escape: true,
            ..CertifyOptions::default()
        };
        let cert = certify(&pair, &state, &options, Par::Seq).unwrap();
        let what = format!("d = {dim}, β = {beta}: {cert:?}");
        assert!(
            cert.residual <= options.residual_tol * cert.field_scale,
            "{what}"
        );
        assert_eq!(cert.classification, Classification::Strict, "{what}");
        assert_eq!(cert.zero_modes, dim * (dim - 1) / 2 - (dim - 2), "{what}");
        assert!(cert.escapes.is_empty(), "{what}");
        let gap = angle(&cert.atoms[0].position, &cert.atoms[1].position);
        assert!((gap - std::f64::consts::PI).abs() < 1e-6, "{what}");
    }
}

#[test]
fn an_atom_on_a_relu_line_is_on_a_kink() {
    let mut dynamics = dynamics(
        2,
        1.0,
        Activation::Relu,
        Attention::Usa,
        Regime::Descent,
        Kernel::Shifted,
    );
    dynamics.perceptron = perceptron(2, Activation::Relu, &[(vec![1.0, 0.0], 1.0)]);
    // One atom at e_2, on the line <e_1, x> = 0: stationary (σ = 0 there) but on the kink.
    let state = State {
        dim: 2,
        positions: vec![0.0, 1.0],
        masses: vec![1.0],
    };
    let cert = certify(&dynamics, &state, &CertifyOptions::default(), Par::Seq).unwrap();
    assert_eq!(cert.classification, Classification::Kink);
    assert_eq!(cert.kink.as_ref().map(|k| k.neuron), Some(0));
}

#[test]
fn the_certificate_round_trips_through_json() {
    let (dynamics, state) = perceptron_saddle(2);
    let cert = certify(&dynamics, &state, &CertifyOptions::default(), Par::Seq).unwrap();
    let json = serde_json::to_string(&cert).unwrap();
    let back: sphereflow_solver::Certificate = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cert);
    assert!(json.contains("\"classification\":\"saddle\""));
}

#[test]
fn invalid_inputs_are_refused() {
    let (dynamics, state) = perceptron_saddle(2);
    let bad = CertifyOptions {
        merge_tol: -1.0,
        ..CertifyOptions::default()
    };
    assert!(certify(&dynamics, &state, &bad, Par::Seq).is_err());
    let wrong_dim = State::uniform(3, 2, 1);
    assert!(certify(&dynamics, &wrong_dim, &CertifyOptions::default(), Par::Seq).is_err());
    // A row off the unit circle, by more than rounding, is named.
    let mut long = state.clone();
    long.positions[2] *= 1.1;
    long.positions[3] *= 1.1;
    let error = certify(&dynamics, &long, &CertifyOptions::default(), Par::Seq)
        .unwrap_err()
        .to_string();
    assert!(error.contains("row 1") && error.contains("unit"), "{error}");
    let mut rounded = state.clone();
    rounded.positions[0] *= 1.0 + 1e-12;
    assert!(certify(&dynamics, &rounded, &CertifyOptions::default(), Par::Seq).is_ok());
}

/// The end state of a default-ish run of n = 1000 on S^1 (ReLU, β = 10, descent) is stationary
/// to rounding once its clusters are merged (the run collapses them to coincident particles);
/// it may be a slow saddle the stopping rule accepted (the flow leaves it on a time scale
/// `1/|λ|`), and escaping from it ends in an SOPD state of lower energy.
#[test]
fn a_whole_run_end_state_certifies() {
    let mut params = sphereflow_solver::testing::default_params();
    params.model.beta = 10.0;
    let problem = Problem::new(params, None, None).unwrap();
    let result = simulate(&problem, Par::Rayon).unwrap();
    let options = CertifyOptions {
        merge_tol: 1e-2,
        ..CertifyOptions::default()
    };
    let cert = certify(&problem.dynamics, &result.final_state, &options, Par::Rayon).unwrap();
    eprintln!(
        "end state: {} atoms, {:?}, lambda_min {:?}, residual {:e}, newton {}",
        cert.atoms.len(),
        cert.classification,
        cert.lambda_min,
        cert.residual,
        cert.newton_iterations
    );
    assert!(cert.residual <= 1e-12 * cert.field_scale, "{cert:?}");
    assert!(
        matches!(
            cert.classification,
            Classification::Strict
                | Classification::Sopd
                | Classification::Saddle
                | Classification::Kink
        ),
        "{cert:?}"
    );
    let escaping = CertifyOptions {
        escape: true,
        ..options
    };
    let escaped = certify(
        &problem.dynamics,
        &result.final_state,
        &escaping,
        Par::Rayon,
    )
    .unwrap();
    eprintln!(
        "after {} escapes: {} atoms, {:?}, lambda_min {:?}, energy {} -> {}, newton {}, history {:?}",
        escaped.escapes.len(),
        escaped.atoms.len(),
        escaped.classification,
        escaped.lambda_min,
        cert.energy,
        escaped.energy,
        escaped.newton_iterations,
        escaped.residual_history
    );
    assert!(
        escaped.classification.is_sopd() || escaped.classification == Classification::Kink,
        "{escaped:?}"
    );
    assert!(escaped.energy <= cert.energy + 1e-15);
}

#[test]
fn a_settled_run_certifies_to_the_atoms_the_flow_converges_to() {
    // S^1, n = 300, ReLU descent: the flow to the stopping rule against the flow stopped once
    // its cluster count has settled, the clusters polished as atoms by Newton's method.
    for beta in [3.0, 10.0] {
        let mut params = sphereflow_solver::testing::default_params();
        params.model.particles = 300;
        params.model.beta = beta;
        let problem = Problem::new(params.clone(), None, None).unwrap();
        let flow = simulate(&problem, Par::Rayon).unwrap();
        assert_eq!(
            flow.summary.stop_reason,
            StopReason::Converged,
            "β = {beta}"
        );
        assert!(flow.certificate.is_none());
        // Without escapes: the critical point the flow was approaching.
        let polished = simulate_certified(&problem, false, Par::Rayon).unwrap();
        let cert = polished.certificate.as_ref().unwrap();
        // Settled, or converged at the check where its count became stable.
        assert!(polished.summary.stop_reason.is_stationary(), "β = {beta}");
        assert!(polished.summary.steps <= flow.summary.steps, "β = {beta}");
        assert!(cert.residual <= 1e-12 * cert.field_scale);
        // The atoms are the flow's clusters: each atom is within the cluster radius of a
        // cluster's centre, and each cluster's mass is that of the atoms nearest it, to within
        // a particle's per atom (a counting arc may hold two atoms closer than the radius).
        let radius = params.cluster_radius();
        let distance =
            |c: &sphereflow_solver::Cluster, x: &[f64]| dot(&c.centre, x).clamp(-1.0, 1.0).acos();
        let mut held = vec![(0.0, 0usize); flow.clusters.len()];
        for atom in &cert.atoms {
            let (nearest, cluster) = flow
                .clusters
                .iter()
                .enumerate()
                .min_by(|a, b| {
                    distance(a.1, &atom.position).total_cmp(&distance(b.1, &atom.position))
                })
                .unwrap();
            let gap = distance(cluster, &atom.position);
            assert!(gap < radius, "β = {beta}: {gap} vs r = {radius}");
            held[nearest].0 += atom.mass;
            held[nearest].1 += 1;
        }
        // The heaviest cluster is finished when the flow stops: its mass is the atoms' nearest
        // it, to within a particle's per atom. (Light clusters may still be rearranging at the
        // flow's stop, towards another critical point than the one Newton finds.)
        let heaviest = (0..held.len())
            .max_by(|&a, &b| flow.clusters[a].mass.total_cmp(&flow.clusters[b].mass))
            .unwrap();
        let (mass, atoms) = held[heaviest];
        assert!(
            (flow.clusters[heaviest].mass - mass).abs() <= atoms as f64 / 300.0 + 1e-12,
            "β = {beta}: {held:?}"
        );
        let gap = (cert.energy - flow.summary.energy_final).abs();
        eprintln!(
            "β = {beta}: energy gap {gap:e} of {}",
            flow.summary.energy_final
        );
        assert!(
            gap <= 1e-3 * flow.summary.energy_final.abs(),
            "β = {beta}: {gap}"
        );
        // `stop.certify`: with escapes the certified state is a minimum, at an energy no
        // higher than the flow's end (lower when the flow stopped near a saddle).
        params.stop.certify = true;
        let certified = simulate(&Problem::new(params, None, None).unwrap(), Par::Rayon).unwrap();
        let cert = certified
            .certificate
            .as_ref()
            .expect("stop.certify certifies");
        assert!(cert.classification.is_sopd(), "β = {beta}: {cert:?}");
        assert!(
            cert.energy <= flow.summary.energy_final + 1e-9,
            "β = {beta}"
        );
    }
}

#[test]
fn certification_merges_tight_clusters_but_not_a_spread_state() {
    let params = {
        let mut p = sphereflow_solver::testing::default_params();
        p.model.beta = 4.0;
        p
    };
    let radius = params.cluster_radius();
    // Forty particles spread evenly: neighbours closer than the radius chain into one piece,
    // so only coincident particles merge.
    let spread: Vec<f64> = (0..40)
        .map(|i| std::f64::consts::TAU * i as f64 / 40.0)
        .collect();
    let options = certify_options(&params, &on_circle(&spread));
    assert_eq!(options.merge_tol, CertifyOptions::default().merge_tol);
    assert!(options.escape);
    // Three tight clusters far apart: merged at a tenth of the cluster radius, one atom each.
    let clustered: Vec<f64> = [0.0, 2.0, 4.0]
        .iter()
        .flat_map(|c| (0..10).map(move |i| c + 1e-3 * i as f64))
        .collect();
    let options = certify_options(&params, &on_circle(&clustered));
    assert_eq!(options.merge_tol, SETTLED_SPREAD * radius);
    // Clusters of a spread within the radius but wider than a tenth of it are not yet tight.
    let loose: Vec<f64> = [0.0, 2.0, 4.0]
        .iter()
        .flat_map(|c| (0..10).map(move |i| c + 0.2 * radius * i as f64 / 9.0))
        .collect();
    let options = certify_options(&params, &on_circle(&loose));
    assert_eq!(options.merge_tol, CertifyOptions::default().merge_tol);
    // `stop.certify_merge` decides when set.
    let mut fixed = params.clone();
    fixed.stop.certify_merge = Some(0.01);
    assert_eq!(certify_options(&fixed, &on_circle(&spread)).merge_tol, 0.01);
}

/// The mass bound sweep's end state that leaves a saddle of weak negative curvature (λ ≈ −8e-4
/// against ‖H_w‖ ≈ 0.08) into a minimum of weak curvature (λ ≈ 9e-6): Newton's method takes the
/// descent over from the flow, which reaches the same minimum only after thousands of steps more.
#[test]
fn newton_takes_over_a_slow_escape_and_reaches_the_flows_minimum() {
    let mut params = small_params(
        2,
        100,
        19.0,
        Activation::Relu,
        Attention::Usa,
        Regime::Descent,
        Kernel::Shifted,
    );
    params.perceptron.width = 2;
    params.perceptron.scale = 0.01;
    params.perceptron.scale_mode = sphereflow_solver::ScaleMode::Norm;
    params.perceptron.seed = 777;
    params.init.seed = 50;
    params.stop.max_steps = 50_000;
    let problem = Problem::new(params.clone(), None, None).unwrap();
    let result = simulate(&problem, Par::Seq).unwrap();
    let options = certify_options(&params, &result.final_state);
    let handed = certify(&problem.dynamics, &result.final_state, &options, Par::Seq).unwrap();
    let flowed = certify(
        &problem.dynamics,
        &result.final_state,
        &CertifyOptions {
            newton_handover: false,
            ..options
        },
        Par::Seq,
    )
    .unwrap();
    for cert in [&handed, &flowed] {
        assert_eq!(cert.classification, Classification::Strict, "{cert:?}");
        assert_eq!(cert.escapes.len(), 1, "{:?}", cert.escapes);
    }
    let (fast, slow) = (handed.escapes[0].flow_steps, flowed.escapes[0].flow_steps);
    eprintln!("escape flow steps: {fast} with Newton's handover, {slow} without");
    assert!(fast % 1000 == 0 && 4 * fast <= slow, "{fast} vs {slow}");
    assert_eq!(handed.atoms.len(), flowed.atoms.len());
    for (a, b) in handed.atoms.iter().zip(&flowed.atoms) {
        assert!(
            max_abs_diff(&a.position, &b.position) < 1e-8,
            "{a:?} vs {b:?}"
        );
        assert!((a.mass - b.mass).abs() < 1e-15);
    }
    assert!((handed.energy - flowed.energy).abs() < 1e-15);
}

/// The certificate keeps the energy of the state it was given: the atoms' own when that state
/// was a stationary point already, and another when a merge wider than the atoms' spacing
/// replaced it by one atom (a certificate of a different state, which the two energies show).
#[test]
fn the_certificate_keeps_the_energy_of_the_state_given() {
    let k = 5;
    let tau = std::f64::consts::TAU;
    let state = State {
        dim: 2,
        positions: (0..k)
            .flat_map(|a| {
                let theta = tau * a as f64 / k as f64 + 0.3;
                [theta.cos(), theta.sin()]
            })
            .collect(),
        masses: vec![1.0 / k as f64; k],
    };
    let dynamics = dynamics(
        2,
        1.0,
        Activation::None,
        Attention::Usa,
        Regime::Descent,
        Kernel::Shifted,
    );
    let polished = certify(&dynamics, &state, &CertifyOptions::default(), Par::Seq).unwrap();
    let given = polished.energy_given.expect("kept");
    assert_eq!(polished.atoms.len(), k);
    assert!((polished.energy - given).abs() <= 1e-14, "{polished:?}");
    let options = CertifyOptions {
        merge_tol: 1.5,
        ..CertifyOptions::default()
    };
    let merged = certify(&dynamics, &state, &options, Par::Seq).unwrap();
    assert_eq!(merged.atoms.len(), 1);
    assert_eq!(merged.energy_given, Some(given));
    // One atom of all the mass: E = 1/(2β) e^0 = 1/2, against the spread atoms' far lower one.
    assert!((merged.energy - 0.5).abs() < 1e-12, "{}", merged.energy);
    assert!(merged.energy - given > 0.1, "{} vs {given}", merged.energy);
}

/// The paper sweep's GeLU run at β = 7 converges with clusters still extended along arcs (its
/// 1000 particles stay distinct), too many atoms to polish one by one: `stop.certify` polishes it
/// from groups of bounded diameter and reaches the stationary point that polishing every particle
/// reaches (after the same escapes), atom for atom.
#[test]
fn an_end_state_of_extended_clusters_is_coarsened_to_the_same_certificate() {
    let mut params = sphereflow_solver::testing::default_params();
    params.model.beta = 7.0;
    params.perceptron.activation = Activation::Gelu;
    let problem = Problem::new(params.clone(), None, None).unwrap();
    let run = simulate_certified(&problem, true, Par::Rayon).unwrap();
    assert_eq!(run.summary.stop_reason, StopReason::Converged);
    let mut merged = run.final_state.clone();
    merge_close(&mut merged, CertifyOptions::default().merge_tol);
    assert!(merged.len() > MAX_CERTIFIED_ATOMS, "{} atoms", merged.len());
    let coarse = run.certificate.expect("coarsened and certified");
    let diameter = coarse.coarsened.expect("coarsened");
    assert!(diameter > 0.0 && diameter <= COARSEN_MAX);
    assert_eq!(coarsening(&problem, &merged), Some(diameter));
    assert!(coarse.residual <= 1e-12 * coarse.field_scale, "{coarse:?}");
    assert_eq!(
        coarse.energy_given,
        Some(stationary::energy(&problem.dynamics, &run.final_state))
    );
    // Every particle polished: the same atoms.
    let exact = certify(
        &problem.dynamics,
        &run.final_state,
        &CertifyOptions {
            escape: true,
            ..CertifyOptions::default()
        },
        Par::Rayon,
    )
    .unwrap();
    assert_eq!(exact.coarsened, None);
    assert_eq!(coarse.classification, exact.classification);
    assert_eq!(coarse.classification, Classification::Strict);
    assert_eq!(coarse.atoms.len(), exact.atoms.len());
    for atom in &coarse.atoms {
        let nearest = exact
            .atoms
            .iter()
            .min_by(|a, b| {
                chord(&a.position, &atom.position).total_cmp(&chord(&b.position, &atom.position))
            })
            .unwrap();
        assert!(
            chord(&nearest.position, &atom.position) < 1e-8,
            "{atom:?} {nearest:?}"
        );
        assert!(
            (nearest.mass - atom.mass).abs() < 1e-12,
            "{atom:?} {nearest:?}"
        );
    }
    assert!((coarse.energy - exact.energy).abs() <= 1e-12 * exact.energy.abs().max(1e-3));
}

/// Groups of bounded diameter: an arc longer than the diameter becomes a row of atoms along it
/// (single linkage would chain it into one), every group within the diameter, the mass kept.
#[test]
fn bounded_groups_row_up_an_arc_and_stay_within_their_diameter() {
    let arcs = three_arcs();
    let state = on_circle(&arcs);
    let mut chained = state.clone();
    merge_close(&mut chained, 1e-3);
    assert_eq!(chained.len(), 3);
    // A cloud in a cap of radius 0.05 on S^2 whose first particle is at its centre, so that a
    // group of the particles within the diameter (not half of it) of its first one would be too
    // wide.
    let mut cap = random_state(3, 600, 5);
    for i in 0..cap.len() {
        let x = cap.position(i).to_vec();
        let (r, phi) = (0.05 * (x[0] * 0.5 + 0.5), x[1].atan2(x[2]));
        let y = if i == 0 {
            [0.0, 0.0, 1.0]
        } else {
            [r.sin() * phi.cos(), r.sin() * phi.sin(), r.cos()]
        };
        cap.positions[3 * i..3 * i + 3].copy_from_slice(&y);
    }
    let diameter = 1e-2;
    for (name, state) in [
        ("arcs", state.clone()),
        ("arcs on S^2", lift(&state)),
        ("cap", cap),
    ] {
        let groups = bounded_groups(&state, diameter, MAX_CERTIFIED_ATOMS).unwrap();
        let mut members: Vec<usize> = groups.iter().flatten().copied().collect();
        members.sort_unstable();
        assert_eq!(members, (0..state.len()).collect::<Vec<_>>(), "{name}");
        for group in &groups {
            for &i in group {
                for &j in group {
                    let d = angle(state.position(i), state.position(j));
                    assert!(
                        d <= diameter * (1.0 + 1e-12),
                        "{name}: {i}, {j} are {d} apart"
                    );
                }
            }
        }
        let atoms = merge_within(&state, diameter, MAX_CERTIFIED_ATOMS).unwrap();
        assert_eq!(atoms.len(), groups.len(), "{name}");
        assert!(
            (atoms.masses.iter().sum::<f64>() - 1.0).abs() < 1e-12,
            "{name}"
        );
        assert!(merge_within(&state, diameter, 5).is_none(), "{name}");
    }
    for dim in [2, 3] {
        let groups = bounded_groups(
            &if dim == 2 {
                state.clone()
            } else {
                lift(&state)
            },
            diameter,
            300,
        );
        assert!(
            groups.unwrap().len() >= 15,
            "d = {dim}: 0.15 rad of arcs in groups of 1e-2"
        );
    }
}

/// `coarsening` groups extended clusters, but never the end state of a run that spreads, nor a
/// state already within the limit; and a grouping that Newton's method does not gather into
/// atoms (a spread state under a perceptron) is left uncertified by `conclude`.
#[test]
fn coarsening_takes_extended_clusters_but_not_spread_states() {
    let mut params = sphereflow_solver::testing::default_params();
    params.model.beta = 4.0;
    let problem = Problem::new(params.clone(), None, None).unwrap();
    let largest = COARSEN_MAX.min(SETTLED_SPREAD * params.cluster_radius());
    let arcs = three_arcs();
    let diameter = coarsening(&problem, &on_circle(&arcs)).expect("arcs are coarsened");
    assert!((diameter - 0.1 * largest).abs() < 1e-15, "{diameter}");
    // Within the limit already: not coarsened.
    assert_eq!(coarsening(&problem, &on_circle(&arcs[..300])), None);
    // `stop.certify_merge` decides the merge when set.
    let mut fixed = params.clone();
    fixed.stop.certify_merge = Some(1e-6);
    let fixed = Problem::new(fixed, None, None).unwrap();
    assert_eq!(coarsening(&fixed, &on_circle(&arcs)), None);
    // 500 particles drawn uniformly: about 2π / (1e-2 + 2π/500) ≈ 278 groups of 1e-2 rad, under
    // the limit; a null descent run (spreads) is never coarsened.
    let uniform = State::uniform(2, 500, 11);
    assert!(merge_within(&uniform, largest, MAX_CERTIFIED_ATOMS).is_some());
    let mut null = params.clone();
    null.perceptron.activation = Activation::None;
    null.model.particles = 500;
    let null = Problem::new(null, Some(uniform.clone()), None).unwrap();
    assert_eq!(coarsening(&null, &uniform), None);
    // Under the perceptron the same state is grouped, but its polish keeps the groups apart (or
    // fails): no certificate.
    let mut relu = params.clone();
    relu.model.particles = 500;
    let relu = Problem::new(relu, Some(uniform.clone()), None).unwrap();
    assert!(coarsening(&relu, &uniform).is_some());
    let mut simulation = Simulation::start(&relu);
    simulation.stopped = Some(StopReason::Converged);
    let options = CertifyOptions {
        escape: false,
        ..certify_options(&relu.params, &uniform)
    };
    let conclusion = simulation.conclude(&relu, &options, Par::Rayon).unwrap();
    assert!(
        matches!(conclusion, Conclusion::Uncertified { atoms: 500 }),
        "{conclusion:?}"
    );
}

/// The angles of three arcs of 400 particles, 0.05 rad long, 1.25e-4 rad apart: one component
/// each at any single-linkage distance above the spacing.
fn three_arcs() -> Vec<f64> {
    [0.0, 2.0, 4.0]
        .iter()
        .flat_map(|c| (0..400).map(move |i| c + 0.05 * i as f64 / 399.0))
        .collect()
}

/// Particles at the given angles on S^1, equal masses.
fn on_circle(angles: &[f64]) -> State {
    State {
        dim: 2,
        positions: angles.iter().flat_map(|t| [t.cos(), t.sin()]).collect(),
        masses: vec![1.0 / angles.len() as f64; angles.len()],
    }
}

/// The same points on the great circle `x_3 = 0` of S^2.
fn lift(state: &State) -> State {
    State {
        dim: 3,
        positions: state
            .positions
            .chunks_exact(2)
            .flat_map(|x| [x[0], x[1], 0.0])
            .collect(),
        masses: state.masses.clone(),
    }
}

/// The Euclidean distance between two points (exact near 0, where the angle's `acos` is not).
fn chord(x: &[f64], y: &[f64]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt()
}

/// The bound sweep's weak-perceptron run (β = 19, ReLU, 100 particles, perceptron seed 778):
/// the flow stops on its drift rule with atoms still creeping along directions of weak and
/// negative curvature. Newton's method stalls above the tolerance there (its quadratic model
/// holds only very near a critical point); a descent by trust-region Newton from the same atoms
/// reaches a strict minimum below the end state, and the certificate says how it got there.
fn weak_perceptron_problem() -> Problem {
    let mut params = sphereflow_solver::testing::default_params();
    params.model.particles = 100;
    params.model.beta = 19.0;
    params.perceptron.scale = 0.01;
    params.perceptron.scale_mode = sphereflow_solver::ScaleMode::Norm;
    params.perceptron.seed = 778;
    params.stop.max_steps = 50_000;
    Problem::new(params, None, None).unwrap()
}

#[test]
fn a_stalled_polish_descends_to_a_strict_minimum_below_the_end_state() {
    let problem = weak_perceptron_problem();
    let end = simulate(&problem, Par::Rayon).unwrap().final_state;
    let base = certify_options(&problem.params, &end);
    let stalled = CertifyOptions {
        descend: false,
        ..base.clone()
    };
    let stalled = certify(&problem.dynamics, &end, &stalled, Par::Seq).unwrap();
    assert_eq!(
        stalled.classification,
        Classification::NotStationary,
        "{:?}",
        stalled.residual_history.last()
    );
    assert!(stalled.residual > 1e-12 * stalled.field_scale);
    assert!(stalled.escapes.is_empty());

    let descended = certify(&problem.dynamics, &end, &base, Par::Seq).unwrap();
    eprintln!(
        "{:?}: {} atoms, residual {:e}, lambda_min {:?}, energy {} -> {}, distance {:?}, escapes {:?}",
        descended.classification,
        descended.atoms.len(),
        descended.residual,
        descended.lambda_min,
        descended.energy_given.unwrap(),
        descended.energy,
        descended.distance_given,
        descended.escapes
    );
    assert_eq!(descended.classification, Classification::Strict);
    assert!(descended.residual <= 1e-12 * descended.field_scale);
    let first = &descended.escapes[0];
    assert_eq!(first.from, EscapeFrom::Stalled);
    assert_eq!(first.flow_steps, 0);
    assert!(first.descent_iterations > 0);
    // It started from the merged end state, not from where Newton stalled.
    assert_eq!(first.energy_before, {
        let mut merged = end.clone();
        merge_close(&mut merged, base.merge_tol);
        stationary::energy(&problem.dynamics, &merged)
    });
    assert!(first.energy_after < first.energy_before);
    let given = descended.energy_given.unwrap();
    assert!(descended.energy < given, "{} vs {given}", descended.energy);
    // A strict minimum: the objective Hessian positive definite.
    assert!(descended.lambda_min.unwrap() > descended.threshold);
    // How far it moved: every particle within the distance of an atom, every atom of a particle.
    let distance = descended.distance_given.expect("kept");
    let atoms = descended.state();
    let nearest = |x: &[f64], to: &State| {
        (0..to.len())
            .map(|j| angle(x, to.position(j)))
            .fold(f64::INFINITY, f64::min)
    };
    let farthest = (0..end.len())
        .map(|i| nearest(end.position(i), &atoms))
        .chain((0..atoms.len()).map(|a| nearest(atoms.position(a), &end)))
        .fold(0.0, f64::max);
    assert!(
        (distance - farthest).abs() < 1e-12,
        "{distance} vs {farthest}"
    );
    assert!(distance > 0.0 && distance < 0.5, "{distance}");
}

/// The bound sweep's β = 50 run from initial seed 42 (perceptron seed 778): near its end state
/// the landscape is so flat that a descent step lowers the energy (about 1e-3) by 1e-18 or
/// less, under the rounding of the energy itself; comparing energies by their difference
/// rounded the descent to a halt there and left the run `not_stationary`. With the change summed
/// term by term (`energy_change`) the descent goes on to a strict minimum.
#[test]
fn a_descent_resolves_decreases_below_the_rounding_of_the_energy() {
    let mut problem = weak_perceptron_problem();
    problem.params.model.beta = 50.0;
    problem.params.init.seed = 42;
    let problem = Problem::new(problem.params, None, None).unwrap();
    let end = simulate(&problem, Par::Rayon).unwrap().final_state;
    let options = certify_options(&problem.params, &end);
    let certificate = certify(&problem.dynamics, &end, &options, Par::Seq).unwrap();
    assert_eq!(
        certificate.classification,
        Classification::Strict,
        "residual {:e}, escapes {:?}",
        certificate.residual,
        certificate.escapes
    );
    assert!(certificate.residual <= 1e-12 * certificate.field_scale);
    assert!(certificate.energy < certificate.energy_given.unwrap());
    let descent = &certificate.escapes[0];
    assert_eq!(descent.from, EscapeFrom::Stalled);
    // The last of its decreases are below the energy's rounding: a long descent (442 steps).
    assert!(descent.descent_iterations > 100, "{descent:?}");
}

/// A settled run whose polish stalls goes on with the flow (its end state stays its flow's);
/// the certificate at the final stop descends.
#[test]
fn a_settled_run_whose_polish_stalls_flows_on_and_then_descends() {
    let mut problem = weak_perceptron_problem();
    let flow = simulate(&problem, Par::Rayon).unwrap();
    problem.params.stop.certify = true;
    let certified = simulate_certified(&problem, true, Par::Rayon).unwrap();
    assert_eq!(certified.summary.stop_reason, StopReason::Converged);
    assert_eq!(certified.summary.steps, flow.summary.steps);
    assert_eq!(certified.final_state.positions, flow.final_state.positions);
    let certificate = certified.certificate.expect("certified");
    assert_eq!(certificate.classification, Classification::Strict);
    assert!(certificate
        .escapes
        .iter()
        .any(|e| e.from == EscapeFrom::Stalled));
}

/// `energy_change` is the difference of the energies where that difference is accurate (steps
/// of 0.1 and 1e-3 rad), and where it is not (steps of 1e-9 and 1e-11 rad, changes far below the
/// rounding of the energy, positions off the sphere by rounding) it is the Taylor expansion
/// `Σ_a <∇_a E, x'_a − x_a> + ½ t² ξᵀHξ` to a part in 1e-9 of the change: d = 2, 3, 4, both
/// kernels, every activation.
#[test]
fn energy_changes_are_accurate_to_the_change_itself() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    for dim in [2, 3, 4] {
        for kernel in [Kernel::Shifted, Kernel::Paper] {
            for activation in ACTIVATIONS {
                let dynamics = dynamics(
                    dim,
                    6.0,
                    activation,
                    Attention::Usa,
                    Regime::Descent,
                    kernel,
                );
                // Away from ReLU kinks, as the steps must not cross one.
                let state = state_off_kinks(&dynamics, 5, 300);
                let label = format!("d = {dim}, {kernel:?}, {activation:?}");
                let size = state.len() * (dim - 1);
                let xi: Vec<f64> = (0..size).map(|_| rng.gen_range(-1.0..1.0)).collect();
                let gradient = stationary::gradient(&dynamics, &state);
                let hessian = stationary::hessian(&dynamics, &state);
                let slope: f64 = gradient.iter().zip(&xi).map(|(g, x)| g * x).sum();
                let curvature = quadratic_form(&hessian, &xi);
                let energy = stationary::energy(&dynamics, &state);
                for t in [0.1, 1e-3] {
                    let moved = geodesic(&state, &xi, t);
                    let plain = stationary::energy(&dynamics, &moved) - energy;
                    let change = stationary::energy_change(&dynamics, &state, &moved).unwrap();
                    assert!(
                        (change - plain).abs() <= 1e-13 * energy.abs().max(1.0),
                        "{label}, t = {t}: {change} vs {plain}"
                    );
                }
                // The field is the Riemannian gradient per unit mass (descent): to first order
                // the change is `Σ_a m_a <F_a, x'_a − x_a>`, which also counts the rounding of
                // the moved positions (of order 1e-16 against steps of 1e-11).
                let field = stationary::field(&dynamics, &state);
                for t in [1e-9, 1e-11] {
                    let moved = geodesic(&state, &xi, t);
                    let first: f64 = (0..state.len())
                        .map(|a| {
                            let step: Vec<f64> = (0..dim)
                                .map(|k| moved.position(a)[k] - state.position(a)[k])
                                .collect();
                            state.masses[a] * dot(&field[a * dim..(a + 1) * dim], &step)
                        })
                        .sum();
                    // (It is the step's first-order change up to the positions' rounding.)
                    assert!(
                        (first - t * slope).abs() <= 1e-6 * (t * slope).abs() + 1e-15,
                        "{label}: {first} vs {}",
                        t * slope
                    );
                    let expected = first + 0.5 * t * t * curvature;
                    let change = stationary::energy_change(&dynamics, &state, &moved).unwrap();
                    assert!(
                        (change - expected).abs() <= 1e-9 * expected.abs(),
                        "{label}, t = {t}: {change} vs {expected} (slope {slope})"
                    );
                }
                // Not the same atoms: no change to give.
                let mut other = state.clone();
                other.masses.swap(0, 1);
                assert!(stationary::energy_change(&dynamics, &state, &other).is_none());
            }
        }
    }
}

/// At a certified minimum the terms of `energy_change` cancel to second order: for steps of 1e-6
/// and 1e-8 rad it is still `Σ_a m_a <F_a, x'_a − x_a> + ½ t² ξᵀHξ` to a part in 1e-4 (the
/// difference of the rounded energies is off by about the change itself at 1e-8).
#[test]
fn energy_changes_resolve_second_order_steps_at_a_minimum() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
    for (activation, kernel) in [
        (Activation::Gelu, Kernel::Shifted),
        (Activation::Tanh, Kernel::Paper),
        (Activation::Relu, Kernel::Shifted),
    ] {
        let dynamics = dynamics(2, 6.0, activation, Attention::Usa, Regime::Descent, kernel);
        let start = state_off_kinks(&dynamics, 5, 500);
        let options = CertifyOptions {
            escape: true,
            ..CertifyOptions::default()
        };
        let cert = certify(&dynamics, &start, &options, Par::Seq).unwrap();
        let label = format!("{activation:?}, {kernel:?}: {:?}", cert.classification);
        assert!(
            matches!(
                cert.classification,
                Classification::Strict | Classification::Sopd
            ),
            "{label}"
        );
        let state = cert.state();
        let size = state.len();
        let xi: Vec<f64> = (0..size).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let field = stationary::field(&dynamics, &state);
        let curvature = quadratic_form(&stationary::hessian(&dynamics, &state), &xi);
        assert!(curvature > 0.0, "{label}");
        for t in [1e-6, 1e-8] {
            let moved = geodesic(&state, &xi, t);
            let first: f64 = (0..size)
                .map(|a| {
                    let step: Vec<f64> = (0..2)
                        .map(|k| moved.position(a)[k] - state.position(a)[k])
                        .collect();
                    state.masses[a] * dot(&field[2 * a..2 * a + 2], &step)
                })
                .sum();
            let expected = first + 0.5 * t * t * curvature;
            let change = stationary::energy_change(&dynamics, &state, &moved).unwrap();
            assert!(
                (change - expected).abs() <= 1e-4 * expected.abs(),
                "{label}, t = {t}: {change} vs {expected}"
            );
        }
    }
}

/// Far apart at a large β (shifted kernel, β = 800): `w` underflows and `expm1(β Δc)` would
/// overflow (their product NaN); the change stays finite, the difference of the pair weights.
#[test]
fn energy_changes_stay_finite_at_large_beta() {
    let dynamics = dynamics(
        2,
        800.0,
        Activation::None,
        Attention::Usa,
        Regime::Descent,
        Kernel::Shifted,
    );
    let from = State {
        dim: 2,
        positions: vec![1.0, 0.0, -1.0, 0.0],
        masses: vec![0.5, 0.5],
    };
    let mut to = from.clone();
    to.positions[2..].copy_from_slice(&[1.3f64.cos(), 1.3f64.sin()]);
    let change = stationary::energy_change(&dynamics, &from, &to).unwrap();
    // (1/β) m_a m_b (w(cos 1.3) − w(−1)), the second weight e^{−1600} = 0 in f64.
    let expected = 0.25 / 800.0 * (800.0 * (1.3f64.cos() - 1.0)).exp();
    assert!(expected > 0.0 && change.is_finite());
    assert!(
        (change - expected).abs() <= 1e-12 * expected,
        "{change} vs {expected}"
    );
}

/// A rounded unit vector's `|x|² − 1` exactly (to 1e-31), checked in integers: components in
/// [1/2, 1) are `m / 2^53`, so `|x|² − 1 = (m₀² + m₁² − 2^106) / 2^106`.
#[test]
fn unit_defect_is_exact_where_it_is_rounding() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut nonzero = 0;
    for _ in 0..1000 {
        let angle: f64 = rng.gen_range(0.53..1.04);
        let x = [angle.cos(), angle.sin()];
        let mantissa = |v: f64| (v * 2f64.powi(53)) as i128;
        assert_eq!(mantissa(x[0]) as f64, x[0] * 2f64.powi(53));
        let exact = mantissa(x[0]).pow(2) + mantissa(x[1]).pow(2) - (1i128 << 106);
        let expected = exact as f64 / 2f64.powi(106);
        let defect = stationary::unit_defect(&x);
        assert!(
            (defect - expected).abs() <= 1e-31,
            "{x:?}: {defect} vs {expected}"
        );
        nonzero += usize::from(exact != 0);
    }
    // The test means something: most rounded unit vectors are off the sphere.
    assert!(nonzero > 500, "{nonzero}");
    assert_eq!(
        stationary::unit_defect(&[1.0 + 2f64.powi(-30), 0.0]),
        2f64.powi(-29) + 2f64.powi(-60)
    );
}
