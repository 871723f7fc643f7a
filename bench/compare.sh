#!/usr/bin/env bash
# Times one Euler step of the solver against a plain NumPy implementation of the same step, on
# the same machine and the same inputs, checks that the two agree, and prints the ratio.
#
#   bench/compare.sh [N] [DIM] [BETA]      (defaults: 1000 3 1; ROUNDS=7 rounds)
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

# The machine may be shared: the two steps are timed back to back in each of several rounds,
# and the ratio is reported per round and as the median over rounds.
rounds=${ROUNDS:-7}
scalar=$("$bench" --n "$n" --dim "$dim" --beta "$beta" --path scalar --reps 50)
results=()
for _ in $(seq "$rounds"); do
    rust=$("$bench" --n "$n" --dim "$dim" --beta "$beta" --path auto --reps 200 --out "$work")
    numpy=$(python3 "$root/bench/numpy_step.py" "$work" --beta "$beta" --reps 30)
    results+=("$rust" "$numpy")
done

echo "scalar: $scalar"
python3 - "$scalar" "${results[@]}" <<'PY'
import json, statistics, sys
scalar = json.loads(sys.argv[1])
pairs = [(json.loads(a), json.loads(b)) for a, b in zip(sys.argv[2::2], sys.argv[3::2])]
ok = True
ratios = []
for i, (rust, numpy) in enumerate(pairs, 1):
    diff = numpy["max_abs_diff_vs_rust"]
    ok &= diff <= 1e-12
    ratio = numpy["median_step_s"] / rust["median_step_s"]
    ratios.append(ratio)
    print(f"round {i}: rust {rust['median_step_s'] * 1e3:.3f} ms ({rust['path']}, "
          f"{rust['pairs_per_s']:.3e} pairs/s), numpy {numpy['median_step_s'] * 1e3:.3f} ms, "
          f"ratio {ratio:.1f}x, max |x1_numpy - x1_rust| = {diff:.1e}")
rust_ms = statistics.median(r["median_step_s"] for r, _ in pairs) * 1e3
numpy_ms = statistics.median(n["median_step_s"] for _, n in pairs) * 1e3
print(f"agreement: {'ok' if ok else 'MISMATCH'} (every round within 1e-12)")
print(f"pairs/s: scalar baseline {scalar['pairs_per_s']:.3e}")
print(f"ratio numpy / rust step time: median {statistics.median(ratios):.1f}x over {len(ratios)} rounds "
      f"(range {min(ratios):.1f}-{max(ratios):.1f}x; medians {numpy_ms:.3f} ms against {rust_ms:.3f} ms)")
sys.exit(0 if ok else 1)
PY
