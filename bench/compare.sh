#!/usr/bin/env bash
# Times one Euler step of the solver against a plain NumPy implementation of the same step, on
# the same machine and the same inputs, checks that the two agree, and prints the ratio.
#
#   bench/compare.sh [N] [DIM] [BETA]      (defaults: 1000 3 1)
#
# Needs python3 with numpy (`pip install numpy`). Uses CARGO_TARGET_DIR if set.
set -euo pipefail

n=${1:-1000}
dim=${2:-3}
beta=${3:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -c "import numpy" 2>/dev/null || { echo "numpy is missing: pip install numpy" >&2; exit 1; }
cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p sphereflow-solver --example step_bench
bench="$target/release/examples/step_bench"

scalar=$("$bench" --n "$n" --dim "$dim" --beta "$beta" --path scalar --reps 50)
rust=$("$bench" --n "$n" --dim "$dim" --beta "$beta" --path auto --reps 200 --out "$work")
numpy=$(python3 "$root/bench/numpy_step.py" "$work" --beta "$beta" --reps 30)

echo "scalar: $scalar"
echo "rust:   $rust"
echo "numpy:  $numpy"
python3 - "$scalar" "$rust" "$numpy" <<'PY'
import json, sys
scalar, rust, numpy = (json.loads(arg) for arg in sys.argv[1:])
diff = numpy["max_abs_diff_vs_rust"]
ok = diff <= 1e-12
print(f"agreement: max |x1_numpy - x1_rust| = {diff:.3e} ({'ok' if ok else 'MISMATCH'})")
print(f"pairs/s: rust {rust['pairs_per_s']:.3e}, scalar baseline {scalar['pairs_per_s']:.3e}")
print(f"ratio numpy / rust step time: {numpy['median_step_s'] / rust['median_step_s']:.1f}x "
      f"({numpy['median_step_s'] * 1e3:.3f} ms against {rust['median_step_s'] * 1e3:.3f} ms)")
sys.exit(0 if ok else 1)
PY
