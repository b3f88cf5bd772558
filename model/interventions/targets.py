"""Who an intervention reaches: target rows, parsed and validated, matched on household arrays.

A target is a conjunction of conditions on a household, all optional (no target: every
deciding household)::

    target = { region = ["Pavlodar", "North Kazakhstan"],  # or a group: "north_industrial"
               head_age = [18, 35],        # the head's age on 1 January, inclusive
               education = ["higher"],     # the head's level: basic | secondary | higher
               ethnicity = ["Russian"],    # the household's group (model.datasets)
               children = true,            # a member under 16 at home (false: none)
               intending = true }          # intended to emigrate last year (false: did not)

Education is the head's, as in the utility's education term (the head decides for the
household). ``intending`` reads last year's intention, so it matches nobody in 2012.

Examples
--------
>>> import numpy as np
>>> t = parse_target({"region": "Pavlodar", "head_age": [18, 35]})
>>> attrs = HouseholdAttributes(region=np.array([11, 11, 0]), ethnicity=np.zeros(3, int),
...     head_age=np.array([30, 50, 30]), head_education=np.zeros(3, int),
...     children=np.zeros(3, bool), intending=np.zeros(3, bool))
>>> t.match(attrs).tolist()
[True, False, False]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from model import datasets
from model.interventions.registry import InterventionError
from model.params import describe, suggest

__all__ = ["Target", "HouseholdAttributes", "parse_target", "unreachable_in_2012",
           "TARGET_KEYS", "EDUCATION_LEVELS", "REGION_GROUPS", "HEAD_AGES_2012"]

EDUCATION_LEVELS = ("basic", "secondary", "higher")
"""Education codes 0, 1, 2 of the person table (the recorder's ``edu=`` groups)."""
REGION_GROUPS = {"north_industrial": datasets.NORTH_INDUSTRIAL}
"""Names that stand for several regions in ``target.region``."""
HEAD_AGES_2012 = (20, 100)
"""Ages of heads in the synthetic 2012 population at the registry defaults (heads are
adults of ``head_min_age``, 20, and over; nobody is older than ``MAX_AGE``, 100); a
scenario's own ``head_min_age`` replaces the 20."""
_HIGHER_FROM = 22  # registry default of higher_age: basic or higher education from then on
TARGET_KEYS = ("region", "head_age", "education", "ethnicity", "children", "intending")


class HouseholdAttributes(NamedTuple):
    """Per-household arrays (one entry per household slot) that targets are matched on."""

    region: np.ndarray          # int codes of datasets.REGIONS
    ethnicity: np.ndarray       # int codes of datasets.ETHNIC_GROUPS
    head_age: np.ndarray        # int, the head's age on 1 January
    head_education: np.ndarray  # int codes of EDUCATION_LEVELS
    children: np.ndarray        # bool, a member under 16 at home
    intending: np.ndarray       # bool, intended to emigrate last year


@dataclass(frozen=True)
class Target:
    """A validated target; None means the condition is not set.

    Categorical conditions hold names (so that resolved scenarios read as written), in
    the order of the model's code tables.

    Examples
    --------
    >>> Target(region=("Pavlodar",)).resolved()
    {'region': ['Pavlodar']}
    >>> Target().is_everyone
    True
    """

    region: tuple[str, ...] | None = None
    head_age: tuple[int, int] | None = None
    education: tuple[str, ...] | None = None
    ethnicity: tuple[str, ...] | None = None
    children: bool | None = None
    intending: bool | None = None

    @property
    def is_everyone(self) -> bool:
        """True when no condition is set."""
        return all(getattr(self, k) is None for k in TARGET_KEYS)

    def resolved(self) -> dict:
        """JSON-ready dict of the conditions that are set."""
        out: dict = {}
        for key in TARGET_KEYS:
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def match(self, hh: HouseholdAttributes) -> np.ndarray:
        """Boolean mask of the households that meet every condition (vectorised)."""
        mask = np.ones(len(hh.region), dtype=bool)
        for key, names, table in (("region", self.region, datasets.REGIONS),
                                  ("ethnicity", self.ethnicity, datasets.ETHNIC_GROUPS),
                                  ("head_education", self.education, EDUCATION_LEVELS)):
            if names is not None:
                lookup = np.zeros(len(table), dtype=bool)
                lookup[[table.index(n) for n in names]] = True
                mask &= lookup[getattr(hh, key)]
        if self.head_age is not None:
            lo, hi = self.head_age
            mask &= (hh.head_age >= lo) & (hh.head_age <= hi)
        if self.children is not None:
            mask &= hh.children == self.children
        if self.intending is not None:
            mask &= hh.intending == self.intending
        return mask


def _names(value: object, key: str, table: tuple[str, ...], what: str,
           groups: dict | None = None) -> tuple[str, ...]:
    """A name or list of names of ``table`` (or of ``groups``), in table order."""
    groups = groups or {}
    choices = list(table) + list(groups)
    allowed = f"a {what} or a list of them: {', '.join(choices)}"
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise InterventionError(key, f"must be a name or a non-empty list of names, not "
                                f"{describe(value)}", allowed)
    chosen: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise InterventionError(key, f"holds {describe(item)}, not a name", allowed)
        if item in groups:
            chosen.update(groups[item])
        elif item in table:
            chosen.add(item)
        else:
            raise InterventionError(key, f"= {item!r} is not a {what}", allowed,
                                    suggest(item, choices))
    return tuple(n for n in table if n in chosen)


def parse_target(target: object) -> Target:
    """Validate a ``target`` table and return the :class:`Target`.

    Raises
    ------
    InterventionError
        For an unknown key (with a "did you mean"), an unknown region, ethnicity or
        education level, an age range that is not ``[lo, hi]`` with ``0 <= lo <= hi <=
        120``, or a ``children``/``intending`` value that is not true or false.

    Examples
    --------
    >>> parse_target({"ethnicity": ["German", "Russian"]}).ethnicity
    ('Russian', 'German')
    >>> parse_target({"regoin": "Pavlodar"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.interventions.registry.InterventionError: key 'target.regoin' is not a target ...
    """
    if not isinstance(target, dict):
        raise InterventionError("target", f"must be a table, not {describe(target)}",
                                "a table such as { region = [...], head_age = [18, 35] }")
    for key in target:
        if key not in TARGET_KEYS:
            raise InterventionError(f"target.{key}", "is not a target condition",
                                    ", ".join(TARGET_KEYS), suggest(key, TARGET_KEYS))
    out: dict = {}
    if "region" in target:
        out["region"] = _names(target["region"], "target.region", datasets.REGIONS,
                               "region", REGION_GROUPS)
    if "ethnicity" in target:
        out["ethnicity"] = _names(target["ethnicity"], "target.ethnicity",
                                  datasets.ETHNIC_GROUPS, "ethnic group")
    if "education" in target:
        out["education"] = _names(target["education"], "target.education", EDUCATION_LEVELS,
                                  "education level")
    if "head_age" in target:
        ages = target["head_age"]
        allowed = "[lo, hi], whole numbers with 0 <= lo <= hi <= 120 (inclusive)"
        if not isinstance(ages, list) or len(ages) != 2 or not all(
                isinstance(a, int) and not isinstance(a, bool) for a in ages):
            raise InterventionError("target.head_age", f"must be [lo, hi], not {ages!r}",
                                    allowed)
        lo, hi = ages
        if not 0 <= lo <= hi <= 120:
            raise InterventionError("target.head_age", f"= {ages} is not an age range", allowed)
        out["head_age"] = (int(lo), int(hi))
    for key in ("children", "intending"):
        if key in target:
            if not isinstance(target[key], bool):
                raise InterventionError(f"target.{key}", f"must be true or false, not "
                                        f"{describe(target[key])}", "true or false")
            out[key] = target[key]
    return Target(**out)


def unreachable_in_2012(target: Target, params: dict) -> str | None:
    """Why ``target`` matches no household of the 2012 population, or None if some may match.

    Checked against the rules and tables the population is built from, not a built
    population, so that the answer does not depend on the scale or seed (at a coarse
    scale a rare target may still draw no household, which the reach metric shows):
    heads are aged ``HEAD_AGES_2012``; heads under 22 have secondary education; a
    household's ethnicity is drawn from the region's census shares
    (:func:`model.datasets.ethnicity_by_region` at ``european_north_factor``). ``intending``
    and ``children`` are not checked: intentions arise during the run, and households of
    every size and head age can have children.

    Examples
    --------
    >>> from model.params import defaults
    >>> unreachable_in_2012(Target(head_age=(16, 19)), defaults())
    'no head of a 2012 household is aged 16-19 (heads are 20-100)'
    >>> unreachable_in_2012(Target(region=("Pavlodar",)), defaults()) is None
    True
    """
    # the scenario's own head_min_age and higher_age (structural parameters) set who can be
    # a head and from which age a head may hold a degree
    lo_all, hi_all = int(params.get("head_min_age", HEAD_AGES_2012[0])), HEAD_AGES_2012[1]
    higher_from = int(params.get("higher_age", _HIGHER_FROM))
    lo, hi = target.head_age or (lo_all, hi_all)
    if hi < lo_all or lo > hi_all:
        return f"no head of a 2012 household is aged {lo}-{hi} (heads are {lo_all}-{hi_all})"
    if target.education is not None and "secondary" not in target.education \
            and min(hi, hi_all) < higher_from:
        return (f"no head aged {max(lo, lo_all)}-{min(hi, hi_all)} has "
                f"{' or '.join(target.education)} education in 2012 (heads under "
                f"{higher_from} have secondary)")
    if target.region is not None or target.ethnicity is not None:
        shares = datasets.ethnicity_by_region()
        rows = [datasets.REGIONS.index(r) for r in target.region or datasets.REGIONS]
        cols = [datasets.ETHNIC_GROUPS.index(e) for e in target.ethnicity
                or datasets.ETHNIC_GROUPS]
        if not (shares[np.ix_(rows, cols)] > 0).any():
            return "no 2012 household of these ethnic groups lives in these regions"
    return None
