"""Contacts who emigrated before 2012: the network's share abroad in the model's first years.

Why: the model's households in 2012 only know contacts who emigrate in the model (from
2012 on) or have a member working or studying abroad, so without this the share of
contacts abroad starts at zero and grows as the model's own emigrants accumulate, an
artefact that makes emigration rise from 2012 to 2013 when the registered flow fell (the
wave of the 2000s ebbing). Households of 2012 know people who left in 2000-2011, and those
ties fade with ``ties_decay``, their own rate (the model's own emigrants fade with
``network_decay``).

Each household gets ``ties_before``: the fading-weighted number of its ``n_contacts``
contact slots that emigrated in ``ties_first_year``-2011, in year-2012 weights (a contact
that left in year ``y`` weighs ``(1 - ties_decay) ** (2011 - y)``). In year ``t`` it
adds ``ties_weight * (1 - ties_decay) ** (t - 2012) * ties_before`` to the count of
contacts abroad (:func:`model.core.decisions.utility_tables`, ``tie_before``).

How a slot is drawn: it is, as in :func:`model.core.network.draw_contacts`, of the
household's own ethnic group with probability ``p_contact_in_region *
p_contact_same_ethnicity``, a household of the region's mix with ``p_contact_in_region *
(1 - p_contact_same_ethnicity)`` and of the national mix otherwise; a person of group
``g`` emigrated in year ``y`` with the rate ``emigrants_y * share_g / census_count_g``
(:func:`emigration_rates`: the year's emigrants, the 2012 ethnic shares of emigrants, the
2009 census). A household is taken to have left with its members' rate. One uniform per
slot (stream ``population.ties``) picks the year it left, if any.

Examples
--------
>>> import numpy as np
>>> w = year_weights(np.array([2010, 2011]), 0.5)
>>> w.tolist()
[0.5, 1.0]
"""

from __future__ import annotations

import numpy as np

from model import datasets

__all__ = ["LAST_YEAR", "emigration_rates", "year_weights", "slot_probabilities",
           "draw_ties", "ties_before"]

LAST_YEAR = 2011
"""The last year before the model's first (2012): ties of the model's own years are its own."""


def emigration_rates(first_year: int) -> tuple[np.ndarray, np.ndarray]:
    """Years ``first_year``-2011 and the per-person emigration rate of each group, (Y, 8).

    ``emigrants_y * share_g / census_count_g`` with the emigrants of
    :func:`model.datasets.emigrants_before_2012`, the shares of
    :func:`model.datasets.emigrant_ethnicity_2012` and the counts of the 2009 census.

    Examples
    --------
    >>> years, r = emigration_rates(2010)
    >>> years.tolist(), r.shape
    ([2010, 2011], (2, 8))
    >>> bool(r[:, 1].min() > r[:, 0].max())  # Russians left more often than Kazakhs
    True
    """
    years, emigrants = datasets.emigrants_before_2012()
    keep = years >= first_year
    per_group = datasets.emigrant_ethnicity_2012() / datasets.census_group_counts()
    return years[keep], emigrants[keep][:, None] * per_group[None, :]


def year_weights(years: np.ndarray, decay: float) -> np.ndarray:
    """Weight in 2012 of a contact that left in each of ``years``: ``(1 - decay)^(2011 - y)``.

    Examples
    --------
    >>> year_weights(np.array([2009, 2011]), 0.1).round(3).tolist()
    [0.81, 1.0]
    """
    return (1.0 - decay) ** (LAST_YEAR - np.asarray(years, dtype=float))


