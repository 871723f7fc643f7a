//! Scaling-law fits against β with bootstrap intervals over seeds.
//!
//! - `power`: `value = C β^α`, least squares in log-log over the points with β >= `beta_min`
//!   and a positive value; `exponent` is α, `prefactor` is C.
//! - `sqrt`: `value = a + b sqrt β`, least squares; `exponent` is the slope b, `prefactor` a.
//!
//! The 95% interval of the exponent comes from a bootstrap that resamples the seeds within each
//! β (each task is one draw at its β) and refits, 2.5th and 97.5th percentiles. With a single
//! seed at every β the resampling cannot vary anything: there is no interval (`None`), rather
//! than one of zero width that would claim a certainty the data do not give.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Which law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// `C β^α`.
    Power,
    /// `a + b sqrt β`.
    Sqrt,
}

impl Law {
    /// `power` or `sqrt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Law::Power => "power",
            Law::Sqrt => "sqrt",
        }
    }
}

/// Fewest distinct β for a fit to test a law: a line passes through any two.
pub const MIN_BETAS: usize = 3;

/// A fitted law.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The law.
    pub law: Law,
    /// α (power) or b (sqrt).
    pub exponent: f64,
    /// The 95% bootstrap interval of the exponent; `None` when no β has two seeds to resample.
    pub interval: Option<(f64, f64)>,
    /// C (power) or a (sqrt).
    pub prefactor: f64,
    /// Coefficient of determination (in log-log for the power law).
    pub r2: f64,
    /// Points used.
    pub n_points: usize,
    /// Smallest β used.
    pub beta_min: f64,
    /// Largest β used.
    pub beta_max: f64,
    /// Fewer than [`MIN_BETAS`] distinct β, or values that do not vary: a line through so
    /// little says nothing of the law, and its r² nothing of the fit (`few_points` in
    /// `fits.parquet`).
    pub few_points: bool,
    /// The bootstrap's refitted lines `(intercept, slope)` in the law's transformed coordinates
    /// (empty when there is no interval): what [`Fit::band`] evaluates.
    pub replicates: Vec<(f64, f64)>,
}

impl Fit {
    /// The 95% pointwise band of the bootstrap fits at each β of `at`: `(β, low, high)` of the
    /// fitted value, from the same resampling as the exponent's interval (no refit). Empty when
    /// the fit has no interval.
    pub fn band(&self, at: &[f64]) -> Vec<(f64, f64, f64)> {
        if self.replicates.is_empty() {
            return Vec::new();
        }
        at.iter()
            .map(|&beta| {
                let mut values: Vec<f64> = self
                    .replicates
                    .iter()
                    .map(|&(a, b)| match self.law {
                        Law::Power => (a + b * beta.ln()).exp(),
                        Law::Sqrt => a + b * beta.sqrt(),
                    })
                    .collect();
                values.sort_by(f64::total_cmp);
                (beta, quantile(&values, 0.025), quantile(&values, 0.975))
            })
            .collect()
    }

    /// The interval as `[lo, hi]` with `digits` decimals, or `(no interval: one seed per β)`.
    pub fn interval_text(&self, digits: usize) -> String {
        match self.interval {
            Some((lo, hi)) => format!("[{lo:.digits$}, {hi:.digits$}]"),
            None => "(no interval: one seed per β)".into(),
        }
    }
}

/// Least squares line `y = intercept + slope x`, with r².
fn line(points: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let residual: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let r2 = if syy > 0.0 { 1.0 - residual / syy } else { 1.0 };
    Some((intercept, slope, r2))
}

/// The points a law is fitted to, transformed: `(log β, log v)` or `(sqrt β, v)`.
fn transformed(law: Law, points: &[(f64, f64)], beta_min: f64) -> Vec<(f64, f64)> {
    points
        .iter()
        .filter(|(beta, value)| *beta >= beta_min && value.is_finite())
        .filter(|(_, value)| law == Law::Sqrt || *value > 0.0)
        .map(|&(beta, value)| match law {
            Law::Power => (beta.ln(), value.ln()),
            Law::Sqrt => (beta.sqrt(), value),
        })
        .collect()
}

/// The p-th quantile (0..=1) of sorted values, by linear interpolation.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let position = p * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

