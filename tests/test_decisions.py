"""Household decisions: utilities, nested-logit probabilities and the choice from a uniform.

The central test compares the numpy statement of the utilities (``tests/reference/
oracles.py``, the oracle of the compiled pass) and the model's nested logit with the module
docstring's formulas for one household at a time (``tests/reference/household.py``'s
``HouseholdRef``, plain :mod:`math`), on random households, years and parameter sets.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from model import datasets
from model.core.decisions import (
    EMIGRATE,
    LABOUR,
    STAY,
    STUDY,
    UTILITY_TERMS,
    Context,
    Probabilities,
    Utilities,
    age_bump,
    coefficients,
    devaluation_expectation,
    ethnicity_coefficients,
    intention_base,
    nested_logit,
    utility_tables,
)
from model.params import REGISTRY, defaults
from tests.reference.household import HouseholdRef
from tests.reference.oracles import Choosers, choose, utilities


def random_params(seed: int) -> dict:
    """A parameter set drawn uniformly within the registry bounds (years kept plausible)."""
    rng = np.random.default_rng(seed)
    p = defaults()
    for name, par in REGISTRY.items():
        lo, hi = par.bounds
        if par.kind == "year":
            p[name] = int(rng.integers(max(lo, 2011), 2019))
        elif par.kind == "int":
            p[name] = int(rng.integers(lo, hi + 1))
        else:
            p[name] = float(rng.uniform(lo, hi))
    return p


CASES = [(defaults(), 2012), (defaults(), 2013), (defaults(), 2016),
         (random_params(1), 2014), (random_params(2), 2018), (random_params(3), 2025)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_vectorised_matches_household_reference(case):
    params, year = CASES[case]
    ctx = Context.for_year(year, params)
    ch = Choosers.example(200, seed=case)
    u = utilities(params, ctx, ch)
    prob = nested_logit(u.cis, u.noncis, u.labour, u.study, params["nest_scale"])
    for i in range(200):
        ref = HouseholdRef.from_choosers(ch, i)
        v = ref.utilities(params, ctx)
        assert u.cis[i] == pytest.approx(v["cis"], abs=1e-4)
        assert u.noncis[i] == pytest.approx(v["noncis"], abs=1e-4)
        if v["labour"] is None:
            assert u.labour[i] == -np.inf
        else:
            assert u.labour[i] == pytest.approx(v["labour"], abs=1e-4)
        if v["study"] is None:
            assert u.study[i] == -np.inf
        else:
            assert u.study[i] == pytest.approx(v["study"], abs=1e-4)
        want = ref.probabilities(params, ctx)
        for key in ("stay", "emigrate", "labour", "study", "noncis"):
            got = float(getattr(prob, key)[i])
            assert got == pytest.approx(want[key], abs=1e-5), (i, key)


def test_example_choosers_cover_the_interesting_cases():
    ch = Choosers.example(200, seed=0)
    assert set(ch.ethnicity.tolist()) == set(range(len(datasets.ETHNIC_GROUPS)))
    assert (~ch.can_labour).any() and (~ch.can_study).any()
    assert ch.diaspora.any() and ch.head_higher.any()


# --- context ---------------------------------------------------------------------------------

def test_context_gaps_from_data():
    p = defaults()
    ctx = Context.for_year(2014, p)
    own = np.log(datasets.income_ratio(2014))
    kaz = datasets.gdp_usd("KAZ", 2014)
    np.testing.assert_allclose(ctx.gap_cis, np.log(datasets.russia_wage_kzt(2014)
                                                    / datasets.income_kzt(2014)) - own)
    np.testing.assert_allclose(ctx.gap_noncis,
                               np.log(datasets.gdp_usd("DEU", 2014) / kaz) - own)
    np.testing.assert_allclose(ctx.gap_labour, ctx.gap_cis)
    np.testing.assert_allclose(ctx.gap_study, ctx.gap_cis)
    assert ctx.gap_cis.shape == (16,)
    # richer regions have a smaller gap to the same destination
    i_atyrau = datasets.REGIONS.index("Atyrau")
    i_zhambyl = datasets.REGIONS.index("Zhambyl")
    assert ctx.gap_cis[i_atyrau] < ctx.gap_cis[i_zhambyl]
    # Germany is richer than Russia at PPP
    assert datasets.gdp_ppp("DEU", 2014) > datasets.gdp_ppp("RUS", 2014)


@pytest.mark.parametrize("year,comp,eaeu", [(2012, False, False), (2013, True, False),
                                            (2014, True, False), (2015, True, True)])
def test_context_flags(year, comp, eaeu):
    ctx = Context.for_year(year, defaults())
    assert (ctx.compatriot_on, ctx.eaeu_on) == (comp, eaeu)


def test_context_flags_follow_params():
    p = {**defaults(), "compatriot_year": 2020, "eaeu_year": 2012}
    ctx = Context.for_year(2015, p)
    assert (ctx.compatriot_on, ctx.eaeu_on) == (False, True)


# --- utilities respond to each term in the documented direction -----------------------------

def one(**kw) -> Choosers:
    """A single chooser: a 35-year-old Kazakh head in Akmola with defaults for the rest."""
    base = dict(region=0, ethnicity=0, head_age=35, head_higher=False, optimism=0.5,
                share_abroad=0.0, diaspora=False, members=3, children=False, can_labour=True,
                can_study=True)
    base.update(kw)
    return Choosers(**{k: np.array([v]) for k, v in base.items()})


def many() -> Choosers:
    return Choosers.example(400, seed=11)


def eth(name: str) -> int:
    return datasets.ETHNIC_GROUPS.index(name)


def U(params=None, year=2016, ch=None, extra=None) -> Utilities:
    p = defaults() if params is None else params
    return utilities(p, Context.for_year(year, p), many() if ch is None else ch, extra)


def test_utilities_shapes_and_dtype():
    u = U()
    for a in vars(u).values():
        assert a.shape == (400,) and a.dtype == np.float32


def test_raising_b_russian_moves_only_russian_emigration():
    ch = many()
    lo = U({**defaults(), "b_russian": 1.0}, ch=ch)
    hi = U({**defaults(), "b_russian": 2.5}, ch=ch)
    rus = ch.ethnicity == eth("Russian")
    assert rus.any() and (~rus).any()
    np.testing.assert_allclose((hi.cis - lo.cis)[rus], 1.5, atol=1e-5)
    np.testing.assert_allclose((hi.noncis - lo.noncis)[rus], 1.5, atol=1e-5)
    np.testing.assert_array_equal(hi.cis[~rus], lo.cis[~rus])
    np.testing.assert_array_equal(hi.noncis[~rus], lo.noncis[~rus])
    np.testing.assert_array_equal(hi.labour, lo.labour)
    np.testing.assert_array_equal(hi.study, lo.study)


@pytest.mark.parametrize("name,param", [("German", "b_german"), ("Ukrainian", "b_ukrainian"),
                                        ("Tatar", "b_tatar"), ("Uzbek", "b_other_ethnic"),
                                        ("Uighur", "b_other_ethnic"),
                                        ("Other", "b_other_group")])
def test_ethnicity_coefficients(name, param):
    p = defaults()
    coef = ethnicity_coefficients(p)
    assert coef.shape == (len(datasets.ETHNIC_GROUPS),)
    assert coef[eth("Kazakh")] == 0.0
    assert coef[eth(name)] == pytest.approx(p[param])
    assert ethnicity_coefficients({**p, param: 0.0})[eth(name)] == 0.0


def test_compatriot_term_only_from_compatriot_year_and_for_compatriots():
    ch = many()
    on = {**defaults(), "b_compatriot": 1.25, "compatriot_year": 2014}
    off = {**on, "b_compatriot": 0.0}
    compat = np.isin(ch.ethnicity, [eth(g) for g in ("Russian", "Ukrainian", "Tatar")])
    assert compat.any() and (~compat).any()
    # before the programme year the term is absent
    np.testing.assert_array_equal(U(on, 2013, ch).cis, U(off, 2013, ch).cis)
    for year in (2014, 2016):
        a, b = U(on, year, ch), U(off, year, ch)
        np.testing.assert_allclose((a.cis - b.cis)[compat], 1.25, atol=1e-5)
        np.testing.assert_array_equal(a.cis[~compat], b.cis[~compat])
        np.testing.assert_array_equal(a.noncis, b.noncis)  # CIS destinations only
        np.testing.assert_array_equal(a.labour, b.labour)


def test_german_noncis_term_only_for_german_noncis():
    ch = many()
    a = U({**defaults(), "b_german_noncis": 3.0}, ch=ch)
    b = U({**defaults(), "b_german_noncis": 0.0}, ch=ch)
    ger = ch.ethnicity == eth("German")
    np.testing.assert_allclose((a.noncis - b.noncis)[ger], 3.0, atol=1e-5)
    np.testing.assert_array_equal(a.noncis[~ger], b.noncis[~ger])
    np.testing.assert_array_equal(a.cis, b.cis)


def test_labour_and_study_unavailable():
    u = U(ch=one(can_labour=False, can_study=False))
    assert u.labour[0] == -np.inf and u.study[0] == -np.inf
    assert np.isfinite(u.cis[0]) and np.isfinite(u.noncis[0])
    p = nested_logit(u.cis, u.noncis, u.labour, u.study, 0.6)
    assert p.labour[0] == 0.0 and p.study[0] == 0.0
    assert p.stay[0] + p.emigrate[0] == pytest.approx(1.0, abs=1e-6)
    u2 = U(ch=one(can_labour=True, can_study=False))
    assert np.isfinite(u2.labour[0]) and u2.study[0] == -np.inf


def test_optimism_has_negative_effect_on_every_move():
    lo, hi = U(ch=one(optimism=0.2)), U(ch=one(optimism=0.9))
    p = defaults()
    for alt, key in (("cis", "b_optimism_emigrate"), ("noncis", "b_optimism_emigrate"),
                     ("labour", "b_optimism_labour"), ("study", "b_optimism_study")):
        diff = float(getattr(hi, alt)[0] - getattr(lo, alt)[0])
        assert diff < 0
        assert diff == pytest.approx(0.7 * p[key], abs=1e-5)
    # at optimism 0.5 the term vanishes
    zero = {**p, "b_optimism_emigrate": 0.0}
    assert U(ch=one(optimism=0.5)).cis[0] == U(zero, ch=one(optimism=0.5)).cis[0]


def test_network_share_raises_every_move():
    lo, hi = U(ch=one(share_abroad=0.0)), U(ch=one(share_abroad=0.5))
    p = defaults()
    assert hi.cis[0] - lo.cis[0] == pytest.approx(0.5 * p["b_network_emigrate"], abs=1e-5)
    assert hi.labour[0] - lo.labour[0] == pytest.approx(0.5 * p["b_network_labour"], abs=1e-5)
    assert hi.study[0] - lo.study[0] == pytest.approx(0.5 * p["b_network_study"], abs=1e-5)


@pytest.mark.parametrize("field,value,alts,param", [
    ("diaspora", True, ("cis", "noncis"), "b_diaspora"),
    ("children", True, ("cis", "noncis"), "b_children_emigrate"),
    ("head_higher", True, ("cis", "noncis"), "b_higher_emigrate"),
    ("members", 4, ("cis", "noncis"), "b_hhsize_emigrate"),
])
def test_household_terms_move_emigration_only_by_their_coefficient(field, value, alts, param):
    base = one()
    changed = one(**{field: value})
    a, b = U(ch=changed), U(ch=base)
    steps = value - 3 if field == "members" else 1
    for alt in alts:
        assert float(a.__dict__[alt][0] - b.__dict__[alt][0]) == pytest.approx(
            steps * defaults()[param], abs=1e-5)


def test_higher_education_terms_by_alternative():
    a, b = U(ch=one(head_higher=True)), U(ch=one(head_higher=False))
    p = defaults()
    assert a.labour[0] - b.labour[0] == pytest.approx(p["b_higher_labour"], abs=1e-5)
    assert a.study[0] - b.study[0] == pytest.approx(p["b_higher_study"], abs=1e-5)
    assert a.labour[0] < b.labour[0]  # b_higher_labour < 0 at the defaults


def test_north_term():
    north = datasets.REGIONS.index("Karaganda")
    south = datasets.REGIONS.index("Zhambyl")
    p = defaults()
    on = {**p, "b_north_emigrate": 1.0, "b_north_labour": 0.5}
    off = {**p, "b_north_emigrate": 0.0, "b_north_labour": 0.0}
    a, b = U(on, ch=one(region=north)), U(off, ch=one(region=north))
    assert a.cis[0] - b.cis[0] == pytest.approx(1.0, abs=1e-5)
    assert a.labour[0] - b.labour[0] == pytest.approx(0.5, abs=1e-5)
    assert a.study[0] == b.study[0]
    c, d = U(on, ch=one(region=south)), U(off, ch=one(region=south))
    assert c.cis[0] == d.cis[0] and c.labour[0] == d.labour[0]


def test_income_gap_raises_utility_in_poorer_region():
    # the gaps alone (the origin's own income term off): a poorer region gains more abroad
    poor = datasets.REGIONS.index("Zhambyl")
    rich = datasets.REGIONS.index("Atyrau")
    p = {**defaults(), "b_origin_income_emigrate": 0.0}
    a, b = U(p, ch=one(region=poor)), U(p, ch=one(region=rich))
    assert a.cis[0] > b.cis[0] and a.labour[0] > b.labour[0] and a.study[0] > b.study[0]


def test_eaeu_term_from_eaeu_year():
    p = {**defaults(), "b_eaeu_labour": 0.9, "eaeu_year": 2015, "b_visa_labour": 0.0}
    u14, u15, u16 = (U(p, y, one()).labour[0] for y in (2014, 2015, 2016))
    gap = {y: Context.for_year(y, p).gap_labour[0] for y in (2014, 2015, 2016)}
    inc = p["b_income_labour"]
    assert (u15 - inc * gap[2015]) - (u14 - inc * gap[2014]) == pytest.approx(0.9, abs=1e-4)
    assert (u16 - inc * gap[2016]) - (u15 - inc * gap[2015]) == pytest.approx(0.0, abs=1e-4)


NO_CONTEXT = {"b_income_emigrate": 0.0, "b_income_labour": 0.0, "b_income_study": 0.0,
              "b_eaeu_labour": 0.0, "b_compatriot": 0.0, "b_eaeu_emigrate": 0.0,
              "b_visa_labour": 0.0, "b_grp_emigrate": 0.0, "residual_emigrate": 0.0,
              "residual_labour": 0.0, "residual_study": 0.0, "b_devaluation_emigrate": 0.0,
              "b_origin_income_emigrate": 0.0, "b_destination_gap": 0.0,
              "b_devaluation_shock": 0.0}
RESIDUALS = {"residual_emigrate": 0.1, "residual_labour": 0.05, "residual_study": -0.02}


def test_without_residuals_nothing_trends():
    # with the residual_* terms at 0 the context-free utilities do not move between years;
    # the shipped defaults leave every residual at 0 (residual_emigrate may be set by a fit)
    p = {**defaults(), **NO_CONTEXT}
    a, b = U(p, 2013, one()), U(p, 2017, one())
    for alt in ("cis", "noncis", "labour", "study"):
        assert getattr(a, alt)[0] == getattr(b, alt)[0]
    d = defaults()
    assert d["residual_labour"] == d["residual_study"] == 0.0
    assert 0.0 <= d["residual_emigrate"] < 0.1


def test_devaluation_expectation_hand_computed():
    # tenge per dollar 2012-2016 (WDI): 149.1, 152.1, 179.2, 221.7, 342.2 (rounded); with
    # memory 0.5: x_t = log(rate_t / 149.1) = 0.0199, 0.1839, 0.3967, 0.8308, so E13 = 0.0100,
    # E14 = 0.0969, E15 = 0.2468, E16 = 0.5388 (E_t = 0.5 E_(t-1) + 0.5 x_t), by hand
    rates = [149.1, 152.1, 179.2, 221.7, 342.2]
    x = [math.log(r / 149.1) for r in rates]
    e = 0.0
    for xt in x[1:]:
        e = 0.5 * e + 0.5 * xt
    assert e == pytest.approx(0.5388, abs=1e-4)
    assert devaluation_expectation(rates, 0.5) == pytest.approx(e, rel=1e-12)
    assert devaluation_expectation(rates, 0.0) == pytest.approx(x[-1], rel=1e-12)
    p = {**defaults(), "expectation_memory": 0.5}
    assert Context.for_year(2016, p).devaluation == pytest.approx(0.5388, abs=2e-3)
    assert Context.for_year(2012, p).devaluation == 0.0


def test_devaluation_saturation_hand_computed():
    # saturation 8: g(x) = (1 - exp(-8 x)) / 8. 2014 (179.2): x = 0.18398, g = 0.096293;
    # 2016 (342.2): x = 0.83077, g = 0.124838 (near its ceiling 1/8, where x itself is 0.83).
    # Memory 0.5 over 2012, 2014, 2016: E = 0.5 * (0.5 * 0.096293) + 0.5 * 0.124838 = 0.086492
    rates = [149.1, 179.2, 342.2]
    assert devaluation_expectation(rates, 0.0, 8.0) == pytest.approx(0.124838, abs=1e-6)
    assert devaluation_expectation(rates, 0.5, 8.0) == pytest.approx(0.086492, abs=1e-6)
    # a small fall weighs as before (the same slope at 0); 0 is the linear term exactly
    assert devaluation_expectation([100.0, 100.1], 0.0, 8.0) == pytest.approx(
        math.log(1.001), rel=1e-2)
    assert devaluation_expectation(rates, 0.5, 0.0) == devaluation_expectation(rates, 0.5)
    # and the context reads the registry parameter
    p = {**defaults(), "expectation_memory": 0.0, "devaluation_saturation": 8.0}
    fx2016 = Context.for_year(2016, p).devaluation
    assert 0.12 < fx2016 < 0.125
    assert Context.for_year(2016, {**p, "devaluation_saturation": 0.0}).devaluation > 0.8


def test_devaluation_term_shifts_emigration_only():
    p0 = {**defaults(), **NO_CONTEXT}
    p1 = {**p0, "b_devaluation_emigrate": 0.8}
    ctx = Context.for_year(2016, p1)
    a, b = U(p0, 2016, one()), U(p1, 2016, one())
    for alt in ("cis", "noncis"):
        assert getattr(b, alt)[0] - getattr(a, alt)[0] == pytest.approx(
            0.8 * ctx.devaluation, abs=1e-5)
    assert b.labour[0] == a.labour[0] and b.study[0] == a.study[0]


def test_devaluation_shock_hand_computed_and_on_emigration_only():
    # the events of the data: 11 Feb 2014 155 -> 185 tenge per dollar, log(185 / 155) =
    # 0.17693, day 42 of 365, so 324/365 of it in 2014 and 41/365 in 2015; 20 Aug 2015
    # 188.38 -> 255.26, log(255.26 / 188.38) = 0.30382, day 232, so 134/365 in 2015 and
    # 231/365 in 2016; other years 0
    p0 = {**defaults(), **NO_CONTEXT}
    shock = {y: Context.for_year(y, p0).devaluation_shock for y in range(2012, 2019)}
    assert shock[2014] == pytest.approx(0.17693 * 324 / 365, abs=1e-5)  # 0.15706
    assert shock[2015] == pytest.approx(0.17693 * 41 / 365 + 0.30382 * 134 / 365,
                                        abs=1e-5)  # 0.13141
    assert shock[2016] == pytest.approx(0.30382 * 231 / 365, abs=1e-5)  # 0.19228
    assert sum(shock.values()) == pytest.approx(0.17693 + 0.30382, abs=1e-5)
    assert [y for y, s in shock.items() if s != 0] == [2014, 2015, 2016]
    p1 = {**p0, "b_devaluation_shock": 2.0}
    for year in (2013, 2015):
        a, b = U(p0, year, one()), U(p1, year, one())
        for alt in ("cis", "noncis"):
            assert getattr(b, alt)[0] - getattr(a, alt)[0] == pytest.approx(
                2.0 * shock[year], abs=1e-5)
        assert b.labour[0] == a.labour[0] and b.study[0] == a.study[0]
    # after the data: held at the last year's 0 (no event) unless a scenario sets a path
    assert Context.for_year(2030, p1).devaluation_shock == 0.0


def test_destination_shift_hand_computed():
    # without memory the expected gaps are the year's: national means 2012 non-CIS 1.297,
    # CIS 0.892 (a difference of 0.405); 2016 non-CIS 1.774, CIS 0.921 (0.853). The shift
    # is the change of the difference since 2012: 0.853 - 0.405 = 0.448 (the tenge's falls
    # widened the gap to Germany more than the one to Russia, whose rouble fell too)
    p = {**defaults(), "expectation_memory": 0.0}
    c12, c16 = Context.for_year(2012, p), Context.for_year(2016, p)
    assert (c12.destination_shift == 0).all()
    assert c12.gap_noncis.mean() - c12.gap_cis.mean() == pytest.approx(0.405, abs=1e-3)
    assert c16.destination_shift.mean() == pytest.approx(0.448, abs=2e-3)
    # by region it is the same difference of differences
    want = (c16.gap_noncis - c16.gap_cis) - (c12.gap_noncis - c12.gap_cis)
    assert np.allclose(c16.destination_shift, want, atol=1e-12)


def test_destination_gap_term_moves_the_non_cis_utility_only():
    # b_destination_gap 2 adds 2 * shift(region) to the non-CIS utility, nothing elsewhere
    p0 = {**defaults(), **NO_CONTEXT}
    p1 = {**p0, "b_destination_gap": 2.0}
    shift = Context.for_year(2016, p1).destination_shift[0]  # Akmola, the chooser's region
    a, b = U(p0, 2016, one()), U(p1, 2016, one())
    assert b.noncis[0] - a.noncis[0] == pytest.approx(2.0 * shift, abs=1e-5)
    assert b.cis[0] == a.cis[0] and b.labour[0] == a.labour[0] and b.study[0] == a.study[0]
    # in 2012 the term is 0: the split's level stays asc_noncis's
    assert U(p1, 2012, one()).noncis[0] == U(p0, 2012, one()).noncis[0]


def test_residuals_per_year():
    p = {**defaults(), **NO_CONTEXT, **RESIDUALS, "residual_until": 2050}
    a, b = U(p, 2013, one()), U(p, 2017, one())
    assert b.cis[0] - a.cis[0] == pytest.approx(0.4, abs=1e-5)
    assert b.labour[0] - a.labour[0] == pytest.approx(0.2, abs=1e-5)
    assert b.study[0] - a.study[0] == pytest.approx(-0.08, abs=1e-5)


def test_residuals_stop_at_residual_until():
    p = {**defaults(), **NO_CONTEXT, **RESIDUALS, "residual_until": 2015}
    u15, u16, u30 = (U(p, y, one()) for y in (2015, 2016, 2030))
    for alt in ("cis", "noncis", "labour", "study"):
        assert getattr(u16, alt)[0] == getattr(u15, alt)[0]
        assert getattr(u30, alt)[0] == getattr(u15, alt)[0]
    u14 = U(p, 2014, one())
    assert u15.cis[0] - u14.cis[0] == pytest.approx(0.1, abs=1e-5)


def test_visa_term_applies_to_labour_from_visa_korea_year():
    p = {**defaults(), **NO_CONTEXT, "b_visa_labour": 0.7, "visa_korea_year": 2015}
    u14, u15, u16 = (U(p, y, one()) for y in (2014, 2015, 2016))
    assert u15.labour[0] - u14.labour[0] == pytest.approx(0.7, abs=1e-5)
    assert u16.labour[0] == u15.labour[0]
    assert u15.cis[0] == u14.cis[0] and u15.study[0] == u14.study[0]


def test_eaeu_term_of_cis_emigration_only():
    p = {**defaults(), **NO_CONTEXT, "b_eaeu_emigrate": 0.4, "eaeu_year": 2015}
    u14, u15 = U(p, 2014, one()), U(p, 2015, one())
    assert u15.cis[0] - u14.cis[0] == pytest.approx(0.4, abs=1e-5)
    assert u15.noncis[0] == u14.noncis[0]


def test_wage_gap_is_russian_wage_over_regional_income_in_tenge():
    # hand-computed from the data files: 2016 Russian wage 187,500 tenge a month;
    # Kazakhstan's money income 76,575 tenge a month per person; the region's ratio
    r = datasets.REGIONS.index("Karaganda")
    ratio = datasets.income_ratio(2016)[r]
    expect = math.log(187500.0 / 76575.0) - math.log(ratio)
    assert Context.for_year(2016, defaults()).gap_cis[r] == pytest.approx(expect, rel=1e-9)
    # the August 2015 devaluation raised the gap from 2015 to 2016 everywhere
    assert (Context.for_year(2016, defaults()).gap_cis
            > Context.for_year(2015, defaults()).gap_cis).all()


def test_grp_term_is_log_grp_over_the_population_weighted_mean():
    y = 2014
    grp, pop = datasets.grp_per_capita(y), datasets.population_by_region(y)
    mean = float((grp * pop).sum() / pop.sum())
    r = datasets.REGIONS.index("Atyrau")
    ctx = Context.for_year(y, defaults())
    assert ctx.grp[r] == pytest.approx(math.log(grp[r] / mean), rel=1e-9)
    p = {**defaults(), "b_grp_emigrate": 0.5}
    q = {**defaults(), "b_grp_emigrate": 0.0}
    a, b = U(p, y, one(region=r)), U(q, y, one(region=r))
    assert a.cis[0] - b.cis[0] == pytest.approx(0.5 * math.log(grp[r] / mean), abs=1e-5)
    assert a.labour[0] == b.labour[0]


def test_age_bump_peaks_at_age_peak():
    ages = np.arange(15, 90)
    b = age_bump(ages, 35.0, 10.0)
    assert b.dtype == np.float32
    assert ages[np.argmax(b)] == 35 and b.max() == pytest.approx(1.0)
    assert b[ages == 45][0] == pytest.approx(math.exp(-0.5), rel=1e-6)
    assert b[ages == 25][0] == pytest.approx(b[ages == 45][0])
    old, young = U(ch=one(head_age=70)), U(ch=one(head_age=35))
    assert young.cis[0] > old.cis[0] and young.labour[0] > old.labour[0]
    assert young.study[0] == old.study[0]  # no age term for study


def test_extra_shifts_are_additive():
    ch = many()
    base = U(ch=ch)
    shift = Utilities(cis=np.float32(0.5), noncis=np.float32(-1.0),
                      labour=np.full(400, 0.25, np.float32), study=np.float32(0.0))
    s = U(ch=ch, extra=shift)
    np.testing.assert_allclose(s.cis - base.cis, 0.5, atol=1e-5)
    np.testing.assert_allclose(s.noncis - base.noncis, -1.0, atol=1e-5)
    ok = ch.can_labour
    np.testing.assert_allclose(s.labour[ok] - base.labour[ok], 0.25, atol=1e-5)
    assert (s.labour[~ok] == -np.inf).all()  # a shift does not make it available


# --- nested logit -----------------------------------------------------------------------------

def hand_utilities(n=500, seed=0):
    r = np.random.default_rng(seed)
    v = r.normal(-2, 2, (4, n)).astype(np.float32)
    v[2, r.random(n) < 0.2] = -np.inf
    v[3, r.random(n) < 0.3] = -np.inf
    return v


@pytest.mark.parametrize("lam", [0.1, 0.6, 1.0])
def test_probabilities_sum_to_one_and_are_probabilities(lam):
    v = hand_utilities()
    p = nested_logit(*v, lam)
    s = p.stacked()
    assert s.shape == (500, 4)
    assert (s >= 0).all() and (s <= 1).all()
    np.testing.assert_allclose(s.sum(axis=1), 1.0, atol=1e-6)
    assert ((p.noncis >= 0) & (p.noncis <= 1)).all()


def test_unavailable_alternatives_get_zero():
    v = hand_utilities()
    p = nested_logit(*v, 0.6)
    assert (p.labour[v[2] == -np.inf] == 0).all()
    assert (p.study[v[3] == -np.inf] == 0).all()
    assert (p.labour[v[2] > -np.inf] > 0).all()
    # an unavailable non-CIS destination leaves the whole nest to CIS
    q = nested_logit(np.array([-1.0]), np.array([-np.inf]), np.array([-1.0]),
                     np.array([-np.inf]), 0.5)
    assert q.noncis[0] == 0.0
    assert q.emigrate[0] == pytest.approx(q.labour[0])


def test_scale_one_is_multinomial_logit():
    v = hand_utilities().astype(np.float64)
    p = nested_logit(*v, 1.0)
    e = np.exp(v)
    total = 1.0 + e.sum(axis=0)
    np.testing.assert_allclose(p.stay, 1.0 / total, atol=1e-7)
    np.testing.assert_allclose(p.emigrate, (e[0] + e[1]) / total, atol=1e-7)
    np.testing.assert_allclose(p.labour, e[2] / total, atol=1e-7)
    np.testing.assert_allclose(p.study, e[3] / total, atol=1e-7)
    np.testing.assert_allclose(p.noncis, e[1] / (e[0] + e[1]), atol=1e-7)


@pytest.mark.parametrize("lam", [0.2, 0.6])
def test_nested_formula_and_conditional_destination(lam):
    v = hand_utilities(seed=1).astype(np.float64)
    p = nested_logit(*v, lam)
    a, b = np.exp(v[0] / lam), np.exp(v[1] / lam)
    iv = lam * np.log(a + b)
    total = 1 + np.exp(iv) + np.exp(v[2]) + np.exp(v[3])
    np.testing.assert_allclose(p.emigrate, np.exp(iv) / total, atol=1e-7)
    np.testing.assert_allclose(p.noncis, b / (a + b), atol=1e-7)


def test_smaller_nest_scale_lowers_emigration_with_two_equal_destinations():
    # with two equally good destinations, lam = 1 doubles the nest's weight; lam -> 0
    # treats them as one alternative
    z = np.array([-1.0])
    lo = nested_logit(z, z, np.array([-np.inf]), np.array([-np.inf]), 0.1)
    hi = nested_logit(z, z, np.array([-np.inf]), np.array([-np.inf]), 1.0)
    assert lo.emigrate[0] < hi.emigrate[0]
    assert lo.noncis[0] == pytest.approx(0.5) and hi.noncis[0] == pytest.approx(0.5)


def test_extreme_utilities_do_not_overflow():
    big = np.array([400.0, -400.0], dtype=np.float32)
    p = nested_logit(big, big - 1, np.array([0.0, -400.0], np.float32),
                     np.array([-np.inf, -400.0], np.float32), 0.1)
    s = p.stacked()
    assert np.isfinite(s).all()
    np.testing.assert_allclose(s.sum(axis=1), 1.0, atol=1e-6)
    assert p.emigrate[0] == pytest.approx(1.0) and p.stay[1] == pytest.approx(1.0)


def test_probability_rises_with_own_utility():
    v = hand_utilities(seed=2)
    base = nested_logit(*v, 0.6)
    w = v.copy()
    w[0] += 0.5
    up = nested_logit(*w, 0.6)
    # weakly everywhere (float32 saturates when the other destination dominates the nest),
    # strictly almost everywhere
    assert (up.emigrate >= base.emigrate).all() and (up.stay <= base.stay).all()
    assert (up.noncis <= base.noncis).all()
    assert np.mean(up.emigrate > base.emigrate) > 0.9
    assert np.mean(up.stay < base.stay) > 0.9


# --- choose -----------------------------------------------------------------------------------

def probs(stay, emig, lab, study):
    f = np.float32
    return Probabilities(stay=np.array(stay, f), emigrate=np.array(emig, f),
                         labour=np.array(lab, f), study=np.array(study, f),
                         noncis=np.zeros(len(stay), f))


def test_choose_maps_uniforms_to_intervals():
    u = np.array([0.0, 0.2499, 0.25, 0.4999, 0.5, 0.7499, 0.75, 0.9999], np.float32)
    p = probs([0.25] * 8, [0.25] * 8, [0.25] * 8, [0.25] * 8)
    got = choose(p, u)
    assert got.dtype == np.int8
    assert got.tolist() == [STAY, STAY, EMIGRATE, EMIGRATE, LABOUR, LABOUR, STUDY, STUDY]


def test_choose_skips_zero_probability_alternatives():
    u = np.array([0.1, 0.5, 0.6, 0.99], np.float32)
    p = probs([0.5] * 4, [0.0] * 4, [0.5] * 4, [0.0] * 4)
    assert choose(p, u).tolist() == [STAY, LABOUR, LABOUR, LABOUR]


def test_choose_frequencies_match_probabilities():
    n = 200_000
    p = probs([0.7] * n, [0.05] * n, [0.15] * n, [0.1] * n)
    u = np.random.default_rng(3).random(n, dtype=np.float32)
    freq = np.bincount(choose(p, u), minlength=4) / n
    np.testing.assert_allclose(freq, [0.7, 0.05, 0.15, 0.1], atol=0.004)


def unavailable_study_case():
    p = defaults()
    ch = replace(Choosers.example(2000, seed=3), can_study=np.zeros(2000, dtype=bool))
    u = utilities(p, Context.for_year(2015, p), ch)
    prob = nested_logit(u.cis, u.noncis, u.labour, u.study, p["nest_scale"])
    assert (prob.study == 0).all()
    return prob


def test_choose_never_picks_unavailable_study():
    # Bug probe: cut points are cumulated in float32, so stay + emigrate + labour can be
    # 0.9999998 when study is unavailable; the largest float32 uniform (1 - 2**-24) then
    # "chooses" study, an alternative with probability exactly 0.
    prob = unavailable_study_case()
    top = np.full(2000, 1 - 2.0**-24, dtype=np.float32)
    assert not (choose(prob, top) == STUDY).any()




# --- coefficients by named term ---------------------------------------------------------------

def test_coefficients_are_named_by_the_terms_list():
    p = random_params(4)
    coef = coefficients(p)
    assert coef._fields == UTILITY_TERMS
    assert len(set(UTILITY_TERMS)) == len(UTILITY_TERMS)
    for name in UTILITY_TERMS:
        assert name in REGISTRY
        assert getattr(coef, name) == np.float32(p[name])
        assert getattr(coef, name).dtype == np.float32
    assert utility_tables(p, Context.for_year(2015, p)).coef == coef


def test_tie_weights_fade_by_years_since_emigration():
    from model.core.decisions import tie_weights
    w = tie_weights(0.25, 2018)
    # left in 2017: 1; 2016: 0.75; 2013: 0.75^4; this year or later (not yet a tie): 1
    assert w[2017] == 1.0 and w[2016] == np.float32(0.75)
    assert w[2013] == pytest.approx(0.75 ** 4, rel=1e-6) and w[2018] == w[2030] == 1.0
    assert (tie_weights(0.0, 2018) == 1.0).all()


def test_intention_base_scales_and_caps():
    # 0.02 * 4 = 0.08; 0.3 * 4 = 1.2 -> capped at 1; scale 1 keeps the probability
    p = np.array([0.02, 0.3, 0.0], dtype=np.float32)
    assert intention_base(p, 4.0).tolist() == pytest.approx([0.08, 1.0, 0.0], abs=1e-7)
    assert (intention_base(p, 1.0) == p).all()


def test_emigration_weighs_the_expected_gap():
    # memory 0.5 from 2012: E12 = g12, E13 = (g12 + g13) / 2, E14 = g12/4 + g13/4 + g14/2
    p = {**defaults(), "expectation_memory": 0.5}
    g = {y: Context.for_year(y, p) for y in (2012, 2013, 2014)}
    for cur, exp in (("gap_cis", "expected_cis"), ("gap_noncis", "expected_noncis")):
        hand = (0.25 * getattr(g[2012], cur) + 0.25 * getattr(g[2013], cur)
                + 0.5 * getattr(g[2014], cur))
        np.testing.assert_allclose(getattr(g[2014], exp), hand, rtol=1e-12)
        np.testing.assert_allclose(getattr(g[2012], exp), getattr(g[2012], cur))
    q = {**p, **NO_CONTEXT, "b_income_emigrate": 1.0}
    a = U({**q, "b_income_emigrate": 0.0}, 2014, one())
    b = U(q, 2014, one())
    assert b.cis[0] - a.cis[0] == pytest.approx(g[2014].expected_cis[0], abs=1e-5)  # Akmola
    assert b.labour[0] == a.labour[0]  # labour weighs the current gap, not this one


def test_origin_income_term_is_its_weight_times_the_log_income_ratio():
    # Almaty city by hand: BNS income per person over the national mean of 2017
    y = 2017
    r = datasets.REGIONS.index("Almaty city")
    ratio = float(datasets.income_ratio(y)[r])
    ctx = Context.for_year(y, defaults())
    assert ctx.origin_income[r] == pytest.approx(math.log(ratio), rel=1e-12)
    p = {**defaults(), "b_origin_income_emigrate": 1.5}
    q = {**defaults(), "b_origin_income_emigrate": 0.0}
    a, b = U(p, y, one(region=r)), U(q, y, one(region=r))
    for alt in ("cis", "noncis"):  # both destinations of the emigration nest
        assert getattr(a, alt)[0] - getattr(b, alt)[0] == pytest.approx(
            1.5 * math.log(ratio), abs=1e-5)
    assert a.labour[0] == b.labour[0] and a.study[0] == b.study[0]  # emigration only
    assert ratio > 1.4 and a.cis[0] > b.cis[0]  # a rich region: a positive weight raises it


def test_noncis_gap_is_german_over_kazakh_gdp_at_market_rates():
    # by hand from comparators_gdp_per_capita_2005_2023.csv (current US dollars): the tenge's
    # float of 2015 halved Kazakhstan's GDP in dollars and widened the gap to Germany
    import pandas as pd

    df = pd.read_csv(datasets.DATA_DIR / "comparators_gdp_per_capita_2005_2023.csv")
    usd = df.pivot(index="year", columns="iso3", values="gdp_pc_current_usd")
    r = datasets.REGIONS.index("Kostanay")
    for y in (2013, 2016):
        ctx = Context.for_year(y, defaults())
        want = (math.log(usd.loc[y, "DEU"] / usd.loc[y, "KAZ"])
                - math.log(float(datasets.income_ratio(y)[r])))
        assert ctx.gap_noncis[r] == pytest.approx(want, rel=1e-12)
    jump = (Context.for_year(2016, defaults()).gap_noncis
            - Context.for_year(2013, defaults()).gap_noncis)
    assert (jump > 0.3).all()
