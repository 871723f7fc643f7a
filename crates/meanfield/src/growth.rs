//! The linear instability of the uniform state, measured on the mean-field solution: from
//! `1/(2π) + ε cos kθ` under pure attention in ascent, the growth rate of Fourier mode `k` is the
//! least-squares slope of `log |ρ̂_k(t)|` over an early window, compared with `γ_k` of
//! MODEL.md §7 ([`crate::theory::growth_rate`]).
//!
//! The scheme's own rate is `γ_k` times about `(sin(kh/2) / (kh/2))^4 ≈ 1 - (kh)²/6` (two
//! cell averages in the energy and two differences, one for the gradient and one for the
//! divergence); the time error of SSP-RK3 is about `(γ_k dt)³ / 24` relative. Nonlinear terms
//! reach mode `k` only at order `ε³`.

use std::f64::consts::TAU;

use serde::{Deserialize, Serialize};
use sphereflow_solver::{Attention, Kernel, Par, Regime};

use crate::error::MeanFieldError;
use crate::init::InitialLaw;
use crate::params::{Limiter, MeanFieldParams, Model};
use crate::scheme::MeanField;
use crate::theory::growth_rate;

/// One growth-rate measurement's setup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrowthSetup {
    /// Inverse temperature β.
    pub beta: f64,
    /// Kernel convention.
    pub kernel: Kernel,
    /// USA or SA.
    pub attention: Attention,
    /// The mode `k >= 1`.
    pub mode: usize,
    /// ε, the initial amplitude of `cos kθ` (at most `1/(2π)`).
    pub amplitude: f64,
    /// Number of cells, a multiple of `mode`.
    pub cells: usize,
    /// Length of the fit window in predicted e-foldings: `t ∈ [0, efoldings / γ_k]`.
    pub efoldings: f64,
    /// Snapshots in the window (the points of the fit), at least 3.
    pub samples: usize,
    /// Time steps per snapshot interval, at least 1 (caps `dt`: the CFL step of a nearly
    /// uniform state is far too long for the growth it must resolve).
    pub steps_per_sample: usize,
}

impl GrowthSetup {
    /// A setup that measures `γ_k` to well within 1% for `k <= 10`, `β <= 25`: ε = 10^-4,
    /// 2520 cells (a multiple of every `k <= 10`), one e-folding sampled 20 times with 5 steps
    /// each.
    pub fn new(beta: f64, kernel: Kernel, attention: Attention, mode: usize) -> GrowthSetup {
        GrowthSetup {
            beta,
            kernel,
            attention,
            mode,
            amplitude: 1e-4,
            cells: 2520,
            efoldings: 1.0,
            samples: 20,
            steps_per_sample: 5,
        }
    }
}

/// The measured and predicted growth rates of one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrowthMeasurement {
    /// The mode `k`.
    pub mode: usize,
    /// Inverse temperature β.
    pub beta: f64,
    /// The slope of `log |ρ̂_k(t)|` fitted over the window.
    pub measured: f64,
    /// `γ_k` of the linear theory.
    pub theory: f64,
    /// `measured / theory - 1`.
    pub relative_error: f64,
    /// End of the fit window.
    pub window_end: f64,
    /// `(t, |ρ̂_k(t)|)` at the snapshots of the window.
    pub amplitudes: Vec<(f64, f64)>,
}

/// `|ρ̂_k| = |Σ_i h ρ_i e^{-i k θ_i}|` (θ_i the cell centres): the modulus of the `k`-th Fourier
/// coefficient of the cell masses.
pub fn mode_amplitude(density: &[f64], mode: usize) -> f64 {
    let h = TAU / density.len() as f64;
    let k = mode as f64;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &rho) in density.iter().enumerate() {
        let phase = k * (i as f64 + 0.5) * h;
        re += rho * phase.cos();
        im -= rho * phase.sin();
    }
    h * re.hypot(im)
}

/// The least-squares slope of `log y` against `t`.
///
/// # Panics
/// If fewer than two points are given.
pub fn log_slope(points: &[(f64, f64)]) -> f64 {
    assert!(points.len() >= 2, "a slope needs two points");
    let n = points.len() as f64;
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1.ln()).sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for &(t, y) in points {
        covariance += (t - mean_t) * (y.ln() - mean_y);
        variance += (t - mean_t) * (t - mean_t);
    }
    covariance / variance
}

