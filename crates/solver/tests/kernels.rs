//! The fast pair kernels (tiled SIMD direct, spectral on S^1) against the naive reference, the
//! vectorised `exp` against `std`, backends and thread counts against each other, and merged
//! runs against unmerged ones.

mod common;

use common::*;
use proptest::prelude::*;
use sphereflow_solver::kernel::spectral::{scaled_bessel, SpectralPlan};
use sphereflow_solver::kernel::{avx2_available, exp2_in_place, exp_in_place, Backend, FieldPath};
use sphereflow_solver::{
    reference, simulate, Activation, Attention, Dynamics, Kernel, Method, PairKernel, Par, Params,
    Regime, RunResult, State,
};

const ACTIVATIONS: [Activation; 4] = [
    Activation::Relu,
    Activation::Gelu,
    Activation::Tanh,
    Activation::None,
];

/// One configuration of the model and a test state.
#[derive(Debug, Clone, Copy)]
struct Case {
    dim: usize,
    n: usize,
    beta: f64,
    activation: Activation,
    attention: Attention,
    regime: Regime,
    kernel: Kernel,
    /// Spread-out state for even seeds, clustered for odd ones.
    seed: u64,
}

impl Case {
    /// USA, descent, ReLU, shifted kernel.
    fn new(dim: usize, n: usize, beta: f64, seed: u64) -> Case {
        Case {
            dim,
            n,
            beta,
            activation: Activation::Relu,
            attention: Attention::Usa,
            regime: Regime::Descent,
            kernel: Kernel::Shifted,
            seed,
        }
    }

    fn params(&self) -> Params {
        let Case { dim, n, beta, .. } = *self;
        let (activation, attention) = (self.activation, self.attention);
        small_params(
            dim,
            n,
            beta,
            activation,
            attention,
            self.regime,
            self.kernel,
        )
    }

    fn dynamics(&self) -> Dynamics {
        problem_from(self.params(), self.state()).dynamics
    }

    /// Uniform or clustered particles; equal masses, except for a third of the seeds, which get
    /// unequal ones (as after merging), so both kinds of mass handling meet the reference.
    fn state(&self) -> State {
        let mut state = if self.seed.is_multiple_of(2) {
            random_state(self.dim, self.n, self.seed)
        } else {
            clustered_state(self.dim, self.n, self.seed)
        };
        if self.seed % 3 == 1 {
            let weights: Vec<f64> = (0..self.n)
                .map(|i| 1.0 + ((i as u64 * 2_654_435_761 + self.seed) % 1000) as f64 / 500.0)
                .collect();
            let total: f64 = weights.iter().sum();
            state.masses = weights.iter().map(|w| w / total).collect();
        }
        state
    }

    /// Checks the velocity and energy of every path against the reference: velocity error at
    /// most `relative · max|F| + 1e-13 · scale`, energy error at most `1e-12 (|E| + scale/β)`,
    /// where `scale` is `e^β` for USA with the paper kernel (sums of that size), else 1.
    fn check(&self, paths: &[FieldPath], relative: f64) {
        let dynamics = self.dynamics();
        let state = self.state();
        let slow = reference::velocity(&dynamics, &state.positions, &state.masses);
        let exact = reference::energy(&dynamics, &state.positions, &state.masses);
        let scale = if self.kernel == Kernel::Paper && self.attention == Attention::Usa {
            self.beta.exp()
        } else {
            1.0
        };
        for &path in paths {
            let fast = velocity_via(&dynamics, path, &state, Par::Rayon);
            assert_close(
                &fast,
                &slow,
                relative,
                1e-13 * scale,
                &format!("{self:?} {path:?}"),
            );
            let energy = dynamics.energy_via(path, &state.positions, &state.masses, Par::Rayon);
            assert!(
                (energy - exact).abs() <= 1e-12 * (exact.abs() + scale / self.beta),
                "{self:?} {path:?}: energy {energy} against {exact}"
            );
        }
    }
}

fn velocity_via(dynamics: &Dynamics, path: FieldPath, state: &State, par: Par) -> Vec<f64> {
    let mut out = vec![0.0; state.positions.len()];
    dynamics.velocity_via(path, &state.positions, &state.masses, &mut out, par);
    out
}

