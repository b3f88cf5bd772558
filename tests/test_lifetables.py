"""Regional life tables: life expectancy, levels solved from the data, sex gap, cohorts."""

from __future__ import annotations

import numpy as np
import pytest

from model import datasets
from model.core.demography import Mortality
from model.core.lifetables import (
    LAST_DATA_YEAR,
    _q,
    life_expectancy,
    life_tables,
    solve_levels,
)
from model.params import defaults


def test_life_expectancy_constant_hazard_is_the_geometric_sum():
    h = 0.02  # gompertz_b = 0: the hazard is gompertz_a at every age, no infant term
    m = Mortality(level=1.0, gompertz_a=h, gompertz_b=0.0, male_excess=1.0, infant=0.0)
    # S(x) = (1 - h)^x for x = 1..120 (the table closes at 120), e0 = 1/2 + sum S(x)
    want = 0.5 + sum((1 - h) ** x for x in range(1, 121))
    assert float(life_expectancy(np.array([1.0]), 1, m)[0]) == pytest.approx(want, rel=1e-6)


def test_levels_reproduce_the_regional_life_expectancy_2012_2018():
    t = life_tables(defaults())
    data = datasets.life_expectancy_by_region()
    for year in range(2012, 2019):
        got = t.life_expectancy(year)["both"]
        np.testing.assert_allclose(got, data.loc[year].to_numpy(float), atol=0.01)


def test_sex_gap_is_the_sourced_9_7_years_at_2012():
    m = Mortality.from_params(defaults())
    lv = solve_levels(np.array([69.6]), m, 105.0)
    gap = life_expectancy(lv, 1, m) - life_expectancy(lv, 0, m)
    assert float(gap[0]) == pytest.approx(9.7, abs=0.15)


def test_projection_gains_the_stated_years_per_decade():
    p = defaults() | {"life_expectancy_gain_per_decade": 1.5}
    t = life_tables(p)
    e18, e38 = t.life_expectancy(LAST_DATA_YEAR)["both"], t.life_expectancy(2038)["both"]
    np.testing.assert_allclose(e38 - e18, 3.0, atol=0.01)
    held = life_tables(defaults() | {"life_expectancy_gain_per_decade": 0.0})
    np.testing.assert_allclose(held.life_expectancy(2040)["both"], e18, atol=0.01)


def test_death_age_follows_the_cohort_hazards_by_hand():
    # a man aged 30 in region 5 in 2030: he meets q(30) of 2030, then q(31) of 2031
    t = life_tables(defaults() | {"life_expectancy_gain_per_decade": 4.0})
    r = 5
    q30 = float(_q(t.level(2030)[r], 0, t.schedule)[30])
    q31 = float(_q(t.level(2031)[r], 0, t.schedule)[31])
    q31_old = float(_q(t.level(2030)[r], 0, t.schedule)[31])
    assert q31 < q31_old  # mortality falls over the years, so the cohort's q differs
    dies_by_31 = 1 - (1 - q30) * (1 - q31)
    eps = 1e-7
    u = np.array([q30 - eps, q30 + eps, dies_by_31 - eps, dies_by_31 + eps])
    d = t.death_age(np.full(4, 30), np.zeros(4, np.int64), np.full(4, r), 2030, u)
    assert d.tolist()[:3] == [30, 31, 31] and d[3] > 31


def test_death_age_reproduces_the_period_table_when_levels_are_held():
    # with no change after 2018, a newborn of 2019 meets the 2018 table at every age:
    # mean age of death + 1/2 is the period life expectancy
    t = life_tables(defaults() | {"life_expectancy_gain_per_decade": 0.0})
    n = 200_000
    u = np.random.default_rng(3).random(n)
    for sex, key in ((0, "men"), (1, "women")):
        d = t.death_age(np.zeros(n, np.int64), np.full(n, sex), np.full(n, 15), 2019, u)
        assert d.mean() + 0.5 == pytest.approx(float(t.life_expectancy(2019)[key][15]),
                                               abs=0.15)
