"""Compiled passes of the population synthesis (numba): contacts, age cells, ages of death.

Why compiled: building the national population (about 4.5 million households, 16.7 million
persons) spent most of its time in whole-array numpy chains with one temporary per
operation: the contacts (eight per household, each a pick, a kind, a homophily test and a
self-tie check), the sampling of every person's (sex, age) cell and the search of every
person's age of death. Each kernel here is one loop over the same values, reading the
uniforms numpy drew (the random streams are drawn exactly as before, in the same order)
and doing the arithmetic of the numpy statement it replaces in the same float64 order, so
the results are identical bit for bit (``tests/test_synthesis_kernels.py`` compares each
with that numpy statement).

Examples
--------
>>> import numpy as np
>>> table = np.array([0.5, 1.0, 1.5, 2.0])        # two rows of two cells, stacked
>>> sample_cells(table, np.array([0, 1]), np.array([0.2, 0.7]), 2).tolist()
[0, 1]
"""

from __future__ import annotations

import numpy as np
from numba import njit

from model.core.kernels import next_slot

__all__ = ["pick_contacts", "sample_cells", "search_death_ages", "member_cells",
           "education_levels", "cut_sizes", "categories"]

_ix = np.uint64  # unsigned indices: numba skips the wraparound branch (see model.core.kernels)


@njit(cache=True, nogil=True, inline="always")
def _right(table, lo, width, x):
    """First position in ``table[lo:lo + width]`` whose value exceeds ``x`` (``side="right"``).

    Branch-free bisection (the keys come in random order, so a branch on the comparison
    would be mispredicted half of the time): ``lo + width`` when no value exceeds ``x``.
    """
    base = lo
    n = width
    while n > 1:
        half = n >> 1
        base = base + half if table[_ix(base + half)] <= x else base
        n -= half
    return base + (table[_ix(base)] <= x) if width > 0 else lo


@njit(cache=True, nogil=True)
def sample_cells(table, rows, u, width):
    """Cells drawn from stacked CDFs: the search of :func:`model.core.population._members`.

    ``table`` is :func:`model.core.population._stacked_cdf` (row ``r`` holds its CDF plus
    ``r``, ``width`` cells a row), ``rows`` the row of every draw and ``u`` its uniform.
    The cell is ``np.searchsorted(table, rows + u, side="right") - rows * width`` clipped
    to ``0 .. width - 1``; the search runs within the row (the same result after the
    clip: the rows before hold values up to ``r``, and a key rounded up to ``r + 1``
    lands past the row either way), which stays in cache.

    Examples
    --------
    >>> table = np.array([0.5, 1.0, 1.5, 2.0])        # two rows of two cells, stacked
    >>> sample_cells(table, np.array([0, 1, 1]), np.array([0.2, 0.7, 0.5]), 2).tolist()
    [0, 1, 1]
    """
    out = np.empty(len(rows), np.int64)
    for i in range(len(rows)):
        r = np.int64(rows[i])
        lo = r * width
        out[i] = min(_right(table, lo, width, r + u[i]) - lo, width - 1)
    return out


@njit(cache=True, nogil=True)
def cut_sizes(sizes, bounds):
    """Households laid end to end over regions' person ranges, cut at the region boundaries.

    ``sizes`` are drawn household sizes (they sum to at least ``bounds[-1]``), ``bounds``
    the cumulative persons of the regions (non-decreasing). Household ``h`` covers persons
    ``[sum(sizes[:h]), sum(sizes[:h + 1]))``; the pieces are these ranges cut at every
    boundary and at ``bounds[-1]`` (nothing after), empty pieces left out. Returns (size of
    each piece, its region: the number of boundaries at or before its first person, as
    ``np.searchsorted(bounds, start, side="right")``), int64.

    Examples
    --------
    >>> s, r = cut_sizes(np.array([3, 2, 4, 5]), np.array([4, 4, 8]))
    >>> s.tolist(), r.tolist()
    ([3, 1, 1, 3], [0, 0, 2, 2])
    """
    nb = len(bounds)
    total = bounds[nb - 1] if nb > 0 else 0
    out_size = np.empty(len(sizes) + nb, np.int64)
    out_region = np.empty(len(sizes) + nb, np.int64)
    k = 0
    b = 0
    start = np.int64(0)
    for h in range(len(sizes)):
        if start >= total:
            break
        end = min(start + np.int64(sizes[h]), total)
        while start < end:
            while b < nb and bounds[b] <= start:
                b += 1
            stop = end if (b >= nb or bounds[b] >= end) else bounds[b]
            out_size[k] = stop - start
            out_region[k] = b
            k += 1
            start = stop
    return out_size[:k], out_region[:k]


