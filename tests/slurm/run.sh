#!/usr/bin/env bash
# End-to-end test of `sphereflow slurm` and `sphereflow worker` on a real, single-node Slurm.
#
# As root: installs slurm-wlm and munge if missing, starts munged, slurmctld and slurmd
# (tests/slurm/cluster.sh), then
#  1. submits a sweep of 24 tasks as an array of 4 elements with `sphereflow slurm --submit`,
#     waits for it, and checks every task finished exactly once, with results equal, object
#     for object, to a local `sphereflow run` of the same sweep;
#  2. on a fresh store, while the array runs: cancels one element (scancel), kills another's
#     worker with SIGKILL, and sends a third the walltime warning (SIGUSR1, which makes the
#     element checkpoint and requeue itself); checks `status` names the Slurm element holding
#     each running task; resubmits; checks again: each task finished once, results equal.
# Stops the daemons it started, by pid, on exit. Fails loudly when Slurm does not come up.
#
# Usage: tests/slurm/run.sh [path/to/sphereflow]   (or SPHEREFLOW_BIN; default: the debug build)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/slurm/cluster.sh
source "$HERE/cluster.sh"

BIN=${1:-${SPHEREFLOW_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/sphereflow}}
[ "$(id -u)" -eq 0 ] || slurm_fail "must run as root: it installs and starts Slurm (id -u is $(id -u))"
[ -x "$BIN" ] || slurm_fail "no sphereflow binary at $BIN (build it, or pass its path)"
BIN=$(readlink -f "$BIN")
STARTED=$SECONDS

WORK=$(mktemp -d /tmp/sphereflow-slurm.XXXXXX)
finish() {
    local status=$?
    slurm_stop
    if [ "$status" -eq 0 ]; then
        rm -rf "$WORK"
    else
        echo "tests/slurm: failed; logs kept in $WORK" >&2
    fi
    exit "$status"
}
trap finish EXIT
slurm_start "$WORK/slurm"

N_TASKS=24
SWEEP=$WORK/slurm_check.toml
cat >"$SWEEP" <<'EOF'
[sweep]
name = "slurm_check"
[model]
particles = 300
dim = 3
[stop]
max_steps = 6000
drift_tol = 0
[grid]
model.beta = [1, 3, 9]
perceptron.activation = ["relu", "none"]
init.seed = [1, 2, 3, 4]
EOF
n=$("$BIN" plan "$SWEEP" --json --store "$WORK/none" | python3 -c 'import json,sys; print(json.load(sys.stdin)["n_tasks"])')
[ "$n" -eq "$N_TASKS" ] || slurm_fail "the test sweep has $n tasks, expected $N_TASKS"

# Submits with `sphereflow slurm --submit`; prints the job id.
submit() {
    local store=$1 out=$2 elements=$3 output
    output=$("$BIN" slurm "$SWEEP" --array "$elements" --store "$store" --out "$out" \
        --lease-ttl 5 --checkpoint-every 1 --signal-before 60 --submit) ||
        slurm_fail "sphereflow slurm --submit failed: $output"
    echo "$output" >&2
    sed -n 's/^submitted job array \([0-9]*\) .*/\1/p' <<<"$output"
}

# Checks a store: every task of the sweep committed, finished exactly once, equal to the local run.
check_store() {
    python3 - "$1" "$WORK/local" "$N_TASKS" <<'EOF'
import collections, json, pathlib, sys

store, reference, n_tasks = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])

def objects(root):
    out = {}
    for folder in (root / "objects").glob("*/*"):
        for name in ["final.npy", "series.json", "frames.npy", "summary.json"]:
            data = (folder / name).read_bytes()
            if name == "summary.json":
                summary = json.loads(data)
                summary.pop("runtime_s")
                summary.pop("provenance")
                data = summary
            out[(folder.name, name)] = data
    return out

finished = collections.Counter()
for line in (store / "events.jsonl").read_text().splitlines():
    event = json.loads(line)
    if event["event"] == "finished":
        finished[event["id"]] += 1
twice = {k: v for k, v in finished.items() if v != 1}
assert not twice, f"tasks finished more than once: {twice}"
assert len(finished) == n_tasks, f"{len(finished)} tasks finished, expected {n_tasks}"
ours, theirs = objects(store), objects(reference)
assert len(ours) == 4 * n_tasks, f"{len(ours) // 4} objects in {store}, expected {n_tasks}"
assert ours.keys() == theirs.keys(), "the Slurm run and the local run hold different tasks"
differ = sorted(k for k in ours if ours[k] != theirs[k])
assert not differ, f"results differ from the local run: {differ[:5]}"
print(f"  {n_tasks} tasks finished once each; {len(ours)} files equal to the local run")
EOF
}

# The state of each element of an array job: `<element> <state> <exit code>` lines.
element_states() {
    scontrol -o show job "$1" |
        sed -n 's/.*ArrayTaskId=\([0-9]*\) .*JobState=\([A-Z_]*\) .*ExitCode=\([0-9:]*\).*/\1 \2 \3/p' |
        sort -n
}

echo "== local reference run"
t0=$SECONDS
"$BIN" run "$SWEEP" --store "$WORK/local" -j "$(nproc)" >"$WORK/local.log" 2>&1 ||
    { cat "$WORK/local.log" >&2; slurm_fail "the local run failed"; }
echo "  $N_TASKS tasks in $((SECONDS - t0)) s with -j $(nproc)"

