//! Initial laws on S^1 turned into cell averages of a density per radian (`Σ_i ρ_i h = 1`):
//! uniform, uniform plus a cosine, von Mises mixtures, and a particle state binned into cells.

use std::f64::consts::TAU;

use serde::{Deserialize, Serialize};

use crate::error::MeanFieldError;
use crate::theory::scaled_bessel_i;
use sphereflow_solver::quadrature::GaussLegendre;

/// Gauss–Legendre nodes per cell for the von Mises cell averages.
const NODES_PER_CELL: usize = 8;

/// One component of a von Mises mixture: `weight · e^{κ cos(θ - centre)} / (2π I_0(κ))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VonMises {
    /// Mixture weight, non-negative (the weights are normalized to sum 1).
    pub weight: f64,
    /// Centre angle μ (radians).
    pub centre: f64,
    /// Concentration κ >= 0 (0 is the uniform law).
    pub concentration: f64,
}

/// Where the density starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialLaw {
    /// `1 / (2π)`.
    Uniform,
    /// `1/(2π) + amplitude · cos(mode θ)`, `mode >= 1`, `|amplitude| <= 1/(2π)` (else negative
    /// somewhere); cell averages exact.
    Cosine {
        /// ε.
        amplitude: f64,
        /// k.
        mode: usize,
    },
    /// A mixture of von Mises laws; each component's cell masses are computed by 8-point
    /// Gauss–Legendre per cell and normalized to its weight exactly.
    VonMises(Vec<VonMises>),
    /// Atoms at `angles` with `masses`, binned into the cells that contain them (cell `i` is
    /// `[i h, (i + 1) h)`), total mass normalized to 1.
    Particles {
        /// Angles, any real values (taken modulo 2π).
        angles: Vec<f64>,
        /// Masses, non-negative with a positive sum.
        masses: Vec<f64>,
    },
}

fn invalid(reason: impl Into<String>) -> MeanFieldError {
    MeanFieldError::InvalidInput {
        what: "initial law",
        reason: reason.into(),
    }
}

impl InitialLaw {
    /// The cell averages on `cells` cells.
    ///
    /// # Errors
    /// `InvalidInput` for a cosine that goes negative or has mode 0, a mixture with no positive
    /// weight or a bad component, particles with mismatched lengths or non-finite values.
    pub fn cell_averages(&self, cells: usize) -> Result<Vec<f64>, MeanFieldError> {
        let h = TAU / cells as f64;
        match self {
            InitialLaw::Uniform => Ok(vec![1.0 / TAU; cells]),
            &InitialLaw::Cosine { amplitude, mode } => {
                if mode == 0 {
                    return Err(invalid("cosine mode must be at least 1"));
                }
                if !amplitude.is_finite() || amplitude.abs() > 1.0 / TAU {
                    return Err(invalid(format!(
                        "cosine amplitude {amplitude} makes the density negative (|amplitude| must be at most 1/(2π) = {})",
                        1.0 / TAU
                    )));
                }
                let k = mode as f64;
                Ok((0..cells)
                    .map(|i| {
                        let (a, b) = (i as f64 * h, (i + 1) as f64 * h);
                        1.0 / TAU + amplitude * ((k * b).sin() - (k * a).sin()) / (k * h)
                    })
                    .collect())
            }
            InitialLaw::VonMises(components) => von_mises_averages(components, cells),
            InitialLaw::Particles { angles, masses } => bin_particles(angles, masses, cells),
        }
    }
}

fn von_mises_averages(components: &[VonMises], cells: usize) -> Result<Vec<f64>, MeanFieldError> {
    if components.is_empty() {
        return Err(invalid("a von Mises mixture needs at least one component"));
    }
    for (c, component) in components.iter().enumerate() {
        let ok = component.weight.is_finite()
            && component.weight >= 0.0
            && component.centre.is_finite()
            && component.concentration.is_finite()
            && component.concentration >= 0.0;
        if !ok {
            return Err(invalid(format!(
                "von Mises component {c} needs a finite weight >= 0, a finite centre and a finite concentration >= 0, got {component:?}"
            )));
        }
    }
    let total: f64 = components.iter().map(|c| c.weight).sum();
    if total <= 0.0 {
        return Err(invalid("von Mises weights sum to 0"));
    }
    let h = TAU / cells as f64;
    let rule = GaussLegendre::new(NODES_PER_CELL);
    let mut density = vec![0.0; cells];
    for component in components {
        let kappa = component.concentration;
        // e^{κ(cos - 1)}: the normalization is applied below, so no Bessel function is needed
        // beyond this scaled form (which never overflows).
        let masses: Vec<f64> = (0..cells)
            .map(|i| {
                let (a, b) = (i as f64 * h, (i + 1) as f64 * h);
                rule.integrate(a, b, |theta| {
                    (kappa * ((theta - component.centre).cos() - 1.0)).exp()
                })
            })
            .collect();
        let sum: f64 = masses.iter().sum();
        let scale = component.weight / total / (sum * h);
        for (d, m) in density.iter_mut().zip(&masses) {
            *d += m * scale;
        }
    }
    Ok(density)
}

