//! Planning throughput: parse, expand, validate and identify a one-million-task grid.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sphereflow_plan::{Plan, PlanOptions, Sweep};

const MILLION: &str = "[model]\nparticles = 1000\n[perceptron]\nactivation = \"relu\"\n\
                       [grid]\nmodel.beta = { logspace = [-2, 2, 1000] }\n\
                       init.seed = { range = [0, 1000] }\n";

fn plan_million(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function("one_million_tasks", |b| {
        b.iter(|| {
            let sweep = Sweep::parse(MILLION, "million.toml", Path::new("."), "million").unwrap();
            let plan = Plan::new(sweep, &PlanOptions::default()).unwrap();
            assert_eq!(plan.tasks.len(), 1_000_000);
            plan
        })
    });
    group.finish();
}

criterion_group!(benches, plan_million);
criterion_main!(benches);
