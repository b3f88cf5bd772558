"""The contact network: each household has ``n_contacts`` directed ties, mostly in its region.

Why directed and fixed: contacts stand for the people a household hears from; they are
drawn once (new households draw theirs on arrival) and a contact that emigrates stays a
contact, now abroad, which is how networks pull migration. Why ethnic homophily: most
acquaintances share the household's language and group, so the pull of contacts abroad
runs mostly within a group (Russians hear from Russians who left).

Examples
--------
>>> import numpy as np
>>> from model.core.network import draw_contacts
>>> region = np.array([0, 0, 0, 1, 1], dtype=np.int8)
>>> c = draw_contacts(np.random.default_rng(0), region, np.arange(5), k=2, p_in_region=1.0)
>>> bool((region[c] == region[:, None]).all())
True
"""

from __future__ import annotations

import numpy as np

from model.core.kernels import extend_blocks, key_blocks
from model.core.synthesis_kernels import pick_contacts

__all__ = ["draw_contacts", "ContactPools"]


def _blocks(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slots grouped by key (slot order within a key), each key's count and first position."""
    if keys.dtype == np.int8:  # compiled for int8 keys only (kernels.warm_up)
        return key_blocks(keys)
    counts = np.bincount(keys, minlength=int(keys.max()) + 1 if len(keys) else 1)
    order = np.argsort(keys, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return order, counts, starts


def _cells(region: np.ndarray, ethnicity: np.ndarray, n_eth: int) -> np.ndarray:
    """The (region, ethnicity) code of every slot, ethnicity the faster digit (int8 if it fits)."""
    cell = region.astype(np.int64) * n_eth + ethnicity
    if len(cell) and cell.max() <= np.iinfo(np.int8).max:  # 16 regions x 8 groups: 0-127
        cell = cell.astype(np.int8)
    return cell


class ContactPools:
    """The households grouped by region and by region and ethnicity, kept across draws.

    Why: the households of a run are only ever appended, and their region and ethnicity
    never change, so the groups of one year's draw are last year's plus the new slots
    (:func:`model.core.kernels.extend_blocks`): the yearly arrivals' contacts no longer
    regroup every household slot (about 6% of a 100k run). The groups are the very arrays
    of :func:`model.core.kernels.key_blocks`, so the contacts drawn are the same.

    Examples
    --------
    >>> pools = ContactPools()
    >>> region = np.array([0, 1, 0], np.int8)
    >>> pools.blocks(region)[0].tolist()
    [0, 2, 1]
    >>> pools.blocks(np.array([0, 1, 0, 1], np.int8))[0].tolist()  # one slot appended
    [0, 2, 1, 3]
    """

    def __init__(self) -> None:
        # the groups (order, counts, starts) of the slots seen so far: their number is
        # len(order); the (region, ethnicity) codes are kept with the number of groups
        self._region: tuple | None = None
        self._cell = np.zeros(0, np.int8)
        self._cell_groups: tuple | None = None
        self._n_eth = 0

    def blocks(self, region: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`model.core.kernels.key_blocks` of ``region`` (every household slot)."""
        self._region = _regroup(region, self._region)
        return self._region

    def cell_blocks(self, region: np.ndarray, ethnicity: np.ndarray
                    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The (region, ethnicity) code of every slot and its groups."""
        n_eth = int(ethnicity.max()) + 1
        old, groups = self._cell, self._cell_groups
        new = _cells(region[len(old):], ethnicity[len(old):], n_eth)
        if (groups is None or n_eth != self._n_eth or len(old) > len(region)
                or (old.dtype == np.int8 and new.dtype != np.int8 and len(new))):
            cell, groups = _cells(region, ethnicity, n_eth), None  # regroup every slot
        else:
            cell = np.concatenate([old, new.astype(old.dtype)]) if len(new) else old
        self._cell, self._n_eth = cell, n_eth
        self._cell_groups = _regroup(cell, groups)
        return cell, self._cell_groups


def _regroup(keys: np.ndarray, groups: tuple | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_blocks` of ``keys``, extended from ``groups`` (those of a prefix) when they fit."""
    seen = -1 if groups is None else len(groups[0])
    if seen == len(keys):
        return groups
    if seen < 0 or seen > len(keys) or keys.dtype != np.int8:
        return _blocks(keys)
    return extend_blocks(keys, groups[0], groups[1], seen)


def draw_contacts(rng: np.random.Generator, region: np.ndarray, who: np.ndarray, k: int,
                  p_in_region: float, ethnicity: np.ndarray | None = None,
                  p_same_ethnicity: float = 0.0, out: np.ndarray | None = None,
                  pools: ContactPools | None = None) -> np.ndarray:
    """Draw ``k`` contacts for each household in ``who``.

    Each contact is, with probability ``p_in_region``, a household of the same region,
    otherwise a uniformly drawn household of any region. A contact of the same region is,
    with probability ``p_same_ethnicity``, a uniformly drawn household of the same region
    and ethnicity, otherwise a uniformly drawn household of the region. A draw that hits
    the household itself moves to the next household of the block it was drawn from, or of
    its region when it is alone in its group there (no self-ties when the region has more
    than one household). Duplicates are allowed and
    count twice.

    The uniforms of the kind and the pick are drawn first, as before homophily existed, so
    that ``p_same_ethnicity = 0`` gives the very contacts of the draw without it.

    Parameters
    ----------
    rng : numpy.random.Generator
        Stream for the draws.
    region : ndarray of int, shape (n,)
        Region of every household slot (the pool to draw from).
    who : ndarray of int
        Households that need contacts.
    k : int
        Contacts per household.
    p_in_region : float
        Probability that a contact is drawn from the own region.
    ethnicity : ndarray of int, shape (n,), optional
        Ethnic group of every household slot (needed when ``p_same_ethnicity > 0``).
    p_same_ethnicity : float
        Probability that a contact of the own region is of the own ethnic group.
    out : ndarray of int, shape (len(who), k), optional
        Where to write the contacts (e.g. the households' own rows of contacts), instead of
        a new array.
    pools : ContactPools, optional
        The groups of earlier draws from the same (only appended) households, extended
        instead of rebuilt; the contacts are the same.

    Returns
    -------
    ndarray of intp, shape (len(who), k)
        The contacts (``out`` when given).

    Examples
    --------
    >>> region = np.zeros(10, dtype=np.int8)
    >>> c = draw_contacts(np.random.default_rng(1), region, np.arange(10), 3, 0.5)
    >>> c.shape, bool((c != np.arange(10)[:, None]).all())
    ((10, 3), True)
    >>> eth = np.array([0, 1] * 5, dtype=np.int8)
    >>> c = draw_contacts(np.random.default_rng(1), region, np.arange(10), 3, 1.0, eth, 1.0)
    >>> bool((eth[c] == eth[:, None]).all())
    True
    >>> rows = np.zeros((10, 3), np.int32)
    >>> d = draw_contacts(np.random.default_rng(1), region, np.arange(10), 3, 1.0, eth, 1.0,
    ...                   out=rows)
    >>> d is rows and bool((d == c).all())
    True
    """
    who = np.asarray(who)
    blocks = _blocks(region) if pools is None else pools.blocks(region)
    # homophily draws its uniforms after these (so p_same_ethnicity = 0 draws nothing more)
    cell, cell_blocks, n_sets = region, blocks, 2
    if p_same_ethnicity > 0 and len(who):
        if ethnicity is None:
            raise ValueError("p_same_ethnicity > 0 needs the households' ethnicity")
        if pools is None:
            cell = _cells(region, ethnicity, int(ethnicity.max()) + 1)
            cell_blocks = _blocks(cell)
        else:
            cell, cell_blocks = pools.cell_blocks(region, ethnicity)
        n_sets = 3
    m = len(who)
    if out is None:
        out = np.empty((m, k), np.intp)
    # the uniforms are u_kind, then u_pick, then u_same, each (m, k), in this order of the
    # stream; they are drawn and used a block of households at a time, each set from its
    # own copy of the stream moved ahead to where that set starts (the very same numbers),
    # so the national set-up does not first-touch three fresh arrays of 36 million floats
    for lo, u_kind, u_pick, u_same in _uniform_blocks(rng, m, k, n_sets):
        hi = lo + len(u_kind)
        # one compiled pass over the contacts (kind, pick, homophily, self-ties)
        out[lo:hi] = pick_contacts(who[lo:hi], region, blocks, cell, cell_blocks, u_kind,
                                   u_pick, u_same, float(p_in_region), float(p_same_ethnicity))
    return out


_BLOCK = 1 << 15  # households per block of uniforms (2 MB per set at 8 contacts)


def _uniform_blocks(rng: np.random.Generator, m: int, k: int, n_sets: int):
    """Yield ``(first row, *sets)``: rows of ``n_sets`` consecutive (m, k) uniform arrays.

    The same numbers as ``[rng.random((m, k)) for _ in range(n_sets)]`` (a missing third
    set has no rows), a block of rows at a time, and ``rng`` ends where those draws leave
    it. Blocks need a PCG64 stream that has no buffered half-word (then a float64 uses
    exactly one 64-bit draw and ``advance`` jumps over any number of them); any other
    generator draws the whole arrays at once.
    """
    bg = rng.bit_generator
    state = bg.state
    if type(bg) is not np.random.PCG64 or state["has_uint32"] or m <= _BLOCK:
        sets = [rng.random((m, k)) for _ in range(n_sets)]
        yield (0, *sets, *([np.zeros((0, k))] * (3 - n_sets)))
        return
    gens = []
    for s in range(n_sets):
        g = np.random.PCG64()
        g.state = state
        g.advance(s * m * k)
        gens.append(np.random.Generator(g))
    bufs = [np.empty((_BLOCK, k)) for _ in range(n_sets)]
    none = np.zeros((0, k))
    for lo in range(0, m, _BLOCK):
        rows = min(_BLOCK, m - lo)
        sets = [g.random(out=b[:rows]) for g, b in zip(gens, bufs, strict=True)]
        yield (lo, *sets, *([none] * (3 - n_sets)))
    bg.advance(n_sets * m * k)
