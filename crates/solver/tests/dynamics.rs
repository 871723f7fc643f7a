//! Whole runs against the behaviour MODEL.md promises: energy monotonicity, symmetry,
//! stationary states, integrator order, the paper's qualitative results, determinism across
//! thread counts, checkpoint/resume, merging, errors and the cluster measurements.
//!
//! Long file: one test binary for the whole-run behaviour, so the solver is linked once and the
//! tests share their helpers in `common`.

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sphereflow_solver::clusters::{observe, window_mass};
use sphereflow_solver::sphere::{angle, dot, norm, project_tangent, random_unit_vector};
use sphereflow_solver::testing::default_params_in;
use sphereflow_solver::{
    simulate, Activation, Attention, Kernel, Method, Par, Params, Perceptron, Problem, Regime,
    Retraction, RunResult, Simulation, SolverError, State, StopReason,
};

/// Fixed-length run: no convergence, `steps` steps, a check every `check_every` steps.
fn fixed_run(params: &mut Params, steps: u64, check_every: u64) {
    params.stop.drift_tol = 0.0;
    params.stop.max_steps = steps;
    params.stop.check_every = check_every;
}

fn run(problem: &Problem) -> RunResult {
    simulate(problem, Par::Rayon).expect("run succeeds")
}

/// The tangential gradient of the perceptron potential `v` at `x`: `P_x Σ_j s_j φ'(<a_j,x>) a_j`
/// with `φ' = 2σ`.
fn potential_gradient(perceptron: &Perceptron, x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    for j in 0..perceptron.width() {
        let a = perceptron.direction(j);
        let c = 2.0 * perceptron.weights[j] * perceptron.sigma.sigma(dot(a, x));
        for (gk, &ak) in g.iter_mut().zip(a) {
            *gk += c * ak;
        }
    }
    project_tangent(x, &mut g);
    g
}

/// Angle difference wrapped into (-π, π].
fn angle_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(std::f64::consts::TAU);
    if d > std::f64::consts::PI {
        d - std::f64::consts::TAU
    } else {
        d
    }
}

/// A state on S^1 from angles and masses.
fn circle_state(angles: &[f64], masses: &[f64]) -> State {
    State {
        dim: 2,
        positions: angles.iter().flat_map(|t| [t.cos(), t.sin()]).collect(),
        masses: masses.to_vec(),
    }
}

// 1. ---------------------------------------------------------------------------------------------

/// USA is a Wasserstein gradient flow of E: small Euler steps raise E in ascent, lower it in
/// descent.
#[test]
fn energy_is_monotone_along_small_euler_steps() {
    for dim in [2, 3] {
        for activation in [Activation::Relu, Activation::Tanh] {
            for regime in [Regime::Ascent, Regime::Descent] {
                let n = 40;
                let mut params = small_params(
                    dim,
                    n,
                    2.0,
                    activation,
                    Attention::Usa,
                    regime,
                    Kernel::Shifted,
                );
                params.integrator.method = Method::Euler;
                params.integrator.dt = 0.01;
                fixed_run(&mut params, 100, 1);
                let problem = problem_from(params, random_state(dim, n, 5 + dim as u64));
                let mut simulation = Simulation::start(&problem);
                while simulation
                    .advance(&problem, u64::MAX, Par::Seq)
                    .expect("run succeeds")
                    .is_none()
                {}
                let result = simulation.finish(&problem);
                assert_eq!(result.summary.steps, 100);
                assert_eq!(result.series.len(), 101, "one row per step plus the start");
                let sign = match regime {
                    Regime::Ascent => 1.0,
                    Regime::Descent => -1.0,
                };
                for pair in result.series.windows(2) {
                    let (e0, e1) = (pair[0].energy, pair[1].energy);
                    let slack = 1e-12 * e0.abs().max(e1.abs()).max(1e-300);
                    assert!(
                        sign * (e1 - e0) >= -slack,
                        "d={dim} {activation} {regime}: energy {e0} -> {e1} at step {}",
                        pair[1].step
                    );
                }
                let total = sign * (result.summary.energy_final - result.summary.energy_initial);
                assert!(
                    total > 0.0,
                    "d={dim} {activation} {regime}: energy did not move"
                );
            }
        }
    }
}

