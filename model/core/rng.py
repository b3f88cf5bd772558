"""Named random streams: one generator per purpose and year, derived from the run's seed.

Why: a stream per purpose keeps draws aligned between scenarios (common random numbers);
a stream per year lets any year be reproduced alone; no global RNG is touched.

Examples
--------
>>> from model.core.rng import stream
>>> a = stream(1, "intention", 2013).random(3)
>>> b = stream(1, "intention", 2013).random(3)
>>> bool((a == b).all())
True
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["stream", "replicate_seed", "stream_key", "uniform_at"]


def stream(seed: int, name: str, year: int) -> np.random.Generator:
    """Return the generator for ``name`` in ``year`` of the run seeded with ``seed``.

    Parameters
    ----------
    seed : int
        The run's seed (non-negative).
    name : str
        Purpose of the draws, e.g. ``"death"`` or ``"intention"``.
    year : int
        Calendar year (or any integer label, e.g. 0 for set-up).

    Examples
    --------
    >>> stream(1, "death", 2012).random() != stream(1, "birth", 2012).random()
    True
    """
    ss = np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(name.encode()), int(year)))
    return np.random.Generator(np.random.PCG64(ss))


def replicate_seed(seed: int, replicate: int) -> int:
    """Seed of replicate ``replicate`` (0-based) of a batch seeded with ``seed``.

    Derived by hashing, so that batches with neighbouring seeds do not share replicates.

    Examples
    --------
    >>> replicate_seed(1, 0) == replicate_seed(1, 0) != replicate_seed(1, 1)
    True
    """
    return int(np.random.SeedSequence([int(seed), int(replicate)]).generate_state(1)[0])


# SplitMix64 constants (also read by model.core.kernels.uniform_of, which must match bit for bit)
SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
SPLITMIX_M1 = np.uint64(0xBF58476D1CE4E5B9)
SPLITMIX_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S40 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(40)


def stream_key(seed: int, name: str, year: int) -> np.uint64:
    """The 64-bit key of the counter-based stream ``name`` in ``year`` (see :func:`uniform_at`).

    Compiled passes (:mod:`model.core.kernels`) take this key and draw the same numbers.

    Examples
    --------
    >>> bool(stream_key(1, "birth", 2013) == stream_key(1, "birth", 2013)
    ...      != stream_key(1, "sex", 2013))
    True
    """
    ss = np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(name.encode()), int(year)))
    return ss.generate_state(1, dtype=np.uint64)[0]


def uniform_at(seed: int, name: str, year: int, slots: np.ndarray) -> np.ndarray:
    """Uniform draws in [0, 1) for the given slots only, each a function of its slot.

    A counter-based generator (SplitMix64 of the slot number plus a key derived from seed,
    name and year): the draw of slot ``i`` is the same whichever other slots are asked
    for, so drawing only for the eligible few keeps common random numbers across
    scenarios at the cost of the eligible few, not of the whole population.

    Examples
    --------
    >>> a = uniform_at(1, "leave_home", 2013, np.array([5, 9]))
    >>> b = uniform_at(1, "leave_home", 2013, np.array([9]))
    >>> bool(a[1] == b[0])
    True
    """
    x = np.asarray(slots).astype(np.uint64) * SPLITMIX_GAMMA + stream_key(seed, name, year)
    x ^= x >> _S30
    x *= SPLITMIX_M1
    x ^= x >> _S27
    x *= SPLITMIX_M2
    x ^= x >> _S31
    return (x >> _S40).astype(np.float32) * np.float32(2.0**-24)
