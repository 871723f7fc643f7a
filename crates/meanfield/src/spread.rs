//! How far a state on S^1 is from the uniform law, for states that spread rather than cluster
//! (MODEL.md §7: pure attention in descent repels, and its minimizer is the uniform law). Such a
//! state is reported by these measures, never by a cluster count: the arcs of width `r` that
//! tile a spread state are not clusters.

use std::f64::consts::TAU;

use sphereflow_solver::State;

use crate::error::MeanFieldError;
use crate::wasserstein::{w1_density_density, w1_particles_density};

/// How spread particles on S^1 are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParticleSpread {
    /// The largest gap between angular neighbours, in units of the uniform spacing `2π/n`
    /// (1 for equally spaced particles).
    pub largest_gap: f64,
    /// The W1 distance (radians) between the particles, with their masses, and the uniform law.
    pub w1_uniform: f64,
}

/// The spread measures of a state on S^1 (`dim = 2`, at least one particle).
///
/// # Errors
/// A state not on S^1, empty, or whose masses [`w1_particles_density`] refuses.
pub fn particle_spread(state: &State) -> Result<ParticleSpread, MeanFieldError> {
    if state.dim != 2 || state.is_empty() {
        return Err(MeanFieldError::InvalidInput {
            what: "state",
            reason: format!(
                "spread measures need particles on S^1, got {} in dimension {}",
                state.len(),
                state.dim
            ),
        });
    }
    let angles: Vec<f64> = state
        .positions
        .chunks_exact(2)
        .map(|x| x[1].atan2(x[0]).rem_euclid(TAU))
        .collect();
    let mut sorted = angles.clone();
    sorted.sort_by(f64::total_cmp);
    let wrap = sorted[0] + TAU - sorted[sorted.len() - 1];
    let gap = sorted.windows(2).map(|w| w[1] - w[0]).fold(wrap, f64::max);
    Ok(ParticleSpread {
        largest_gap: gap * state.len() as f64 / TAU,
        w1_uniform: w1_particles_density(&angles, &state.masses, &[1.0])?,
    })
}

/// How spread a density on S^1 is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DensitySpread {
    /// The largest and smallest cell average, in units of the uniform density `1/(2π)` of the
    /// same mass (both 1 for the uniform law).
    pub peak: f64,
    /// See [`DensitySpread::peak`].
    pub trough: f64,
    /// The W1 distance (radians) between the density and the uniform law.
    pub w1_uniform: f64,
}

/// The spread measures of cell averages `density` on equal cells.
///
/// # Errors
/// As [`w1_density_density`]: no cells, a negative or non-finite value, or no mass.
pub fn density_spread(density: &[f64]) -> Result<DensitySpread, MeanFieldError> {
    let w1_uniform = w1_density_density(density, &[1.0])?;
    let mean = density.iter().sum::<f64>() / density.len() as f64;
    let peak = density.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let trough = density.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(DensitySpread {
        peak: peak / mean,
        trough: trough / mean,
        w1_uniform,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circle(angles: &[f64]) -> State {
        State {
            dim: 2,
            positions: angles.iter().flat_map(|t| [t.cos(), t.sin()]).collect(),
            masses: vec![1.0 / angles.len() as f64; angles.len()],
        }
    }

    #[test]
    fn equally_spaced_particles_have_unit_gaps_and_w1_of_a_half_spacing_square() {
        // n equal atoms at the cell centres of n cells: W1 to uniform is n × (mass 1/n) × the mean
        // distance h/4 from a point of a cell of width h to its centre: h/4 = π/(2n).
        let n = 64;
        let angles: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) * TAU / n as f64).collect();
        let spread = particle_spread(&circle(&angles)).unwrap();
        assert!((spread.largest_gap - 1.0).abs() < 1e-12, "{spread:?}");
        let expected = std::f64::consts::PI / (2.0 * n as f64);
        assert!(
            (spread.w1_uniform - expected).abs() < 1e-12,
            "{spread:?} against {expected}"
        );
    }

    #[test]
    fn one_cluster_is_far_from_uniform_and_leaves_one_large_gap() {
        // Ten particles within 0.01 rad: the gap around the rest of the circle is nearly 2π, and
        // W1 to uniform is the mean distance from a point of the circle to the cluster, π/2.
        let angles: Vec<f64> = (0..10).map(|i| 1.0 + 1e-3 * i as f64).collect();
        let spread = particle_spread(&circle(&angles)).unwrap();
        assert!((spread.largest_gap - (TAU - 9e-3) * 10.0 / TAU).abs() < 1e-9);
        assert!((spread.w1_uniform - std::f64::consts::FRAC_PI_2).abs() < 1e-2);
    }

    #[test]
    fn the_uniform_density_is_at_distance_zero_and_a_bump_is_not() {
        let uniform = density_spread(&[0.3; 128]).unwrap();
        assert!(uniform.w1_uniform < 1e-14);
        assert!((uniform.peak - 1.0).abs() < 1e-14 && (uniform.trough - 1.0).abs() < 1e-14);
        let bump: Vec<f64> = (0..128)
            .map(|i| 1.0 + 0.5 * ((i as f64 + 0.5) * TAU / 128.0).cos())
            .collect();
        let spread = density_spread(&bump).unwrap();
        assert!((spread.peak - 1.5).abs() < 1e-3 && (spread.trough - 0.5).abs() < 1e-3);
        assert!(spread.w1_uniform > 0.1, "{spread:?}");
    }

    #[test]
    fn states_off_the_circle_are_refused() {
        let sphere = State {
            dim: 3,
            positions: vec![1.0, 0.0, 0.0],
            masses: vec![1.0],
        };
        assert!(particle_spread(&sphere).is_err());
        assert!(density_spread(&[]).is_err());
    }
}
