//! One Euler step (field plus retraction) over n, d, attention mode and pair-kernel path:
//! the tiled SIMD direct kernel against the scalar baseline (and the portable fallback), the
//! spectral kernel against the direct one on S^1 up to n = 10^6, and the direct kernel on S^2
//! up to n = 2·10^4. Throughput is reported in pair interactions (`n²`) per second.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sphereflow_solver::integrate::{step, Scratch};
use sphereflow_solver::kernel::{Backend, FieldPath};
use sphereflow_solver::testing::default_params_in;
use sphereflow_solver::{Attention, Method, Par, Problem};

/// A problem with the authors' defaults (USA, descent, ReLU perceptron) in dimension `dim`.
fn problem(dim: usize, n: usize, beta: f64, attention: Attention) -> Problem {
    let mut params = default_params_in(dim);
    params.model.particles = n;
    params.model.beta = beta;
    params.model.attention = attention;
    Problem::new(params, None, None).unwrap()
}

/// Benchmarks one Euler step of `problem` through `path` under `id` in `group`.
fn bench_step(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    problem: &Problem,
    path: FieldPath,
) {
    let n = problem.initial.len();
    let mut positions = problem.initial.positions.clone();
    let masses = problem.initial.masses.clone();
    let mut velocity = vec![0.0; positions.len()];
    let mut scratch = Scratch::default();
    let integrator = problem.params.integrator.clone();
    group.throughput(Throughput::Elements((n * n) as u64));
    group.bench_function(id, |b| {
        b.iter(|| {
            problem
                .dynamics
                .velocity_via(path, &positions, &masses, &mut velocity, Par::Rayon);
            step(
                Method::Euler,
                integrator.retraction,
                integrator.tol,
                &problem.dynamics,
                &mut positions,
                &masses,
                &mut velocity,
                integrator.dt,
                &mut scratch,
                Par::Rayon,
            )
        })
    });
}

fn direct_against_scalar(c: &mut Criterion) {
    let mut group = c.benchmark_group("direct_vs_scalar");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    let simd = FieldPath::Direct(Backend::detect());
    for attention in [Attention::Usa, Attention::Sa] {
        for dim in [2, 3] {
            for n in [1000, 4000] {
                let problem = problem(dim, n, 1.0, attention);
                for (name, path) in [("scalar", FieldPath::Scalar), ("simd", simd)] {
                    let id = BenchmarkId::new(format!("{attention}/d{dim}/{name}"), n);
                    bench_step(&mut group, id, &problem, path);
                }
            }
        }
    }
    let problem = problem(3, 1000, 1.0, Attention::Usa);
    let portable = FieldPath::Direct(Backend::Portable);
    bench_step(
        &mut group,
        BenchmarkId::new("usa/d3/portable", 1000),
        &problem,
        portable,
    );
    group.finish();
}

fn spectral_on_the_circle(c: &mut Criterion) {
    let mut group = c.benchmark_group("circle_beta50");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    let backend = Backend::detect();
    for n in [1_000, 10_000, 100_000, 1_000_000] {
        let problem = problem(2, n, 50.0, Attention::Usa);
        let id = BenchmarkId::new("spectral", n);
        bench_step(&mut group, id, &problem, FieldPath::Spectral(backend));
        if n <= 10_000 {
            let id = BenchmarkId::new("direct", n);
            bench_step(&mut group, id, &problem, FieldPath::Direct(backend));
        }
    }
    group.finish();
}

fn direct_on_the_sphere(c: &mut Criterion) {
    let mut group = c.benchmark_group("sphere_direct");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    let path = FieldPath::Direct(Backend::detect());
    for n in [1_000, 2_000, 5_000, 10_000, 20_000] {
        let problem = problem(3, n, 1.0, Attention::Usa);
        bench_step(&mut group, BenchmarkId::new("simd", n), &problem, path);
    }
    group.finish();
}

criterion_group!(
    benches,
    direct_against_scalar,
    spectral_on_the_circle,
    direct_on_the_sphere
);
criterion_main!(benches);
