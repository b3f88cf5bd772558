"""Numpy statements of the yearly rules: the oracles of the compiled passes.

Each function states one rule as whole-array numpy expressions (no loop over households or
persons), the way the step was written before :mod:`model.core.kernels` compiled it. The
kernels promise bit-identical results, so ``tests/test_kernels.py`` compares with these
exactly; float32 sums are written in the order the kernels add them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model import datasets
from model.core.decisions import (
    UNAVAILABLE,
    Context,
    Probabilities,
    Utilities,
    utility_tables,
)
from model.core.demography import AGE_BANDS
from model.core.rng import uniform_at
from model.core.states import DISSOLVED, HOME, RESIDENT, STUDY

_N_ETH = len(datasets.ETHNIC_GROUPS)
_MAX_MEMBERS = 40


# --- decision --------------------------------------------------------------------------------

@dataclass
class Choosers:
    """Attributes of the households that decide this year (one entry per household).

    Examples
    --------
    >>> len(Choosers.example(3).region)
    3
    """

    region: np.ndarray        # int, index into datasets.REGIONS
    ethnicity: np.ndarray     # int, index into datasets.ETHNIC_GROUPS
    head_age: np.ndarray      # int
    head_higher: np.ndarray   # bool
    optimism: np.ndarray      # float in [0, 1]
    share_abroad: np.ndarray  # float in [0, 1], contacts abroad
    diaspora: np.ndarray      # bool, kin abroad before 2012
    members: np.ndarray       # int, members at home
    children: np.ndarray      # bool, any member under 16 at home
    can_labour: np.ndarray    # bool, a member 18-62 at home
    can_study: np.ndarray     # bool, a member 16-24 at home

    @classmethod
    def example(cls, n: int, seed: int = 0) -> Choosers:
        """Random but valid choosers for tests and examples."""
        r = np.random.default_rng(seed)
        return cls(region=r.integers(0, 16, n), ethnicity=r.integers(0, 8, n),
                   head_age=r.integers(20, 90, n), head_higher=r.random(n) < 0.2,
                   optimism=r.random(n), share_abroad=r.random(n) * 0.3,
                   diaspora=r.random(n) < 0.1, members=r.integers(1, 7, n),
                   children=r.random(n) < 0.4, can_labour=r.random(n) < 0.9,
                   can_study=r.random(n) < 0.3)


def utilities(params: dict, ctx: Context, ch: Choosers,
              extra: Utilities | None = None) -> Utilities:
    """Systematic utilities of emigrate (CIS, non-CIS), labour and study for each chooser.

    float32 arrays; unavailable alternatives are ``-inf``. The terms of (region,
    ethnicity, kin abroad), of the head and of the household's size come from the year's
    :class:`model.core.decisions.UtilityTables`, gathered per chooser, as the kernel does.

    Examples
    --------
    >>> from model.params import defaults
    >>> u = utilities(defaults(), Context.for_year(2012, defaults()), Choosers.example(4))
    >>> u.cis.shape
    (4,)
    """
    f32 = np.float32
    tab = utility_tables(params, ctx)
    cell = (ch.region.astype(np.intp) * _N_ETH + ch.ethnicity) * 2 + ch.diaspora
    head = np.minimum(ch.head_age, 120).astype(np.intp) * 2 + ch.head_higher
    opt = ch.optimism.astype(f32) - f32(0.5)
    share = ch.share_abroad.astype(f32)
    # coefficients by parameter name, independently of the order of UTILITY_TERMS
    b = {name: f32(params[name]) for name in tab.coef._fields}

    dyn = (tab.head.emigrate[head] + tab.family[np.minimum(ch.members, _MAX_MEMBERS)]
           + b["b_optimism_emigrate"] * opt + b["b_network_emigrate"] * share)
    dyn += np.where(ch.children, b["b_children_emigrate"], f32(0.0))
    cis = tab.cell.cis[cell] + dyn
    noncis = tab.cell.noncis[cell] + dyn
    labour = (tab.cell.labour[cell] + tab.head.labour[head] + b["b_optimism_labour"] * opt
              + b["b_network_labour"] * share)
    study = (tab.cell.study[cell] + tab.head.study[head] + b["b_optimism_study"] * opt
             + b["b_network_study"] * share)
    if extra is not None:
        cis, noncis = cis + extra.cis, noncis + extra.noncis
        labour, study = labour + extra.labour, study + extra.study
    labour = np.where(ch.can_labour, labour, f32(UNAVAILABLE))
    study = np.where(ch.can_study, study, f32(UNAVAILABLE))
    return Utilities(cis=cis.astype(f32, copy=False), noncis=noncis.astype(f32, copy=False),
                     labour=labour.astype(f32, copy=False), study=study.astype(f32, copy=False))


def choose(prob: Probabilities, u: np.ndarray) -> np.ndarray:
    """Alternative chosen by each household given one uniform draw each.

    The unit interval is cut in the order stay, emigrate, labour, study.

    Examples
    --------
    >>> from model.core.decisions import nested_logit
    >>> z = np.zeros(1)
    >>> p = nested_logit(z, np.full(1, -np.inf), z, z, 1.0)
    >>> choose(p, np.array([0.1])), choose(p, np.array([0.9]))
    (array([0], dtype=int8), array([3], dtype=int8))
    """
    c1, c2, c3 = _cuts(prob)
    return ((u >= c1).astype(np.int8) + (u >= c2) + (u >= c3)).astype(np.int8)


def _cuts(prob: Probabilities) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut points of [0, 1) between stay, emigrate, labour and study.

    Float32 probabilities may sum to slightly less than 1; the remainder goes to the last
    alternative with a positive probability, never to an unavailable one.
    """
    one = np.float32(1.0)
    c1 = prob.stay
    c2 = c1 + prob.emigrate
    c3 = c2 + prob.labour
    none_after_3 = prob.study == 0
    none_after_2 = none_after_3 & (prob.labour == 0)
    none_after_1 = none_after_2 & (prob.emigrate == 0)
    return (np.where(none_after_1, one, c1), np.where(none_after_2, one, c2),
            np.where(none_after_3, one, c3))


