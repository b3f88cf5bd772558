"""Scenarios: a resolved set of parameters plus the run window and scale.

A scenario file is TOML. ``extends = "baseline.toml"`` (relative to the file) inherits
another file; keys set here override it. The whole format::

    name = "baseline"            # optional; default: the file name without .toml
    description = "..."          # optional; not inherited
    extends = "baseline.toml"    # optional; chains allowed, cycles are an error
    [run]                        # optional; a child's values override its parent's
    start = 2012                 # first recorded year, 2012 <= start <= end <= 2050
    end = 2018                   # last simulated year (inclusive)
    scale = 50                   # real households per simulated household (> 0)
    [params]                     # any name from model.params.REGISTRY
    b_compatriot = 0.0
    [[interventions]]            # optional, any number; a child adds to its parents'
    type = "utility_shift"       # the row format: model/interventions/rows.py
    alternative = "emigrate"
    magnitude = -0.5
    start = 2013
    end = 2016
    [drivers]                    # optional; after a series' last data year (model.drivers)
    ladder = { projection = "trend", years = 5 }
    immigrants = { projection = "path", values = { 2025 = 15000 } }

Every problem raises :class:`ScenarioError` with one line naming the file and the key,
what is wrong and what is allowed, e.g.
``scenarios/x.toml: key 'params.age_pek' is not a parameter; allowed: a name listed by
'emigsim params'; did you mean 'age_peak'?``

Examples
--------
>>> from model.scenario import Scenario
>>> s = Scenario()
>>> (s.start, s.end)
(2012, 2018)
"""

from __future__ import annotations

import math
import os
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from model.drivers import DRIVERS, HORIZON, DriverError, Projection, parse_drivers
from model.interventions import (
    Intervention,
    InterventionError,
    parse_intervention,
    unreachable_in_2012,
)
from model.params import REGISTRY, ParamError, defaults, describe, suggest, validate_params

__all__ = ["Scenario", "ScenarioError", "DEFAULT_SCALE", "FIRST_YEAR", "LAST_YEAR", "load_scenario",
           "check_year", "check_scale", "check_window", "check_intervention_windows",
           "shipped_scenarios_dir",
           "check_top_keys", "check_text_keys", "describe"]

FIRST_YEAR = 2012
"""Year of the synthetic population (1 January)."""
LAST_YEAR = HORIZON
"""Last year a run may reach (the drivers are projected to it)."""
DEFAULT_SCALE = 50.0
"""Real households per simulated household when neither file nor CLI sets a scale."""


class ScenarioError(ValueError):
    """A scenario or experiment file is invalid; the message is one line naming file and key."""