/// A state with some particles bunched in a few tight groups (and so large `Z_i`), others
/// spread out, and a few exact duplicates.
fn clustered_state(dim: usize, n: usize, seed: u64) -> State {
    let mut state = random_state(dim, n, seed);
    let centres = random_state(dim, 3, seed + 1000);
    for i in 0..n / 2 {
        let centre = centres.position(i % 3);
        let x: Vec<f64> = state
            .position(i)
            .iter()
            .zip(centre)
            .map(|(p, c)| c + 1e-3 * p)
            .collect();
        let length = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        for (k, v) in x.iter().enumerate() {
            state.positions[i * dim + k] = v / length;
        }
    }
    if n > 4 {
        let copy = state.position(n - 1).to_vec();
        state.positions[(n - 2) * dim..(n - 1) * dim].copy_from_slice(&copy);
    }
    state
}

/// Random cases: any activation, attention, regime and state; the paper kernel only up to β = 50
/// (its sums grow like `e^β`).
fn any_case(dims: Vec<usize>, max_n: usize, betas: Vec<f64>) -> impl Strategy<Value = Case> {
    (
        prop::sample::select(dims),
        1..max_n,
        prop::sample::select(betas),
        prop::sample::select(ACTIVATIONS.to_vec()),
        any::<(bool, bool, bool)>(),
        0u64..1000,
    )
        .prop_map(
            |(dim, n, beta, activation, (sa, ascent, paper), seed)| Case {
                activation,
                attention: if sa { Attention::Sa } else { Attention::Usa },
                regime: if ascent {
                    Regime::Ascent
                } else {
                    Regime::Descent
                },
                kernel: if paper && beta <= 50.0 {
                    Kernel::Paper
                } else {
                    Kernel::Shifted
                },
                ..Case::new(dim, n, beta, seed)
            },
        )
}

