"""Built 2012 populations kept in memory, so a warm worker does not rebuild them.

A calibration or sensitivity batch runs the same seeds again and again while it varies
behaviour parameters (``realise_emigrate``, the utility coefficients, ...) that the
synthetic population does not depend on. The population of 1 January 2012 depends only on
the scale, the seed and the parameters in
:data:`model.core.population.POPULATION_PARAMS`; this module keeps populations built in this
process under the key ``(scale, seed, values of those parameters)``, least recently used
first out, and hands every run a deep copy (the model changes its tables in place).

Why a copy gives the same results as a build: a run's population is a pure function of that
key (named random streams, no global state), and :meth:`model.core.population._Table.copy`
restores the built tables exactly, spare capacity included, so the copy grows like the
original. tests/test_population_cache.py compares the frames of cold and warm runs exactly.

The code version is not in the key because nothing outside this process's memory is kept:
the entries were built by the code this process has loaded, which cannot change under it.

Memory
------
Entries are held up to a byte budget, ``EMIGSIM_POPULATION_CACHE_MB`` (default
:data:`DEFAULT_MB` MiB; ``0`` turns the cache off), or :func:`configure` in code. A
population larger than the whole budget is never kept: at scale 50 a population is about
10 MB, at scale 1 (the whole country) about 0.5 GB of arrays, and a run at scale 1 needs
~3 GB on top of that, so by default the national population is rebuilt every time.
Each worker process has its own cache.

Examples
--------
>>> from model.params import defaults
>>> cache = PopulationCache(max_bytes=64 * 2**20)
>>> hh1, pp1 = cache.get(defaults(), scale=4000, seed=1)   # built
>>> hh2, pp2 = cache.get(defaults(), scale=4000, seed=1)   # copied from the cache
>>> cache.hits, cache.misses, hh1 is hh2, bool((pp1.age == pp2.age).all())
(1, 1, False, True)
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Hashable, Mapping

from model.core.population import POPULATION_PARAMS, Households, Persons, synthesize

__all__ = ["PopulationCache", "population", "configure", "default_cache", "ENV_VAR",
           "DEFAULT_MB"]

ENV_VAR = "EMIGSIM_POPULATION_CACHE_MB"
"""Environment variable with the cache budget in MiB (0 turns the cache off)."""
DEFAULT_MB = 256
"""Default budget of a process's cache, in MiB (about 25 populations at scale 50)."""


class _ReadLog(dict):
    """A parameter dict that remembers which keys were read.

    Iterating over it, or copying it, counts as reading every key (``"*"``).
    """

    def __init__(self, data: Mapping):
        super().__init__(data)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key) -> bool:
        self.read.add(key)
        return super().__contains__(key)

    def _all(self):
        self.read.add("*")

    def __iter__(self):
        self._all()
        return super().__iter__()

    def keys(self):
        self._all()
        return super().keys()

    def values(self):
        self._all()
        return super().values()

    def items(self):
        self._all()
        return super().items()

    def copy(self):
        self._all()
        return dict(super().items())

    def __or__(self, other):
        self._all()
        return dict(super().items()) | other

    def __reduce__(self):
        self._all()
        return dict, (dict(super().items()),)


def _key(params: Mapping, scale: float, seed: int) -> Hashable:
    return (float(scale), int(seed), tuple(params[k] for k in POPULATION_PARAMS))