@dataclass(frozen=True)
class Scenario:
    """A fully resolved scenario.

    Parameters
    ----------
    name : str
        Short name, used in the ``scenario`` column of results.
    description : str
        One or two sentences for people.
    params : dict
        The full parameter set (defaults updated with the file's overrides).
    overrides : dict
        Only what the file (and the files it extends) set.
    start, end : int
        First and last simulated calendar year (inclusive). The population is built on
        1 January 2012; a later ``start`` simulates from 2012 and records from ``start``.
    scale : float
        Real households represented by one simulated household (1 = full population).
    source : str or None
        Path of the file it was loaded from.
    interventions : tuple of Intervention
        The ``[[interventions]]`` rows of the file and the files it extends (parents'
        first), validated (:mod:`model.interventions`).
    drivers : dict of str to Projection
        The ``[drivers]`` rows of the chain (a child's row of a driver replaces its
        parent's): how each named series continues after its last data year
        (:mod:`model.drivers`). Drivers not named hold their last observed value.

    Examples
    --------
    >>> Scenario(name="x", scale=100).with_run(end=2020).end
    2020
    """

    name: str = "baseline"
    description: str = ""
    params: dict = field(default_factory=defaults)
    overrides: dict = field(default_factory=dict)
    start: int = FIRST_YEAR
    end: int = 2018
    scale: float = DEFAULT_SCALE
    source: str | None = None
    interventions: tuple[Intervention, ...] = ()
    drivers: dict[str, Projection] = field(default_factory=dict)

    def with_run(self, *, start: int | None = None, end: int | None = None,
                 scale: float | None = None) -> Scenario:
        """Return a copy with the run window or scale replaced where given."""
        return replace(self, start=self.start if start is None else int(start),
                       end=self.end if end is None else int(end),
                       scale=self.scale if scale is None else float(scale))

    def resolved(self) -> dict:
        """Return a JSON-ready dict of everything that defines the scenario.

        ``drivers`` is there only when some driver's projection is not its default: the
        resolved scenario feeds the run id (:func:`model.runs.batch.make_run_id`), and a
        scenario that projects nothing differently must keep the id (and the stored runs)
        it had before drivers existed.

        Examples
        --------
        >>> "drivers" in Scenario().resolved()
        False
        >>> Scenario(drivers={"ladder": Projection("trend", years=4)}).resolved()["drivers"]
        {'ladder': {'projection': 'trend', 'years': 4}}
        """
        out = {"name": self.name, "description": self.description, "source": self.source,
               "start": self.start, "end": self.end, "scale": self.scale,
               "overrides": dict(self.overrides), "params": dict(self.params),
               "interventions": [iv.resolved() for iv in self.interventions]}
        drivers = {n: p.resolved() for n, p in sorted(self.drivers.items())
                   if p != DRIVERS[n].default}
        if drivers:
            out["drivers"] = drivers
        return out


_TOP_KEYS = ("name", "description", "extends", "run", "params", "interventions", "drivers")
_RUN_KEYS = ("start", "end", "scale")
_TOP_ALLOWED = "name, description, extends, [run], [params], [[interventions]], [drivers]"


def shipped_scenarios_dir() -> Path:
    """Return the ``scenarios/`` folder shipped next to the ``model`` package.

    Examples
    --------
    >>> shipped_scenarios_dir().name
    'scenarios'
    """
    return Path(__file__).resolve().parent.parent / "scenarios"


def input_error(where: str, key: str | None, problem: str, allowed: str,
                hint: str = "") -> ScenarioError:
    """Build the one-line error of an input file (scenario or experiment).

    Newlines inside values would break the one-line contract, so they are folded.

    Examples
    --------
    >>> str(input_error("a.toml", "run.end", "= 3000 is too late", "2012-2050"))
    "a.toml: key 'run.end' = 3000 is too late; allowed: 2012-2050"
    """
    head = f"{where}: key '{key}' {problem}" if key is not None else f"{where}: {problem}"
    return ScenarioError(" ".join(f"{head}; allowed: {allowed}{hint}".splitlines()))


def check_year(value: object, key: str, where: str) -> int:
    """Return ``value`` as a run year, or raise :class:`ScenarioError`.

    Parameters
    ----------
    value : object
        Candidate year; must be an integer (not a bool or float) in
        ``FIRST_YEAR..LAST_YEAR``.
    key : str
        Name shown in the message, e.g. ``"run.start"`` or ``"--start"``.
    where : str
        File (or ``"command line"``) shown in front of the message.

    Returns
    -------
    int
        The year.

    Raises
    ------
    ScenarioError
        One line naming ``where`` and ``key``.

    Examples
    --------
    >>> check_year(2015, "run.end", "x.toml")
    2015
    >>> check_year(2051, "run.end", "x.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.scenario.ScenarioError: x.toml: key 'run.end' = 2051 is outside the modelled years; ...
    """
    allowed = f"an integer year from {FIRST_YEAR} to {LAST_YEAR}"
    # bool is an int subclass; `start = true` is a typo, not the year 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise input_error(where, key, f"must be a whole number, not {describe(value)}", allowed)
    if not FIRST_YEAR <= value <= LAST_YEAR:
        raise input_error(where, key, f"= {value} is outside the modelled years", allowed)
    return int(value)


