"""Every compiled pass against a plain numpy statement of the same rule, on random tables.

The numpy statements (here and in ``tests/reference/oracles.py``) are how the step was
written before it was compiled; equality is exact, not approximate, because the kernels
promise bit-identical results.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.core import kernels
from model.core.decisions import (
    Context,
    Utilities,
    nested_logit,
    utility_tables,
)
from model.core.demography import fertility_shape
from model.core.kernels import (
    ActRules,
    Acts,
    ActTallies,
    AgeRules,
    Census,
    Choices,
    Draws,
    HouseholdArrays,
    PersonArrays,
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
from model.core.recorder import Recorder
from model.core.rng import stream_key, uniform_at
from model.params import defaults
from tests.reference import oracles
from tests.reference.oracles import Choosers, choose, reassign_heads, share_abroad, utilities

SEEDS = [0, 1, 2, 3]
AGES = np.arange(121)
FERTILITY = fertility_shape(AGES)
# schooling and leaving-home ages of age_and_move at the registry defaults (secondary,
# higher, leaving home 21-35 after ageing, 16 years younger than the head)
DEFAULT_AGES = np.array([16, 22, 21, 35, 16], np.int32)


def tables(seed: int, n_h: int = 400):
    """Random but consistent household and person tables (persons mostly grouped by home)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 7, n_h)
    owner = np.repeat(np.arange(n_h), sizes)
    extra = rng.integers(0, n_h, n_h // 5)  # later arrivals (births) out of household order
    owner = np.concatenate([owner, extra])
    n_p = len(owner)
    hh = Households(n_h, k=5)
    pp = Persons(n_p)
    region = rng.integers(0, 16, n_h).astype(np.int8)
    eth = rng.integers(0, 8, n_h).astype(np.int8)
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    hh.append(region=region, ethnicity=eth, optimism=rng.random(n_h, dtype=np.float32),
              diaspora=rng.random(n_h) < 0.2,
              status=rng.choice([RESIDENT, HH_EMIGRATED, DISSOLVED], n_h, p=[0.8, 0.15, 0.05]),
              head=first, contacts=rng.integers(0, n_h, (n_h, 5)),
              emigrated_year=rng.integers(2012, 2016, n_h).astype(np.int16),
              ties_before=(rng.random(n_h) * 4.0).astype(np.float32))  # some shares capped
    age = rng.integers(0, 121, n_p).astype(np.int16)
    pp.append(hh=owner, age=age, sex=rng.integers(0, 2, n_p).astype(np.int8),
              edu=rng.integers(0, 3, n_p).astype(np.int8),
              status=rng.choice([HOME, LABOUR, STUDY, EMIGRATED, DEAD], n_p,
                                p=[0.7, 0.05, 0.05, 0.1, 0.1]).astype(np.int8),
              years_abroad=np.zeros(n_p, np.int8), region=region[owner], ethnicity=eth[owner],
              death_age=np.minimum(age + rng.integers(0, 40, n_p), 120).astype(np.int16),
              group_base=Recorder.base(region[owner], eth[owner]))
    return hh, pp, rng


@pytest.mark.parametrize("seed", SEEDS)
def test_uniform_of_is_uniform_at_bit_for_bit(seed):
    slots = np.random.default_rng(seed).integers(0, 2**40, 300)
    key = stream_key(seed, "birth", 2020)
    mine = np.array([kernels.uniform_of(key, int(s)) for s in slots], dtype=np.float32)
    assert (mine == uniform_at(seed, "birth", 2020, slots)).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_uniforms_are_uniform_at_bit_for_bit(seed):
    slots = np.random.default_rng(seed).integers(0, 2**40, 5000)
    got = kernels.uniforms(stream_key(seed, "emigration.hazard", 2020), slots)
    assert got.dtype == np.float32
    assert (got == uniform_at(seed, "emigration.hazard", 2020, slots)).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_census(seed):
    hh, pp, _ = tables(seed)
    pack = np.arange(121, dtype=np.int64) * 7 + 1
    cells = np.zeros(Recorder.OUTSIDE + 1, np.int64)
    packed = np.zeros(hh.n, np.int64)
    abroad = hh.status == HH_EMIGRATED
    kernels.census(PersonArrays.of(pp), Recorder.BAND_CODE, pack, Census(cells, packed, abroad))

    codes = Recorder.code(pp.group_base, pp.age, pp.edu)
    codes[pp.status > STUDY] = Recorder.OUTSIDE
    want_cells = np.bincount(codes, minlength=Recorder.OUTSIDE + 1)
    want_cells[Recorder.OUTSIDE] = 0
    home = pp.status == HOME
    want_packed = np.bincount(pp.hh[home], pack[pp.age[home]], minlength=hh.n).astype(np.int64)
    want_abroad = hh.status == HH_EMIGRATED
    want_abroad[pp.hh[(pp.status == LABOUR) | (pp.status == STUDY)]] = True
    assert (cells == want_cells).all()
    assert (packed == want_packed).all()
    assert (abroad == want_abroad).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_fertility_mass_and_births(seed):
    hh, pp, rng = tables(seed)
    level = rng.random(16) * 0.3
    level[3] = 5.0  # a region at the 0.95 cap
    women = np.flatnonzero((pp.age >= 15) & (pp.age <= 49) & (pp.sex == 1) & (pp.status <= STUDY))
    mass = np.zeros(16)
    kernels.fertility_mass(women, PersonArrays.of(pp), FERTILITY, mass)
    # levels by region and ethnicity (the group base): Kazakh women (code 0) twice the rest
    region, eth = np.divmod(np.arange(16 * 8), 8)
    by_base = np.zeros(Recorder.OUTSIDE + 1)
    by_base[Recorder.base(region, eth)] = level[region] * np.where(eth == 0, 2.0, 1.0)
    mothers = kernels.births(women, PersonArrays.of(pp), FERTILITY, by_base,
                             stream_key(seed, "birth", 2014), 0.95)

    home = women[pp.status[women] == HOME]  # the others went abroad after the list was made
    assert 0 < len(home) < len(women)
    want_mass = np.bincount(pp.region[home], FERTILITY[pp.age[home]], minlength=16)
    assert (mass == want_mass).all()  # same order of float64 additions: exactly equal
    p_birth = np.minimum(level[pp.region[home]] * np.where(pp.ethnicity[home] == 0, 2.0, 1.0)
                         * FERTILITY[pp.age[home]], 0.95)
    want = home[uniform_at(seed, "birth", 2014, home) < p_birth.astype(np.float32)]
    assert len(want) > 0
    assert (mothers == want).all()


def moved(seed):
    """The tables before and after :func:`model.core.kernels.age_and_move` (last 30: newborns)."""
    hh, pp, _ = tables(seed)
    before = (pp.status.copy(), pp.age.copy(), pp.edu.copy(), hh.head.copy(),
              hh.status.copy())
    n_aged = pp.n - 30
    abroad_cells = np.zeros((2, Recorder.OUTSIDE + 1), np.int64)
    rules = AgeRules(key_education=stream_key(seed, "education", 2014),
                     p_higher=np.float32(0.37), key_leave=stream_key(seed, "leave_home", 2016),
                     p_leave=np.float32(0.3), ages=DEFAULT_AGES)
    movers = kernels.age_and_move(n_aged, PersonArrays.of(pp), HouseholdArrays.of(hh), rules,
                                  Recorder.BAND_CODE, abroad_cells)
    return hh, pp, n_aged, before, movers, abroad_cells


@pytest.mark.parametrize("seed", SEEDS)
def test_age_and_move_schools_and_ages_all_but_newborns(seed):
    hh, pp, n_aged, (status0, age0, edu0, _, _), *_ = moved(seed)
    live = (status0 <= STUDY) & (np.arange(pp.n) < n_aged)
    want_edu = edu0.copy()
    want_edu[live & (age0 == 16)] = 1
    at22 = np.flatnonzero(live & (age0 == 22))
    want_edu[at22[uniform_at(seed, "education", 2014, at22) < 0.37]] = 2
    assert (want_edu != edu0).sum() > 0  # the test exercises schooling
    assert (pp.edu == want_edu).all()
    assert (pp.age == age0 + live).all()
    assert (pp.status == status0).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_age_and_move_counts_who_is_abroad_at_the_end_of_the_year(seed):
    _, pp, _, _, _, abroad_cells = moved(seed)
    codes = Recorder.code(pp.group_base, pp.age, pp.edu)  # ages and schooling after the pass
    for row, status in enumerate((LABOUR, STUDY)):
        want = np.bincount(codes[pp.status == status], minlength=Recorder.OUTSIDE + 1)
        assert want.sum() > 0
        assert (abroad_cells[row] == want).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_age_and_move_leavers(seed):
    hh, pp, _, (_, _, _, head0, hh_status0), movers, _ = moved(seed)
    age = pp.age  # after ageing: the rule compares ages as they are on 1 January next
    cand = np.flatnonzero((age >= 21) & (age <= 35) & (pp.status == HOME))
    owner = pp.hh[cand]
    head = head0[owner]
    child = (head != cand) & (age[head] - age[cand] >= 16) & (hh_status0[owner] == RESIDENT)
    cand = cand[child]
    want = cand[uniform_at(seed, "leave_home", 2016, cand) < 0.3]
    assert len(want) > 0
    assert (movers == want).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_age_and_move_new_heads_is_reassign_heads(seed):
    hh, pp, _, (status0, _, _, head0, hh_status0), movers, _ = moved(seed)
    # the rule of demography.reassign_heads on the aged tables, leavers gone from home
    want_hh = Households(hh.n, k=5)
    want_hh.append(region=hh.region, ethnicity=hh.ethnicity, optimism=hh.optimism,
                   diaspora=hh.diaspora, status=hh_status0.copy(), head=head0.copy(),
                   contacts=hh.contacts)
    want_pp = Persons(pp.n)
    want_pp.append(**{f: getattr(pp, f).copy() for f in Persons._fields})
    want_pp.status[movers] = DEAD  # not members of the home they left
    resident = np.flatnonzero(hh_status0 == RESIDENT)
    affected = resident[status0[head0[resident]] != HOME]
    reassign_heads(want_hh, want_pp, affected)
    assert len(affected) > 0
    assert (want_hh.status == DISSOLVED).sum() > (hh_status0 == DISSOLVED).sum()
    assert (hh.head == want_hh.head).all()
    assert (hh.status == want_hh.status).all()


def test_group_order_is_stable_argsort():
    keys = np.random.default_rng(5).integers(0, 16, 5000).astype(np.int8)
    got = kernels.group_order(keys, np.bincount(keys, minlength=16))
    assert (got == np.argsort(keys, kind="stable")).all()


def decision_inputs(seed, shift):
    """Tables, composition from the census, choosers, draws and utility shifts."""
    hh, pp, rng = tables(seed)
    pack = (1 + 2**8 * (AGES < 16) + 2**16 * ((AGES >= 18) & (AGES <= 62))
            + 2**24 * ((AGES >= 16) & (AGES <= 24)) + 2**32 * (AGES >= 18)).astype(np.int64)
    packed = np.zeros(hh.n, np.int64)
    abroad = hh.status == HH_EMIGRATED
    kernels.census(PersonArrays.of(pp), Recorder.BAND_CODE, pack,
                   Census(np.zeros(Recorder.OUTSIDE + 1, np.int64), packed, abroad))
    choosers = np.flatnonzero((hh.status == RESIDENT) & (packed & 255 > 0))
    extra = {None: None,
             "scalar": (np.float32(0.3), np.float32(-0.2), np.float32(0.1), np.float32(0.0)),
             "array": tuple(rng.normal(size=hh.n).astype(np.float32) for _ in range(4)),
             "closed": (np.float32(-np.inf), np.float32(-np.inf), np.float32(0.0),
                        np.float32(0.0))}[shift]
    shifts = np.zeros((4, 0), np.float32)
    if extra is not None:
        shifts = np.empty((4, hh.n), np.float32)
        for row, values in enumerate(extra):
            shifts[row] = values
    return hh, pp, rng, packed, abroad, choosers, extra, shifts


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shift", [None, "scalar", "array", "closed"])
def test_household_utilities_are_decisions_utilities(seed, shift):
    p = defaults()
    ctx = Context.for_year(2016, p)
    hh, pp, _, packed, abroad, choosers, extra, shifts = decision_inputs(seed, shift)
    tab = utility_tables(p, ctx)
    v = np.empty((4, len(choosers)), np.float32)
    kernels.household_utilities(choosers, HouseholdArrays.of(hh), PersonArrays.of(pp),
                                Census(np.zeros(0, np.int64), packed, abroad), tab, shifts, v)

    head = hh.head[choosers]
    pk = packed[choosers]
    ch = Choosers(region=hh.region[choosers], ethnicity=hh.ethnicity[choosers],
                  head_age=pp.age[head], head_higher=pp.edu[head] == 2,
                  optimism=hh.optimism[choosers],
                  share_abroad=share_abroad(hh.contacts, abroad, np.where(
                      hh.status == HH_EMIGRATED,
                      (1.0 - p["network_decay"]) ** np.maximum(2016 - hh.emigrated_year - 1, 0),
                      1.0).astype(np.float32), hh.ties_before * tab.tie_before)[choosers],
                  diaspora=hh.diaspora[choosers], members=pk & 255,
                  children=(pk >> 8) & 255 > 0, can_labour=(pk >> 16) & 255 > 0,
                  can_study=(pk >> 24) & 255 > 0)
    if extra is not None:
        extra = Utilities(*(np.asarray(a)[choosers] if np.ndim(a) else a for a in extra))
    want = utilities(p, ctx, ch, extra)
    assert np.isneginf(want.labour).any() and np.isneginf(want.study).any()
    for row, name in enumerate(("cis", "noncis", "labour", "study")):
        assert (v[row] == getattr(want, name)).all(), name  # same float32 sums: equal


@pytest.mark.parametrize("seed", SEEDS)
def test_realise_is_choose_then_realisation(seed):
    hh, pp, rng, packed, _, choosers, _, _ = decision_inputs(seed, None)
    n_c = len(choosers)
    v = [rng.normal(-1.0, 1.5, n_c).astype(np.float32) for _ in range(4)]
    v[2][rng.random(n_c) < 0.3] = -np.inf  # labour unavailable
    v[3][rng.random(n_c) < 0.6] = -np.inf  # study unavailable
    v[0][:20] = v[1][:20] = -np.inf        # emigration closed
    prob = nested_logit(*v, 0.7)
    u_int = rng.random(hh.n, dtype=np.float32)
    u_real = rng.random(hh.n, dtype=np.float32)
    rate = np.array([0.0, 0.5, 0.6, 0.7], np.float32)
    choice, act = np.empty(n_c, np.int8), np.empty(n_c, bool)
    kernels.realise(choosers, prob, Draws(intention=u_int, realisation=u_real), rate,
                    Choices(choice=choice, act=act))

    want = choose(prob, u_int[choosers])
    assert set(want.tolist()) == {0, 1, 2, 3}
    assert (choice == want).all()
    assert (act == (u_real[choosers] < rate[want])).all()


P_RETURN, P_SETTLE, P_STAY, STUDY_YEARS, P_WISH = 0.35, 0.1, 0.42, 4, 0.7


def acted_on(seed, record=True):
    """Random intentions and actions of the deciding households, then the fused pass."""
    hh, pp, rng, packed, _, choosers, _, _ = decision_inputs(seed, None)
    intent = np.zeros(hh.n, np.int8)
    intent[choosers] = rng.choice([1, 2, 3, 4], len(choosers), p=[0.4, 0.2, 0.2, 0.2])
    acting = np.zeros(hh.n, bool)
    acting[choosers] = (rng.random(len(choosers)) < 0.7) & (intent[choosers] > 1)
    work = (AGES >= 18) & (AGES <= 62)
    young = (AGES >= 16) & (AGES <= 24)
    eligible = np.zeros((4, 121), bool)
    eligible[2], eligible[3] = work, young
    member_keys = np.array([0, 0, stream_key(seed, "member.labour", 2015),
                            stream_key(seed, "member.study", 2015)], dtype=np.uint64)
    pp.years_abroad[:] = rng.integers(0, 5, pp.n)
    pp.intending[:] = rng.random(pp.n) < 0.3  # adults' lasting intentions, counted by person
    before = pp.status.copy(), pp.years_abroad.copy(), pp.edu.copy(), pp.intending.copy()
    best = np.full(hh.n, -1, np.intp)
    yes = np.zeros(Recorder.OUTSIDE + 1, np.int64)
    every = np.zeros(Recorder.OUTSIDE + 1, np.int64)
    deaths = np.zeros(Recorder.OUTSIDE + 1, np.int64)
    f32 = np.float32
    rules = ActRules(eligible=eligible, member_keys=member_keys,
                     key_abroad_labour=stream_key(seed, "abroad.labour", 2015),
                     key_abroad_study=stream_key(seed, "abroad.study", 2015),
                     p_return_labour=f32(P_RETURN), p_return_or_settle=f32(P_RETURN + P_SETTLE),
                     p_stay_after_study=f32(P_STAY), study_years=float(STUDY_YEARS),
                     adult_age=18, record=record, fertility=FERTILITY,
                     p_wish_stay_study=f32(P_WISH))
    lists = kernels.act_return_die(PersonArrays.of(pp), Recorder.BAND_CODE,
                                   Acts(intent=intent, acting=acting,
                                        best_key=np.full(hh.n, -1.0, np.float32), best_slot=best),
                                   rules, ActTallies(intending=yes, adults=every, deaths=deaths))
    return (hh, pp, packed, choosers, intent, acting, (work, young), before, best,
            (yes, every, deaths), lists)


def after_rules(seed):
    """The numpy statement of rules 1 (emigration) to 4 of ``act_return_die``."""
    hh, pp, _, _, intent, acting, _, (status0, years0, edu0, intending0), *_ = acted_on(seed)
    status = status0.copy()
    leaving = acting & (intent == 2)
    gone = np.flatnonzero(leaving[pp.hh] & (status <= STUDY))
    status[gone] = EMIGRATED
    years = years0.copy()
    lab = np.flatnonzero(status == LABOUR)
    u = uniform_at(seed, "abroad.labour", 2015, lab)
    back = u < P_RETURN
    lab_back, lab_settle = lab[back], lab[~back & (u < P_RETURN + P_SETTLE)]
    stu = np.flatnonzero(status == STUDY)
    years[stu] += 1
    grads = stu[years[stu] >= STUDY_YEARS]
    edu = edu0.copy()
    edu[grads] = 2  # the degree earned abroad
    u_grad = uniform_at(seed, "abroad.study", 2015, grads)
    stays = u_grad < P_STAY
    intending = intending0.copy()  # wished to stay, came back: intending to emigrate
    intending[grads[~stays & (u_grad < np.float32(P_WISH))]] = 1
    returnees = np.sort(np.r_[lab_back, grads[~stays]])
    settlers = np.sort(np.r_[lab_settle, grads[stays]])
    status[returnees] = HOME
    years[returnees] = 0
    status[settlers] = EMIGRATED
    dies = np.flatnonzero((status <= STUDY) & (pp.age >= pp.death_age))
    status[dies] = DEAD
    women = np.flatnonzero((status == HOME) & (pp.sex == 1) & (FERTILITY[pp.age] > 0))
    return gone, returnees, settlers, dies, women, status, years, edu, intending


@pytest.mark.parametrize("seed", SEEDS)
def test_act_return_die_returns_settles_and_dies_as_stated(seed):
    _, pp, *_, (_, _, deaths), lists = acted_on(seed)
    gone, returnees, settlers, dies, women, status, years, edu, intending = after_rules(seed)
    assert min(len(gone), len(returnees), len(settlers), len(dies), len(women)) > 0
    assert (pp.edu == edu).all()  # graduates hold a degree, stayers and returnees alike
    assert (pp.intending == intending).all()
    for got, want in zip(lists, (gone, returnees, settlers, women), strict=True):
        assert (got == want).all()
    assert (pp.status == status).all()
    assert (pp.years_abroad == years).all()
    codes = Recorder.code(pp.group_base[dies], pp.age[dies], pp.edu[dies])
    assert (deaths == np.bincount(codes, minlength=Recorder.OUTSIDE + 1)).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_act_return_die_picks_members(seed):
    hh, pp, _, _, intent, acting, (work, young), (before, *_), best, *_ = acted_on(seed)
    sending = np.where(acting, intent - 1, 0)
    want = np.full(hh.n, -1, np.intp)
    for code, name, table in ((2, "member.labour", work), (3, "member.study", young)):
        cand = np.flatnonzero((before == HOME) & (sending[pp.hh] == code) & table[pp.age])
        key = uniform_at(seed, name, 2015, cand)
        order = np.lexsort((key, pp.hh[cand]))  # last of each household: largest key
        own = pp.hh[cand][order]
        last = np.r_[own[1:] != own[:-1], True] if len(own) else np.zeros(0, bool)
        want[own[last]] = cand[order[last]]
    assert (best == want).all()
    assert (best >= 0).sum() > 10  # the test exercises real picks


@pytest.mark.parametrize("seed", SEEDS)
def test_act_return_die_counts_intentions(seed):
    _, pp, packed, choosers, intent, _, _, (before, *_), _, (yes, every, _), _ = acted_on(seed)
    adult = (before == HOME) & (pp.age >= 18) & (intent[pp.hh] > 0)
    codes = Recorder.code(pp.group_base, pp.age, pp.edu)
    want_every = np.bincount(codes[adult], minlength=Recorder.OUTSIDE + 1)
    want_yes = np.bincount(codes[adult & (pp.intending != 0)],
                           minlength=Recorder.OUTSIDE + 1)
    assert 0 < want_yes.sum() < want_every.sum()
    # every adult at home in a deciding household is counted: the household-level count
    adults = (packed[choosers] >> 32) & 255
    assert every.sum() == adults.sum()
    assert (every == want_every).all() and (yes == want_yes).all()


def test_act_return_die_counts_no_intentions_when_not_recording():
    *_, (yes, every, _), (gone, *_) = acted_on(1, record=False)
    assert yes.sum() == 0 and every.sum() == 0 and len(gone) > 0


@pytest.mark.parametrize("head_status, leaves", [(HOME, True), (LABOUR, True), (DEAD, False)])
def test_age_and_move_compares_with_the_heads_age_after_ageing(head_status, leaves):
    # the child (slot 0) is weighed before its head (slot 1) ages in the same pass; a
    # living head is compared at 46 with the child at 30 (16 years: leaves), a dead head
    # does not age (45 - 30 < 16: stays)
    pp = PersonArrays.zeros(2, status=[HOME, head_status], age=[29, 45], edu=[1, 1])
    hh = HouseholdArrays.zeros(1, head=[1])
    movers = kernels.age_and_move(2, pp, hh, AgeRules(np.uint64(1), np.float32(0.0),
                                                      np.uint64(2), np.float32(1.0),
                                                      DEFAULT_AGES),
                                  Recorder.BAND_CODE,
                                  np.zeros((2, Recorder.OUTSIDE + 1), np.int64))
    assert movers.tolist() == ([0] if leaves else [])


_ONE_SIGNATURE = """
from model.core import kernels
from model.scenario import Scenario
from model.simulation import EmigrationModel
m = EmigrationModel(Scenario(scale=5000, end=2014), seed=1)
warm = {n: getattr(kernels, n).signatures for n in kernels.__all__ if n != "warm_up"}
m.run_model()
ran = {n: getattr(kernels, n).signatures for n in kernels.__all__ if n != "warm_up"}
print(warm == ran and all(len(s) <= 1 for s in ran.values()))
"""


def test_warm_up_compiles_the_types_the_model_passes():
    # a run that calls a kernel with other dtypes than warm_up would compile it again in
    # the middle of a simulated year (seconds on a fresh machine); run in a fresh process,
    # because the tests above call the kernels with their own dtypes
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", _ONE_SIGNATURE], cwd=root, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "True"


def test_household_utilities_reads_coefficients_by_name_not_position():
    # the same coefficients in the reverse order of UTILITY_TERMS: a kernel that indexed
    # them by position would now multiply optimism by nest_scale and so on
    from collections import namedtuple

    p = defaults()
    hh, pp, _, packed, abroad, choosers, _, shifts = decision_inputs(0, None)
    tab = utility_tables(p, Context.for_year(2016, p))
    reversed_terms = namedtuple("UtilityCoefficients", tab.coef._fields[::-1])
    shuffled = tab._replace(coef=reversed_terms(*tab.coef[::-1]))
    assert shuffled.coef[0] != tab.coef[0]
    got = []
    for t in (tab, shuffled):
        v = np.empty((4, len(choosers)), np.float32)
        kernels.household_utilities(choosers, HouseholdArrays.of(hh), PersonArrays.of(pp),
                                    Census(np.zeros(0, np.int64), packed, abroad), t, shifts, v)
        got.append(v)
    assert (got[0] == got[1]).all()


def test_argument_tuples_are_columns_of_the_tables():
    from model.core.population import Households, Persons

    for bundle, table in ((PersonArrays, Persons(3)), (HouseholdArrays, Households(3, k=2))):
        assert set(bundle._fields) <= set(type(table)._fields)
        of = bundle.of(table)
        zeros = bundle.zeros(0, k=2) if bundle is HouseholdArrays else bundle.zeros(0)
        for name in bundle._fields:
            assert getattr(of, name) is not None
            assert getattr(of, name).dtype == getattr(table, name).dtype == \
                getattr(zeros, name).dtype, name
            assert getattr(zeros, name).shape == getattr(table, name).shape, name
    # views, not copies: a pass writes into the table
    pp = Persons(2)
    pp.append(**{f: np.zeros(2) for f in Persons._fields})
    PersonArrays.of(pp).age[1] = 7
    assert pp.age[1] == 7


# --- update_intentions ------------------------------------------------------------------------

def intentions_oracle(pp, p_emig, profile, seed, persist, first):
    """The numpy statement of :func:`model.core.kernels.update_intentions`."""
    out = pp.intending.copy()
    asked = np.flatnonzero((pp.status == HOME) & (pp.age >= 18) & (p_emig[pp.hh] > 0))
    u = uniform_at(seed, "intention.person", 2015, asked)
    f = (p_emig[pp.hh[asked]] * profile[np.minimum(pp.age[asked], 120)]).astype(np.float32)
    if first:
        out[asked] = u < (f / (np.float32(1.0) - np.float32(persist) + f)).astype(np.float32)
    else:
        had = pp.intending[asked] != 0
        out[asked] = np.where(had, u < np.float32(persist), u < f)
    return out


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("first", [False, True])
def test_update_intentions_matches_its_numpy_statement(seed, first):
    hh, pp, rng, *_ = decision_inputs(seed, None)
    pp.intending[:] = rng.random(pp.n) < 0.3
    p_emig = np.where(rng.random(hh.n) < 0.8, rng.random(hh.n) * 0.5, 0.0).astype(np.float32)
    profile = np.where(AGES >= 18, rng.random(121), 0.0).astype(np.float32)
    want = intentions_oracle(pp, p_emig, profile, seed, 0.8, first)
    before = pp.intending.copy()
    rules = kernels.IntentionRules(p_emig, profile, stream_key(seed, "intention.person", 2015),
                                   np.float32(0.8), 18, first)
    kernels.update_intentions(PersonArrays.of(pp), rules)
    assert (pp.intending == want).all()
    assert (pp.intending != before).any()  # the rule did something
    kids = pp.age < 18
    assert (pp.intending[kids] == before[kids]).all()


def test_update_intentions_hand_case():
    # persist 0: an intending adult drops it; p * profile = 1: a non-intending one forms it
    pp = PersonArrays.zeros(4, hh=[0, 0, 1, 0], age=[30, 50, 30, 30], status=[0, 0, 0, 1],
                            intending=[1, 0, 0, 0])
    rules = kernels.IntentionRules(np.array([1.0, 0.0], np.float32), np.ones(121, np.float32),
                                   np.uint64(7), np.float32(0.0), 18, False)
    kernels.update_intentions(pp, rules)
    # slot 2's household does not decide (p 0); slot 3 is abroad: both keep their state
    assert pp.intending.tolist() == [0, 1, 0, 0]
    # first year with p * profile = 1 and persist 0.5: stationary share 1 / 1.5 = 2/3
    pp = PersonArrays.zeros(3000, age=np.full(3000, 40))
    rules = kernels.IntentionRules(np.ones(1, np.float32), np.ones(121, np.float32),
                                   np.uint64(7), np.float32(0.5), 18, True)
    kernels.update_intentions(pp, rules)
    assert abs(pp.intending.mean() - 2 / 3) < 0.03


def test_emigrated_contacts_weigh_less_the_longer_ago_they_left():
    # hand-computed: household 0 has contacts 1 (emigrated in 2013) and 2 (a member abroad
    # for work). In 2016 with network_decay 0.5 contact 1 weighs 0.5^(2016-2013-1) = 0.25
    # and contact 2 weighs 1: share (0.25 + 1) / 2 = 0.625 against 1.0 without decay
    hh = HouseholdArrays.zeros(3, k=2, contacts=[[1, 2], [0, 0], [0, 0]],
                               status=[RESIDENT, HH_EMIGRATED, RESIDENT],
                               emigrated_year=[0, 2013, 0], optimism=[0.5, 0.5, 0.5])
    pp = PersonArrays.zeros(1, age=[40])
    pk = np.array([2 + 2**16 + 2**32 * 2, 0, 0], np.int64)
    comp = Census(np.zeros(1, np.int64), pk, np.array([False, True, True]))
    p = {**defaults(), "b_network_emigrate": 2.0}
    v = {}
    for decay in (0.0, 0.5):
        tab = utility_tables({**p, "network_decay": decay}, Context.for_year(2016, p))
        v[decay] = np.empty((4, 1), np.float32)
        kernels.household_utilities(np.array([0]), hh, pp, comp, tab,
                                    np.zeros((4, 0), np.float32), v[decay])
    assert v[0.0][0, 0] - v[0.5][0, 0] == pytest.approx(2.0 * (1.0 - 0.625), abs=1e-5)


def test_contacts_who_left_before_2012_add_to_the_share_with_the_decay():
    # hand-computed: household 0 has 2 contacts, one of them (1) with a member abroad, and
    # ties_before 0.5 (in 2012 weights). In 2015 with ties_decay 0.5 and ties_weight 2
    # the ties count 2 * 0.5^(2015-2012) * 0.5 = 0.125: share (1 + 0.125) / 2 = 0.5625
    # (network_decay, 0.9 here, fades the model's own emigrants only)
    # against 0.5 without them. Household 2 (contact 1 abroad, ties_before 8: 2 * 0.125 *
    # 8 = 2): share capped at 1, not (1 + 2) / 2 = 1.5
    hh = HouseholdArrays.zeros(3, k=2, contacts=[[1, 2], [0, 0], [1, 0]],
                               status=[RESIDENT, RESIDENT, RESIDENT],
                               optimism=[0.5, 0.5, 0.5], ties_before=[0.5, 0.0, 8.0],
                               head=[0, 0, 0])
    pp = PersonArrays.zeros(1, age=[40])
    pk = np.array([2 + 2**16 + 2**32 * 2, 0, 2 + 2**16 + 2**32 * 2], np.int64)
    comp = Census(np.zeros(1, np.int64), pk, np.array([False, True, False]))
    p = {**defaults(), "b_network_emigrate": 2.0, "ties_decay": 0.5, "network_decay": 0.9}
    v = {}
    for weight in (0.0, 2.0):
        tab = utility_tables({**p, "ties_weight": weight}, Context.for_year(2015, p))
        v[weight] = np.empty((4, 2), np.float32)
        kernels.household_utilities(np.array([0, 2]), hh, pp, comp, tab,
                                    np.zeros((4, 0), np.float32), v[weight])
    assert v[2.0][0, 0] - v[0.0][0, 0] == pytest.approx(2.0 * (0.5625 - 0.5), abs=1e-5)
    assert v[2.0][0, 1] - v[0.0][0, 1] == pytest.approx(2.0 * (1.0 - 0.5), abs=1e-5)


# --- partnering -------------------------------------------------------------------------------

def partner_tables(seed: int):
    """Random tables with many small households of young adults (so that many are single)."""
    hh, pp, rng = tables(seed, n_h=600)
    pp.age[:] = np.where(rng.random(pp.n) < 0.7, rng.integers(18, 52, pp.n), pp.age)
    pp.region[:] %= 3  # few regions and groups: enough singles in each to match
    pp.ethnicity[:] %= 2
    return hh, pp, rng


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ages", [(20, 49), (16, 60)])
def test_partner_singles_is_the_numpy_statement(seed, ages):
    hh, pp, _ = partner_tables(seed)
    got = kernels.partner_singles(PersonArrays.of(pp), HouseholdArrays.of(hh), *ages)
    want = oracles.singles(hh, pp, *ages)
    assert len(want) > 20
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("seed", SEEDS)
def test_match_couples_is_the_numpy_statement(seed):
    rng = np.random.default_rng(seed)
    n = 400
    sex = rng.integers(0, 2, n).astype(np.int8)
    age = rng.integers(20, 50, n).astype(np.int16)  # 30 ages: many ties
    group = rng.integers(0, 12, n).astype(np.int64)
    group[group == 5] = 7  # a group code with nobody in it
    men, women = kernels.match_couples(sex, age, group)
    want_men, want_women = oracles.match(np.arange(n), sex, age, group, 12)
    assert len(want_men) > 50
    assert men.tolist() == want_men.tolist() and women.tolist() == want_women.tolist()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("p_partner", [0.0, 0.6, 1.0])
def test_form_couples_is_the_numpy_statement(seed, p_partner):
    hh, pp, _ = partner_tables(seed)
    hh_o, pp_o = hh.copy(), pp.copy()
    rules = kernels.CoupleRules(20, 49, np.float32(p_partner), stream_key(seed, "partner", 2017))
    men, women = kernels.form_couples(PersonArrays.of(pp), HouseholdArrays.of(hh), rules)
    want_men, want_women = oracles.form_couples(hh_o, pp_o, 20, 49, p_partner, seed=seed,
                                                year=2017, n_regions=16)
    assert (len(want_women) > 5) == (p_partner > 0)
    assert men.tolist() == want_men.tolist() and women.tolist() == want_women.tolist()
    assert (pp.hh == pp_o.hh).all() and (hh.status == hh_o.status).all()


# --- contact blocks ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_key_blocks_and_next_in_block_are_the_numpy_statements(seed):
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 40, 3000).astype(np.int8)
    keys[keys == 7] = 8  # a code with no slot
    keys[17] = 39  # a code with one slot: its next is itself
    keys[keys == 39] = 38
    keys[17] = 39
    order, counts, starts = kernels.key_blocks(keys)
    want_counts = np.bincount(keys, minlength=40)
    assert order.tolist() == np.argsort(keys, kind="stable").tolist()
    assert counts.tolist() == want_counts.tolist()
    assert starts.tolist() == np.r_[0, np.cumsum(want_counts)[:-1]].tolist()
    own = rng.choice(3000, 500, replace=False)
    own[0] = 17
    got = kernels.next_in_block(keys, order, counts, starts, own)
    assert got.tolist() == oracles.next_in_block(keys, own).tolist()
    assert got[0] == 17


