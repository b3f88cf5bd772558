"""Mortality by region, sex and calendar year, and ages of death drawn along cohorts.

The schedule (:class:`model.core.demography.Mortality`) is a Gompertz hazard
``level * gompertz_a * exp(gompertz_b * age)``, times ``male_mortality_excess`` for men, plus
``infant_mortality`` in the first year of life. What this module adds:

* **regional levels, 2012-2018**: in each region and year the level is solved so that the
  period life expectancy at birth of both sexes (men and women weighted by the sex ratio at
  birth) equals the BNS figure of ``kz_life_expectancy_by_region_1999_2018.csv``
  (:func:`model.datasets.life_expectancy_by_region`); ``mortality_level`` multiplies the
  solved levels (1 = the data);
* **the sex gap**: the hazard of men is ``male_mortality_excess`` times that of women at
  every age, which sets the gap between the life expectancies of women and men (9.7 years
  at the default, see the registry);
* **after 2018**: each region's life expectancy target rises by
  ``life_expectancy_gain_per_decade`` years per decade from its 2018 value (a projection
  assumption; levels are solved for it the same way); after the horizon year
  (:data:`LAST_YEAR`) the levels are held.

Why cohorts: a person's age of death is drawn once, on entry, from the hazards the person
will meet: at age ``x`` in calendar year ``birth cohort + x``. :class:`LifeTables` holds the
cumulative hazard of every (sex, region, cohort); :meth:`LifeTables.death_age` finds the age
at which it crosses an exponential draw, for all persons in one ``searchsorted``. A person's
region is the one on entry.

Examples
--------
>>> t = life_tables(Mortality())
>>> e = t.life_expectancy(2018)
>>> bool(70 < e["both"].mean() < 76 and (e["women"] - e["men"]).mean() > 8)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from model import datasets
from model.core.demography import MAX_LIFE, Mortality
from model.core.synthesis_kernels import search_death_ages
from model.drivers import HORIZON
from model.scenario import FIRST_YEAR

__all__ = ["LifeTables", "life_tables", "life_table_params", "life_expectancy",
           "solve_levels", "FIRST_YEAR", "LAST_YEAR", "LAST_DATA_YEAR"]

LAST_YEAR = HORIZON
"""Last calendar year with its own mortality levels (later years hold them)."""
LAST_DATA_YEAR = 2018
"""Last year of the life-expectancy data; later years follow the projection assumption."""
_AGES = np.arange(MAX_LIFE + 1)
_FINITE_INF = 1e3   # cap of the cumulative hazard (an exponential draw never reaches it)
_GROUP_STRIDE = 1e4  # offset between groups in the flattened table (above any hazard sum)


def _q(level: np.ndarray, sex: int, m: Mortality) -> np.ndarray:
    """Yearly death probability by age (a new last axis) for an array of levels."""
    lv = np.asarray(level, dtype=np.float64)[..., None]
    return _q_by_age(np.broadcast_to(lv, lv.shape[:-1] + _AGES.shape), sex, m)


def _q_by_age(lv: np.ndarray, sex: int, m: Mortality) -> np.ndarray:
    """Yearly death probability for levels whose last axis is age 0..MAX_LIFE.

    The arithmetic of :func:`model.core.demography.death_probability` (float32 hazard)
    with the table closing at :data:`MAX_LIFE`.
    """
    base = np.float32(m.gompertz_a) * np.exp(np.float32(m.gompertz_b) * _AGES.astype(np.float32))
    h = (lv * base).astype(np.float32) * np.float32(m.male_excess if sex == 0 else 1.0)
    h = h + np.where(_AGES == 0, np.float32(m.infant), np.float32(0.0))
    q = np.minimum(h, np.float32(1.0)).astype(np.float64)
    q[..., -1] = 1.0
    return q


def _steps(q: np.ndarray) -> np.ndarray:
    """-log(1 - q), finite after the closing age."""
    with np.errstate(divide="ignore"):
        s = -np.log1p(-np.minimum(q, 1.0))
    return np.minimum(s, _FINITE_INF)


def life_expectancy(level: np.ndarray, sex: int, m: Mortality) -> np.ndarray:
    """Period life expectancy at birth for each level (years), in the model's convention.

    A person dies in the year in which their age equals the drawn age of death ``d``, so
    they live ``d + 1/2`` years on average: ``e0 = 1/2 + sum_{x>=1} S(x)`` with ``S(x)`` the
    probability to reach age ``x``.

    Examples
    --------
    Without the Gompertz term and an infant hazard of 0.5, half die at age 0 and the
    other half at the closing age 120: ``e0 = 1/2 + 120 * 1/2``.

    >>> m = Mortality(level=1.0, gompertz_a=0.0, gompertz_b=0.0, male_excess=1.0, infant=0.5)
    >>> float(life_expectancy(np.array([1.0]), 1, m)[0])
    60.5
    """
    q = _q(level, sex, m)
    big_l = np.cumsum(_steps(q), axis=-1)   # -log S(x + 1)
    return 0.5 + np.exp(-big_l[..., :-1]).sum(axis=-1)


def _e0_both(level: np.ndarray, m: Mortality, sex_ratio: float) -> np.ndarray:
    w_men = sex_ratio / (sex_ratio + 100.0)
    return w_men * life_expectancy(level, 0, m) + (1 - w_men) * life_expectancy(level, 1, m)


def solve_levels(target_e0: np.ndarray, m: Mortality, sex_ratio: float) -> np.ndarray:
    """Levels giving a both-sexes life expectancy ``target_e0`` (any shape), by bisection.

    The level multiplies ``gompertz_a`` (``m.level`` is ignored); life expectancy falls as
    the level rises, so 60 halvings of ``log level`` on [-12, 12] pin it down.

    Examples
    --------
    >>> m = Mortality()
    >>> lv = solve_levels(np.array([70.0, 75.0]), m, 105.0)
    >>> [round(float(e), 3) for e in _e0_both(lv, m, 105.0)]
    [70.0, 75.0]
    """
    target = np.asarray(target_e0, dtype=np.float64)
    lo, hi = np.full(target.shape, -12.0), np.full(target.shape, 12.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        too_short = _e0_both(np.exp(mid), m, sex_ratio) < target
        hi = np.where(too_short, mid, hi)
        lo = np.where(too_short, lo, mid)
    return np.exp((lo + hi) / 2)


@dataclass(frozen=True, eq=False)
class LifeTables:
    """Mortality levels by region and year, and cumulative hazards along cohorts.

    Attributes
    ----------
    schedule : Mortality
        The age-sex schedule (its ``level`` multiplies the solved levels).
    sex_ratio : float
        Boys per 100 girls, the weights of the both-sexes life expectancy.
    gain : float
        Life-expectancy gain per decade after 2018 (years).
    target : ndarray
        Both-sexes life-expectancy target by region and year ``FIRST_YEAR..LAST_YEAR``.
    levels : ndarray
        The hazard levels (multipliers of ``gompertz_a``) by region and year.
    cum : ndarray
        ``-log S`` by (sex, region, cohort, age 0..MAX_LIFE+1); cohort ``c`` is row
        ``c - first_cohort``.
    first_cohort : int
        ``FIRST_YEAR - MAX_LIFE``.
    upper : ndarray
        ``L(x + 1)`` of every group in one sorted array, groups ``_GROUP_STRIDE`` apart
        (what :meth:`death_age` searches).
    """

    schedule: Mortality
    sex_ratio: float
    gain: float
    target: np.ndarray
    levels: np.ndarray
    cum: np.ndarray
    first_cohort: int
    upper: np.ndarray

    def level(self, year: int) -> np.ndarray:
        """Hazard levels of every region in ``year`` (held outside FIRST_YEAR..LAST_YEAR)."""
        return self.levels[:, min(max(year, FIRST_YEAR), LAST_YEAR) - FIRST_YEAR]

    def life_expectancy(self, year: int) -> dict[str, np.ndarray]:
        """Period life expectancy at birth by region in ``year``: ``men``, ``women``, ``both``.

        Examples
        --------
        >>> t = life_tables(Mortality())
        >>> abs(float(t.life_expectancy(2012)["both"][0]) - float(t.target[0, 0])) < 0.01
        True
        """
        lv = self.level(year)
        men = life_expectancy(lv, 0, self.schedule)
        women = life_expectancy(lv, 1, self.schedule)
        w_men = self.sex_ratio / (self.sex_ratio + 100.0)
        return {"men": men, "women": women, "both": w_men * men + (1 - w_men) * women}

    def period_q(self, year: int) -> np.ndarray:
        """Yearly death probabilities of the period table of ``year``: (sex, region, age).

        Examples
        --------
        >>> q = life_tables(Mortality()).period_q(2012)
        >>> q.shape[:2], bool((q[0, :, 60] > q[1, :, 60]).all()), float(q[0, 0, -1])
        ((2, 16), True, 1.0)
        """
        lv = self.level(year)
        return np.stack([_q(lv, s, self.schedule) for s in (0, 1)])

    def death_age(self, age: np.ndarray, sex: np.ndarray, region: np.ndarray, year: int,
                  u: np.ndarray) -> np.ndarray:
        """Age of death of persons aged ``age`` in calendar ``year``, drawn with uniforms ``u``.

        Each person meets the hazards of their region at age ``x`` in year
        ``year - age + x``; they die in the year in which their age equals the result (the
        first ``x >= age`` with ``L(x + 1) > L(age) + E``, ``E = -log(1 - u)``), as
        :func:`model.core.demography.death_age` does for one fixed table.

        Examples
        --------
        >>> t = life_tables(Mortality())
        >>> d = t.death_age(np.array([30, 30, 30]), np.array([0, 1, 1]), np.array([0, 0, 15]),
        ...                 2012, np.array([0.5, 0.5, 0.5]))
        >>> bool((d >= 30).all() and d[0] < d[1])
        True
        """
        if len(age) == 0:
            return np.zeros(0, dtype=np.int16)
        flat = self.cum.reshape(-1, MAX_LIFE + 2)
        # -log1p(-u) in one new array (at scale 1, 16.7M persons: no two more temporaries)
        e = np.negative(np.asarray(u, dtype=np.float64))
        np.log1p(e, out=e)
        np.negative(e, out=e)
        # compiled: group g = (sex * regions + region) * cohorts + cohort (clipped), then
        # np.searchsorted(self.upper, flat[g, age] + e + g * _GROUP_STRIDE, side="right")
        # - g * (MAX_LIFE + 1), capped at MAX_LIFE (searched within the group)
        return search_death_ages(self.upper, flat, np.asarray(sex), np.asarray(region),
                                 np.asarray(age), year - self.first_cohort, self.cum.shape[1],
                                 self.cum.shape[2], e, _GROUP_STRIDE)


def life_table_params(params: dict) -> tuple[Mortality, float, float]:
    """The hashable part of a parameter set that the life tables depend on."""
    return (Mortality.from_params(params), float(params["sex_ratio_birth"]),
            float(params["life_expectancy_gain_per_decade"]))


@lru_cache(maxsize=8)
def _build(m: Mortality, sex_ratio: float, gain: float) -> LifeTables:
    years = np.arange(FIRST_YEAR, LAST_YEAR + 1)
    observed = datasets.life_expectancy_by_region()  # year x region, to 2018
    last = observed.loc[min(LAST_DATA_YEAR, int(observed.index.max()))].to_numpy(float)
    target = np.empty((len(datasets.REGIONS), len(years)))
    for j, y in enumerate(years):
        if y <= LAST_DATA_YEAR:
            target[:, j] = observed.loc[y].to_numpy(float)
        else:
            target[:, j] = last + gain * (y - LAST_DATA_YEAR) / 10.0
    levels = solve_levels(target, m, sex_ratio) * m.level
    first_cohort = FIRST_YEAR - MAX_LIFE
    cohorts = np.arange(first_cohort, LAST_YEAR + 2)
    year_of = np.clip(cohorts[:, None] + _AGES[None, :], FIRST_YEAR, LAST_YEAR) - FIRST_YEAR
    lv = levels[:, year_of]  # region, cohort, age
    cum = np.zeros((2, len(datasets.REGIONS), len(cohorts), MAX_LIFE + 2))
    for s in (0, 1):
        # the hazard at age x of cohort c is that of year c + x
        cum[s, :, :, 1:] = np.minimum(np.cumsum(_steps(_q_by_age(lv, s, m)), axis=-1),
                                      _FINITE_INF)
    flat = cum.reshape(-1, MAX_LIFE + 2)[:, 1:]
    upper = (flat + np.arange(flat.shape[0], dtype=np.float64)[:, None] * _GROUP_STRIDE).ravel()
    for a in (target, levels, cum, upper):
        a.setflags(write=False)
    return LifeTables(m, sex_ratio, gain, target, levels, cum, first_cohort, upper)


def life_tables(params: dict | Mortality | tuple) -> LifeTables:
    """The life tables of a parameter set (or of a schedule, other settings at defaults).

    ``params`` may also be the key :func:`life_table_params` returns. Cached per distinct
    schedule, sex ratio and projection (the last eight).
    """
    if isinstance(params, tuple) and not isinstance(params, Mortality):
        return _build(*params)
    if isinstance(params, Mortality):
        from model.params import defaults

        d = defaults()
        return _build(params, float(d["sex_ratio_birth"]),
                      float(d["life_expectancy_gain_per_decade"]))
    return _build(*life_table_params(params))
