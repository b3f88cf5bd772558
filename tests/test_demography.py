"""Mortality, fertility, birth levels and the choice of a new household head.

Birth levels and new heads are tested here on their numpy statements, the oracles of the
compiled passes (``tests/reference/oracles.py``), against hand-computed cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.core.demography import (
    AGE_BANDS,
    MAX_LIFE,
    death_age,
    death_probability,
    fertility_shape,
)
from model.core.population import (
    DEAD,
    DISSOLVED,
    EMIGRATED,
    HH_EMIGRATED,
    HOME,
    LABOUR,
    RESIDENT,
    STUDY,
    Households,
    Persons,
)
from tests.reference.oracles import birth_probability, reassign_heads

AGES = np.arange(0, 121)


def test_death_probability_increases_with_age_after_childhood():
    for sex in (0, 1):
        q = death_probability(AGES, np.full(AGES.size, sex), 1.0)
        assert q.dtype == np.float32
        adult = q[1:]
        assert (np.diff(adult) >= 0).all()
        # strictly increasing until the cap
        below = adult < 1.0
        assert (np.diff(adult[below]) > 0).all()
        # infant mortality above that of a child
        assert q[0] > q[1]


def test_men_die_more_than_women_and_cap_at_one():
    men = death_probability(AGES, np.zeros(AGES.size), 1.0)
    women = death_probability(AGES, np.ones(AGES.size), 1.0)
    assert (men >= women).all()
    uncapped = women < 1 / 2.43
    assert (men[uncapped] > women[uncapped]).all()
    np.testing.assert_allclose(men[1:][uncapped[1:]] / women[1:][uncapped[1:]], 2.43, rtol=1e-5)
    assert men.max() == 1.0 and women.max() == 1.0  # capped at the oldest ages
    assert ((men >= 0) & (men <= 1) & (women >= 0) & (women <= 1)).all()


def test_death_probability_plausible_levels_and_level_multiplier():
    q = death_probability(np.array([0, 30, 70]), np.array([1, 1, 1]), 1.0)
    assert 0.005 < q[0] < 0.05
    assert q[1] < 0.002
    assert 0.01 < q[2] < 0.1
    lo = death_probability(np.array([50]), np.array([0]), 1.0)
    hi = death_probability(np.array([50]), np.array([0]), 2.0)
    assert hi[0] == pytest.approx(2 * lo[0], rel=1e-5)


@pytest.mark.parametrize("sex", [0, 1])
@pytest.mark.parametrize("age", [0, 1, 30, 70, 100])
def test_death_age_dies_this_year_exactly_when_u_below_q(sex, age):
    q = float(death_probability(np.array([age]), np.array([sex]), 1.0)[0])
    below, above = np.nextafter(q, 0.0) * (1 - 1e-9), q * (1 + 1e-6)
    d = death_age(np.array([age, age]), np.array([sex, sex]), np.array([below, above]), 1.0)
    assert d.tolist()[0] == age
    assert d.tolist()[1] > age


def test_death_age_reproduces_life_table():
    n = 400_000
    rng = np.random.default_rng(1)
    for sex in (0, 1):
        d = death_age(np.zeros(n, dtype=np.int64), np.full(n, sex), rng.random(n), 1.0)
        assert d.min() >= 0 and d.max() <= MAX_LIFE
        q = death_probability(AGES, np.full(AGES.size, sex), 1.0).astype(np.float64)
        for x in (0, 40, 60, 75, 85):
            at_risk = d >= x
            # hazard at age x among those reaching x; binomial tolerance
            p_hat = np.mean(d[at_risk] == x)
            se = np.sqrt(q[x] * (1 - q[x]) / at_risk.sum())
            assert abs(p_hat - q[x]) < 5 * se + 1e-4, (sex, x)
        # survival to 60 is the product of (1 - q) below 60
        assert np.mean(d >= 60) == pytest.approx(np.prod(1 - q[:60]), abs=0.005)


def test_death_age_conditional_on_current_age_and_monotone_in_u():
    u = np.linspace(0.0, 0.999, 200)
    d = death_age(np.full(200, 50), np.zeros(200, dtype=np.int64), u, 1.0)
    assert (d >= 50).all() and (np.diff(d) >= 0).all()
    # women live longer than men, higher mortality level shortens life
    women = death_age(np.full(200, 50), np.ones(200, dtype=np.int64), u, 1.0)
    assert (women >= d).all() and women.mean() > d.mean() + 2
    high = death_age(np.full(200, 50), np.zeros(200, dtype=np.int64), u, 2.0)
    assert (high <= d).all() and high.mean() < d.mean()


def test_death_age_mean_life_expectancy_plausible():
    n = 200_000
    u = np.random.default_rng(2).random(n)
    men = death_age(np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), u, 1.0)
    women = death_age(np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64), u, 1.0)
    # a year of death at age x means dying between x and x + 1
    assert 55 < men.mean() + 0.5 < 80
    assert men.mean() + 2 < women.mean() < 90


def test_fertility_shape():
    f = fertility_shape(AGES)
    assert f.dtype == np.float32
    assert (f[AGES < 15] == 0).all() and (f[AGES > 49] == 0).all()
    assert (f[(AGES >= 15) & (AGES <= 49)] > 0).all()
    assert f[27] == 1.0 and f.max() == 1.0 and np.argmax(f) == 27
    assert (np.diff(f[15:28]) > 0).all()
    assert (np.diff(f[27:50]) < 0).all()


def test_birth_probability_reproduces_targets_in_expectation():
    rng = np.random.default_rng(0)
    n_regions = 5
    region = rng.integers(0, n_regions, 5000)
    shape = fertility_shape(rng.integers(10, 55, 5000))
    target = np.array([40.0, 10.0, 0.0, 75.5, 20.0])
    p = birth_probability(target, region, shape, n_regions)
    assert p.dtype == np.float32 and p.shape == (5000,)
    assert (p >= 0).all() and (p <= 0.95).all()
    assert p.max() < 0.95  # the cap is not binding here
    sums = np.bincount(region, weights=p.astype(np.float64), minlength=n_regions)
    np.testing.assert_allclose(sums, target, rtol=1e-5, atol=1e-6)
    # women outside 15-49 never give birth
    assert (p[shape == 0] == 0).all()
    # within a region the probability is proportional to the shape
    r0 = (region == 0) & (shape > 0)
    ratio = p[r0] / shape[r0]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)


def test_birth_probability_caps_and_empty_regions():
    p = birth_probability(np.array([10.0, 5.0]), np.array([0, 0]), np.array([1.0, 1.0]), 2)
    np.testing.assert_allclose(p, [0.95, 0.95])
    assert np.isfinite(p).all()


def test_age_bands_cover_all_ages_without_gaps():
    assert AGE_BANDS[0][0] == 0
    for (_, hi), (lo, _) in zip(AGE_BANDS[:-1], AGE_BANDS[1:], strict=True):
        assert lo == hi + 1
    assert AGE_BANDS[-1][1] >= 120


# --- reassign_heads --------------------------------------------------------------------------

def build(households):
    """Tables from a list of households, each a list of (age, status) of its members."""
    n_h = len(households)
    hh = Households(n_h, k=1)
    pp = Persons(1)
    hh.append(region=np.zeros(n_h), ethnicity=np.zeros(n_h), optimism=np.zeros(n_h),
              diaspora=np.zeros(n_h, bool), status=np.full(n_h, RESIDENT),
              head=np.zeros(n_h), contacts=np.zeros((n_h, 1)))
    owner, age, status = [], [], []
    for h, members in enumerate(households):
        for a, s in members:
            owner.append(h)
            age.append(a)
            status.append(s)
    # every column the table has (zeros), then the ones that matter here
    columns = {name: np.zeros(len(owner)) for name in Persons._fields}
    columns.update(hh=np.array(owner), age=np.array(age), status=np.array(status),
                   death_age=np.full(len(owner), 120))
    pp.append(**columns)
    # the first member heads each household before reassignment
    first = np.r_[0, np.cumsum([len(x) for x in households])[:-1]]
    hh.head[:] = first
    return hh, pp


def test_oldest_member_at_home_becomes_head():
    hh, pp = build([
        [(80, DEAD), (30, HOME), (55, HOME), (70, LABOUR)],   # 55 at home beats 70 abroad
        [(60, EMIGRATED), (20, HOME), (19, HOME)],
        [(50, DEAD), (40, STUDY), (45, LABOUR)],              # nobody home: oldest abroad
    ])
    reassign_heads(hh, pp, np.array([0, 1, 2]))
    assert hh.head.tolist() == [2, 5, 9]
    assert (hh.status == RESIDENT).all()
    assert (pp.hh[hh.head] == np.arange(3)).all()


def test_household_with_nobody_alive_is_dissolved():
    hh, pp = build([
        [(80, DEAD), (75, DEAD)],
        [(60, DEAD), (30, HOME)],
        [(90, DEAD), (33, EMIGRATED)],
    ])
    reassign_heads(hh, pp, np.array([0, 1, 2]))
    assert hh.status.tolist() == [DISSOLVED, RESIDENT, DISSOLVED]
    assert int(hh.head[1]) == 3


def test_emigrated_household_keeps_its_status():
    hh, pp = build([[(40, EMIGRATED), (10, EMIGRATED)]])
    hh.status[0] = HH_EMIGRATED
    reassign_heads(hh, pp, np.array([0]))
    assert hh.status[0] == HH_EMIGRATED


def test_only_affected_households_change():
    hh, pp = build([
        [(30, HOME), (70, HOME)],    # not affected: the younger head stays
        [(80, DEAD), (40, HOME), (60, HOME)],
        [(90, DEAD)],                # not affected: stays resident
    ])
    reassign_heads(hh, pp, np.array([1]))
    assert hh.head.tolist() == [0, 4, 5]
    assert hh.status.tolist() == [RESIDENT, RESIDENT, RESIDENT]


def test_reassign_with_nothing_affected_is_a_no_op():
    hh, pp = build([[(80, DEAD), (30, HOME)]])
    reassign_heads(hh, pp, np.zeros(0, dtype=np.int64))
    assert hh.head.tolist() == [0]