// 2. ---------------------------------------------------------------------------------------------

/// A random orthogonal 3×3 matrix (Gram–Schmidt of a random matrix), row-major.
fn random_orthogonal(seed: u64) -> [[f64; 3]; 3] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows: Vec<Vec<f64>> = Vec::new();
    while rows.len() < 3 {
        let mut v = random_unit_vector(&mut rng, 3);
        for r in &rows {
            let c = dot(&v, r);
            for (vk, rk) in v.iter_mut().zip(r) {
                *vk -= c * rk;
            }
        }
        let l = norm(&v);
        if l > 1e-3 {
            rows.push(v.into_iter().map(|x| x / l).collect());
        }
    }
    // Make it improper (a reflection) half the time: equivariance holds for all of O(3).
    if rng.gen_bool(0.5) {
        rows[2].iter_mut().for_each(|x| *x = -*x);
    }
    let mut q = [[0.0; 3]; 3];
    for (i, r) in rows.iter().enumerate() {
        q[i].copy_from_slice(r);
    }
    q
}

fn rotate_rows(q: &[[f64; 3]; 3], values: &[f64]) -> Vec<f64> {
    values
        .chunks_exact(3)
        .flat_map(|x| (0..3).map(move |i| q[i][0] * x[0] + q[i][1] * x[1] + q[i][2] * x[2]))
        .collect()
}

#[test]
fn dynamics_is_rotation_equivariant_on_s2() {
    let q = random_orthogonal(2024);
    for (activation, attention, regime) in [
        (Activation::Relu, Attention::Usa, Regime::Descent),
        (Activation::Gelu, Attention::Sa, Regime::Ascent),
    ] {
        let n = 30;
        let mut params = small_params(3, n, 2.0, activation, attention, regime, Kernel::Shifted);
        params.perceptron.width = 4;
        params.integrator.method = Method::Rk4;
        params.integrator.dt = 0.05;
        fixed_run(&mut params, 50, 10);
        let state = random_state(3, n, 99);
        let perceptron = Perceptron::draw(3, &params.perceptron);
        let problem = Problem::new(
            params.clone(),
            Some(state.clone()),
            Some(perceptron.clone()),
        )
        .unwrap();
        let rotated_state = State {
            positions: rotate_rows(&q, &state.positions),
            ..state.clone()
        };
        let rotated_perceptron = Perceptron {
            directions: rotate_rows(&q, &perceptron.directions),
            ..perceptron.clone()
        };
        let rotated_problem =
            Problem::new(params, Some(rotated_state), Some(rotated_perceptron)).unwrap();
        let plain = run(&problem);
        let turned = run(&rotated_problem);
        assert_eq!(plain.summary.steps, 50);
        assert_eq!(turned.summary.steps, 50);
        let expected = rotate_rows(&q, &plain.final_state.positions);
        let error = max_abs_diff(&expected, &turned.final_state.positions);
        assert!(
            error <= 1e-10,
            "{activation} {attention} {regime}: error {error:e}"
        );
        // The motion is not trivial.
        assert!(max_abs_diff(&plain.final_state.positions, &state.positions) > 1e-3);
        let energy_gap = (plain.summary.energy_final - turned.summary.energy_final).abs();
        assert!(energy_gap <= 1e-10, "energy not invariant: {energy_gap:e}");
    }
}

// 3. ---------------------------------------------------------------------------------------------

/// Pure attention: `P_x(-x) = 0`, so an antipodal pair is stationary.
#[test]
fn antipodal_pair_without_perceptron_is_stationary() {
    for dim in [2, 3] {
        for regime in [Regime::Ascent, Regime::Descent] {
            let mut params = small_params(
                dim,
                2,
                3.0,
                Activation::None,
                Attention::Usa,
                regime,
                Kernel::Shifted,
            );
            fixed_run(&mut params, 100, 10);
            let mut rng = ChaCha8Rng::seed_from_u64(7 + dim as u64);
            let x = random_unit_vector(&mut rng, dim);
            let mut positions = x.clone();
            positions.extend(x.iter().map(|v| -v));
            let state = State {
                dim,
                positions,
                masses: vec![0.5, 0.5],
            };
            let problem = problem_from(params, state.clone());
            let result = run(&problem);
            assert_eq!(result.summary.steps, 100);
            let error = max_abs_diff(&result.final_state.positions, &state.positions);
            assert!(error <= 1e-12, "d={dim} {regime}: moved by {error:e}");
        }
    }
}

