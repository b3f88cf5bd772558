"""Births, deaths, ageing, schooling and household formation, vectorised over persons.

Rates (assumptions where the shipped data have no schedules, see ``model/data/README.md``):

* deaths: Gompertz hazard ``mortality_level * 5e-5 * exp(0.09 * age)``, times 1.5 for men,
  plus 0.01 in the first year of life;
* births: women aged 15-49 at home, with a triangular age pattern peaking at 27; its level
  is set every year and region so that expected births minus expected deaths equals the
  official natural increase rate of that region and year (BNS; 2018 held afterwards);
* schooling: 16-year-olds reach secondary; at 22 a share ``p_higher_completion`` completes
  higher education;
* household formation: an adult child (20-34) of the head at home leaves with probability
  ``p_leave_home`` and heads a new one-person household in the same region, inheriting the
  parent household's ethnicity, optimism, kin abroad and contacts;
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

import numpy as np

__all__ = ["death_probability", "fertility_shape", "death_age", "AGE_BANDS", "MAX_LIFE"]

AGE_BANDS = ((0, 15), (16, 62), (63, 200))
"""Age groups of the outputs: children, working age, pension age (men's thresholds)."""

_GOMPERTZ_A = 5e-5
_GOMPERTZ_B = 0.09
_MALE_EXCESS = 1.5
_INFANT = 0.01
_FERTILE = (15, 49)
_FERTILITY_PEAK = 27


def death_probability(age: np.ndarray, sex: np.ndarray, level: float) -> np.ndarray:
    """Probability of dying within the year at ``age`` for ``sex`` (0 men, 1 women).

    Examples
    --------
    >>> float(death_probability(np.array([30]), np.array([1]), 1.0)[0]) < 0.01
    True
    """
    a = age.astype(np.float32)
    h = np.float32(level * _GOMPERTZ_A) * np.exp(np.float32(_GOMPERTZ_B) * a)
    h = h * np.where(sex == 0, np.float32(_MALE_EXCESS), np.float32(1.0))
    h = h + np.where(age == 0, np.float32(_INFANT), np.float32(0.0))
    return np.minimum(h, np.float32(1.0))


MAX_LIFE = 120
"""Nobody lives past this age (the life table closes with q = 1)."""


@cache
def _cumulative_hazard(sex: int, level: float) -> np.ndarray:
    """-log S(x) for x = 0 .. MAX_LIFE + 1, S(x) the probability to reach age x (cached)."""
    ages = np.arange(MAX_LIFE + 1)
    q = death_probability(ages, np.full(ages.size, sex), level).astype(np.float64)
    q[-1] = 1.0
    with np.errstate(divide="ignore"):
        step = -np.log1p(-np.minimum(q, 1.0))
    out = np.concatenate([[0.0], np.cumsum(step)])
    out.setflags(write=False)
    return out


def death_age(age: np.ndarray, sex: np.ndarray, u: np.ndarray, level: float) -> np.ndarray:
    """Age at which each person will die, given alive at ``age``, drawn with uniforms ``u``.

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
    for s in (0, 1):
        pick = sex == s
        big_l = _cumulative_hazard(s, float(level))
        target = big_l[age[pick]] + e[pick]
        # first x >= age with L(x + 1) > L(age) + E
        out[pick] = np.searchsorted(big_l[1:], target, side="right")
    return np.minimum(out, MAX_LIFE)


def fertility_shape(age: np.ndarray) -> np.ndarray:
    """Relative fertility by age of woman (triangular, 15-49, peak 27, maximum 1).

    Examples
    --------
    >>> [round(float(f), 3) for f in fertility_shape(np.array([14, 27, 49]))]
    [0.0, 1.0, 0.043]
    """
    a = age.astype(np.float32)
    lo, hi = _FERTILE
    rising = (a - (lo - 1)) / np.float32(_FERTILITY_PEAK - (lo - 1))
    falling = (np.float32(hi + 1) - a) / np.float32(hi + 1 - _FERTILITY_PEAK)
    f = np.where(a <= _FERTILITY_PEAK, rising, falling)
    return np.where((age >= lo) & (age <= hi), f, np.float32(0.0)).astype(np.float32)
