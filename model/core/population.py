"""Households and persons as parallel arrays, and the synthetic population of 1 January 2012.

A household is a slot in :class:`Households`; a person is a slot in :class:`Persons` with
the index of its household. Slots never move: a household that emigrates keeps its slot
and changes status, so draws stay aligned across scenarios. Both tables grow (amortised
doubling) when births, new households or immigrants need room.

How the 2012 population is built (assumptions are listed in ``model/data/README.md``):

* regions: official population on 1 January 2012 (BNS) divided by the scale;
* household sizes: 1 + Poisson(mean_household_size - 1), capped at max_household_size
  (12), the last household of a region trimmed so that its persons match the official
  count exactly;
* ages and sexes (:func:`structure_counts`, data of 2000-2018 only): ages 0-11 are the
  region's BNS births of 2000-2011 (``kz_births_deaths_by_region_2000_2018.csv``), split
  by the sex ratio at birth and survived with the region's 2012 life table; ages 12-100
  follow a stable shape, survivors ``l(x)`` of the 2012 table times ``exp(-g (x - 12))``,
  scaled to the persons the children leave, with ``g`` of each region solved so that the
  region's BNS deaths of 2012-2018 are reproduced in total by the structure's expected
  deaths (no age table of 2009-2018 exists in the data; the 2009 census average age of 31
  is a check: the result is 31.0); heads are adults of head_min_age (20) and over, other
  members take the rest of the distribution;
* education: pupils below secondary_age (16) basic, then secondary, from higher_age (22)
  by the 2009 census shares by sex;
* ethnicity (per household): 2009 census shares by region (partly assumed, see datasets);
* optimism: Beta with mean = Cantril ladder 2012 / 10 and concentration optimism_concentration;
* ties abroad: kin abroad with p_diaspora_european or p_diaspora_other;
* contacts: see :mod:`model.core.network`;
* abroad on 1 January 2012: students aged abroad_student_min_age-abroad_student_max_age
  (17-24) and labour migrants of working age (work_age_min-work_age_max, 18-62).

``BIRTH_COHORTS`` (the births file's years before 2012), ``DEATH_YEARS`` (its years from
2012) and ``MAX_AGE`` (the width of the single-year table) are definitions of the data and
the table; they stay constants.

Examples
--------
>>> from model.core.population import synthesize
>>> from model.params import defaults
>>> hh, pp = synthesize(defaults(), scale=2000, seed=1)
>>> 2000 < hh.n < 3000
True
"""

from __future__ import annotations

from functools import cache

import numpy as np

from model import datasets
from model.core.lifetables import life_table_params, life_tables
from model.core.network import ContactPools, draw_contacts
from model.core.recorder import Recorder
from model.core.rng import stream
from model.core.synthesis_kernels import (
    categories,
    cut_sizes,
    education_levels,
    member_cells,
)
from model.params import defaults

__all__ = [
    "Households", "Persons", "synthesize", "add_households", "age_sex_distribution",
    "HOME", "LABOUR", "STUDY", "EMIGRATED", "DEAD", "RESIDENT", "HH_EMIGRATED", "DISSOLVED",
    "MAX_AGE", "POPULATION_PARAMS", "structure_counts", "age_gradient", "BIRTH_COHORTS",
    "YOUNG_AGES", "STRUCTURE_YEAR", "DEATH_YEARS", "window_death_weight",
]

from model.core.states import (
    DEAD,
    DISSOLVED,
    EMIGRATED,
    HH_EMIGRATED,
    HOME,
    INDEX_DTYPE,
    LABOUR,
    RESIDENT,
    STUDY,
)

MAX_AGE = 100
"""Oldest single year of the synthetic 2012 age distribution (the width of its table)."""


