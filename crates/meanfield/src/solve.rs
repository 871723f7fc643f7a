//! A whole mean-field run: from an initial law to `t_end`, with snapshots of the density, the
//! mass and energy series and a positivity check after every step.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use sphereflow_solver::{Attention, Kernel, Par};

use crate::error::MeanFieldError;
use crate::init::InitialLaw;
use crate::params::{MeanFieldParams, Model};
use crate::scheme::MeanField;
use crate::theory::{growth_rate, unstable_mode};

/// The result of a mean-field run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanFieldResult {
    /// Number of cells `M`.
    pub cells: usize,
    /// Snapshot times, `t_end · j / (snapshots - 1)`.
    pub times: Vec<f64>,
    /// Cell averages at each snapshot time, row-major `snapshots × cells`.
    pub densities: Vec<f64>,
    /// Times of the series rows (every `series_every` steps, and the final state).
    pub series_times: Vec<f64>,
    /// Total mass `Σ_i h ρ_i` at each series time.
    pub mass: Vec<f64>,
    /// Discrete energy `E_h` at each series time.
    pub energy: Vec<f64>,
    /// SSP-RK3 steps taken.
    pub steps: u64,
    /// Steps taken when each snapshot was kept (0 for the initial density).
    #[serde(default)]
    pub snapshot_steps: Vec<u64>,
    /// Wall-clock time of the run in seconds (the only field that is not a function of the
    /// inputs).
    pub runtime_seconds: f64,
}

impl MeanFieldResult {
    /// The density of snapshot `j`.
    pub fn density(&self, snapshot: usize) -> &[f64] {
        &self.densities[snapshot * self.cells..(snapshot + 1) * self.cells]
    }

    /// The final density (at `t_end`).
    pub fn final_density(&self) -> &[f64] {
        self.density(self.times.len() - 1)
    }
}

/// The rate `Λ ρ̄` of a run at the uniform state of a probability density, as
/// the continuum gives it: `|γ_k*|`, the fastest mode's rate (MODEL.md §7), 0 for SA (whose
/// velocity is at most 1). The scheme's own rate ([`MeanField::uniform_rate`]) tends to it as
/// the cells shrink.
pub fn uniform_rate(beta: f64, kernel: Kernel, attention: Attention) -> f64 {
    match attention {
        Attention::Usa => growth_rate(beta, kernel, attention, unstable_mode(beta)).abs(),
        Attention::Sa => 0.0,
    }
}

/// Refuses `params` (`meanfield.t_end`) when `t_end` cannot be reached within `max_steps`
/// steps of at most `cfl / rate` each (`rate` the attention's fastest rate at the uniform state,
/// [`uniform_rate`] or [`MeanField::uniform_rate`]).
///
/// # Errors
/// `InvalidParameter` naming `meanfield.t_end`, with the fewest steps the run would take.
pub fn check_step_budget(
    rate: f64,
    beta: f64,
    kernel: Kernel,
    params: &MeanFieldParams,
) -> Result<(), MeanFieldError> {
    let fewest_steps = params.t_end * rate / params.cfl;
    if fewest_steps > params.max_steps as f64 {
        return Err(MeanFieldError::InvalidParameter {
            key: "meanfield.t_end",
            reason: format!(
                "{} needs at least {fewest_steps:.2e} steps at model.beta = {beta}, more than the \
                 {} of meanfield.max_steps: the \
                 attention's fastest rate at the uniform state is {rate:.3e} per unit time{} and \
                 a step is at most meanfield.cfl = {} over it; shorten meanfield.t_end (or \
                 raise meanfield.max_steps)",
                params.t_end,
                params.max_steps,
                if kernel == Kernel::Paper {
                    " (the paper kernel: e^β times the shifted one's)"
                } else {
                    ""
                },
                params.cfl
            ),
        });
    }
    Ok(())
}

/// Runs the mean-field equation of `model` from `initial` with `params`.
///
/// # Errors
/// `InvalidParameter` or `InvalidInput` for bad inputs; `NegativeDensity` or `NonFinite` if a
/// step breaks the scheme's guarantees (possible only for `cfl > 1/2`); `TooManySteps`.
pub fn solve(
    model: &Model,
    params: &MeanFieldParams,
    initial: &InitialLaw,
    par: Par,
) -> Result<MeanFieldResult, MeanFieldError> {
    params.validate()?;
    let density = initial.cell_averages(params.cells)?;
    solve_density(model, params, density, par)
}

