"""sphereflow from Python: tokens of a Transformer as particles on the unit sphere.

A thin layer over the Rust crates: every call resolves its settings and runs exactly as the
``sphereflow`` command line does, so results are bit-identical to it and share its store.

>>> import sphereflow
>>> run = sphereflow.simulate({"model.beta": 10, "model.particles": 200, "stop.max_steps": 500})
>>> run.positions.shape
(200, 2)

- :func:`params`: every parameter (path, type, default, meaning);
- :func:`simulate`: one task, returning a :class:`Run` (positions, masses, energy, frames);
- :func:`stationary`: the certificate of a state (Newton, spectrum, classification);
- :func:`meanfield`: the density of infinitely many tokens on S^1;
- :class:`Sweep`: a sweep file's tasks, a run of them against a store, their tables;
- :func:`load_task`: a committed task read back from a store.
"""

from ._sphereflow import (
    DEFAULT_STORE,
    SOLVER_REV,
    Certificate,
    MeanFieldRun,
    Run,
    SimulationError,
    StoreError,
    Sweep,
    Task,
    __version__,
    load_task,
    meanfield,
    meanfield_params,
    params,
    simulate,
    stationary,
)

__all__ = [
    "DEFAULT_STORE",
    "SOLVER_REV",
    "Certificate",
    "MeanFieldRun",
    "Run",
    "SimulationError",
    "StoreError",
    "Sweep",
    "Task",
    "__version__",
    "load_task",
    "meanfield",
    "meanfield_params",
    "params",
    "simulate",
    "stationary",
]
