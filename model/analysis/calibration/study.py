"""Calibration study files: which parameters, which targets, how much simulation.

A study file is TOML (the shipped one is ``calibration/kz_2012_2018.toml``)::

    name = "kz_2012_2018"            # optional; default: the file name without .toml
    description = "..."              # optional
    scenario = "baseline"            # a shipped scenario name, or a path relative to the file
    targets_file = "targets/kz_2012_2018.csv"  # optional, relative to the file
    seed = 2026                      # fixes the whole calibration
    method = "emulation"             # or "abc-smc" (the default)
    [window]
    start = 2012                     # first and last simulated year
    end = 2018
    [simulation]
    scale = 50                       # real households per simulated household
    replicates = 1                   # runs per particle (their summaries are averaged)
    noise_runs = 20                  # runs at the scenario's values measuring the noise
    noise_in_kernel = true           # kernel variance = observation var + noise var
    discrepancy_level = 0.0          # model discrepancy sd of counts, balances and stocks,
                                     # as a fraction of the observed value (default 0)
    discrepancy_share = 0.0          # model discrepancy sd of shares, in share points
    [abc]
    population_size = 200            # particles per generation
    posterior_draws = 1000           # rows of posterior.csv (resampled from the last one)
    min_temperature = 1.0            # stop at temperature 1: the exact posterior
    max_generations = 12
    min_acceptance_rate = 0.005
    transition = "normal"            # pyABC's perturbation kernel: "normal" (one
                                     # multivariate normal) or "local" (each particle's
                                     # covariance from its nearest neighbours)
    [emulation]                      # method = "emulation" (model/analysis/calibration/
    waves = 3                        # emulation.py): waves of history matching,
    first_wave = 800                 # runs of wave 0 (a Latin hypercube over the prior)
    wave_size = 500                  # runs of each later wave
    cutoff = 3.0                     # implausibility ruled out (second-worst target)
    candidates = 20000               # candidate points a wave draws its runs from
    fit_points = 250                 # runs fitting each emulator's hyperparameters
    walkers = 64                     # emcee's ensemble
    steps = 3000                     # chain steps, of which
    burn = 1000                      # burn-in (below steps)
    [budget]
    max_walltime = 1800              # seconds
    max_total_simulations = 8000
    [quick]                          # what --quick replaces (same keys as [simulation],
    population_size = 16             # [abc] and [budget])
    [recovery]                       # `emigsim calibrate ... --recovery [N]`
    datasets = 10                    # synthetic datasets (default 10; N replaces it)
    population_size = 60             # the recovery's (reduced) budget: population_size,
    max_total_simulations = 600      # max_total_simulations, max_walltime,
                                     # max_generations, scale replace the study's values
    [parameters]                     # the free parameters: registry role "behaviour"
    asc_emigrate = "registry"        # the registry's prior on its bounds
    b_russian = ["normal", 4.0, 1.0] # or a prior of model.params.Prior on the bounds
    [targets]
    include = ["new_emigrants.count.all.*"]   # target ids or fnmatch patterns
    exclude = []

Only fitted rows that are not matched by construction may be selected (a pattern picks
those only; an exact id of another row is an error). Every problem raises
:class:`StudyError` (a :class:`model.scenario.ScenarioError`, so the CLI exits 2) with one
line naming the file, the key and what is allowed.

Examples
--------
>>> s = load_study(default_study_path())
>>> s.name, 8 <= len(s.free) <= 20, 20 <= len(s.target_ids) <= 40
('kz_2012_2018', True, True)
>>> q = s.quick()
>>> q.population_size < s.population_size
True
>>> s.recovery_datasets, s.recovery().population_size < s.population_size
(10, True)
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from model.analysis.calibration.emulation import EmulationSettings
from model.analysis.targets import Targets, TargetsError, default_targets_path, load_targets
from model.params import PRIORS, REGISTRY, Prior, suggest
from model.scenario import (
    FIRST_YEAR,
    LAST_YEAR,
    Scenario,
    ScenarioError,
    input_error,
    load_scenario,
    read_toml,
    shipped_scenarios_dir,
)

__all__ = ["Study", "StudyError", "load_study", "default_study_path", "SECTIONS",
           "RECOVERY_KEYS", "METHODS", "EMULATION_KEYS"]


_EMULATION = EmulationSettings()


class StudyError(ScenarioError):
    """A study file that cannot be used; one line naming the file, the key, what is allowed."""


def default_study_path() -> Path:
    """The shipped study, ``calibration/kz_2012_2018.toml``.

    Examples
    --------
    >>> default_study_path().name
    'kz_2012_2018.toml'
    """
    return Path(__file__).resolve().parents[3] / "calibration" / "kz_2012_2018.toml"


_TOP = ("name", "description", "scenario", "targets_file", "seed", "method", "window",
        "simulation", "abc", "emulation", "budget", "quick", "recovery", "parameters",
        "targets")
METHODS = ("abc-smc", "emulation")
"""Values of ``method``: ABC-SMC (:mod:`.engine`) or history matching with emulators and
MCMC on the emulated likelihood (:mod:`.emulation`)."""
_SETTINGS = {
    "window": {"start": "int", "end": "int"},
    "simulation": {"scale": "pos", "replicates": "count", "noise_runs": "count",
                   "noise_in_kernel": "bool", "discrepancy_level": "nonneg",
                   "discrepancy_share": "nonneg",
                   "prior_predictive_draws": "count", "posterior_predictive_draws": "count"},
    "abc": {"population_size": "count", "posterior_draws": "count",
            "min_temperature": "ge1", "max_generations": "count",
            "min_acceptance_rate": "rate", "transition": "transition"},
    "emulation": {"waves": "count", "first_wave": "count", "wave_size": "count",
                  "cutoff": "pos", "candidates": "count", "fit_points": "count",
                  "walkers": "count", "steps": "count", "burn": "int"},
    "budget": {"max_walltime": "pos", "max_total_simulations": "count"},
}
EMULATION_KEYS = tuple(_SETTINGS["emulation"])
"""Study fields of the emulation method (its ``[emulation]`` table)."""
SECTIONS = tuple(_SETTINGS)
"""Sections of plain settings (``[quick]`` takes any of their keys)."""
RECOVERY_KEYS = {"datasets": "count", "population_size": "count",
                 "max_total_simulations": "count", "max_walltime": "pos",
                 "max_generations": "count", "scale": "pos", "waves": "count",
                 "first_wave": "count", "wave_size": "count", "walkers": "count",
                 "steps": "count", "burn": "int"}
"""Keys of ``[recovery]``: the number of datasets and the budget it may reduce."""
_QUICK_DEFAULTS = {"population_size": 8, "posterior_draws": 200, "max_generations": 2,
                   "max_total_simulations": 250, "max_walltime": 45.0, "scale": 1000.0,
                   "noise_runs": 3, "prior_predictive_draws": 6,
                   "posterior_predictive_draws": 6, "waves": 2, "first_wave": 40,
                   "wave_size": 30, "candidates": 4000, "fit_points": 60, "walkers": 16,
                   "steps": 300, "burn": 100}


@dataclass(frozen=True)
class Study:
    """A resolved calibration study (see the module notes for the file format).

    A frozen dataclass: callers make reduced variants with :func:`dataclasses.replace`,
    e.g. ``replace(study, population_size=50, max_total_simulations=500)``.

    Examples
    --------
    >>> s = load_study(default_study_path())
    >>> s.priors["asc_emigrate"].describe(), s.scale
    ('uniform', 100.0)
    >>> import dataclasses
    >>> dataclasses.replace(s, population_size=50).population_size
    50
    """

    name: str
    scenario: Scenario
    free: tuple[str, ...]
    priors: Mapping[str, Prior]
    target_ids: tuple[str, ...]
    targets_path: str
    seed: int = 1
    start: int = FIRST_YEAR
    end: int = 2018
    scale: float = 50.0
    replicates: int = 1
    population_size: int = 200
    posterior_draws: int = 1000
    min_temperature: float = 1.0
    max_generations: int = 12
    min_acceptance_rate: float = 0.005
    transition: str = "normal"
    method: str = "abc-smc"
    # the [emulation] table: its defaults are EmulationSettings' (one place for them)
    waves: int = _EMULATION.waves
    first_wave: int = _EMULATION.first_wave
    wave_size: int = _EMULATION.wave_size
    cutoff: float = _EMULATION.cutoff
    candidates: int = _EMULATION.candidates
    fit_points: int = _EMULATION.fit_points
    walkers: int = _EMULATION.walkers
    steps: int = _EMULATION.steps
    burn: int = _EMULATION.burn
    max_walltime: float = 1800.0
    max_total_simulations: int = 8000
    noise_runs: int = 20
    noise_in_kernel: bool = True
    discrepancy_level: float = 0.0
    discrepancy_share: float = 0.0
    prior_predictive_draws: int = 100
    posterior_predictive_draws: int = 100
    description: str = ""
    source: str = ""
    quick_overrides: Mapping[str, float] = field(default_factory=dict)
    recovery_datasets: int = 10
    recovery_budget: Mapping[str, float] = field(default_factory=dict)

    def targets(self, target_ids=None) -> Targets:
        """The study's target rows (or those of ``target_ids``), in the study's order."""
        ids = self.target_ids if target_ids is None else tuple(target_ids)
        unknown = [i for i in ids if i not in self.target_ids]
        if unknown:
            raise ValueError(f"target {unknown[0]!r} is not a target of study {self.name!r}"
                             + suggest(unknown[0], self.target_ids))
        every = load_targets(self.targets_path)
        out = Targets({i: every[i] for i in ids})
        out.path = every.path
        return out

    def run_scenario(self, params: Mapping[str, float] | None = None) -> Scenario:
        """The scenario of one particle: the study's window and scale, ``params`` set."""
        sc = self.scenario.with_run(start=self.start, end=self.end, scale=self.scale)
        if params:
            sc = replace(sc, params={**sc.params, **{k: float(v) for k, v in params.items()}})
        return sc

    def prior_medians(self) -> dict[str, float]:
        """Each free parameter's prior median."""
        return {n: float(self.priors[n].ppf(0.5)) for n in self.free}

    def quick(self) -> Study:
        """The ``--quick`` variant: tiny population, few generations, coarse scale."""
        return self._with({**_QUICK_DEFAULTS, **self.quick_overrides})

    def recovery(self) -> Study:
        """The study each recovery dataset is calibrated with: the ``[recovery]`` budget."""
        return self._with(self.recovery_budget)

    def _with(self, over: Mapping[str, float]) -> Study:
        return replace(self, **{k: (v if isinstance(getattr(self, k), str) else
                                    int(v) if isinstance(getattr(self, k), int) else float(v))
                                for k, v in over.items()})


