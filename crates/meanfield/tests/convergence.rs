//! Second-order convergence in the number of cells on a smooth solution: L1 errors of the cell
//! averages at M = 64 ... 512 against M = 4096 (coarsened exactly), at fixed CFL, over a time
//! short enough that the solution stays smooth.

mod support;

use sphereflow_meanfield::{solve, InitialLaw, Limiter, MeanFieldParams, VonMises};
use sphereflow_solver::{Activation, Attention, Kernel, Par, Regime};
use support::{coarsen, l1, model};

fn orders(attention: Attention, regime: Regime, activation: Activation, limiter: Limiter) {
    let model = model(5.0, Kernel::Shifted, attention, regime, activation);
    let initial = InitialLaw::VonMises(vec![
        VonMises {
            weight: 1.0,
            centre: 1.0,
            concentration: 2.0,
        },
        VonMises {
            weight: 0.5,
            centre: 4.0,
            concentration: 4.0,
        },
    ]);
    let t_end = 0.5;
    let final_density = |cells: usize| {
        let mut params = MeanFieldParams::new(cells, 0.4, t_end, 2);
        params.limiter = limiter;
        params.series_every = u64::MAX;
        solve(&model, &params, &initial, Par::Seq)
            .unwrap()
            .final_density()
            .to_vec()
    };
    let reference = final_density(4096);
    let errors: Vec<(usize, f64)> = [64, 128, 256, 512]
        .iter()
        .map(|&cells| {
            (
                cells,
                l1(&final_density(cells), &coarsen(&reference, cells)),
            )
        })
        .collect();
    let case = format!("{attention} {regime} {activation} {limiter:?}");
    eprintln!("{case}: L1 errors {errors:?}");
    let mut observed = Vec::new();
    for pair in errors.windows(2) {
        observed.push((pair[0].1 / pair[1].1).log2());
    }
    eprintln!("{case}: orders {observed:?}");
    // The finest pairs are in the smooth, asymptotic regime.
    for &order in &observed[1..] {
        assert!(
            order >= 1.8,
            "{case}: orders {observed:?} (errors {errors:?})"
        );
    }
    // The solution moved: the errors measure a real evolution.
    let start = initial.cell_averages(512).unwrap();
    assert!(l1(&start, &coarsen(&reference, 512)) > 100.0 * errors[3].1);
}

#[test]
fn usa_descent_with_gelu_converges_at_second_order() {
    orders(
        Attention::Usa,
        Regime::Descent,
        Activation::Gelu,
        Limiter::VanLeer,
    );
}

#[test]
fn usa_ascent_with_tanh_converges_at_second_order() {
    orders(
        Attention::Usa,
        Regime::Ascent,
        Activation::Tanh,
        Limiter::VanLeer,
    );
}

#[test]
fn sa_ascent_pure_attention_converges_at_second_order() {
    orders(
        Attention::Sa,
        Regime::Ascent,
        Activation::None,
        Limiter::VanLeer,
    );
}
