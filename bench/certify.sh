#!/usr/bin/env bash
# Time to a certified state: runs the paper's S^1 β sweep (sweeps/paper/s1_beta.toml) twice from
# empty stores, as written (the flow to the stopping rule) and with `stop.certify = true` (the
# flow stops once its cluster count has settled and Newton's method on the atoms takes over),
# and prints both wall times, their ratio, the certificates' classes, how far the certified
# atoms are from the flow's final clusters, and how the coarsened certificates (end states of
# more than 300 atoms) compare with certifying the same states with every particle polished.
#
#   bench/certify.sh [PROFILE]        (default: paper, the sweep as written; `quick` for its
#                                      [profile.quick])
#
# Needs python3 with pyarrow. Uses SPHEREFLOW_BIN if set, else builds the release binary.
set -euo pipefail

profile=${1:-paper}
profile_args=()
[ "$profile" = paper ] || profile_args=(--profile "$profile")
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
if [ -z "${SPHEREFLOW_BIN:-}" ]; then
    cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p sphereflow --bin sphereflow
    SPHEREFLOW_BIN=$target/release/sphereflow
fi
python3 -c "import pyarrow" 2>/dev/null || { echo "pyarrow is missing: pip install pyarrow" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$root/sweeps/paper/s1_beta.toml" "$work/flow.toml"
# The same sweep, certified: `certify = true` in its [stop] section, under another name.
sed -e 's/^name = "s1_beta"/name = "s1_beta_certified"/' \
    -e 's/^\[stop\]$/[stop]\ncertify = true/' "$root/sweeps/paper/s1_beta.toml" >"$work/certified.toml"
grep -q '^certify = true' "$work/certified.toml" || { echo "no [stop] section to certify" >&2; exit 1; }

declare -A seconds
for sweep in flow certified; do
    start=$(date +%s.%N)
    "$SPHEREFLOW_BIN" run "$work/$sweep.toml" "${profile_args[@]}" --store "$work/store-$sweep" \
        >"$work/$sweep.log" 2>&1 || { cat "$work/$sweep.log" >&2; exit 1; }
    end=$(date +%s.%N)
    seconds[$sweep]=$(python3 -c "print(f'{$end - $start:.1f}')")
    "$SPHEREFLOW_BIN" analyze "$work/$sweep.toml" "${profile_args[@]}" --store "$work/store-$sweep" \
        --out "$work/tables-$sweep" >/dev/null
done

python3 - "$work" "${seconds[flow]}" "${seconds[certified]}" "$profile" "$SPHEREFLOW_BIN" <<'PY'
import collections, json, math, pathlib, subprocess, sys, time
import pyarrow.parquet as pq

work, flow_s, cert_s, profile = pathlib.Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
binary = sys.argv[5]
flow = pq.read_table(work / "tables-flow" / "tasks.parquet").to_pylist()
cert = pq.read_table(work / "tables-certified" / "tasks.parquet").to_pylist()
clusters = collections.defaultdict(list)
for row in pq.read_table(work / "tables-flow" / "clusters.parquet").to_pylist():
    clusters[row["task_id"]].append(row)

def summary(store, task_id):
    path = work / store / "objects" / task_id[:2] / task_id / "summary.json"
    return json.loads(path.read_text())

def gap(a, b):
    return abs(math.remainder(a - b, math.tau))

by_key = {(r["beta"], r["activation"]): r for r in flow}
classes = collections.Counter()
reasons = collections.Counter()
steps = [0, 0]
worst_distance, worst_mass, same_count, compared = 0.0, 0.0, 0, 0
origin, distances = collections.Counter(), []
for row in cert:
    key = (row["beta"], row["activation"])
    base = by_key[key]
    steps[0] += base["steps"]
    steps[1] += row["steps"]
    classes[row["classification"] or "none (too many atoms)"] += 1
    reasons[row["stop_reason"]] += 1
    certificate = summary("store-certified", row["task_id"]).get("certificate")
    if certificate is not None:
        kinds = {e.get("from", "saddle") for e in certificate["escapes"]}
        origin["after a stalled polish" if "stalled" in kinds else
               "after escapes from saddles" if kinds else "polished as they ended"] += 1
        if certificate.get("distance_given") is not None:
            distances.append((certificate["distance_given"], key))
    if certificate is None or row["stop_reason"] != "settled" or base["stop_reason"] != "converged":
        continue  # only states that both runs reached as clusters are compared
    atoms = certificate["atoms"]
    compared += 1
    centres = clusters[base["task_id"]]
    if len(centres) != len(atoms):
        print(f"  β = {key[0]}, {key[1]}: {len(centres)} clusters, {len(atoms)} certified atoms")
        continue
    same_count += 1
    for atom in atoms:
        angle = math.atan2(atom["position"][1], atom["position"][0])
        nearest = min(centres, key=lambda c: gap(c["angle"], angle))
        worst_distance = max(worst_distance, gap(nearest["angle"], angle))
        worst_mass = max(worst_mass, abs(nearest["mass"] - atom["mass"]))

print(f"S^1 β sweep, profile {profile}: {len(flow)} tasks")
print(f"| run | wall time (s) | steps | stop reasons |")
print(f"|---|---|---|---|")
flow_reasons = collections.Counter(r["stop_reason"] for r in flow)
print(f"| flow to the stopping rule | {flow_s:.1f} | {steps[0]} | {dict(flow_reasons)} |")
print(f"| stop.certify | {cert_s:.1f} | {steps[1]} | {dict(reasons)} |")
print(f"speed-up: {flow_s / cert_s:.2f}x in wall time, {steps[0] / max(steps[1], 1):.2f}x in steps")
print(f"certificates: {dict(classes)}")
if distances:
    far = max(distances)
    print(f"certified states: {dict(origin)}; Hausdorff distance from the end state: median "
          f"{sorted(d for d, _ in distances)[len(distances) // 2]:.2e}, largest {far[0]:.2e} rad "
          f"({far[1][1]}, β = {far[1][0]:g})")
# The most certification can save: the flow after the point from which the final cluster count
# has held for the stopping window (the earliest point at which certification may replace the
# rest of the flow), read from the flow run's own series. Task time is weighted by each run's
# share of its steps.
series = collections.defaultdict(list)
for row in pq.read_table(work / "tables-flow" / "series.parquet").to_pylist():
    series[row["task_id"]].append((row["step"], row["n_clusters"]))
after_steps, after_time, task_time = 0, 0.0, 0.0
capped_time = 0.0  # the task time of the runs that reach their step cap
stable_of = {}
for row in flow:
    if row["stop_reason"] == "max_steps":
        capped_time += row["runtime_s"]
    checks = sorted(series[row["task_id"]])
    first = len(checks) - 1
    while first > 0 and checks[first - 1][1] == checks[-1][1]:
        first -= 1
    stable = checks[min(first + row["window"] - 1, len(checks) - 1)][0]
    stable_of[row["task_id"]] = stable
    after_steps += row["steps"] - stable
    task_time += row["runtime_s"]
    after_time += row["runtime_s"] * (row["steps"] - stable) / max(row["steps"], 1)
print(f"flow after its final count had held for the window: {after_steps} of {steps[0]} steps "
      f"({100 * after_steps / max(steps[0], 1):.0f}%), {after_time:.1f} s of {task_time:.1f} s of "
      f"task time: certification replacing all of it saves at most "
      f"{task_time / max(task_time - after_time, 1e-9):.2f}x")
# A capped run's certificate depends on when certification takes over (examples/
# certify_capped.rs): the bound if those runs cost nothing at all, the others still taken over
# at their earliest point.
capped = sum(1 for row in flow if row["stop_reason"] == "max_steps")
if capped:
    kept = sum(row["runtime_s"] * stable_of[row["task_id"]] / max(row["steps"], 1)
               for row in flow if row["stop_reason"] != "max_steps")
    print(f"with the {capped} capped runs ({capped_time:.1f} s of task time) costing nothing as well: "
          f"{kept:.1f} s of task time left, at most {task_time / max(kept, 1e-9):.2f}x")
print(f"end states compared (flow converged, certified run settled): {compared}; "
      f"same atom count: {same_count}; largest distance from an atom to its cluster's centre: "
      f"{worst_distance:.2e} rad; largest mass difference: {worst_mass:.2e}")

# Coarsened certificates (end states of more than 300 atoms) against certifying the same end
# state with every particle polished (`stationary --from`, which does not coarsen).
coarsened = sorted((r for r in cert if r["coarsened"] is not None), key=lambda r: (r["activation"], r["beta"]))
if coarsened:
    print(f"coarsened certificates against every particle polished ({len(coarsened)}):")
    # The certified run's task time less the flow run's, for tasks that converged after the same
    # steps in both: the time the coarsened certificate took (give or take the machine's noise).
    print("| activation | β | diameter (rad) | coarsened | every particle | largest atom distance | energy difference | coarsened: task time less the flow's (s) | every particle (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
for row in coarsened:
    coarse = summary("store-certified", row["task_id"])["certificate"]
    final = work / "store-certified" / "objects" / row["task_id"][:2] / row["task_id"] / "final.npy"
    start = time.monotonic()
    out = subprocess.run(
        # (`stationary` takes no --profile: the task's own particle count instead.)
        [binary, "stationary", str(work / "certified.toml"),
         "--set", f"model.beta={row['beta']}", "--set", f"perceptron.activation={row['activation']}",
         "--set", f"model.particles={row['particles']}", "--from", str(final), "--json"],
        check=True, capture_output=True, text=True).stdout
    seconds_exact = time.monotonic() - start
    exact = json.loads(out)
    describe = lambda c: f"{c['classification']}, {len(c['atoms'])} atoms"
    distance = "—"
    if len(exact["atoms"]) == len(coarse["atoms"]):
        distance = f"{max(min(math.dist(a['position'], b['position']) for b in exact['atoms']) for a in coarse['atoms']):.1e}"
    base = by_key[(row["beta"], row["activation"])]
    extra = f"{row['runtime_s'] - base['runtime_s']:.2f}" if base["steps"] == row["steps"] else "—"
    print(f"| {row['activation']} | {row['beta']:g} | {row['coarsened']:.2e} | {describe(coarse)} | "
          f"{describe(exact)} | {distance} | {coarse['energy'] - exact['energy']:.1e} | {extra} | {seconds_exact:.1f} |")
PY