PEAK_BYTES_PER_PERSON = 220
"""Peak memory per simulated person of one run, measured: the national run 2012-2035
(16.67 million persons at scale 1) peaked at 3,465 MB (benchmarks/README.md), about 208
bytes a person; 220 leaves room for growth to 2050."""


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume the 24 GiB dev machine
        return 24 * 2**30


@cache
def usable_scale_range() -> tuple[float, float]:
    """The scales at which a run is meaningful and fits in this machine's memory.

    Above the upper bound the smallest region (Atyrau, 542,959 persons in 2012) has no
    simulated person left, and every figure of it would be zero; below the lower bound one
    run's persons would need more than 80% of the physical memory.

    Examples
    --------
    >>> lo, hi = usable_scale_range()
    >>> lo < 1 < 50 < hi
    True
    """
    from model import datasets

    region = datasets.population_by_region(2012)
    # rint(persons / scale) >= 1 in every region; at exactly 0.5 rint rounds to even (0)
    hi = float(math.floor(2 * float(region.min())) - 1)
    lo = float(region.sum()) * PEAK_BYTES_PER_PERSON / (0.8 * _physical_memory())
    return round(lo, 3), hi


def check_scale(value: object, key: str, where: str) -> float:
    """Return ``value`` as a scale (real households per simulated one), or raise.

    Examples
    --------
    >>> check_scale(100, "run.scale", "x.toml")
    100.0
    >>> check_scale(0, "run.scale", "x.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.scenario.ScenarioError: x.toml: key 'run.scale' = 0 must be greater than 0; ...
    """
    allowed = "a number > 0 (1 = full population)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise input_error(where, key, f"must be a number, not {describe(value)}", allowed)
    # TOML accepts inf and nan; neither gives a usable population.
    if not math.isfinite(value):
        raise input_error(where, key, f"= {value} is not finite", allowed)
    if value <= 0:
        raise input_error(where, key, f"= {value:g} must be greater than 0", allowed)
    lo, hi = usable_scale_range()
    from model import datasets

    allowed = f"a scale from {lo:g} to {hi:,.0f} (1 = full population)"
    if value > hi:
        raise input_error(where, key, f"= {value:g} leaves a region without any simulated "
                          "person (all its results would be zero)", allowed)
    if value < lo:
        persons = float(datasets.population_by_region(2012).sum())
        need = persons / value * PEAK_BYTES_PER_PERSON / 2**30
        raise input_error(where, key, f"= {value:g} needs about {need:,.0f} GiB for one run, "
                          f"more than this machine's memory allows", allowed)
    return float(value)


def check_window(start: int, end: int, where: str, key: str = "run.start",
                 other: str = "run.end") -> None:
    """Raise :class:`ScenarioError` unless ``start <= end``.

    ``key`` names the value to blame (the one the user set last) and ``other`` the one it
    is compared with; each may be the start or the end.

    Examples
    --------
    >>> check_window(2012, 2018, "x.toml")
    >>> check_window(2019, 2018, "x.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.scenario.ScenarioError: x.toml: key 'run.start' = 2019 is after run.end = 2018; ...
    """
    if start <= end:
        return
    if key.endswith("end"):
        problem = f"= {end} is before {other} = {start}"
    else:
        problem = f"= {start} is after {other} = {end}"
    raise input_error(where, key, problem, "start <= end")


@dataclass
class _Layer:
    """What one file in an extends chain contributes (already validated)."""

    where: str
    name: str | None
    description: str | None
    run: dict
    params: dict
    interventions: list = field(default_factory=list)  # (row number, raw row) pairs
    drivers: dict = field(default_factory=dict)  # name -> Projection


