"""`stationary` and `meanfield` from Python: the crates' certificate and mean-field solver."""

import numpy as np
import pytest

import sphereflow


SETTINGS = {
    "model.particles": 200,
    "model.beta": 4,
    "model.regime": "ascent",
    "perceptron.activation": "none",
    "measure.merge_tol": 1e-3,
}


@pytest.fixture(scope="module")
def converged():
    # Pure attention in ascent at β = 4 gathers 200 particles into two atoms.
    run = sphereflow.simulate(SETTINGS)
    assert run.observables["stop_reason"] == "converged"
    assert run.observables["n_clusters"] == 2
    return run


def test_a_converged_state_is_certified(converged):
    certificate = sphereflow.stationary(converged, merge_tol=1e-3)
    # Two atoms apart are a saddle of the energy: moving one towards the other gains.
    assert certificate.classification == "saddle"
    assert not certificate.is_sopd
    assert certificate.residual <= 1e-12 * certificate.field_scale
    k, d = certificate.atoms.shape
    assert (k, d) == (2, 2) and len(certificate.masses) == 2
    assert certificate.masses.sum() == pytest.approx(1.0)
    # One eigenvalue per atom on S^1, the common rotation among them.
    assert len(certificate.eigenvalues) == k
    assert certificate.zero_modes == 1
    assert np.all(np.diff(certificate.eigenvalues) >= 0)
    assert certificate.lambda_min == certificate.eigenvalues[0] < -certificate.threshold
    assert certificate.newton_iterations >= 1
    assert certificate.escapes == [] and certificate.kink is None
    as_dict = certificate.to_dict()
    assert as_dict["classification"] == "saddle"
    assert len(as_dict["atoms"]) == k
    # From the saddle the escape reaches one atom: a maximum of the energy.
    escaped = sphereflow.stationary(converged, merge_tol=1e-3, escape=True)
    assert escaped.is_sopd and len(escaped.escapes) >= 1
    assert len(escaped.masses) == 1 and escaped.energy > certificate.energy
    # Without Newton's handover the escape's flow runs to its own stop, to the same maximum.
    flowed = sphereflow.stationary(converged, merge_tol=1e-3, escape=True, newton_handover=False)
    assert flowed.is_sopd and len(flowed.masses) == 1
    assert flowed.energy == pytest.approx(escaped.energy, rel=1e-12)


def test_positions_with_settings_are_certified_under_that_model(converged):
    by_run = sphereflow.stationary(converged, merge_tol=1e-3)
    model = {k: v for k, v in SETTINGS.items() if k.startswith(("model.beta", "model.regime", "perceptron"))}
    by_array = sphereflow.stationary(
        converged.positions, model, masses=converged.masses, merge_tol=1e-3
    )
    assert np.array_equal(by_run.atoms, by_array.atoms)
    assert np.array_equal(by_run.eigenvalues, by_array.eigenvalues)


def test_two_antipodal_atoms_are_a_saddle_in_ascent():
    x = np.array([[1.0, 0.0], [-1.0, 0.0]])
    certificate = sphereflow.stationary(
        x, {"model.beta": 1, "model.regime": "ascent", "perceptron.activation": "none"}
    )
    assert certificate.classification == "saddle"
    assert certificate.lambda_min < 0
    escaped = sphereflow.stationary(
        x,
        {"model.beta": 1, "model.regime": "ascent", "perceptron.activation": "none"},
        escape=True,
        merge_tol=1e-4,
    )
    assert escaped.is_sopd and len(escaped.escapes) >= 1


def test_certify_options_are_checked():
    with pytest.raises(ValueError, match="residual_tol"):
        sphereflow.stationary(np.array([[1.0, 0.0]]), residual_tol=2.0)
    with pytest.raises(ValueError, match="coarsen"):
        sphereflow.stationary(np.array([[1.0, 0.0]]), coarsen=-1.0)