def share_abroad(contacts: np.ndarray, abroad: np.ndarray,
                 weight: np.ndarray | None = None,
                 before: np.ndarray | None = None) -> np.ndarray:
    """Weighted share of each household's contacts that are abroad (float32, at most 1).

    ``weight`` (float32, per household slot) is what a contact abroad counts (default 1:
    a member abroad; an emigrated household less the longer ago it left). ``before``
    (float32, per household) is what its contacts who emigrated before 2012 count this
    year (``ties_before`` times the year's ``tie_before``), added after the contacts.

    Examples
    --------
    >>> share_abroad(np.array([[0, 1], [1, 1]]), np.array([True, False]))
    array([0.5, 0. ], dtype=float32)
    >>> share_abroad(np.array([[0, 1]]), np.array([True, True]),
    ...              np.array([0.5, 1.0], np.float32))
    array([0.75], dtype=float32)
    """
    n, k = contacts.shape
    w = np.ones(len(abroad), np.float32) if weight is None else weight.astype(np.float32)
    count = np.zeros(n, dtype=np.float32)
    for j in range(k):  # column by column, in the kernel's order of contacts
        c = contacts[:, j]
        count += np.where(abroad[c], w[c], np.float32(0.0))
    if before is not None:
        count += before.astype(np.float32)
    return np.minimum(count / np.float32(k), np.float32(1.0))


# --- demography ------------------------------------------------------------------------------

def birth_probability(target_births: np.ndarray, mother_region: np.ndarray,
                      shape: np.ndarray, n_regions: int, cap: float = 0.95) -> np.ndarray:
    """Per-woman birth probability that yields ``target_births`` per region in expectation.

    ``cap`` is the largest probability of one woman (the registry's ``birth_cap``).

    Examples
    --------
    >>> birth_probability(np.array([1.0]), np.array([0, 0]), np.array([1.0, 1.0]), 1).tolist()
    [0.5, 0.5]
    """
    mass = np.bincount(mother_region, weights=shape, minlength=n_regions)
    level = np.divide(target_births, mass, out=np.zeros(n_regions), where=mass > 0)
    return np.minimum(level[mother_region] * shape, cap).astype(np.float32)