class _Table:
    """Parallel arrays of one length ``n`` with spare capacity."""

    _fields: dict[str, tuple[type, tuple[int, ...]]] = {}

    def __init__(self, capacity: int, **shapes: int):
        self.n = 0
        self._extra = shapes
        for name, (dtype, extra) in self._fields.items():
            shape = (capacity, *(shapes.get(e, e) for e in extra))
            setattr(self, "_" + name, np.zeros(shape, dtype=dtype))

    @property
    def capacity(self) -> int:
        return len(getattr(self, "_" + next(iter(self._fields))))

    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more slots (doubling, so appends are amortised O(1))."""
        need = self.n + extra
        if need <= self.capacity:
            return
        cap = max(need, int(self.capacity * 1.5) + 16)
        for name in self._fields:
            old = getattr(self, "_" + name)
            new = np.zeros((cap, *old.shape[1:]), dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, "_" + name, new)

    _start_values: dict = {}
    """Fields that may be left out of :meth:`append`, with the value new rows get."""

    def append(self, **columns: np.ndarray) -> slice:
        """Append rows given as arrays (all fields required but those with a start value)."""
        k = len(next(iter(columns.values())))
        self.reserve(k)
        sl = slice(self.n, self.n + k)
        for name in self._fields:
            # a field with a start value may be left out (e.g. a person's intention)
            getattr(self, "_" + name)[sl] = (columns[name] if name in columns
                                             else self._start_values[name])
        self.n += k
        return sl

    def copy(self, capacity: int | None = None) -> _Table:
        """A deep copy of the table with ``capacity`` slots (default: this table's).

        The copy holds the same values in its ``n`` used slots and zeros in the spare ones,
        as a table built by appends does, so it grows and behaves exactly like this one.
        """
        cap = self.capacity if capacity is None else max(int(capacity), self.n)
        new = object.__new__(type(self))
        new.n = self.n
        new._extra = dict(self._extra)
        for name in self._fields:
            old = getattr(self, "_" + name)
            arr = np.zeros((cap, *old.shape[1:]), dtype=old.dtype)
            arr[: self.n] = old[: self.n]
            setattr(new, "_" + name, arr)
        return new

    @property
    def nbytes(self) -> int:
        """Bytes of the used slots of every field."""
        return sum(getattr(self, name).nbytes for name in self._fields)

    def __getattr__(self, name: str) -> np.ndarray:
        # views of the used part: ``hh.region`` is ``hh._region[:hh.n]``
        if name in type(self)._fields:
            return self.__dict__["_" + name][: self.__dict__["n"]]
        raise AttributeError(name)


class Households(_Table):
    """Household slots: region, ethnicity, optimism, kin abroad, contacts, head, status.

    Examples
    --------
    >>> h = Households(4, k=3)
    >>> h.contacts.shape
    (0, 3)
    """

    _fields = {
        "region": (np.int8, ()),
        "ethnicity": (np.int8, ()),
        "optimism": (np.float32, ()),
        "diaspora": (np.bool_, ()),
        "status": (np.int8, ()),
        "head": (np.dtype(INDEX_DTYPE), ()),
        "contacts": (np.dtype(INDEX_DTYPE), ("k",)),
        "emigrated_year": (np.int16, ()),
        "ties_before": (np.float32, ()),
    }
    # the year a household emigrated (0 while it has not): weighs it as a contact abroad;
    # contacts may be left out when they are drawn into the new rows right after;
    # ties_before: its contacts who emigrated before 2012 (model.core.ties), set by the
    # model after the synthesis (it depends on network_decay, not a population parameter)
    # and 0 for immigrants
    _start_values = {"emigrated_year": 0, "contacts": 0, "ties_before": 0.0}

    def __init__(self, capacity: int, k: int):
        super().__init__(capacity, k=k)


class Persons(_Table):
    """Person slots: household index, age, sex (0 male, 1 female), education, status.

    ``region`` and ``ethnicity`` copy the household's (they never change for a person) so
    that tallies by group need no gather through the household index. ``death_age`` is
    drawn once from the life table (see :func:`model.core.demography.death_age`);
    ``group_base`` is the region-and-ethnicity part of the recorder's group code
    (:meth:`model.core.recorder.Recorder.code`).

    Education is 0 basic, 1 secondary, 2 higher; status is HOME, LABOUR, STUDY, EMIGRATED
    or DEAD; ``years_abroad`` counts completed years of the current stay abroad;
    ``intending`` is 1 for an adult who intends to emigrate permanently (kept from year to
    year, see :func:`model.core.kernels.update_intentions`).

    Examples
    --------
    >>> Persons(10).n
    0
    """

    _fields = {
        "hh": (np.dtype(INDEX_DTYPE), ()),
        "age": (np.int16, ()),
        "sex": (np.int8, ()),
        "edu": (np.int8, ()),
        "status": (np.int8, ()),
        "years_abroad": (np.int8, ()),
        "region": (np.int8, ()),
        "ethnicity": (np.int8, ()),
        "death_age": (np.int16, ()),
        "group_base": (np.int32, ()),
        "intending": (np.int8, ()),
    }
    # newborns and arrivals start without an intention to emigrate
    _start_values = {"intending": 0}

    def __init__(self, capacity: int):
        super().__init__(capacity)


BIRTH_COHORTS = (2000, 2011)
"""Birth years whose BNS births by region (``kz_births_deaths_by_region_2000_2018.csv``) give
the persons aged 0-11 on 1 January 2012: the first and last year of that file before 2012."""
YOUNG_AGES = BIRTH_COHORTS[1] - BIRTH_COHORTS[0] + 1
"""Single years of age (0 to YOUNG_AGES - 1) built from the births of BIRTH_COHORTS."""
STRUCTURE_YEAR = 2012
"""Year of the synthetic population (1 January)."""
DEATH_YEARS = (2012, 2018)
"""Years of the BNS deaths by region whose total the older ages of 2012 are solved to."""
_GRADIENT_BOUNDS = (-0.1, 0.2)  # bracket of the yearly gradient (per year of age) searched


def _survivors(q: np.ndarray) -> np.ndarray:
    """Survivors to the middle of each year of age, ``sqrt(l(x) l(x + 1))``, ``l(0) = 1``.

    A person aged ``x`` on 1 January was born ``x`` to ``x + 1`` years before, so half a year
    into age ``x`` on average.
    """
    lx = np.concatenate([np.ones(q.shape[:-1] + (1,)), np.cumprod(1.0 - q, axis=-1)], axis=-1)
    return np.sqrt(lx[..., :-1] * lx[..., 1:])


def structure_counts(births: np.ndarray, population: np.ndarray, deaths: np.ndarray,
                     q: np.ndarray, male_share: float, young: int = YOUNG_AGES,
                     death_weight: np.ndarray | None = None,
                     iterations: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Persons by region, sex and single year of age, and the gradient of each region.

    Parameters
    ----------
    births : ndarray, shape (regions, young)
        Births of each region ``x + 1`` calendar years before the structure's year, for
        ages ``x = 0 .. young - 1``.
    population, deaths : ndarray, shape (regions,)
        Persons on 1 January, and the deaths among them to be matched (during the year,
        or over a window, see ``death_weight``).
    q : ndarray, shape (2, regions, ages)
        Yearly death probabilities of the year's period tables (men, women): the survivors.
    male_share : float
        Share of boys at birth.
    young : int
        Ages built from births (0 to ``young - 1``); older ages follow the stable shape.
    death_weight : ndarray, shape (2, regions, ages), optional
        Expected deaths per person of each age on 1 January (default ``q``: the deaths of
        the year; :func:`window_death_weight` for a window of years).
    iterations : int
        Bisection steps on ``g`` (60 reach machine precision on the bracket).

    Returns
    -------
    counts : ndarray, shape (regions, 2, ages)
        Ages below ``young``: ``births * sex share * survivors``. Older ages: the stable
        shape ``sex share * survivors(x) * exp(-g * (x - young))``, scaled to the persons
        the young leave; ``g`` of each region (bisection) makes the expected deaths,
        ``sum(counts * death_weight)``, equal ``deaths`` (within the bracket).
    gradient : ndarray, shape (regions,)

    Examples
    --------
    One region of 100 persons, ages 0-2, deaths only at age 2 (q = 0.75, so survivors 1,
    1 and sqrt(0.25) = 0.5), young = 1: the 20 births give 20 persons aged 0; the other 80
    go to ages 1 and 2 in the ratio 1 : 0.5 e^-g. 20 deaths need 20 / 0.75 = 26.67 persons
    aged 2, hence 53.33 aged 1 and g = 0.

    >>> q = np.tile(np.array([0.0, 0.0, 0.75]), (2, 1, 1))
    >>> c, g = structure_counts(np.array([[20.0]]), np.array([100.0]), np.array([20.0]), q,
    ...                         0.5, young=1)
    >>> [round(float(v), 3) for v in c[0].sum(axis=0)], abs(round(float(g[0]), 6))
    ([20.0, 53.333, 26.667], 0.0)
    """
    births = np.asarray(births, float)
    n_r, n_a = births.shape[0], q.shape[-1]
    ages = np.arange(n_a)
    sex_share = np.array([male_share, 1.0 - male_share])[None, :, None]
    surv = np.moveaxis(_survivors(q), 0, 1)                      # region, sex, age
    counts = np.zeros((n_r, 2, n_a))
    counts[:, :, :young] = births[:, None, :] * sex_share * surv[:, :, :young]
    rest = np.asarray(population, float) - counts.sum(axis=(1, 2))
    q_rs = np.moveaxis(q if death_weight is None else death_weight, 0, 1)
    older = ages >= young

    def fill(g: np.ndarray) -> np.ndarray:
        w = sex_share * surv * np.exp(-g[:, None, None] * (ages - young)) * older
        return w * (rest / w.sum(axis=(1, 2)))[:, None, None]

    def excess(g: np.ndarray) -> np.ndarray:
        return ((counts + fill(g)) * q_rs).sum(axis=(1, 2)) - np.asarray(deaths, float)

    lo = np.full(n_r, _GRADIENT_BOUNDS[0])   # most old persons: the most deaths
    hi = np.full(n_r, _GRADIENT_BOUNDS[1])
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        too_many = excess(mid) > 0
        lo = np.where(too_many, mid, lo)
        hi = np.where(too_many, hi, mid)
    g = 0.5 * (lo + hi)
    return counts + fill(g), g


def window_death_weight(q: np.ndarray) -> np.ndarray:
    """Expected deaths over a window of years per person of each age at its start.

    ``q`` holds the period death probabilities of each year of the window, shape
    (years, ..., ages); a person aged ``x`` at the start dies in year ``k`` with
    probability ``prod(1 - q[j, x + j] for j < k) * q[k, x + k]`` (ages beyond the table
    take its last age).

    Examples
    --------
    Two years, q = 0.1 then 0.2 at every age: 0.1 + 0.9 * 0.2 = 0.28.

    >>> w = window_death_weight(np.array([[0.1, 0.1, 0.1], [0.2, 0.2, 0.2]]))
    >>> [round(float(v), 6) for v in w]
    [0.28, 0.28, 0.28]
    """
    q = np.asarray(q, float)
    n_y, n_a = q.shape[0], q.shape[-1]
    ages = np.arange(n_a)
    alive = np.ones(q.shape[1:])
    weight = np.zeros(q.shape[1:])
    for k in range(n_y):  # years of the window (seven), not persons
        qk = q[k][..., np.minimum(ages + k, n_a - 1)]
        weight += alive * qk
        alive = alive * (1.0 - qk)
    return weight


@cache
def _structure(life: tuple) -> tuple[np.ndarray, np.ndarray]:
    """:func:`structure_counts` of 1 January 2012 from the data and the life tables ``life``.

    The older ages are solved so that the expected deaths of the persons of 1 January 2012
    over DEATH_YEARS, plus those of the children born in the window (BNS births), equal the
    BNS deaths of the window, region by region.
    """
    tables = life_tables(life)
    lo, hi = BIRTH_COHORTS
    births = datasets.births_by_region()
    young = births.loc[lo:hi].to_numpy(float)[::-1].T  # age 0 first
    first, last = DEATH_YEARS
    q_years = np.stack([tables.period_q(y) for y in range(first, last + 1)])  # y, sex, r, age
    weight = window_death_weight(q_years)[:, :, : MAX_AGE + 1]
    male = tables.sex_ratio / (tables.sex_ratio + 100.0)
    # children born in year first + j enter at age 0 the next year and meet the rest
    newborn_deaths = np.zeros(len(datasets.REGIONS))
    for j in range(last - first):
        w0 = window_death_weight(q_years[j + 1:])[:, :, 0]  # sex, region
        newborn_deaths += births.loc[first + j].to_numpy(float) * (male * w0[0]
                                                                 + (1 - male) * w0[1])
    observed = datasets.deaths_by_region().loc[first:last].to_numpy(float).sum(axis=0)
    counts, g = structure_counts(young, datasets.population_by_region(STRUCTURE_YEAR),
                                 observed - newborn_deaths,
                                 tables.period_q(STRUCTURE_YEAR)[:, :, : MAX_AGE + 1], male,
                                 death_weight=weight)
    for a in (counts, g):
        a.setflags(write=False)
    return counts, g


def age_sex_distribution(region: int, params: dict | None = None) -> np.ndarray:
    """Share of a region's 2012 population by sex (rows: men, women) and single year of age.

    Built by :func:`structure_counts` (see the module docstring) with the life tables of
    ``params`` (default: the registry defaults).

    Examples
    --------
    >>> d = age_sex_distribution(0)
    >>> d.shape, round(float(d.sum()), 6)
    ((2, 101), 1.0)
    """
    counts, _ = _structure(life_table_params(defaults() if params is None else params))
    out = counts[region] / counts[region].sum()
    out.setflags(write=False)
    return out


def age_gradient(params: dict | None = None) -> np.ndarray:
    """The solved gradient ``g`` of each region (per year of age; see :func:`structure_counts`).

    Examples
    --------
    >>> g = age_gradient()
    >>> g.shape, bool((g > -0.1).all() and (g < 0.2).all())
    ((16,), True)
    """
    return _structure(life_table_params(defaults() if params is None else params))[1]


def _education(age: np.ndarray, sex: np.ndarray, u: np.ndarray, secondary_age: int,
               higher_age: int) -> np.ndarray:
    shares = datasets.education_shares()
    cum_m = np.cumsum(shares["male"])
    cum_f = np.cumsum(shares["female"])
    # per person: 0 / 1 by age, else (u >= first) + (u >= second) of the sex (compiled)
    return education_levels(age, sex, u, secondary_age, higher_age,
                            np.array([cum_m[0], cum_f[0]]), np.array([cum_m[1], cum_f[1]]))


def _sizes_by_region(rng: np.random.Generator, persons: np.ndarray, mean_size: float,
                     max_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Household sizes and regions such that each region's sizes sum to ``persons[r]``.

    One stream of i.i.d. sizes is laid end to end over the regions' person ranges; a
    household that would cross into the next region's range is trimmed to fit.
    """
    total = int(persons.sum())
    if total <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    n_guess = int(total / mean_size * 1.2) + 16
    sizes = _capped_sizes(rng, mean_size, max_size, n_guess)
    while sizes.sum() < total:  # rare: extend the draw
        sizes = np.concatenate([sizes, _capped_sizes(rng, mean_size, max_size, n_guess)])
    # cut every household at the region boundaries and at the total (compiled)
    return cut_sizes(sizes, np.cumsum(persons))


def _capped_sizes(rng: np.random.Generator, mean_size: float, max_size: int,
                  n: int) -> np.ndarray:
    """``np.minimum(1 + rng.poisson(mean_size - 1.0, n), max_size)``, in place."""
    sizes = rng.poisson(mean_size - 1.0, n)
    sizes += 1
    return np.minimum(sizes, max_size, out=sizes)


def _stacked_cdf(pdf: np.ndarray) -> np.ndarray:
    """Row-wise CDFs of ``pdf`` (regions x cells), row r shifted by r, flattened.

    One ``searchsorted(table, r + u)`` then samples from row r for every r at once.
    """
    cdf = np.cumsum(pdf, axis=1)
    cdf[:, -1] = 1.0
    return (cdf + np.arange(len(pdf))[:, None]).ravel()


@cache
def _age_tables(head_min_age: int, life: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Every region's (sex, age) distribution, of all persons and of heads (cached)."""
    adult = np.tile(np.arange(MAX_AGE + 1) >= head_min_age, 2)
    counts, _ = _structure(life)
    all_pdf = counts.reshape(len(counts), -1)
    all_pdf = all_pdf / all_pdf.sum(axis=1, keepdims=True)
    head_pdf = all_pdf * adult
    head_pdf /= head_pdf.sum(axis=1, keepdims=True)
    return all_pdf, head_pdf


def _members(rng: np.random.Generator, sizes: np.ndarray, region: np.ndarray,
             tables: tuple[np.ndarray, np.ndarray]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ages and sexes of members, heads first in each household.

    ``tables`` are :func:`_age_tables` of the run's parameters. Heads are drawn from their
    region's adults (``head_min_age`` and over); other members from what the heads
    leave of the region's distribution: ``all * persons - heads * households``, clipped at
    zero. Returns (household of each person, int32; age, int16; sex, int8), persons
    grouped by household.
    """
    all_pdf, head_pdf = tables
    n_regions = len(all_pdf)
    heads_r = np.bincount(region, minlength=n_regions)[:, None]
    persons_r = np.bincount(region, weights=sizes, minlength=n_regions).astype(np.int64)[:, None]
    rest = np.clip(all_pdf * persons_r - head_pdf * heads_r, 0.0, None)
    total = rest.sum(axis=1, keepdims=True)
    rest = np.where(total > 0, rest / np.maximum(total, 1e-300), all_pdf)
    # the heads' uniforms, then the other members' (in person order), as the draws were made
    u_head = rng.random(len(sizes))
    u_rest = rng.random(int(sizes.sum()) - len(sizes))
    # each person's cell: np.searchsorted(_stacked_cdf(table), r + u) - r * n_cells, clipped
    return member_cells(sizes, region, _stacked_cdf(head_pdf), _stacked_cdf(rest), u_head,
                        u_rest, MAX_AGE + 1)


def add_households(hh: Households, pp: Persons, params: dict, *, seed: int, year: int,
                   label: str, region_persons: np.ndarray, ethnicity_shares: np.ndarray,
                   higher_share: float | None = None,
                   pools: ContactPools | None = None) -> np.ndarray:
    """Create households for the given persons per region and append them.

    Parameters
    ----------
    hh, pp : Households, Persons
        Tables to append to.
    params : dict
        Full parameter set.
    seed, year : int
        Run seed and year (select the random streams).
    label : str
        Stream name prefix (``"population"`` or ``"immigration"``).
    region_persons : ndarray of int, shape (16,)
        Persons to create in each region.
    ethnicity_shares : ndarray, shape (16, 8)
        Ethnic composition of the new households by region.
    higher_share : float, optional
        Share of the new persons (all ages) with higher education, all of them aged
        ``higher_age`` and over (at most every one of those); else the 2009 census shares
        by sex.
    pools : ContactPools, optional
        The contact groups of the households before these, kept by the caller across
        calls (:class:`model.core.network.ContactPools`; the same contacts, drawn faster).

    Returns
    -------
    ndarray of int
        Indices of the new households.

    Examples
    --------
    >>> from model.params import defaults
    >>> h, p = Households(0, k=8), Persons(0)
    >>> shares = np.tile(np.eye(8)[0], (16, 1))
    >>> new = add_households(h, p, defaults(), seed=1, year=2012, label="t",
    ...                      region_persons=np.full(16, 20), ethnicity_shares=shares)
    >>> int(p.n)
    320
    """
    rng = stream(seed, label, year)
    mean_size = float(params["mean_household_size"])
    first_hh = hh.n
    sizes, region = _sizes_by_region(rng, np.asarray(region_persons, dtype=np.int64), mean_size,
                                     int(params["max_household_size"]))
    if len(sizes) == 0:
        return np.zeros(0, dtype=np.int64)
    local, age, sex = _members(rng, sizes, region,
                               _age_tables(int(params["head_min_age"]),
                                           life_table_params(params)))
    region = region.astype(np.int8)
    n_new = len(region)

    # each household's group from its region's cumulative shares (compiled; the cumulative
    # sums of a region's row are the same numbers whether summed once or per household)
    ethnicity = categories(rng.random(n_new), region,
                           np.cumsum(np.asarray(ethnicity_shares), axis=1))
    m = datasets.ladder(2012) / 10.0
    c = float(params["optimism_concentration"])
    optimism = rng.beta(m * c, (1 - m) * c, n_new).astype(np.float32)
    european = np.isin(ethnicity, [datasets.ETHNIC_GROUPS.index(g)
                                   for g in datasets.EUROPEAN_GROUPS])
    p_dia = np.where(european, params["p_diaspora_european"], params["p_diaspora_other"])
    diaspora = rng.random(n_new) < p_dia

    u_edu = rng.random(len(age))
    higher_age = int(params["higher_age"])
    edu = _education(age, sex, u_edu, int(params["secondary_age"]), higher_age)
    if higher_share is not None:
        # the share is of all the new persons (as the source counts every arrival, children
        # too), given to those of higher_age and over
        adult = age >= higher_age
        of_adults = min(1.0, higher_share * len(age) / max(int(adult.sum()), 1))
        edu[adult] = np.where(u_edu[adult] < of_adults, 2,
                              np.where(edu[adult] == 2, 1, edu[adult]))
    first_person = pp.n
    # ages of death along the cohort's future hazards in its region (model.core.lifetables)
    p_region, p_ethnicity = region[local], ethnicity[local]  # each person's household's
    owner = np.add(local, first_hh, out=local)  # in place: local is not needed after
    dies_at = life_tables(params).death_age(
        age, sex, p_region, year, stream(seed, label + ".death_age", year).random(len(age)))
    pp.append(hh=owner, age=age, sex=sex, edu=edu,
              status=np.full(len(age), HOME, np.int8),
              years_abroad=np.zeros(len(age), np.int8), region=p_region,
              ethnicity=p_ethnicity, death_age=dies_at,
              group_base=Recorder.base(p_region, p_ethnicity))
    # every household's first member (its head): where the households' runs of persons start
    heads = first_person + np.concatenate([[0], np.cumsum(sizes)[:-1]])
    sl = hh.append(region=region, ethnicity=ethnicity, optimism=optimism, diaspora=diaspora,
                   status=np.full(n_new, RESIDENT, np.int8), head=heads)
    new = np.arange(sl.start, sl.stop)
    draw_contacts(stream(seed, label + ".contacts", year), hh.region, new,
                  int(params["n_contacts"]), float(params["p_contact_in_region"]), hh.ethnicity,
                  float(params["p_contact_same_ethnicity"]), out=hh.contacts[sl], pools=pools)
    return new


POPULATION_PARAMS = ("abroad_student_max_age", "abroad_student_min_age",
                     "gompertz_a", "gompertz_b", "head_min_age",
                     "higher_age", "infant_mortality", "life_expectancy_gain_per_decade",
                     "male_mortality_excess",
                     "max_household_size", "mean_household_size", "mortality_level",
                     "n_contacts", "optimism_concentration", "p_contact_in_region",
                     "p_contact_same_ethnicity", "p_return_labour", "p_settle_labour",
                     "p_diaspora_european", "p_diaspora_other",
                     "secondary_age", "sex_ratio_birth", "study_years", "work_age_max",
                     "work_age_min")
"""Every parameter :func:`synthesize` reads: the population of a run depends on these, its
scale and its seed, and on nothing else (tests/test_population_cache.py checks the list
against the keys ``synthesize`` actually reads)."""


def synthesize(params: dict, *, scale: float, seed: int) -> tuple[Households, Persons]:
    """Build the synthetic population of 1 January 2012 at ``scale`` real households per slot.

    Parameters
    ----------
    params : dict
        Full parameter set (see :mod:`model.params`).
    scale : float
        Real persons represented by one simulated person (1 = full population).
    seed : int
        Run seed.

    Returns
    -------
    (Households, Persons)

    Examples
    --------
    >>> from model.params import defaults
    >>> hh, pp = synthesize(defaults(), scale=5000, seed=3)
    >>> abs(pp.n * 5000 - 16673933) < 5000 * 16
    True
    """
    target = np.rint(datasets.population_by_region(2012) / scale).astype(np.int64)
    est_hh = int(target.sum() / params["mean_household_size"] * 1.1) + 16
    hh = Households(est_hh, k=int(params["n_contacts"]))
    pp = Persons(int(target.sum() * 1.1) + 16)
    add_households(hh, pp, params, seed=seed, year=2012, label="population",
                   region_persons=target,
                   ethnicity_shares=datasets.ethnicity_by_region())
    _place_abroad(hh, pp, params, seed=seed, scale=scale)
    return hh, pp


def _place_abroad(hh: Households, pp: Persons, params: dict, *, seed: int, scale: float) -> None:
    """Send the 2012 stocks of students and labour migrants abroad.

    Students are aged ``abroad_student_min_age``-``abroad_student_max_age`` (17-24), labour
    migrants of working age (``work_age_min``-``work_age_max``, 18-62). Chosen uniformly
    among eligible non-heads (heads where nobody else is eligible are left at home);
    students get 0 to study_years - 1 completed years, evenly.

    The EEC figure of 2012 is a yearly flow of labour migrants (see
    ``calibration/targets/README.md``); the stock abroad on 1 January 2012 is that flow
    over the yearly exit rate ``p_return_labour + p_settle_labour`` (the steady state of
    a constant flow with those exits: 34,374 / 0.37 = about 93 thousand at the defaults).
    """
    stocks = dict(datasets.initial_abroad())
    exits = float(params["p_return_labour"] + params["p_settle_labour"])
    # no exits at all: nobody would ever come back, so every eligible person is abroad
    stocks["labour"] = stocks["labour"] / exits if exits > 0 else np.inf
    rng = stream(seed, "population.abroad", 2012)
    not_head = np.ones(pp.n, dtype=bool)
    not_head[hh.head] = False
    p = params
    for status, lo, hi, total in ((STUDY, int(p["abroad_student_min_age"]),
                                   int(p["abroad_student_max_age"]), stocks["students"]),
                                  (LABOUR, int(p["work_age_min"]), int(p["work_age_max"]),
                                   stocks["labour"])):
        eligible = np.flatnonzero((pp.age >= lo) & (pp.age <= hi) & not_head
                                  & (pp.status == HOME))
        expected = min(total / scale, float(len(eligible)))
        n = min(len(eligible), int(expected) + int(rng.random() < expected % 1))
        chosen = rng.choice(eligible, size=n, replace=False)
        pp.status[chosen] = status
        if status == STUDY:
            pp.years_abroad[chosen] = rng.integers(0, int(params["study_years"]), n)
