"""Sweeps from Python share the store with the command line: a sweep run from Python is all
cache hits for `sphereflow run` and `status`, and the other way; Ctrl-C keeps committed work."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pytest

import sphereflow

SWEEP = """\
[sweep]
name = "tiny"
[model]
particles = 60
[stop]
max_steps = 300
[grid]
model.beta = [1, 4, 16]
init.seed = { range = [0, 2] }
"""


@pytest.fixture
def sweep_file(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(SWEEP)
    return path


def cli_states(cli, sweep_file, store):
    status = json.loads(cli("status", sweep_file, "--store", store, "--json").stdout)
    return {task["id"]: task["state"] for task in status["tasks"]}


def test_a_python_run_is_all_cache_hits_for_the_cli(cli, sweep_file, tmp_path):
    store = tmp_path / "store"
    sweep = sphereflow.Sweep(sweep_file, store=store)
    assert len(sweep) == 6 and sweep.name == "tiny"
    assert {t.state for t in sweep.plan()} == {"pending"}
    report = sweep.run(jobs=2, progress=False)
    assert (report["tasks"], report["committed"], report["cached"]) == (6, 6, 0)
    assert not report["interrupted"] and report["remaining"] == 0
    states = cli_states(cli, sweep_file, store)
    assert states == {t.id: "cached" for t in sweep.plan()}
    done = cli("run", sweep_file, "--store", store, "-j", "1")
    assert "6 tasks: 0 computed, 6 cached" in done.stdout


def test_a_cli_run_is_all_cache_hits_for_python(cli, sweep_file, tmp_path):
    store = tmp_path / "store"
    cli("run", sweep_file, "--store", store, "-j", "2")
    sweep = sphereflow.Sweep(sweep_file, store=store)
    tasks = sweep.plan()
    assert [t.state for t in tasks] == ["cached"] * 6
    assert sweep.status()["cached"] == 6
    events = []
    report = sweep.run(progress=events.append)
    assert (report["committed"], report["cached"]) == (0, 6)
    assert [e["event"] for e in events].count("cache_hit") == 6
    assert not any(e["event"] == "started" for e in events)


def test_tasks_have_ids_coordinates_and_load_back(cli, sweep_file, tmp_path):
    store = tmp_path / "store"
    sweep = sphereflow.Sweep(sweep_file, store=store)
    sweep.run(progress=False)
    plan_json = json.loads(cli("plan", sweep_file, "--json").stdout)
    cli_ids = [task["id"] for task in plan_json["tasks"]]
    tasks = sweep.plan()
    assert [t.id for t in tasks] == cli_ids
    assert tasks[0].coordinates == {"model.beta": 1.0, "init.seed": 0}
    assert tasks[-1].label == "beta=16 init_seed=1"
    run = tasks[-1].load()
    assert run.task_id == tasks[-1].id
    assert run.provenance["solver_rev"] == sphereflow.SOLVER_REV
    # A stored run is the same computation as `simulate` with its parameters, bit for bit.
    again = sphereflow.simulate(run.parameters)
    assert again.task_id == run.task_id
    assert np.array_equal(again.positions, run.positions)
    by_prefix = sphereflow.load_task(store, run.task_id[:12])
    assert np.array_equal(by_prefix.energy, run.energy)
    with pytest.raises(sphereflow.StoreError, match="no committed task"):
        sphereflow.load_task(store, "0" * 12)


def test_tables_are_pyarrow_tables_of_the_analysis(cli, sweep_file, tmp_path):
    store = tmp_path / "store"
    sweep = sphereflow.Sweep(sweep_file, store=store)
    before = sweep.tables(kind="pyarrow")
    assert before["tasks"].num_rows == 6
    assert set(before["tasks"].column("status").to_pylist()) == {"pending"}
    sweep.run(progress=False)
    out = tmp_path / "tables"
    tables = sweep.tables(out, kind="pyarrow", replicates=50)
    assert set(tables) == {"tasks", "clusters", "series", "fits", "bounds"}
    assert all(isinstance(t, pa.Table) for t in tables.values())
    assert set(tables["tasks"].column("status").to_pylist()) == {"ok"}
    assert sorted(p.name for p in out.iterdir()) == [
        "bounds.parquet",
        "clusters.parquet",
        "fits.parquet",
        "series.parquet",
        "tasks.parquet",
    ]
    import pyarrow.parquet as pq

    assert pq.read_table(out / "tasks.parquet").equals(tables["tasks"])
    cli_out = tmp_path / "cli_tables"
    cli("analyze", sweep_file, "--store", store, "--out", cli_out, "--replicates", "50")
    # The same analysis of the same store: every column agrees with the command line's.
    cli_tasks = pq.read_table(cli_out / "tasks.parquet")
    assert cli_tasks.column_names == tables["tasks"].column_names
    for name in cli_tasks.column_names:
        assert cli_tasks.column(name).equals(tables["tasks"].column(name)), name


INTERRUPTED = """\
import sys
import sphereflow

sweep = sphereflow.Sweep(sys.argv[1], store=sys.argv[2])

def progress(event):
    print(event["event"], flush=True)

try:
    sweep.run(jobs=1, progress=progress, checkpoint_every=0.2)
except KeyboardInterrupt:
    print("keyboard interrupt", flush=True)
    sys.exit(130)
print("not interrupted", flush=True)
"""

SLOW_SWEEP = """\
[sweep]
name = "slow"
[model]
particles = 800
beta = 4
[integrator]
pair_kernel = "direct"
[stop]
max_steps = 4000
drift_tol = 0
[grid]
init.seed = { range = [0, 6] }
"""


def test_ctrl_c_stops_a_run_keeping_committed_work(cli, tmp_path):
    sweep_file = tmp_path / "slow.toml"
    sweep_file.write_text(SLOW_SWEEP)
    store = tmp_path / "store"
    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED)
    child = subprocess.Popen(
        [sys.executable, str(script), str(sweep_file), str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    for line in child.stdout:
        seen.append(line.strip())
        # Interrupt while the second task runs, after the first committed.
        if seen.count("finished") == 1 and seen.count("started") == 2:
            break
    child.send_signal(signal.SIGINT)
    rest, errors = child.communicate(timeout=120)
    seen += rest.split()
    assert child.returncode == 130, (seen, errors)
    assert "keyboard interrupt" in rest
    assert "interrupted" in seen
    states = cli_states(cli, sweep_file, store)
    counts = {s: list(states.values()).count(s) for s in set(states.values())}
    # The committed task stays, nothing is left held, the rest waits.
    assert counts.get("cached", 0) >= 1, counts
    assert counts.get("running", 0) == 0, counts
    assert counts.get("cached", 0) < 6, counts
    # The interrupted task left a checkpoint to resume from.
    assert any((store / "checkpoints").iterdir())
