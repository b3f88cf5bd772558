"""One ``[[interventions]]`` row: the :class:`Intervention`, its validation and its window.

The row format (scenario files; ``model/scenario.py`` adds the file and row to errors)::

    [[interventions]]
    type = "utility_shift"        # a key of model.interventions.registry.LEVERS
    alternative = "emigrate"      # utility_shift: emigrate | labour | study | stay;
                                  # realisation_multiplier: emigrate | labour | study
    magnitude = -0.5              # in the lever's unit, within its bounds
    start = 2020                  # first year of the window
    end = 2030                    # last year of the window (inclusive)
    target = { region = ["Pavlodar"], head_age = [18, 35] }   # see .targets; optional
    uptake = 0.6                  # share of targeted households reached (default 1)
    cost_per_household = 120.0    # optional, currency units per reached household a year
    name = "north_youth"          # optional; default "<type>_<position in the list>"

    [[interventions]]
    type = "context"              # a national switch: no target, uptake or magnitude
    switch = "compatriot_programme"   # or "eaeu"
    on = false
    start = 2016
    end = 2018

Reach is stable across the window: a household slot is reached when its uniform in the
stream ``uptake.<name>`` of the window's first year is below ``uptake``, and the same
uniform is used every year of the window (a programme enrols households, it does not
redraw them each year). Whether a household is in the target is judged each year (a head
who turns 36 leaves a ``head_age = [18, 35]`` target).

Examples
--------
>>> iv = parse_intervention({"type": "utility_shift", "alternative": "emigrate",
...                          "magnitude": -0.5, "start": 2013, "end": 2015})
>>> iv.active(2015), iv.active(2016), iv.stream
(True, False, 'uptake.utility_shift')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from model.interventions.registry import LEVERS, SWITCHES, InterventionError
from model.interventions.targets import Target, parse_target
from model.params import describe, suggest

__all__ = ["Intervention", "parse_intervention", "ROW_KEYS", "NAME_RE", "DESIGN_FIELDS",
           "with_design_value"]

_COMMON = ("type", "name", "start", "end", "cost_per_household")
_HOUSEHOLD = ("magnitude", "target", "uptake")
ROW_KEYS = (*_COMMON, "alternative", *_HOUSEHOLD, "switch", "on")
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DESIGN_FIELDS = ("magnitude", "uptake")
"""Fields of an intervention that an experiment may vary (``interventions.<name>.<field>``)."""
_YEARS = (2012, 2050)  # model.scenario's FIRST_YEAR, LAST_YEAR (scenario imports this module)


@dataclass(frozen=True)
class Intervention:
    """A validated intervention row (what, whom, when).

    Examples
    --------
    >>> iv = Intervention("north_youth", "utility_shift", 2013, 2014, magnitude=0.5,
    ...                   alternative="stay")
    >>> iv.resolved()["alternative"], iv.reaches_households
    ('stay', True)
    """

    name: str
    type: str
    start: int
    end: int
    magnitude: float = 0.0
    alternative: str | None = None
    target: Target = field(default_factory=Target)
    uptake: float = 1.0
    cost_per_household: float = 0.0
    switch: str | None = None
    on: bool | None = None

    def active(self, year: int) -> bool:
        """True when ``year`` lies in the window (both ends included)."""
        return self.start <= year <= self.end

    @property
    def reaches_households(self) -> bool:
        """False for national context switches (no target, no uptake)."""
        return LEVERS[self.type].households

    @property
    def stream(self) -> str:
        """Name of the intervention's own uptake stream (drawn in the window's first year)."""
        return f"uptake.{self.name}"

    def resolved(self) -> dict:
        """JSON-ready dict of the row (part of the resolved scenario and the run id)."""
        out = {"name": self.name, "type": self.type, "start": self.start, "end": self.end,
               "cost_per_household": self.cost_per_household}
        if self.reaches_households:
            out |= {"magnitude": self.magnitude, "target": self.target.resolved(),
                    "uptake": self.uptake}
            if self.alternative is not None:
                out["alternative"] = self.alternative
        else:
            out |= {"switch": self.switch, "on": self.on}
        return out


def _number(row: dict, key: str, allowed: str) -> float:
    value = row[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InterventionError(key, f"must be a number, not {describe(value)}", allowed)
    if not math.isfinite(value):
        raise InterventionError(key, f"= {value} is not finite", allowed)
    return float(value)


def _year(row: dict, key: str) -> int:
    lo, hi = _YEARS
    allowed = f"an integer year from {lo} to {hi}, inside the scenario's run"
    value = row.get(key)
    if value is None:
        raise InterventionError(key, "is missing", allowed)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InterventionError(key, f"must be a whole number, not {describe(value)}", allowed)
    if not lo <= value <= hi:
        raise InterventionError(key, f"= {value} is outside the modelled years", allowed)
    return int(value)


def _choice(row: dict, key: str, choices: tuple[str, ...] | list[str], type_: str) -> str:
    allowed = ", ".join(choices) + f" (for type {type_})"
    value = row.get(key)
    if value is None:
        raise InterventionError(key, "is missing", allowed)
    if not isinstance(value, str) or value not in choices:
        hint = suggest(value, choices) if isinstance(value, str) else ""
        raise InterventionError(key, f"= {value!r} is not allowed", allowed, hint)
    return value


def parse_intervention(row: object, default_name: str | None = None) -> Intervention:
    """Validate one row (a dict from TOML) and return the :class:`Intervention`.

    Checks everything a row can say about itself: the type, the keys its type takes (with
    a "did you mean"), the alternative or switch, magnitude within the lever's bounds,
    uptake in [0, 1], cost >= 0, a plain name, years with ``start <= end``, and the
    target (:func:`.targets.parse_target`). Whether the window lies inside the run,
    whether names are unique and whether the target can match a 2012 household need the
    whole scenario; :func:`model.scenario.load_scenario` checks them.

    Parameters
    ----------
    row : dict
        The row as read from TOML.
    default_name : str, optional
        Name when the row sets none (default ``type``).

    Raises
    ------
    InterventionError
        Naming the row key, what is wrong and what is allowed.

    Examples
    --------
    >>> parse_intervention({"type": "utility_shfit"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.interventions.registry.InterventionError: key 'type' = 'utility_shfit' is not ...
    """
    if not isinstance(row, dict):
        raise InterventionError("", f"must be a table, not {describe(row)}",
                                "[[interventions]] tables with type, start, end, ...")
    type_ = row.get("type")
    types = list(LEVERS)
    if not isinstance(type_, str) or type_ not in LEVERS:
        problem = "is missing" if type_ is None else f"= {type_!r} is not an intervention type"
        hint = suggest(type_, types) if isinstance(type_, str) else ""
        raise InterventionError("type", problem, ", ".join(types), hint)
    lever = LEVERS[type_]
    keys = list(_COMMON) + (["alternative"] if lever.alternatives else []) \
        + (list(_HOUSEHOLD) if lever.households else ["switch", "on"])
    for key in row:
        if key not in keys:
            hint = (f" (not taken by type {type_})" if key in ROW_KEYS
                    else suggest(key, ROW_KEYS))
            raise InterventionError(key, "is not a setting of this intervention",
                                    ", ".join(keys), hint)
    name = row.get("name", default_name or type_)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InterventionError("name", f"= {name!r} is not a plain name",
                                "letters, digits and _ starting with a letter, e.g. north_youth")
    start, end = _year(row, "start"), _year(row, "end")
    if start > end:
        raise InterventionError("end", f"= {end} is before start = {start}", "start <= end")
    cost = 0.0
    if "cost_per_household" in row:
        cost = _number(row, "cost_per_household",
                       "a number >= 0 (currency units per reached household and year)")
        if cost < 0:
            raise InterventionError("cost_per_household", f"= {cost:g} is negative",
                                    "a number >= 0 (currency units per reached household "
                                    "and year)")
    if not lever.households:
        switch = _choice(row, "switch", list(SWITCHES), type_)
        on = row.get("on")
        if not isinstance(on, bool):
            raise InterventionError("on", "is missing" if on is None else
                                    f"must be true or false, not {describe(on)}",
                                    "on = true or on = false")
        return Intervention(name, type_, start, end, cost_per_household=cost, switch=switch,
                            on=on)
    alternative = _choice(row, "alternative", lever.alternatives, type_) \
        if lever.alternatives else None
    lo, hi = lever.bounds
    m_allowed = f"a number from {lo:g} to {hi:g} ({lever.unit})"
    if "magnitude" not in row:
        raise InterventionError("magnitude", "is missing", m_allowed)
    magnitude = _number(row, "magnitude", m_allowed)
    if not lo <= magnitude <= hi:
        raise InterventionError("magnitude", f"= {magnitude:g} is out of bounds", m_allowed)
    uptake = 1.0
    if "uptake" in row:
        uptake = _number(row, "uptake", "a share from 0 to 1")
        if not 0.0 <= uptake <= 1.0:
            raise InterventionError("uptake", f"= {uptake:g} is outside [0, 1]",
                                    "a share from 0 to 1")
    target = parse_target(row.get("target", {}))
    return Intervention(name, type_, start, end, magnitude=magnitude, alternative=alternative,
                        target=target, uptake=uptake, cost_per_household=cost)


def with_design_value(interventions: tuple[Intervention, ...], key: str,
                      value: float) -> tuple[Intervention, ...]:
    """Return ``interventions`` with ``interventions.<name>.<field>`` set to ``value``.

    Used by experiments that vary an intervention (a design point's value). The value is
    checked against the same bounds as in a scenario file.

    Examples
    --------
    >>> ivs = (Intervention("a", "income_shift", 2013, 2014, magnitude=0.1),)
    >>> with_design_value(ivs, "interventions.a.magnitude", 0.3)[0].magnitude
    0.3
    """
    parts = key.split(".")
    names = [iv.name for iv in interventions]
    if len(parts) != 3 or parts[0] != "interventions" or parts[2] not in DESIGN_FIELDS:
        raise InterventionError(key, "is not an intervention setting",
                                "interventions.<name>.magnitude or interventions.<name>.uptake")
    if parts[1] not in names:
        raise InterventionError(key, f"names no intervention of the scenario ({parts[1]!r})",
                                ", ".join(names) or "an intervention of the scenario",
                                suggest(parts[1], names))
    out = []
    for iv in interventions:
        if iv.name == parts[1]:
            row = iv.resolved() | {parts[2]: value}
            row.pop("type")
            checked = parse_intervention({"type": iv.type, **row})
            iv = replace(iv, **{parts[2]: getattr(checked, parts[2])})
        out.append(iv)
    return tuple(out)