@njit(cache=True, nogil=True)
def categories(u, rows, cum):
    """Category drawn by each uniform from its row of cumulative shares, int8.

    ``cum`` holds one row of cumulative shares per kind of draw (``rows[i]`` is draw
    ``i``'s); the category is the number of the row's first ``width - 1`` values at or
    below ``u[i]``: ``(u[:, None] >= cum[rows, :-1]).sum(axis=1)``.

    Examples
    --------
    >>> cum = np.array([[0.5, 1.0], [0.2, 1.0]])
    >>> categories(np.array([0.3, 0.3, 0.5]), np.array([0, 1, 0]), cum).tolist()
    [0, 1, 1]
    """
    width = cum.shape[1]
    out = np.empty(len(u), np.int8)
    for i in range(len(u)):
        r = _ix(rows[i])
        n = 0
        for j in range(width - 1):
            n += u[i] >= cum[r, j]
        out[i] = np.int8(n)
    return out


@njit(cache=True, nogil=True)
def member_cells(sizes, region, head_table, rest_table, u_head, u_rest, n_ages):
    """Household, age and sex of every member: the draws of :func:`model.core.population._members`.

    Persons are laid out household by household (``sizes``), the head first. The head of
    household ``h`` takes ``u_head[h]`` and the ``j``-th non-head (in person order)
    ``u_rest[j]``; each draws its cell from its household's ``region`` row of the stacked
    CDF ``head_table`` or ``rest_table`` (``2 * n_ages`` cells a row) exactly as
    :func:`sample_cells`, and the cell is ``sex * n_ages + age``. Returns (household of
    each person, int32; age, int16; sex, int8).

    Examples
    --------
    >>> table = np.array([0.5, 1.0, 1.5, 2.0])        # two rows of two cells, stacked
    >>> h, age, sex = member_cells(np.array([2, 1]), np.array([0, 1]), table, table,
    ...                            np.array([0.2, 0.7]), np.array([0.9]), 1)
    >>> h.tolist(), age.tolist(), sex.tolist()
    ([0, 0, 1], [0, 0, 0], [0, 1, 1])
    """
    n = 0
    for h in range(len(sizes)):
        n += sizes[h]
    width = 2 * n_ages
    owner = np.empty(n, np.int32)  # the tables' index dtype (states.INDEX_DTYPE)
    age = np.empty(n, np.int16)
    sex = np.empty(n, np.int8)
    i = 0
    j = 0
    for h in range(len(sizes)):
        r = np.int64(region[h])
        lo = r * width
        for m in range(sizes[h]):
            if m == 0:
                cell = min(_right(head_table, lo, width, r + u_head[h]) - lo, width - 1)
            else:
                cell = min(_right(rest_table, lo, width, r + u_rest[j]) - lo, width - 1)
                j += 1
            owner[i] = h
            sex[i] = np.int8(cell // n_ages)
            age[i] = np.int16(cell % n_ages)
            i += 1
    return owner, age, sex


@njit(cache=True, nogil=True)
def education_levels(age, sex, u, secondary_age, higher_age, first, second):
    """Education level of every person: :func:`model.core.population._education`'s rule.

    Below ``secondary_age`` 0, below ``higher_age`` 1, else ``(u >= first[s]) + (u >=
    second[s])`` with ``s`` 0 for men (``sex == 0``) and 1 for everyone else; int8.

    Examples
    --------
    >>> education_levels(np.array([5, 12, 30, 30]), np.array([0, 0, 0, 1]),
    ...                  np.array([0.9, 0.9, 0.5, 0.5]), 7, 18, np.array([0.2, 0.6]),
    ...                  np.array([0.7, 0.8])).tolist()
    [0, 1, 1, 0]
    """
    out = np.empty(len(age), np.int8)
    for i in range(len(age)):
        a = age[i]
        if a < secondary_age:
            out[i] = 0
        elif a < higher_age:
            out[i] = 1
        else:
            s = 0 if sex[i] == 0 else 1
            out[i] = np.int8((u[i] >= first[s]) + (u[i] >= second[s]))
    return out


@njit(cache=True, nogil=True)
def search_death_ages(upper, cum, sex, region, age, birth_offset, n_regions, n_cohorts, e,
                      stride):
    """Ages of death: :meth:`model.core.lifetables.LifeTables.death_age` after its draws.

    ``cum`` is the flattened cumulative hazard table, one row per group (sex, region,
    cohort) and ages ``0 .. width`` (``width + 1`` columns); ``upper`` holds its values
    from age 1 on, group ``g`` offset by ``g * stride`` (sorted). A person's cohort is
    ``birth_offset - age`` (the year less the first cohort) clipped to the table, ``e`` its
    exponential draw; the target ``cum[g, age] + e + g * stride`` is searched within its
    group's ``width`` values (a search over the whole of ``upper`` ends there too: groups
    are ``stride`` apart, more than any hazard sum), and the age found is capped at
    ``width - 1``.

    Examples
    --------
    One group (one sex, region and cohort), ``L(1) = 1, L(2) = 2``: a person aged 0 with
    ``E = 1.5`` dies at age 1.

    >>> cum = np.array([[0.0, 1.0, 2.0]])
    >>> zero = np.zeros(1, np.int64)
    >>> search_death_ages(cum[:, 1:].ravel(), cum, zero, zero, zero, 0, 1, 1,
    ...                   np.array([1.5]), 1e4).tolist()
    [1]
    """
    width = cum.shape[1] - 1
    out = np.empty(len(age), np.int16)
    for i in range(len(age)):
        a = np.int64(age[i])
        cohort = min(max(birth_offset - a, 0), n_cohorts - 1)
        g = (np.int64(sex[i]) * n_regions + np.int64(region[i])) * n_cohorts + cohort
        target = cum[_ix(g), _ix(a)] + e[i] + g * stride
        lo = g * width
        pos = _right(upper, lo, width, target) - lo
        out[i] = np.int16(min(pos, width - 1))
    return out


@njit(cache=True, nogil=True)
def pick_contacts(who, region, blocks, cell, cell_blocks, u_kind, u_pick, u_same,
                  p_in_region, p_same):
    """Contacts of :func:`model.core.network.draw_contacts` from its uniforms.

    ``blocks`` and ``cell_blocks`` are :func:`model.core.kernels.key_blocks` (order,
    counts, first positions) of ``region`` and of the region-and-ethnicity ``cell`` of
    every household slot; ``u_kind`` and ``u_pick`` (and ``u_same``, with no rows when
    homophily is off) are the draws, one row per household of ``who``. The rule, contact
    by contact: the own region's block with ``u_kind < p_in_region``, else any slot;
    within the region, the own cell's block with ``u_same < p_same``; the pick is
    ``u_pick`` times the pool's size; a pick of the household itself moves to the next
    household of the block it was drawn from (of the region when the cell has no other).

    Examples
    --------
    >>> from model.core.kernels import key_blocks
    >>> region = np.zeros(3, np.int8)
    >>> b = key_blocks(region)
    >>> u = np.array([[0.0], [0.5], [0.9]])
    >>> pick_contacts(np.arange(3), region, b, region, b, u, u, np.zeros((0, 1)),
    ...               1.0, 0.0).tolist()
    [[1], [2], [0]]
    """
    order, counts, starts = blocks
    order_e, counts_e, starts_e = cell_blocks
    n = len(region)
    m, k = u_kind.shape
    homophily = u_same.shape[0] > 0
    out = np.empty((m, k), np.int64)
    for j in range(m):
        h = np.int64(who[j])
        r = _ix(region[_ix(h)])
        ce = _ix(cell[_ix(h)]) if homophily else _ix(0)
        for c in range(k):
            up = u_pick[j, c]
            in_region = u_kind[j, c] < p_in_region
            same = False
            if in_region:
                v = order[_ix(starts[r] + np.int64(up * counts[r]))]
                if homophily and u_same[j, c] < p_same:
                    same = True
                    v = order_e[_ix(starts_e[ce] + np.int64(up * counts_e[ce]))]
            else:
                v = np.int64(up * n)
            if v == h:  # a self-tie: the next household of the block drawn from
                if same:
                    v = next_slot(cell, order_e, counts_e, starts_e, h)
                    if v == h:  # the only household of its group in the region
                        v = next_slot(region, order, counts, starts, h)
                else:
                    v = next_slot(region, order, counts, starts, h)
            out[j, c] = v
    return out