/// The von Mises density `e^{κ cos(θ - μ)} / (2π I_0(κ))` at `theta` (for tests and oracles).
pub fn von_mises_density(component: &VonMises, theta: f64) -> f64 {
    let kappa = component.concentration;
    if kappa == 0.0 {
        return 1.0 / TAU;
    }
    let i0 = scaled_bessel_i(kappa, 0)[0];
    (kappa * ((theta - component.centre).cos() - 1.0)).exp() / (TAU * i0)
}

/// Angle modulo 2π in `[0, 2π)`.
pub fn wrap_angle(theta: f64) -> f64 {
    let wrapped = theta.rem_euclid(TAU);
    // rem_euclid can round up to exactly 2π for tiny negative inputs.
    if wrapped >= TAU {
        0.0
    } else {
        wrapped
    }
}

fn bin_particles(angles: &[f64], masses: &[f64], cells: usize) -> Result<Vec<f64>, MeanFieldError> {
    if angles.len() != masses.len() {
        return Err(invalid(format!(
            "{} angles for {} masses",
            angles.len(),
            masses.len()
        )));
    }
    if let Some(bad) = angles.iter().find(|a| !a.is_finite()) {
        return Err(invalid(format!("particle angle {bad} is not finite")));
    }
    if let Some(bad) = masses.iter().find(|m| !(m.is_finite() && **m >= 0.0)) {
        return Err(invalid(format!(
            "particle mass {bad} is not finite and >= 0"
        )));
    }
    let total: f64 = masses.iter().sum();
    if total <= 0.0 {
        return Err(invalid("particle masses sum to 0"));
    }
    let h = TAU / cells as f64;
    let mut density = vec![0.0; cells];
    for (&theta, &mass) in angles.iter().zip(masses) {
        let cell = ((wrap_angle(theta) / h) as usize).min(cells - 1);
        density[cell] += mass;
    }
    density.iter_mut().for_each(|d| *d /= total * h);
    Ok(density)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn mass(density: &[f64]) -> f64 {
        density.iter().sum::<f64>() * TAU / density.len() as f64
    }

    #[test]
    fn every_law_has_unit_mass_and_the_right_shape() {
        let laws = [
            InitialLaw::Uniform,
            InitialLaw::Cosine {
                amplitude: 0.1,
                mode: 3,
            },
            InitialLaw::VonMises(vec![
                VonMises {
                    weight: 2.0,
                    centre: 1.0,
                    concentration: 4.0,
                },
                VonMises {
                    weight: 1.0,
                    centre: -2.0,
                    concentration: 0.0,
                },
            ]),
            InitialLaw::Particles {
                angles: vec![0.1, -0.05, 7.0],
                masses: vec![1.0, 1.0, 2.0],
            },
        ];
        for law in &laws {
            let density = law.cell_averages(64).unwrap();
            assert!((mass(&density) - 1.0).abs() < 1e-14, "{law:?}");
            assert!(density.iter().all(|&d| d >= 0.0), "{law:?}");
        }
        // The von Mises cell averages approach the density at the cell centres.
        let component = VonMises {
            weight: 1.0,
            centre: 0.5,
            concentration: 3.0,
        };
        let density = InitialLaw::VonMises(vec![component])
            .cell_averages(4096)
            .unwrap();
        let h = TAU / 4096.0;
        for i in (0..4096).step_by(97) {
            let exact = von_mises_density(&component, (i as f64 + 0.5) * h);
            assert!(
                (density[i] - exact).abs() < 1e-5 * exact.max(1e-3),
                "cell {i}"
            );
        }
        // Particles: -0.05 wraps to the last cell, 7.0 to 7 - 2π.
        let density = laws[3].cell_averages(64).unwrap();
        let h = TAU / 64.0;
        assert!((density[63] * h - 0.25).abs() < 1e-15);
        assert!((density[1] * h - 0.25).abs() < 1e-15);
        assert!((density[((7.0 - TAU) / h) as usize] * h - 0.5).abs() < 1e-15);
    }

    #[test]
    fn bad_laws_are_refused() {
        let negative = InitialLaw::Cosine {
            amplitude: 0.2,
            mode: 1,
        };
        let message = negative.cell_averages(16).unwrap_err().to_string();
        assert!(message.contains("negative"), "{message}");
        assert!(InitialLaw::Cosine {
            amplitude: 0.1,
            mode: 0
        }
        .cell_averages(16)
        .is_err());
        assert!(InitialLaw::VonMises(vec![]).cell_averages(16).is_err());
        assert!(InitialLaw::Particles {
            angles: vec![0.0],
            masses: vec![1.0, 2.0]
        }
        .cell_averages(16)
        .is_err());
        assert!(wrap_angle(-1e-300) < TAU && (wrap_angle(-PI) - PI).abs() < 1e-15);
    }
}
