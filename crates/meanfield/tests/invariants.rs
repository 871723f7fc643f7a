//! Invariants of the scheme on whole runs: mass conserved to round-off, the density never
//! negative, the energy monotone (down in descent, up in ascent), rotation equivariance, the
//! same bits whatever the thread count, and bad parameters refused with their names.

mod support;

use sphereflow_meanfield::{
    solve, uniform_rate, InitialLaw, Limiter, MeanField, MeanFieldError, MeanFieldParams,
    MeanFieldResult, Model, VonMises,
};
use sphereflow_solver::{Activation, Attention, Kernel, Par, Regime};
use support::model;

fn lumpy() -> InitialLaw {
    InitialLaw::VonMises(vec![
        VonMises {
            weight: 1.0,
            centre: 0.7,
            concentration: 5.0,
        },
        VonMises {
            weight: 0.8,
            centre: 2.9,
            concentration: 20.0,
        },
        VonMises {
            weight: 0.5,
            centre: 4.6,
            concentration: 1.0,
        },
    ])
}

fn run(model: &Model, cells: usize, cfl: f64, t_end: f64, limiter: Limiter) -> MeanFieldResult {
    let mut params = MeanFieldParams::new(cells, cfl, t_end, 5);
    params.limiter = limiter;
    solve(model, &params, &lumpy(), Par::Seq).unwrap()
}

/// Every combination the scheme distinguishes, with the regimes where the energy is monotone.
fn cases() -> Vec<(Model, bool)> {
    let mut cases = Vec::new();
    for kernel in [Kernel::Shifted, Kernel::Paper] {
        for regime in [Regime::Ascent, Regime::Descent] {
            for activation in [Activation::None, Activation::Relu, Activation::Tanh] {
                cases.push((model(8.0, kernel, Attention::Usa, regime, activation), true));
                // SA is a gradient flow only without a perceptron.
                cases.push((
                    model(8.0, kernel, Attention::Sa, regime, activation),
                    activation == Activation::None,
                ));
            }
        }
    }
    cases
}

#[test]
fn mass_is_conserved_the_density_stays_non_negative_and_the_energy_is_monotone() {
    for (model, monotone) in cases() {
        for limiter in [Limiter::VanLeer, Limiter::Minmod] {
            let case = format!(
                "{} {} {} {:?} {limiter:?}",
                model.kernel, model.attention, model.regime, model.perceptron.sigma.activation
            );
            // Long enough for descent with ReLU to pile mass into a few cells.
            let t_end = match model.kernel {
                Kernel::Paper if model.attention == Attention::Usa => 0.02,
                _ => 10.0,
            };
            let result = run(&model, 256, 0.5, t_end, limiter);
            assert!(result.steps >= 20, "{case}: {} steps", result.steps);
            for mass in &result.mass {
                assert!((mass - 1.0).abs() < 1e-13, "{case}: mass {mass}");
            }
            assert!(result.densities.iter().all(|&d| d >= 0.0), "{case}");
            if monotone {
                assert_energy_follows_the_flow(model.sign(), &result.energy, &case);
                let total = model.sign() * (result.energy.last().unwrap() - result.energy[0]);
                assert!(total > 0.0, "{case}: energy did not move ({total:e})");
            }
        }
    }
}

#[test]
fn descent_with_a_perceptron_concentrates_and_stays_positive_at_the_largest_safe_cfl() {
    let model = model(
        20.0,
        Kernel::Shifted,
        Attention::Usa,
        Regime::Descent,
        Activation::Relu,
    );
    let result = run(&model, 512, 0.5, 40.0, Limiter::VanLeer);
    let last = result.final_density();
    let peak = last.iter().fold(0.0f64, |m, &d| m.max(d));
    // Uniform is 1/(2π) ≈ 0.16.
    assert!(peak > 5.0, "no concentration: peak {peak}");
    assert!(result.densities.iter().all(|&d| d >= 0.0));
    assert!((result.mass.last().unwrap() - 1.0).abs() < 1e-13);
}

