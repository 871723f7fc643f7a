//! The Wasserstein-1 distance on the circle, exact from the two cumulative distributions.
//!
//! On S^1 (circumference 2π), for probability measures with cumulative distributions `F`, `G`
//! from angle 0, `W1 = min_c ∫_0^{2π} |F(θ) - G(θ) - c| dθ`, attained at a median `c` of
//! `D = F - G` under the uniform measure on `[0, 2π)` (Rabin, Delon and Gousseau 2011; Cabrelli
//! and Molter 1995). Both measures here are piecewise uniform on cells or atomic, so `D` is
//! linear between breakpoints (faces and atoms), with jumps at atoms: the median and the
//! integral are computed exactly segment by segment (no sampling, no bisection).
//!
//! Masses are normalized: each measure is divided by its total mass first.

use std::f64::consts::TAU;

use crate::error::MeanFieldError;
use crate::init::wrap_angle;

/// A measure on the circle.
#[derive(Debug, Clone, Copy)]
pub enum CircleMeasure<'a> {
    /// Cell averages of a density on `len` equal cells, cell `i` = `[i h, (i + 1) h)`.
    Cells(&'a [f64]),
    /// Atoms at `angles` (any real values, taken modulo 2π) with `masses`.
    Atoms {
        /// Angles.
        angles: &'a [f64],
        /// Masses, non-negative.
        masses: &'a [f64],
    },
}

/// A cumulative distribution on `[0, 2π]`: knots with left and right limits, linear between
/// consecutive knots (the first knot is 0, the last 2π).
struct Cdf {
    positions: Vec<f64>,
    left: Vec<f64>,
    right: Vec<f64>,
}

fn invalid(what: &'static str, reason: impl Into<String>) -> MeanFieldError {
    MeanFieldError::InvalidInput {
        what,
        reason: reason.into(),
    }
}

impl Cdf {
    fn of(measure: &CircleMeasure<'_>) -> Result<Cdf, MeanFieldError> {
        match *measure {
            CircleMeasure::Cells(density) => {
                if density.is_empty() {
                    return Err(invalid("density", "no cells"));
                }
                if let Some(bad) = density.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
                    return Err(invalid(
                        "density",
                        format!("cell value {bad} is not finite and >= 0"),
                    ));
                }
                let total: f64 = density.iter().sum();
                if total <= 0.0 {
                    return Err(invalid("density", "total mass 0"));
                }
                let m = density.len();
                let mut values = Vec::with_capacity(m + 1);
                let mut cumulative = 0.0;
                values.push(0.0);
                for &d in density {
                    cumulative += d / total;
                    values.push(cumulative);
                }
                values[m] = 1.0;
                let positions = (0..=m).map(|i| TAU * i as f64 / m as f64).collect();
                Ok(Cdf {
                    positions,
                    left: values.clone(),
                    right: values,
                })
            }
            CircleMeasure::Atoms { angles, masses } => {
                if angles.len() != masses.len() || angles.is_empty() {
                    return Err(invalid(
                        "particles",
                        format!("{} angles for {} masses", angles.len(), masses.len()),
                    ));
                }
                if let Some(bad) = angles.iter().find(|a| !a.is_finite()) {
                    return Err(invalid("particles", format!("angle {bad} is not finite")));
                }
                if let Some(bad) = masses.iter().find(|m| !(m.is_finite() && **m >= 0.0)) {
                    return Err(invalid(
                        "particles",
                        format!("mass {bad} is not finite and >= 0"),
                    ));
                }
                let total: f64 = masses.iter().sum();
                if total <= 0.0 {
                    return Err(invalid("particles", "total mass 0"));
                }
                let mut atoms: Vec<(f64, f64)> = angles
                    .iter()
                    .zip(masses)
                    .map(|(&a, &m)| (wrap_angle(a), m / total))
                    .collect();
                atoms.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut positions = vec![0.0];
                let mut left = vec![0.0];
                let mut right = vec![0.0];
                let mut cumulative = 0.0;
                for (angle, mass) in atoms {
                    if angle != *positions.last().expect("starts with 0") {
                        positions.push(angle);
                        left.push(cumulative);
                        right.push(cumulative);
                    }
                    cumulative += mass;
                    *right.last_mut().expect("not empty") = cumulative;
                }
                positions.push(TAU);
                left.push(1.0);
                right.push(1.0);
                Ok(Cdf {
                    positions,
                    left,
                    right,
                })
            }
        }
    }

    /// Left and right limits at each of the increasing `queries` in `[0, 2π]`.
    fn limits_at(&self, queries: &[f64]) -> Vec<(f64, f64)> {
        let mut k = 0;
        queries
            .iter()
            .map(|&x| {
                while k + 1 < self.positions.len() && self.positions[k + 1] <= x {
                    k += 1;
                }
                if self.positions[k] == x {
                    (self.left[k], self.right[k])
                } else {
                    // Strictly inside (positions[k], positions[k + 1]).
                    let (a, b) = (self.positions[k], self.positions[k + 1]);
                    let t = (x - a) / (b - a);
                    let value = self.right[k] + t * (self.left[k + 1] - self.right[k]);
                    (value, value)
                }
            })
            .collect()
    }
}

