//! The mean-field limit (MODEL.md §10) against the particles: the W1 distance on the circle
//! between n particles and the density at the same time, with a power fit of its rate in n; the
//! measured linear growth rates of the uniform state against γ_k; the mass the density piles into
//! its heaviest cells.

use std::f64::consts::TAU;

use sphereflow_analyze::fits::{fit, Fit, Law};
use sphereflow_meanfield::{measure_growth_rate, GrowthMeasurement, GrowthSetup};
use sphereflow_solver::{Attention, Kernel, Par, State};

use crate::runs::{Run, SweepResults};

/// Bootstrap resamplings of the W1 rate fit.
const REPLICATES: usize = 1000;

/// The modes and inverse temperatures whose growth rates the growth-rate figure
/// (`fig8_growth_rates`) shows as measured dots.
pub const GROWTH_MODES: std::ops::RangeInclusive<usize> = 1..=10;
/// See [`GROWTH_MODES`].
pub const GROWTH_BETAS: [f64; 4] = [1.0, 5.0, 10.0, 25.0];

/// Whether a run is of the mean-field solver.
pub fn is_mean_field(run: &Run) -> bool {
    run.is_mean_field()
}

/// A stored parameter of a run, as a float.
fn parameter(run: &Run, path: &str) -> Option<f64> {
    run.result.summary.spec.parameters.get(path)?.as_f64()
}

/// The cell averages of a mean-field run's final density, rebuilt from its stored state (one
/// atom of mass `h ρ_i` at the centre of each cell that holds mass).
pub fn final_density(run: &Run) -> Option<Vec<f64>> {
    let cells = parameter(run, "meanfield.cells")? as usize;
    density_of(&run.result.final_state, cells)
}

/// The cell averages on `cells` cells of a state whose atoms sit at cell centres.
fn density_of(state: &State, cells: usize) -> Option<Vec<f64>> {
    if state.dim != 2 || cells == 0 {
        return None;
    }
    let h = TAU / cells as f64;
    let mut density = vec![0.0; cells];
    for (x, &mass) in state.positions.chunks_exact(2).zip(&state.masses) {
        let angle = x[1].atan2(x[0]).rem_euclid(TAU);
        let cell = ((angle / h - 0.5).round() as usize) % cells;
        density[cell] += mass / h;
    }
    Some(density)
}

/// The angles of a state on S^1.
fn angles(state: &State) -> Vec<f64> {
    state
        .positions
        .chunks_exact(2)
        .map(|x| x[1].atan2(x[0]))
        .collect()
}

/// One particle run against the density.
#[derive(Debug, Clone)]
pub struct LimitPoint {
    /// The particle task.
    pub task_id: String,
    /// Its number of particles.
    pub particles: usize,
    /// `W1(μ_n(t), ρ(t))` at the common final time.
    pub w1: f64,
}

/// The particles of a sweep against its mean-field density.
#[derive(Debug, Clone)]
pub struct Limit {
    /// The mean-field task.
    pub density_task: String,
    /// Its number of cells.
    pub cells: usize,
    /// The common time.
    pub t: f64,
    /// β of the model.
    pub beta: f64,
    /// The perceptron's activation in the model.
    pub activation: sphereflow_solver::Activation,
    /// One point per particle run.
    pub points: Vec<LimitPoint>,
    /// `W1 = C n^α` fitted over every point, the interval from resampling the seeds at each n.
    pub fit: Option<Fit>,
}

/// Whether two runs are of the same model (β, kernel, attention, regime and perceptron).
fn same_model(a: &Run, b: &Run) -> bool {
    let (p, q) = (&a.params, &b.params);
    p.model.beta == q.model.beta
        && p.model.kernel == q.model.kernel
        && p.model.attention == q.model.attention
        && p.model.regime == q.model.regime
        && a.perceptron == b.perceptron
}

