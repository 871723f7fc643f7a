//! Certifying the end state of a run: n = 1000 particles on S^1 (ReLU, β = 10, descent, the
//! default parameters otherwise) are run to the stopping rule once, then `certify` (merge,
//! Newton, spectrum, classification) is timed, without and with escapes. The merge tolerance
//! matters: at `1e-2` the run's clusters merge into 15 atoms at once; at `1e-3` they leave 192
//! atoms that Newton pulls together over a few dozen iterations (dense 192 × 192
//! eigendecompositions).
//!
//! The second group certifies, as `stop.certify` does, the end state that took longest in the
//! paper's S^1 β sweep (sweeps/paper/s1_beta.toml, GeLU, β = 5: 44k steps to convergence, 12
//! counted clusters of arcs still gathering): merged, coarsened into groups of 1e-3 rad (248
//! atoms), polished, and, its polish stalling, descended to a strict minimum.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use sphereflow_solver::params::Activation;
use sphereflow_solver::testing::default_params;
use sphereflow_solver::{
    certify, end_state_options, simulate, CertifyOptions, Classification, Par, Problem,
};

fn certify_end_state(c: &mut Criterion) {
    let mut params = default_params();
    params.model.beta = 10.0;
    let problem = Problem::new(params, None, None).expect("valid parameters");
    let end = simulate(&problem, Par::Rayon)
        .expect("the run succeeds")
        .final_state;
    let mut group = c.benchmark_group("certify_s1_n1000_relu_beta10");
    group.sample_size(10);
    for (name, merge_tol, escape) in [
        ("merge_1e-2", 1e-2, false),
        ("merge_1e-2_escape", 1e-2, true),
        ("merge_1e-3", 1e-3, false),
    ] {
        let options = CertifyOptions {
            merge_tol,
            escape,
            ..CertifyOptions::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| certify(&problem.dynamics, &end, &options, Par::Rayon).expect("certifies"))
        });
    }
    group.finish();
}

fn certify_sweep_end_state(c: &mut Criterion) {
    let mut params = default_params();
    params.model.beta = 5.0;
    params.perceptron.activation = Activation::Gelu;
    let problem = Problem::new(params, None, None).expect("valid parameters");
    let end = simulate(&problem, Par::Rayon)
        .expect("the run succeeds")
        .final_state;
    let options = end_state_options(&problem, &end);
    assert!(options.coarsen.is_some(), "the end state is coarsened");
    let certificate = certify(&problem.dynamics, &end, &options, Par::Rayon).expect("certifies");
    assert_eq!(certificate.classification, Classification::Strict);
    let mut group = c.benchmark_group("certify_s1_beta_sweep_gelu_beta5");
    group.sample_size(10);
    group.bench_function("stop_certify", |b| {
        b.iter(|| certify(&problem.dynamics, &end, &options, Par::Rayon).expect("certifies"))
    });
    group.finish();
}

criterion_group!(benches, certify_end_state, certify_sweep_end_state);
criterion_main!(benches);