/// `γ_k (sin(kh/2) / (kh/2))^4`: the growth rate of mode `k` of the semi-discrete scheme on
/// `cells` cells (exact for the linearized scheme; the measurement adds the time-stepping and
/// nonlinear errors only).
pub fn scheme_growth_rate(
    beta: f64,
    kernel: Kernel,
    attention: Attention,
    mode: usize,
    cells: usize,
) -> f64 {
    let half = mode as f64 * std::f64::consts::PI / cells as f64;
    growth_rate(beta, kernel, attention, mode) * (half.sin() / half).powi(4)
}

/// Runs pure attention in ascent from `1/(2π) + ε cos kθ` and fits the growth rate of mode `k`.
///
/// The scheme runs with k-fold symmetry ([`MeanField::with_symmetry`]): every stage is
/// projected onto the densities of period `2π/k`. The exact solution stays in that subspace,
/// and so does the scheme in exact arithmetic; the projection only removes round-off, which
/// would otherwise seed the faster modes of other periods: for β = 1, `γ_1 / γ_10 ≈ 2·10^7`, so
/// round-off in mode 1 would swamp mode 10 long before mode 10 has grown measurably (and
/// within a step, a time step sized for mode 10 is unstable for mode 1).
///
/// # Errors
/// `InvalidParameter` for `mode == 0`, `cells` not a multiple of `mode`, fewer than 3 samples,
/// no step per sample, a non-positive window, or an invalid model or grid; `InvalidInput` for
/// an amplitude the cosine law refuses.
pub fn measure_growth_rate(
    setup: &GrowthSetup,
    par: Par,
) -> Result<GrowthMeasurement, MeanFieldError> {
    let refuse = |key: &'static str, reason: &str| MeanFieldError::InvalidParameter {
        key,
        reason: reason.to_string(),
    };
    if setup.mode == 0 {
        return Err(refuse("growth.mode", "must be at least 1"));
    }
    if !setup.cells.is_multiple_of(setup.mode) {
        return Err(refuse(
            "growth.cells",
            "must be a multiple of the mode (the projection rotates by cells / mode)",
        ));
    }
    if setup.samples < 3 {
        return Err(refuse("growth.samples", "must be at least 3"));
    }
    if setup.steps_per_sample < 1 {
        return Err(refuse("growth.steps_per_sample", "must be at least 1"));
    }
    if !(setup.efoldings.is_finite() && setup.efoldings > 0.0) {
        return Err(refuse("growth.efoldings", "must be positive and finite"));
    }
    let model = Model::pure_attention(setup.beta, setup.kernel, setup.attention, Regime::Ascent);
    let scheme =
        MeanField::with_cells(&model, setup.cells, Limiter::VanLeer)?.with_symmetry(setup.mode)?;
    let theory = growth_rate(setup.beta, setup.kernel, setup.attention, setup.mode);
    let window_end = setup.efoldings / theory;
    let mut params = MeanFieldParams::new(setup.cells, 0.5, window_end, setup.samples);
    params.dt_max = Some(window_end / ((setup.samples - 1) * setup.steps_per_sample) as f64);
    params.validate()?;
    let mut density = InitialLaw::Cosine {
        amplitude: setup.amplitude,
        mode: setup.mode,
    }
    .cell_averages(setup.cells)?;
    let mut scratch = scheme.scratch();
    let times = params.snapshot_times();
    let mut amplitudes = vec![(0.0, mode_amplitude(&density, setup.mode))];
    let mut t = 0.0;
    for &target in &times[1..] {
        while t < target {
            let remaining = target - t;
            let cap = params.dt_max.map_or(remaining, |d| d.min(remaining));
            let report = scheme.step(&mut density, params.cfl, cap, &mut scratch, par);
            t = if report.dt == remaining {
                target
            } else {
                t + report.dt
            };
        }
        amplitudes.push((t, mode_amplitude(&density, setup.mode)));
    }
    let measured = log_slope(&amplitudes);
    Ok(GrowthMeasurement {
        mode: setup.mode,
        beta: setup.beta,
        measured,
        theory,
        relative_error: measured / theory - 1.0,
        window_end,
        amplitudes,
    })
}