echo "== 1. a job array of 4 elements drains the sweep"
t0=$SECONDS
job=$(submit "$WORK/store1" "$WORK/out1" 4)
[ -n "$job" ] || slurm_fail "no job id in the output of sphereflow slurm --submit"
slurm_wait "$job" 300
echo "  array $job done in $((SECONDS - t0)) s"
states=$(element_states "$job")
echo "$states" | sed 's/^/  element /'
[ "$(grep -c ' COMPLETED 0:0$' <<<"$states")" -eq 4 ] || {
    tail -n 20 "$WORK"/out1/slurm/*.out >&2
    slurm_fail "not every element completed with exit code 0"
}
check_store "$WORK/store1" || slurm_fail "part 1: the store is not the local run's"
elements=$(python3 - "$WORK/store1" <<'EOF'
import json, pathlib, sys
seen = {json.loads(p.read_text())["provenance"]["slurm"]
        for p in pathlib.Path(sys.argv[1]).glob("objects/*/*/summary.json")}
print(" ".join(sorted(str(s) for s in seen)))
EOF
)
echo "  results computed by elements: $elements"
grep -q "${job}_" <<<"$elements" || slurm_fail "no result records its Slurm element"

echo "== 2. cancel, kill and walltime-signal elements mid-run, then resubmit"
t0=$SECONDS
STORE=$WORK/store2
job=$(submit "$STORE" "$WORK/out2" 4)
[ -n "$job" ] || slurm_fail "no job id in the output of sphereflow slurm --submit"
# Wait until elements 1, 2 and 3 each hold a task, as `status --json` shows.
holders=
for _ in $(seq 120); do
    holders=$("$BIN" status "$SWEEP" --store "$STORE" --json 2>/dev/null | python3 -c '
import json, sys
status = json.load(sys.stdin)
for task in status["tasks"]:
    if task["state"] == "running":
        lease = task["lease"]
        print(lease["slurm"], lease["pid"], lease["host"])' || true)
    if grep -q "^${job}_1 " <<<"$holders" && grep -q "^${job}_2 " <<<"$holders" &&
        grep -q "^${job}_3 " <<<"$holders"; then
        break
    fi
    sleep 0.5
done
echo "$holders" | sed 's/^/  running: element /'
for k in 1 2 3; do
    grep -q "^${job}_$k " <<<"$holders" ||
        slurm_fail "status --json never showed element ${job}_$k holding a task"
done
status_text=$("$BIN" status "$SWEEP" --store "$STORE")
grep "running: " <<<"$status_text" || true
grep -q "held by Slurm element ${job}_. on $(hostname -s) (pid " <<<"$status_text" ||
    slurm_fail "status does not name the Slurm element of running tasks: $status_text"
scancel "${job}_1"
killed_pid=$(grep "^${job}_2 " <<<"$holders" | head -1 | cut -d' ' -f2)
kill -KILL "$killed_pid"
scancel --batch --signal=USR1 "${job}_3"
echo "  scancel ${job}_1; SIGKILL the worker of ${job}_2 (pid $killed_pid); SIGUSR1 to ${job}_3"
# A requeued element waits until its last run's credentials have expired (cred_expire in
# tests/slurm/cluster.sh), then starts again by itself. Starting it earlier (scontrol update
# StartTime=now) can make slurmd refuse the launch with "Job credential revoked". This loop
# only reports the requeue; the element logs checked below decide.
for _ in $(seq 120); do
    if [ "$(squeue -h -j "${job}_3" -o %T 2>/dev/null || true)" = PENDING ]; then
        echo "  ${job}_3 requeued itself"
        break
    fi
    sleep 0.5
done
slurm_wait "$job" 300
states=$(element_states "$job")
echo "$states" | sed 's/^/  element /'
log() { cat "$WORK"/out2/slurm/slurm_check-"${job}_$1".out; }
log 1 | grep -q "worker exited with 130" || { log 1 >&2; slurm_fail "the cancelled element's worker did not exit with 130"; }
log 1 | grep -q "requeueing" && slurm_fail "the cancelled element requeued itself"
grep -q "^1 CANCELLED" <<<"$states" || slurm_fail "element 1 is not CANCELLED"
log 2 | grep -q "worker exited with 137" || { log 2 >&2; slurm_fail "the killed worker's element did not see exit 137"; }
log 3 | grep -q "requeueing ${job}_3" || { log 3 >&2; slurm_fail "the signalled element did not requeue itself"; }
log 3 | grep -q "restart 1" || { log 3 >&2; slurm_fail "the requeued element did not come back"; }
grep -q "^3 COMPLETED 0:0$" <<<"$states" || slurm_fail "the requeued element did not complete"
python3 - "$STORE" <<'EOF'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1] + "/events.jsonl")]
resumed = sum(1 for e in events if e["event"] == "started" and e.get("resumed_from_step"))
interrupted = sum(1 for e in events if e["event"] == "interrupted")
print(f"  {interrupted} workers interrupted; {resumed} tasks resumed from a checkpoint")
assert interrupted >= 2, "the cancelled and the signalled workers should have been interrupted"
EOF
echo "  resubmitting"
job2=$(submit "$STORE" "$WORK/out2" 2)
slurm_wait "$job2" 300
element_states "$job2" | sed 's/^/  element /'
[ "$(element_states "$job2" | grep -c ' COMPLETED 0:0$')" -eq 2 ] ||
    slurm_fail "the resubmitted elements did not complete with exit code 0"
status_text=$("$BIN" status "$SWEEP" --store "$STORE")
grep -qx "  $N_TASKS cached" <<<"$status_text" ||
    slurm_fail "after the resubmission not every task is cached: $status_text"
check_store "$STORE" || slurm_fail "part 2: the store is not the local run's"
echo "  part 2 in $((SECONDS - t0)) s"

echo "tests/slurm: OK in $((SECONDS - STARTED)) s"
