//! The linear instability of the uniform state (MODEL.md §7, §10): the growth rate of mode k
//! measured on the mean-field solution within 1% of `γ_k = k² I_k(β)/β` (times `e^{-β}` for the
//! shifted kernel) for k = 1..10 and β in {1, 5, 10, 25}.

use sphereflow_meanfield::{growth_rate, measure_growth_rate, scheme_growth_rate, GrowthSetup};
use sphereflow_solver::{Attention, Kernel, Par};

#[test]
fn growth_rates_match_the_linear_theory_within_one_percent() {
    let mut worst: f64 = 0.0;
    let mut table = String::new();
    for beta in [1.0, 5.0, 10.0, 25.0] {
        for mode in 1..=10 {
            let setup = GrowthSetup::new(beta, Kernel::Shifted, Attention::Usa, mode);
            let measured = measure_growth_rate(&setup, Par::Seq).unwrap();
            table += &format!(
                "β = {beta:>4}, k = {mode:>2}: γ = {:.6e}, measured {:.6e}, error {:+.2e}\n",
                measured.theory, measured.measured, measured.relative_error
            );
            worst = worst.max(measured.relative_error.abs());
            // The measurement also matches the scheme's own rate, γ_k sinc⁴(kh/2), closely:
            // what separates it from γ_k is the grid, not noise or nonlinearity.
            let discrete =
                scheme_growth_rate(beta, Kernel::Shifted, Attention::Usa, mode, setup.cells);
            assert!(
                (measured.measured / discrete - 1.0).abs() < 1e-3,
                "β = {beta}, k = {mode}: {measured:?} vs the scheme's {discrete}"
            );
            assert!(
                measured.relative_error.abs() < 0.01,
                "β = {beta}, k = {mode}: {measured:?}"
            );
        }
    }
    eprintln!("{table}worst relative error {worst:e}");
}

#[test]
fn the_paper_kernel_and_softmax_attention_have_their_own_rates() {
    for (kernel, attention) in [
        (Kernel::Paper, Attention::Usa),
        (Kernel::Paper, Attention::Sa),
        (Kernel::Shifted, Attention::Sa),
    ] {
        for (beta, mode) in [(1.0, 1), (5.0, 3), (25.0, 7)] {
            let setup = GrowthSetup::new(beta, kernel, attention, mode);
            let measured = measure_growth_rate(&setup, Par::Seq).unwrap();
            assert!(
                measured.relative_error.abs() < 0.01,
                "{kernel} {attention} β = {beta}, k = {mode}: {measured:?}"
            );
        }
    }
    // The three conventions differ: e^β between the kernels, I_0(β) for SA.
    let paper = growth_rate(5.0, Kernel::Paper, Attention::Usa, 3);
    let shifted = growth_rate(5.0, Kernel::Shifted, Attention::Usa, 3);
    assert!((paper / shifted - 5f64.exp()).abs() < 1e-9 * 5f64.exp());
}

#[test]
fn a_coarse_grid_misses_the_rate_by_the_predicted_amount() {
    // The scheme's rate is γ_k (sin(kh/2)/(kh/2))^4: at k = 10 on 80 cells, about 10% low. The
    // measurement can fail, and fails by what the analysis says.
    let mut setup = GrowthSetup::new(5.0, Kernel::Shifted, Attention::Usa, 10);
    setup.cells = 80;
    let measured = measure_growth_rate(&setup, Par::Seq).unwrap();
    let predicted = scheme_growth_rate(5.0, Kernel::Shifted, Attention::Usa, 10, 80);
    assert!(measured.relative_error < -0.05, "{measured:?}");
    assert!(
        (measured.measured / predicted - 1.0).abs() < 1e-3,
        "{} vs {predicted}",
        measured.measured
    );
    // A mode that does not divide the grid is refused.
    setup.cells = 84;
    assert!(measure_growth_rate(&setup, Par::Seq).is_err());
}