/// One piece of `D = F - G`: linear from `start` to `end` over `length`.
struct Segment {
    length: f64,
    start: f64,
    end: f64,
}

/// `W1(μ, ν)` on the circle of circumference 2π, exact.
///
/// # Errors
/// `InvalidInput` for an empty measure, mismatched lengths, negative or non-finite values, or
/// zero total mass.
pub fn w1(first: &CircleMeasure<'_>, second: &CircleMeasure<'_>) -> Result<f64, MeanFieldError> {
    let (f, g) = (Cdf::of(first)?, Cdf::of(second)?);
    let mut knots: Vec<f64> = f.positions.iter().chain(&g.positions).copied().collect();
    knots.sort_by(f64::total_cmp);
    knots.dedup();
    let (fl, gl) = (f.limits_at(&knots), g.limits_at(&knots));
    let segments: Vec<Segment> = (0..knots.len() - 1)
        .map(|k| Segment {
            length: knots[k + 1] - knots[k],
            start: fl[k].1 - gl[k].1,
            end: fl[k + 1].0 - gl[k + 1].0,
        })
        .filter(|s| s.length > 0.0)
        .collect();
    let c = median(&segments);
    Ok(segments.iter().map(|s| absolute_integral(s, c)).sum())
}

/// `W1` between atoms (`angles`, `masses`) and a cell density.
///
/// # Errors
/// As [`w1`].
pub fn w1_particles_density(
    angles: &[f64],
    masses: &[f64],
    density: &[f64],
) -> Result<f64, MeanFieldError> {
    w1(
        &CircleMeasure::Atoms { angles, masses },
        &CircleMeasure::Cells(density),
    )
}

/// `W1` between two cell densities (on grids of any sizes).
///
/// # Errors
/// As [`w1`].
pub fn w1_density_density(first: &[f64], second: &[f64]) -> Result<f64, MeanFieldError> {
    w1(&CircleMeasure::Cells(first), &CircleMeasure::Cells(second))
}

/// `∫ |D - c|` over one segment.
fn absolute_integral(segment: &Segment, c: f64) -> f64 {
    let (a, b) = (segment.start - c, segment.end - c);
    if a * b >= 0.0 {
        segment.length * 0.5 * (a + b).abs()
    } else {
        segment.length * (a * a + b * b) / (2.0 * (a - b).abs())
    }
}

