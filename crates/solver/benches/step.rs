//! One Euler step of the pair kernel: pairs per second over n, d and attention mode.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sphereflow_solver::integrate::{step, Scratch};
use sphereflow_solver::testing::default_params_in;
use sphereflow_solver::{Attention, Method, Par, Problem};

fn euler_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("euler_step");
    group.sample_size(20);
    for attention in [Attention::Usa, Attention::Sa] {
        for dim in [2, 3] {
            for n in [500, 1000, 4000] {
                let mut params = default_params_in(dim);
                params.model.particles = n;
                params.model.attention = attention;
                let problem = Problem::new(params, None, None).unwrap();
                let mut positions = problem.initial.positions.clone();
                let masses = problem.initial.masses.clone();
                let mut velocity = vec![0.0; positions.len()];
                let mut scratch = Scratch::default();
                group.throughput(Throughput::Elements((n * n) as u64));
                let id = BenchmarkId::new(format!("{attention}/d{dim}"), n);
                group.bench_function(id, |b| {
                    b.iter(|| {
                        problem
                            .dynamics
                            .velocity(&positions, &masses, &mut velocity, Par::Rayon);
                        let pi = problem.params.integrator.clone();
                        step(
                            Method::Euler,
                            pi.retraction,
                            pi.tol,
                            &problem.dynamics,
                            &mut positions,
                            &masses,
                            &mut velocity,
                            pi.dt,
                            &mut scratch,
                            Par::Rayon,
                        )
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, euler_step);
criterion_main!(benches);