/// As [`solve`], from given cell averages (`params.cells` of them, non-negative, finite).
///
/// # Errors
/// As [`solve`]; `InvalidInput` if `density` has the wrong length or a negative or non-finite
/// value.
pub fn solve_density(
    model: &Model,
    params: &MeanFieldParams,
    mut density: Vec<f64>,
    par: Par,
) -> Result<MeanFieldResult, MeanFieldError> {
    let started = Instant::now();
    params.validate()?;
    if density.len() != params.cells {
        return Err(MeanFieldError::InvalidInput {
            what: "density",
            reason: format!("{} values for {} cells", density.len(), params.cells),
        });
    }
    if let Some(bad) = density.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
        return Err(MeanFieldError::InvalidInput {
            what: "density",
            reason: format!("cell value {bad} is not finite and >= 0"),
        });
    }
    let scheme = MeanField::new(model, params)?;
    // Steps are at most cfl over the attention's fastest rate at the uniform state of this
    // mass (USA): a run that cannot reach t_end within max_steps is refused before it starts.
    let mean_density = density.iter().sum::<f64>() / params.cells as f64;
    check_step_budget(
        scheme.uniform_rate(mean_density),
        model.beta,
        model.kernel,
        params,
    )?;
    let mut scratch = scheme.scratch();
    let h = scheme.cell_width();
    let times = params.snapshot_times();
    let mut densities = Vec::with_capacity(times.len() * params.cells);
    densities.extend_from_slice(&density);
    let mut series_times = Vec::new();
    let mut mass = Vec::new();
    let mut energy = Vec::new();
    let mut t = 0.0;
    let mut steps = 0u64;
    let mut snapshot_steps = Vec::with_capacity(times.len());
    snapshot_steps.push(0);
    for &target in &times[1..] {
        while t < target {
            if steps >= params.max_steps {
                return Err(MeanFieldError::TooManySteps {
                    max_steps: params.max_steps,
                    t,
                    t_end: params.t_end,
                });
            }
            let remaining = target - t;
            let cap = params.dt_max.map_or(remaining, |d| d.min(remaining));
            if steps.is_multiple_of(params.series_every) {
                series_times.push(t);
                mass.push(density.iter().sum::<f64>() * h);
            }
            let report = scheme.step(&mut density, params.cfl, cap, &mut scratch, par);
            if steps.is_multiple_of(params.series_every) {
                energy.push(report.energy);
            }
            check(&mut density, steps, t)?;
            t = if report.dt == remaining {
                target
            } else {
                t + report.dt
            };
            steps += 1;
        }
        densities.extend_from_slice(&density);
        snapshot_steps.push(steps);
    }
    series_times.push(t);
    mass.push(density.iter().sum::<f64>() * h);
    energy.push(scheme.energy(&density, &mut scratch));
    Ok(MeanFieldResult {
        cells: params.cells,
        times,
        densities,
        series_times,
        mass,
        energy,
        steps,
        snapshot_steps,
        runtime_seconds: started.elapsed().as_secs_f64(),
    })
}

/// How far below zero, relative to the largest cell, a value may round when its cell empties:
/// the update `ρ_i - dt/h (F_{i+1} - F_i)` of a cell whose mass all leaves is 0 in exact
/// arithmetic (for `cfl <= 1/2`) and a few ulps of the fluxes either side of it in floating
/// point. Such values are set to 0; anything more negative is an error.
const ROUNDING: f64 = 1e-14;

fn check(density: &mut [f64], step: u64, t: f64) -> Result<(), MeanFieldError> {
    let largest = density.iter().copied().fold(0.0, f64::max);
    for (cell, value) in density.iter_mut().enumerate() {
        if !value.is_finite() {
            return Err(MeanFieldError::NonFinite { step, t, cell });
        }
        if *value < 0.0 && *value >= -ROUNDING * largest {
            *value = 0.0;
        }
        let value = *value;
        if value < 0.0 {
            return Err(MeanFieldError::NegativeDensity {
                step,
                t,
                cell,
                value,
            });
        }
    }
    Ok(())
}