/// A median of `D` under the uniform measure on the segments: the value `c` where the length of
/// `{D < c}`, a non-decreasing piecewise-linear function of `c` (with jumps at flat pieces),
/// crosses half the total length.
fn median(segments: &[Segment]) -> f64 {
    // Events: (value, slope change, jump).
    let mut events: Vec<(f64, f64, f64)> = Vec::with_capacity(2 * segments.len());
    let mut total = 0.0;
    for s in segments {
        total += s.length;
        let (lo, hi) = if s.start <= s.end {
            (s.start, s.end)
        } else {
            (s.end, s.start)
        };
        if hi > lo {
            let slope = s.length / (hi - lo);
            events.push((lo, slope, 0.0));
            events.push((hi, -slope, 0.0));
        } else {
            events.push((lo, 0.0, s.length));
        }
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half = 0.5 * total;
    let (mut below, mut slope, mut previous) = (0.0, 0.0, events[0].0);
    let mut k = 0;
    while k < events.len() {
        let value = events[k].0;
        let reached = below + slope * (value - previous);
        if reached >= half && slope > 0.0 {
            return previous + (half - below) / slope;
        }
        below = reached;
        // Every event at this value: jumps first (the length of {D = value}), then slopes.
        let mut jump = 0.0;
        while k < events.len() && events[k].0 == value {
            slope += events[k].1;
            jump += events[k].2;
            k += 1;
        }
        if below + jump >= half {
            return value;
        }
        below += jump;
        previous = value;
    }
    previous
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn atoms<'a>(angles: &'a [f64], masses: &'a [f64]) -> CircleMeasure<'a> {
        CircleMeasure::Atoms { angles, masses }
    }

    /// A brute-force oracle: `min_c ∫ |F - G - c|` by fine sampling and a scan over `c`.
    fn sampled(first: &CircleMeasure<'_>, second: &CircleMeasure<'_>, samples: usize) -> f64 {
        let (f, g) = (Cdf::of(first).unwrap(), Cdf::of(second).unwrap());
        let queries: Vec<f64> = (0..samples)
            .map(|i| TAU * (i as f64 + 0.5) / samples as f64)
            .collect();
        let d: Vec<f64> = f
            .limits_at(&queries)
            .iter()
            .zip(g.limits_at(&queries))
            .map(|(a, b)| a.1 - b.1)
            .collect();
        let mut sorted = d.clone();
        sorted.sort_by(f64::total_cmp);
        let c = sorted[samples / 2];
        d.iter().map(|v| (v - c).abs()).sum::<f64>() * TAU / samples as f64
    }

    #[test]
    fn two_diracs_are_their_circular_distance_apart() {
        for (a, b) in [
            (0.5, 2.0),
            (0.1, 6.0),
            (3.0, 3.0 + PI),
            (-1.0, 1.0),
            (5.0, 0.2),
        ] {
            let distance = w1(&atoms(&[a], &[1.0]), &atoms(&[b], &[2.0])).unwrap();
            let gap = (wrap_angle(a) - wrap_angle(b)).abs();
            let expected = gap.min(TAU - gap);
            assert!((distance - expected).abs() < 1e-14, "{a} {b}: {distance}");
        }
    }

    #[test]
    fn analytic_cases() {
        // A uniform bump on [0, L) shifted by s: W1 = s (for L + s < 2π).
        let cells = 360;
        let bump = |first: usize, len: usize| -> Vec<f64> {
            (0..cells)
                .map(|i| {
                    if (first..first + len).contains(&i) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let h = TAU / cells as f64;
        let distance = w1_density_density(&bump(10, 40), &bump(25, 40)).unwrap();
        assert!((distance - 15.0 * h).abs() < 1e-13, "{distance}");
        // Wrapping around 0.
        let distance = w1_density_density(&bump(350, 5), &bump(2, 5)).unwrap();
        assert!((distance - 12.0 * h).abs() < 1e-13, "{distance}");
        // Uniform vs a Dirac: the mean distance to a point, π/2.
        let uniform = vec![1.0; 64];
        let distance = w1_particles_density(&[1.234], &[1.0], &uniform).unwrap();
        assert!((distance - PI / 2.0).abs() < 1e-14, "{distance}");
        // Uniform vs two antipodal halves: π/4.
        let distance = w1_particles_density(&[0.3, 0.3 + PI], &[0.5, 0.5], &uniform).unwrap();
        assert!((distance - PI / 4.0).abs() < 1e-14, "{distance}");
        // A measure against itself, in two grids.
        let fine: Vec<f64> = (0..128)
            .map(|i| 1.0 + (i as f64 * 0.1).sin().abs())
            .collect();
        let coarse: Vec<f64> = fine.chunks(2).map(|c| 0.5 * (c[0] + c[1])).collect();
        assert!(w1_density_density(&fine, &fine).unwrap() < 1e-15);
        // Halving a grid moves mass by at most h/4 on average.
        let halved = w1_density_density(&fine, &coarse).unwrap();
        assert!(halved > 0.0 && halved < TAU / 128.0, "{halved}");
    }

    #[test]
    fn the_exact_distance_matches_a_sampled_oracle() {
        let density: Vec<f64> = (0..50).map(|i| 1.0 + (i as f64 * 0.37).cos()).collect();
        let angles = [0.3, 1.7, 1.7, 4.0, 5.5, -0.2];
        let masses = [0.1, 0.2, 0.1, 0.3, 0.2, 0.1];
        let other: Vec<f64> = (0..37).map(|i| (i % 5) as f64).collect();
        let cases = [
            (atoms(&angles, &masses), CircleMeasure::Cells(&density)),
            (CircleMeasure::Cells(&other), CircleMeasure::Cells(&density)),
            (atoms(&angles, &masses), atoms(&[2.0, 3.0], &[0.4, 0.6])),
        ];
        for (a, b) in &cases {
            let exact = w1(a, b).unwrap();
            let oracle = sampled(a, b, 400_000);
            assert!((exact - oracle).abs() < 1e-4, "{exact} vs {oracle}");
            let swapped = w1(b, a).unwrap();
            assert!((exact - swapped).abs() < 1e-14);
        }
        assert!(w1_particles_density(&[0.0], &[0.0], &density).is_err());
        assert!(w1_density_density(&[], &density).is_err());
    }
}
