# Recipes mirroring README.md.

# The main job.
main:
    cargo run --release -- reproduce

# Everything CI checks.
ci:
    bash .ci/run

test:
    cargo test --workspace

bench:
    cargo bench -p sphereflow-solver

# Executor overhead: 10,000 tiny tasks through the store.
bench-exec:
    cargo bench -p sphereflow-exec --bench overhead

# Planning a one-million-task grid.
bench-plan:
    cargo bench -p sphereflow-plan --bench plan
