"""The warm-worker population cache: it keys on everything the population depends on, its
copies equal a fresh build and stay independent of it, it keeps within its byte budget
(least recently used out first), it can be turned off, and runs give the same frames
whatever the cache held before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.core import population_cache as pc
from model.core.population import POPULATION_PARAMS, synthesize
from model.params import defaults
from model.runs.batch import design_specs
from model.runs.runner import run_one
from model.scenario import Scenario

SCALE = 3000


class Recording(dict):
    """A parameter dict that notes every key read; a whole-dict read notes ``*``."""

    def __init__(self, data):
        super().__init__(data)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)

    def __iter__(self):
        self.read.add("*")
        return super().__iter__()

    def keys(self):
        self.read.add("*")
        return super().keys()

    def values(self):
        self.read.add("*")
        return super().values()

    def items(self):
        self.read.add("*")
        return super().items()


def same_table(a, b) -> None:
    """Same length, capacity, dtypes and values, spare slots included."""
    assert (a.n, a.capacity) == (b.n, b.capacity)
    for name in type(a)._fields:
        x, y = getattr(a, "_" + name), getattr(b, "_" + name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y), name


@pytest.fixture
def default_cache_restored():
    """Tests that change this process's cache put the environment's budget back after."""
    yield pc.default_cache()
    pc.configure(None)


# --- what the population depends on ---------------------------------------------------------


def test_the_recording_dict_notes_reads():
    d = Recording({"a": 1, "b": 2})
    _ = d["a"], d.get("c"), "b" in d
    assert d.read == {"a", "b", "c"}
    list(d)
    assert "*" in d.read


def test_synthesize_reads_exactly_the_declared_parameters():
    """Fails when synthesize reads a parameter that POPULATION_PARAMS does not list (the
    cache would then reuse a population across values that change it), or the whole set."""
    params = Recording(defaults())
    synthesize(params, scale=SCALE, seed=1)
    assert "*" not in params.read
    assert params.read - set(POPULATION_PARAMS) == set(), "undeclared population parameters"
    assert params.read == set(POPULATION_PARAMS), "declared but never read"


def test_a_build_that_reads_an_undeclared_parameter_is_not_cached(monkeypatch):
    monkeypatch.setattr(pc, "POPULATION_PARAMS", tuple(k for k in POPULATION_PARAMS
                                                       if k != "study_years"))
    cache = pc.PopulationCache(2**30)
    with pytest.warns(RuntimeWarning, match="study_years"):
        cache.get(defaults(), scale=SCALE, seed=1)
    assert len(cache) == 0


def test_the_key_is_scale_seed_and_the_population_parameters():
    cache = pc.PopulationCache(2**30)
    base = defaults()
    cache.get(base, scale=SCALE, seed=1)                              # built
    cache.get({**base, "realise_emigrate": 0.05, "b_compatriot": 0.3},
              scale=SCALE, seed=1)                                    # behaviour only: copied
    cache.get({**base, "mean_household_size": 4.0}, scale=SCALE, seed=1)  # built
    cache.get({**base, "n_contacts": 5}, scale=SCALE, seed=1)            # built
    cache.get(base, scale=SCALE, seed=2)                              # built
    cache.get(base, scale=SCALE + 1, seed=1)                          # built
    cache.get(base, scale=SCALE, seed=1)                              # copied
    assert (cache.hits, cache.misses, len(cache)) == (2, 5, 5)


# --- copies ---------------------------------------------------------------------------------


def test_copies_equal_a_fresh_build_and_are_independent_of_it():
    cache = pc.PopulationCache(2**30)
    fresh = synthesize(defaults(), scale=SCALE, seed=4)
    built = cache.get(defaults(), scale=SCALE, seed=4)
    copied = cache.get(defaults(), scale=SCALE, seed=4)
    for f, b, c in zip(fresh, built, copied, strict=True):
        same_table(f, b)
        same_table(f, c)
    # the model changes its tables in place: neither the build nor a copy may reach the cache
    for hh, pp in (built, copied):
        hh.optimism[:] = 0.0
        hh.contacts[:] = 0
        pp.age += 1
        pp.status[:] = 4
        hh.append(**{name: getattr(hh, name)[:3] for name in type(hh)._fields})
    again = cache.get(defaults(), scale=SCALE, seed=4)
    for f, a in zip(fresh, again, strict=True):
        same_table(f, a)
    assert (cache.hits, cache.misses) == (2, 1)


# --- budget ---------------------------------------------------------------------------------


def test_least_recently_used_goes_first_within_the_budget():
    size = {s: sum(t.nbytes for t in synthesize(defaults(), scale=SCALE, seed=s))
            for s in (1, 2, 3)}
    # any two fit, three do not
    cache = pc.PopulationCache(sum(size.values()) - min(size.values()) // 2)
    get = lambda s: cache.get(defaults(), scale=SCALE, seed=s)  # noqa: E731
    get(1), get(2), get(1)          # 1 is now the most recently used
    get(3)                          # evicts 2
    assert (len(cache), cache.nbytes) == (2, size[1] + size[3])
    get(1), get(3)
    assert (cache.hits, cache.misses) == (3, 3)
    get(2)                          # built again; evicts 1
    assert cache.misses == 4 and cache.nbytes == size[3] + size[2]


def test_a_population_larger_than_the_budget_is_never_kept():
    size = sum(t.nbytes for t in synthesize(defaults(), scale=SCALE, seed=1))
    cache = pc.PopulationCache(size - 1)
    for _ in range(2):
        cache.get(defaults(), scale=SCALE, seed=1)
    assert (cache.hits, cache.misses, len(cache), cache.nbytes) == (0, 2, 0, 0)


def test_the_environment_variable_sets_the_budget_or_turns_it_off(monkeypatch,
                                                                 default_cache_restored):
    monkeypatch.setenv(pc.ENV_VAR, "64")
    assert pc.configure(None).max_bytes == 64 * 2**20
    pc.population(defaults(), scale=SCALE, seed=9)
    assert len(pc.default_cache()) >= 1
    monkeypatch.setenv(pc.ENV_VAR, "0")
    cache = pc.configure(None)
    assert (cache.max_bytes, len(cache), cache.nbytes) == (0, 0, 0)
    hits = cache.hits
    for _ in range(2):
        pc.population(defaults(), scale=SCALE, seed=9)
    assert cache.hits == hits and len(cache) == 0
    monkeypatch.setenv(pc.ENV_VAR, "lots")
    with pytest.raises(ValueError, match=f"{pc.ENV_VAR} = 'lots' is not a number"):
        pc.configure(None)
    monkeypatch.delenv(pc.ENV_VAR)
    assert pc.configure(None).max_bytes == pc.DEFAULT_MB * 2**20


# --- results do not depend on the cache --------------------------------------------------------


def test_warm_runs_give_the_frames_of_cold_runs(default_cache_restored):
    sc = Scenario(scale=SCALE, end=2016)
    [other] = design_specs(sc, [{"realise_emigrate": 0.05}], seed=5, replicates=1)
    pc.configure(0)
    cold, cold_other = run_one(sc, 5), run_one(other.scenario, 5)
    cache = pc.configure(2**30)
    cache.clear()
    hits = cache.hits
    first = run_one(sc, 5)                  # builds and keeps the population
    second = run_one(sc, 5)                 # a copy of it
    warm_other = run_one(other.scenario, 5)  # a copy too: realise_emigrate is behaviour
    assert cache.hits - hits == 2
    for warm in (first, second):
        pd.testing.assert_frame_equal(warm, cold, check_exact=True)
    pd.testing.assert_frame_equal(warm_other, cold_other, check_exact=True)
    assert not cold.equals(cold_other)  # the parameter matters, so the comparison can fail