// 4. ---------------------------------------------------------------------------------------------

/// One particle in ascent climbs the perceptron potential to a local maximizer of `v`.
#[test]
fn single_particle_ascends_to_a_local_maximum_of_the_potential() {
    for dim in [2, 3] {
        for seed in [777, 111, 5] {
            let mut params = small_params(
                dim,
                1,
                1.0,
                Activation::Relu,
                Attention::Usa,
                Regime::Ascent,
                Kernel::Shifted,
            );
            params.perceptron.scale = 1.0;
            params.perceptron.width = dim;
            params.perceptron.seed = seed;
            params.stop.drift_tol = 1e-8;
            params.stop.max_steps = 200_000;
            let state = random_state(dim, 1, seed + 1);
            let problem = problem_from(params, state);
            let result = run(&problem);
            assert_eq!(
                result.summary.stop_reason,
                StopReason::Converged,
                "d={dim} seed {seed}: {:?}",
                result.summary
            );
            let perceptron = &problem.dynamics.perceptron;
            let x = result.final_state.position(0).to_vec();
            let gradient = norm(&potential_gradient(perceptron, &x));
            assert!(
                gradient <= 1e-6,
                "d={dim} seed {seed}: |grad v| = {gradient:e}"
            );
            let v = perceptron.potential(&x);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            for _ in 0..50 {
                let mut t = random_unit_vector(&mut rng, dim);
                project_tangent(&x, &mut t);
                let eps = rng.gen_range(1e-4..1e-2);
                let mut y: Vec<f64> = x.iter().zip(&t).map(|(a, b)| a + eps * b).collect();
                let l = norm(&y);
                y.iter_mut().for_each(|c| *c /= l);
                let vy = perceptron.potential(&y);
                assert!(
                    v >= vy - 1e-12,
                    "d={dim} seed {seed}: v(x) = {v} < v(y) = {vy} at distance {eps}"
                );
            }
        }
    }
}

// 5. ---------------------------------------------------------------------------------------------

/// On S^1, Euler with the exponential retraction is the angle update `θ + dt θ̇`.
#[test]
fn euler_exp_on_the_circle_is_the_angle_update() {
    for regime in [Regime::Ascent, Regime::Descent] {
        let n = 25;
        let mut params = small_params(
            2,
            n,
            4.0,
            Activation::Relu,
            Attention::Usa,
            regime,
            Kernel::Shifted,
        );
        params.integrator.method = Method::Euler;
        params.integrator.retraction = Retraction::Exp;
        params.integrator.dt = 0.1;
        fixed_run(&mut params, 1, 1);
        let state = random_state(2, n, 31);
        let problem = problem_from(params, state.clone());
        let mut velocity = vec![0.0; state.positions.len()];
        problem
            .dynamics
            .velocity(&state.positions, &state.masses, &mut velocity, Par::Seq);
        let result = run(&problem);
        assert_eq!(result.summary.steps, 1);
        for i in 0..n {
            let theta = angle(state.position(i));
            let f = &velocity[2 * i..2 * i + 2];
            let theta_dot = -theta.sin() * f[0] + theta.cos() * f[1];
            let expected = theta + 0.1 * theta_dot;
            let got = angle(result.final_state.position(i));
            let error = angle_diff(got, expected).abs();
            assert!(
                error <= 1e-13,
                "{regime}, particle {i}: angle error {error:e}"
            );
        }
    }
}

// 6. ---------------------------------------------------------------------------------------------

fn paper_params(dim: usize, beta: f64, activation: Activation, regime: Regime) -> Params {
    let mut params = default_params_in(dim);
    params.model.particles = 200;
    params.model.beta = beta;
    params.model.regime = regime;
    params.perceptron.activation = activation;
    params
}

