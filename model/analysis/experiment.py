r"""Sensitivity-analysis experiment files: what to vary, how to sample, what to measure.

An experiment file is TOML; every problem is reported up front, before any run, as one
line naming the file and the key (the same :class:`~model.scenario.ScenarioError` format
as scenario files)::

    name = "sobol_baseline"          # optional; default: the file name without .toml
    description = "..."              # optional
    scenario = "../scenarios/baseline.toml"  # path relative to this file, or a bare name
                                     # looked up in scenarios/ (default "baseline")
    method = "sobol"                 # sobol | morris | fast | delta | pawn
    sampling = "latin"               # delta and pawn only: latin (default) | sobol | morris
                                     # | fast (they analyse any design)
    n = 64                           # base sample size (SALib's N; Morris: trajectories)
    replicates = 2                   # runs per design point, each with its own seed
    seed = 1                         # seeds the design and the replicate seeds
    levels = 4                       # morris designs only: grid levels (even, default 4)
    second_order = true              # sobol designs only: also S2 (default true)
    [run]                            # optional overrides of the scenario's [run]
    end = 2018
    scale = 200
    [parameters]                     # what varies: {} = registry bounds and prior
    b_compatriot = {}
    realise_emigrate = { bounds = [0.005, 0.03] }
    "interventions.north_youth.magnitude" = { bounds = [-1.0, 0.0] }
                                     # an intervention row of the scenario: its magnitude
                                     # (lever bounds by default) or uptake ([0, 1])
    [[outcomes]]                     # scalar or per-year outcomes of each run
    name = "cum_emigrants_2012_2018"
    metric = "new_emigrants"
    group = "all"                    # default "all"
    years = [2012, 2018]             # inclusive range; aggregate = "sum" (default) | "mean"
    [[outcomes]]
    name = "emigrants_2018"
    metric = "new_emigrants"
    year = 2018                      # the value in one year
    [[outcomes]]
    name = "emigrants_by_year"
    metric = "new_emigrants"
    per_year = true                  # one outcome per year of the run window

Design sizes (design points; each is run ``replicates`` times): Sobol ``n (2D + 2)``
(``n (D + 2)`` without second order), Morris ``n (D + 1)``, FAST ``n D``, Latin hypercube
``n``, where ``D`` is the number of varied parameters.

Integer and year parameters (``kind`` ``"int"``/``"year"`` in the registry) may be varied
with every method: the unit-cube coordinate ``u`` is mapped to the integer
``lo + floor(u (hi - lo + 1))`` (capped at ``hi``), a discrete uniform distribution over
``lo..hi`` as EMA Workbench's ``IntegerParameter`` does. The indices are then those of a
model whose input is discrete; no run ever sees a fractional number of years.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "e.toml").write_text('''
... method = "morris"
... n = 4
... [run]
... end = 2014
... [parameters]
... b_compatriot = {}
... [[outcomes]]
... name = "emigrants_2014"
... metric = "new_emigrants"
... year = 2014
... ''')
>>> exp = load_experiment(d / "e.toml")
>>> (exp.name, exp.method, exp.n_points, exp.problem["bounds"])
('e', 'morris', 8, [[0.0, 2.0]])
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import model
from model.interventions import DESIGN_FIELDS, LEVERS
from model.params import REGISTRY, Prior, suggest
from model.scenario import (
    Scenario,
    check_intervention_windows,
    check_run_table,
    check_text_keys,
    check_top_keys,
    check_window,
    describe,
    input_error,
    load_scenario,
    read_toml,
    shipped_scenarios_dir,
)

__all__ = ["Experiment", "VariedParam", "Outcome", "load_experiment", "METHODS", "SAMPLINGS",
           "GIVEN_DATA", "shipped_experiments_dir"]

METHODS = ("sobol", "morris", "fast", "delta", "pawn")
"""Analysis methods (SALib's ``analyze`` modules of the same names)."""
GIVEN_DATA = ("delta", "pawn")
"""Methods that analyse any design (given data); the others need their own sampler."""
SAMPLINGS = ("latin", "sobol", "morris", "fast")
"""Designs a given-data method can analyse (``latin`` = Latin hypercube, the default)."""
FAST_M = 4
"""FAST interference parameter (SALib's default); the sample size must exceed 4 M^2."""
MIN_GIVEN_DATA_POINTS = 20
"""Fewest design points accepted for delta and PAWN (hundreds are better)."""

_TOP_KEYS = ("name", "description", "scenario", "method", "sampling", "n", "replicates",
             "seed", "levels", "second_order", "run", "parameters", "outcomes")
_TOP_ALLOWED = ("name, description, scenario, method, sampling, n, replicates, seed, levels, "
                "second_order, [run], [parameters], [[outcomes]]")
_PARAM_KEYS = ("bounds",)
_OUTCOME_KEYS = ("name", "metric", "group", "year", "years", "per_year", "aggregate")
_AGGREGATES = ("sum", "mean")
_RESERVED = ("run_id", "scenario", "point", "replicate", "seed", "year", "metric", "group",
             "value")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class VariedParam:
    """A parameter varied by an experiment, over ``[lo, hi]``, with a prior on that range.

    Attributes
    ----------
    name : str
        Registry name (or any name for the analytic test models).
    lo, hi : float
        Bounds of the range sampled (inclusive).
    kind : str
        ``"float"``, or ``"int"``/``"year"`` for whole numbers (discrete uniform).
    prior : tuple
        Prior spec (:class:`model.params.Prior`): the registry parameter's prior when the
        file gives ``{}``, uniform on the file's bounds when it gives ``bounds``.

    Examples
    --------
    >>> VariedParam("age_peak", 30.0, 40.0).value(0.5)
    35.0
    >>> VariedParam("study_years", 1, 8, "int").value(0.99)
    8.0
    >>> normal = VariedParam("age_peak", 30.0, 40.0, prior=("normal", 35.0, 2.0))
    >>> round(normal.value(0.5), 6), normal.value(0.9) < 39.0  # uniform: 39.0
    (35.0, True)
    """

    name: str
    lo: float
    hi: float
    kind: str = "float"
    prior: tuple = ("uniform",)

    @property
    def distribution(self) -> Prior:
        """The prior on ``[lo, hi]`` (its ``ppf`` maps the unit cube)."""
        return Prior(self.prior, self.lo, self.hi, whole=self.kind in ("int", "year"))

    def value(self, u: float | np.ndarray) -> float | np.ndarray:
        """Map unit-cube coordinates ``u`` in [0, 1] (a number or an array) to values.

        Through the prior's ``ppf``; a uniform prior is ``lo + u * (hi - lo)`` exactly
        (whole numbers: a discrete uniform over ``lo..hi``).
        """
        return self.distribution.ppf(u)


@dataclass(frozen=True)
class Outcome:
    """A quantity computed from each run's tidy rows.

    Exactly one of ``year`` (the value in that year), ``years`` (``aggregate`` of the
    values over an inclusive range) or ``per_year`` (one outcome per year of the run
    window, named ``name@year`` in tables) is set.

    Examples
    --------
    >>> Outcome("e18", "new_emigrants", year=2018).columns((2012, 2018))
    ['e18']
    >>> Outcome("by_year", "new_emigrants", per_year=True).columns((2012, 2013))
    ['by_year@2012', 'by_year@2013']
    """

    name: str
    metric: str
    group: str = "all"
    year: int | None = None
    years: tuple[int, int] | None = None
    per_year: bool = False
    aggregate: str = "sum"

    def columns(self, window: tuple[int, int]) -> list[str]:
        """Names of the table columns of this outcome for a run window ``(start, end)``."""
        if self.per_year:
            return [f"{self.name}@{y}" for y in range(window[0], window[1] + 1)]
        return [self.name]


@dataclass(frozen=True)
class Experiment:
    """A resolved, validated sensitivity experiment.

    Attributes
    ----------
    name, description : str
        As in the file.
    scenario : Scenario
        The scenario with the experiment's ``[run]`` overrides applied.
    method : str
        One of :data:`METHODS`.
    n : int
        Base sample size (Morris: trajectories).
    replicates : int
        Runs per design point.
    seed : int
        Seeds the design (SALib sampler) and the runs.
    parameters : tuple of VariedParam
        What varies, in design-column order.
    outcomes : tuple of Outcome
        What is measured.
    sampling : str
        The design: the method itself for sobol, morris and fast; for delta and PAWN one
        of :data:`SAMPLINGS`.
    levels : int
        Morris grid levels.
    second_order : bool
        Sobol designs: include the second-order columns.
    model : str
        ``"emigsim"``, or ``"ishigami"`` for the analytic check (a key of
        :data:`model.runs.batch.MODELS`).
    source : str or None
        The file it came from.

    Examples
    --------
    >>> exp = Experiment("t", "", Scenario(), "sobol", 8, 1, 1,
    ...                  (VariedParam("age_peak", 30, 40),),
    ...                  (Outcome("e", "new_emigrants", year=2018),))
    >>> exp.problem, exp.n_points, exp.n_runs
    ({'num_vars': 1, 'names': ['age_peak'], 'bounds': [[30, 40]]}, 32, 32)
    """

    name: str
    description: str
    scenario: Scenario
    method: str
    n: int
    replicates: int
    seed: int
    parameters: tuple[VariedParam, ...]
    outcomes: tuple[Outcome, ...]
    sampling: str = ""
    levels: int = 4
    second_order: bool = True
    model: str = "emigsim"
    source: str | None = None

    def __post_init__(self) -> None:
        if not self.sampling:
            # Frozen dataclass: the default design is the method's own sampler.
            object.__setattr__(self, "sampling",
                               "latin" if self.method in GIVEN_DATA else self.method)

    @property
    def problem(self) -> dict:
        """The SALib problem in parameter units: ``num_vars``, ``names``, ``bounds``."""
        return {"num_vars": len(self.parameters), "names": [p.name for p in self.parameters],
                "bounds": [[p.lo, p.hi] for p in self.parameters]}

    @property
    def window(self) -> tuple[int, int]:
        """First and last simulated year of every run."""
        return (self.scenario.start, self.scenario.end)

    @property
    def n_points(self) -> int:
        """Number of design points."""
        d = len(self.parameters)
        return {"sobol": self.n * (2 * d + 2 if self.second_order else d + 2),
                "morris": self.n * (d + 1), "fast": self.n * d, "latin": self.n}[self.sampling]

    @property
    def n_runs(self) -> int:
        """Number of runs (design points times replicates)."""
        return self.n_points * self.replicates

    def outcome_columns(self) -> list[str]:
        """Every outcome column of the outcome table, in file order."""
        return [c for o in self.outcomes for c in o.columns(self.window)]

    def resolved(self) -> dict:
        """A JSON-ready description of everything that defines the experiment."""
        return {"name": self.name, "description": self.description, "method": self.method,
                "sampling": self.sampling, "n": self.n, "replicates": self.replicates,
                "seed": self.seed, "levels": self.levels, "second_order": self.second_order,
                "model": self.model, "source": self.source, "n_points": self.n_points,
                "n_runs": self.n_runs,
                "parameters": [{"name": p.name, "bounds": [p.lo, p.hi], "kind": p.kind,
                                "prior": list(p.prior)} for p in self.parameters],
                # `is not`: a year of 0 (the analytic models) is a value, not "unset".
                "outcomes": [{k: v for k, v in vars(o).items()
                              if v is not None and v is not False} for o in self.outcomes],
                "scenario": self.scenario.resolved()}


def shipped_experiments_dir() -> Path:
    """Return the ``experiments/`` folder shipped next to the ``model`` package.

    Examples
    --------
    >>> shipped_experiments_dir().name
    'experiments'
    """
    return Path(model.__file__).resolve().parent.parent / "experiments"


# ---------------------------------------------------------------------- validation
def _is_int(value: object) -> bool:
    # bool is an int subclass; `n = true` is a typo, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and math.isfinite(value)


def _scenario_candidates(value: str, folder: Path) -> list[Path]:
    target = Path(value)
    if target.is_absolute():
        return [target]
    out = [folder / target]
    if target.parent == Path("."):
        # A bare name: the project's scenarios/ next to experiments/, the working
        # directory's scenarios/, then the ones shipped with the package.
        name = target.name if target.suffix == ".toml" else f"{target.name}.toml"
        out += [folder.parent / "scenarios" / name, Path("scenarios") / name,
                shipped_scenarios_dir() / name]
    return out


def _resolve_scenario(data: dict, path: Path, where: str) -> Scenario:
    value = data.get("scenario", "baseline")
    if not isinstance(value, str) or not value.strip():
        raise input_error(where, "scenario", f"must be a non-empty string, not {describe(value)}",
                          "a scenario path relative to this file, or a name in scenarios/")
    candidates = _scenario_candidates(value, path.parent)
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        # A bare name was looked up in scenarios/ folders: list those, not this folder.
        folders = [c.parent for c in (candidates[1:] or candidates) if c.parent.is_dir()]
        names = sorted({f.stem for folder in folders for f in folder.glob("*.toml")})
        raise input_error(where, "scenario", f"= {value!r} names no scenario file "
                          f"({candidates[0]})", "a scenario path relative to this file's folder, "
                          f"or a name in scenarios/ ({', '.join(names) or 'none found'})",
                          suggest(Path(value).stem, names))
    return load_scenario(found)


def _check_run(data: dict, scenario: Scenario, where: str) -> Scenario:
    checked = check_run_table(data.get("run", {}), where)
    new = scenario.with_run(**checked)
    if new.start > new.end:
        key = "run.start" if "start" in checked else "run.end"
        other = "run.end" if key == "run.start" else "run.start"
        if other.removeprefix("run.") not in checked:
            other = f"{other} of scenario {scenario.name}"
        check_window(new.start, new.end, where, key, other)
    if checked:
        check_intervention_windows(new, where, "run")
    return new


def _check_int(data: dict, key: str, default: int | None, low: int, where: str,
               allowed: str) -> int:
    if key not in data:
        if default is None:
            raise input_error(where, key, "is missing", allowed)
        return default
    value = data[key]
    if not _is_int(value):
        raise input_error(where, key, f"must be a whole number, not {describe(value)}", allowed)
    if value < low:
        raise input_error(where, key, f"= {value} is below {low}", allowed)
    return int(value)


def _check_method(data: dict, where: str) -> tuple[str, str]:
    method = data.get("method")
    if method is None:
        raise input_error(where, "method", "is missing", ", ".join(METHODS))
    if not isinstance(method, str) or method not in METHODS:
        hint = suggest(method, METHODS) if isinstance(method, str) else ""
        raise input_error(where, "method", f"= {method!r} is not a method", ", ".join(METHODS),
                          hint)
    sampling = data.get("sampling")
    if sampling is None:
        return method, "latin" if method in GIVEN_DATA else method
    if method not in GIVEN_DATA:
        raise input_error(where, "sampling", f"cannot be set for method = {method!r} (it needs its "
                          "own design)", "sampling only with method = 'delta' or 'pawn'")
    if not isinstance(sampling, str) or sampling not in SAMPLINGS:
        hint = suggest(sampling, SAMPLINGS) if isinstance(sampling, str) else ""
        raise input_error(where, "sampling", f"= {sampling!r} is not a design",
                          ", ".join(SAMPLINGS), hint)
    return method, sampling


def _check_n(data: dict, sampling: str, where: str) -> int:
    if sampling == "sobol":
        allowed = "a power of two >= 2 (Sobol' sequences balance only at powers of two)"
    elif sampling == "morris":
        allowed = "an integer >= 2 (number of trajectories; 10 to 50 is usual)"
    elif sampling == "fast":
        allowed = f"an integer > {4 * FAST_M ** 2} (FAST needs n > 4 M^2 with M = {FAST_M})"
    else:
        allowed = f"an integer >= {MIN_GIVEN_DATA_POINTS} (hundreds are better)"
    low = {"sobol": 2, "morris": 2, "fast": 4 * FAST_M ** 2 + 1}.get(sampling,
                                                                     MIN_GIVEN_DATA_POINTS)
    n = _check_int(data, "n", None, low, where, allowed)
    if sampling == "sobol" and n & (n - 1):
        raise input_error(where, "n", f"= {n} is not a power of two", allowed)
    return n


def _intervention_field(name: str, scenario: Scenario, where: str
                        ) -> tuple[tuple[float, float], str, str]:
    """Bounds, unit and kind of ``interventions.<name>.<field>``, or a one-line error."""
    key = f"parameters.{name}"
    parts = name.split(".")
    names = [iv.name for iv in scenario.interventions]
    fields = " or ".join(f"interventions.<name>.{f}" for f in DESIGN_FIELDS)
    if len(parts) != 3 or parts[2] not in DESIGN_FIELDS:
        raise input_error(where, key, "is not an intervention setting", fields,
                          suggest(parts[-1], DESIGN_FIELDS) if len(parts) == 3 else "")
    iv = next((iv for iv in scenario.interventions if iv.name == parts[1]), None)
    if iv is None:
        raise input_error(where, key, f"names no intervention of scenario {scenario.name} "
                          f"({parts[1]!r})", ", ".join(names) or "the scenario has none",
                          suggest(parts[1], names))
    lever = LEVERS[iv.type]
    if not lever.households:
        raise input_error(where, key, f"varies a {iv.type} row, which has no {parts[2]}",
                          "the magnitude or uptake of a household intervention")
    if parts[2] == "uptake":
        return (0.0, 1.0), "share reached", "float"
    return lever.bounds, lever.unit, "float"


def _check_parameters(data: dict, where: str, scenario: Scenario) -> tuple[VariedParam, ...]:
    params = data.get("parameters")
    allowed = "a [parameters] table of name = {} or name = { bounds = [lo, hi] }"
    if params is None:
        raise input_error(where, "parameters", "is missing", allowed)
    if not isinstance(params, dict):
        raise input_error(where, "parameters", f"must be a table, not {describe(params)}", allowed)
    if not params:
        raise input_error(where, "parameters", "is empty", "at least one parameter to vary")
    out = []
    for name, spec in params.items():
        key = f"parameters.{name}"
        reg = None
        if name.startswith("interventions."):
            (rlo, rhi), unit, kind = _intervention_field(name, scenario, where)
        elif name not in REGISTRY:
            raise input_error(where, key, "is not a parameter", "a name listed by 'emigsim params'"
                              " or interventions.<name>.magnitude", suggest(name, REGISTRY))
        else:
            reg = REGISTRY[name]
            (rlo, rhi), unit, kind = reg.bounds, reg.unit, reg.kind
        if not isinstance(spec, dict):
            raise input_error(where, key, f"must be a table, not {describe(spec)}",
                              "{} for the registry bounds or { bounds = [lo, hi] }")
        for sub in spec:
            if sub not in _PARAM_KEYS:
                raise input_error(where, f"{key}.{sub}", "is not a parameter setting", "bounds",
                                  suggest(sub, _PARAM_KEYS))
        whole = kind in ("int", "year")
        b_allowed = (f"[lo, hi] with {rlo:g} <= lo < hi <= {rhi:g} ({unit})"
                     + (", whole numbers" if whole else ""))
        bounds = spec.get("bounds", [rlo, rhi])
        if not isinstance(bounds, list) or len(bounds) != 2 \
                or not all(_is_number(b) for b in bounds):
            raise input_error(where, f"{key}.bounds", f"must be two numbers, not {bounds!r}",
                              b_allowed)
        lo, hi = bounds
        if whole and (lo != int(lo) or hi != int(hi)):
            raise input_error(where, f"{key}.bounds", f"= {bounds} are not whole numbers "
                              f"({name} takes whole numbers)", b_allowed)
        if not lo < hi:
            raise input_error(where, f"{key}.bounds", f"= {bounds} has lo >= hi", b_allowed)
        if lo < rlo or hi > rhi:
            raise input_error(where, f"{key}.bounds", f"= {bounds} goes outside the registry "
                              f"bounds [{rlo:g}, {rhi:g}]", b_allowed)
        # {} samples the registry prior; own bounds, and intervention fields, are uniform
        registered = not name.startswith("interventions.")
        prior = reg.prior if registered and "bounds" not in spec else ("uniform",)
        out.append(VariedParam(name, float(lo), float(hi), kind, prior))
    return tuple(out)


def _known_groups() -> list[str]:
    from model.core.recorder import DESTINATIONS, Recorder

    return Recorder().groups + [f"destination={d}" for d in DESTINATIONS]


def _check_year_in(value: object, key: str, window: tuple[int, int], metric: str,
                   where: str) -> int:
    # Stocks are also recorded on 1 January after the last simulated year.
    last = window[1] + 1 if metric == "population" else window[1]
    allowed = f"an integer year from {window[0]} to {last} (the run window)"
    if not _is_int(value):
        raise input_error(where, key, f"must be a whole number, not {describe(value)}", allowed)
    if not window[0] <= value <= last:
        raise input_error(where, key, f"= {value} is outside the run window", allowed)
    return int(value)


def _check_outcomes(data: dict, window: tuple[int, int], params: tuple[VariedParam, ...],
                    where: str) -> tuple[Outcome, ...]:
    from model.core.recorder import METRICS

    outcomes = data.get("outcomes")
    allowed = "one or more [[outcomes]] tables with name, metric and year, years or per_year"
    if outcomes is None:
        raise input_error(where, "outcomes", "is missing", allowed)
    if not isinstance(outcomes, list) or not outcomes \
            or not all(isinstance(o, dict) for o in outcomes):
        raise input_error(where, "outcomes", f"must be [[outcomes]] tables, not {outcomes!r}",
                          allowed)
    groups = None
    out: list[Outcome] = []
    taken = set(_RESERVED) | {p.name for p in params}
    for i, spec in enumerate(outcomes, start=1):
        key = f"outcomes[{i}]"
        for sub in spec:
            if sub not in _OUTCOME_KEYS:
                raise input_error(where, f"{key}.{sub}", "is not an outcome setting",
                                  ", ".join(_OUTCOME_KEYS), suggest(sub, _OUTCOME_KEYS))
        name = spec.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise input_error(where, f"{key}.name", "is missing or not a plain name"
                              if name is None or isinstance(name, str)
                              else f"must be a string, not {describe(name)}",
                              "letters, digits and _ starting with a letter, e.g. emigrants_2018")
        if name in taken:
            raise input_error(where, f"{key}.name", f"= {name!r} is already used (by another "
                              "outcome, a varied parameter or a table column)", "a unique name")
        taken.add(name)
        metric = spec.get("metric")
        if not isinstance(metric, str) or metric not in METRICS:
            hint = suggest(metric, METRICS) if isinstance(metric, str) else ""
            raise input_error(where, f"{key}.metric", f"= {metric!r} is not a metric",
                              ", ".join(METRICS), hint)
        group = spec.get("group", "all")
        if not isinstance(group, str):
            raise input_error(where, f"{key}.group", f"must be a string, not {describe(group)}",
                              "a group such as all, age=16-62, region=Karaganda")
        if group != "all":
            groups = groups or _known_groups()
            if group not in groups:
                raise input_error(where, f"{key}.group", f"= {group!r} is not a group",
                                  "all, age=..., edu=..., region=..., ethnicity=..., "
                                  "destination=... (see a run's series.csv)",
                                  suggest(group, groups))
        per_year = spec.get("per_year", False)
        if not isinstance(per_year, bool):
            raise input_error(where, f"{key}.per_year", f"must be true or false, not "
                              f"{describe(per_year)}", "per_year = true")
        chosen = [k for k in ("year", "years") if k in spec] + (["per_year"] if per_year
                                                                else [])
        if len(chosen) != 1:
            problem = "sets none of" if not chosen else f"sets {' and '.join(chosen)}; use one of"
            raise input_error(where, key, f"{problem} year, years, per_year",
                              "exactly one of year = Y, years = [first, last], per_year = true")
        year = years = None
        if "year" in spec:
            year = _check_year_in(spec["year"], f"{key}.year", window, metric, where)
        if "years" in spec:
            value = spec["years"]
            if not isinstance(value, list) or len(value) != 2:
                raise input_error(where, f"{key}.years", f"must be [first, last], not {value!r}",
                                  f"two years within {window[0]}-{window[1]}")
            first = _check_year_in(value[0], f"{key}.years", window, metric, where)
            last = _check_year_in(value[1], f"{key}.years", window, metric, where)
            if first > last:
                raise input_error(where, f"{key}.years", f"= {value} has first > last",
                                  "[first, last] with first <= last")
            years = (first, last)
        aggregate = spec.get("aggregate", "sum")
        if "aggregate" in spec and years is None:
            raise input_error(where, f"{key}.aggregate", "applies only to years = [first, last]",
                              "aggregate together with years")
        if aggregate not in _AGGREGATES:
            raise input_error(where, f"{key}.aggregate", f"= {aggregate!r} is not an aggregate",
                              ", ".join(_AGGREGATES),
                              suggest(aggregate, _AGGREGATES) if isinstance(aggregate, str) else "")
        out.append(Outcome(name, metric, group, year, years, per_year, aggregate))
    return tuple(out)


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate an experiment file.

    Parameters
    ----------
    path : str or Path
        The TOML file; its ``scenario`` is resolved relative to its folder.

    Returns
    -------
    Experiment

    Raises
    ------
    ScenarioError
        One line ``<file>: key '<key>' <problem>; allowed: ...`` (with ``; did you mean
        'x'?`` for near misses) for: a missing or unreadable file, TOML syntax, unknown
        keys, a method not in :data:`METHODS`, ``n``/``replicates``/``seed`` of the wrong
        type or range (Sobol: ``n`` a power of two), a parameter not in the registry,
        bounds outside the registry's or with ``lo >= hi``, an unknown metric or group,
        outcome years outside the run window. Errors inside the scenario file name that
        file.

    Examples
    --------
    >>> load_experiment("no/such.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.scenario.ScenarioError: no/such.toml: file not found; allowed: ...
    """
    path = Path(path)
    where = str(path)
    data = read_toml(path, where, "experiment")
    check_top_keys(data, where, _TOP_KEYS, _TOP_ALLOWED, "an experiment setting",
                   "[parameters] (parameters.{key} = {{}})")
    name = check_text_keys(data, where, ("name", "description"), default_name=path.stem)
    method, sampling = _check_method(data, where)
    levels, second_order = 4, True
    if "levels" in data:
        if sampling != "morris":
            raise input_error(where, "levels", "applies only to Morris designs",
                              "levels with method = 'morris' (or sampling = 'morris')")
        levels = _check_int(data, "levels", 4, 2, where, "an even integer from 2 to 20")
        if levels % 2 or levels > 20:
            raise input_error(where, "levels", f"= {levels} is not an even number up to 20",
                              "an even integer from 2 to 20 (4 is usual)")
    if "second_order" in data:
        if sampling != "sobol":
            raise input_error(where, "second_order", "applies only to Sobol designs",
                              "second_order with method = 'sobol' (or sampling = 'sobol')")
        second_order = data["second_order"]
        if not isinstance(second_order, bool):
            raise input_error(where, "second_order", f"must be true or false, not "
                              f"{describe(second_order)}", "true or false")
    replicates = _check_int(data, "replicates", 1, 1, where, "an integer >= 1")
    seed = _check_int(data, "seed", 1, 0, where, "an integer >= 0")
    scenario = _check_run(data, _resolve_scenario(data, path, where), where)
    parameters = _check_parameters(data, where, scenario)
    n = _check_n(data, sampling, where)
    outcomes = _check_outcomes(data, (scenario.start, scenario.end), parameters, where)
    exp = Experiment(name=name, description=data.get("description", ""), scenario=scenario,
                     method=method, n=n, replicates=replicates, seed=seed,
                     parameters=parameters, outcomes=outcomes, sampling=sampling,
                     levels=levels, second_order=second_order, source=where)
    if method in GIVEN_DATA and exp.n_points < MIN_GIVEN_DATA_POINTS:
        raise input_error(where, "n", f"= {n} gives {exp.n_points} design points",
                          f"enough for at least {MIN_GIVEN_DATA_POINTS} points")
    return exp