def reassign_heads(hh, pp, affected: np.ndarray) -> None:
    """Give each household in ``affected`` a new head, or dissolve it if nobody is alive.

    The new head is the oldest member at home, else the oldest living member abroad
    (ties: the later slot). ``hh`` and ``pp`` are population tables, changed in place.

    Examples
    --------
    >>> from model.core.population import Households, Persons
    >>> h, p = Households(1, k=1), Persons(2)
    >>> _ = h.append(**{f: np.zeros((1, 1) if f == "contacts" else 1)
    ...                 for f in Households._fields})
    >>> _ = p.append(**{f: np.zeros(2) for f in Persons._fields}
    ...              | {"age": np.array([70, 40]), "status": np.array([4, 0])})
    >>> reassign_heads(h, p, np.array([0]))
    >>> int(h.head[0])
    1
    """
    if len(affected) == 0:
        return
    flag = np.zeros(hh.n, dtype=bool)
    flag[affected] = True
    idx = np.flatnonzero(flag[pp.hh] & (pp.status <= 2))  # living de jure members
    hh_status = hh.status
    if len(idx):
        home = pp.status[idx] == HOME
        # oldest at home first: sort by household, then home, then age
        order = np.lexsort((pp.age[idx], home, pp.hh[idx]))
        ordered = idx[order]
        owners = pp.hh[ordered]
        last = np.r_[owners[1:] != owners[:-1], True]
        hh.head[owners[last]] = ordered[last]
        flag[owners[last]] = False
    # nobody alive: dissolved (only resident households; emigrated ones keep their status)
    gone = np.flatnonzero(flag)
    hh_status[gone[hh_status[gone] == RESIDENT]] = DISSOLVED


# --- partnering (model.core.partnering, compiled as kernels.form_couples) ------------------

def singles(hh, pp, min_age: int, max_age: int) -> np.ndarray:
    """Slots of the heads at home aged ``min_age``-``max_age`` without a partner.

    Without a partner: no other living de jure member (at home or abroad) of the resident
    household is ``min_age`` or over. Returned in increasing slot order.

    Examples
    --------
    >>> from model.core.population import Households, Persons
    >>> hh, pp = Households(0, k=1), Persons(0)
    >>> _ = pp.append(hh=[0, 1, 1], age=[30, 40, 10], sex=[0, 1, 0], edu=[1, 1, 0],
    ...               status=[0, 0, 0], years_abroad=[0, 0, 0], region=[0, 0, 0],
    ...               ethnicity=[0, 0, 0], death_age=[90, 90, 90], group_base=[0, 0, 0])
    >>> _ = hh.append(region=[0, 0], ethnicity=[0, 0], optimism=[0.5, 0.5],
    ...               diaspora=[False, False], status=[0, 0], head=[0, 1],
    ...               contacts=[[0], [0]])
    >>> singles(hh, pp, 20, 49).tolist(), singles(hh, pp, 5, 49).tolist()
    ([0, 1], [0])
    """
    adults = (pp.status <= STUDY) & (pp.age >= min_age)
    members = np.bincount(pp.hh, weights=adults, minlength=hh.n)
    alone = np.flatnonzero((hh.status == RESIDENT) & (members == 1.0))
    head = hh.head[alone].astype(np.int64)
    a = pp.age[head]
    head = head[(pp.status[head] == HOME) & (a >= min_age) & (a <= max_age)]
    return np.sort(head)


