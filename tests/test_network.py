"""The contact network: shapes, no self-ties, regional mixing, share of contacts abroad.

The share of contacts abroad is tested on its numpy statement (``tests/reference/
oracles.py``), the oracle of the gather in ``kernels.household_utilities``.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.core.network import draw_contacts
from tests.reference.oracles import share_abroad


def regions(sizes):
    """Region code of every household slot, shuffled so blocks are not contiguous."""
    r = np.repeat(np.arange(len(sizes)), sizes).astype(np.int8)
    return np.random.default_rng(42).permutation(r)


def test_shape_and_dtype():
    region = regions([30, 20, 10])
    who = np.array([0, 5, 17, 59])
    c = draw_contacts(np.random.default_rng(0), region, who, k=7, p_in_region=0.5)
    assert c.shape == (4, 7)
    assert np.issubdtype(c.dtype, np.integer)
    assert c.min() >= 0 and c.max() < len(region)


def test_empty_who():
    region = regions([5, 5])
    c = draw_contacts(np.random.default_rng(0), region, np.zeros(0, dtype=np.int64), 3, 0.8)
    assert c.shape == (0, 3)


@pytest.mark.parametrize("p_in_region", [0.0, 0.5, 1.0])
def test_no_self_contacts(p_in_region):
    # small regions make self-hits frequent, so the redirect is exercised
    region = regions([2, 3, 5, 40])
    who = np.arange(len(region))
    c = draw_contacts(np.random.default_rng(1), region, who, k=50, p_in_region=p_in_region)
    assert not (c == who[:, None]).any()


def test_redirected_self_hit_stays_in_region():
    # with two households per region, a within-region draw is either the other one or a
    # redirected self-hit; both must be the other household
    region = np.array([0, 0, 1, 1], dtype=np.int8)
    c = draw_contacts(np.random.default_rng(2), region, np.arange(4), k=200, p_in_region=1.0)
    np.testing.assert_array_equal(c, np.array([1, 0, 3, 2])[:, None].repeat(200, axis=1))


def test_all_in_region_when_p_is_one():
    region = regions([100, 50, 7])
    who = np.arange(len(region))
    c = draw_contacts(np.random.default_rng(3), region, who, k=20, p_in_region=1.0)
    assert (region[c] == region[who][:, None]).all()


@pytest.mark.parametrize("p", [0.0, 0.3, 0.8])
def test_share_within_region_matches_p(p):
    sizes = np.array([4000, 2500, 1500, 2000])
    region = regions(sizes)
    n = len(region)
    who = np.arange(n)
    k = 8
    c = draw_contacts(np.random.default_rng(4), region, who, k=k, p_in_region=p)
    same = region[c] == region[who][:, None]
    # a contact from "anywhere" also falls in the own region with probability n_r / n
    expected = np.mean(p + (1 - p) * sizes[region[who]] / n)
    # binomial standard error with 80,000 draws is below 0.002
    assert abs(same.mean() - expected) < 0.01
    # per region as well
    for r, n_r in enumerate(sizes):
        rows = region[who] == r
        assert abs(same[rows].mean() - (p + (1 - p) * n_r / n)) < 0.02


def test_within_region_contacts_are_uniform():
    region = np.zeros(50, dtype=np.int8)
    who = np.arange(50)
    c = draw_contacts(np.random.default_rng(5), region, who, k=2000, p_in_region=1.0)
    indegree = np.bincount(c.ravel(), minlength=50)
    # 100,000 contacts over 50 targets: about 2,000 each (sd ~ 45)
    assert indegree.min() > 1800 and indegree.max() < 2200


def test_anywhere_contacts_cover_other_regions():
    region = regions([500, 500])
    who = np.flatnonzero(region == 0)
    c = draw_contacts(np.random.default_rng(6), region, who, k=10, p_in_region=0.0)
    assert abs(np.mean(region[c] == 1) - 0.5) < 0.03


def test_same_rng_same_contacts():
    region = regions([30, 30])
    a = draw_contacts(np.random.default_rng(7), region, np.arange(60), 5, 0.8)
    b = draw_contacts(np.random.default_rng(7), region, np.arange(60), 5, 0.8)
    np.testing.assert_array_equal(a, b)


def test_share_abroad_hand_built():
    contacts = np.array([[0, 1, 2, 3], [1, 1, 1, 1], [0, 0, 3, 3], [2, 2, 2, 1]])
    abroad = np.array([True, False, False, True])
    out = share_abroad(contacts, abroad)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.5, 0.0, 1.0, 0.0])


def test_share_abroad_counts_duplicates():
    contacts = np.array([[4, 4, 4, 0, 1]])
    abroad = np.zeros(5, dtype=bool)
    abroad[4] = True
    np.testing.assert_allclose(share_abroad(contacts, abroad), [0.6])


def test_share_abroad_large_k_does_not_overflow():
    k = 30
    contacts = np.zeros((2, k), dtype=np.int32)
    abroad = np.array([True])
    np.testing.assert_allclose(share_abroad(contacts, abroad), [1.0, 1.0])


def test_homophily_zero_gives_the_draw_without_ethnicity():
    region = np.repeat(np.arange(3), 20).astype(np.int8)
    eth = np.tile(np.arange(4), 15).astype(np.int8)
    a = draw_contacts(np.random.default_rng(8), region, np.arange(60), 6, 0.8)
    b = draw_contacts(np.random.default_rng(8), region, np.arange(60), 6, 0.8, eth, 0.0)
    np.testing.assert_array_equal(a, b)


def test_full_homophily_draws_own_region_and_group_only():
    region = np.repeat(np.arange(2), 30).astype(np.int8)
    eth = np.tile(np.arange(3), 20).astype(np.int8)
    c = draw_contacts(np.random.default_rng(9), region, np.arange(60), 10, 1.0, eth, 1.0)
    assert (region[c] == region[:, None]).all() and (eth[c] == eth[:, None]).all()
    assert (c != np.arange(60)[:, None]).all()


def test_self_tie_in_a_group_block_moves_to_the_next_of_that_block():
    # hand-computed: region 0 holds slots 0-3; ethnicity 1 there is slots 1 and 3, so a
    # draw of slot 1 for itself moves to slot 3 and one of slot 3 wraps to slot 1
    region = np.zeros(4, dtype=np.int8)
    eth = np.array([0, 1, 0, 1], dtype=np.int8)
    c = draw_contacts(np.random.default_rng(10), region, np.array([1, 3]), 50, 1.0, eth, 1.0)
    assert set(c[0].tolist()) == {3} and set(c[1].tolist()) == {1}


def test_homophily_share_is_near_its_probability():
    # one region, two equal groups: a same-group contact comes with p + (1 - p) / 2
    n, p = 2000, 0.6
    region = np.zeros(n, dtype=np.int8)
    eth = (np.arange(n) % 2).astype(np.int8)
    c = draw_contacts(np.random.default_rng(11), region, np.arange(n), 20, 1.0, eth, p)
    share = (eth[c] == eth[:, None]).mean()
    assert abs(share - (p + (1 - p) / 2)) < 0.01


def test_homophily_needs_ethnicity():
    with pytest.raises(ValueError, match="ethnicity"):
        draw_contacts(np.random.default_rng(0), np.zeros(3, np.int8), np.arange(3), 2, 1.0,
                      None, 0.5)


def test_the_synthetic_population_draws_contacts_with_homophily():
    from model.core.population import synthesize
    from model.params import defaults

    p = {**defaults(), "p_contact_in_region": 1.0, "p_contact_same_ethnicity": 1.0}
    hh, _ = synthesize(p, scale=2000, seed=1)
    same = hh.ethnicity[hh.contacts] == hh.ethnicity[:, None]
    # all but the ties of households alone in their group in their region
    assert same.mean() > 0.99 and (hh.region[hh.contacts] == hh.region[:, None]).all()


def test_a_household_alone_in_its_group_ties_to_its_region_not_itself():
    # hand-computed: slot 2 is the only household of ethnicity 1 in region 0 (slots 0-2),
    # so its own-group draws hit itself and move to the next of the region: slot 0
    region = np.zeros(3, dtype=np.int8)
    eth = np.array([0, 0, 1], dtype=np.int8)
    c = draw_contacts(np.random.default_rng(12), region, np.array([2]), 20, 1.0, eth, 1.0)
    assert set(c[0].tolist()) == {0}


def test_extend_blocks_is_key_blocks_of_the_appended_keys():
    from model.core.kernels import extend_blocks, key_blocks

    rng = np.random.default_rng(3)
    keys = rng.integers(0, 6, 500).astype(np.int8)
    keys[450:] = rng.integers(0, 9, 50)  # new codes above the old largest
    for start in (0, 1, 200, 450, 500):
        order, counts, _ = key_blocks(keys[:start])
        got = extend_blocks(keys, order, counts, start)
        want = key_blocks(keys)
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True)), start


def test_contact_pools_draw_the_contacts_of_a_fresh_grouping():
    # households appended year by year (with an ethnic group that first appears late, and
    # codes that outgrow int8): pools extended across draws give the same contacts
    from model.core.network import ContactPools

    rng = np.random.default_rng(5)
    for n_eth_late in (3, 9):  # 16 regions x 9 groups: codes up to 143, not int8
        pools = ContactPools()
        region = rng.integers(0, 16, 300).astype(np.int8)
        eth = rng.integers(0, 2, 300).astype(np.int8)
        for year in range(5):
            new_r = rng.integers(0, 16, 40).astype(np.int8)
            new_e = rng.integers(0, n_eth_late if year >= 3 else 2, 40).astype(np.int8)
            region, eth = np.r_[region, new_r], np.r_[eth, new_e]
            who = np.arange(len(region) - 40, len(region))
            args = (region, who, 4, 0.8, eth, 0.7)
            fresh = draw_contacts(np.random.default_rng(year), *args)
            kept = draw_contacts(np.random.default_rng(year), *args, pools=pools)
            assert np.array_equal(fresh, kept), (n_eth_late, year)
