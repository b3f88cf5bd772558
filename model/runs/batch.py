"""Run specifications: what one run of a batch is, its id, and how a worker runs it.

A run is a model (``emigsim``, or ``ishigami`` for the analytic check of the sensitivity
pipeline), a resolved scenario with any design-point values (or posterior draw) applied,
and a seed. Its id hashes the code version, the resolved scenario, the design values and
the seed, and for a run made with a posterior that file's sha256 and the draw index, so a
re-run of the same batch recognises what it has already done and a store made without
the posterior (or with another one) is not silently resumed with it.

Examples
--------
>>> from model.scenario import Scenario
>>> specs = replicate_specs(Scenario(scale=4000, end=2012), seed=1, replicates=2)
>>> len({s.run_id for s in specs})
2
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.core.rng import replicate_seed
from model.interventions import with_design_value
from model.params import validate_params
from model.posterior import Posterior, apply_draw
from model.scenario import Scenario

__all__ = ["RunSpec", "code_version", "make_run_id", "replicate_specs", "design_specs",
           "run_chunk", "work_chunk", "ChunkOutput", "resolve_reducer", "MODELS"]


RESULT_FOLDERS = ("core", "interventions", "data")
"""Subpackages of ``model`` whose every file a run's numbers depend on (hashed whole)."""

RESULT_TOP_LEVEL = True
"""The package's top-level modules (params, scenario, datasets, drivers, simulation, ...)
are hashed too: the inputs layer and the Mesa model."""

ROW_MODULES = ("runs/batch.py", "runs/runner.py")
"""Modules above the model that still shape a run's rows: they turn a scenario and a seed
into the tidy table (year window, design values applied to the parameters)."""

VERSIONED_PACKAGES = ("numpy", "numba")
"""Libraries whose version can change a run's floating-point results."""


def result_sources() -> list[Path]:
    """Every file hashed into :func:`code_version`, in a stable order.

    Whole folders, not a hand-kept list of modules: a new module in ``model/core`` (or in
    the inputs layer) is covered the day it is written.

    Examples
    --------
    >>> names = {p.name for p in result_sources()}
    >>> {"kernels.py", "simulation.py", "params.py"} <= names
    True
    """
    root = Path(__file__).resolve().parent.parent
    paths = sorted(root.glob("*.py")) if RESULT_TOP_LEVEL else []
    for folder in RESULT_FOLDERS:
        base = root / folder
        if base.is_dir():
            paths += sorted(p for p in base.rglob("*")
                            if p.is_file() and "__pycache__" not in p.parts
                            and p.suffix in (".py", ".csv", ".toml", ".json"))
    paths += [root / m for m in ROW_MODULES]
    return paths


@cache
def code_version() -> str:
    """Hash of the source files and data that a run's numbers depend on.

    Covers :func:`result_sources` (file paths and bytes) and the versions of
    :data:`VERSIONED_PACKAGES`; editing the CLI, plots, the executor or the analyses does
    not change it, so a stored batch does not redo its runs for them.

    Examples
    --------
    >>> len(code_version())
    12
    """
    from importlib import metadata

    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in result_sources():
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    for name in VERSIONED_PACKAGES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "absent"
        h.update(f"{name}=={version}".encode())
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class RunSpec:
    """One run of a batch.

    Attributes
    ----------
    run_id : str
        Hash of code version, model, resolved scenario, design values and seed.
    scenario : Scenario
        Resolved scenario (design values already applied to ``params``).
    seed : int
        The run's seed.
    replicate : int
        1-based replicate number within its design point.
    point : int
        Design point index (0 when the batch has no design).
    design : dict
        Values of the varied parameters at this point (empty without a design).
    model : str
        A key of :data:`MODELS`.
    draw : int, optional
        Index of the posterior draw whose values ``scenario.params`` holds (None: no
        posterior, the scenario's own values).
    reducer : str or callable, optional
        What the worker returns instead of the run's rows: ``reducer(rows, model)``, called
        in the worker on the run's own ``year, metric, group, value`` frame and on the
        finished model (an :class:`~model.simulation.EmigrationModel`; None for models that
        have none, such as ``ishigami``). Its return value, which should be small (summary
        statistics for a calibration distance, say), is all that travels back. Either an
        importable ``"package.module:function"`` name (the robust choice: it pickles as a
        string and any worker with the project installed can load it) or a callable (Dask
        ships it with cloudpickle, so a lambda or a nested function works too).

    Notes
    -----
    The reducer is not part of the run id: the id names a simulation, whose rows do not
    depend on what is computed from them afterwards, and reduced values are never written
    to a :class:`~model.runs.store.ResultStore` (``execute`` refuses specs with a reducer;
    they go through :meth:`model.runs.execution.Executor.submit`). A store of reduced values
    would have to key them by the run id and the reducer together.
    """

    run_id: str
    scenario: Scenario
    seed: int
    replicate: int
    point: int = 0
    design: dict = field(default_factory=dict)
    model: str = "emigsim"
    reducer: str | Callable | None = field(default=None, compare=False)
    draw: int | None = None