class PopulationCache:
    """Least-recently-used store of built populations within a byte budget.

    Parameters
    ----------
    max_bytes : int
        Budget for the arrays held (0: keep nothing, build every time).

    Attributes
    ----------
    hits, misses : int
        Populations copied from the cache and built.

    Examples
    --------
    >>> from model.params import defaults
    >>> c = PopulationCache(max_bytes=0)   # off: every call builds
    >>> _ = c.get(defaults(), scale=5000, seed=2); _ = c.get(defaults(), scale=5000, seed=2)
    >>> c.hits, c.misses, len(c)
    (0, 2, 0)
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self._entries: OrderedDict[Hashable, tuple[Households, Persons, int, int, int]] = \
            OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # a worker may run tasks on several threads
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached populations."""
        return self._bytes

    def clear(self) -> None:
        """Drop every entry (the counters stay)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def get(self, params: Mapping, *, scale: float, seed: int) -> tuple[Households, Persons]:
        """The population of ``(params, scale, seed)``: a fresh copy, built if need be.

        Parameters
        ----------
        params : mapping
            Full parameter set (only :data:`~model.core.population.POPULATION_PARAMS`
            matter).
        scale : float
            Real persons per simulated person.
        seed : int
            Run seed.

        Returns
        -------
        (Households, Persons)
            Tables the caller owns and may change.
        """
        if self.max_bytes <= 0:
            self.misses += 1
            return synthesize(params, scale=scale, seed=seed)
        key = _key(params, scale, seed)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        if entry is not None:
            hh, pp, hh_cap, pp_cap, _ = entry
            return hh.copy(hh_cap), pp.copy(pp_cap)
        self.misses += 1
        log = _ReadLog(params)
        hh, pp = synthesize(log, scale=scale, seed=seed)
        undeclared = log.read - set(POPULATION_PARAMS)
        if undeclared:
            # the key would not capture everything the population depends on: never reuse it
            warnings.warn(f"synthesize read parameters missing from POPULATION_PARAMS "
                          f"({sorted(undeclared)}); the population is not cached",
                          RuntimeWarning, stacklevel=2)
            return hh, pp
        self._store(key, hh, pp)
        return hh, pp

    def _store(self, key: Hashable, hh: Households, pp: Persons) -> None:
        size = hh.nbytes + pp.nbytes
        if size > self.max_bytes:
            return
        # kept compact (no spare capacity); copies get the built capacity back
        entry = (hh.copy(hh.n), pp.copy(pp.n), hh.capacity, pp.capacity, size)
        with self._lock:
            if key in self._entries:
                return
            while self._entries and self._bytes + size > self.max_bytes:
                *_, old = self._entries.popitem(last=False)[1]
                self._bytes -= old
            self._entries[key] = entry
            self._bytes += size


def _budget_from_env() -> int:
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_MB * 2**20
    try:
        mb = float(raw)
    except ValueError:
        raise ValueError(f"environment variable {ENV_VAR} = {raw!r} is not a number; "
                         f"allowed: MiB of memory for cached populations, 0 to turn the "
                         f"cache off (default {DEFAULT_MB})") from None
    if mb < 0:
        raise ValueError(f"environment variable {ENV_VAR} = {raw!r} is negative; allowed: "
                         f"0 (off) or more MiB")
    return int(mb * 2**20)


_DEFAULT: PopulationCache | None = None


def default_cache() -> PopulationCache:
    """Return this process's cache (created on first use with the budget of :data:`ENV_VAR`).

    Examples
    --------
    >>> default_cache().max_bytes >= 0
    True
    """
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = PopulationCache(_budget_from_env())
    return _DEFAULT


def configure(max_bytes: int | None = None) -> PopulationCache:
    """Set this process's cache budget in bytes (None: from :data:`ENV_VAR` again; 0: off).

    Entries beyond the new budget are dropped, least recently used first.

    Examples
    --------
    >>> configure(0).max_bytes
    0
    >>> configure(None).max_bytes == default_cache().max_bytes
    True
    """
    cache = default_cache()
    budget = _budget_from_env() if max_bytes is None else max(0, int(max_bytes))
    with cache._lock:
        cache.max_bytes = budget
        while cache._entries and cache._bytes > budget:
            *_, old = cache._entries.popitem(last=False)[1]
            cache._bytes -= old
    return cache


def population(params: Mapping, *, scale: float, seed: int) -> tuple[Households, Persons]:
    """The 2012 population of a run, from this process's cache (see the module notes).

    Examples
    --------
    >>> from model.params import defaults
    >>> hh, pp = population(defaults(), scale=5000, seed=3)
    >>> hh.n > 0
    True
    """
    return default_cache().get(params, scale=scale, seed=seed)
