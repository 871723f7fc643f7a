"""Errors from Python carry the command line's messages: a bad key raises ValueError naming it,
a bad value names the key and the reason, a bad file names the file."""

import numpy as np
import pytest

import sphereflow


def cli_reason(done):
    """The message of a failed command after its origin (`error: <origin>: <reason>`)."""
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ")
    return line.split(": ", 2)[2]


def test_an_unknown_key_raises_value_error_naming_it(cli):
    with pytest.raises(ValueError) as raised:
        sphereflow.simulate({"model.bta": 3})
    message = str(raised.value)
    assert "`model.bta`" in message
    assert message.startswith('settings["model.bta"]: ')
    expected = cli_reason(cli("simulate", "--set", "model.bta=3", check=False))
    assert message.split(": ", 1)[1] == expected
    assert expected == "unknown parameter `model.bta`; did you mean `model.beta`?"


@pytest.mark.parametrize(
    "key, value, cli_value",
    [
        ("model.beta", -1, "-1"),
        ("model.particles", 5.5, "5.5"),
        ("model.regime", "sideways", "sideways"),
        ("measure.cluster_cap", 1, "1"),
        ("model.kernel", "paper", "paper"),
    ],
)
def test_bad_values_have_the_cli_message(cli, key, value, cli_value):
    settings = {key: value}
    args = ["--set", f"{key}={cli_value}"]
    if key == "model.kernel":
        # The paper kernel refuses β past 700: a constraint between parameters.
        settings["model.beta"] = 800
        args += ["--set", "model.beta=800"]
    with pytest.raises(ValueError) as raised:
        sphereflow.simulate(settings)
    done = cli("simulate", *args, check=False)
    message = str(raised.value)
    assert f"`{key}`" in message or "`model.beta`" in message
    assert message.split(": ", 1)[1] == cli_reason(done)


def test_a_missing_positions_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.npy"
    with pytest.raises(ValueError, match="nowhere.npy"):
        sphereflow.simulate({"init.positions_file": str(missing)})


def test_a_missing_sweep_file_is_named(tmp_path):
    missing = tmp_path / "absent.toml"
    with pytest.raises(FileNotFoundError, match="absent.toml"):
        sphereflow.Sweep(missing)


def test_a_bad_sweep_file_names_file_line_and_key(cli, tmp_path):
    sweep = tmp_path / "bad.toml"
    sweep.write_text("[model]\nparticles = 10\n[grid]\nmodel.betta = [1, 2]\n")
    with pytest.raises(ValueError) as raised:
        sphereflow.Sweep(sweep)
    message = str(raised.value)
    assert str(sweep) in message and "model.betta" in message
    done = cli("plan", sweep, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"error: {message}"


def test_positions_that_contradict_settings_are_refused():
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="model.particles"):
        sphereflow.simulate({"model.particles": 3}, positions=x)
    with pytest.raises(ValueError, match="norm"):
        sphereflow.simulate(positions=np.array([[2.0, 0.0], [0.0, 1.0]]))


def test_a_non_scalar_value_is_a_type_error():
    with pytest.raises(TypeError, match="model.beta"):
        sphereflow.simulate({"model.beta": [1, 2]})


def test_a_diverging_run_raises_simulation_error():
    with pytest.raises(sphereflow.SimulationError, match="diverged|non-finite"):
        sphereflow.simulate(
            {
                "model.particles": 50,
                "model.beta": 1,
                "perceptron.scale": 1e6,
                "integrator.dt": 10.0,
                "stop.max_steps": 50,
            }
        )


def test_a_state_off_the_sphere_is_refused_naming_its_row():
    state = np.array([[1.0, 0.0], [0.0, 1.1]])
    with pytest.raises(ValueError, match="row 1: the position has norm 1.1"):
        sphereflow.stationary(state, {"model.beta": 1.0})