TRANSITIONS = ("normal", "local")
"""Values of ``[abc] transition``."""
_CHOICES = {"method": ("a calibration method", METHODS),
            "transition": ("a transition", TRANSITIONS)}


def _check_setting(value: object, kind: str, key: str, where: str):
    if kind in _CHOICES:
        what, allowed = _CHOICES[kind]
        if value not in allowed:
            raise input_error(where, key, f"= {value!r} is not {what}",
                              ", ".join(repr(a) for a in allowed), suggest(str(value), allowed))
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise input_error(where, key, f"= {value!r} is not a flag", "true or false")
        return value
    if kind == "int" or kind == "count":
        if isinstance(value, bool) or not isinstance(value, int):
            raise input_error(where, key, f"= {value!r} is not a whole number",
                              "a whole number" + (" >= 1" if kind == "count" else ""))
        if kind == "count" and value < 1:
            raise input_error(where, key, f"= {value} is below 1", "a whole number >= 1")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise input_error(where, key, f"= {value!r} is not a finite number", "a number")
    v = float(value)
    if kind == "nonneg" and v < 0:
        raise input_error(where, key, f"= {v:g} is negative", "a number >= 0")
    if kind == "pos" and not v > 0:
        raise input_error(where, key, f"= {v:g} is not positive", "a number > 0")
    if kind == "ge1" and v < 1:
        raise input_error(where, key, f"= {v:g} is below 1",
                          "a temperature >= 1 (1 is the exact posterior)")
    if kind == "rate" and not 0 <= v < 1:
        raise input_error(where, key, f"= {v:g} is not a rate", "a number from 0 to below 1")
    return v


