"""Partnering (model.core.partnering) against hand-computed cases."""

from __future__ import annotations

import numpy as np

from model.core.partnering import PartnerRules, form_couples, match, singles
from model.core.population import Households, Persons
from model.core.states import DEAD, DISSOLVED, HOME, LABOUR, RESIDENT


def tables(rows, households):
    """rows: (household, age, sex, status, region); households: (head, status, region)."""
    pp, hh = Persons(0), Households(0, k=1)
    n = len(rows)
    h, age, sex, status, region = (list(c) for c in zip(*rows, strict=True))
    pp.append(hh=h, age=age, sex=sex, edu=[1] * n, status=status, years_abroad=[0] * n,
              region=region, ethnicity=[0] * n, death_age=[90] * n, group_base=[0] * n)
    head, hstatus, hregion = (list(c) for c in zip(*households, strict=True))
    m = len(households)
    hh.append(region=hregion, ethnicity=[0] * m, optimism=[0.5] * m, diaspora=[False] * m,
              status=hstatus, head=head, contacts=[[0]] * m)
    return hh, pp


def test_singles_are_heads_without_another_living_adult():
    hh, pp = tables(
        [(0, 25, 0, HOME, 0),                          # 0: lives alone
         (1, 30, 1, HOME, 0), (1, 5, 0, HOME, 0),      # 1: lone mother with a child
         (2, 40, 0, HOME, 0), (2, 38, 1, HOME, 0),     # 2: a couple: neither is single
         (3, 45, 1, HOME, 0), (3, 47, 0, DEAD, 0),     # 3: widow (partner dead)
         (4, 33, 0, HOME, 0), (4, 31, 1, LABOUR, 0),   # 4: partner abroad: not single
         (5, 60, 1, HOME, 0),                          # 5: too old
         (6, 26, 0, HOME, 0)],                         # 6: household emigrated
        [(0, RESIDENT, 0), (1, RESIDENT, 0), (3, RESIDENT, 0), (5, RESIDENT, 0),
         (7, RESIDENT, 0), (9, RESIDENT, 0), (10, 1, 0)])
    assert singles(hh, pp, 20, 49).tolist() == [0, 1, 5]


def test_match_pairs_by_age_rank_within_region():
    # region 0: men aged 30 (slot 0), 22 (2), 50 (4); women 25 (1), 40 (3)
    # region 1: one man (5), no woman: nobody pairs
    sex = np.array([0, 1, 0, 1, 0, 0])
    age = np.array([30, 25, 22, 40, 50, 28])
    region = np.array([0, 0, 0, 0, 0, 1], np.int8)
    men, women = match(np.arange(6), sex, age, region, 2)
    assert list(zip(men.tolist(), women.tolist(), strict=True)) == [(2, 1), (0, 3)]


def test_form_couples_moves_the_woman_and_her_children():
    hh, pp = tables(
        [(0, 30, 0, HOME, 2),                          # man alone, household 0
         (1, 28, 1, HOME, 2), (1, 4, 0, HOME, 2),      # lone mother and child, household 1
         (1, 60, 0, DEAD, 2),                          # a dead member stays where he was
         (2, 29, 1, HOME, 3)],                         # a woman in another region
        [(0, RESIDENT, 2), (1, RESIDENT, 2), (4, RESIDENT, 3)])
    men, women = form_couples(hh, pp, PartnerRules(20, 49, 1.0), seed=1, year=2013,
                              n_regions=16)
    assert (men.tolist(), women.tolist()) == ([0], [1])
    assert pp.hh.tolist() == [0, 0, 0, 1, 2]
    assert hh.status.tolist() == [RESIDENT, DISSOLVED, RESIDENT]


def test_form_couples_with_no_one_looking_changes_nothing():
    hh, pp = tables([(0, 30, 0, HOME, 0), (1, 28, 1, HOME, 0)],
                    [(0, RESIDENT, 0), (1, RESIDENT, 0)])
    men, women = form_couples(hh, pp, PartnerRules(20, 49, 0.0), seed=1, year=2013,
                              n_regions=16)
    assert len(men) == len(women) == 0
    assert pp.hh.tolist() == [0, 1] and hh.status.tolist() == [RESIDENT, RESIDENT]


def test_form_couples_pairs_within_an_ethnic_group_only():
    hh, pp = tables([(0, 30, 0, HOME, 0), (1, 28, 1, HOME, 0)],
                    [(0, RESIDENT, 0), (1, RESIDENT, 0)])
    pp.ethnicity[1] = 1
    hh.ethnicity[1] = 1
    men, women = form_couples(hh, pp, PartnerRules(20, 49, 1.0), seed=1, year=2013,
                              n_regions=16)
    assert len(men) == len(women) == 0


def _one_person_share_2035(**params):
    from model.params import defaults
    from model.scenario import Scenario
    from model.simulation import EmigrationModel
    m = EmigrationModel(Scenario(params={**defaults(), **params}, scale=1000, end=2034),
                        seed=4)
    m.run_model()
    hh, pp = m.households, m.persons
    size = np.bincount(pp.hh[pp.status == HOME], minlength=hh.n)
    size = size[(hh.status == RESIDENT) & (size > 0)]
    return float((size == 1).mean()), float(size.mean())


def test_partnering_holds_the_household_sizes_in_their_band():
    # the band of model/data/README.md (household formation): one-person share 5-20%,
    # mean size 3.3-4.0; without partnering one-person households pile up
    one, mean = _one_person_share_2035()
    assert 0.05 <= one <= 0.20 and 3.3 <= mean <= 4.0
    alone, _ = _one_person_share_2035(p_partner=0.0)
    assert alone > one + 0.1