def check_run_table(run: object, where: str) -> dict:
    """Validate a ``[run]`` table (start, end, scale) and return the checked values.

    Examples
    --------
    >>> check_run_table({"end": 2020, "scale": 10}, "a.toml")
    {'end': 2020, 'scale': 10.0}
    """
    if not isinstance(run, dict):
        raise input_error(where, "run", f"must be a table, not {describe(run)}",
                          "a [run] table with start, end, scale")
    checked: dict = {}
    for key, value in run.items():
        if key not in _RUN_KEYS:
            raise input_error(where, f"run.{key}", "is not a run setting",
                              ", ".join(_RUN_KEYS), suggest(key, _RUN_KEYS))
        check = check_scale if key == "scale" else check_year
        checked[key] = check(value, f"run.{key}", where)
    return checked


MAX_DEPTH = 8
"""Deepest nesting of tables and arrays an input file may use (ours need 3)."""

MAX_INT = 2**53
"""Largest integer magnitude accepted anywhere in an input file (exact in float64)."""

_BOM = b"\xef\xbb\xbf"


def read_toml(path: Path, where: str, kind: str = "scenario") -> dict:
    """Parse a TOML input file, turning every failure into a one-line :class:`ScenarioError`.

    Beyond TOML syntax it refuses what no input of ours needs and what would otherwise
    surface later as a traceback: a UTF-8 byte-order mark (named as such), nesting deeper
    than :data:`MAX_DEPTH`, and integers beyond :data:`MAX_INT` (hundreds of digits).

    Examples
    --------
    >>> try:
    ...     read_toml(Path("no/such.toml"), "no/such.toml")
    ... except ScenarioError as exc:
    ...     print(exc)
    no/such.toml: file not found; allowed: a readable scenario TOML file
    """
    allowed = f"a readable {kind} TOML file"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise input_error(where, None, "file not found", allowed) from None
    except IsADirectoryError:
        raise input_error(where, None, "is a folder, not a file", allowed) from None
    except OSError as exc:
        raise input_error(where, None, f"cannot be read ({exc.strerror})", allowed) from None
    if raw.startswith(_BOM):
        raise input_error(where, None, "starts with a UTF-8 byte-order mark (BOM)",
                          "UTF-8 without a byte-order mark (save as 'UTF-8', not 'UTF-8 "
                          "with BOM')")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise input_error(where, None, "is not UTF-8 text", "a UTF-8 encoded TOML file") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise input_error(where, None, f"is not valid TOML ({exc})",
                          "TOML syntax, see https://toml.io") from None
    except RecursionError:
        raise input_error(where, None, "nests tables or arrays too deeply to read",
                          f"at most {MAX_DEPTH} levels of tables and arrays") from None
    except ValueError as exc:  # an integer longer than Python converts (4300 digits)
        raise input_error(where, None, f"holds a number too long to read ({exc})",
                          f"integers of at most {MAX_INT:,} in magnitude") from None
    _check_sizes(data, where)
    return data