# --------------------------------------------------------------------- parallel passes
def test_parallel_passes_are_their_serial_compiles():
    # a parallel pass must give what the same source compiled serially gives (numba's
    # parallel lowering once dropped the writes of update_intentions), whatever the threads
    from numba import njit

    hh, pp, rng, packed, abroad, choosers, _, shifts = decision_inputs(0, "array")
    p = defaults()
    tab = utility_tables(p, Context.for_year(2016, p))
    p_emig = np.where(rng.random(hh.n) < 0.8, rng.random(hh.n) * 0.5, 0.0).astype(np.float32)
    profile = np.where(AGES >= 18, rng.random(121), 0.0).astype(np.float32)
    start = (rng.random(pp.n) < 0.3).astype(np.int8)
    n_c = len(choosers)
    v = [rng.normal(-1.0, 1.5, n_c).astype(np.float32) for _ in range(4)]
    prob = nested_logit(*v, 0.7)
    u = Draws(rng.random(hh.n, dtype=np.float32), rng.random(hh.n, dtype=np.float32))
    rate = np.array([0.0, 0.5, 0.6, 0.7], np.float32)
    noise = rng.normal(size=hh.n).astype(np.float32)

    def outputs(fn):
        out = {}
        for first in (True, False):
            pp.intending[:] = start
            fn["update_intentions"](PersonArrays.of(pp), kernels.IntentionRules(
                p_emig, profile, np.uint64(11), np.float32(0.8), 18, first))
            out[f"intending {first}"] = pp.intending.copy()
        util = np.empty((4, n_c), np.float32)
        fn["household_utilities"](choosers, HouseholdArrays.of(hh), PersonArrays.of(pp),
                                  Census(np.zeros(0, np.int64), packed, abroad), tab, shifts,
                                  util)
        out["utilities"] = util
        ch = Choices(np.empty(n_c, np.int8), np.empty(n_c, np.bool_))
        fn["realise"](choosers, prob, u, rate, ch)
        out["choice"], out["act"] = ch.choice, ch.act
        opt = hh.optimism.copy()
        fn["drift_optimism"](opt, noise.copy(), np.float32(0.1), np.float32(-0.02))
        out["optimism"] = opt
        return out

    serial = outputs({n: njit(getattr(kernels, n).py_func) for n in kernels.PARALLEL_PASSES})
    before = kernels.set_threads(None)
    try:
        for threads in (1, 2):
            kernels.set_threads(threads)
            par = outputs({n: getattr(kernels, n) for n in kernels.PARALLEL_PASSES})
            for name, want in serial.items():
                assert np.array_equal(par[name], want), (threads, name)
    finally:
        kernels.set_threads(before)
    assert (serial["intending False"] != start).any()  # the passes did something
    assert (serial["choice"] > 0).any()


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_blocked_passes_are_their_serial_compiles(seed, monkeypatch):
    # act_return_die and age_and_move run over blocks of slots on the cores, each block
    # listing and counting on its own, joined in block order: whatever the threads (and so
    # the blocks are split among them), they must give what their source compiled serially gives
    from numba import njit

    def state(fns):
        for name, fn in fns.items():
            monkeypatch.setattr(kernels, name, fn)
        _, pp, *_, best, tallies, lists = acted_on(seed)
        acted = [pp.status, pp.years_abroad, pp.edu, pp.intending, best, *tallies, *lists]
        hh, pp, _, _, movers, abroad_cells = moved(seed)
        return acted + [pp.age, pp.edu, hh.head, hh.status, movers, abroad_cells]

    blocked = ("act_return_die", "age_and_move")
    serial = state({n: njit(getattr(kernels, n).py_func) for n in blocked})
    parallel = {n: getattr(kernels, n) for n in blocked}
    before = kernels.set_threads(None)
    try:
        for threads in (1, 2):
            kernels.set_threads(threads)
            got = state(parallel)
            assert all(np.array_equal(g, w) for g, w in zip(got, serial, strict=True)), threads
    finally:
        kernels.set_threads(before)
    assert len(serial[-2]) > 0 and serial[-1].sum() > 0  # leavers, people abroad: it did work