IDENTITY_FREE_KEYS = ("name", "description", "source", "overrides")
"""Keys of a resolved scenario that never change a number: not part of a run's id.

``overrides`` only says which parameters a file set explicitly; ``params`` holds every
resolved value, so setting a parameter to its default does not make a new run."""


def numeric_identity(scenario: Scenario) -> dict:
    """The part of a resolved scenario that a run's numbers depend on.

    Parameters, interventions, window and scale; not the name, the description or the
    file it came from (rewording a description must not redo a batch).

    Examples
    --------
    >>> a = Scenario(scale=100)
    >>> b = Scenario(scale=100, name="other", description="reworded")
    >>> numeric_identity(a) == numeric_identity(b)
    True
    """
    return {k: v for k, v in scenario.resolved().items() if k not in IDENTITY_FREE_KEYS}


def make_run_id(model: str, scenario: Scenario, design: dict, seed: int, point: int = 0,
                posterior: tuple[str, int] | None = None) -> str:
    """Stable id of a run.

    The design point's index is part of the id: under common random numbers a design that
    visits the same values twice (a Morris grid) has two runs with equal results, and each
    point keeps its own row in the store. ``posterior`` is ``(sha256 of the posterior
    file, draw index)`` for a run made with a posterior: a new posterior file makes new
    runs even where a scenario's explicit values leave the parameters unchanged. Without
    one the payload is what it was before posteriors existed, so stores made with the
    registry defaults keep their ids.

    Examples
    --------
    >>> s = Scenario(scale=100)
    >>> make_run_id("emigsim", s, {}, 1) == make_run_id("emigsim", s, {}, 1)
    True
    >>> make_run_id("emigsim", s, {}, 1) == make_run_id("emigsim", s, {}, 1,
    ...                                                 posterior=("ab", 0))
    False
    """
    identity = {"code": code_version(), "model": model, "scenario": numeric_identity(scenario),
                "design": design, "seed": int(seed), "point": int(point)}
    if posterior is not None:
        identity["posterior"] = {"sha256": str(posterior[0]), "draw": int(posterior[1])}
    payload = json.dumps(identity, sort_keys=True, default=float)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def replicate_specs(scenario: Scenario, seed: int, replicates: int,
                    point: int = 0, posterior: Posterior | None = None) -> list[RunSpec]:
    """Specs of ``replicates`` replicates of one scenario (seeds as :func:`model.run`).

    ``point`` is the scenario's place in a comparison: two scenarios of a comparison that
    happen to be equal in every number still get runs of their own (their ids differ by
    the point), while renaming a scenario keeps its runs.

    With a ``posterior``, replicate ``r`` (0-based) takes draw ``r mod n_draws``
    (:mod:`model.posterior`): its values replace the registry defaults, except for the
    parameters the scenario sets explicitly, which win. The draw depends on ``r`` only, so
    every scenario of a comparison gets the same draw for the same replicate. Without one
    (the default here; :func:`model.runs.batches.run_scenarios` picks the shipped one) the
    scenario runs as it is.

    Examples
    --------
    >>> a, b = replicate_specs(Scenario(), 1, 1), replicate_specs(Scenario(), 1, 1, point=1)
    >>> a[0].seed == b[0].seed, a[0].run_id == b[0].run_id
    (True, False)
    >>> from pathlib import Path
    >>> post = Posterior(Path("p.csv"), "ab", ("age_peak",), ((30.0,), (40.0,)))
    >>> [(s.draw, s.scenario.params["age_peak"]) for s in replicate_specs(
    ...     Scenario(), 1, 3, posterior=post)]
    [(0, 30.0), (1, 40.0), (0, 30.0)]
    """
    out = []
    for r in range(replicates):
        s = replicate_seed(seed, r)
        if posterior is None:
            out.append(RunSpec(make_run_id("emigsim", scenario, {}, s, point), scenario, s,
                               r + 1, point))
            continue
        d = posterior.index(r)
        sc = apply_draw(scenario, posterior.draw(r), f"{posterior.path}, draw {d}")
        out.append(RunSpec(make_run_id("emigsim", sc, {}, s, point, (posterior.sha256, d)),
                           sc, s, r + 1, point, draw=d))
    return out


