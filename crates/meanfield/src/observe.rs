//! A mean-field run seen as the particle solver sees a run, so the executor stores it and the
//! analyzer measures it like any task: each snapshot's density becomes a weighted state on S^1,
//! one atom of mass `h ρ_i` at the centre of every cell that holds mass, and its clusters, heavy
//! atoms and window mass are measured by the particle solver's own rules (MODEL.md §6).

use sphereflow_solver::clusters::observe;
use sphereflow_solver::Observables;
use sphereflow_solver::{Frame, Frames, Params, RunResult, SeriesRow, State, StopReason, Summary};

use crate::error::MeanFieldError;
use crate::params::{MeanFieldParams, Model};
use crate::scheme::MeanField;
use crate::solve::MeanFieldResult;

/// Cells lighter than this are left out of the cluster measures (not out of the stored state):
/// a density only approaches atoms exponentially in time, and a vanishing tail of mass would
/// otherwise link every atom into one cluster around the circle.
pub const OBSERVED_MASS_FLOOR: f64 = 1e-6;

/// Clusters of cells lighter than this in total are not counted: the fragments of a tail that
/// crosses [`OBSERVED_MASS_FLOOR`] more than once.
pub const COUNTED_CLUSTER_MASS: f64 = 1e-4;

/// The particle solver's measures of a density's cells, without the tail's fragments.
fn observe_density(density: &[f64], radius: f64, window: f64, heavy: f64) -> Observables {
    let mut observed = observe(
        &density_atoms(density, OBSERVED_MASS_FLOOR),
        radius,
        window,
        heavy,
    );
    observed.clusters.retain(|c| c.mass >= COUNTED_CLUSTER_MASS);
    observed.n_clusters = observed.clusters.len();
    observed.max_spread = observed
        .clusters
        .iter()
        .map(|c| c.spread)
        .fold(0.0, f64::max);
    observed
}

/// The density `density` (cell averages on `density.len()` cells) as atoms: one per cell with
/// positive mass, at the cell's centre `(i + 1/2) h`, of mass `h ρ_i`. With `floor`, cells
/// lighter than it are left out.
pub fn density_atoms(density: &[f64], floor: f64) -> State {
    let h = std::f64::consts::TAU / density.len() as f64;
    let mut positions = Vec::new();
    let mut masses = Vec::new();
    for (i, &rho) in density.iter().enumerate() {
        let mass = rho * h;
        if mass > 0.0 && mass >= floor {
            let angle = (i as f64 + 0.5) * h;
            positions.extend_from_slice(&[angle.cos(), angle.sin()]);
            masses.push(mass);
        }
    }
    State {
        dim: 2,
        positions,
        masses,
    }
}

