# Recipes mirroring README.md.

# The main job.
main:
    cargo run --release -- simulate sweeps/paper/s1_descent_beta10.toml

# Everything CI checks.
ci:
    bash .ci/run

test:
    cargo test --workspace

bench:
    cargo bench -p sphereflow-solver
