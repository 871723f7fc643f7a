"""`simulate` from Python against `sphereflow simulate`: the same final positions, bit for bit,
and the same summary."""

import json

import numpy as np
import pytest

import sphereflow
from conftest import set_args

CASES = [
    # S^1, ReLU perceptron, the default Euler steps and pair kernel choice.
    {"model.beta": 5, "model.particles": 300, "stop.max_steps": 400},
    # S^2, GELU, RK4, a seed of its own.
    {
        "model.dim": 3,
        "model.particles": 120,
        "model.beta": 9.0,
        "perceptron.activation": "gelu",
        "integrator.method": "rk4",
        "init.seed": 7,
        "stop.max_steps": 150,
    },
    # Softmax attention in ascent, the adaptive integrator, merging.
    {
        "model.particles": 200,
        "model.beta": 2.5,
        "model.attention": "sa",
        "model.regime": "ascent",
        "integrator.method": "adaptive",
        "measure.merge_tol": 1e-3,
        "measure.cluster_cap": False,
        "stop.max_steps": 300,
    },
]


def bits(array):
    """The raw bits of a float64 array, to compare exactly (NaN and -0 included)."""
    return np.ascontiguousarray(array, dtype=np.float64).view(np.uint64)


@pytest.mark.parametrize("settings", CASES, ids=["s1-relu", "s2-gelu-rk4", "sa-adaptive"])
def test_final_positions_are_bit_identical_to_the_cli(cli, tmp_path, settings):
    out = tmp_path / "final.npy"
    done = cli("simulate", *set_args(settings), "--json", "--out", out)
    # `--out` writes rows [mass, x_1 .. x_d].
    saved = np.load(out)
    expected = saved[:, 1:]
    run = sphereflow.simulate(settings)
    assert run.positions.dtype == np.float64
    assert run.positions.shape == expected.shape
    assert np.array_equal(bits(run.positions), bits(expected))
    assert np.array_equal(bits(run.masses), bits(saved[:, 0]))
    summary = json.loads(done.stdout)
    observed = run.observables
    shared = (set(summary) & set(observed)) - {"runtime_s"}
    assert {"n_clusters", "n_heavy", "max_cluster_mass", "energy_final", "steps"} <= shared
    for key in shared:
        assert observed[key] == summary[key], key


def test_a_spreading_run_is_described_by_its_distance_from_uniform_as_the_cli_does(cli):
    # Descent without a perceptron repels: the run spreads, and both say so with the same
    # measures rather than a cluster count.
    settings = {
        "model.beta": 10,
        "model.particles": 200,
        "perceptron.activation": "none",
        "stop.max_steps": 300,
    }
    summary = json.loads(cli("simulate", *set_args(settings), "--json").stdout)
    observed = sphereflow.simulate(settings).observables
    assert summary["spread"] is True and observed["spread"] is True
    for key in ["largest_gap", "w1_uniform"]:
        assert observed[key] == summary[key], key
    assert 1.0 <= observed["largest_gap"] and 0.0 < observed["w1_uniform"] < 0.2
    assert "spread, largest gap" in repr(sphereflow.simulate(settings))
    clustered = sphereflow.simulate(CASES[0])
    assert clustered.observables["spread"] is False
    assert "w1_uniform" not in clustered.observables and "clusters" in repr(clustered)


def test_a_change_of_setting_changes_the_bits(cli, tmp_path):
    # The comparison above can fail: another seed gives other positions.
    out = tmp_path / "final.npy"
    cli("simulate", *set_args(CASES[0]), "--out", out)
    other = sphereflow.simulate({**CASES[0], "init.seed": 43})
    assert not np.array_equal(bits(other.positions), bits(np.load(out)[:, 1:]))