/// The run result of a mean-field run: the snapshots as frames, one series row per snapshot
/// (its step, time, energy `E_h`, cluster count and the largest face speed where mass is),
/// the final density as the final state, its clusters and a summary with stop reason `t_max`
/// (the run ends at `meanfield.t_end`). `params` gives the cluster radius, window length and
/// heavy-atom mass of `measure.*`.
///
/// # Errors
/// `InvalidParameter` if the model or numerics are invalid (as [`MeanField::new`]).
pub fn as_run_result(
    model: &Model,
    numerics: &MeanFieldParams,
    result: &MeanFieldResult,
    params: &Params,
) -> Result<RunResult, MeanFieldError> {
    let scheme = MeanField::new(model, numerics)?;
    let mut scratch = scheme.scratch();
    let cells = result.cells;
    let radius = params.cluster_radius();
    let window = params.window_length();
    let heavy = params.measure.heavy_mass;
    let mut speeds = vec![0.0; cells];
    let mut series = Vec::with_capacity(result.times.len());
    let mut frames = Vec::with_capacity(result.times.len());
    let mut last = None;
    for (j, &t) in result.times.iter().enumerate() {
        let density = result.density(j);
        let observed = observe_density(density, radius, window, heavy);
        scheme.velocity(density, &mut speeds, &mut scratch);
        // Face f lies between cells f - 1 and f: its speed matters where either holds mass.
        let h = scheme.cell_width();
        let max_speed = (0..cells)
            .filter(|&f| {
                let left = density[(f + cells - 1) % cells] * h;
                let right = density[f] * h;
                left.max(right) >= OBSERVED_MASS_FLOOR
            })
            .map(|f| speeds[f].abs())
            .fold(0.0, f64::max);
        let step = result.snapshot_steps.get(j).copied().unwrap_or(0);
        series.push(SeriesRow {
            step,
            t,
            energy: scheme.energy(density, &mut scratch),
            n_clusters: observed.n_clusters,
            max_drift: max_speed,
        });
        frames.push(Frame {
            step,
            t,
            state: density_atoms(density, 0.0),
        });
        last = Some(observed);
    }
    let observed = last.expect("at least two snapshots");
    let final_state = frames.last().expect("snapshots").state.clone();
    let final_row = series.last().expect("snapshots");
    let summary = Summary {
        n_clusters: observed.n_clusters,
        n_heavy: observed.n_heavy,
        max_cluster_mass: observed.max_cluster_mass,
        max_window_mass: observed.max_window_mass,
        max_spread: observed.max_spread,
        energy_initial: series[0].energy,
        energy_final: final_row.energy,
        steps: result.steps,
        rejected_steps: 0,
        t_final: final_row.t,
        stop_reason: StopReason::TMax,
        max_drift: final_row.max_drift,
        n_atoms: final_state.len(),
    };
    let mut checks: Vec<u64> = (0..frames.len() as u64).collect();
    *checks.last_mut().expect("snapshots") = u64::MAX;
    Ok(RunResult {
        summary,
        clusters: observed.clusters,
        series,
        frames: Frames {
            every: 1,
            capacity: frames.len(),
            frames,
            checks,
        },
        final_state,
        certificate: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::InitialLaw;
    use crate::solve::solve;
    use sphereflow_solver::{Attention, Kernel, Par, Regime};

    #[test]
    fn atoms_carry_the_density_s_mass_at_the_cell_centres() {
        let density = [
            0.0,
            2.0 / std::f64::consts::TAU * 4.0,
            0.0,
            2.0 / std::f64::consts::TAU * 4.0,
        ];
        let state = density_atoms(&density, 0.0);
        assert_eq!(state.len(), 2);
        assert!((state.masses.iter().sum::<f64>() - 4.0).abs() < 1e-14);
        let angle = state.position(0)[1].atan2(state.position(0)[0]);
        assert!((angle - 1.5 * std::f64::consts::TAU / 4.0).abs() < 1e-14);
    }

    #[test]
    fn a_concentrating_density_is_measured_as_separate_atoms() {
        // Two von Mises bumps far apart: two clusters of mass 1/2 each at the counting radius.
        let law = InitialLaw::VonMises(vec![
            crate::init::VonMises {
                weight: 1.0,
                centre: 0.0,
                concentration: 400.0,
            },
            crate::init::VonMises {
                weight: 1.0,
                centre: std::f64::consts::PI,
                concentration: 400.0,
            },
        ]);
        let model = Model::pure_attention(5.0, Kernel::Shifted, Attention::Usa, Regime::Descent);
        let numerics = MeanFieldParams::new(256, 0.5, 0.2, 3);
        let result = solve(&model, &numerics, &law, Par::Seq).unwrap();
        let params = sphereflow_solver::testing::default_params();
        let run = as_run_result(&model, &numerics, &result, &params).unwrap();
        assert_eq!(run.summary.n_clusters, 2, "{:?}", run.clusters);
        assert!((run.clusters[0].mass - 0.5).abs() < 1e-3);
        assert_eq!(run.series.len(), 3);
        assert_eq!(run.frames.frames.len(), 3);
        assert_eq!(run.series[2].step, result.steps);
        assert!((run.final_state.masses.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Descent: the energy does not increase from snapshot to snapshot.
        assert!(run
            .series
            .windows(2)
            .all(|w| w[1].energy <= w[0].energy + 1e-12));
    }
}
