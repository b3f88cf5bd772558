"""The synthetic population of 1 January 2012 and the growable tables behind it."""

from __future__ import annotations

import numpy as np
import pytest

from model import datasets
from model.core import population
from model.core.lifetables import life_table_params, life_tables
from model.core.population import (
    HOME,
    LABOUR,
    RESIDENT,
    STUDY,
    Households,
    Persons,
    add_households,
    age_sex_distribution,
    synthesize,
)
from model.core.recorder import Recorder
from model.params import REGISTRY, defaults

SCALE = 1000


@pytest.fixture(scope="module")
def pop():
    return synthesize(defaults(), scale=SCALE, seed=11)


def test_persons_by_region_match_official_2012(pop):
    hh, pp = pop
    official = datasets.population_by_region(2012)
    simulated = np.bincount(pp.region, minlength=16) * SCALE
    # rounding to whole simulated persons: at most half a scale unit per region
    assert np.abs(simulated - official).max() <= SCALE / 2
    assert abs(pp.n * SCALE - official.sum()) <= 16 * SCALE / 2
    # the household's region is the persons' region
    np.testing.assert_array_equal(pp.region, hh.region[pp.hh])
    np.testing.assert_array_equal(pp.ethnicity, hh.ethnicity[pp.hh])


def test_mean_household_size(pop):
    hh, pp = pop
    sizes = np.bincount(pp.hh, minlength=hh.n)
    assert (sizes >= 1).all() and sizes.max() <= REGISTRY["max_household_size"].default
    assert abs(sizes.mean() - defaults()["mean_household_size"]) < 0.1


def test_mean_household_size_follows_parameter():
    p = {**defaults(), "mean_household_size": 3.3}
    hh, pp = synthesize(p, scale=2000, seed=2)
    assert abs(pp.n / hh.n - 3.3) < 0.1


def test_every_household_has_one_adult_head_at_home(pop):
    hh, pp = pop
    assert (hh.status == RESIDENT).all()
    assert len(np.unique(hh.head)) == hh.n  # no person heads two households
    np.testing.assert_array_equal(pp.hh[hh.head], np.arange(hh.n))
    assert (pp.age[hh.head] >= 20).all()
    assert (pp.status[hh.head] == HOME).all()


def test_ethnic_shares_near_census(pop):
    hh, pp = pop
    share = np.bincount(pp.ethnicity, minlength=8) / pp.n
    assert abs(share[datasets.ETHNIC_GROUPS.index("Kazakh")] - 0.631) < 0.03
    assert abs(share[datasets.ETHNIC_GROUPS.index("Russian")] - 0.237) < 0.03
    # northern regions are much more Russian than the south
    rus = pp.ethnicity == datasets.ETHNIC_GROUPS.index("Russian")
    north = pp.region == datasets.REGIONS.index("North Kazakhstan")
    south = pp.region == datasets.REGIONS.index("Kyzylorda")
    assert rus[north].mean() > rus[south].mean() + 0.2


def test_age_sex_structure_follows_births_and_deaths(pop):
    hh, pp = pop
    # ages 0-11: the BNS births of 2000-2011 in each region, nearly all surviving
    births = datasets.births_by_region()
    for r in (datasets.REGIONS.index("South Kazakhstan"), datasets.REGIONS.index("Kostanay")):
        expected = births.loc[2011, datasets.REGIONS[r]] / SCALE
        got = np.sum((pp.age == 0) & (pp.region == r))
        assert abs(got - expected) < 4 * np.sqrt(expected) + 1
    # older ages solved to the deaths of 2012-2018: a closed projection of the structure
    # (period tables of each year, BNS births entering at age 0) has the BNS deaths in total,
    # region by region
    counts, _ = population._structure(life_table_params(defaults()))
    tables = life_tables(defaults())
    n = np.zeros((2, 16, 121))
    n[:, :, :101] = np.moveaxis(counts, 1, 0)
    male = 105 / 205
    dead = np.zeros(16)
    for y in range(2012, 2019):
        q = tables.period_q(y)
        dead += (n * q).sum(axis=(0, 2))
        alive = n * (1 - q)
        n = np.zeros_like(n)
        n[:, :, 1:] = alive[:, :, :-1]
        n[:, :, 0] = births.loc[y].to_numpy(float) * np.array([[male], [1 - male]])
    observed = datasets.deaths_by_region().loc[2012:2018].to_numpy(float).sum(axis=0)
    np.testing.assert_allclose(dead, observed, rtol=1e-6)
    # the north is older than the south (higher death rates at similar life expectancy)
    old = pp.age >= 60
    north = pp.region == datasets.REGIONS.index("North Kazakhstan")
    south = pp.region == datasets.REGIONS.index("South Kazakhstan")
    assert old[north].mean() > 2 * old[south].mean()
    # the 2009 census average age was 31 years (kz_census2009_age_national.csv)
    assert 29.5 < pp.age.mean() + 0.5 < 32.5


