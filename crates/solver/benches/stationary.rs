//! Certifying the end state of a run: n = 1000 particles on S^1 (ReLU, β = 10, descent, the
//! default parameters otherwise) are run to the stopping rule once, then `certify` (merge with
//! `merge_tol = 1e-3`, Newton, spectrum, classification) is timed, without and with escapes.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use sphereflow_solver::testing::default_params;
use sphereflow_solver::{certify, simulate, CertifyOptions, Par, Problem};

fn certify_end_state(c: &mut Criterion) {
    let mut params = default_params();
    params.model.beta = 10.0;
    let problem = Problem::new(params, None, None).expect("valid parameters");
    let end = simulate(&problem, Par::Rayon)
        .expect("the run succeeds")
        .final_state;
    let options = CertifyOptions {
        merge_tol: 1e-3,
        ..CertifyOptions::default()
    };
    let mut group = c.benchmark_group("certify_s1_n1000_relu_beta10");
    group.sample_size(20);
    group.bench_function("certify", |b| {
        b.iter(|| certify(&problem.dynamics, &end, &options, Par::Rayon).expect("certifies"))
    });
    let escaping = CertifyOptions {
        escape: true,
        ..options.clone()
    };
    group.bench_function("certify_and_escape", |b| {
        b.iter(|| certify(&problem.dynamics, &end, &escaping, Par::Rayon).expect("certifies"))
    });
    group.finish();
}

criterion_group!(benches, certify_end_state);
criterion_main!(benches);
