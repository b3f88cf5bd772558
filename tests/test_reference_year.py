"""The model's year against an object-per-household reference (tests/reference/year.py).

A population of about 20 households is copied into plain Python objects; the model and
the reference each simulate two years, and afterwards every person (household, age, sex,
education, status, years abroad, age of death) and every household (status, head,
optimism, contacts) must be equal, and so must every number the model records. Two
parameter sets: the defaults, and a busy one (frequent moves, deaths and births) so that
every rule of the year happens in some case.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from model.core.recorder import Recorder
from model.params import defaults
from model.scenario import Scenario
from model.simulation import EmigrationModel
from tests.reference.year import World

SCALE = 300_000.0  # about 20 households in 2012
YEARS = 3
BUSY = {"asc_emigrate": -1.0, "asc_labour": -1.0, "asc_study": -1.0, "realise_emigrate": 0.5,
        "realise_labour": 0.8, "realise_study": 0.8, "p_leave_home": 0.5,
        "mortality_level": 2.0, "p_settle_labour": 0.3, "study_years": 2,
        "immigration_multiplier": 3.0, "p_higher_completion": 0.8, "intention_scale": 3.0,
        "b_devaluation_emigrate": 0.5, "residual_intending_start": 0.5}
CASES = [(seed, busy) for busy in (False, True) for seed in range(1, 9)]


@cache
def run(seed: int, busy: bool):
    """Model and reference after each of YEARS years: [(model state, reference, records)]."""
    params = {**defaults(), **(BUSY if busy else {})}
    model = EmigrationModel(Scenario(params=params, scale=SCALE, end=2012 + YEARS), seed=seed)
    world = World.from_model(model)
    out = []
    for _ in range(YEARS):
        year = model.year
        model.step()
        records = world.step(year)
        out.append((year, state_of(model), state_of_world(world), model_records(model, year),
                    records))
    return model, world, out


def state_of(model) -> dict:
    hh, pp = model.households, model.persons
    return {"persons": {f: getattr(pp, f).copy() for f in type(pp)._fields},
            "households": {f: getattr(hh, f).copy() for f in type(hh)._fields}}


def state_of_world(world: World) -> dict:
    hh, pp = world.to_tables()
    return state_of(type("Tables", (), {"households": hh, "persons": pp})())


def model_records(model, year: int) -> dict:
    frame = model.recorder.frame(1.0)
    frame = frame[frame["year"] == year]
    out: dict[str, dict[str, float]] = {}
    for metric, group, value in zip(frame["metric"], frame["group"], frame["value"],
                                    strict=True):
        out.setdefault(metric, {})[group] = float(value)
    return out


def test_the_reference_population_is_small():
    model, *_ = run(1, False)
    assert 15 <= model.n_households_start <= 30


@pytest.mark.parametrize("seed, busy", CASES)
def test_every_person_and_household_as_the_reference(seed, busy):
    for year, got, want, _, _ in run(seed, busy)[2]:
        for table in ("persons", "households"):
            assert got[table].keys() == want[table].keys()
            for name, values in got[table].items():
                assert values.shape == want[table][name].shape, (year, table, name)
                bad = np.flatnonzero(values != want[table][name]) if values.ndim == 1 else \
                    np.flatnonzero((values != want[table][name]).any(axis=1))
                assert len(bad) == 0, (year, table, name, bad[:5].tolist(),
                                       values[bad[:5]].tolist(),
                                       want[table][name][bad[:5]].tolist())


@pytest.mark.parametrize("seed, busy", CASES)
def test_every_record_as_the_reference(seed, busy):
    for year, _, _, got, want in run(seed, busy)[2]:
        assert got.keys() == want.keys(), year
        for metric, values in got.items():
            assert values == want[metric], (year, metric)
        assert sum(want["population"].values()) > 0


def test_every_rule_of_the_year_happens_in_some_case():
    events: dict[str, int] = {}
    for case in CASES:
        for name, n in run(*case)[1].events.items():
            events[name] = events.get(name, 0) + n
    rules = ("emigrating households", "sent abroad", "returnees", "settlers", "deaths",
             "births", "new heads", "dissolved", "leavers", "couples", "immigrants")
    assert [r for r in rules if events.get(r, 0) == 0] == [], events
    # and the records say so too: persons emigrated and intended to
    shares = [run(*c)[2][-1][4]["share_intending"]["all"] for c in CASES]
    assert max(shares) > 0


def test_recorded_groups_are_the_recorders():
    *_, out = run(2, True)
    records = out[0][4]
    assert list(records["population"]) == Recorder().groups


def edge_model():
    """A population edited so that two rare cases of the year's rules meet the reference.

    Household A: the head is 36 and a child at home 20, both ageing to 37 and 21: exactly
    the 16 years apart that leaving home needs, compared after ageing. Household B: the
    head dies this year and the two oldest at home are both 40: the later slot heads it.
    """
    params = {**defaults(), "p_leave_home": 1.0}
    model = EmigrationModel(Scenario(params=params, scale=SCALE, end=2013), seed=3)
    hh, pp = model.households, model.persons
    sizes = np.bincount(pp.hh, minlength=hh.n)
    a, b = np.flatnonzero(sizes >= 3)[:2]
    for h, head_age, others in ((a, 36, [20]), (b, 70, [40, 40])):
        members = np.flatnonzero(pp.hh == h)
        head = hh.head[h]
        rest = [i for i in members if i != head]
        pp.status[members] = 0
        pp.death_age[members] = 100
        pp.age[rest] = 10  # children, unless set below
        pp.age[head] = head_age
        pp.age[rest[:len(others)]] = others
        if h == b:
            pp.death_age[head] = head_age
        if h == a:
            child = rest[0]
    return model, a, b, child, rest[:2]


def test_edge_cases_of_leaving_home_and_new_heads_as_the_reference():
    model, a, b, child, twins = edge_model()
    world = World.from_model(model)
    year = model.year
    model.step()
    records = world.step(year)
    got, want = state_of(model), state_of_world(world)
    for table in ("persons", "households"):
        for name, values in got[table].items():
            assert (values == want[table][name]).all(), (table, name)
    assert model_records(model, year) == records
    # the cases happened: the child of A left home, B is headed by the later twin
    assert world.persons[int(model.households.head[a])].age == 37
    moved = world.persons[child]
    assert moved.age == 21 and moved.household.slot >= model.n_households_start
    assert moved.household.head is moved
    assert world.households[b].head.slot == max(twins)
