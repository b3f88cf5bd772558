"""Named random streams and counter-based per-slot draws."""

from __future__ import annotations

import numpy as np
import pytest

from model.core.rng import replicate_seed, stream, uniform_at


def draws(seed, name, year, n=16):
    return stream(seed, name, year).random(n)


def test_stream_same_key_same_draws():
    np.testing.assert_array_equal(draws(3, "death", 2014), draws(3, "death", 2014))


@pytest.mark.parametrize("other", [(4, "death", 2014), (3, "birth", 2014), (3, "death", 2015),
                                   (3, "death", 0), (3, "Death", 2014)])
def test_stream_different_key_different_draws(other):
    assert not np.array_equal(draws(3, "death", 2014), draws(*other))


def test_stream_does_not_touch_global_rng():
    # the legacy global generator is what must stay untouched
    np.random.seed(123)  # noqa: NPY002
    expected = np.random.random(3)  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    stream(1, "x", 2012).random(100)
    uniform_at(1, "x", 2012, np.arange(100))
    np.testing.assert_array_equal(np.random.random(3), expected)  # noqa: NPY002


def test_stream_draws_look_uniform():
    x = stream(9, "intention", 2013).random(100_000)
    assert abs(x.mean() - 0.5) < 0.005
    assert abs(np.mean(x < 0.1) - 0.1) < 0.005


SLOTS = np.arange(100_000)


def test_uniform_at_deterministic_and_in_unit_interval():
    a = uniform_at(1, "leave_home", 2013, SLOTS)
    b = uniform_at(1, "leave_home", 2013, SLOTS)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32
    assert a.shape == SLOTS.shape
    assert a.min() >= 0.0 and a.max() < 1.0


def test_uniform_at_mean_and_spread():
    a = uniform_at(5, "education", 2020, SLOTS).astype(np.float64)
    # standard error of the mean is 0.29 / sqrt(1e5) ~ 0.0009
    assert abs(a.mean() - 0.5) < 0.005
    assert abs(a.var() - 1 / 12) < 0.002
    hist = np.bincount((a * 10).astype(int), minlength=10)
    assert hist.min() > 9_500 and hist.max() < 10_500
    # neighbouring slots are not correlated
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < 0.02


def test_uniform_at_is_per_slot():
    everything = uniform_at(2, "member.labour", 2016, SLOTS)
    rng = np.random.default_rng(0)
    subset = np.sort(rng.choice(SLOTS, 500, replace=False))
    np.testing.assert_array_equal(uniform_at(2, "member.labour", 2016, subset),
                                  everything[subset])
    shuffled = rng.permutation(subset)
    np.testing.assert_array_equal(uniform_at(2, "member.labour", 2016, shuffled),
                                  everything[shuffled])
    single = uniform_at(2, "member.labour", 2016, np.array([77]))
    assert single[0] == everything[77]


def test_uniform_at_slots_differ():
    a = uniform_at(2, "x", 2016, SLOTS)
    assert len(np.unique(a)) > 99_000


def test_uniform_at_empty():
    out = uniform_at(1, "x", 2012, np.zeros(0, dtype=np.int64))
    assert out.shape == (0,)


@pytest.mark.parametrize("other", [(2, "x", 2013), (1, "y", 2013), (1, "x", 2014)])
def test_uniform_at_key_changes_draws(other):
    a = uniform_at(1, "x", 2013, SLOTS[:1000])
    b = uniform_at(*other, SLOTS[:1000])
    assert np.mean(a == b) < 0.01


def test_replicate_seed_deterministic_and_distinct():
    seeds = [replicate_seed(1, r) for r in range(200)]
    assert seeds == [replicate_seed(1, r) for r in range(200)]
    assert len(set(seeds)) == 200
    assert all(isinstance(s, int) and s >= 0 for s in seeds)
    # neighbouring base seeds do not share replicates
    other = {replicate_seed(2, r) for r in range(200)}
    assert not set(seeds) & other
    assert replicate_seed(1, 1) != replicate_seed(2, 0)
