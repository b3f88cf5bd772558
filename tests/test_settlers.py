"""Registered emigrants and settlers abroad (issue 11): hand-computed cases.

``new_emigrants`` counts whole households leaving for permanent residence (BNS's registered
departures); labour migrants and graduates who stay abroad are ``new_settlers_abroad``.
Graduates hold the degree they earned; labour settlers are in the CIS, graduates outside
it with ``p_graduate_noncis``; the 2012 stock of labour migrants is the EEC flow over the
yearly exit rate.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from model import datasets
from model.core import kernels
from model.core.kernels import ActRules, Acts, ActTallies, PersonArrays
from model.core.population import LABOUR, synthesize
from model.core.recorder import Recorder
from model.params import defaults
from model.scenario import Scenario
from model.simulation import EmigrationModel


def _one_pass(p_stay: float):
    """Two students in their last year (edu secondary) and one labour migrant who settles."""
    pp = PersonArrays.zeros(3, hh=[0, 1, 2], age=[21, 22, 40], edu=[1, 1, 1],
                            status=[2, 2, 1], years_abroad=[3, 3, 0], death_age=[99, 99, 99])
    acts = Acts(np.zeros(3, np.int8), np.zeros(3, np.bool_), np.full(3, -1.0, np.float32),
                np.full(3, -1, np.intp))
    f32 = np.float32
    # labour: never returns (p_return 0), always settles (p_return_or_settle 1)
    rules = ActRules(np.zeros((4, 121), np.bool_), np.zeros(4, np.uint64), np.uint64(1),
                     np.uint64(2), f32(0.0), f32(1.0), f32(p_stay), 4.0, 18, False,
                     np.zeros(121, np.float32))
    t = ActTallies(*(np.zeros(Recorder.OUTSIDE + 1, np.int64) for _ in range(3)))
    _, back, settled, _ = kernels.act_return_die(pp, Recorder.BAND_CODE, acts, rules, t)
    return pp, back, settled


@pytest.mark.parametrize("p_stay", [0.0, 1.0])
def test_graduates_hold_their_degree_whether_they_stay_or_return(p_stay):
    pp, back, settled = _one_pass(p_stay)
    # both students reach study_years (3 + 1 = 4) and graduate: education becomes higher
    assert pp.edu.tolist() == [2, 2, 1]  # the labour migrant keeps his education
    if p_stay == 1.0:
        assert settled.tolist() == [0, 1, 2] and back.tolist() == []
    else:
        assert settled.tolist() == [2] and back.tolist() == [0, 1]


def _settlers_run(**params):
    sc = Scenario(scale=400, end=2014)
    model = EmigrationModel(replace(sc, params={**sc.params, **params}), seed=5)
    model.run_model()
    df = model.series()
    s = df[df["metric"] == "new_settlers_abroad"].pivot(index="year", columns="group",
                                                         values="value")
    return model, s


def test_labour_settlers_are_in_the_cis():
    # nobody stays after study: every settler is a labour migrant, all in the CIS
    _, s = _settlers_run(p_stay_after_study=0.0, p_graduate_noncis=1.0, p_settle_labour=0.2)
    assert (s["all"] > 0).all()
    assert (s["destination=non-CIS"] == 0).all()
    assert (s["destination=CIS"] == s["all"]).all()


def test_graduate_settlers_outside_the_cis_with_their_probability():
    # no labour settlers; every graduate stays; all go outside the CIS when p = 1 ...
    _, s = _settlers_run(p_settle_labour=0.0, p_stay_after_study=1.0, p_graduate_noncis=1.0)
    assert (s["all"] > 0).all() and (s["destination=non-CIS"] == s["all"]).all()
    # ... and all higher-educated (they hold the degree they earned)
    assert (s["edu=higher"] == s["all"]).all()
    _, s0 = _settlers_run(p_settle_labour=0.0, p_stay_after_study=1.0, p_graduate_noncis=0.0)
    assert (s0["destination=non-CIS"] == 0).all()
    # the same graduates (common random numbers): only the destination changed
    assert (s0["all"] == s["all"]).all()


def test_initial_labour_stock_is_the_eec_flow_over_the_exit_rate():
    p = defaults()
    scale = 200.0
    _, pp = synthesize(p, scale=scale, seed=3)
    flow = datasets.initial_abroad()["labour"]  # 34,374 (EEC 2012, a yearly flow)
    expected = flow / (p["p_return_labour"] + p["p_settle_labour"]) / scale
    assert abs(np.sum(pp.status == LABOUR) - expected) <= 1.0
    p2 = {**p, "p_return_labour": 0.7, "p_settle_labour": 0.0}
    _, pp2 = synthesize(p2, scale=scale, seed=3)
    assert abs(np.sum(pp2.status == LABOUR) - flow / 0.7 / scale) <= 1.0



# --- intentions of adults (issue 11, part B) ---------------------------------------------------

def test_emigrating_households_have_an_intending_head():
    from model.core.population import HH_EMIGRATED
    sc = Scenario(scale=400, end=2013)
    model = EmigrationModel(replace(sc, params={**sc.params, "realise_emigrate": 1.0}), seed=2)
    model.step()
    hh, pp = model.households, model.persons
    gone = np.flatnonzero(hh.status == HH_EMIGRATED)
    assert len(gone) > 0
    assert (pp.intending[hh.head[gone]] == 1).all()


def test_intentions_persist_and_children_never_intend():
    sc = Scenario(scale=400, end=2014)
    keep = EmigrationModel(replace(sc, params={**sc.params, "p_intention_persist": 1.0}), seed=2)
    keep.step()
    before = keep.persons.intending.copy()
    home = keep.persons.status == 0
    keep.step()
    pp = keep.persons
    n = len(before)
    # with persistence 1 an adult at home who intended still intends (unless gone)
    still = home[:n] & (before == 1) & (pp.status[:n] == 0)
    assert still.any() and (pp.intending[:n][still] == 1).all()
    assert (pp.age[pp.intending == 1] >= 18).all()  # minors never intend


def test_intention_profile_peaks_and_is_zero_for_minors():
    from model.simulation import intention_profile
    t = intention_profile({"intention_age_peak": 38.0, "intention_age_spread": 15.0})
    assert t[:18].sum() == 0 and t.argmax() == 38 and t[38] == 1.0
    assert abs(t[53] - np.exp(-0.5)) < 1e-6  # one spread from the peak


@pytest.mark.parametrize("wish, intends", [(0.0, [0, 0]), (1.0, [1, 1])])
def test_graduates_who_wished_to_stay_come_home_intending(wish, intends):
    # p_stay 0: both graduates return; with a wish to stay of 1 they come home intending
    pp = PersonArrays.zeros(2, hh=[0, 1], age=[21, 22], status=[2, 2], years_abroad=[3, 3],
                            death_age=[99, 99])
    acts = Acts(np.zeros(2, np.int8), np.zeros(2, np.bool_), np.full(2, -1.0, np.float32),
                np.full(2, -1, np.intp))
    f32 = np.float32
    rules = ActRules(np.zeros((4, 121), np.bool_), np.zeros(4, np.uint64), np.uint64(1),
                     np.uint64(2), f32(0.0), f32(0.0), f32(0.0), 4.0, 18, False,
                     np.zeros(121, np.float32), f32(wish))
    t = ActTallies(*(np.zeros(Recorder.OUTSIDE + 1, np.int64) for _ in range(3)))
    _, back, _, _ = kernels.act_return_die(pp, Recorder.BAND_CODE, acts, rules, t)
    assert back.tolist() == [0, 1] and pp.intending.tolist() == intends
