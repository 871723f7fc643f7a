#!/usr/bin/env bash
# Wall time of the paper's protocol, sweep by sweep, from an empty store: what `sphereflow
# reproduce` runs, timed per sweep, then the analysis, figures and report on the full store.
#
#   bench/protocol.sh [quick|paper] [-j N]      (default: quick, all cores)
#
# Builds the release binary (CARGO_TARGET_DIR if set), works in a temporary folder that it
# removes, and prints one line per sweep (tasks computed, wall seconds, tasks per second, the sum
# of the tasks' own runtimes), then the analysis and the total. The sweeps and their order are
# those of `reproduce` (PAPER_SWEEPS in crates/paper/src/lib.rs). With KEEP=DIR set, the report,
# figures and tables that `reproduce` wrote are copied to DIR before the folder is removed; with
# STORE=DIR (a folder that does not exist yet), the store is made there and kept, so the analysis
# can be redone without running the tasks again.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
profile=${1:-quick}
shift || true
jobs=$(nproc)
if [ "${1:-}" = "-j" ]; then
    jobs=${2:?-j needs a number}
fi
case "$profile" in
quick) profile_args=(--profile quick) ;;
paper) profile_args=() ;;
*)
    echo "usage: bench/protocol.sh [quick|paper] [-j N]" >&2
    exit 2
    ;;
esac

cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p sphereflow
bin="$target/release/sphereflow"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${STORE:-}" ]; then
    [ -e "$STORE" ] && {
        echo "bench/protocol.sh: STORE=$STORE exists; the protocol starts from an empty store" >&2
        exit 2
    }
    mkdir -p "$STORE"
    ln -s "$(cd "$STORE" && pwd)" "$work/store"
fi

now() { date +%s.%N; }
started=$(now)
printf '%-18s %7s %9s %9s %12s\n' sweep tasks "wall s" "tasks/s" "Σ runtime s"
# The order of `reproduce`: the names listed in PAPER_SWEEPS.
mapfile -t sweeps < <(sed -n '/^pub const PAPER_SWEEPS/,/^];/p' "$root/crates/paper/src/lib.rs" |
    grep -o '"[a-z0-9_]*"' | tr -d '"')
[ "${#sweeps[@]}" -gt 0 ] || {
    echo "bench/protocol.sh: no sweep names found in PAPER_SWEEPS" >&2
    exit 1
}
for sweep in "${sweeps[@]}"; do
    before=0
    [ -f "$work/store/events.jsonl" ] && before=$(wc -l <"$work/store/events.jsonl")
    t0=$(now)
    "$bin" run "$root/sweeps/paper/$sweep.toml" "${profile_args[@]}" --store "$work/store" \
        -j "$jobs" >"$work/$sweep.log" 2>&1 || {
        cat "$work/$sweep.log" >&2
        exit 1
    }
    t1=$(now)
    python3 - "$work/store/events.jsonl" "$before" "$sweep" "$t0" "$t1" <<'EOF'
import json, sys
log, before, sweep = sys.argv[1], int(sys.argv[2]), sys.argv[3]
wall = float(sys.argv[5]) - float(sys.argv[4])
# This run's events are the lines it appended to the log.
events = [json.loads(line) for line in open(log).read().splitlines()[before:]]
finished = [e for e in events if e["event"] == "finished"]
runtime = sum(e["runtime_s"] for e in finished)
print(f"{sweep:<18} {len(finished):>7} {wall:>9.1f} {len(finished) / wall:>9.2f} {runtime:>12.1f}")
EOF
done
t0=$(now)
"$bin" reproduce --profile "$profile" --sweeps "$root/sweeps/paper" --store "$work/store" \
    --out "$work/paper" -j "$jobs" >"$work/reproduce.log" 2>&1 || {
    cat "$work/reproduce.log" >&2
    exit 1
}
t1=$(now)
python3 -c "import sys; t0, t1, s = map(float, sys.argv[1:]); \
print(f\"{'analysis+report':<18} {'':>7} {t1 - t0:>9.1f}\"); print(f\"{'total':<18} {'':>7} {t1 - s:>9.1f}\")" \
    "$t0" "$t1" "$started"
grep -m1 "tasks computed" "$work/reproduce.log" | sed 's/^/reproduce: /'
if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP"
    cp -r "$work/paper/." "$KEEP/"
    echo "outputs kept in $KEEP"
fi