def design_specs(scenario: Scenario, points: list[dict], seed: int, replicates: int,
                 model: str = "emigsim") -> list[RunSpec]:
    """Specs for every design point times replicates.

    Replicate ``r`` of every point uses the seed ``replicate_seed(seed, r)``: common random
    numbers across design points, so that the difference between two points is the effect of
    their parameters and not of different draws (elementary effects and Sobol estimates
    carry less replicate noise).
    For ``emigsim`` the point's values are validated and applied to the scenario: a
    parameter name to its ``params``, ``interventions.<name>.magnitude`` (or ``.uptake``)
    to that intervention row.

    No posterior: the parameters a design does not vary keep the scenario's values (the
    registry defaults unless the scenario sets them), so sensitivity indices describe the
    model around one documented reference point, and replicate noise is not mixed with
    parameter draws (experiments/README.md).

    Examples
    --------
    >>> sp = design_specs(Scenario(scale=4000), [{"age_peak": 30}, {"age_peak": 40}], 1, 2)
    >>> [s.point for s in sp], sp[2].scenario.params["age_peak"]
    ([0, 0, 1, 1], 40.0)
    """
    out = []
    for i, point in enumerate(points):
        values = {k: float(v) for k, v in point.items()}
        if model == "emigsim":
            params = {k: v for k, v in values.items() if not k.startswith("interventions.")}
            merged = {**scenario.overrides, **params}
            interventions = scenario.interventions
            for key in [k for k in values if k not in params]:
                interventions = with_design_value(interventions, key, values[key])
            sc = replace(scenario, params=validate_params(merged), overrides=merged,
                         interventions=interventions)
        else:
            sc = scenario
        for r in range(replicates):
            s = replicate_seed(seed, r)
            out.append(RunSpec(make_run_id(model, sc, values, s, i), sc, s, r + 1, i, values,
                               model))
    return out


# ---------------------------------------------------------------------- models
def _run_emigsim(spec: RunSpec) -> tuple[pd.DataFrame, Any]:
    from model.runs.runner import _simulate

    model, rows = _simulate(spec.scenario, spec.seed)
    return rows, model


ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1


def _run_ishigami(spec: RunSpec) -> pd.DataFrame:
    """The Ishigami function of x1, x2, x3 (no noise), as one tidy row."""
    x1, x2, x3 = (spec.design[k] for k in ("x1", "x2", "x3"))
    y = math.sin(x1) + ISHIGAMI_A * math.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * math.sin(x1)
    return pd.DataFrame({"year": [0], "metric": ["y"], "group": ["all"], "value": [y]})


MODELS = {"emigsim": _run_emigsim, "ishigami": _run_ishigami}
"""What a run can simulate, by name: ``spec -> rows`` or ``spec -> (rows, model)``."""


def resolve_reducer(reducer: str | Callable) -> Callable:
    """The callable a spec's ``reducer`` names.

    Examples
    --------
    >>> resolve_reducer("math:fsum")([0.5, 0.25])
    0.75
    >>> resolve_reducer("math:no_such")
    Traceback (most recent call last):
    ...
    ValueError: reducer 'math:no_such': module 'math' has no attribute 'no_such'
    """
    if callable(reducer):
        return reducer
    if not isinstance(reducer, str) or ":" not in reducer:
        raise ValueError(f"reducer {reducer!r} is neither a callable nor a "
                         "'package.module:function' name")
    module, _, name = reducer.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"reducer {reducer!r}: {exc}") from None
    if not callable(obj):
        raise ValueError(f"reducer {reducer!r} is not callable")
    return obj