def test_a_point_of_a_sweeps_grid_is_the_command_lines(cli, tmp_path):
    # A sweep file with axes: the settings pin each axis, as `--set`s do on the command line.
    grid = tmp_path / "grid.toml"
    grid.write_text(
        "[model]\nparticles = 40\n[stop]\nmax_steps = 500\n[grid]\n"
        'model.beta = [1, 3]\nperceptron.activation = ["relu", "gelu"]\n'
    )
    point = {"model.beta": 3, "perceptron.activation": "gelu"}
    out = tmp_path / "final.npy"
    cli("simulate", grid, *set_args(point), "--out", out)
    run = sphereflow.simulate(point, file=grid)
    assert np.array_equal(bits(run.positions), bits(np.load(out)[:, 1:]))
    with pytest.raises(ValueError) as raised:
        sphereflow.simulate({"model.beta": 3}, file=grid)
    message = str(raised.value)
    assert "grid.toml:7" in message and "(perceptron.activation)" in message, message


def test_supplied_positions_match_a_positions_file(cli, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(150, 3))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    path = tmp_path / "initial.npy"
    np.save(path, x)
    settings = {"model.beta": 4, "stop.max_steps": 100}
    out = tmp_path / "final.npy"
    cli(
        "simulate",
        *set_args({**settings, "model.dim": 3, "init.positions_file": path}),
        "--out",
        out,
    )
    run = sphereflow.simulate(settings, positions=x)
    assert np.array_equal(bits(run.positions), bits(np.load(out)[:, 1:]))
    assert run.task_id is None
    from_file = sphereflow.simulate({**settings, "model.dim": 3, "init.positions_file": str(path)})
    assert np.array_equal(bits(from_file.positions), bits(run.positions))


def test_supplied_weights_match_a_weights_file(cli, tmp_path):
    rng = np.random.default_rng(5)
    a = rng.normal(size=(4, 2))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    weights = np.hstack([a, rng.normal(size=(4, 1))])
    path = tmp_path / "weights.npy"
    np.save(path, weights)
    out = tmp_path / "final.npy"
    settings = {"model.particles": 100, "stop.max_steps": 100}
    cli("simulate", *set_args({**settings, "perceptron.weights_file": path}), "--out", out)
    run = sphereflow.simulate(settings, weights=weights)
    assert np.array_equal(bits(run.positions), bits(np.load(out)[:, 1:]))


def test_run_contents_are_consistent():
    run = sphereflow.simulate({"model.particles": 100, "model.beta": 20, "stop.max_steps": 600})
    n, d = run.positions.shape
    assert d == 2 and n == run.observables["n_atoms"]
    assert np.isclose(run.masses.sum(), 1.0)
    assert np.allclose(np.linalg.norm(run.positions, axis=1), 1.0)
    series = run.series
    assert len(run.energy) == len(series["t"]) == len(series["step"])
    assert run.energy[0] == run.observables["energy_initial"]
    assert run.energy[-1] == run.observables["energy_final"]
    step, t, positions, masses = run.frames[-1]
    assert step == run.observables["steps"] and t == run.observables["t_final"]
    assert np.array_equal(positions, run.positions) and np.array_equal(masses, run.masses)
    assert run.frames[0][0] == 0 and len(run.times) == len(run.frames)
    assert sum(c["mass"] for c in run.clusters) == pytest.approx(1.0)
    assert run.parameters["model.beta"] == 20.0
    assert len(run.task_id) == 64
    again = sphereflow.simulate(run.parameters)
    assert np.array_equal(again.positions, run.positions)
    assert again.task_id == run.task_id


def test_params_is_the_schema_of_the_cli(cli):
    schema = sphereflow.params()
    listed = json.loads(cli("params", "--json").stdout)["parameters"]
    assert [spec["path"] for spec in schema] == [spec["path"] for spec in listed]
    by_path = {spec["path"]: spec for spec in schema}
    assert by_path["model.beta"]["default"] == 1.0
    assert by_path["model.particles"]["type"] == "integer"
    assert by_path["perceptron.width"]["default"] is None
    assert all(spec["doc"] for spec in schema)