#[test]
fn rotating_the_start_and_the_perceptron_by_whole_cells_rotates_the_solution() {
    let cells = 128;
    let shift = 37;
    let angle = shift as f64 * std::f64::consts::TAU / cells as f64;
    for attention in [Attention::Usa, Attention::Sa] {
        let base = model(
            6.0,
            Kernel::Shifted,
            attention,
            Regime::Descent,
            Activation::Gelu,
        );
        let mut rotated = base.clone();
        for j in 0..rotated.perceptron.width() {
            let a = base.perceptron.direction(j).to_vec();
            let (c, s) = (angle.cos(), angle.sin());
            rotated.perceptron.directions[2 * j] = c * a[0] - s * a[1];
            rotated.perceptron.directions[2 * j + 1] = s * a[0] + c * a[1];
        }
        let start = lumpy().cell_averages(cells).unwrap();
        let turned: Vec<f64> = (0..cells)
            .map(|i| start[(i + cells - shift) % cells])
            .collect();
        let params = MeanFieldParams::new(cells, 0.4, 2.0, 3);
        let a = sphereflow_meanfield::solve_density(&base, &params, start, Par::Seq).unwrap();
        let b = sphereflow_meanfield::solve_density(&rotated, &params, turned, Par::Seq).unwrap();
        let (a, b) = (a.final_density(), b.final_density());
        let scale = a.iter().fold(0.0f64, |m, &d| m.max(d));
        for i in 0..cells {
            let error = (b[i] - a[(i + cells - shift) % cells]).abs();
            assert!(error < 1e-9 * scale, "{attention}: cell {i}: {error:e}");
        }
        // And the rotation is not trivially satisfied: the solution is not rotation invariant.
        let moved: f64 = (0..cells).map(|i| (a[i] - b[i]).abs()).sum();
        assert!(moved > 1e-3, "{moved}");
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let model = model(
        8.0,
        Kernel::Shifted,
        Attention::Sa,
        Regime::Ascent,
        Activation::Relu,
    );
    let params = MeanFieldParams::new(5000, 0.5, 0.5, 3);
    let seq = solve(&model, &params, &lumpy(), Par::Seq).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let par = pool.install(|| solve(&model, &params, &lumpy(), Par::Rayon).unwrap());
    assert_eq!(seq.densities, par.densities);
    assert_eq!(seq.energy, par.energy);
    assert_eq!(seq.steps, par.steps);
}

fn refused(params: &MeanFieldParams) -> String {
    let model = Model::pure_attention(1.0, Kernel::Shifted, Attention::Usa, Regime::Ascent);
    match solve(&model, params, &InitialLaw::Uniform, Par::Seq) {
        Err(error @ MeanFieldError::InvalidParameter { .. }) => error.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn bad_parameters_are_refused_with_their_names() {
    let good = MeanFieldParams::new(64, 0.5, 1.0, 2);
    let check = |change: &dyn Fn(&mut MeanFieldParams), expected: &str| {
        let mut params = good.clone();
        change(&mut params);
        let message = refused(&params);
        assert_eq!(message, expected);
    };
    check(
        &|p| p.cells = 7,
        "invalid parameter meanfield.cells: must be at least 8, got 7",
    );
    check(
        &|p| p.cfl = 0.0,
        "invalid parameter meanfield.cfl: must be in (0, 1], got 0",
    );
    check(
        &|p| p.cfl = 1.5,
        "invalid parameter meanfield.cfl: must be in (0, 1], got 1.5",
    );
    check(
        &|p| p.cfl = f64::NAN,
        "invalid parameter meanfield.cfl: must be in (0, 1], got NaN",
    );
    check(
        &|p| p.t_end = f64::INFINITY,
        "invalid parameter meanfield.t_end: must be positive and finite, got inf",
    );
    check(
        &|p| p.t_end = -1.0,
        "invalid parameter meanfield.t_end: must be positive and finite, got -1",
    );
    check(
        &|p| p.snapshots = 1,
        "invalid parameter meanfield.snapshots: must be at least 2 (the initial and the final state), got 1",
    );
    check(
        &|p| p.dt_max = Some(0.0),
        "invalid parameter meanfield.dt_max: must be positive and finite, got 0",
    );
    let params = MeanFieldParams::new(64, 1.0, 1.0, 2);
    let model = Model::pure_attention(0.0, Kernel::Shifted, Attention::Usa, Regime::Ascent);
    let error = solve(&model, &params, &InitialLaw::Uniform, Par::Seq).unwrap_err();
    assert!(error.to_string().contains("model.beta"), "{error}");
    let model = Model::pure_attention(800.0, Kernel::Paper, Attention::Usa, Regime::Ascent);
    let error = solve(&model, &params, &InitialLaw::Uniform, Par::Seq).unwrap_err();
    assert!(error.to_string().contains("overflows"), "{error}");
    // A step cap that cannot reach t_end.
    let mut params = MeanFieldParams::new(64, 0.5, 1.0, 2);
    params.dt_max = Some(0.01);
    params.max_steps = 10;
    let model = Model::pure_attention(1.0, Kernel::Shifted, Attention::Usa, Regime::Ascent);
    let error = solve(&model, &params, &InitialLaw::Uniform, Par::Seq).unwrap_err();
    assert!(
        matches!(error, MeanFieldError::TooManySteps { .. }),
        "{error}"
    );
}

#[test]
fn snapshots_land_on_their_times_exactly() {
    let model = model(
        3.0,
        Kernel::Shifted,
        Attention::Usa,
        Regime::Ascent,
        Activation::Tanh,
    );
    let params = MeanFieldParams::new(64, 0.9, 1.0, 7);
    let result = solve(&model, &params, &lumpy(), Par::Seq).unwrap();
    assert_eq!(result.times.len(), 7);
    assert_eq!(*result.times.last().unwrap(), 1.0);
    assert_eq!(*result.series_times.last().unwrap(), 1.0);
    assert_eq!(result.densities.len(), 7 * 64);
    assert_eq!(result.series_times.len(), result.steps as usize + 1);
    assert!(result.series_times.windows(2).all(|w| w[1] > w[0]));
}

/// Near the uniform state the velocity vanishes but the attention's mode rates do not: with the
/// paper kernel at β = 10 (fastest rate about 2,000 per unit time) a step from the transport
/// bound alone left the stability region of SSP-RK3 at the first step and a cell went negative.
/// Steps are at most `cfl` over the scheme's rate at the uniform state, which must match the
/// continuum's `|γ_k*|` and keep a near-uniform start positive with a monotone energy.
#[test]
fn near_the_uniform_state_steps_stay_within_the_attention_rate() {
    for kernel in [Kernel::Shifted, Kernel::Paper] {
        for beta in [1.0, 10.0, 25.0] {
            let model = Model::pure_attention(beta, kernel, Attention::Usa, Regime::Descent);
            let scheme = MeanField::new(&model, &MeanFieldParams::new(1024, 0.5, 1.0, 2)).unwrap();
            let discrete = scheme.uniform_rate(1.0 / std::f64::consts::TAU);
            let continuum = uniform_rate(beta, kernel, Attention::Usa);
            assert!(
                (discrete / continuum - 1.0).abs() < 0.01,
                "{kernel} β = {beta}: scheme {discrete:e}, continuum {continuum:e}"
            );
        }
    }
    // SA's velocity is at most 1: no such bound.
    let sa = Model::pure_attention(10.0, Kernel::Paper, Attention::Sa, Regime::Descent);
    assert_eq!(uniform_rate(10.0, Kernel::Paper, Attention::Sa), 0.0);
    let scheme = MeanField::new(&sa, &MeanFieldParams::new(64, 0.5, 1.0, 2)).unwrap();
    assert_eq!(scheme.uniform_rate(1.0), 0.0);

    for regime in [Regime::Descent, Regime::Ascent] {
        let model = model(
            10.0,
            Kernel::Paper,
            Attention::Usa,
            regime,
            Activation::Relu,
        );
        let t_end = 0.02;
        let params = MeanFieldParams::new(512, 0.5, t_end, 3);
        let start = InitialLaw::Cosine {
            amplitude: 1e-3,
            mode: 3,
        };
        let result = solve(&model, &params, &start, Par::Seq).unwrap();
        let rate = uniform_rate(10.0, Kernel::Paper, Attention::Usa);
        assert!(rate > 1500.0 && rate < 2500.0, "{rate}");
        assert!(
            result.steps as f64 >= 0.99 * t_end * rate / 0.5,
            "{regime:?}: {} steps",
            result.steps
        );
        assert!(result.densities.iter().all(|&d| d >= 0.0), "{regime:?}");
        assert_energy_follows_the_flow(model.sign(), &result.energy, &format!("{regime:?}"));
    }
}

/// A run that cannot reach `t_end` within the step cap at steps of at most `cfl` over the
/// attention's rate is refused before it starts, naming `meanfield.t_end` and the steps needed.
#[test]
fn a_run_beyond_the_step_budget_is_refused_up_front() {
    let model = Model::pure_attention(25.0, Kernel::Paper, Attention::Usa, Regime::Descent);
    let params = MeanFieldParams::new(256, 0.5, 10.0, 2);
    let error = solve(&model, &params, &InitialLaw::Uniform, Par::Seq).unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("meanfield.t_end") && text.contains("model.beta = 25"),
        "{text}"
    );
    assert!(text.contains("the paper kernel"), "{text}");
    // The same t_end with the shifted kernel is within budget.
    let shifted = Model::pure_attention(25.0, Kernel::Shifted, Attention::Usa, Regime::Descent);
    assert!(solve(&shifted, &params, &InitialLaw::Uniform, Par::Seq).is_ok());
}

/// Energies of a run in `sign` ∈ {1 (ascent), −1 (descent)} never move against the flow by
/// more than rounding (1e-14 of the largest).
fn assert_energy_follows_the_flow(sign: f64, energy: &[f64], case: &str) {
    let scale = energy.iter().fold(0.0f64, |m, e| m.max(e.abs()));
    for pair in energy.windows(2) {
        let change = sign * (pair[1] - pair[0]);
        assert!(
            change >= -1e-14 * scale,
            "{case}: energy moved against the flow by {change:e}"
        );
    }
}
