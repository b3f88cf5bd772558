"""The contact network: each household has ``n_contacts`` directed ties, mostly in its region.

Why directed and fixed: contacts stand for the people a household hears from; they are
drawn once (new households draw theirs on arrival) and a contact that emigrates stays a
contact, now abroad, which is how networks pull migration.

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

from model.core.kernels import group_order

__all__ = ["draw_contacts"]


def draw_contacts(rng: np.random.Generator, region: np.ndarray, who: np.ndarray, k: int,
                  p_in_region: float) -> np.ndarray:
    """Draw ``k`` contacts for each household in ``who``.

    Each contact is, with probability ``p_in_region``, a uniformly drawn household of the
    same region, otherwise a uniformly drawn household of any region. A draw that hits the
    household itself moves to the next household of the same region (no self-ties when the
    region has more than one household). Duplicates are allowed and count twice.

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

    Returns
    -------
    ndarray of intp, shape (len(who), k)

    Examples
    --------
    >>> region = np.zeros(10, dtype=np.int8)
    >>> c = draw_contacts(np.random.default_rng(1), region, np.arange(10), 3, 0.5)
    >>> c.shape, bool((c != np.arange(10)[:, None]).all())
    ((10, 3), True)
    """
    n = len(region)
    who = np.asarray(who)
    counts = np.bincount(region, minlength=int(region.max()) + 1 if n else 1)
    order = group_order(region, counts)  # = np.argsort(region, kind="stable"), in one pass
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    r = region[who].astype(np.int64)[:, None]
    u_kind = rng.random((len(who), k))
    u_pick = rng.random((len(who), k))
    within = order[starts[r] + (u_pick * counts[r]).astype(np.int64)]
    anywhere = (u_pick * n).astype(np.int64)
    c = np.where(u_kind < p_in_region, within, anywhere)
    selfie = c == who[:, None]
    if selfie.any():
        rows = np.nonzero(selfie)[0]
        own = who[rows]
        rr = region[own].astype(np.int64)
        # position of the household inside its region's block (blocks are in slot order)
        block_keys = region[order].astype(np.int64) * n + order
        pos = np.searchsorted(block_keys, rr * n + own) - starts[rr]
        nxt = (pos + 1) % np.maximum(counts[rr], 1)
        c[selfie] = order[starts[rr] + nxt]
    return c.astype(np.intp)
