"""Type stubs of the extension module ``sphereflow._sphereflow`` (re-exported by ``sphereflow``)."""

from collections.abc import Callable, Mapping
from os import PathLike
from typing import Any, Literal, TypedDict, final

import numpy as np
import numpy.typing as npt

__version__: str
SOLVER_REV: int
DEFAULT_STORE: str

Value = bool | int | float | str
Settings = Mapping[str, Value | None]
StrPath = str | PathLike[str]
Array = npt.NDArray[np.float64]

class SimulationError(RuntimeError):
    """A run that broke down: a non-finite value, a divergence, a step size underflow."""

class StoreError(RuntimeError):
    """A store that cannot be used: a corrupt, stale or missing object, another layout."""

class ParamSpec(TypedDict):
    path: str
    type: str
    default: Value | None
    doc: str

class Report(TypedDict):
    tasks: int
    cached: int
    committed: int
    done_elsewhere: int
    failed: list[tuple[str, str]]
    failed_before: list[tuple[str, str]]
    interrupted: bool
    failure_budget_spent: bool
    remaining: int

def params() -> list[ParamSpec]:
    """Every parameter: its path, type, default and meaning (as ``sphereflow params``)."""

def meanfield_params() -> list[ParamSpec]:
    """The ``meanfield.*`` keys of :func:`meanfield`, with their defaults."""

def simulate(
    settings: Settings | None = None,
    *,
    file: StrPath | None = None,
    positions: npt.ArrayLike | None = None,
    weights: npt.ArrayLike | None = None,
) -> Run:
    """Runs one task, as ``sphereflow simulate`` does (bit-identical final positions).

    ``settings`` maps parameter paths to values (``{"model.beta": 10}``); ``file`` is a sweep
    file read first (``settings`` override it, and must pin each of its axes: a point of its
    grid); ``positions`` (n × d) and ``weights`` (m × (d+1)) replace the
    seeded draws. Raises ``ValueError`` naming an unknown key or a bad value,
    ``FileNotFoundError`` naming a missing file, :class:`SimulationError` for a diverging run.
    """

def load_task(store: StrPath, task_id: str) -> Run:
    """A committed task read back from a store (full id or a unique prefix of 8+ digits)."""

def stationary(
    state: Run | npt.ArrayLike,
    settings: Settings | None = None,
    *,
    masses: npt.ArrayLike | None = None,
    merge_tol: float | None = None,
    residual_tol: float | None = None,
    max_newton_iterations: int | None = None,
    escape: bool | None = None,
    max_escapes: int | None = None,
    escape_step: float | None = None,
    flow_tol: float | None = None,
    max_flow_steps: int | None = None,
    newton_handover: bool | None = None,
    coarsen: float | None = None,
    descend: bool | None = None,
    max_descent_iterations: int | None = None,
) -> Certificate:
    """Certifies a state: merge into atoms, Newton polish, spectrum, classification (MODEL.md §9).

    ``state`` is a :class:`Run` (its final state under its own field) or an n × d array with
    ``settings`` for the model. Options left ``None`` take the solver's defaults. With escapes
    on, a polish that stalls above the tolerance descends by trust-region Newton (an escape
    ``from`` ``"stalled"``); ``descend=False`` reports it ``not_stationary``.
    """

InitialLaw = (
    Literal["uniform"]
    | Mapping[str, Any]
    | Run
    | npt.ArrayLike
)

def meanfield(
    settings: Mapping[str, Value | None] | None = None,
    *,
    initial: InitialLaw | None = None,
    density: npt.ArrayLike | None = None,
) -> MeanFieldRun:
    """Solves the mean-field equation on S^1 (MODEL.md §10) by finite volumes.

    ``settings``: model keys (``model.beta``, ``perceptron.*``, ...) and ``meanfield.cells``,
    ``meanfield.cfl``, ``meanfield.t_end``, ``meanfield.snapshots``, ... (see
    :func:`meanfield_params`). ``initial``: ``"uniform"``, ``{"cosine": {"amplitude": a,
    "mode": k}}``, ``{"von_mises": [...]}``, ``{"particles": {"angles": ..., "masses": ...}}``,
    a :class:`Run` on S^1 or n × 2 positions; or ``density``: the cell averages.
    """

@final
class Run:
    """One task's result: final state, time series, snapshots and summary."""

    @property
    def positions(self) -> Array:
        """Final positions, n × d."""
    @property
    def masses(self) -> Array:
        """Final masses, summing to 1."""
    @property
    def energy(self) -> Array:
        """The energy at every check (times in ``series["t"]``)."""
    @property
    def series(self) -> dict[str, npt.NDArray[Any]]:
        """``step``, ``t``, ``energy``, ``n_clusters``, ``max_drift`` at every check."""
    @property
    def observables(self) -> dict[str, Any]:
        """The summary of the end state (as ``sphereflow simulate --json``)."""
    @property
    def clusters(self) -> list[dict[str, Any]]:
        """Final clusters, heaviest first: ``mass``, ``centre``, ``spread``, ``size``."""
    @property
    def frames(self) -> list[tuple[int, float, Array, Array]]:
        """Snapshots ``(step, t, positions, masses)``, ending with the final state."""
    @property
    def times(self) -> Array:
        """The times of the snapshots."""
    @property
    def parameters(self) -> dict[str, Value]:
        """Every set parameter's value; ``simulate(run.parameters)`` runs the task again."""
    @property
    def task_id(self) -> str | None:
        """The task id of these parameters (``None`` with supplied arrays)."""
    @property
    def runtime_s(self) -> float:
        """Wall time of the computation, seconds."""
    @property
    def certificate(self) -> Certificate | None:
        """The stored certificate of the final state, when the store holds one."""
    @property
    def provenance(self) -> dict[str, Any] | None:
        """Where and when a stored run was computed (``None`` for :func:`simulate`)."""