/// `|fast - reference| <= relative · max|reference| + absolute`, componentwise.
fn assert_close(fast: &[f64], slow: &[f64], relative: f64, absolute: f64, what: &str) {
    let scale = max_abs(slow);
    let error = max_abs_diff(fast, slow);
    assert!(
        error <= relative * scale + absolute,
        "{what}: error {error:e} against max |F| {scale:e}"
    );
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Distance in units in the last place between two non-negative finite doubles.
fn ulps(a: f64, b: f64) -> u64 {
    a.to_bits().abs_diff(b.to_bits())
}

// Vectorised exp ---------------------------------------------------------------------------------

fn check_exp(backend: Backend, inputs: &[f64]) {
    let mut fast = inputs.to_vec();
    exp_in_place(backend, &mut fast);
    for (&t, &e) in inputs.iter().zip(&fast) {
        let exact = t.exp();
        if exact >= f64::MIN_POSITIVE {
            assert!(
                ulps(e, exact) <= 2,
                "{backend:?}: exp({t:e}) = {e:e}, std {exact:e}"
            );
        } else {
            assert!(
                e >= 0.0 && (e - exact).abs() < f64::MIN_POSITIVE,
                "{backend:?}: exp({t:e}) = {e:e}"
            );
        }
        if t < -745.2 {
            assert_eq!(e, 0.0, "{backend:?}: exp({t:e}) must underflow to 0");
        }
    }
}

/// `count` numbers in `[0, 1)` from a seeded xorshift64.
fn units(seed: u64, count: usize) -> impl Iterator<Item = f64> {
    let mut state = seed;
    (0..count).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[test]
fn vectorised_exp_is_within_two_ulp_of_std_over_the_kernel_range() {
    // t = β(s - 1) ∈ [-2β, 0] for the shifted kernel up to β = 450, βs ∈ [-700, 700] for paper.
    let mut inputs: Vec<f64> = (0..200_001)
        .map(|k| -900.0 + 1600.0 * k as f64 / 200_000.0)
        .collect();
    for unit in units(0x9e37_79b9_7f4a_7c15, 200_000) {
        inputs.push(-2.0 * 450.0 * unit);
        inputs.push(-1.0 + 1.0 * unit); // β (s - 1) for small β
        inputs.push(-1e-3 * unit);
    }
    inputs.extend([
        0.0,
        -0.0,
        -1e-300,
        -f64::MIN_POSITIVE,
        -708.396_418_532_264_1,
        -708.4,
        -709.0,
        -745.1,
        -745.2,
        -750.0,
        -1e6,
        f64::NEG_INFINITY,
        0.5 * std::f64::consts::LN_2,
        -0.5 * std::f64::consts::LN_2,
        700.0,
    ]);
    check_exp(Backend::Portable, &inputs);
    check_exp(Backend::Avx2, &inputs);
    let (mut portable, mut simd) = (inputs.clone(), inputs.clone());
    exp_in_place(Backend::Portable, &mut portable);
    exp_in_place(Backend::Avx2, &mut simd);
    assert!(same_bits(&portable, &simd), "backends disagree on exp");
}

#[test]
fn vectorised_exp2_is_within_two_ulp_of_std_over_the_kernel_range() {
    // The direct kernel's exponent in base 2: u = log2(e) β (s - 1) or log2(e) β s.
    let mut inputs: Vec<f64> = (0..200_001)
        .map(|k| -1300.0 + 2300.0 * k as f64 / 200_000.0)
        .collect();
    for unit in units(0x2545_f491_4f6c_dd1d, 200_000) {
        inputs.push(-1300.0 * unit);
        inputs.push(-1.5 + unit); // around the rounding of u to an integer
        inputs.push(-1e-3 * unit);
    }
    inputs.extend([
        0.0, -0.0, 0.5, -0.5, 1.5, -1021.5, -1022.0, -1022.5, -1075.0, -1e6, 1009.0, 1022.0,
    ]);
    inputs.push(f64::NEG_INFINITY);
    for backend in [Backend::Portable, Backend::Avx2] {
        let mut fast = inputs.clone();
        exp2_in_place(backend, &mut fast);
        for (&u, &e) in inputs.iter().zip(&fast) {
            let exact = u.exp2();
            if u >= -1022.0 {
                assert!(
                    ulps(e, exact) <= 2,
                    "{backend:?}: exp2({u:e}) = {e:e}, std {exact:e}"
                );
            } else {
                assert_eq!(e, 0.0, "{backend:?}: exp2({u:e}) must flush to 0");
            }
        }
    }
    let (mut portable, mut simd) = (inputs.clone(), inputs.clone());
    exp2_in_place(Backend::Portable, &mut portable);
    exp2_in_place(Backend::Avx2, &mut simd);
    assert!(same_bits(&portable, &simd), "backends disagree on exp2");
}

// Direct kernel ----------------------------------------------------------------------------------

const DIRECT_PATHS: [FieldPath; 3] = [
    FieldPath::Scalar,
    FieldPath::Direct(Backend::Portable),
    FieldPath::Direct(Backend::Avx2),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn direct_kernel_matches_the_reference(
        case in any_case(vec![2, 3, 4, 5, 7, 9, 17], 300, vec![0.01, 0.5, 1.0, 4.0, 10.0, 50.0, 200.0]),
    ) {
        case.check(&DIRECT_PATHS, 1e-12);
    }
}

#[test]
fn direct_kernel_matches_the_reference_across_tile_counts() {
    // Tiles of 64, 128 and 256 particles: odd and even tile counts, partial tiles; d = 40 at
    // n = 3000 is past the budget of per-block partial sums (accumulated by rounds).
    for (n, dim) in [
        (64, 3),
        (65, 3),
        (191, 2),
        (257, 3),
        (640, 4),
        (1600, 3),
        (3000, 40),
    ] {
        let sa = Case {
            attention: Attention::Sa,
            ..Case::new(dim, n, 6.0, n as u64)
        };
        sa.check(&DIRECT_PATHS, 1e-12);
        let paper_ascent = Case {
            activation: Activation::Gelu,
            regime: Regime::Ascent,
            kernel: Kernel::Paper,
            ..Case::new(dim, n, 2.0, n as u64 + 1)
        };
        paper_ascent.check(&DIRECT_PATHS, 1e-12);
    }
}

#[test]
fn simd_and_portable_backends_give_the_same_bits() {
    if !avx2_available() {
        eprintln!("no AVX2 + FMA on this CPU: both backends are the portable one");
    }
    for (dim, n) in [(2, 333), (3, 1000), (5, 130), (12, 70)] {
        for attention in [Attention::Usa, Attention::Sa] {
            let case = Case {
                attention,
                ..Case::new(dim, n, 7.0, 6)
            };
            let (dynamics, state) = (case.dynamics(), case.state());
            for (portable, simd) in [
                (
                    FieldPath::Direct(Backend::Portable),
                    FieldPath::Direct(Backend::Avx2),
                ),
                (
                    FieldPath::Spectral(Backend::Portable),
                    FieldPath::Spectral(Backend::Avx2),
                ),
            ] {
                let a = velocity_via(&dynamics, portable, &state, Par::Rayon);
                let b = velocity_via(&dynamics, simd, &state, Par::Rayon);
                assert!(
                    same_bits(&a, &b),
                    "d={dim} {attention} {portable:?}: velocities differ"
                );
                let ea = dynamics.energy_via(portable, &state.positions, &state.masses, Par::Rayon);
                let eb = dynamics.energy_via(simd, &state.positions, &state.masses, Par::Rayon);
                assert_eq!(
                    ea.to_bits(),
                    eb.to_bits(),
                    "d={dim} {attention}: energies differ"
                );
            }
        }
    }
}

#[test]
fn fast_paths_give_the_same_bits_for_any_thread_count() {
    for (dim, n, path) in [
        (3, 1500, FieldPath::Direct(Backend::detect())),
        (40, 3000, FieldPath::Direct(Backend::detect())),
        (2, 5000, FieldPath::Spectral(Backend::detect())),
        (2, 700, FieldPath::Direct(Backend::detect())),
    ] {
        let case = Case {
            activation: Activation::Gelu,
            attention: Attention::Sa,
            ..Case::new(dim, n, 9.0, 11)
        };
        let (dynamics, state) = (case.dynamics(), case.state());
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let v = velocity_via(&dynamics, path, &state, Par::Rayon);
                let e = dynamics.energy_via(path, &state.positions, &state.masses, Par::Rayon);
                (v, e)
            })
        };
        let (v1, e1) = run(1);
        let (v2, e2) = run(2);
        let (v3, e3) = run(3);
        let vs = velocity_via(&dynamics, path, &state, Par::Seq);
        let es = dynamics.energy_via(path, &state.positions, &state.masses, Par::Seq);
        for (v, e) in [(&v2, e2), (&v3, e3), (&vs, es)] {
            assert!(
                same_bits(&v1, v),
                "{path:?} d={dim}: velocity depends on threads"
            );
            assert_eq!(
                e1.to_bits(),
                e.to_bits(),
                "{path:?} d={dim}: energy depends on threads"
            );
        }
    }
}