def slot_probabilities(rates: np.ndarray, mix: np.ndarray, region_weights: np.ndarray,
                       p_in_region: float, p_same_ethnicity: float) -> np.ndarray:
    """Probability that a contact slot emigrated in each year, by (region, group) cell.

    Parameters
    ----------
    rates : ndarray, shape (Y, G)
        Per-person emigration rate of each group in each year.
    mix : ndarray, shape (R, G)
        Ethnic shares of each region.
    region_weights : ndarray, shape (R,)
        Population of each region (the national mix weighs the regions by it).
    p_in_region, p_same_ethnicity : float
        The network's probabilities (:func:`model.core.network.draw_contacts`).

    Returns
    -------
    ndarray, shape (R * G, Y)
        Row ``region * G + group``.

    Examples
    --------
    >>> rates = np.array([[0.0, 0.2]])          # one year; group 1 left at 20%
    >>> mix = np.array([[0.5, 0.5], [1.0, 0.0]])
    >>> p = slot_probabilities(rates, mix, np.array([1.0, 1.0]), 1.0, 1.0)
    >>> p[:, 0].tolist()                        # own group only
    [0.0, 0.2, 0.0, 0.2]
    """
    own = rates.T                                    # (G, Y)
    region_rate = mix @ rates.T                      # (R, Y)
    w = np.asarray(region_weights, float) / float(np.sum(region_weights))
    national = w @ region_rate                       # (Y,)
    a = p_in_region * p_same_ethnicity
    b = p_in_region * (1.0 - p_same_ethnicity)
    c = 1.0 - p_in_region
    n_r, n_g = mix.shape
    return (a * own[None, :, :] + b * region_rate[:, None, :]
            + c * national[None, None, :]).reshape(n_r * n_g, -1)


def draw_ties(u: np.ndarray, cell: np.ndarray, prob: np.ndarray,
              weights: np.ndarray) -> np.ndarray:
    """Weighted count of each household's slots that emigrated, from one uniform per slot.

    Slot ``(h, j)`` left in year ``y`` when ``u[h, j]`` falls in that year's part of the
    cumulated probabilities ``prob[cell[h]]`` (years in order), and did not leave when it
    lies beyond them; it then counts ``weights[y]``.

    Parameters
    ----------
    u : ndarray, shape (n, k)
        Uniforms of the slots.
    cell : ndarray of int, shape (n,)
        Each household's row of ``prob``.
    prob : ndarray, shape (cells, Y)
        Probabilities of a slot's year of emigration (each row sums to at most 1).
    weights : ndarray, shape (Y,)
        Weight of a contact that left in each year.

    Returns
    -------
    ndarray of float32, shape (n,)

    Examples
    --------
    >>> u = np.array([[0.05, 0.15, 0.9]])
    >>> draw_ties(u, np.array([0]), np.array([[0.1, 0.1]]), np.array([0.5, 1.0])).tolist()
    [1.5]
    """
    n, k = u.shape
    cum = np.cumsum(prob, axis=1).astype(u.dtype)
    idx = np.zeros((n, k), dtype=np.int8)
    for y in range(cum.shape[1]):  # a dozen years, each a vectorised pass over the slots
        idx += u >= cum[cell, y][:, None]
    w = np.append(np.asarray(weights, dtype=np.float64), 0.0)  # beyond: did not leave
    return w[idx].sum(axis=1).astype(np.float32)


def ties_before(params: dict, region: np.ndarray, ethnicity: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """The ``ties_before`` of households of ``region`` and ``ethnicity`` (float32).

    Examples
    --------
    >>> from model.params import defaults
    >>> t = ties_before(defaults(), np.zeros(500, np.int8), np.ones(500, np.int8),
    ...                 np.random.default_rng(0))
    >>> t.dtype, bool(t.max() > 0), bool(t.max() <= defaults()["n_contacts"])
    (dtype('float32'), True, True)
    """
    p = params
    years, rates = emigration_rates(int(p["ties_first_year"]))
    prob = slot_probabilities(rates, datasets.ethnicity_by_region(),
                              datasets.population_by_region(2012),
                              float(p["p_contact_in_region"]),
                              float(p["p_contact_same_ethnicity"]))
    cell = region.astype(np.int64) * len(datasets.ETHNIC_GROUPS) + ethnicity
    # float32 uniforms: at the full population (4.5 million households) the slots' draws
    # are the largest array of the set-up
    u = rng.random((len(region), int(p["n_contacts"])), dtype=np.float32)
    return draw_ties(u, cell, prob, year_weights(years, float(p["ties_decay"])))
