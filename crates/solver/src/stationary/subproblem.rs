//! The trust-region subproblem of the descent: minimize the quadratic model
//! `m(q) = c·q + ½ Σ_k λ_k q_k²` over the ball `|q| <= Δ`, in the eigen-coordinates of the
//! Hessian (`λ_k` its eigenvalues, `c_k` the gradient's components), by Moré–Sorensen: the
//! Newton step where the Hessian has no eigenvalue below `−τ` and the step fits; otherwise
//! `q(μ) = −Σ_k c_k / (λ_k + μ)` on the boundary, `μ > max(0, −λ_min)` found by bisection; in the
//! hard case (the gradient nearly misses the lowest eigenvector, so no such `μ` reaches the
//! boundary), `q(μ)` at the floor plus a move along the lowest eigenvector to the boundary.

use crate::sphere::norm;

use super::linalg::{PSEUDO_INVERSE_CUTOFF, SPECTRAL_THRESHOLD};

/// A step of the subproblem.
pub(crate) struct ModelStep {
    /// The step in eigen-coordinates.
    pub q: Vec<f64>,
    /// Whether it is the (pseudo-inverse) Newton step, inside the region.
    pub interior: bool,
}

/// The step minimizing `c·q + ½ Σ_k values_k q_k²` over `|q| <= radius` (module doc).
pub(crate) fn model_step(values: &[f64], c: &[f64], radius: f64) -> ModelStep {
    let size = values.len();
    let (lowest, k_min) =
        values
            .iter()
            .enumerate()
            .map(|(k, &l)| (l, k))
            .fold(
                (f64::INFINITY, 0),
                |best, x| if x.0 < best.0 { x } else { best },
            );
    let largest = values.iter().fold(0.0f64, |m, l| m.max(l.abs()));
    let cutoff = PSEUDO_INVERSE_CUTOFF * largest;
    // The model's minimizer `q(μ) = −Σ c_k / (λ_k + μ)` in eigen-coordinates, `μ > −λ_min`.
    let shifted = |mu: f64| -> Vec<f64> {
        (0..size)
            .map(|k| {
                let denominator = values[k] + mu;
                if denominator > 0.0 {
                    -c[k] / denominator
                } else {
                    0.0
                }
            })
            .collect()
    };
    // Where the Hessian is positive semidefinite (no eigenvalue below `−τ`), the Newton step
    // when it fits in the region, as a pseudo-inverse: the eigenvalues within `cutoff` of 0 or
    // below it (the symmetry modes among them, whose curvature off a stationary point is of the
    // order of the residual) are left out, so the step does not turn the state along its orbit.
    let newton = (lowest >= -SPECTRAL_THRESHOLD * largest).then(|| {
        (0..size)
            .map(|k| {
                if values[k] > cutoff {
                    -c[k] / values[k]
                } else {
                    0.0
                }
            })
            .collect::<Vec<f64>>()
    });
    if let Some(q) = newton.filter(|q| norm(q) <= radius) {
        return ModelStep { q, interior: true };
    }
    // On the boundary: `|q(μ)| = Δ`, `|q|` decreasing in `μ > floor = max(0, −λ_min)`.
    let floor = (-lowest).max(0.0);
    let mut low = (1e-12 * floor).max(1e-30 * largest.max(f64::MIN_POSITIVE));
    let mut high = 1e30 * largest.max(1.0);
    let q = if norm(&shifted(floor + low)) <= radius {
        // The hard case: the gradient (nearly) misses the lowest eigenvector, so no `μ > floor`
        // reaches the boundary; go along that eigenvector, downhill.
        let mut q = shifted(floor + low);
        let rest = (radius * radius - norm(&q).powi(2)).max(0.0).sqrt();
        q[k_min] += if c[k_min] > 0.0 { -rest } else { rest };
        q
    } else {
        for _ in 0..200 {
            let mid = (low * high).sqrt();
            if norm(&shifted(floor + mid)) > radius {
                low = mid;
            } else {
                high = mid;
            }
            if high / low < 1.0 + 1e-9 {
                break;
            }
        }
        shifted(floor + high)
    };
    ModelStep { q, interior: false }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn model(values: &[f64], c: &[f64], q: &[f64]) -> f64 {
        (0..q.len())
            .map(|k| c[k] * q[k] + 0.5 * values[k] * q[k] * q[k])
            .sum()
    }

    /// Points of the ball that any minimizer over it must not be above: the origin, both ends of
    /// every axis, the Cauchy point and seeded points inside and on the sphere.
    fn rivals(c: &[f64], radius: f64, seed: u64) -> Vec<Vec<f64>> {
        let size = c.len();
        let mut out = vec![vec![0.0; size]];
        for k in 0..size {
            for sign in [-1.0, 1.0] {
                let mut q = vec![0.0; size];
                q[k] = sign * radius;
                out.push(q);
            }
        }
        let gradient = norm(c);
        if gradient > 0.0 {
            out.push(c.iter().map(|v| -radius * v / gradient).collect());
        }
        let mut state = seed | 1;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        for i in 0..400 {
            let q: Vec<f64> = (0..size).map(|_| uniform()).collect();
            let length = norm(&q);
            let to = if i % 2 == 0 {
                radius
            } else {
                radius * uniform().abs()
            };
            out.push(q.iter().map(|v| v * to / length).collect());
        }
        out
    }

    fn check_optimal(
        values: &[f64],
        c: &[f64],
        radius: f64,
        seed: u64,
    ) -> Result<(), TestCaseError> {
        let step = model_step(values, c, radius);
        let length = norm(&step.q);
        prop_assert!(
            length <= radius * (1.0 + 1e-12),
            "|q| = {length} > Δ = {radius}"
        );
        if !step.interior {
            prop_assert!(
                (length - radius).abs() <= 1e-6 * radius,
                "boundary step of length {length}, Δ = {radius}"
            );
        }
        let largest = values.iter().fold(0.0f64, |m, l| m.max(l.abs()));
        // Moré–Sorensen's conditions for a global minimizer: `(Λ + μ) q = −c` with
        // `Λ + μ ⪰ 0`, `μ >= 0`, and `μ = 0` unless `|q| = Δ`; `μ` by least squares.
        let mu = -(0..values.len())
            .map(|k| step.q[k] * (c[k] + values[k] * step.q[k]))
            .sum::<f64>()
            / norm(&step.q).powi(2).max(f64::MIN_POSITIVE);
        let lowest = values.iter().fold(f64::INFINITY, |m, &l| m.min(l));
        let slack = 1e-6 * (norm(c) + largest * radius);
        prop_assert!(
            mu >= -lowest.min(0.0) - 1e-6 * largest,
            "μ = {mu}, λ_min = {lowest}"
        );
        prop_assert!(mu >= -1e-6 * largest, "μ = {mu}");
        if step.interior {
            prop_assert!(mu.abs() <= 1e-6 * largest, "interior step with μ = {mu}");
        }
        for k in 0..values.len() {
            let off = (values[k] + mu) * step.q[k] + c[k];
            prop_assert!(off.abs() <= slack, "component {k}: (λ + μ) q + c = {off}");
        }
        let scale = norm(c) * radius + largest * radius * radius;
        let reached = model(values, c, &step.q);
        for rival in rivals(c, radius, seed) {
            let other = model(values, c, &rival);
            prop_assert!(
                reached <= other + 1e-8 * scale,
                "m(q) = {reached} above m = {other} at a point of the ball (interior: {})",
                step.interior
            );
        }
        Ok(())
    }

    fn spectrum(size: usize, negative: bool) -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(1e-3f64..10.0, size).prop_flat_map(move |magnitudes| {
            prop::collection::vec(any::<bool>(), magnitudes.len()).prop_map(move |signs| {
                magnitudes
                    .iter()
                    .zip(&signs)
                    .map(|(m, &s)| if negative && s { -m } else { *m })
                    .collect()
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Positive definite, any gradient and radius: the model's minimum over the ball.
        #[test]
        fn convex_models_are_minimized_over_the_ball(
            values in spectrum(6, false),
            c in prop::collection::vec(-1.0f64..1.0, 6),
            radius in 1e-3f64..10.0,
            seed in any::<u64>(),
        ) {
            check_optimal(&values, &c, radius, seed)?;
        }

        /// Indefinite: the step is on the boundary and still the minimum over the ball.
        #[test]
        fn indefinite_models_are_minimized_on_the_boundary(
            values in spectrum(6, true),
            c in prop::collection::vec(-1.0f64..1.0, 6),
            radius in 1e-3f64..10.0,
            seed in any::<u64>(),
        ) {
            check_optimal(&values, &c, radius, seed)?;
        }

        /// The hard case: the gradient has no component along the lowest (negative) eigenvector.
        #[test]
        fn the_hard_case_moves_along_the_lowest_eigenvector(
            mut values in spectrum(6, false),
            mut c in prop::collection::vec(-1e-3f64..1e-3, 6),
            lowest in 1e-2f64..1.0,
            radius in 0.5f64..10.0,
            seed in any::<u64>(),
        ) {
            values[2] = -lowest;
            c[2] = 0.0;
            let step = model_step(&values, &c, radius);
            prop_assert!(!step.interior);
            prop_assert!(step.q[2].abs() > 0.0, "no move along the lowest eigenvector");
            check_optimal(&values, &c, radius, seed)?;
        }
    }

    #[test]
    fn a_convex_model_whose_newton_step_fits_takes_it() {
        let values = [1.0, 4.0, 0.5];
        let c = [0.1, -0.2, 0.05];
        let step = model_step(&values, &c, 1.0);
        assert!(step.interior);
        for k in 0..3 {
            assert!((step.q[k] + c[k] / values[k]).abs() <= 1e-15);
        }
        // The same model with a region the step does not fit: on the boundary.
        let step = model_step(&values, &c, 0.05);
        assert!(!step.interior);
        assert!((norm(&step.q) - 0.05).abs() <= 1e-9);
    }
}