/// The checks' fused pass (the field and the energy from one pair pass) gives the bits of the
/// two separate calls, on every path, for USA and SA, spread and clustered states, any thread
/// count: the stopping rule's energy and the trajectory are those of separate calls.
#[test]
fn velocity_and_energy_in_one_pass_equal_the_separate_calls() {
    for (dim, n, attention, seed) in [
        (3, 1000, Attention::Usa, 4),
        (3, 1000, Attention::Usa, 5),
        (3, 777, Attention::Sa, 7),
        (5, 300, Attention::Usa, 1),
        (2, 900, Attention::Usa, 3),
        (2, 900, Attention::Sa, 2),
        (40, 200, Attention::Usa, 9),
    ] {
        let case = Case {
            attention,
            ..Case::new(dim, n, 9.0, seed)
        };
        let (dynamics, state) = (case.dynamics(), case.state());
        for par in [Par::Seq, Par::Rayon] {
            let mut separate = vec![0.0; state.positions.len()];
            dynamics.velocity(&state.positions, &state.masses, &mut separate, par);
            let energy = dynamics.energy(&state.positions, &state.masses, par);
            let mut fused = vec![0.0; state.positions.len()];
            let fused_energy =
                dynamics.velocity_and_energy(&state.positions, &state.masses, &mut fused, par);
            assert!(same_bits(&separate, &fused), "{case:?} {par:?}: velocity");
            assert_eq!(
                energy.to_bits(),
                fused_energy.to_bits(),
                "{case:?} {par:?}: energy {energy} against {fused_energy}"
            );
        }
    }
}

// Spectral kernel --------------------------------------------------------------------------------

