#!/usr/bin/env bash
# Per-step time against n: the spectral kernel on S^1 (β = 50) up to n = 10^6, the direct kernel
# on S^1 and on S^2 (β = 1) up to n = 2·10^4, one Euler step of the authors' default model.
#
#   bench/curve.sh
#
# Uses CARGO_TARGET_DIR if set. Prints one JSON line per point (see the step_bench example).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p sphereflow-solver --example step_bench
bench="$target/release/examples/step_bench"

reps() { if [ "$1" -le 2000 ]; then echo 200; elif [ "$1" -le 20000 ]; then echo 10; else echo 5; fi; }
for n in 1000 10000 100000 1000000; do
    "$bench" --n "$n" --dim 2 --beta 50 --path spectral --reps "$(reps "$n")"
done
for n in 1000 2000 5000 10000 20000; do
    "$bench" --n "$n" --dim 2 --beta 50 --path simd --reps "$(reps "$n")"
done
for n in 1000 2000 5000 10000 20000; do
    "$bench" --n "$n" --dim 3 --beta 1 --path simd --reps "$(reps "$n")"
done