def test_coarsening_polishes_arcs_from_rows_of_atoms():
    # Two arcs of 200 particles, 0.04 rad long, on opposite sides, pure attention in ascent: each
    # arc gathers into one atom, whether every particle is polished or groups of 0.01 rad.
    angles = np.concatenate([np.linspace(0.0, 0.04, 200), np.pi + np.linspace(0.0, 0.04, 200)])
    x = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    model = {"model.beta": 4, "model.regime": "ascent", "perceptron.activation": "none"}
    exact = sphereflow.stationary(x, model)
    coarse = sphereflow.stationary(x, model, coarsen=0.01)
    assert exact.coarsened is None and coarse.coarsened == 0.01
    assert coarse.to_dict()["coarsened"] == 0.01
    assert len(coarse.masses) == len(exact.masses) == 2
    assert coarse.classification == exact.classification == "saddle"
    assert np.allclose(np.sort(coarse.masses), np.sort(exact.masses), atol=1e-12)
    assert coarse.energy == pytest.approx(exact.energy, rel=1e-12)
    assert coarse.energy_given == exact.energy_given


def test_a_stalled_polish_descends_and_says_how_far():
    # A weak perceptron at beta = 19 (the bound sweep's model): the flow stops on its drift rule
    # while 100 particles still creep, and Newton stalls above the tolerance there. Escapes on,
    # the certifier descends to a strict minimum below the end state and says how far it went.
    settings = {
        "model.particles": 100,
        "model.beta": 19,
        "perceptron.activation": "relu",
        "perceptron.scale": 0.01,
        "perceptron.scale_mode": "norm",
        "perceptron.seed": 778,
        "stop.max_steps": 50000,
    }
    run = sphereflow.simulate(settings)
    stalled = sphereflow.stationary(run, escape=True, descend=False)
    assert stalled.classification == "not_stationary"
    assert stalled.escapes == []
    descended = sphereflow.stationary(run, escape=True)
    assert descended.classification == "strict"
    assert descended.escapes[0]["from"] == "stalled"
    assert descended.escapes[0]["descent_iterations"] > 0
    assert descended.energy < descended.energy_given
    # The Hausdorff distance between the end state's particles and the atoms.
    x, atoms = run.positions, descended.atoms
    cos = np.clip(x @ atoms.T, -1.0, 1.0)
    distance = max(np.arccos(cos).min(axis=1).max(), np.arccos(cos).min(axis=0).max())
    assert descended.distance_given == pytest.approx(distance, abs=1e-9)
    assert 0.0 < descended.distance_given < 0.5


def test_meanfield_conserves_mass_and_keeps_its_snapshots():
    result = sphereflow.meanfield(
        {"model.beta": 5, "meanfield.cells": 64, "meanfield.t_end": 1.0, "meanfield.snapshots": 3},
        initial={"cosine": {"amplitude": 0.05, "mode": 2}},
    )
    assert result.cells == 64
    assert np.array_equal(result.times, [0.0, 0.5, 1.0])
    assert result.densities.shape == (3, 64)
    h = 2 * np.pi / 64
    assert np.allclose(result.densities.sum(axis=1) * h, 1.0, atol=1e-13)
    assert np.all(result.densities >= 0)
    assert abs(result.mass[-1] - 1.0) < 1e-13
    assert result.steps > 0
    assert np.array_equal(result.final_density, result.densities[-1])
    assert result.angles[0] == pytest.approx(h / 2)


def test_meanfield_from_a_run_and_from_a_density():
    run = sphereflow.simulate({"model.particles": 100, "stop.max_steps": 10})
    from_run = sphereflow.meanfield({"meanfield.cells": 32, "meanfield.t_end": 0.5}, initial=run)
    uniform = np.full(32, 1 / (2 * np.pi))
    from_density = sphereflow.meanfield(
        {"meanfield.cells": 32, "meanfield.t_end": 0.5}, density=uniform
    )
    assert from_run.densities.shape[1] == from_density.densities.shape[1] == 32
    assert from_run.densities[0].sum() * 2 * np.pi / 32 == pytest.approx(1.0)


def test_meanfield_keys_are_checked():
    with pytest.raises(ValueError, match="meanfield.cells"):
        sphereflow.meanfield({"meanfield.cells": 4})
    with pytest.raises(ValueError, match="meanfield.cels"):
        sphereflow.meanfield({"meanfield.cels": 64})
    with pytest.raises(ValueError, match="model.bta"):
        sphereflow.meanfield({"model.bta": 64})
    with pytest.raises(ValueError, match="model.dim"):
        sphereflow.meanfield({"model.dim": 3})
    keys = [spec["path"] for spec in sphereflow.meanfield_params()]
    assert keys[:4] == ["meanfield.cells", "meanfield.cfl", "meanfield.t_end", "meanfield.snapshots"]
