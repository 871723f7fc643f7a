#!/usr/bin/env bash
# The cost of the stopping rule's checks against the steps, on S^2 (β = 1, the default model of
# `sphereflow simulate` with model.dim = 3): per step with checks every 10 steps and without,
# measured alternately in one process, for n = 10^3, 10^4 and 2·10^4; the parts of a check
# (cluster counting, the linkage alone; the energy, which a check takes from the step's pair
# pass, timed as a separate pass for comparison) and the all-pairs counting the cell lists
# replaced.
#
#   bench/checks.sh [reps]
#
# Uses CARGO_TARGET_DIR if set. Prints one JSON line per n (see the checks_bench example).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
reps=${1:-5}
cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p sphereflow-solver --example checks_bench
bench="$target/release/examples/checks_bench"

"$bench" --n 1000 --dim 3 --beta 1 --steps 200 --reps "$reps"
"$bench" --n 10000 --dim 3 --beta 1 --steps 40 --reps "$reps"
"$bench" --n 20000 --dim 3 --beta 1 --steps 20 --reps "$reps"