/// Ascent with a perceptron: a single Dirac at a critical point of `v`.
#[test]
fn paper_usa_ascent_ends_in_one_cluster() {
    for dim in [2, 3] {
        let mut params = paper_params(dim, 1.0, Activation::Relu, Regime::Ascent);
        params.stop.max_steps = 20_000;
        let problem = Problem::new(params, None, None).unwrap();
        let result = run(&problem);
        eprintln!("ascent d={dim}: {:?}", result.summary);
        assert_eq!(
            result.summary.n_clusters, 1,
            "d={dim}: {:?}",
            result.summary
        );
        let centre = &result.clusters[0].centre;
        let gradient = norm(&potential_gradient(&problem.dynamics.perceptron, centre));
        assert!(
            gradient <= 1e-3,
            "d={dim}: |grad v| at the centre = {gradient:e} ({:?})",
            result.summary
        );
    }
}

/// Descent with a perceptron on S^1 at β = 10: several atoms, tight, converged.
#[test]
fn paper_usa_descent_on_the_circle_ends_atomic() {
    let mut params = paper_params(2, 10.0, Activation::Relu, Regime::Descent);
    params.stop.max_steps = 200_000;
    let radius = params.cluster_radius();
    let problem = Problem::new(params, None, None).unwrap();
    let result = run(&problem);
    let summary = &result.summary;
    eprintln!("descent beta 10: {summary:?}");
    assert_eq!(summary.stop_reason, StopReason::Converged, "{summary:?}");
    assert!(summary.max_spread <= radius, "{summary:?}");
    assert!(summary.n_clusters >= 2, "{summary:?}");
}

/// The null run (pure attention, descent) repels: the particles stay spread out.
#[test]
fn paper_null_descent_stays_spread_out() {
    let mut params = paper_params(2, 10.0, Activation::None, Regime::Descent);
    params.stop.max_steps = 20_000;
    let problem = Problem::new(params, None, None).unwrap();
    let result = run(&problem);
    let summary = &result.summary;
    eprintln!("null beta 10: {summary:?}");
    assert!(summary.max_cluster_mass < 0.2, "{summary:?}");
    assert!(summary.n_clusters > 10, "{summary:?}");
}

// 7. ---------------------------------------------------------------------------------------------

#[test]
fn results_are_bit_identical_across_thread_counts() {
    let n = 300;
    let mut params = small_params(
        3,
        n,
        4.0,
        Activation::Gelu,
        Attention::Sa,
        Regime::Descent,
        Kernel::Shifted,
    );
    params.integrator.method = Method::Rk2;
    fixed_run(&mut params, 200, 10);
    let problem = problem_from(params, random_state(3, n, 3));
    let results: Vec<RunResult> = [1, 2, 4]
        .iter()
        .map(|&threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| simulate(&problem, Par::Rayon)).unwrap()
        })
        .collect();
    let sequential = simulate(&problem, Par::Seq).unwrap();
    for result in results.iter().chain([&sequential]) {
        assert_eq!(result.summary.steps, 200);
        let same_bits = result
            .final_state
            .positions
            .iter()
            .zip(&results[0].final_state.positions)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same_bits, "final positions differ in their bits");
        assert_eq!(result.series.len(), results[0].series.len());
        for (a, b) in result.series.iter().zip(&results[0].series) {
            assert_eq!(a.energy.to_bits(), b.energy.to_bits());
            assert_eq!(a.max_drift.to_bits(), b.max_drift.to_bits());
            assert_eq!(a.t.to_bits(), b.t.to_bits());
            assert_eq!(a.n_clusters, b.n_clusters);
        }
        assert_eq!(result, &results[0]);
    }
}