def _ranked(slots: np.ndarray, age: np.ndarray, region: np.ndarray, n_regions: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``slots`` ordered by (region, age, slot), their regions, ranks in region, counts."""
    order = np.lexsort((slots, age[slots], region[slots]))
    s = slots[order]
    r = region[s].astype(np.int64)
    counts = np.bincount(r, minlength=n_regions)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return s, r, np.arange(len(s)) - start[r], counts


def match(market: np.ndarray, sex: np.ndarray, age: np.ndarray, region: np.ndarray,
          n_regions: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair the k-th youngest man with the k-th youngest woman of each region.

    Returns the matched men and women, aligned, ordered by region and then age rank.

    Examples
    --------
    >>> sex = np.array([0, 1, 0, 1, 0]); age = np.array([30, 25, 22, 40, 50])
    >>> [m.tolist() for m in match(np.arange(5), sex, age, np.zeros(5, np.int8), 1)]
    [[2, 0], [1, 3]]
    """
    men = market[sex[market] == 0]
    women = market[sex[market] != 0]
    ms, mr, mrank, mc = _ranked(men, age, region, n_regions)
    ws, wr, wrank, wc = _ranked(women, age, region, n_regions)
    pairs = np.minimum(mc, wc)
    return ms[mrank < pairs[mr]], ws[wrank < pairs[wr]]


def form_couples(hh, pp, min_age: int, max_age: int, p_partner: float, *, seed: int,
                 year: int, n_regions: int) -> tuple[np.ndarray, np.ndarray]:
    """Singles, market, matching within region and ethnic group, and moving in.

    Changes the tables in place; returns the matched men and women (aligned).

    Examples
    --------
    >>> from model.core.population import Households, Persons
    >>> hh, pp = Households(0, k=1), Persons(0)
    >>> _ = pp.append(hh=[0, 1, 2], age=[30, 28, 60], sex=[0, 1, 1], edu=[1, 1, 1],
    ...               status=[0, 0, 0], years_abroad=[0, 0, 0], region=[3, 3, 3],
    ...               ethnicity=[0, 0, 0], death_age=[90, 90, 90], group_base=[0, 0, 0])
    >>> _ = hh.append(region=[3, 3, 3], ethnicity=[0, 0, 0], optimism=[0.5] * 3,
    ...               diaspora=[False] * 3, status=[0, 0, 0], head=[0, 1, 2],
    ...               contacts=[[0], [0], [0]])
    >>> men, women = form_couples(hh, pp, 20, 49, 1.0, seed=1, year=2012, n_regions=16)
    >>> men.tolist(), women.tolist(), pp.hh.tolist(), hh.status.tolist()
    ([0], [1], [0, 0, 2], [0, 2, 0])
    """
    single = singles(hh, pp, int(min_age), int(max_age))
    u = uniform_at(seed, "partner", year, single)
    market = single[u < np.float32(p_partner)]
    n_eth = int(pp.ethnicity.max()) + 1 if pp.n else 1
    # match on the market's own rows (positions keep the slot order, so ties break alike)
    group = pp.region[market].astype(np.int64) * n_eth + pp.ethnicity[market]
    men, women = match(np.arange(len(market)), pp.sex[market], pp.age[market], group,
                       n_regions * n_eth)
    men, women = market[men], market[women]
    if len(women):
        old = pp.hh[women]
        new_home = np.arange(hh.n, dtype=pp.hh.dtype)
        new_home[old] = pp.hh[men]
        leaving = np.zeros(hh.n, dtype=bool)
        leaving[old] = True
        moving = np.flatnonzero(leaving[pp.hh])
        moving = moving[pp.status[moving] <= STUDY]
        pp.hh[moving] = new_home[pp.hh[moving]]
        hh.status[old] = DISSOLVED
    return men, women


# --- contacts (model.core.network, compiled as kernels.key_blocks and next_in_block) --------

def next_in_block(keys: np.ndarray, own: np.ndarray) -> np.ndarray:
    """The slot after each of ``own`` among the slots of its key, in slot order (cyclically).

    Examples
    --------
    >>> next_in_block(np.array([1, 0, 1, 0, 1]), np.array([0, 4, 3])).tolist()
    [2, 0, 1]
    """
    n = len(keys)
    counts = np.bincount(keys, minlength=int(keys.max()) + 1 if n else 1)
    order = np.argsort(keys, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    kk = keys[own].astype(np.int64)
    block_keys = keys[order].astype(np.int64) * n + order  # blocks are in slot order
    pos = np.searchsorted(block_keys, kk * n + own) - starts[kk]
    return order[starts[kk] + (pos + 1) % np.maximum(counts[kk], 1)]


# --- records ---------------------------------------------------------------------------------

def tally(age: np.ndarray, edu: np.ndarray, region: np.ndarray, ethnicity: np.ndarray,
          weights: np.ndarray | None = None) -> np.ndarray:
    """Counts (or weighted sums) of the given persons in every group of the recorder.

    One bincount per family of groups (all, age band, education, region, ethnicity): what
    :meth:`model.core.recorder.Recorder.tally_codes` computes from one cell code.

    Examples
    --------
    >>> from model.core.recorder import Recorder
    >>> t = tally(np.array([5, 40]), np.array([0, 2]), np.array([0, 0]), np.array([1, 1]))
    >>> float(t[0]), float(t[Recorder().groups.index("age=16-62")])
    (2.0, 1.0)
    """
    edges = np.array([b[0] for b in AGE_BANDS[1:]])
    starts = np.array([b[0] for b in AGE_BANDS])
    by_age = np.bincount(age, weights, minlength=edges[-1] + 1)
    parts = [np.array([by_age.sum()]), np.add.reduceat(by_age, starts),
             np.bincount(edu, weights, minlength=3),
             np.bincount(region, weights, minlength=len(datasets.REGIONS)),
             np.bincount(ethnicity, weights, minlength=len(datasets.ETHNIC_GROUPS))]
    return np.concatenate(parts).astype(np.float64)
