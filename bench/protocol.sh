#!/usr/bin/env bash
# Wall time of the paper's protocol from an empty store: `sphereflow reproduce`, which runs every
# sweep's tasks as one queue, then analyzes, draws and reports.
#
#   bench/protocol.sh [quick|paper] [-j N]      (default: quick, all cores)
#
# Builds the release binary (CARGO_TARGET_DIR if set), works in a temporary folder that it
# removes, and prints one line per sweep (tasks computed and the sum of their own runtimes, read
# from the store's event log), then the wall time of the tasks (from the first plan to the last
# commit), of the analysis and report, and the total. With SWEEP_BY_SWEEP=1 it runs the sweeps one
# after the other with `sphereflow run` instead (as `reproduce` did before it queued them
# together), each line with its own wall time and tasks per second, then `reproduce` on the full
# store. The sweeps and their order are those of `reproduce` (PAPER_SWEEPS in
# crates/paper/src/lib.rs). With KEEP=DIR set, the report,
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
if [ -z "${SWEEP_BY_SWEEP:-}" ]; then
    "$bin" reproduce --profile "$profile" --sweeps "$root/sweeps/paper" --store "$work/store" \
        --out "$work/paper" -j "$jobs" >"$work/reproduce.log" 2>&1 || {
        cat "$work/reproduce.log" >&2
        exit 1
    }
    finished_at=$(now)
    python3 - "$work/store/events.jsonl" "$started" "$finished_at" <<'EOF'
import json, sys
log, started, ended = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
events = [json.loads(line) for line in open(log).read().splitlines()]
# Each sweep's `planned` event comes before the `queued` events of its tasks.
sweep_of, order, sweep = {}, [], None
for e in events:
    if e["event"] == "planned":
        sweep = e["sweep"]
        order.append(sweep)
    elif e["event"] == "queued":
        sweep_of[e["id"]] = sweep
finished = [e for e in events if e["event"] == "finished"]
print(f"{'sweep':<18} {'tasks':>7} {'Σ runtime s':>12}")
for name in order:
    mine = [e for e in finished if sweep_of.get(e["id"]) == name]
    print(f"{name:<18} {len(mine):>7} {sum(e['runtime_s'] for e in mine):>12.1f}")
total_runtime = sum(e["runtime_s"] for e in finished)
first = min(e["time"] for e in events if e["event"] == "planned")
last = max(e["time"] for e in finished)
print(f"{'tasks':<18} {len(finished):>7} {total_runtime:>12.1f}  wall {last - first:.1f} s")
print(f"{'analysis+report':<18} {'':>7} {'':>12}  wall {ended - last:.1f} s")
print(f"{'total':<18} {'':>7} {'':>12}  wall {ended - started:.1f} s")
EOF
    grep -m1 "tasks computed" "$work/reproduce.log" | sed 's/^/reproduce: /'
    if [ -n "${KEEP:-}" ]; then
        mkdir -p "$KEEP"
        cp -r "$work/paper/." "$KEEP/"
        echo "outputs kept in $KEEP"
    fi
    exit 0
fi
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