/// Past 16,384 particles the per-particle passes of a step (the stage combinations, the
/// retraction and the pull-back) run in parallel tasks; the spectral kernel evaluates 16
/// particles at a time with a tail of fewer. Neither may change a bit: S^1 (spectral, RK4,
/// normal coordinates, a particle count that leaves a tail) and S^2 (direct, Heun,
/// gnomonic), each against the calling thread alone.
#[test]
fn many_particle_steps_are_bit_identical_across_thread_counts() {
    let cases = [
        (2, 20_011, Method::Rk4, Retraction::Exp, 3),
        (3, 16_500, Method::Rk2, Retraction::Normalize, 1),
    ];
    for (dim, n, method, retraction, steps) in cases {
        let mut params = small_params(
            dim,
            n,
            3.0,
            Activation::Relu,
            Attention::Usa,
            Regime::Descent,
            Kernel::Shifted,
        );
        params.integrator.method = method;
        params.integrator.retraction = retraction;
        params.integrator.dt = 0.05;
        fixed_run(&mut params, steps, 1000);
        let problem = problem_from(params, random_state(dim, n, 11));
        let sequential = simulate(&problem, Par::Seq).unwrap();
        for threads in [2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let parallel = pool.install(|| simulate(&problem, Par::Rayon)).unwrap();
            assert_eq!(parallel.summary.steps, steps);
            let differing = parallel
                .final_state
                .positions
                .iter()
                .zip(&sequential.final_state.positions)
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            assert_eq!(
                differing,
                0,
                "S^{}: {differing} coordinates differ with {threads} threads",
                dim - 1
            );
        }
        let moved = max_abs_diff(
            &sequential.final_state.positions,
            &problem.initial.positions,
        );
        assert!(moved > 1e-6, "S^{}: the particles did not move", dim - 1);
    }
}

// 8. ---------------------------------------------------------------------------------------------

