"""Births, deaths, ageing, schooling and household formation, vectorised over persons.

Rates (assumptions where the shipped data have no schedules, see ``model/data/README.md``):

* deaths: Gompertz hazard ``level * gompertz_a * exp(gompertz_b * age)``, times
  ``male_mortality_excess`` for men, plus ``infant_mortality`` in the first year of life
  (:class:`Mortality`); a run's levels by region and year, and the ages of death drawn along
  cohorts, are in :mod:`model.core.lifetables` (this module keeps the single-table
  functions);
* births: women aged ``fertile_age_min``-``fertile_age_max`` (15-49) at home, with a
  triangular age pattern peaking at ``fertility_peak_age`` (27); levels by region and
  ethnicity fitted to the regional births 2012-2018 and projected after 2018 are in
  :mod:`model.core.fertility`, a woman's probability capped at ``birth_cap`` (0.95);
* schooling: at ``secondary_age`` (16) a person reaches secondary; at ``higher_age`` (22)
  a share ``p_higher_completion`` completes higher education;
* household formation: an adult child (``leave_home_min_age``-``leave_home_max_age``,
  20-34) of the head at home, at least ``leave_home_min_gap`` (16) years younger than the
  head, leaves with probability ``p_leave_home`` and heads a new one-person household in
  the same region, inheriting the parent household's ethnicity, optimism, kin abroad and
  contacts;
* a household whose head dies or leaves is headed by its oldest member at home (or, with
  nobody at home, by its oldest living member); one with no living member is dissolved.

Examples
--------
>>> import numpy as np
>>> q = death_probability(np.array([0, 40, 90]), np.array([0, 0, 1]), 1.0)
>>> bool(q[1] < q[2] and q[0] > q[1])
True
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np

from model.params import REGISTRY

__all__ = ["death_probability", "fertility_shape", "death_age", "Mortality", "AGE_BANDS",
           "MAX_LIFE"]

AGE_BANDS = ((0, 15), (16, 62), (63, 200))
"""Age groups of the outputs: children, working age, pension age (men's thresholds).

A definition of the output tables, not a model assumption: it stays a constant."""


def _default(name: str):
    return REGISTRY[name].default


class Mortality(NamedTuple):
    """The mortality schedule: Gompertz hazard, excess of men, infant hazard.

    Hashable, so that life tables are cached per schedule. Fields default to the registry
    defaults; :meth:`from_params` reads a run's parameter set.

    Examples
    --------
    >>> from model.params import defaults
    >>> Mortality().gompertz_b
    0.09
    >>> Mortality.from_params(defaults() | {"mortality_level": 2.0}).level
    2.0
    >>> Mortality.from_params(defaults()) == Mortality()
    True
    """

    level: float = _default("mortality_level")
    gompertz_a: float = _default("gompertz_a")
    gompertz_b: float = _default("gompertz_b")
    male_excess: float = _default("male_mortality_excess")
    infant: float = _default("infant_mortality")

    @classmethod
    def from_params(cls, params: dict) -> Mortality:
        """The schedule of a full parameter set."""
        return cls(params["mortality_level"], params["gompertz_a"], params["gompertz_b"],
                   params["male_mortality_excess"], params["infant_mortality"])


def _schedule(mortality: Mortality | float) -> Mortality:
    """A schedule from a schedule or a bare level (the other constants at their defaults)."""
    if isinstance(mortality, Mortality):
        return mortality
    return Mortality(level=float(mortality))


def death_probability(age: np.ndarray, sex: np.ndarray,
                      mortality: Mortality | float) -> np.ndarray:
    """Probability of dying within the year at ``age`` for ``sex`` (0 men, 1 women).

    ``mortality`` is a :class:`Mortality` schedule or a bare ``mortality_level``.

    Examples
    --------
    >>> float(death_probability(np.array([30]), np.array([1]), 1.0)[0]) < 0.01
    True
    """
    m = _schedule(mortality)
    a = age.astype(np.float32)
    h = np.float32(m.level * m.gompertz_a) * np.exp(np.float32(m.gompertz_b) * a)
    h = h * np.where(sex == 0, np.float32(m.male_excess), np.float32(1.0))
    h = h + np.where(age == 0, np.float32(m.infant), np.float32(0.0))
    return np.minimum(h, np.float32(1.0))


MAX_LIFE = 120
"""Nobody lives past this age (the life table closes with q = 1)."""


@cache
def _cumulative_hazard(sex: int, mortality: Mortality) -> np.ndarray:
    """-log S(x) for x = 0 .. MAX_LIFE + 1, S(x) the probability to reach age x (cached)."""
    ages = np.arange(MAX_LIFE + 1)
    q = death_probability(ages, np.full(ages.size, sex), mortality).astype(np.float64)
    q[-1] = 1.0
    with np.errstate(divide="ignore"):
        step = -np.log1p(-np.minimum(q, 1.0))
    out = np.concatenate([[0.0], np.cumsum(step)])
    out.setflags(write=False)
    return out


def death_age(age: np.ndarray, sex: np.ndarray, u: np.ndarray,
              mortality: Mortality | float) -> np.ndarray:
    """Age at which each person will die, given alive at ``age``, drawn with uniforms ``u``.

    ``mortality`` is a :class:`Mortality` schedule or a bare ``mortality_level``.

    Why once, at creation: mortality rates do not change over a run, so drawing the age
    of death once from the life table is the same process as a yearly draw, and the
    yearly step then only compares ages (no draw, no table look-up per person and year).
    The person dies during the year in which ``age == death_age``.

    Examples
    --------
    >>> d = death_age(np.array([30, 30]), np.array([0, 1]), np.array([0.5, 0.5]), 1.0)
    >>> bool((d >= 30).all() and d[0] < d[1])
    True
    """
    out = np.empty(len(age), dtype=np.int16)
    e = -np.log1p(-np.asarray(u, dtype=np.float64))  # exponential: -log(1 - u)
    m = _schedule(mortality)
    for s in (0, 1):
        pick = sex == s
        big_l = _cumulative_hazard(s, m)
        target = big_l[age[pick]] + e[pick]
        # first x >= age with L(x + 1) > L(age) + E
        out[pick] = np.searchsorted(big_l[1:], target, side="right")
    return np.minimum(out, MAX_LIFE)


def fertility_shape(age: np.ndarray, lo: int = _default("fertile_age_min"),
                    peak: int = _default("fertility_peak_age"),
                    hi: int = _default("fertile_age_max")) -> np.ndarray:
    """Relative fertility by age of woman (triangular, ``lo``-``hi``, peak ``peak``, maximum 1).

    Defaults: the registry's ``fertile_age_min``, ``fertility_peak_age`` and
    ``fertile_age_max`` (15, 27, 49).

    Examples
    --------
    >>> [round(float(f), 3) for f in fertility_shape(np.array([14, 27, 49]))]
    [0.0, 1.0, 0.043]
    >>> [round(float(f), 3) for f in fertility_shape(np.array([14, 27, 49]), 20, 30, 40)]
    [0.0, 0.727, 0.0]
    """
    a = age.astype(np.float32)
    rising = (a - (lo - 1)) / np.float32(peak - (lo - 1))
    falling = (np.float32(hi + 1) - a) / np.float32(hi + 1 - peak)
    f = np.where(a <= peak, rising, falling)
    return np.where((age >= lo) & (age <= hi), f, np.float32(0.0)).astype(np.float32)