def _check_sizes(data: dict, where: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH and integers beyond MAX_INT, naming the key.

    Walks with an explicit stack, so a deep file cannot exhaust Python's recursion.
    """
    stack: list[tuple[str, object, int]] = [(k, v, 1) for k, v in data.items()]
    while stack:
        key, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise input_error(where, key, f"nests {depth} levels deep",
                              f"at most {MAX_DEPTH} levels of tables and arrays")
        if isinstance(value, dict):
            stack += [(f"{key}.{k}", v, depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(f"{key}[{i}]", v, depth + 1) for i, v in enumerate(value)]
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            digits = len(str(abs(value)))
            raise input_error(where, key, f"is an integer of {digits} digits",
                              f"integers of at most {MAX_INT:,} in magnitude")


def _param_error(where: str, exc: ParamError) -> ScenarioError:
    if exc.key not in REGISTRY:
        # Suggest the bare name: that is what the user types inside [params].
        return input_error(where, f"params.{exc.key}", "is not a parameter",
                           "a name listed by 'emigsim params'", suggest(exc.key, REGISTRY))
    allowed = exc.allowed.removeprefix("allowed: ")
    return input_error(where, f"params.{exc.key}", exc.problem, allowed)


def check_top_keys(data: dict, where: str, keys: tuple[str, ...], allowed: str, what: str,
                   params_hint: str) -> None:
    """Raise for a top-level key of an input file that is not one of ``keys``.

    A parameter or run key at top level usually means a forgotten section header, so the
    message says where it belongs (``params_hint`` with ``{key}``, or ``[run]``); other
    keys get a "did you mean".

    Examples
    --------
    >>> check_top_keys({"end": 2015}, "x.toml", _TOP_KEYS, _TOP_ALLOWED, "a scenario setting",
    ...                "[params] (params.{key})")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.scenario.ScenarioError: x.toml: key 'end' is not a scenario setting; ...
    """
    for key in data:
        if key in keys:
            continue
        if key in REGISTRY:
            hint = f"; did you mean to put it under {params_hint.format(key=key)}?"
        elif key in _RUN_KEYS:
            hint = f"; did you mean to put it under [run] (run.{key})?"
        else:
            hint = suggest(key, keys)
        raise input_error(where, key, f"is not {what}", allowed, hint)


def check_text(value: str, key: str, where: str, *, multiline: bool = False) -> str:
    r"""Refuse control characters in a name, label or description; return the text.

    A carriage return or NUL in a scenario name ends up inside ``series.csv`` and splits
    its rows when read back, so names and labels take printable characters only;
    descriptions may also hold line breaks and tabs (``multiline=True``).

    Examples
    --------
    >>> check_text("north_youth", "name", "x.toml")
    'north_youth'
    >>> check_text("a\rb", "name", "x.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.scenario.ScenarioError: x.toml: key 'name' = 'a\rb' holds a control character ...
    """
    allowed_ws = "\n\t" if multiline else ""
    bad = [c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
           and c not in allowed_ws]
    if bad:
        what = "printable text, line breaks and tabs" if multiline else "printable one-line text"
        raise input_error(where, key, f"= {value!r} holds a control character "
                          f"({', '.join(sorted({repr(c) for c in bad}))})",
                          f"{what}, no control characters")
    return value


def check_text_keys(data: dict, where: str, keys: tuple[str, ...],
                    default_name: str | None = None) -> str | None:
    r"""Raise unless each of ``keys`` present is a string and the name a non-empty line.

    Names and paths take printable one-line text; ``description`` may span lines (see
    :func:`check_text`). Returns the name: ``data["name"]``, else ``default_name``.

    Examples
    --------
    >>> check_text_keys({"name": "a\nb"}, "x.toml", ("name",))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.scenario.ScenarioError: x.toml: key 'name' = 'a\nb' is empty or spans lines; ...
    """
    for key in keys:
        if key in data and not isinstance(data[key], str):
            raise input_error(where, key, f"must be a string, not {describe(data[key])}",
                              "a quoted string")
    name = data.get("name", default_name)
    if name is not None and (not name.strip() or "\n" in name):
        raise input_error(where, "name", f"= {name!r} is empty or spans lines",
                          "a non-empty one-line string")
    for key in keys:
        if key in data:
            check_text(data[key], key, where, multiline=key == "description")
    return name


def _check_layer(data: dict, where: str) -> _Layer:
    check_top_keys(data, where, _TOP_KEYS, _TOP_ALLOWED, "a scenario setting",
                   "[params] (params.{key})")
    name = check_text_keys(data, where, ("name", "description", "extends"))

    checked_run = check_run_table(data.get("run", {}), where)
    if "start" in checked_run and "end" in checked_run:
        check_window(checked_run["start"], checked_run["end"], where)

    params = data.get("params", {})
    if not isinstance(params, dict):
        raise input_error(where, "params", f"must be a table, not {describe(params)}",
                          "a [params] table of name = value")
    try:
        values = validate_params(params)
    except ParamError as exc:
        raise _param_error(where, exc) from None
    rows = data.get("interventions", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise input_error(where, "interventions", f"must be [[interventions]] tables, not "
                          f"{describe(rows)}", "[[interventions]] tables with type, start, "
                          "end, ... (see the README's Interventions section)")
    for i, row in enumerate(rows, start=1):
        _intervention(row, None, where, i)  # report a bad row before reading the parents
    try:
        drivers = parse_drivers(data.get("drivers", {}))
    except DriverError as exc:
        key = "drivers" + (f".{exc.key}" if exc.key else "")
        raise input_error(where, key, exc.problem, exc.allowed, exc.hint) from None
    # Keep the coerced values (ints for int/year parameters), not the raw TOML ones.
    return _Layer(where, name, data.get("description"), checked_run,
                  {key: values[key] for key in params}, list(enumerate(rows, start=1)),
                  drivers)


def _intervention(row: dict, default_name: str | None, where: str, i: int) -> Intervention:
    try:
        return parse_intervention(row, default_name)
    except InterventionError as exc:
        key = f"interventions[{i}]" + (f".{exc.key}" if exc.key else "")
        raise input_error(where, key, exc.problem, exc.allowed, exc.hint) from None


def check_intervention_windows(scenario: Scenario, where: str, key: str) -> None:
    """Raise unless every intervention window lies inside the scenario's run window.

    For a run window changed after the file was read (``--start``/``--end``, an
    experiment's ``[run]``); ``key`` names what changed it. A window cut by the run would
    act for fewer years than its file says, silently.

    Examples
    --------
    >>> check_intervention_windows(Scenario(end=2015), "command line", "--end")
    """
    for iv in scenario.interventions:
        if iv.start < scenario.start or iv.end > scenario.end:
            raise input_error(where, key, f"makes the run {scenario.start}-{scenario.end}, "
                              f"which does not contain intervention {iv.name!r} "
                              f"({iv.start}-{iv.end})",
                              f"a run window containing {iv.start}-{iv.end}, or a scenario "
                              "without that intervention")


def _resolve_interventions(layers: list[_Layer], start: int, end: int,
                           params: dict) -> tuple[Intervention, ...]:
    """The chain's interventions, parents' first, with the checks that need the whole chain.

    A row without a name is called ``<type>_<position in the chain's list>``; names must be
    unique (they name the uptake stream and the output group); the window must lie inside
    the run; the target must be able to match a 2012 household; two context rows must not
    set one switch both on and off in the same year.
    """
    out: list[Intervention] = []
    seen: dict[str, str] = {}
    for layer in layers:
        for i, row in layer.interventions:
            where, key = layer.where, f"interventions[{i}]"
            iv = _intervention(row, f"{row.get('type')}_{len(out) + 1}", where, i)
            if iv.name in seen:
                raise input_error(where, f"{key}.name", f"= {iv.name!r} is already used by "
                                  f"{seen[iv.name]}", "a name unique across the extends chain")
            seen[iv.name] = f"{key} of {where}"
            run = f"the run {start}-{end}"
            if iv.start < start:
                raise input_error(where, f"{key}.start", f"= {iv.start} is before the run "
                                  f"starts ({start})", f"a window inside {run}")
            if iv.end > end:
                raise input_error(where, f"{key}.end", f"= {iv.end} is after the run ends "
                                  f"({end})", f"a window inside {run}")
            why = unreachable_in_2012(iv.target, params)
            if why is not None:
                raise input_error(where, f"{key}.target", f"matches no household in the "
                                  f"2012 population: {why}",
                                  "a target some household of the 2012 population meets")
            for other in out:
                if other.switch is not None and other.switch == iv.switch \
                        and other.on != iv.on and other.start <= iv.end \
                        and iv.start <= other.end:
                    raise input_error(where, f"{key}.on", f"sets {iv.switch} "
                                      f"{'on' if iv.on else 'off'} in years that "
                                      f"{seen[other.name]} sets it "
                                      f"{'on' if other.on else 'off'}",
                                      "windows of opposite settings of a switch that do "
                                      "not overlap")
            out.append(iv)
    return tuple(out)


def _load_chain(path: Path, where: str, seen: list[tuple[Path, str]]) -> list[_Layer]:
    """Return the layers of ``path`` and its ancestors, most basic first."""
    data = read_toml(path, where)
    layer = _check_layer(data, where)
    data_extends = data.get("extends")
    if data_extends is None:
        return [layer]
    if not data_extends.strip():
        raise input_error(where, "extends", "is empty", "a path to another scenario file, "
                          "relative to this file's folder")
    target = Path(data_extends)
    parent = target if target.is_absolute() else path.parent / target
    chain = [*seen, (path.resolve(), where)]
    if parent.resolve() in [p for p, _ in chain]:
        loop = " -> ".join([w for _, w in chain] + [str(parent)])
        raise input_error(where, "extends", f"= {data_extends!r} makes a cycle ({loop})",
                          "a chain of extends that never returns to a file already in it")
    if not parent.is_file():
        siblings = sorted(p.name for p in parent.parent.glob("*.toml")) \
            if parent.parent.is_dir() else []
        raise input_error(where, "extends", f"= {data_extends!r} names no file ({parent})",
                          f"a scenario file path relative to the folder of {where}",
                          suggest(target.name, siblings))
    return [*_load_chain(parent, str(parent), chain), layer]


def load_scenario(path: str | Path) -> Scenario:
    r"""Load and validate a scenario file, following its ``extends`` chain.

    Parameters
    ----------
    path : str or Path
        The TOML file. ``extends`` paths inside it are relative to its folder.

    Returns
    -------
    Scenario
        ``params`` is the full validated set; ``overrides`` only what the chain set (the
        most derived file wins); ``name`` defaults to the file name without ``.toml``;
        ``description`` is this file's own (a parent's description describes the parent).

    Raises
    ------
    ScenarioError
        On any problem: missing or unreadable file, TOML syntax, unknown key, wrong type,
        value out of range, ``start > end``, a cycle of ``extends``, a bad
        ``[[interventions]]`` row (unknown type, key, alternative, target key, region,
        ethnic group or level; magnitude outside the lever's bounds; uptake outside [0, 1];
        negative cost; a window outside the run; a name used twice; a target no 2012
        household can meet; opposite settings of one switch in the same year), a bad
        ``[drivers]`` row (:func:`model.drivers.parse_projection`). The message is one
        line: ``<file>: key '<key>' <problem>; allowed: <what is allowed>``, with
        ``; did you mean 'x'?`` for near-miss keys.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "base.toml").write_text("[run]\nend = 2016\n")
    >>> _ = (d / "v.toml").write_text('extends = "base.toml"\n[params]\nb_compatriot = 0\n')
    >>> s = load_scenario(d / "v.toml")
    >>> (s.name, s.end, s.overrides)
    ('v', 2016, {'b_compatriot': 0.0})
    """
    path = Path(path)
    layers = _load_chain(path, str(path), [])
    top = layers[-1]
    run: dict = {}
    params: dict = {}
    drivers: dict = {}
    for layer in layers:
        run.update(layer.run)
        params.update(layer.params)
        drivers.update(layer.drivers)  # per driver: the most derived file's row wins
    start = run.get("start", Scenario.start)
    end = run.get("end", Scenario.end)
    if start > end:
        # Blame the most derived file that set either year: that is where the fix goes.
        culprit = next(la for la in reversed(layers) if {"start", "end"} & la.run.keys())
        key, other = ("end", "start") if "end" in culprit.run else ("start", "end")
        source = next((la.where for la in reversed(layers) if other in la.run), None)
        where_other = "" if source in (None, culprit.where) else f" (set in {source})"
        check_window(start, end, culprit.where, f"run.{key}", f"run.{other}{where_other}")
    full = validate_params(params)
    return Scenario(name=top.name or path.stem, description=top.description or "",
                    params=full, overrides=params, start=start, end=end,
                    scale=run.get("scale", Scenario.scale), source=str(path),
                    interventions=_resolve_interventions(layers, start, end, full),
                    drivers={n: p for n, p in drivers.items() if p != DRIVERS[n].default})