@dataclass
class ChunkOutput:
    """What a worker sends back for a chunk.

    Attributes
    ----------
    rows : pandas.DataFrame
        Tidy rows of the chunk's runs without a reducer, run after run, with the run
        columns (``run_id, scenario, replicate, seed``, ``point`` and the design values).
    row_runs, row_counts : list of int
        Position in the chunk and number of rows of each of those runs, in row order.
    reduced : dict
        Reducer output by position in the chunk.
    errors : list of dict
        One per failed run (``run_id``, ``error``, ``traceback``, ...).
    error_runs : list of int
        Position in the chunk of each failed run.
    """

    rows: pd.DataFrame
    row_runs: list[int] = field(default_factory=list)
    row_counts: list[int] = field(default_factory=list)
    reduced: dict[int, Any] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    error_runs: list[int] = field(default_factory=list)


def _error(spec: RunSpec, exc: BaseException, tb: str) -> dict:
    return {"run_id": spec.run_id, "scenario": spec.scenario.name, "seed": spec.seed,
            "point": spec.point, "design": spec.design,
            "error": f"{type(exc).__name__}: {exc}", "traceback": tb}


def work_chunk(specs: list[RunSpec]) -> ChunkOutput:
    """Run specs one after the other (in a worker); return rows, reduced values and errors.

    A run that raises (in the model or in its reducer) does not stop the chunk: its error
    (type, message, traceback) is returned with its id so that the batch can report it.

    Examples
    --------
    >>> sp = design_specs(Scenario(), [{"x1": 0.0, "x2": 0.0, "x3": 0.0}], 1, 2, "ishigami")
    >>> sp[1] = replace(sp[1], reducer=lambda rows, model: float(rows["value"].sum()) + 1)
    >>> out = work_chunk(sp)
    >>> out.row_runs, out.row_counts, out.reduced, out.errors
    ([0], [1], {1: 1.0}, [])
    """
    frames, done, out = [], [], ChunkOutput(pd.DataFrame())
    for i, spec in enumerate(specs):
        try:
            result = MODELS[spec.model](spec)
            rows, model = result if isinstance(result, tuple) else (result, None)
            if spec.reducer is not None:
                out.reduced[i] = resolve_reducer(spec.reducer)(rows, model)
            else:
                frames.append(rows)
                done.append(spec)
                out.row_runs.append(i)
                out.row_counts.append(len(rows))
            del model, result  # a finished model is large: drop it before the next run
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none is lost
            out.errors.append(_error(spec, exc, traceback.format_exc()))
            out.error_runs.append(i)
    if frames:
        out.rows = _with_run_columns(frames, done)
    return out


def run_chunk(specs: list[RunSpec]) -> tuple[pd.DataFrame, list[dict]]:
    """Run specs one after the other (in a worker); return their rows and their errors.

    A run that raises does not stop the chunk: its error (type, message, traceback) is
    returned with its id so that the batch can report it. (Reducer outputs are dropped
    here; :func:`work_chunk` returns them.)

    Examples
    --------
    >>> sp = design_specs(Scenario(), [{"x1": 0.0, "x2": 0.0, "x3": 0.0}], 1, 1, "ishigami")
    >>> rows, errors = run_chunk(sp)
    >>> float(rows["value"].iloc[0]), errors
    (0.0, [])
    """
    out = work_chunk(specs)
    return out.rows, out.errors


def _with_run_columns(frames: list[pd.DataFrame], done: list[RunSpec]) -> pd.DataFrame:
    # the run columns are built once per chunk from arrays: per-run DataFrame inserts cost
    # milliseconds each, which is the whole run time of a cheap model
    n = np.array([len(f) for f in frames])
    body = pd.concat(frames, ignore_index=True)
    columns = {"run_id": np.repeat([s.run_id for s in done], n),
               "scenario": np.repeat([s.scenario.name for s in done], n),
               "replicate": np.repeat(np.array([s.replicate for s in done], np.int64), n),
               "seed": np.repeat(np.array([s.seed for s in done], np.int64), n)}
    for name in ("year", "metric", "group", "value"):
        columns[name] = body[name].to_numpy()
    columns["point"] = np.repeat(np.array([s.point for s in done], np.int64), n)
    names = dict.fromkeys(k for s in done for k in s.design)  # ordered union of design keys
    for name in names:
        columns[name] = np.repeat(np.array([s.design.get(name, np.nan) for s in done],
                                           float), n)
    return pd.DataFrame(columns)
