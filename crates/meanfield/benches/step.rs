//! Throughput of the mean-field scheme: SSP-RK3 steps on 4096 cells, one core (`Par::Seq`),
//! USA with a ReLU perceptron from a von Mises mixture; the target is 10^4 steps in under 2 s.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use sphereflow_meanfield::{InitialLaw, Limiter, MeanField, Model, VonMises};
use sphereflow_solver::testing::default_params;
use sphereflow_solver::{Attention, Kernel, Par, Perceptron, Regime};

fn model(attention: Attention) -> Model {
    let params = default_params();
    let mut model = Model::pure_attention(10.0, Kernel::Shifted, attention, Regime::Descent);
    model.perceptron = Perceptron::draw(2, &params.perceptron);
    model
}

fn initial(cells: usize) -> Vec<f64> {
    InitialLaw::VonMises(vec![
        VonMises {
            weight: 1.0,
            centre: 1.0,
            concentration: 2.0,
        },
        VonMises {
            weight: 0.5,
            centre: 4.0,
            concentration: 8.0,
        },
    ])
    .cell_averages(cells)
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let cells = 4096;
    for attention in [Attention::Usa, Attention::Sa] {
        let scheme = MeanField::with_cells(&model(attention), cells, Limiter::VanLeer).unwrap();
        let mut scratch = scheme.scratch();
        let start = initial(cells);
        let mut group = c.benchmark_group(format!("meanfield_{attention}"));
        group.bench_function("one_step_4096_cells", |b| {
            let mut density = start.clone();
            b.iter(|| scheme.step(&mut density, 0.5, 1e-3, &mut scratch, Par::Seq))
        });
        group.sample_size(10);
        group.bench_function("10k_steps_4096_cells", |b| {
            b.iter_batched_ref(
                || start.clone(),
                |density| {
                    for _ in 0..10_000 {
                        scheme.step(density, 0.5, 1e-3, &mut scratch, Par::Seq);
                    }
                },
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
