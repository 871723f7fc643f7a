//! The linear theory of pure attention near the uniform state on S^1 (MODEL.md §7, BPA): the
//! growth rates `γ_k` of the Fourier modes, from scaled modified Bessel functions.
//!
//! The Bessel recurrence is the one of `sphereflow-analyze`'s `theory.rs`, reimplemented here
//! because the analyzer depends on the solver side, not the other way round.

use sphereflow_solver::{Attention, Kernel};

/// `e^{-x} I_k(x)` for `k = 0..=k_max` (modified Bessel functions of the first kind, scaled),
/// by Miller's backward recurrence normalized with `1 = Ĩ_0 + 2 Σ_{k>=1} Ĩ_k`.
///
/// # Panics
/// If `x` is not positive and finite.
pub fn scaled_bessel_i(x: f64, k_max: usize) -> Vec<f64> {
    assert!(x > 0.0 && x.is_finite(), "x = {x}");
    // Start well above both k_max and x so the neglected tail is below f64 precision.
    let top = k_max.max(x as usize);
    let start = top + 40 + (40.0 * (top as f64).sqrt()) as usize;
    let mut values = vec![0.0; start + 2];
    values[start] = 1e-280;
    for k in (1..=start).rev() {
        values[k - 1] = values[k + 1] + 2.0 * k as f64 / x * values[k];
        // Rescale to stay within range; only ratios matter until normalization.
        if values[k - 1] > 1e250 {
            for v in values[k - 1..].iter_mut() {
                *v *= 1e-250;
            }
        }
    }
    let total = values[0] + 2.0 * values[1..].iter().sum::<f64>();
    values.truncate(k_max + 1);
    values.iter_mut().for_each(|v| *v /= total);
    values
}

/// The growth rate of Fourier mode `k >= 1` of `1/(2π) + ε cos kθ` under pure attention in
/// ascent, to first order in `ε`:
/// - USA, `paper` kernel: `γ_k = k² I_k(β) / β`;
/// - USA, `shifted` kernel: `γ_k e^{-β}` (the same flow on a time axis stretched by `e^β`);
/// - SA, either kernel: `k² I_k(β) / (β I_0(β))` (the normalization `w * ρ = I_0(β)` at uniform,
///   with `w = e^{β cos θ}`, cancels the kernel's scale).
///
/// In descent every rate changes sign.
pub fn growth_rate(beta: f64, kernel: Kernel, attention: Attention, k: usize) -> f64 {
    let bessel = scaled_bessel_i(beta, k);
    let k2 = (k * k) as f64;
    match (attention, kernel) {
        (Attention::Sa, _) => k2 * bessel[k] / (beta * bessel[0]),
        (Attention::Usa, Kernel::Shifted) => k2 * bessel[k] / beta,
        (Attention::Usa, Kernel::Paper) => k2 * bessel[k] / beta * beta.exp(),
    }
}

/// The most unstable mode `k* = argmax_k k² I_k(β) / β` (the same for every kernel and
/// attention: they scale all rates alike).
pub fn unstable_mode(beta: f64) -> usize {
    let k_max = 16 + 4 * beta.sqrt().ceil() as usize;
    (1..=k_max)
        .map(|k| (k, growth_rate(beta, Kernel::Shifted, Attention::Usa, k)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(1, |(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_values_and_the_unstable_modes_match_the_model() {
        // Abramowitz & Stegun table 9.8: I_0(1) = 1.266065878, I_1(1) = 0.565159104.
        let scaled = scaled_bessel_i(1.0, 3);
        assert!((scaled[0] * 1f64.exp() - 1.266_065_877_752_008_4).abs() < 1e-14);
        assert!((scaled[1] * 1f64.exp() - 0.565_159_103_992_485_1).abs() < 1e-14);
        // MODEL.md §7: k* = 1 for β <= 1, then 2, 3, 4, 4, 5, 7, 8, 10 at β = 3 ... 50.
        let table = [
            (1.0, 1),
            (3.0, 2),
            (5.0, 3),
            (7.0, 4),
            (10.0, 4),
            (15.0, 5),
            (25.0, 7),
            (35.0, 8),
            (50.0, 10),
        ];
        for (beta, k) in table {
            assert_eq!(unstable_mode(beta), k, "β = {beta}");
        }
        let paper = growth_rate(2.0, Kernel::Paper, Attention::Usa, 3);
        let shifted = growth_rate(2.0, Kernel::Shifted, Attention::Usa, 3);
        assert!((paper * (-2f64).exp() / shifted - 1.0).abs() < 1e-14);
    }
}