/// The W1 distances between each particle run of `sweep` and the sweep's mean-field run of the
/// same model that ends at the same time (within 1e-9), with the power fit in n. `None` when
/// the sweep has no such pair.
pub fn particles_against_limit(sweep: &SweepResults) -> Option<Limit> {
    let density_run = sweep.runs.iter().find(|r| is_mean_field(r))?;
    let density = final_density(density_run)?;
    let t = density_run.result.summary.summary.t_final;
    let mut points = Vec::new();
    for run in sweep.runs.iter().filter(|r| !is_mean_field(r)) {
        let summary = &run.result.summary.summary;
        if !same_model(run, density_run) || (summary.t_final - t).abs() > 1e-9 * t.max(1.0) {
            continue;
        }
        let state = &run.result.final_state;
        if let Ok(w1) =
            sphereflow_meanfield::w1_particles_density(&angles(state), &state.masses, &density)
        {
            points.push(LimitPoint {
                task_id: run.task_id.clone(),
                particles: run.params.model.particles,
                w1,
            });
        }
    }
    if points.is_empty() {
        return None;
    }
    points.sort_by_key(|p| p.particles);
    let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.particles as f64, p.w1)).collect();
    Some(Limit {
        density_task: density_run.task_id.clone(),
        cells: density.len(),
        t,
        beta: density_run.beta(),
        activation: density_run.activation(),
        fit: fit(Law::Power, &xy, 0.0, REPLICATES, 1),
        points,
    })
}

/// The measured growth rates of modes [`GROWTH_MODES`] at [`GROWTH_BETAS`] (pure attention,
/// ascent, USA, shifted kernel, from `1/(2π) + 10^-4 cos kθ`), against γ_k. Each measurement is
/// a short mean-field run (about 100 steps on 2520 cells).
/// They are computed once per process (the figure and the claim share them).
pub fn growth_measurements() -> &'static [GrowthMeasurement] {
    static MEASURED: std::sync::OnceLock<Vec<GrowthMeasurement>> = std::sync::OnceLock::new();
    MEASURED.get_or_init(measure_growth_rates)
}

fn measure_growth_rates() -> Vec<GrowthMeasurement> {
    GROWTH_BETAS
        .iter()
        .flat_map(|&beta| GROWTH_MODES.map(move |k| (beta, k)))
        .filter_map(|(beta, k)| {
            let setup = GrowthSetup::new(beta, Kernel::Shifted, Attention::Usa, k);
            measure_growth_rate(&setup, Par::Seq).ok()
        })
        .collect()
}

/// The heaviest cells of a mean-field run's final density: their masses, heaviest first.
pub fn heaviest_cells(run: &Run, count: usize) -> Vec<f64> {
    let Some(density) = final_density(run) else {
        return Vec::new();
    };
    let h = TAU / density.len() as f64;
    let mut masses: Vec<f64> = density.iter().map(|rho| rho * h).collect();
    masses.sort_by(|a, b| b.total_cmp(a));
    masses.truncate(count);
    masses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_density_rebuilt_from_its_cell_atoms_is_the_density() {
        let cells = 64;
        let density: Vec<f64> = (0..cells)
            .map(|i| (1.0 + 0.5 * (i as f64 * 0.3).sin()) / TAU)
            .collect();
        let total: f64 = density.iter().sum::<f64>() * TAU / cells as f64;
        let density: Vec<f64> = density.iter().map(|d| d / total).collect();
        let state = sphereflow_meanfield::density_atoms(&density, 0.0);
        let rebuilt = density_of(&state, cells).unwrap();
        for (a, b) in density.iter().zip(&rebuilt) {
            assert!((a - b).abs() < 1e-12, "{a} {b}");
        }
    }

    #[test]
    fn measured_growth_rates_are_within_one_percent_of_the_theory() {
        let measured = growth_measurements();
        assert_eq!(measured.len(), GROWTH_BETAS.len() * GROWTH_MODES.count());
        for m in measured {
            assert!(m.relative_error.abs() < 0.01, "{m:?}");
        }
    }
}
