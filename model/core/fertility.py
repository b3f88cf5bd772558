"""Fertility levels by region and ethnicity, fitted to the regional births of 2012-2018.

A woman at home aged ``a`` in region ``r`` gives birth within the year with probability
``min(level[r] * k * fertility_shape(a) * change(t), birth_cap)``, ``k`` the
``kazakh_fertility_ratio`` for Kazakh women and 1 for the others, ``change(t)`` the
projection (1 to 2018, then ``(1 + fertility_change_per_decade) ** ((t - 2018) / 10)``).

Fit (:func:`fit_levels`), once, on the model's own women on 1 January 2012: each region's
``level[r]`` makes its expected births equal to its mean crude birth rate of 2012-2018
(BNS births over the population on 1 January) times the model's population of the region:
``level[r] = cbr[r] * population[r] / (k * M_kazakh[r] + M_other[r])`` with ``M`` the sum of
``fertility_shape`` over the women at home. The births of each year are then an output
(one level per region for seven years; the age structure and ethnic mix move them).

The total fertility of a region is ``level * k * sum(fertility_shape)`` for each group.

Examples
--------
>>> lv = fit_levels(np.array([10.0]), np.array([10.0]), np.array([0.02]), np.array([1000.0]),
...                 ratio=3.0)
>>> float(lv[0])  # 20 births over (3 * 10 + 10)
0.5
"""

from __future__ import annotations

import numpy as np
from numba import njit

from model import datasets
from model.core.recorder import Recorder
from model.core.states import HOME

__all__ = ["fit_levels", "ethnic_ratio_least_squares", "observed_birth_rate", "level_table",
           "projection_factor", "women_mass", "home_women_mass", "total_fertility",
           "FIT_YEARS", "KAZAKH"]

FIT_YEARS = (2012, 2018)
"""Years of the BNS births the levels are fitted to (the model's observed window)."""
KAZAKH = datasets.ETHNIC_GROUPS.index("Kazakh")
_LAST_DATA_YEAR = 2018


def observed_birth_rate() -> np.ndarray:
    """Mean crude birth rate of each region over FIT_YEARS (births per person on 1 January).

    Examples
    --------
    >>> r = observed_birth_rate()
    >>> bool(0.012 < r.min() and r.max() < 0.035)
    True
    """
    lo, hi = FIT_YEARS
    births = datasets.births_by_region().loc[lo:hi].to_numpy(float)
    pop = np.array([datasets.population_by_region(y) for y in range(lo, hi + 1)])
    return (births / pop).mean(axis=0)