def _table(data: dict, key: str, where: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise input_error(where, key, f"is a {type(value).__name__}, not a table",
                          f"a [{key}] table")
    return value


def _settings(data: dict, where: str) -> dict:
    out: dict = {}
    for section, keys in _SETTINGS.items():
        table = _table(data, section, where)
        for key, value in table.items():
            if key not in keys:
                raise input_error(where, f"{section}.{key}", f"is not a [{section}] setting",
                                  ", ".join(keys), suggest(key, keys))
            out[key] = _check_setting(value, keys[key], f"{section}.{key}", where)
    return out


def _quick(data: dict, where: str) -> dict:
    table = _table(data, "quick", where)
    kinds = {k: v for keys in _SETTINGS.values() for k, v in keys.items()}
    out = {}
    for key, value in table.items():
        if key not in kinds or key in ("start", "end"):
            allowed = [k for k in kinds if k not in ("start", "end")]
            raise input_error(where, f"quick.{key}", "is not a setting --quick can replace",
                              ", ".join(allowed), suggest(key, allowed))
        out[key] = _check_setting(value, kinds[key], f"quick.{key}", where)
    return out


def _recovery(data: dict, where: str) -> dict:
    table = _table(data, "recovery", where)
    out = {}
    for key, value in table.items():
        if key not in RECOVERY_KEYS:
            raise input_error(where, f"recovery.{key}", "is not a [recovery] setting",
                              ", ".join(RECOVERY_KEYS), suggest(key, RECOVERY_KEYS))
        out[key] = _check_setting(value, RECOVERY_KEYS[key], f"recovery.{key}", where)
    return out


def _prior(name: str, value: object, where: str) -> Prior:
    key = f"parameters.{name}"
    p = REGISTRY[name]
    if value == "registry":
        return p.prior_dist()
    allowed = ('"registry" or a prior on the bounds '
               f"[{p.bounds[0]:g}, {p.bounds[1]:g}]: ['uniform'], ['normal', mu, sigma], "
               "['beta', a, b] or ['triangular', mode]")
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise input_error(where, key, f"= {value!r} is not a prior", allowed)
    if value[0] not in PRIORS:
        raise input_error(where, key, f"has prior family {value[0]!r}", allowed,
                          suggest(value[0], PRIORS))
    try:
        return Prior(tuple(value), float(p.bounds[0]), float(p.bounds[1]))
    except (ValueError, TypeError) as exc:
        raise input_error(where, key, f"= {value!r} is not a valid prior ({exc})",
                          allowed) from None


def _parameters(data: dict, where: str) -> tuple[tuple[str, ...], dict[str, Prior]]:
    table = _table(data, "parameters", where)
    behaviour = [n for n, p in REGISTRY.items() if p.role == "behaviour" and p.kind != "int"]
    if not table:
        raise input_error(where, "parameters", "names no free parameter",
                          "a [parameters] table with behaviour parameters, e.g. "
                          "asc_emigrate = \"registry\"")
    priors = {}
    for name, value in table.items():
        key = f"parameters.{name}"
        if name not in REGISTRY:
            raise input_error(where, key, "is not a parameter",
                              "a behaviour parameter listed by 'emigsim params --role "
                              "behaviour'", suggest(name, behaviour))
        p = REGISTRY[name]
        if p.role != "behaviour":
            raise input_error(where, key, f"has role {p.role!r}, which is not calibrated",
                              "a parameter of role 'behaviour'")
        if p.kind == "int":
            raise input_error(where, key, "is a whole number, which ABC-SMC's continuous "
                              "kernels cannot move", "a real-valued behaviour parameter")
        priors[name] = _prior(name, value, where)
    return tuple(priors), priors


def _targets(data: dict, where: str, targets: Targets, start: int, end: int
             ) -> tuple[str, ...]:
    table = _table(data, "targets", where)
    for key in table:
        if key not in ("include", "exclude"):
            raise input_error(where, f"targets.{key}", "is not a [targets] setting",
                              "include, exclude", suggest(key, ("include", "exclude")))
    lists = {}
    for key in ("include", "exclude"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise input_error(where, f"targets.{key}", f"= {value!r} is not a list of text",
                              "a list of target ids or fnmatch patterns (* and ?)")
        lists[key] = value
    if not lists["include"]:
        raise input_error(where, "targets.include", "selects no target",
                          "a list of target ids or patterns of "
                          f"{targets.path}")
    counted = [t.target_id for t in targets.counted()]
    chosen: list[str] = []
    for key in ("include", "exclude"):
        for pattern in lists[key]:
            if any(c in pattern for c in "*?["):
                hits = fnmatch.filter(counted, pattern)
            elif pattern in counted:
                hits = [pattern]
            elif pattern in targets:
                raise input_error(where, f"targets.{key}", f"names {pattern!r}, which is not "
                                  "fitted or is matched by construction",
                                  "a row with fitted = true and by_construction = false")
            else:
                hits = []
            if not hits:
                raise input_error(where, f"targets.{key}", f"= {pattern!r} matches no "
                                  f"fitted target of {targets.path}",
                                  "a target id or pattern", suggest(pattern, counted))
            if key == "include":
                chosen += [h for h in hits if h not in chosen]
            else:
                chosen = [c for c in chosen if c not in hits]
    for tid in chosen:
        years = targets[tid].years
        if min(years) < start or max(years) > end:
            raise input_error(where, "targets.include", f"selects {tid!r}, outside the "
                              f"window {start}-{end}", "targets whose years lie in [window]")
    if not chosen:
        raise input_error(where, "targets", "selects no target after exclude",
                          "at least one fitted target")
    return tuple(chosen)


def _scenario(value: object, base: Path, where: str) -> Scenario:
    if not isinstance(value, str) or not value.strip():
        raise input_error(where, "scenario", f"= {value!r} is not a scenario",
                          "a shipped scenario name (e.g. \"baseline\") or a path")
    path = (base / value) if value.endswith(".toml") else shipped_scenarios_dir() / f"{value}.toml"
    if not value.endswith(".toml") and not path.exists():
        names = sorted(p.stem for p in shipped_scenarios_dir().glob("*.toml"))
        raise input_error(where, "scenario", f"= {value!r} is not a shipped scenario",
                          ", ".join(names) + " or a path ending in .toml", suggest(value, names))
    return load_scenario(path)


def load_study(path: str | Path) -> Study:
    r"""Read and check a study file.

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    Study

    Raises
    ------
    StudyError
        One line naming the file, the key and what is allowed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
    >>> _ = f.write_text('[parameters]\nasc_emigrat = "registry"\n')
    >>> try:
    ...     load_study(f)
    ... except StudyError as exc:
    ...     print(str(exc).split("s.toml: ")[1])  # doctest: +ELLIPSIS
    key 'parameters.asc_emigrat' is not a parameter; allowed: ...; did you mean 'asc_emigrate'?
    """
    path = Path(path)
    where = str(path)
    try:
        data = read_toml(path, where, kind="study")
    except ScenarioError as exc:
        raise StudyError(str(exc)) from None
    try:
        for key in data:
            if key not in _TOP:
                hint = suggest(key, _TOP)
                for section, keys in _SETTINGS.items():
                    if key in keys:
                        hint = f"; did you mean to put it under [{section}]?"
                if key in REGISTRY:
                    hint = "; did you mean to put it under [parameters]?"
                raise input_error(where, key, "is not a study setting", ", ".join(_TOP), hint)
        for key in ("name", "description", "targets_file"):
            if key in data and not isinstance(data[key], str):
                raise input_error(where, key, f"= {data[key]!r} is not text", "a string")
        seed = _check_setting(data.get("seed", 1), "int", "seed", where)
        if seed < 0:
            raise input_error(where, "seed", f"= {seed} is negative", "a whole number >= 0")
        settings = _settings(data, where)
        if "method" in data:
            settings["method"] = _check_setting(data["method"], "method", "method", where)
        if settings.get("burn", 0) < 0:
            raise input_error(where, "emulation.burn", f"= {settings['burn']} is negative",
                              "a whole number >= 0, below steps")
        if settings.get("burn", 1000) >= settings.get("steps", 3000):
            raise input_error(where, "emulation.burn", f"= {settings.get('burn', 1000)} is "
                              f"not below steps = {settings.get('steps', 3000)}",
                              "a whole number >= 0, below steps")
        start, end = settings.pop("start", FIRST_YEAR), settings.pop("end", 2018)
        if not FIRST_YEAR <= start <= end <= LAST_YEAR:
            raise input_error(where, "window", f"= {start}-{end} is not a window",
                              f"{FIRST_YEAR} <= start <= end <= {LAST_YEAR}")
        tfile = data.get("targets_file")
        tpath = (path.parent / tfile) if tfile else default_targets_path()
        try:
            targets = load_targets(tpath)
        except TargetsError as exc:
            raise input_error(where, "targets_file", f"= {tfile!r} cannot be used ({exc})",
                              "a targets CSV (calibration/targets/README.md)") from None
        scenario = _scenario(data.get("scenario", "baseline"), path.parent, where)
        free, priors = _parameters(data, where)
        target_ids = _targets(data, where, targets, start, end)
        quick = _quick(data, where)
        recovery = _recovery(data, where)
    except ScenarioError as exc:
        if isinstance(exc, StudyError):
            raise
        raise StudyError(str(exc)) from None
    return Study(name=data.get("name", path.stem), scenario=scenario, free=free,
                 priors=priors, target_ids=target_ids, targets_path=str(targets.path),
                 seed=seed, start=start, end=end, description=data.get("description", ""),
                 source=str(path), quick_overrides=quick,
                 recovery_datasets=int(recovery.pop("datasets", 10)),
                 recovery_budget=recovery, **settings)
