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

from model.core.kernels import key_blocks, next_in_block

__all__ = ["draw_contacts"]


def _blocks(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slots grouped by key (slot order within a key), each key's count and first position."""
    if keys.dtype == np.int8:  # compiled for int8 keys only (kernels.warm_up)
        return key_blocks(keys)
    counts = np.bincount(keys, minlength=int(keys.max()) + 1 if len(keys) else 1)
    order = np.argsort(keys, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return order, counts, starts


def _next_in_block(keys, order, counts, starts, own):
    """The household after ``own`` in its block of ``keys`` (cyclically)."""
    if keys.dtype == np.int8 and order.dtype == np.int64:  # compiled (kernels.warm_up)
        return next_in_block(keys, order, counts, starts, np.asarray(own, np.int64))
    n = len(keys)
    kk = keys[own].astype(np.int64)
    block_keys = keys[order].astype(np.int64) * n + order  # blocks are in slot order
    pos = np.searchsorted(block_keys, kk * n + own) - starts[kk]
    return order[starts[kk] + (pos + 1) % np.maximum(counts[kk], 1)]


def draw_contacts(rng: np.random.Generator, region: np.ndarray, who: np.ndarray, k: int,
                  p_in_region: float, ethnicity: np.ndarray | None = None,
                  p_same_ethnicity: float = 0.0) -> np.ndarray:
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

    Returns
    -------
    ndarray of intp, shape (len(who), k)

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
    """
    n = len(region)
    who = np.asarray(who)
    order, counts, starts = _blocks(region)
    r = region[who].astype(np.int64)[:, None]
    u_kind = rng.random((len(who), k))
    u_pick = rng.random((len(who), k))
    within = order[starts[r] + (u_pick * counts[r]).astype(np.int64)]
    anywhere = (u_pick * n).astype(np.int64)
    in_region = u_kind < p_in_region
    c = np.where(in_region, within, anywhere)
    same = np.zeros_like(in_region)
    if p_same_ethnicity > 0 and len(who):
        if ethnicity is None:
            raise ValueError("p_same_ethnicity > 0 needs the households' ethnicity")
        n_eth = int(ethnicity.max()) + 1
        cell = region.astype(np.int64) * n_eth + ethnicity
        if cell.max() <= np.iinfo(np.int8).max:  # 16 regions x 8 groups: 0-127
            cell = cell.astype(np.int8)
        order_e, counts_e, starts_e = _blocks(cell)
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
            c[rows[by_region], cols[by_region]] = _next_in_block(region, order, counts, starts,
                                                                 own[by_region])
        if (~by_region).any():
            r_e, c_e, o_e = rows[~by_region], cols[~by_region], own[~by_region]
            nxt = _next_in_block(cell, order_e, counts_e, starts_e, o_e)
            alone = nxt == o_e  # the only household of its group in the region
            nxt[alone] = _next_in_block(region, order, counts, starts, o_e[alone])
            c[r_e, c_e] = nxt
    return c.astype(np.intp)