/// `e^{-β} I_k(β)` by its power series `Σ_m (β/2)^{2m+k} / (m! (m+k)!)`, in logarithms: positive
/// terms, no cancellation.
fn series_scaled_bessel(beta: f64, k: usize) -> f64 {
    let ln_half = (beta / 2.0).ln();
    let ln_factorial = |j: usize| (1..=j).map(|i| (i as f64).ln()).sum::<f64>();
    let mut total = 0.0;
    for m in 0..4000 {
        let ln_term = (2 * m + k) as f64 * ln_half - ln_factorial(m) - ln_factorial(m + k) - beta;
        total += ln_term.exp();
        if m as f64 > beta && ln_term < -800.0 {
            break;
        }
    }
    total
}

#[test]
fn scaled_bessel_functions_match_their_power_series() {
    for beta in [0.01, 0.3, 1.0, 5.0, 10.0, 50.0, 200.0] {
        let values = scaled_bessel(beta, 60);
        for k in 0..60 {
            let series = series_scaled_bessel(beta, k);
            if series < 1e-280 {
                continue;
            }
            let error = (values[k] - series).abs() / series;
            assert!(
                error <= 1e-12,
                "β={beta}, k={k}: {} against {series} ({error:e})",
                values[k]
            );
        }
    }
    // I_0(1) and I_1(1), tabulated.
    let values = scaled_bessel(1.0, 2);
    assert!((values[0] * 1f64.exp() - 1.266_065_877_752_008_4).abs() < 1e-15);
    assert!((values[1] * 1f64.exp() - 0.565_159_103_992_485_1).abs() < 1e-15);
}

#[test]
fn spectral_mode_count_grows_like_the_square_root_of_beta() {
    let modes: Vec<usize> = [0.01, 1.0, 10.0, 50.0, 200.0]
        .iter()
        .map(|&beta| SpectralPlan::new(beta).modes())
        .collect();
    assert!(modes.windows(2).all(|w| w[0] <= w[1]), "{modes:?}");
    assert!(modes[3] <= 80 && modes[4] <= 150, "{modes:?}");
}

const SPECTRAL_PATHS: [FieldPath; 2] = [
    FieldPath::Spectral(Backend::Portable),
    FieldPath::Spectral(Backend::Avx2),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn spectral_kernel_matches_the_reference(
        case in any_case(vec![2], 400, vec![0.01, 1.0, 10.0, 50.0, 200.0]),
    ) {
        case.check(&SPECTRAL_PATHS, 1e-10);
    }
}

#[test]
fn spectral_kernel_matches_the_reference_at_every_listed_beta() {
    for beta in [0.01, 1.0, 10.0, 50.0, 200.0] {
        for attention in [Attention::Usa, Attention::Sa] {
            for regime in [Regime::Ascent, Regime::Descent] {
                for (seed, activation) in [
                    (2, Activation::Relu),
                    (3, Activation::Relu),
                    (5, Activation::None),
                ] {
                    let case = Case {
                        activation,
                        attention,
                        regime,
                        ..Case::new(2, 1200, beta, seed)
                    };
                    case.check(&SPECTRAL_PATHS[1..], 1e-10);
                }
            }
        }
    }
}

/// SA divides by `Z_i`, tiny for a particle far from all others: the spectral rounding error,
/// relative to the moments, would be amplified by `1/Z_i`; such rows are recomputed directly.
#[test]
fn spectral_sa_stays_accurate_for_an_isolated_particle() {
    for beta in [50.0, 200.0] {
        let n = 2000;
        let mut positions = Vec::with_capacity(2 * n);
        for i in 0..n - 1 {
            let theta = 1e-3 * (i as f64 / n as f64 - 0.5);
            positions.extend([theta.cos(), theta.sin()]);
        }
        positions.extend([-1.0, 1e-3]);
        let state = State {
            dim: 2,
            masses: vec![1.0 / n as f64; n],
            positions,
        };
        let case = Case {
            activation: Activation::None,
            attention: Attention::Sa,
            ..Case::new(2, n, beta, 0)
        };
        let dynamics = case.dynamics();
        let slow = reference::velocity(&dynamics, &state.positions, &state.masses);
        for path in SPECTRAL_PATHS {
            let fast = velocity_via(&dynamics, path, &state, Par::Rayon);
            assert_close(&fast, &slow, 1e-10, 1e-13, &format!("β={beta} {path:?}"));
        }
    }
}