@final
class Certificate:
    """A certified stationary state (MODEL.md §9)."""

    @property
    def classification(
        self,
    ) -> Literal["strict", "sopd", "saddle", "kink", "undefined", "unresolved", "not_stationary"]:
        """The conclusion."""
    @property
    def is_sopd(self) -> bool:
        """Strict or SOPD: a local optimum to second order."""
    @property
    def residual(self) -> float:
        """max_a |F_a| at the certified atoms."""
    @property
    def field_scale(self) -> float:
        """The scale the residual is measured against."""
    @property
    def eigenvalues(self) -> Array:
        """Eigenvalues of the mass-weighted objective Hessian, ascending."""
    @property
    def lambda_min(self) -> float | None:
        """The smallest eigenvalue off the rotation zero modes."""
    @property
    def hessian_norm(self) -> float:
        """Spectral norm of the mass-weighted Hessian."""
    @property
    def threshold(self) -> float:
        """Eigenvalues within this of 0 count as zero."""
    @property
    def zero_modes(self) -> int:
        """Rotation zero modes found in the spectrum."""
    @property
    def atoms(self) -> Array:
        """The atoms' positions, k × d."""
    @property
    def masses(self) -> Array:
        """The atoms' masses."""
    @property
    def energy(self) -> float:
        """Energy of the atoms."""
    @property
    def energy_given(self) -> float | None:
        """Energy of the state as given, before merging and polishing: far from ``energy`` when
        the merge or the polish moved the state."""
    @property
    def newton_iterations(self) -> int:
        """Newton iterations of the final polish."""
    @property
    def residual_history(self) -> Array:
        """Residual at the start of the final polish and after each Newton step."""
    @property
    def escapes(self) -> list[dict[str, Any]]:
        """Escapes, in order: ``from`` is ``"saddle"`` or ``"stalled"`` (a stalled polish)."""
    @property
    def perceptron_unresolved(self) -> bool:
        """The perceptron is below the rounding of attention."""
    @property
    def kink(self) -> dict[str, Any] | None:
        """An atom on a ReLU kink: ``atom``, ``neuron``, ``distance``."""
    @property
    def coarsened(self) -> float | None:
        """The diameter of the groups the state was merged into before polishing, if it was."""
    @property
    def distance_given(self) -> float | None:
        """Hausdorff distance (geodesic, radians) between the given particles and the atoms."""
    def to_dict(self) -> dict[str, Any]:
        """Everything as plain data (the JSON form the store keeps)."""

@final
class MeanFieldRun:
    """A mean-field run: densities at the snapshot times, mass and energy series."""

    @property
    def cells(self) -> int: ...
    @property
    def angles(self) -> Array:
        """Cell centres, (i + 1/2) 2π/M."""
    @property
    def times(self) -> Array:
        """Snapshot times."""
    @property
    def densities(self) -> Array:
        """Cell averages per radian, snapshots × cells."""
    @property
    def final_density(self) -> Array: ...
    @property
    def series_times(self) -> Array: ...
    @property
    def mass(self) -> Array: ...
    @property
    def energy(self) -> Array: ...
    @property
    def steps(self) -> int: ...
    @property
    def runtime_s(self) -> float: ...

@final
class Task:
    """One task of a sweep: id, axis values, state in the store."""

    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str:
        """The axis values, ``beta=10 activation=relu``."""
    @property
    def coordinates(self) -> dict[str, Value]:
        """The task's value on each axis, keyed by parameter path."""
    @property
    def state(self) -> Literal["cached", "stale", "corrupt", "failed", "running", "pending"]: ...
    @property
    def detail(self) -> str | None:
        """Why it failed or is corrupt, who holds it, which revision computed it."""
    def load(self) -> Run:
        """The task's result from the store."""

@final
class Sweep:
    """A sweep file planned against a store."""

    def __init__(
        self, path: StrPath, *, profile: str | None = None, store: StrPath | None = None
    ) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def profile(self) -> str | None: ...
    @property
    def store(self) -> str: ...
    @property
    def warnings(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def plan(self, *, store: StrPath | None = None) -> list[Task]:
        """The tasks with their ids, coordinates and states."""
    def status(self, *, store: StrPath | None = None) -> dict[str, int]:
        """Tasks per state (as ``sphereflow status``)."""
    def run(
        self,
        jobs: int | None = None,
        progress: bool | Callable[[dict[str, Any]], object] | None = True,
        *,
        store: StrPath | None = None,
        retry_failed: bool = False,
        max_failures: int | None = None,
        checkpoint_every: float | None = None,
    ) -> Report:
        """Computes what the store lacks (as ``sphereflow run``); Ctrl-C stops it cleanly."""
    def tables(
        self,
        out: StrPath | None = None,
        *,
        store: StrPath | None = None,
        kind: Literal["auto", "pyarrow", "polars"] = "auto",
        beta_min: float | None = None,
        theorem_beta_min: float | None = None,
        replicates: int | None = None,
    ) -> dict[str, Any]:
        """The tables ``tasks``, ``clusters``, ``series``, ``fits``, ``bounds``."""