/// Least squares lines `(intercept, slope)` of `replicates` resamplings of the groups (points
/// drawn with replacement within each group, as many as the group has).
fn resample(
    groups: &[Vec<(f64, f64)>],
    total: usize,
    replicates: usize,
    seed: u64,
) -> Vec<(f64, f64)> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut lines = Vec::with_capacity(replicates);
    let mut sample = Vec::with_capacity(total);
    for _ in 0..replicates {
        sample.clear();
        for group in groups {
            for _ in 0..group.len() {
                sample.push(group[rng.gen_range(0..group.len())]);
            }
        }
        if let Some((intercept, slope, _)) = line(&sample) {
            lines.push((intercept, slope));
        }
    }
    lines
}

/// Groups transformed points by equal x (equal β), in increasing x.
fn by_beta(data: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut groups: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut sorted = data.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    for point in sorted {
        match groups.last_mut() {
            Some(group) if group[0].0 == point.0 => group.push(point),
            _ => groups.push(vec![point]),
        }
    }
    groups
}

/// The fitted value of a law at β.
pub fn predict(fit: &Fit, beta: f64) -> f64 {
    match fit.law {
        Law::Power => fit.prefactor * beta.powf(fit.exponent),
        Law::Sqrt => fit.prefactor + fit.exponent * beta.sqrt(),
    }
}

