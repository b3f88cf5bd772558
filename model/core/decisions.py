"""Utilities and choice probabilities of the yearly household decision (no random draws).

Each resident household weighs four alternatives: stay (utility 0), emigrate for good
(a nest of two destinations, CIS and non-CIS), send a working-age member abroad for work,
and send a member aged 16-24 abroad to study. Utilities are sums of named push and pull
terms, each with a parameter of :mod:`model.params`::

    V_emigrate,d = asc_emigrate + [d = non-CIS] (asc_noncis + b_german_noncis [German]
                                 + b_destination_gap * destination shift(region, year))
                   + b_income_emigrate * expected gap_d(region, year)
                   + b_age_emigrate * bump(head age) + b_higher_emigrate [head higher ed.]
                   + b_optimism_emigrate * (optimism - 0.5) + ethnicity term
                   + [d = CIS] (b_compatriot [Russian, Ukrainian, Tatar; year >= compatriot_year]
                                + b_eaeu_emigrate [year >= eaeu_year])
                   + b_network_emigrate * share of contacts abroad + b_diaspora [kin abroad]
                   + b_north_emigrate [northern/industrial region]
                   + b_grp_emigrate * log(region's GRP per person / national)
                   + b_origin_income_emigrate * log(region income ratio)
                   + b_hhsize_emigrate * (members - 1) + b_children_emigrate [children]
                   + b_devaluation_emigrate * devaluation(year)
                   + residual_emigrate * (min(year, residual_until) - 2012)
    V_labour     = asc_labour + b_income_labour * gap_RUS + b_age_labour * bump
                   + b_higher_labour [higher] + b_optimism_labour * (optimism - 0.5)
                   + b_network_labour * share + b_north_labour [north]
                   + b_eaeu_labour [year >= eaeu_year] + b_visa_labour [year >= visa_korea_year]
                   + residual_labour * (min(year, residual_until) - 2012)
    V_study      = asc_study + b_income_study * gap_RUS + b_higher_study [higher]
                   + b_optimism_study * (optimism - 0.5) + b_network_study * share
                   + residual_study * (min(year, residual_until) - 2012)

with ``bump(a) = exp(-((a - age_peak) / age_width)^2 / 2)`` and
``gap_RUS = gap_CIS = log(Russian wage in tenge / region's income per person in tenge)`` (a
common currency: the exchange rates move it) and
``gap_non-CIS = log(German GDP per person / Kazakhstan's, both in US dollars at market
rates) - log(region income ratio)`` (a common currency too: the tenge's devaluations widen
it, while the rouble's fall of 2014-2015 narrowed the gap to Russia).
``devaluation(year)`` is the expected fall of the tenge against the US dollar since 2012,
adaptive in ``expectation_memory`` and saturating in ``devaluation_saturation`` (0, the
default: linear; :func:`devaluation_expectation`). Emigration, a lasting
move, weighs the *expected* gaps (``Context.expected_cis``, ``expected_noncis``: the same
adaptive expectation of each year's gap since 2012), labour and study the current ones;
the destination shift is the change since 2012 of the expected non-CIS gap less the
expected CIS gap (``Context.destination_shift``), so that ``b_destination_gap`` moves the
split between the destinations, not its 2012 level (``asc_noncis``).
The ``residual_*`` terms (default 0) are what no named driver explains.
The share of contacts abroad weighs a contact with a member abroad 1 and an emigrated
contact ``(1 - network_decay) ** (years since it left - 1)`` (:func:`tie_weights`); the
household's contacts who emigrated before 2012 (``ties_before``, :mod:`model.core.ties`)
add ``ties_weight * (1 - ties_decay) ** (year - 2012) * ties_before`` to the count
(:func:`tie_before_weight`); the share is the count over ``n_contacts``, at most 1.
Labour needs a member aged 18-62 at home and study a member aged 16-24 at home; otherwise
that alternative is unavailable. Probabilities follow the nested logit: the emigration nest
has inclusive value ``nest_scale * logsumexp(V_d / nest_scale)``.

Examples
--------
>>> import numpy as np
>>> p = nested_logit(np.array([-9.0]), np.array([-9.0]), np.array([-50.0]),
...                  np.array([-50.0]), 1.0)
>>> bool(abs(p.stay[0] - 1) < 1e-3)
True
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from model import datasets
from model.drivers import Drivers, drivers_for

__all__ = ["Context", "Utilities", "Probabilities", "nested_logit",
           "UTILITY_TERMS", "UtilityCoefficients", "coefficients", "CellTerms", "HeadTerms",
           "UtilityTables", "utility_tables", "tie_weights", "TIE_YEARS", "tie_before_weight",
           "STAY", "EMIGRATE", "LABOUR", "STUDY",
           "ethnicity_coefficients", "age_bump", "devaluation_expectation", "intention_base"]

STAY, EMIGRATE, LABOUR, STUDY = 0, 1, 2, 3
UNAVAILABLE = -np.inf


@dataclass(frozen=True)
class Context:
    """What the year brings, the same for every household: per-region gaps and flags.

    ``gap_cis`` (also ``gap_labour`` and ``gap_study``) is the wage gap to Russia in a
    common currency, ``log(Russian wage in tenge / region's income per person in tenge)``;
    ``gap_noncis`` the gap to Germany in GDP per person at market exchange rates (a common
    currency as well); ``grp`` the log of the region's gross regional product per person
    over the population-weighted national mean; ``origin_income`` the log of the region's
    income per person over the national mean (the part of both gaps that is the origin's);
    ``destination_shift`` how much more the expected gap to Germany exceeds the expected
    gap to Russia than it did in 2012 (log points, by region; 0 in 2012);
    ``devaluation_shock`` the log fall of the tenge in the year's devaluation events (the
    driver ``devaluation_shock``: 0.177 in 2014, 0.304 in 2015, else 0).

    Examples
    --------
    >>> c = Context.for_year(2015, {"compatriot_year": 2013, "eaeu_year": 2015,
    ...                             "visa_korea_year": 2015})
    >>> c.compatriot_on, c.eaeu_on, c.visa_on, c.gap_cis.shape
    (True, True, True, (16,))
    """

    year: int
    gap_cis: np.ndarray
    gap_noncis: np.ndarray
    gap_labour: np.ndarray
    gap_study: np.ndarray
    compatriot_on: bool
    eaeu_on: bool
    visa_on: bool = False
    grp: np.ndarray = field(default_factory=lambda: np.zeros(len(datasets.REGIONS)))
    origin_income: np.ndarray = field(default_factory=lambda: np.zeros(len(datasets.REGIONS)))
    devaluation: float = 0.0
    devaluation_shock: float = 0.0
    expected_cis: np.ndarray | None = None
    expected_noncis: np.ndarray | None = None
    destination_shift: np.ndarray = field(
        default_factory=lambda: np.zeros(len(datasets.REGIONS)))

    def __post_init__(self) -> None:
        # without a history (a hand-made context) households expect this year's gaps
        if self.expected_cis is None:
            object.__setattr__(self, "expected_cis", self.gap_cis)
        if self.expected_noncis is None:
            object.__setattr__(self, "expected_noncis", self.gap_noncis)

    @classmethod
    def for_year(cls, year: int, params: dict, drivers: Drivers | None = None) -> Context:
        """Context from the drivers (wages, incomes, exchange rates, GRP, GDP in dollars).

        Destinations: Russia for CIS, labour and study (its average wage in tenge, so the
        tenge and rouble exchange rates move the gap); Germany for non-CIS (the largest
        non-CIS destination in 2018, kz_migration_targets.csv; GDP per person in US dollars
        at market rates, so the tenge's exchange rate moves this gap too).
        ``drivers`` are the run's (:class:`model.drivers.Drivers`; default: every series
        held after its data).
        """
        dr = drivers_for() if drivers is None else drivers
        memory = params.get("expectation_memory", 0.0)
        wage, deu, own = _gaps(dr, year)
        exp_cis, exp_noncis = wage, deu
        # the first year's gaps: the reference of the destination shift and the start of
        # the expectations (this year's own in the first year)
        base_cis, base_noncis = ((wage, deu) if year == _FX_BASE_YEAR
                                 else _gaps(dr, _FX_BASE_YEAR)[:2])
        if year > _FX_BASE_YEAR:  # adaptive expectations from the first year's gaps
            exp_cis, exp_noncis = base_cis, base_noncis
            for y in range(_FX_BASE_YEAR + 1, year + 1):
                w, d, _ = _gaps(dr, y) if y < year else (wage, deu, own)
                exp_cis = memory * exp_cis + (1.0 - memory) * w
                exp_noncis = memory * exp_noncis + (1.0 - memory) * d
        grp = dr.value("grp_per_capita_by_region", year)
        pop = dr.value("population_by_region", year)
        rel_grp = np.log(grp / (grp @ pop / pop.sum()))
        fx = [dr.value("kzt_per_usd", y)
              for y in range(_FX_BASE_YEAR, max(year, _FX_BASE_YEAR) + 1)]
        return cls(year=year, gap_cis=wage, gap_noncis=deu, gap_labour=wage, gap_study=wage,
                   compatriot_on=year >= params["compatriot_year"],
                   eaeu_on=year >= params["eaeu_year"],
                   visa_on=year >= params.get("visa_korea_year", 10_000), grp=rel_grp,
                   origin_income=own,
                   devaluation=devaluation_expectation(
                       fx, memory, params.get("devaluation_saturation", 0.0)),
                   devaluation_shock=dr.value("devaluation_shock", year),
                   expected_cis=exp_cis, expected_noncis=exp_noncis,
                   destination_shift=(exp_noncis - exp_cis) - (base_noncis - base_cis))


def _gaps(dr: Drivers, year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The year's gaps to Russia and Germany and the origin's log income ratio, by region.

    The wage gap to Russia in tenge, the GDP gap to Germany in dollars, and the log of each
    region's income ratio (the origin's part of both gaps).
    """
    own = np.log(dr.value("income_ratio_by_region", year))
    wage = np.log(dr.value("russia_wage_kzt", year) / dr.value("income_kzt", year)) - own
    deu = np.log(dr.value("gdp_usd_deu", year) / dr.value("gdp_usd_kaz", year)) - own
    return wage, deu, own


def intention_base(p_emigrate: np.ndarray, scale: float) -> np.ndarray:
    """Yearly chance that an adult at the age profile's peak forms an intention to emigrate.

    The household's probability of choosing emigration in the year times ``scale``
    (``intention_scale``), at most 1 (float32): the survey's "plans to move abroad" is a
    wider wish than the year's choice.

    Examples
    --------
    >>> [round(float(v), 6) for v in intention_base(np.array([0.1, 0.5], dtype=np.float32), 3.0)]
    [0.3, 1.0]
    """
    return np.minimum(p_emigrate * np.float32(scale), np.float32(1.0))


_FX_BASE_YEAR = 2012
"""The reference year of :func:`devaluation_expectation` (the model's first year)."""


def devaluation_expectation(kzt_per_usd, memory: float, saturation: float = 0.0) -> float:
    """Expected log fall of the tenge against the dollar since the first of ``kzt_per_usd``.

    Adaptive expectations: with ``x_t = log(rate_t / rate_0)`` (tenge per US dollar, the
    first value is the reference year), ``E_0 = 0`` and ``E_t = memory * E_(t-1) + (1 -
    memory) * g(x_t)``; the last ``E`` is returned. The devaluations of February 2014 and
    August 2015 (the tenge lost more than half its dollar value) reach emigration gradually,
    as households come to expect that the loss of their earnings' and savings' value in a
    common currency lasts. ``memory`` 0 gives the current depreciation.

    ``g(x) = x`` at ``saturation`` 0 (``devaluation_saturation``), else ``g(x) = (1 -
    exp(-saturation * x)) / saturation``: the first fall weighs fully and further falls
    less, up to ``1 / saturation`` (the same slope at 0; a response to the loss of trust
    a devaluation signals rather than to its size).

    Examples
    --------
    >>> round(devaluation_expectation([100.0, 200.0], 0.5), 4)  # 0.5 * log 2
    0.3466
    >>> devaluation_expectation([150.0], 0.5)  # the reference year itself
    0.0
    >>> round(devaluation_expectation([100.0, 200.0], 0.0, 2.0), 4)  # (1 - 2**-2) / 2
    0.375
    """
    base = float(np.log(kzt_per_usd[0]))
    e = 0.0
    for rate in kzt_per_usd[1:]:  # a few years of one national series, not a per-agent loop
        x = float(np.log(rate)) - base
        if saturation > 0.0:
            x = float(-np.expm1(-saturation * x)) / saturation
        e = memory * e + (1.0 - memory) * x
    return e


@dataclass
class Utilities:
    """Systematic utilities of the non-stay alternatives (stay is 0)."""

    cis: np.ndarray
    noncis: np.ndarray
    labour: np.ndarray
    study: np.ndarray


class Probabilities(NamedTuple):
    """Choice probabilities; ``noncis`` is P(non-CIS | emigrate).

    A named tuple, so that the compiled draw (:func:`model.core.kernels.realise`) takes it
    whole and reads each alternative by name.
    """

    stay: np.ndarray
    emigrate: np.ndarray
    labour: np.ndarray
    study: np.ndarray
    noncis: np.ndarray

    def stacked(self) -> np.ndarray:
        """Array of shape (n, 4): stay, emigrate, labour, study."""
        return np.stack([self.stay, self.emigrate, self.labour, self.study], axis=1)


def ethnicity_coefficients(params: dict) -> np.ndarray:
    """Emigration utility of each ETHNIC_GROUP relative to Kazakhs.

    Examples
    --------
    >>> from model.params import defaults
    >>> float(ethnicity_coefficients(defaults())[0])
    0.0
    """
    other = params["b_other_ethnic"]
    by_name = {"Kazakh": 0.0, "Russian": params["b_russian"], "Uzbek": other,
               "Ukrainian": params["b_ukrainian"], "Uighur": other, "Tatar": params["b_tatar"],
               "German": params["b_german"], "Other": params["b_other_group"]}
    return np.array([by_name[g] for g in datasets.ETHNIC_GROUPS], dtype=np.float32)


def age_bump(age: np.ndarray, peak: float, width: float) -> np.ndarray:
    """Gaussian bump of the head's age around ``peak`` (1 at the peak).

    Examples
    --------
    >>> age_bump(np.array([35, 45]), 35.0, 10.0).round(3)
    array([1.   , 0.607], dtype=float32)
    """
    z = (age.astype(np.float32) - np.float32(peak)) / np.float32(width)
    return np.exp(np.float32(-0.5) * z * z)


_AGES = np.arange(121)
_NORTH = np.array([r in datasets.NORTH_INDUSTRIAL for r in datasets.REGIONS])
_COMPATRIOT = np.array([g in datasets.COMPATRIOT_GROUPS for g in datasets.ETHNIC_GROUPS])
_GERMAN = datasets.ETHNIC_GROUPS.index("German")


UTILITY_TERMS = ("b_optimism_emigrate", "b_network_emigrate", "b_children_emigrate",
                 "b_optimism_labour", "b_network_labour", "b_optimism_study",
                 "b_network_study", "nest_scale")
"""The coefficients the compiled decision applies household by household, each named by its
parameter (the other terms are summed into the cell and head tables beforehand).

The one list of them: :class:`UtilityCoefficients` is built from it and the kernel reads
each coefficient by this name, so adding, removing or reordering a term cannot shift the
others. (By name rather than by integer positions derived from this list: numba caches a
compiled kernel with the globals it read frozen in, and does not notice when another file
changes, while a reordered named tuple is a new argument type and compiles anew.)
"""

class UtilityCoefficients(namedtuple("UtilityCoefficients", UTILITY_TERMS)):
    """The coefficients of :data:`UTILITY_TERMS` (float32), by name (fields: those terms).

    Examples
    --------
    >>> from model.params import defaults
    >>> c = coefficients(defaults())
    >>> c._fields == UTILITY_TERMS, bool(c.nest_scale == np.float32(defaults()["nest_scale"]))
    (True, True)
    """

    __slots__ = ()


def coefficients(params: dict) -> UtilityCoefficients:
    """The :data:`UTILITY_TERMS` of ``params`` as float32 scalars.

    Examples
    --------
    >>> from model.params import defaults
    >>> coefficients(defaults()).b_network_study.dtype
    dtype('float32')
    """
    return UtilityCoefficients(*(np.float32(params[t]) for t in UTILITY_TERMS))


class CellTerms(NamedTuple):
    """Terms of every (region, ethnicity, kin abroad) cell, by alternative (float32).

    Cell ``(region * 8 + ethnicity) * 2 + kin``.

    Examples
    --------
    >>> from model.params import defaults
    >>> utility_tables(defaults(), Context.for_year(2012, defaults())).cell._fields
    ('cis', 'noncis', 'labour', 'study')
    """

    cis: np.ndarray
    noncis: np.ndarray
    labour: np.ndarray
    study: np.ndarray


class HeadTerms(NamedTuple):
    """Terms of the head, index ``min(age, 120) * 2 + higher``, by alternative (float32).

    Examples
    --------
    >>> from model.params import defaults
    >>> h = utility_tables(defaults(), Context.for_year(2012, defaults())).head
    >>> h._fields, bool(h.study[2 * 40] == 0.0)  # study has no age term
    (('emigrate', 'labour', 'study'), True)
    """

    emigrate: np.ndarray
    labour: np.ndarray
    study: np.ndarray


class UtilityTables(NamedTuple):
    """The year's utility terms as small float32 tables (what the compiled decision reads).

    A named tuple of named tuples: :func:`model.core.kernels.household_utilities` takes it
    whole and reads every table and coefficient by name, never by position.

    Attributes
    ----------
    cell : CellTerms
        Terms of (region, ethnicity, kin abroad) for CIS, non-CIS, labour and study.
    head : HeadTerms
        Terms of the head's age and education for emigrate, labour and study.
    family : ndarray, shape (41,)
        Household-size term of emigration by members at home (capped at 40).
    tie : ndarray, shape (TIE_YEARS,)
        Weight of an emigrated contact by its year of emigration: ``(1 -
        network_decay) ** (year - emigrated_year - 1)`` for years before ``year`` (1 for one
        that left last year), 1 from ``year`` on.
    coef : UtilityCoefficients
        The per-household coefficients of :data:`UTILITY_TERMS`.
    tie_before : numpy.float32
        What one unit of a household's ``ties_before`` (contacts who left before 2012, in
        2012 weights) counts in ``year`` (:func:`tie_before_weight`).

    Examples
    --------
    >>> from model.params import defaults
    >>> t = utility_tables(defaults(), Context.for_year(2012, defaults()))
    >>> t.cell.cis.shape, t.head.labour.shape, t.cell.study.dtype
    ((256,), (242,), dtype('float32'))
    """

    cell: CellTerms
    head: HeadTerms
    family: np.ndarray
    coef: UtilityCoefficients
    tie: np.ndarray
    tie_before: np.float32


def utility_tables(params: dict, ctx: Context) -> UtilityTables:
    """The utility tables of ``ctx.year`` (see :class:`UtilityTables`).

    Examples
    --------
    >>> from model.params import defaults
    >>> p = defaults()
    >>> t12 = utility_tables(p, Context.for_year(2012, p))
    >>> t16 = utility_tables(p, Context.for_year(2016, p))
    >>> bool((t16.cell.labour != t12.cell.labour).any())  # terms follow the year's context
    True
    """
    p = params
    family = (p["b_hhsize_emigrate"] * (np.arange(_MAX_MEMBERS + 1) - 1)).astype(np.float32)
    return UtilityTables(cell=CellTerms(*_cell_tables(p, ctx)), head=HeadTerms(*_head_tables(p)),
                         family=family, coef=coefficients(p),
                         tie=tie_weights(p.get("network_decay", 0.0), ctx.year),
                         tie_before=tie_before_weight(p.get("ties_weight", 0.0),
                                                      p.get("ties_decay", 0.0), ctx.year))


def tie_before_weight(weight: float, decay: float, year: int) -> np.float32:
    """What a contact who left before 2012 (in 2012 weights) counts in ``year`` (float32).

    ``weight * (1 - decay) ** (year - 2012)``: the ties of 2000-2011 fade from their 2012
    weight as the model's own emigrants do (a contact that left in ``y`` weighs ``(1 -
    decay) ** (year - y - 1)``).

    Examples
    --------
    >>> float(tie_before_weight(1.0, 0.5, 2014)), float(tie_before_weight(2.0, 0.1, 2012))
    (0.25, 2.0)
    """
    return np.float32(weight * (1.0 - decay) ** max(year - _FX_BASE_YEAR, 0))


TIE_YEARS = 2101
"""Length of :attr:`UtilityTables.tie`: emigration years 0 to 2100 (the model runs to 2050)."""


def tie_weights(decay: float, year: int) -> np.ndarray:
    """Weight of an emigrated contact by its year of emigration, seen in ``year`` (float32).

    Contacts who emigrated long ago write, call and visit less: each year after the first
    a tie keeps a share ``1 - decay`` of its weight.

    Examples
    --------
    >>> w = tie_weights(0.2, 2016)
    >>> [round(float(x), 3) for x in w[[2015, 2014, 2012]]], float(w[2016])
    ([1.0, 0.8, 0.512], 1.0)
    """
    since = np.maximum(year - np.arange(TIE_YEARS) - 1, 0)
    return (np.float64(1.0 - decay) ** since).astype(np.float32)


_N_ETH = len(datasets.ETHNIC_GROUPS)
_MAX_MEMBERS = 40


def _cell_tables(p: dict, ctx: Context) -> tuple[np.ndarray, ...]:
    """Utility terms of every (region, ethnicity, kin abroad) cell in this year's context."""
    f32 = np.float32
    t = min(ctx.year, p["residual_until"]) - 2012
    n_r = len(datasets.REGIONS)
    region = np.repeat(np.arange(n_r), _N_ETH * 2)
    eth = np.tile(np.repeat(np.arange(_N_ETH), 2), n_r)
    kin = np.tile([0.0, 1.0], n_r * _N_ETH)
    north = _NORTH[region].astype(float)
    common = (p["asc_emigrate"] + ethnicity_coefficients(p)[eth].astype(float)
              + p["b_diaspora"] * kin + p["b_north_emigrate"] * north
              + p["b_grp_emigrate"] * ctx.grp[region]
              + p["b_origin_income_emigrate"] * ctx.origin_income[region]
              + p["residual_emigrate"] * t
              + p["b_devaluation_emigrate"] * ctx.devaluation
              + p["b_devaluation_shock"] * ctx.devaluation_shock)
    cis = common + p["b_income_emigrate"] * ctx.expected_cis[region]
    if ctx.compatriot_on:
        cis = cis + p["b_compatriot"] * _COMPATRIOT[eth]
    if ctx.eaeu_on:
        cis = cis + p["b_eaeu_emigrate"]
    noncis = (common + p["b_income_emigrate"] * ctx.expected_noncis[region] + p["asc_noncis"]
              + p["b_german_noncis"] * (eth == _GERMAN)
              + p["b_destination_gap"] * ctx.destination_shift[region])
    labour = (p["asc_labour"] + p["b_income_labour"] * ctx.gap_labour[region]
              + p["b_north_labour"] * north + p["residual_labour"] * t
              + (p["b_eaeu_labour"] if ctx.eaeu_on else 0.0)
              + (p["b_visa_labour"] if ctx.visa_on else 0.0))
    study = (p["asc_study"] + p["b_income_study"] * ctx.gap_study[region]
             + p["residual_study"] * t)
    return tuple(np.asarray(x, dtype=f32) for x in (cis, noncis, labour, study))


def _head_tables(p: dict) -> tuple[np.ndarray, ...]:
    """Utility terms of every (head age 0-120, head has higher education) cell."""
    bump = np.repeat(age_bump(_AGES, p["age_peak"], p["age_width"]).astype(float), 2)
    higher = np.tile([0.0, 1.0], len(_AGES))
    emig = p["b_age_emigrate"] * bump + p["b_higher_emigrate"] * higher
    labour = p["b_age_labour"] * bump + p["b_higher_labour"] * higher
    study = p["b_higher_study"] * higher
    return tuple(np.asarray(x, dtype=np.float32) for x in (emig, labour, study))


def nested_logit(v_cis: np.ndarray, v_noncis: np.ndarray, v_labour: np.ndarray,
                 v_study: np.ndarray, nest_scale: float) -> Probabilities:
    """Nested-logit probabilities with stay (utility 0) as the reference.

    Parameters
    ----------
    v_cis, v_noncis : ndarray
        Utilities of the two emigration destinations (the nest).
    v_labour, v_study : ndarray
        Utilities of the other alternatives (``-inf`` when unavailable). All four of one
        dtype (the results are of that dtype).
    nest_scale : float
        Scale of the emigration nest in (0, 1]; 1 gives the multinomial logit.

    Examples
    --------
    >>> z = np.zeros(1)
    >>> p = nested_logit(z, np.full(1, -np.inf), z, z, 1.0)
    >>> p.stacked().round(2)
    array([[0.25, 0.25, 0.25, 0.25]])
    """
    # The statement, as written before it reused its buffers (the same ufuncs on the same
    # values in the same order, so the same bits; in place because at a million choosers
    # each temporary is a fresh 4 MB array whose pages the kernel must fault in):
    #   a, b = v_cis / lam, v_noncis / lam;  m = max(a, b);  closed = m == -inf
    #   m_safe = where(closed, 0, m);  iv = lam * (m_safe + log(exp(a - m_safe) + exp(b - m_safe)))
    #   iv = where(closed, -inf, iv);  top = max(max(iv, v_labour), max(v_study, 0))
    #   e_x = exp(v_x - top) (stay: exp(-top));  total = e_stay + e_emig + e_lab + e_study
    #   noncis = where(closed, 0, 1 / (1 + exp(a - b)));  p_x = e_x / total
    lam = np.float32(nest_scale)
    a = np.divide(v_cis, lam)
    b = np.divide(v_noncis, lam)
    m = np.maximum(a, b)
    closed = np.isneginf(m)  # both destinations unavailable: the nest has weight 0
    np.copyto(m, 0, where=closed)  # m_safe
    iv = np.subtract(a, m)
    np.exp(iv, out=iv)
    work = np.subtract(b, m)
    np.exp(work, out=work)
    iv += work
    with np.errstate(divide="ignore"):
        np.log(iv, out=iv)
    np.add(m, iv, out=iv)
    np.multiply(lam, iv, out=iv)
    np.copyto(iv, -np.inf, where=closed)
    top = np.maximum(iv, v_labour)
    np.maximum(v_study, 0, out=work)
    np.maximum(top, work, out=top)
    e_stay = np.negative(top)
    np.exp(e_stay, out=e_stay)
    e_emig = np.subtract(iv, top, out=iv)
    np.exp(e_emig, out=e_emig)
    e_lab = np.subtract(v_labour, top, out=m)
    np.exp(e_lab, out=e_lab)
    e_study = np.subtract(v_study, top, out=work)
    np.exp(e_study, out=e_study)
    total = np.add(e_stay, e_emig, out=top)
    total += e_lab
    total += e_study
    with np.errstate(invalid="ignore", over="ignore"):
        noncis = np.subtract(a, b, out=a)
        np.exp(noncis, out=noncis)
        np.add(1.0, noncis, out=noncis)
        np.divide(1.0, noncis, out=noncis)
    np.copyto(noncis, 0, where=closed)
    e_stay /= total
    e_emig /= total
    e_lab /= total
    e_study /= total
    return Probabilities(stay=e_stay, emigrate=e_emig, labour=e_lab, study=e_study,
                         noncis=noncis)