#[test]
fn auto_picks_spectral_on_large_circles_only() {
    let mut dynamics = Case::new(2, 10, 50.0, 0).dynamics();
    assert!(matches!(
        dynamics.field_path(100_000),
        FieldPath::Spectral(_)
    ));
    assert!(matches!(dynamics.field_path(50), FieldPath::Direct(_)));
    dynamics.pair_kernel = PairKernel::Direct;
    assert!(matches!(dynamics.field_path(100_000), FieldPath::Direct(_)));
    dynamics.pair_kernel = PairKernel::Spectral;
    assert!(matches!(dynamics.field_path(50), FieldPath::Spectral(_)));
    let sphere = Case::new(3, 10, 50.0, 0).dynamics();
    assert!(matches!(sphere.field_path(100_000), FieldPath::Direct(_)));
}

#[test]
fn spectral_kernel_is_refused_off_the_circle() {
    let mut params = Case::new(3, 10, 1.0, 0).params();
    params.integrator.pair_kernel = PairKernel::Spectral;
    let error = params.validate().unwrap_err().to_string();
    assert!(error.contains("integrator.pair_kernel"), "{error}");
}

#[test]
fn whole_runs_agree_between_spectral_and_direct() {
    for attention in [Attention::Usa, Attention::Sa] {
        let run_with = |pair_kernel: PairKernel| {
            let case = Case {
                attention,
                ..Case::new(2, 600, 25.0, 8)
            };
            let mut params = case.params();
            params.integrator.pair_kernel = pair_kernel;
            params.stop.max_steps = 100;
            params.stop.drift_tol = 0.0;
            simulate(&problem_from(params, case.state()), Par::Rayon).unwrap()
        };
        let spectral = run_with(PairKernel::Spectral);
        let direct = run_with(PairKernel::Direct);
        let error = max_abs_diff(
            &spectral.final_state.positions,
            &direct.final_state.positions,
        );
        assert!(error <= 1e-9, "{attention}: runs differ by {error:e}");
    }
}

// Merging ----------------------------------------------------------------------------------------

fn run_merged(dim: usize, n: usize, merge_tol: f64, method: Method) -> RunResult {
    let case = Case {
        regime: Regime::Ascent,
        ..Case::new(dim, n, 1.0, 22)
    };
    let mut params = case.params();
    params.measure.merge_tol = merge_tol;
    params.integrator.method = method;
    params.stop.max_steps = 1500;
    params.stop.drift_tol = 0.0;
    params.stop.check_every = 10;
    simulate(&problem_from(params, case.state()), Par::Rayon).unwrap()
}

#[test]
fn merged_runs_shrink_the_state_and_follow_unmerged_ones() {
    for dim in [2, 3] {
        for method in [Method::Euler, Method::Rk4] {
            let plain = run_merged(dim, 240, 0.0, method);
            let merged = run_merged(dim, 240, 1e-7, method);
            assert_eq!(plain.final_state.len(), 240);
            assert!(
                merged.final_state.len() < 240 / 4,
                "d={dim}: {} atoms left",
                merged.final_state.len()
            );
            let total: f64 = merged.final_state.masses.iter().sum();
            assert!((total - 1.0).abs() < 1e-12);
            // Every atom sits where the unmerged particles of its cluster are, carrying their mass.
            assert_eq!(
                merged.summary.n_clusters, plain.summary.n_clusters,
                "d={dim}"
            );
            for (a, b) in merged.clusters.iter().zip(&plain.clusters) {
                assert!(
                    (a.mass - b.mass).abs() < 1e-12,
                    "d={dim}: masses {} and {}",
                    a.mass,
                    b.mass
                );
                let distance = max_abs_diff(&a.centre, &b.centre);
                assert!(distance < 1e-6, "d={dim}: centres {distance:e} apart");
            }
            assert!((merged.summary.energy_final - plain.summary.energy_final).abs() < 1e-8);
            // Frames along the run and the final state report masses that sum to one.
            for frame in &merged.frames.frames {
                assert_eq!(frame.state.masses.len() * dim, frame.state.positions.len());
                assert!((frame.state.masses.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            }
        }
    }
}