/// Fits a law to `(β, value)` points (one per task) with a seeded bootstrap of `replicates`
/// resamplings of the seeds within each β. `None` with fewer than two distinct β.
pub fn fit(
    law: Law,
    points: &[(f64, f64)],
    beta_min: f64,
    replicates: usize,
    seed: u64,
) -> Option<Fit> {
    let data = transformed(law, points, beta_min);
    let (intercept, slope, r2) = line(&data)?;
    // Grouped by β (the transformed x is monotone in β, so equal x means equal β).
    let groups = by_beta(&data);
    // With one seed at every β each resampling is the data itself: no bootstrap to run.
    let lines = if groups.iter().any(|group| group.len() > 1) {
        resample(&groups, data.len(), replicates, seed)
    } else {
        Vec::new()
    };
    let mut slopes: Vec<f64> = lines.iter().map(|&(_, slope)| slope).collect();
    slopes.sort_by(f64::total_cmp);
    let interval =
        (!slopes.is_empty()).then(|| (quantile(&slopes, 0.025), quantile(&slopes, 0.975)));
    let betas = points.iter().map(|p| p.0).filter(|beta| *beta >= beta_min);
    let (beta_lo, beta_hi) = betas.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), b| {
        (lo.min(b), hi.max(b))
    });
    Some(Fit {
        law,
        exponent: slope,
        interval,
        prefactor: match law {
            Law::Power => intercept.exp(),
            Law::Sqrt => intercept,
        },
        r2,
        n_points: data.len(),
        beta_min: beta_lo,
        beta_max: beta_hi,
        few_points: groups.len() < MIN_BETAS || data.iter().all(|p| p.1 == data[0].1),
        replicates: lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    /// Synthetic counts `2 β^0.5 e^{noise}` at 10 seeds per β.
    fn synthetic(seed: u64, noise: f64) -> Vec<(f64, f64)> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let normal = Normal::new(0.0, noise).unwrap();
        let mut points = Vec::new();
        for beta in [1.0, 3.0, 5.0, 7.0, 10.0, 15.0, 25.0, 35.0, 50.0] {
            for _ in 0..10 {
                points.push((beta, 2.0 * f64::sqrt(beta) * normal.sample(&mut rng).exp()));
            }
        }
        points
    }

    #[test]
    fn exact_laws_are_recovered_exactly() {
        let power: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0]
            .iter()
            .map(|&b| (b, 3.0 * f64::powf(b, 0.7)))
            .collect();
        let fitted = fit(Law::Power, &power, 1.0, 100, 1).unwrap();
        assert!((fitted.exponent - 0.7).abs() < 1e-12);
        assert!((fitted.prefactor - 3.0).abs() < 1e-12);
        assert!((fitted.r2 - 1.0).abs() < 1e-12);
        let sqrt: Vec<(f64, f64)> = [1.0, 4.0, 9.0]
            .iter()
            .map(|&b| (b, 1.5 + 2.0 * f64::sqrt(b)))
            .collect();
        let fitted = fit(Law::Sqrt, &sqrt, 0.5, 100, 1).unwrap();
        assert!((fitted.exponent - 2.0).abs() < 1e-12 && (fitted.prefactor - 1.5).abs() < 1e-12);
        assert_eq!(
            (fitted.beta_min, fitted.beta_max, fitted.n_points),
            (1.0, 9.0, 3)
        );
        assert!(fit(Law::Power, &[(2.0, 1.0), (2.0, 3.0)], 1.0, 10, 1).is_none());
    }

    #[test]
    fn fits_through_two_betas_or_constant_values_are_flagged() {
        // Two β, with seeds: a line passes through both means whatever the law.
        let two = [(4.0, 2.0), (4.0, 2.5), (9.0, 3.0), (9.0, 3.1)];
        for law in [Law::Power, Law::Sqrt] {
            assert!(fit(law, &two, 1.0, 50, 1).unwrap().few_points);
        }
        // Three β but one value everywhere: r² = 1 means nothing.
        let flat = [(1.0, 5.0), (4.0, 5.0), (9.0, 5.0)];
        assert!(fit(Law::Sqrt, &flat, 1.0, 50, 1).unwrap().few_points);
        // Three β that vary: a real test of the law.
        let three = [(1.0, 1.0), (4.0, 2.1), (9.0, 2.9)];
        assert!(!fit(Law::Sqrt, &three, 1.0, 50, 1).unwrap().few_points);
        // β below the fit's range do not count.
        assert!(fit(Law::Sqrt, &three, 2.0, 50, 1).unwrap().few_points);
    }

    #[test]
    fn one_seed_per_beta_gives_no_interval() {
        // Noisy values, one per β: the estimate exists, an interval over seeds does not.
        let single: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0]
            .iter()
            .zip([1.1, 0.9, 1.2, 0.8, 1.05])
            .map(|(&b, noise): (&f64, f64)| (b, 2.0 * b.sqrt() * noise))
            .collect();
        let fitted = fit(Law::Power, &single, 1.0, 200, 3).unwrap();
        assert!((fitted.exponent - 0.5).abs() < 0.2);
        assert_eq!(fitted.interval, None);
        assert_eq!(fitted.interval_text(2), "(no interval: one seed per β)");
        // A second seed at one β is enough to resample (not at β = 4, the middle in log β,
        // where a point does not move the slope).
        let mut two = single.clone();
        two.push((16.0, 2.0 * 4.0 * 0.9));
        let (lo, hi) = fit(Law::Power, &two, 1.0, 200, 3)
            .unwrap()
            .interval
            .unwrap();
        assert!(lo < hi, "[{lo}, {hi}]");
    }

    #[test]
    fn the_interval_covers_the_true_exponent() {
        let mut covered = 0;
        for seed in 0..40 {
            let fitted = fit(Law::Power, &synthetic(seed, 0.2), 1.0, 400, seed).unwrap();
            let (lo, hi) = fitted.interval.unwrap();
            assert!(lo < fitted.exponent && fitted.exponent < hi);
            assert!(hi - lo < 0.2, "{fitted:?}");
            if lo <= 0.5 && 0.5 <= hi {
                covered += 1;
            }
        }
        // A 95% interval: about 38 of 40; fewer than 33 would mean it is too narrow.
        assert!(covered >= 33, "covered {covered} of 40");
        let fitted = fit(Law::Power, &synthetic(7, 0.2), 1.0, 400, 7).unwrap();
        assert!((fitted.exponent - 0.5).abs() < 0.1);
        // The points below beta_min are left out.
        let mut with_small = synthetic(7, 0.2);
        with_small.push((0.01, 1000.0));
        assert_eq!(fit(Law::Power, &with_small, 1.0, 400, 7).unwrap(), fitted);
    }

    #[test]
    fn the_band_brackets_the_fit_and_needs_two_seeds_at_some_beta() {
        let points = synthetic(11, 0.2);
        let fitted = fit(Law::Sqrt, &points, 1.0, 400, 3).unwrap();
        let betas = [1.0, 10.0, 50.0];
        let band = fitted.band(&betas);
        assert_eq!(band.len(), 3);
        for (beta, lo, hi) in band {
            let value = predict(&fitted, beta);
            assert!(lo < value && value < hi, "{lo} {value} {hi} at {beta}");
        }
        let single: Vec<(f64, f64)> = [1.0f64, 4.0, 9.0].iter().map(|&b| (b, b.sqrt())).collect();
        assert!(fit(Law::Sqrt, &single, 1.0, 100, 1)
            .unwrap()
            .band(&betas)
            .is_empty());
    }
}