def test_structure_counts_hand_case():
    # two regions, ages 0-2, young = 1, q = 0.75 at age 2 only (survivors 1, 1, 0.5)
    q = np.tile(np.array([0.0, 0.0, 0.75]), (2, 2, 1))
    births = np.array([[20.0], [10.0]])
    # region 0: 20 deaths -> 26.67 aged 2, g = 0; region 1: 80 persons over 1 : 0.5 e^-g,
    # 12 deaths would need 16 aged 2 (g = ln 2), beyond the bracket: g stops at 0.2
    c, g = population.structure_counts(births, np.array([100.0, 90.0]),
                                       np.array([20.0, 12.0]), q, 0.6, young=1)
    w = 0.5 * np.exp(-0.2)
    np.testing.assert_allclose(c.sum(axis=1), [[20, 160 / 3, 80 / 3],
                                               [10, 80 / (1 + w), 80 * w / (1 + w)]], rtol=1e-9)
    np.testing.assert_allclose(g, [0.0, 0.2], atol=1e-9)
    # sexes split by the share of boys at birth, also among the older
    np.testing.assert_allclose(c[:, 0] / c.sum(axis=1), 0.6)


def test_age_sex_distribution_is_a_distribution():
    for r in range(16):
        d = age_sex_distribution(r)
        assert d.shape == (2, 101)
        assert (d >= 0).all() and d.sum() == pytest.approx(1.0)
        assert not d.flags.writeable


def test_education_by_age(pop):
    hh, pp = pop
    assert (pp.edu[pp.age < 16] == 0).all()
    assert (pp.edu[(pp.age >= 16) & (pp.age < 22)] == 1).all()
    adults = pp.age >= 22
    higher = np.mean(pp.edu[adults] == 2)
    assert 0.05 < higher < 0.35
    assert set(np.unique(pp.edu).tolist()) == {0, 1, 2}


def test_initial_stocks_abroad(pop):
    hh, pp = pop
    stocks = datasets.initial_abroad()
    students = np.flatnonzero(pp.status == STUDY)
    labour = np.flatnonzero(pp.status == LABOUR)
    assert abs(len(students) - 42_244 / SCALE) < 1
    # the EEC figure is a yearly flow: the stock is the flow over the yearly exit rate
    exits = defaults()["p_return_labour"] + defaults()["p_settle_labour"]
    assert abs(len(labour) - stocks["labour"] / exits / SCALE) < 1
    assert ((pp.age[students] >= 17) & (pp.age[students] <= 24)).all()
    assert ((pp.age[labour] >= 18) & (pp.age[labour] <= 62)).all()
    heads = set(hh.head.tolist())
    assert not heads & set(students.tolist()) and not heads & set(labour.tolist())
    ya = pp.years_abroad[students]
    assert ya.min() >= 0 and ya.max() < defaults()["study_years"]
    assert (pp.years_abroad[labour] == 0).all()


def test_initial_students_at_small_scale_are_near_expected():
    hh, pp = synthesize(defaults(), scale=300, seed=4)
    assert abs(np.sum(pp.status == STUDY) - 42_244 / 300) < 1


def test_optimism_and_diaspora(pop):
    hh, pp = pop
    assert ((hh.optimism >= 0) & (hh.optimism <= 1)).all()
    assert abs(hh.optimism.mean() - datasets.ladder(2012) / 10) < 0.02
    european = np.isin(hh.ethnicity, [datasets.ETHNIC_GROUPS.index(g)
                                      for g in datasets.EUROPEAN_GROUPS])
    p = defaults()
    assert abs(hh.diaspora[european].mean() - p["p_diaspora_european"]) < 0.05
    assert abs(hh.diaspora[~european].mean() - p["p_diaspora_other"]) < 0.02