def women_mass(region: np.ndarray, ethnicity: np.ndarray, weight: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Sums of ``weight`` (fertility shape of each woman) by region: Kazakh, other.

    Examples
    --------
    >>> k, o = women_mass(np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([1.0, 2.0, 3.0]))
    >>> k[:2].tolist(), o[:2].tolist()
    ([1.0, 3.0], [2.0, 0.0])
    """
    n = len(datasets.REGIONS)
    kaz = ethnicity == KAZAKH
    w = np.asarray(weight, dtype=np.float64)
    return (np.bincount(region[kaz], w[kaz], minlength=n),
            np.bincount(region[~kaz], w[~kaz], minlength=n))


def home_women_mass(sex: np.ndarray, status: np.ndarray, region: np.ndarray,
                    ethnicity: np.ndarray, age: np.ndarray, shape: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`women_mass` of the women at home (``sex == 1``, status HOME) among all persons.

    ``shape`` is the fertility shape by age. One compiled pass over the persons instead of
    the masks and gathers of ``women_mass(region[w], ethnicity[w], shape[age[w]])``; each
    region's sum adds the same values in the same (person) order, so the sums are the same.

    Examples
    --------
    >>> k, o = home_women_mass(np.array([1, 1, 0, 1]), np.array([0, 0, 0, 3]),
    ...                        np.array([0, 0, 1, 1]), np.array([0, 1, 0, 0]),
    ...                        np.array([1, 2, 0, 2]), np.array([0.0, 1.0, 2.0]))
    >>> k[:2].tolist(), o[:2].tolist()
    ([1.0, 0.0], [2.0, 0.0])
    """
    return _home_women_mass(sex, status, region, ethnicity, age, shape, HOME, KAZAKH,
                            len(datasets.REGIONS))


@njit(cache=True, nogil=True)
def _home_women_mass(sex, status, region, ethnicity, age, shape, home, kazakh, n_regions):
    mass_kazakh = np.zeros(n_regions)
    mass_other = np.zeros(n_regions)
    for i in range(len(sex)):
        if sex[i] == 1 and status[i] == home:
            w = np.float64(shape[age[i]])
            if ethnicity[i] == kazakh:
                mass_kazakh[region[i]] += w
            else:
                mass_other[region[i]] += w
    return mass_kazakh, mass_other


def fit_levels(mass_kazakh: np.ndarray, mass_other: np.ndarray, birth_rate: np.ndarray,
               population: np.ndarray, ratio: float) -> np.ndarray:
    """Level of the other (non-Kazakh) women of each region; Kazakh women have ``ratio`` times it.

    A region without fertile women gets level 0.
    """
    mass = ratio * np.asarray(mass_kazakh, float) + np.asarray(mass_other, float)
    births = np.asarray(birth_rate, float) * np.asarray(population, float)
    return np.divide(births, mass, out=np.zeros_like(mass), where=mass > 0)


def ethnic_ratio_least_squares(mass_kazakh: np.ndarray, mass_other: np.ndarray,
                               births: np.ndarray) -> float:
    """Kazakh/other fertility ratio from ``births[r] = a * M_kazakh[r] + b * M_other[r]``.

    Least squares across regions with one national level per group and no regional
    effects, so every regional difference in births per woman is read as ethnic: the
    method of the issue, kept as a diagnostic (see ``kazakh_fertility_ratio``).

    Examples
    --------
    >>> mk, mo = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    >>> round(ethnic_ratio_least_squares(mk, mo, 0.3 * mk + 0.1 * mo), 6)
    3.0
    """
    x = np.c_[mass_kazakh, mass_other]
    (a, b), *_ = np.linalg.lstsq(x, np.asarray(births, float), rcond=None)
    return float(a / b)


def projection_factor(year: int, change_per_decade: float) -> float:
    """Multiplier of the fitted levels in ``year``: 1 to 2018, then the stated change.

    Examples
    --------
    >>> projection_factor(2018, -0.1), round(projection_factor(2038, -0.1), 4)
    (1.0, 0.81)
    """
    if year <= _LAST_DATA_YEAR:
        return 1.0
    return float((1.0 + change_per_decade) ** ((year - _LAST_DATA_YEAR) / 10.0))


def level_table(level: np.ndarray, ratio: float, factor: float = 1.0) -> np.ndarray:
    """Birth levels by person group base (:meth:`Recorder.base`), as the births kernel reads.

    Examples
    --------
    >>> t = level_table(np.full(16, 0.1), 2.0)
    >>> base = Recorder.base(np.array([3, 3]), np.array([KAZAKH, KAZAKH + 1]))
    >>> [round(float(v), 6) for v in t[base]]
    [0.2, 0.1]
    """
    n_r, n_e = len(datasets.REGIONS), len(datasets.ETHNIC_GROUPS)
    region = np.repeat(np.arange(n_r), n_e)
    eth = np.tile(np.arange(n_e), n_r)
    out = np.zeros(Recorder.OUTSIDE + 1)
    out[Recorder.base(region, eth)] = (np.asarray(level, float)[region] * factor
                                       * np.where(eth == KAZAKH, ratio, 1.0))
    return out


def total_fertility(levels: np.ndarray, shape: np.ndarray, cap: float, base: np.ndarray,
                    age: np.ndarray) -> float:
    """Period total fertility of women at home with group bases ``base`` and ages ``age``.

    The sum over ages of the mean yearly birth probability of the women of that age
    (``min(levels[base] * shape[age], cap)``, as the births kernel draws): children a woman
    would have at this year's rates.

    Examples
    --------
    Two women aged 20 with probabilities 0.1 and 0.3, one aged 21 with 0.2: 0.2 + 0.2.

    >>> lv = np.zeros(Recorder.OUTSIDE + 1); lv[[0, 1]] = [0.1, 0.3]; lv[2] = 0.2
    >>> round(total_fertility(lv, np.ones(121), 0.95, np.array([0, 1, 2]),
    ...                       np.array([20, 20, 21])), 6)
    0.4
    """
    p = np.minimum(levels[base] * shape[age], cap)
    n = np.bincount(age, minlength=len(shape))
    s = np.bincount(age, p, minlength=len(shape))
    return float(np.divide(s, n, out=np.zeros(len(shape)), where=n > 0).sum())
