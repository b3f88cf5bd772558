"""Run specifications: what one run of a batch is, its id, and how a worker runs it.

A run is a model (``emigsim``, or ``ishigami`` for the analytic check of the sensitivity
pipeline), a resolved scenario with any design-point values applied, and a seed. Its id
hashes the code version, the resolved scenario, the design values and the seed, so a
re-run of the same batch recognises what it has already done.

Examples
--------
>>> from model.scenario import Scenario
>>> specs = replicate_specs(Scenario(scale=4000, end=2012), seed=1, replicates=2)
>>> len({s.run_id for s in specs})
2
"""

from __future__ import annotations

import hashlib
import json
import math
import traceback
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from model.core.rng import replicate_seed
from model.interventions import with_design_value
from model.params import validate_params
from model.scenario import Scenario

__all__ = ["RunSpec", "code_version", "make_run_id", "replicate_specs", "design_specs",
           "run_chunk", "MODELS"]


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
    """

    run_id: str
    scenario: Scenario
    seed: int
    replicate: int
    point: int = 0
    design: dict = field(default_factory=dict)
    model: str = "emigsim"


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


def make_run_id(model: str, scenario: Scenario, design: dict, seed: int, point: int = 0) -> str:
    """Stable id of a run.

    The design point's index is part of the id: under common random numbers a design that
    visits the same values twice (a Morris grid) has two runs with equal results, and each
    point keeps its own row in the store.

    Examples
    --------
    >>> s = Scenario(scale=100)
    >>> make_run_id("emigsim", s, {}, 1) == make_run_id("emigsim", s, {}, 1)
    True
    """
    payload = json.dumps({"code": code_version(), "model": model,
                          "scenario": numeric_identity(scenario),
                          "design": design, "seed": int(seed), "point": int(point)},
                         sort_keys=True, default=float)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def replicate_specs(scenario: Scenario, seed: int, replicates: int,
                    point: int = 0) -> list[RunSpec]:
    """Specs of ``replicates`` replicates of one scenario (seeds as :func:`model.run`).

    ``point`` is the scenario's place in a comparison: two scenarios of a comparison that
    happen to be equal in every number still get runs of their own (their ids differ by
    the point), while renaming a scenario keeps its runs.

    Examples
    --------
    >>> a, b = replicate_specs(Scenario(), 1, 1), replicate_specs(Scenario(), 1, 1, point=1)
    >>> a[0].seed == b[0].seed, a[0].run_id == b[0].run_id
    (True, False)
    """
    out = []
    for r in range(replicates):
        s = replicate_seed(seed, r)
        out.append(RunSpec(make_run_id("emigsim", scenario, {}, s, point), scenario, s,
                           r + 1, point))
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
def _run_emigsim(spec: RunSpec) -> pd.DataFrame:
    from model.runs.runner import run_one

    return run_one(spec.scenario, spec.seed)


ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1


def _run_ishigami(spec: RunSpec) -> pd.DataFrame:
    """The Ishigami function of x1, x2, x3 (no noise), as one tidy row."""
    x1, x2, x3 = (spec.design[k] for k in ("x1", "x2", "x3"))
    y = math.sin(x1) + ISHIGAMI_A * math.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * math.sin(x1)
    return pd.DataFrame({"year": [0], "metric": ["y"], "group": ["all"], "value": [y]})


MODELS = {"emigsim": _run_emigsim, "ishigami": _run_ishigami}
"""What a run can simulate, by name."""


def run_chunk(specs: list[RunSpec]) -> tuple[pd.DataFrame, list[dict]]:
    """Run specs one after the other (in a worker); return their rows and their errors.

    A run that raises does not stop the chunk: its error (type, message, traceback) is
    returned with its id so that the batch can report it.

    Examples
    --------
    >>> sp = design_specs(Scenario(), [{"x1": 0.0, "x2": 0.0, "x3": 0.0}], 1, 1, "ishigami")
    >>> rows, errors = run_chunk(sp)
    >>> float(rows["value"].iloc[0]), errors
    (0.0, [])
    """
    frames, done, errors = [], [], []
    for spec in specs:
        try:
            frames.append(MODELS[spec.model](spec))
            done.append(spec)
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none is lost
            errors.append({"run_id": spec.run_id, "scenario": spec.scenario.name,
                           "seed": spec.seed, "point": spec.point, "design": spec.design,
                           "error": f"{type(exc).__name__}: {exc}",
                           "traceback": traceback.format_exc()})
    if not frames:
        return pd.DataFrame(), errors
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
    return pd.DataFrame(columns), errors