#[test]
fn checkpoint_through_json_resumes_to_the_same_result() {
    let mut failures: Vec<String> = Vec::new();
    for method in [Method::Adaptive, Method::Euler] {
        let n = 40;
        let mut params = small_params(
            2,
            n,
            3.0,
            Activation::Relu,
            Attention::Usa,
            Regime::Descent,
            Kernel::Shifted,
        );
        params.integrator.method = method;
        params.integrator.tol = 1e-7;
        params.stop.max_steps = 600;
        params.stop.drift_tol = 1e-4;
        let problem = problem_from(params, random_state(2, n, 8));
        let uninterrupted = run(&problem);
        assert!(
            uninterrupted.summary.steps > 137,
            "{:?}",
            uninterrupted.summary
        );

        let mut simulation = Simulation::start(&problem);
        let first = simulation.advance(&problem, 137, Par::Rayon).unwrap();
        assert_eq!(first, None);
        assert_eq!(simulation.step, 137);
        // The resume logic alone (an in-memory copy, no serialization) must be exact.
        let mut copy = simulation.clone();
        while copy
            .advance(&problem, u64::MAX, Par::Rayon)
            .unwrap()
            .is_none()
        {}
        assert!(
            copy.finish(&problem) == uninterrupted,
            "{method}: resuming an in-memory copy differs from the uninterrupted run"
        );
        let json = serde_json::to_string(&simulation).unwrap();
        let mut resumed: Simulation = serde_json::from_str(&json).unwrap();
        // Compact diagnosis of the round trip (the full Debug output is megabytes).
        let changed = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .filter(|(x, y)| x.to_bits() != y.to_bits())
                .count()
        };
        let scalars = [(simulation.t, resumed.t), (simulation.dt, resumed.dt)];
        let changed_scalars = scalars
            .iter()
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        let changed_positions = changed(&simulation.state.positions, &resumed.state.positions);
        let changed_masses = changed(&simulation.state.masses, &resumed.state.masses);
        if resumed != simulation {
            failures.push(format!(
            "{method}: the serde_json round trip changed the checkpoint: {changed_positions} of {} \
             positions, {changed_masses} of {} masses, {changed_scalars} of t/dt differ in their \
             bits (t {:e} -> {:e}, dt {:e} -> {:e})",
            simulation.state.positions.len(),
            simulation.state.masses.len(),
            simulation.t,
            resumed.t,
            simulation.dt,
            resumed.dt,
            ));
        }
        while resumed
            .advance(&problem, u64::MAX, Par::Rayon)
            .unwrap()
            .is_none()
        {}
        let result = resumed.finish(&problem);
        if result != uninterrupted {
            let error = max_abs_diff(
                &result.final_state.positions,
                &uninterrupted.final_state.positions,
            );
            failures.push(format!(
                "{method}: the run resumed from JSON differs from the uninterrupted one (final \
                 positions differ by up to {error:e}; steps {} vs {})",
                result.summary.steps, uninterrupted.summary.steps
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// 9. ---------------------------------------------------------------------------------------------

fn order_params(dim: usize, method: Method, dt: f64) -> Params {
    // tanh keeps the field smooth (ReLU's kink would cap the observed order of RK4).
    let mut params = small_params(
        dim,
        20,
        2.0,
        Activation::Tanh,
        Attention::Usa,
        Regime::Descent,
        Kernel::Shifted,
    );
    params.integrator.method = method;
    params.integrator.dt = dt;
    params.integrator.tol = 1e-9;
    params.integrator.retraction = if dim == 2 {
        Retraction::Exp
    } else {
        Retraction::Normalize
    };
    params.stop.t_max = Some(1.0);
    params.stop.drift_tol = 0.0;
    params.stop.max_steps = 1_000_000;
    params.stop.check_every = 1_000_000;
    params
}

fn final_positions(dim: usize, method: Method, dt: f64) -> Vec<f64> {
    let problem = problem_from(order_params(dim, method, dt), random_state(dim, 20, 12));
    let result = run(&problem);
    assert!(
        (result.summary.t_final - 1.0).abs() <= 1e-9,
        "{method} dt {dt}: t_final {}",
        result.summary.t_final
    );
    assert_eq!(result.summary.stop_reason, StopReason::TMax);
    result.final_state.positions
}

#[test]
fn runge_kutta_methods_converge_at_their_order() {
    let dt = 0.1;
    for dim in [3, 2] {
        let reference = final_positions(dim, Method::Rk4, dt / 64.0);
        for (method, order) in [(Method::Rk2, 2.0), (Method::Rk4, 4.0)] {
            let coarse = max_abs_diff(&final_positions(dim, method, dt), &reference);
            let fine = max_abs_diff(&final_positions(dim, method, dt / 2.0), &reference);
            let observed = (coarse / fine).log2();
            assert!(
                (observed - order).abs() <= 0.4,
                "d={dim} {method}: errors {coarse:e}, {fine:e}, observed order {observed}"
            );
        }
        let adaptive = final_positions(dim, Method::Adaptive, dt);
        let error = max_abs_diff(&adaptive, &reference);
        assert!(error <= 1e-6, "d={dim} adaptive: error {error:e}");
    }
}

// 10. --------------------------------------------------------------------------------------------

#[test]
fn coincident_pairs_merge_into_atoms_of_double_mass() {
    for dim in [2, 3] {
        let k = 12;
        let distinct = random_state(dim, k, 41 + dim as u64);
        let mut doubled_positions = Vec::with_capacity(2 * k * dim);
        for i in 0..k {
            doubled_positions.extend_from_slice(distinct.position(i));
            doubled_positions.extend_from_slice(distinct.position(i));
        }
        let doubled = State {
            dim,
            positions: doubled_positions,
            masses: vec![1.0 / (2 * k) as f64; 2 * k],
        };
        let single = State {
            masses: vec![1.0 / k as f64; k],
            ..distinct
        };
        let run_with = |state: State, merge_tol: f64| {
            let mut params = small_params(
                dim,
                state.len(),
                2.0,
                Activation::Relu,
                Attention::Usa,
                Regime::Descent,
                Kernel::Shifted,
            );
            params.measure.merge_tol = merge_tol;
            fixed_run(&mut params, 100, 10);
            run(&problem_from(params, state))
        };
        let merged = run_with(doubled, 1e-12);
        let plain = run_with(single, 0.0);
        assert_eq!(merged.summary.n_atoms, k, "d={dim}");
        assert_eq!(plain.summary.n_atoms, k, "d={dim}");
        let error = max_abs_diff(&merged.final_state.positions, &plain.final_state.positions);
        assert!(error <= 1e-10, "d={dim}: positions differ by {error:e}");
        let mass_error = max_abs_diff(&merged.final_state.masses, &plain.final_state.masses);
        assert!(
            mass_error <= 1e-15,
            "d={dim}: masses differ by {mass_error:e}"
        );
    }
}

// 11. --------------------------------------------------------------------------------------------

#[test]
fn huge_time_step_diverges_at_step_zero() {
    let mut params = default_params_in(2);
    params.model.particles = 20;
    params.integrator.dt = 1e6;
    let problem = Problem::new(params, None, None).unwrap();
    match simulate(&problem, Par::Seq) {
        Err(SolverError::Diverged {
            step, dt, angle, ..
        }) => {
            assert_eq!(step, 0);
            assert_eq!(dt, 1e6);
            assert!(angle > std::f64::consts::PI);
        }
        other => panic!("expected Diverged, got {other:?}"),
    }
}

#[test]
fn paper_kernel_with_huge_beta_is_refused() {
    let mut params = default_params_in(2);
    params.model.particles = 20;
    params.model.kernel = Kernel::Paper;
    params.model.beta = 800.0;
    match Problem::new(params, None, None) {
        Err(SolverError::InvalidParameter { key, .. }) => assert_eq!(key, "model.beta"),
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

// 12. --------------------------------------------------------------------------------------------

/// Three tight groups with masses 0.5, 0.3, 0.2, with `counts` particles each, spread ±0.01
/// around `centres` (angles on S^1, or points on S^2 via `embed`).
fn three_groups(centres: [f64; 3], counts: [usize; 3]) -> (Vec<f64>, Vec<f64>) {
    let group_mass = [0.5, 0.3, 0.2];
    let mut angles = Vec::new();
    let mut masses = Vec::new();
    for g in 0..3 {
        for p in 0..counts[g] {
            let offset = -0.01 + 0.02 * p as f64 / (counts[g] - 1) as f64;
            angles.push(centres[g] + offset);
            masses.push(group_mass[g] / counts[g] as f64);
        }
    }
    (angles, masses)
}

#[test]
fn clusters_of_three_groups_on_the_circle() {
    // The last group straddles angle 0 = 2π.
    let (angles, masses) = three_groups([1.0, 3.0, std::f64::consts::TAU - 0.005], [7, 5, 4]);
    let state = circle_state(&angles, &masses);
    let observed = observe(&state, 0.1, 0.1, 0.05);
    assert_eq!(observed.n_clusters, 3);
    assert_eq!(observed.n_heavy, 3);
    for (cluster, (mass, size)) in observed.clusters.iter().zip([(0.5, 7), (0.3, 5), (0.2, 4)]) {
        assert!((cluster.mass - mass).abs() <= 1e-12, "{cluster:?}");
        assert_eq!(cluster.size, size);
        assert!((cluster.spread - 0.02).abs() <= 1e-9, "{cluster:?}");
    }
    assert!((observed.max_cluster_mass - 0.5).abs() <= 1e-12);
    assert!((observed.max_spread - 0.02).abs() <= 1e-9);
    let centre_angle = angle(&observed.clusters[2].centre);
    assert!(angle_diff(centre_angle, -0.005).abs() <= 1e-9);
    assert!((observed.max_window_mass - 0.5).abs() <= 1e-12);
    // A radius wide enough to join none of them: still three; one much smaller splits them.
    assert_eq!(observe(&state, 0.9, 0.1, 0.05).n_clusters, 3);
    assert!(observe(&state, 0.001, 0.1, 0.05).n_clusters > 3);
    // With heavy_mass 0.25 only two groups count as heavy.
    assert_eq!(observe(&state, 0.1, 0.1, 0.25).n_heavy, 2);
}

#[test]
fn clusters_of_three_groups_on_the_sphere_by_single_linkage() {
    // Groups along three different great-circle arcs of S^2.
    let axes: [([f64; 3], [f64; 3]); 3] = [
        ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),
        ([0.0, 0.0, 1.0], [1.0, 0.0, 0.0]),
        ([0.0, -0.6, -0.8], [1.0, 0.0, 0.0]),
    ];
    let (offsets, masses) = three_groups([0.0, 0.0, 0.0], [6, 3, 5]);
    let counts = [6, 3, 5];
    let mut positions = Vec::new();
    let mut index = 0;
    for (g, (e, f)) in axes.iter().enumerate() {
        for _ in 0..counts[g] {
            let t: f64 = offsets[index];
            positions.extend((0..3).map(|k| t.cos() * e[k] + t.sin() * f[k]));
            index += 1;
        }
    }
    let state = State {
        dim: 3,
        positions,
        masses,
    };
    let observed = observe(&state, 0.1, 0.1, 0.05);
    assert_eq!(observed.n_clusters, 3);
    for (cluster, (mass, size)) in observed.clusters.iter().zip([(0.5, 6), (0.3, 3), (0.2, 5)]) {
        assert!((cluster.mass - mass).abs() <= 1e-12, "{cluster:?}");
        assert_eq!(cluster.size, size);
        assert!((cluster.spread - 0.02).abs() <= 1e-9, "{cluster:?}");
    }
    assert!((observed.clusters[1].centre[2] - 1.0).abs() <= 1e-9);
    // Single linkage: a chain of points 0.05 apart is one cluster at radius 0.06 although its
    // diameter is far larger.
    let chain: Vec<f64> = (0..20)
        .flat_map(|p| {
            let t = 0.05 * p as f64;
            [t.cos(), t.sin(), 0.0]
        })
        .collect();
    let chain_state = State {
        dim: 3,
        positions: chain,
        masses: vec![0.05; 20],
    };
    let chained = observe(&chain_state, 0.06, 0.1, 0.05);
    assert_eq!(chained.n_clusters, 1);
    assert!((chained.max_spread - 0.95).abs() <= 1e-9);
}

#[test]
fn window_mass_of_arcs() {
    let angles = [0.0, 0.1, 0.2, 0.3, 2.0, std::f64::consts::TAU - 0.05];
    let masses = [0.2, 0.1, 0.1, 0.2, 0.3, 0.1];
    let state = circle_state(&angles, &masses);
    // A single point's mass for a tiny window.
    assert!((window_mass(&state, 1e-6) - 0.3).abs() <= 1e-12);
    // [-0.05, 0.1] wraps around 0: 0.1 + 0.2 + 0.1 = 0.4.
    assert!((window_mass(&state, 0.16) - 0.4).abs() <= 1e-12);
    // [-0.05, 0.3] holds the whole arc near 0: 0.7.
    assert!((window_mass(&state, 0.36) - 0.7).abs() <= 1e-12);
    // Everything once the window covers the circle.
    assert!((window_mass(&state, 7.0) - 1.0).abs() <= 1e-12);
}

/// The S^2 null descent run of the paper's β sweep (fewer particles): a spread state, which the
/// authors' rule cannot stop, stops as `stationary_spread` once its drift is within `drift_tol`
/// and its energy steady, far before the cap.
#[test]
fn null_descent_on_the_sphere_stops_as_a_stationary_spread() {
    let mut params = default_params_in(3);
    params.model.particles = 200;
    params.model.beta = 1.0;
    params.perceptron.activation = Activation::None;
    let problem = Problem::new(params.clone(), None, None).unwrap();
    let result = run(&problem);
    let summary = &result.summary;
    assert_eq!(
        summary.stop_reason,
        StopReason::StationarySpread,
        "{summary:?}"
    );
    assert!(summary.steps < 20_000, "{summary:?}");
    assert!(summary.max_spread > params.cluster_radius(), "{summary:?}");
    assert!(!summary.stop_reason.is_stationary());
    let last = result.series.last().unwrap();
    assert!(last.max_drift <= params.stop.drift_tol, "{last:?}");
    // Without the rule it runs on to the cap.
    params.stop.spread_tol = 0.0;
    params.stop.max_steps = summary.steps + 500;
    let capped = run(&Problem::new(params, None, None).unwrap());
    assert_eq!(capped.summary.stop_reason, StopReason::MaxSteps);
}

/// A perceptron run stops as before: same reason, steps and clusters with the rule on or off.
#[test]
fn perceptron_runs_stop_as_before_the_spread_rule() {
    for beta in [0.5, 5.0] {
        let mut params = default_params_in(3);
        params.model.particles = 120;
        params.model.beta = beta;
        params.stop.max_steps = 30_000;
        let with_rule = run(&Problem::new(params.clone(), None, None).unwrap());
        params.stop.spread_tol = 0.0;
        let without = run(&Problem::new(params, None, None).unwrap());
        assert_ne!(with_rule.summary.stop_reason, StopReason::StationarySpread);
        assert_eq!(with_rule.summary, without.summary, "β = {beta}");
    }
}