def test_contacts_valid(pop):
    hh, pp = pop
    assert hh.contacts.shape == (hh.n, defaults()["n_contacts"])
    assert hh.contacts.min() >= 0 and hh.contacts.max() < hh.n
    assert not (hh.contacts == np.arange(hh.n)[:, None]).any()
    same = hh.region[hh.contacts] == hh.region[:, None]
    assert same.mean() > defaults()["p_contact_in_region"]


def test_death_ages_and_group_codes(pop):
    hh, pp = pop
    assert (pp.death_age >= pp.age).all()
    # older people are closer to their age of death
    young, old = pp.age < 20, pp.age >= 70
    assert (pp.death_age - pp.age)[young].mean() > (pp.death_age - pp.age)[old].mean() + 30
    np.testing.assert_array_equal(pp.group_base, Recorder.base(pp.region, pp.ethnicity))


def test_synthesis_is_reproducible_and_seed_dependent():
    a = synthesize(defaults(), scale=5000, seed=1)
    b = synthesize(defaults(), scale=5000, seed=1)
    c = synthesize(defaults(), scale=5000, seed=2)
    for field in ("age", "sex", "edu", "hh", "status"):
        np.testing.assert_array_equal(getattr(a[1], field), getattr(b[1], field))
    np.testing.assert_array_equal(a[0].contacts, b[0].contacts)
    assert not np.array_equal(a[1].age[:500], c[1].age[:500])


# --- tables ----------------------------------------------------------------------------------

def rows(n, **given):
    """All Persons columns (zeros) for ``n`` rows, with the given ones replaced."""
    cols = {name: np.zeros(n) for name in Persons._fields}
    cols.update(given)
    return cols


def test_tables_grow_and_keep_content():
    pp = Persons(2)
    first = pp.append(**rows(2, hh=np.array([0, 0]), age=np.array([40, 10]),
                             sex=np.array([0, 1]), region=np.array([3, 3])))
    assert first == slice(0, 2)
    more = pp.append(**rows(100, hh=np.arange(100), age=np.arange(100)))
    assert more == slice(2, 102)
    assert pp.n == 102 and pp.capacity >= 102
    assert pp.age[:2].tolist() == [40, 10] and pp.region[:2].tolist() == [3, 3]
    assert pp.age.shape == (102,)
    # views write through
    pp.age[0] = 41
    assert pp.age[0] == 41
    with pytest.raises(AttributeError):
        _ = pp.nonexistent


def test_add_households_appends_after_existing():
    p = defaults()
    hh, pp = Households(0, k=p["n_contacts"]), Persons(0)
    shares = np.tile(np.eye(8)[datasets.ETHNIC_GROUPS.index("German")], (16, 1))
    persons = np.zeros(16, dtype=np.int64)
    persons[2] = 50
    a = add_households(hh, pp, p, seed=1, year=2012, label="t", region_persons=persons,
                       ethnicity_shares=shares)
    b = add_households(hh, pp, p, seed=1, year=2013, label="t", region_persons=persons,
                       ethnicity_shares=shares, higher_share=1.0)
    assert pp.n == 100
    assert a[0] == 0 and b[0] == a[-1] + 1 and b[-1] == hh.n - 1
    assert (hh.region == 2).all() and (pp.region == 2).all()
    assert (hh.ethnicity == datasets.ETHNIC_GROUPS.index("German")).all()
    later = pp.hh >= b[0]
    assert (pp.edu[later & (pp.age >= 22)] == 2).all()
    np.testing.assert_array_equal(pp.hh[hh.head], np.arange(hh.n))
    assert (pp.status == HOME).all()


def test_add_households_higher_share_is_a_share_of_every_new_person():
    # 17.5% of all new persons (children too) have higher education, all of them 22+:
    # the adults' rate is 0.175 * n / n_22+ (binomial noise: sd about 0.5 points here)
    p = defaults()
    hh, pp = Households(0, k=p["n_contacts"]), Persons(0)
    shares = np.tile(np.eye(8)[0], (16, 1))
    add_households(hh, pp, p, seed=3, year=2013, label="t",
                   region_persons=np.full(16, 400), ethnicity_shares=shares,
                   higher_share=0.175)
    higher = pp.edu == 2
    assert abs(higher.mean() - 0.175) < 0.02
    assert (pp.age[higher] >= p["higher_age"]).all()
