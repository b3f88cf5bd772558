"""The compiled passes of the population synthesis against the numpy statements they replace.

Each oracle below is the numpy code the kernel replaced (``model/core/network.py``,
``model/core/population.py`` and ``model/core/lifetables.py`` before the kernels), kept
here so that the kernels are checked for exact equality, edge cases included: self-ties,
households alone in their group, keys rounded up to the next row of a stacked CDF.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.core.demography import MAX_LIFE, Mortality
from model.core.kernels import key_blocks
from model.core.lifetables import _GROUP_STRIDE, life_table_params, life_tables
from model.core.network import draw_contacts
from model.core.population import MAX_AGE, _age_tables, _education, _members
from model.core.synthesis_kernels import (
    categories,
    cut_sizes,
    education_levels,
    member_cells,
    pick_contacts,
    sample_cells,
    search_death_ages,
)


def _oracle_blocks(keys):
    counts = np.bincount(keys, minlength=int(keys.max()) + 1 if len(keys) else 1)
    order = np.argsort(keys, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return order, counts, starts


def _oracle_next(keys, order, counts, starts, own):
    n = len(keys)
    kk = keys[own].astype(np.int64)
    block_keys = keys[order].astype(np.int64) * n + order
    pos = np.searchsorted(block_keys, kk * n + own) - starts[kk]
    return order[starts[kk] + (pos + 1) % np.maximum(counts[kk], 1)]


def oracle_contacts(rng, region, who, k, p_in_region, ethnicity=None, p_same_ethnicity=0.0):
    """draw_contacts as numpy expressions (the code before pick_contacts)."""
    n = len(region)
    who = np.asarray(who)
    order, counts, starts = _oracle_blocks(region)
    r = region[who].astype(np.int64)[:, None]
    u_kind = rng.random((len(who), k))
    u_pick = rng.random((len(who), k))
    within = order[starts[r] + (u_pick * counts[r]).astype(np.int64)]
    anywhere = (u_pick * n).astype(np.int64)
    in_region = u_kind < p_in_region
    c = np.where(in_region, within, anywhere)
    same = np.zeros_like(in_region)
    if p_same_ethnicity > 0 and len(who):
        n_eth = int(ethnicity.max()) + 1
        cell = region.astype(np.int64) * n_eth + ethnicity
        order_e, counts_e, starts_e = _oracle_blocks(cell)
        ce = cell[who][:, None]
        same = in_region & (rng.random((len(who), k)) < p_same_ethnicity)
        of_group = order_e[starts_e[ce] + (u_pick * counts_e[ce]).astype(np.int64)]
        c = np.where(same, of_group, c)
    selfie = c == who[:, None]
    if selfie.any():
        rows, cols = np.nonzero(selfie)
        own = who[rows]
        by_region = ~same[rows, cols]
        if by_region.any():
            c[rows[by_region], cols[by_region]] = _oracle_next(region, order, counts, starts,
                                                               own[by_region])
        if (~by_region).any():
            r_e, c_e, o_e = rows[~by_region], cols[~by_region], own[~by_region]
            nxt = _oracle_next(cell, order_e, counts_e, starts_e, o_e)
            alone = nxt == o_e
            nxt[alone] = _oracle_next(region, order, counts, starts, o_e[alone])
            c[r_e, c_e] = nxt
    return c.astype(np.intp)


@pytest.mark.parametrize("p_in_region, p_same", [(0.0, 0.0), (0.8, 0.0), (0.8, 0.5),
                                                 (1.0, 1.0), (0.5, 0.9)])
def test_contacts_match_numpy_statement(p_in_region, p_same):
    g = np.random.default_rng(7)
    # small regions and groups: self-ties and households alone in their group are frequent
    region = g.integers(0, 4, 60).astype(np.int8)
    ethnicity = g.integers(0, 5, 60).astype(np.int8)
    who = np.arange(60)
    for seed in range(20):
        got = draw_contacts(np.random.default_rng(seed), region, who, 6, p_in_region,
                            ethnicity, p_same)
        want = oracle_contacts(np.random.default_rng(seed), region, who, 6, p_in_region,
                               ethnicity, p_same)
        np.testing.assert_array_equal(got, want)


def test_contacts_of_new_households_only():
    g = np.random.default_rng(3)
    region = g.integers(0, 16, 500).astype(np.int8)
    ethnicity = g.integers(0, 8, 500).astype(np.int8)
    who = np.arange(450, 500)
    got = draw_contacts(np.random.default_rng(1), region, who, 8, 0.8, ethnicity, 0.5)
    want = oracle_contacts(np.random.default_rng(1), region, who, 8, 0.8, ethnicity, 0.5)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("p_same", [0.0, 0.5])
def test_contacts_in_blocks_match_whole_draw(monkeypatch, p_same):
    # blocks of 7 households (a last short one): each set of uniforms is read from its own
    # copy of the stream moved ahead, and the stream ends where the whole draw leaves it
    import model.core.network as network

    monkeypatch.setattr(network, "_BLOCK", 7)
    g = np.random.default_rng(5)
    region = g.integers(0, 3, 80).astype(np.int8)
    ethnicity = g.integers(0, 4, 80).astype(np.int8)
    who = np.arange(3, 80)
    rng, ref = np.random.default_rng(2), np.random.default_rng(2)
    got = draw_contacts(rng, region, who, 5, 0.7, ethnicity, p_same)
    want = oracle_contacts(ref, region, who, 5, 0.7, ethnicity, p_same)
    np.testing.assert_array_equal(got, want)
    assert rng.random() == ref.random()


def test_pick_contacts_hand_case():
    # one region of three households, every contact in the region: picks 0, 1, 2 of the
    # block; household 1 picking itself moves on to 2, household 2 cyclically to 0
    region = np.zeros(3, np.int8)
    b = key_blocks(region)
    u = np.array([[0.0], [0.5], [0.9]])
    out = pick_contacts(np.arange(3), region, b, region, b, u, u, np.zeros((0, 1)), 1.0, 0.0)
    assert out.tolist() == [[1], [2], [0]]


def test_sample_cells_match_searchsorted():
    g = np.random.default_rng(0)
    width, rows = 7, 5
    pdf = g.random((rows, width))
    pdf[:, :2] = 0.0  # leading empty cells: keys that round up to r + 1 land past the row
    pdf[2] = 0.0
    pdf[2, 3] = 1.0
    pdf /= pdf.sum(axis=1, keepdims=True)
    cdf = np.cumsum(pdf, axis=1)
    cdf[:, -1] = 1.0
    table = (cdf + np.arange(rows)[:, None]).ravel()
    r = g.integers(0, rows, 5000)
    u = g.random(5000)
    u[:50] = np.nextafter(1.0, 0.0)
    u[50:100] = 0.0
    want = np.clip(np.searchsorted(table, r + u, side="right") - r * width, 0, width - 1)
    np.testing.assert_array_equal(sample_cells(table, r, u, width), want)


def test_death_ages_match_searchsorted():
    t = life_tables(Mortality())
    g = np.random.default_rng(5)
    n = 20000
    age = g.integers(0, 101, n)
    sex = g.integers(0, 2, n)
    region = g.integers(0, 16, n)
    u = g.random(n)
    u[:20] = np.nextafter(1.0, 0.0)
    n_r, n_c = t.cum.shape[1], t.cum.shape[2]
    cohort = np.clip(2012 - age - t.first_cohort, 0, n_c - 1)
    grp = (sex * n_r + region) * n_c + cohort
    flat = t.cum.reshape(-1, MAX_LIFE + 2)
    e = -np.log1p(-u)
    target = flat[grp, age] + e + grp * _GROUP_STRIDE
    want = np.minimum(np.searchsorted(t.upper, target, side="right") - grp * (MAX_LIFE + 1),
                      MAX_LIFE).astype(np.int16)
    np.testing.assert_array_equal(t.death_age(age, sex, region, 2012, u), want)
    got = search_death_ages(t.upper, flat, sex, region, age, 2012 - t.first_cohort, n_r, n_c,
                            e, _GROUP_STRIDE)
    np.testing.assert_array_equal(got, want)
    # the dtypes of the person table (and a year whose cohorts reach both ends of the table)
    np.testing.assert_array_equal(
        t.death_age(age.astype(np.int16), sex.astype(np.int8), region.astype(np.int8), 2012,
                    u), want)


def _oracle_members(rng, sizes, region, tables):
    """_members as numpy expressions (the code before member_cells)."""
    n_cells = 2 * (MAX_AGE + 1)
    owner = np.repeat(np.arange(len(sizes)), sizes)
    is_head = np.zeros(len(owner), dtype=bool)
    is_head[np.concatenate([[0], np.cumsum(sizes)[:-1]])] = True
    person_region = region[owner]
    all_pdf, head_pdf = tables
    n_regions = len(all_pdf)
    heads_r = np.bincount(region, minlength=n_regions)[:, None]
    persons_r = np.bincount(person_region, minlength=n_regions)[:, None]
    rest = np.clip(all_pdf * persons_r - head_pdf * heads_r, 0.0, None)
    total = rest.sum(axis=1, keepdims=True)
    rest = np.where(total > 0, rest / np.maximum(total, 1e-300), all_pdf)
    cell = np.empty(len(owner), dtype=np.int64)
    for table, who in ((head_pdf, is_head), (rest, ~is_head)):
        r = person_region[who]
        cdf = np.cumsum(table, axis=1)
        cdf[:, -1] = 1.0
        stacked = (cdf + np.arange(len(table))[:, None]).ravel()
        cell[who] = np.clip(np.searchsorted(stacked, r + rng.random(len(r)), side="right")
                            - r * n_cells, 0, n_cells - 1)
    sex, age = np.divmod(cell, MAX_AGE + 1)
    return owner, age, sex


def test_members_match_numpy_statement():
    from model.params import defaults

    p = defaults()
    tables = _age_tables(int(p["head_min_age"]), life_table_params(p))
    g = np.random.default_rng(4)
    sizes = g.integers(1, 9, 3000)
    region = g.integers(0, 16, 3000)
    region[:40] = 3  # a region of many households next to regions of few
    got = _members(np.random.default_rng(9), sizes, region, tables)
    want = _oracle_members(np.random.default_rng(9), sizes, region, tables)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    assert got[1].dtype == np.int16 and got[2].dtype == np.int8


def test_member_cells_hand_case():
    # one row of two cells (age 0 of sex 0 and 1, n_ages = 1): heads read u_head, the other
    # members u_rest in person order
    table = np.array([0.5, 1.0])
    h, age, sex = member_cells(np.array([1, 3]), np.array([0, 0]), table, table,
                               np.array([0.7, 0.1]), np.array([0.2, 0.6]), 1)
    assert h.tolist() == [0, 1, 1, 1]
    assert sex.tolist() == [1, 0, 0, 1] and age.tolist() == [0, 0, 0, 0]


def test_education_matches_numpy_statement():
    from model import datasets

    g = np.random.default_rng(6)
    age = g.integers(0, 90, 5000).astype(np.int16)
    sex = g.integers(0, 2, 5000).astype(np.int8)
    u = g.random(5000)
    shares = datasets.education_shares()
    cum_m, cum_f = np.cumsum(shares["male"]), np.cumsum(shares["female"])
    u[:4] = [cum_m[0], cum_m[1], cum_f[0], cum_f[1]]  # ties at the thresholds
    first = np.where(sex == 0, cum_m[0], cum_f[0])
    second = np.where(sex == 0, cum_m[1], cum_f[1])
    adult_level = (u >= first).astype(np.int8) + (u >= second)
    want = np.where(age < 7, 0, np.where(age < 18, 1, adult_level)).astype(np.int8)
    got = _education(age, sex, u, 7, 18)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int8
    assert education_levels(np.array([30]), np.array([1]), np.array([0.0]), 7, 18,
                            np.array([0.0, 0.0]), np.array([0.5, 0.5])).tolist() == [1]


def _oracle_sizes_by_region(rng, persons, mean_size, max_size):
    """_sizes_by_region as numpy expressions (the code before cut_sizes)."""
    total = int(persons.sum())
    n_guess = int(total / mean_size * 1.2) + 16
    sizes = np.minimum(1 + rng.poisson(mean_size - 1.0, n_guess), max_size)
    while sizes.sum() < total:
        sizes = np.concatenate([sizes, np.minimum(1 + rng.poisson(mean_size - 1.0, n_guess),
                                                  max_size)])
    ends = np.cumsum(sizes)
    bounds = np.cumsum(persons)
    ends = ends[ends < total]
    inner = bounds[(bounds < total) & (bounds > 0)]
    inner = inner[~np.isin(inner, ends)]
    cuts = np.concatenate([np.insert(ends, np.searchsorted(ends, inner), inner), [total]])
    new_sizes = np.diff(np.concatenate([[0], cuts]))
    region = np.searchsorted(bounds, cuts - new_sizes, side="right")
    keep = new_sizes > 0
    return new_sizes[keep], region[keep]


@pytest.mark.parametrize("persons", [[5, 0, 7, 1, 0, 30, 2, 0], [0, 0, 9], [1] * 16, [40],
                                     [0, 3, 0, 0, 25, 0]])
def test_sizes_by_region_match_numpy_statement(persons):
    from model.core.population import _sizes_by_region

    persons = np.array(persons, np.int64)
    for seed in range(30):
        got = _sizes_by_region(np.random.default_rng(seed), persons, 3.7, 8)
        want = _oracle_sizes_by_region(np.random.default_rng(seed), persons, 3.7, 8)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
        assert np.bincount(got[1], weights=got[0], minlength=len(persons)).tolist() == \
            persons.tolist()


def test_cut_sizes_hand_case():
    # households of 3, 2, 4, 5 over regions of 4, 0 and 4 persons: the second household is
    # cut at 4 (1 person in region 0, 1 in region 2), the third ends at the total 8
    s, r = cut_sizes(np.array([3, 2, 4, 5]), np.array([4, 4, 8]))
    assert s.tolist() == [3, 1, 1, 3] and r.tolist() == [0, 0, 2, 2]


def test_ethnicity_categories_match_numpy_statement():
    from model import datasets

    shares = datasets.ethnicity_by_region()
    g = np.random.default_rng(8)
    region = g.integers(0, 16, 4000).astype(np.int8)
    u = g.random(4000)
    cum_rows = np.cumsum(shares[region], axis=1)
    u[:16] = cum_rows[:16, 2]  # ties with a cumulative share
    want = (u[:, None] >= cum_rows[:, :-1]).sum(axis=1).astype(np.int8)
    np.testing.assert_array_equal(categories(u, region, np.cumsum(shares, axis=1)), want)
