"""Contacts who emigrated before 2012 (model.core.ties) against hand-computed cases."""

import numpy as np
import pytest

from model import datasets
from model.core import ties
from model.params import defaults


def test_emigrants_before_2012_keep_the_figures_and_interpolate_log_linearly():
    years, e = datasets.emigrants_before_2012()
    assert years.tolist() == list(range(2000, 2012))
    # the BNS figures of 2000, 2004 and 2005 are kept
    assert (e[0], e[4], e[5]) == (155700.0, 65000.0, 52332.0)
    # 2001-2003: log-linear between 2000 and 2004, a constant yearly ratio
    r = (65000.0 / 155700.0) ** 0.25
    assert e[1:4] == pytest.approx(155700.0 * r ** np.arange(1, 4))
    # 2011 on the path from 2005 to the 2012 estimate 15,751 * 24,384 / 12,902; 2010 is
    # 2011 / 1.228 (departures +22.8% in 2011); 2006-2009 log-linear from 2005 to 2010
    e12 = 15751.0 * 24384.0 / 12902.0
    e11 = 52332.0 * (e12 / 52332.0) ** (6 / 7)
    assert e[11] == pytest.approx(e11)
    assert e[10] == pytest.approx(e11 / 1.228)
    assert e[6:10] == pytest.approx(52332.0 * (e[10] / 52332.0) ** (np.arange(1, 5) / 5))


def test_emigrant_ethnicity_keeps_the_reported_shares_and_spreads_the_rest_by_census():
    s = dict(zip(datasets.ETHNIC_GROUPS, datasets.emigrant_ethnicity_2012(), strict=True))
    assert (s["Russian"], s["German"], s["Ukrainian"]) == pytest.approx((0.738, 0.055, 0.076))
    # the other 13.1% in proportion to the census: Kazakhs 10,096,800 of 11,704,400
    rest = 10096800 + 457000 + 224700 + 204200 + 721700
    assert s["Kazakh"] == pytest.approx(0.131 * 10096800 / rest)
    assert sum(s.values()) == pytest.approx(1.0)


def test_emigration_rates_are_emigrants_times_share_over_census_count():
    years, rates = ties.emigration_rates(2011)
    _, e = datasets.emigrants_before_2012()
    g = datasets.ETHNIC_GROUPS.index("German")
    assert years.tolist() == [2011]
    assert rates[0, g] == pytest.approx(e[11] * 0.055 / 178400)


def test_slot_probabilities_mix_own_group_region_and_nation():
    # two regions (populations 1 and 3), two groups; one year; group 0 rate 0.1, group 1 0.3
    rates = np.array([[0.1, 0.3]])
    mix = np.array([[0.5, 0.5], [1.0, 0.0]])
    p = ties.slot_probabilities(rates, mix, np.array([1.0, 3.0]), 0.8, 0.25)
    # region mixes: 0.2 and 0.1; national 0.25 * 0.2 + 0.75 * 0.1 = 0.125
    # cell (region 0, group 1): 0.8 * 0.25 * 0.3 + 0.8 * 0.75 * 0.2 + 0.2 * 0.125 = 0.205
    # cell (region 1, group 0): 0.2 * 0.1 + 0.6 * 0.1 + 0.2 * 0.125 = 0.105
    assert p.shape == (4, 1)
    assert p[1, 0] == pytest.approx(0.205)
    assert p[2, 0] == pytest.approx(0.105)


def test_draw_ties_weighs_each_slot_by_its_year():
    # years 2010 and 2011 with decay 0.5: weights 0.5 and 1; probabilities 0.1 and 0.2
    w = ties.year_weights(np.array([2010, 2011]), 0.5)
    prob = np.array([[0.1, 0.2], [0.0, 0.0]])
    u = np.array([[0.05, 0.1, 0.29, 0.3], [0.05, 0.5, 0.0, 0.9]], np.float32)
    got = ties.draw_ties(u, np.array([0, 1]), prob, w)
    # household 0: 0.05 -> 2010 (0.5); 0.1, 0.29 -> 2011 (1 each); 0.3 -> none
    assert got.tolist() == [2.5, 0.0]


def test_ties_before_match_their_expectation_and_are_deterministic():
    # the ties of 2000-2011 fade with ties_decay, not with network_decay (the model's own)
    p = {**defaults(), "ties_decay": 0.2, "network_decay": 0.7}
    n = 40000
    region = np.full(n, datasets.REGIONS.index("Karaganda"), np.int8)
    eth = np.full(n, datasets.ETHNIC_GROUPS.index("Russian"), np.int8)
    t = ties.ties_before(p, region, eth, np.random.default_rng(3))
    years, rates = ties.emigration_rates(2000)
    prob = ties.slot_probabilities(rates, datasets.ethnicity_by_region(),
                                   datasets.population_by_region(2012),
                                   p["p_contact_in_region"], p["p_contact_same_ethnicity"])
    cell = int(region[0]) * 8 + int(eth[0])
    want = p["n_contacts"] * (prob[cell] * ties.year_weights(years, 0.2)).sum()
    assert t.mean() == pytest.approx(want, rel=0.03)
    assert (ties.ties_before(p, region, eth, np.random.default_rng(3)) == t).all()
    # later first year: fewer ties
    later = ties.ties_before({**p, "ties_first_year": 2008}, region, eth,
                             np.random.default_rng(3))
    assert later.mean() < t.mean()


def test_model_sets_ties_and_new_households_inherit_them():
    from model.params import defaults
    from model.scenario import Scenario
    from model.simulation import EmigrationModel
    m = EmigrationModel(Scenario(scale=2000, end=2014,
                                 params={**defaults(), "ties_weight": 1.0}), seed=4)
    hh = m.households
    n0 = hh.n
    assert hh.ties_before[:n0].max() > 0
    russian = hh.ethnicity[:n0] == datasets.ETHNIC_GROUPS.index("Russian")
    assert hh.ties_before[:n0][russian].mean() > hh.ties_before[:n0][~russian].mean()
    m.run_model()
    assert hh.n > n0


def test_ties_are_not_drawn_when_they_weigh_nothing():
    # the default (ties_weight 0) leaves every household without them: the draw is skipped
    from model.scenario import Scenario
    from model.simulation import EmigrationModel
    m = EmigrationModel(Scenario(scale=2000, end=2013), seed=4)
    assert m.params["ties_weight"] == 0.0
    assert not m.households.ties_before[:m.households.n].any()
