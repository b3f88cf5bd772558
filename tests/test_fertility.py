"""Fertility levels fitted to the regional births, the ethnic ratio and the projection."""

from __future__ import annotations

import numpy as np
import pytest

from model import datasets
from model.core import fertility as fert
from model.core.population import HOME
from model.core.recorder import Recorder
from model.drivers import parse_projection
from model.params import defaults
from model.scenario import Scenario
from model.simulation import EmigrationModel


def test_observed_birth_rate_is_the_mean_of_births_over_population():
    r = datasets.REGIONS.index("Kyzylorda")
    rates = [datasets.births_by_region().loc[y].iloc[r] / datasets.population_by_region(y)[r]
             for y in range(2012, 2019)]
    assert fert.observed_birth_rate()[r] == pytest.approx(np.mean(rates), rel=1e-12)


def test_fit_levels_by_hand_with_an_ethnic_ratio():
    # region 0: 4 Kazakh and 6 other units of fertility mass, 1000 persons at 0.03 births
    lv = fert.fit_levels(np.array([4.0, 0.0]), np.array([6.0, 0.0]), np.array([0.03, 0.02]),
                         np.array([1000.0, 50.0]), ratio=1.5)
    assert lv.tolist() == [pytest.approx(30.0 / (1.5 * 4 + 6)), 0.0]  # no women: 0
    lv = np.r_[lv, np.zeros(14)]
    table = fert.level_table(lv, 1.5, factor=0.5)
    base = Recorder.base(np.array([0, 0]), np.array([fert.KAZAKH, 3]))
    assert table[base].tolist() == pytest.approx([0.5 * 1.5 * lv[0], 0.5 * lv[0]])


def test_least_squares_ratio_recovers_a_known_differential():
    rng = np.random.default_rng(0)
    mk, mo = rng.random(16) * 100, rng.random(16) * 100
    assert fert.ethnic_ratio_least_squares(mk, mo, 0.2 * mk + 0.1 * mo) == pytest.approx(2.0)


def test_projection_factor_holds_then_changes():
    assert fert.projection_factor(2015, -0.2) == 1.0
    assert fert.projection_factor(2028, -0.2) == pytest.approx(0.8)
    assert fert.projection_factor(2023, -0.19) == pytest.approx(0.9)


def test_model_expects_the_observed_births_on_its_2012_women():
    m = EmigrationModel(Scenario(params=defaults() | {"fertility_level_scale": 1.0},
                                 scale=500, end=2012), seed=4)
    pp = m.persons
    women = (pp.sex == 1) & (pp.status == HOME)
    table = m.birth_levels(2012)
    expected = np.bincount(pp.region[women],
                           table[pp.group_base[women]] * m._ages.fertility[pp.age[women]],
                           minlength=16)
    want = fert.observed_birth_rate() * np.bincount(pp.region, minlength=16)
    np.testing.assert_allclose(expected, want, rtol=1e-9)


def test_natural_increase_is_not_read_by_the_model():
    # the driver of the former rule, projected differently, leaves births unchanged
    base = EmigrationModel(Scenario(scale=3000, end=2020), seed=2)
    other = EmigrationModel(Scenario(scale=3000, end=2020,
                                     drivers={"natural_increase_rate": parse_projection(
                                         "natural_increase_rate",
                                         {"projection": "growth", "rate": 0.5})}), seed=2)
    base.run_model()
    other.run_model()
    a, b = base.series(), other.series()
    assert a.equals(b)


def test_kazakh_ratio_raises_kazakh_births():
    p = defaults() | {"kazakh_fertility_ratio": 2.0}
    m = EmigrationModel(Scenario(params=p, scale=500, end=2012), seed=4)
    t = m.birth_levels(2012)
    r = 0
    kaz = Recorder.base(np.array([r]), np.array([fert.KAZAKH]))
    other = Recorder.base(np.array([r]), np.array([1]))
    assert t[kaz][0] == pytest.approx(2.0 * t[other][0])


def test_home_women_mass_matches_masked_women_mass():
    # the one-pass sums over all persons equal women_mass of the women at home, bit for bit
    g = np.random.default_rng(3)
    n = 20000
    sex, status = g.integers(0, 2, n).astype(np.int8), g.integers(0, 5, n).astype(np.int8)
    region, eth = g.integers(0, 16, n).astype(np.int8), g.integers(0, 8, n).astype(np.int8)
    age = g.integers(0, 101, n).astype(np.int16)
    shape = g.random(121).astype(np.float32)
    w = (sex == 1) & (status == HOME)
    want = fert.women_mass(region[w], eth[w], shape[age[w]])
    got = fert.home_women_mass(sex, status, region, eth, age, shape)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
