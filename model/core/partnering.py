"""Partnering: adults living alone form couples within region and ethnicity.

The rule of a year, after young adults have left home and headed households of their own
(:func:`model.core.kernels.age_and_move`):

1. **singles**: the heads at home, aged ``partner_min_age``-``partner_max_age`` (after
   ageing), of resident households with no other living de jure member aged
   ``partner_min_age`` or over (so this year's leavers, widows, widowers, others living
   alone and lone parents of children under that age);
2. **market**: a single enters the year's market when the uniform of its slot in the
   stream ``partner`` is below ``p_partner``;
3. **matching**: within each region and ethnic group (households keep one ethnicity, an
   assumption of endogamy) the men and the women of the market are each ordered
   by age (ties: the lower slot first) and the k-th man is matched with the k-th woman, for
   k below the smaller of the two counts (age-assortative; the unmatched oldest of the
   larger side wait for another year);
4. **moving in**: the woman and the living de jure members of her household (her
   children) join the man's household; her own household, empty now, is dissolved.

The matching depends on the scale: at coarse scales a region and ethnic group has few
singles a year, so fewer of them find a match (see ``model/data/README.md``).

The rules run as one compiled pass (:func:`model.core.kernels.form_couples`); their numpy
statement is the oracle ``form_couples`` of ``tests/reference/oracles.py``.

Widowhood needs no rule: when a partner dies, the household keeps its slot and the
survivor (or the oldest member at home) heads it (rule 3 of ``age_and_move``).

Examples
--------
>>> from model.core.population import Households, Persons
>>> hh, pp = Households(0, k=1), Persons(0)
>>> _ = pp.append(hh=[0, 1, 2], age=[30, 28, 60], sex=[0, 1, 1], edu=[1, 1, 1],
...               status=[0, 0, 0], years_abroad=[0, 0, 0], region=[3, 3, 3],
...               ethnicity=[0, 0, 0], death_age=[90, 90, 90], group_base=[0, 0, 0])
>>> _ = hh.append(region=[3, 3, 3], ethnicity=[0, 0, 0], optimism=[0.5] * 3,
...               diaspora=[False] * 3, status=[0, 0, 0], head=[0, 1, 2],
...               contacts=[[0], [0], [0]])
>>> rules = PartnerRules(min_age=20, max_age=49, p_partner=1.0)
>>> men, women = form_couples(hh, pp, rules, seed=1, year=2012, n_regions=16)
>>> men.tolist(), women.tolist(), pp.hh.tolist(), hh.status.tolist()
([0], [1], [0, 0, 2], [0, 2, 0])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from model.core import kernels
from model.core.rng import stream_key

__all__ = ["PartnerRules", "singles", "match", "form_couples"]


class PartnerRules(NamedTuple):
    """Ages and yearly probability of :func:`form_couples` (registry ``partner_*``).

    Examples
    --------
    >>> PartnerRules(20, 49, 0.3).max_age
    49
    """

    min_age: int
    max_age: int
    p_partner: float


def singles(hh, pp, min_age: int, max_age: int) -> np.ndarray:
    """Slots of the heads at home aged ``min_age``-``max_age`` without a partner (rule 1).

    Without a partner: no other living de jure member (at home or abroad) of the resident
    household is ``min_age`` or over. Returned in increasing slot order
    (:func:`model.core.kernels.partner_singles`).

    Examples
    --------
    >>> from model.core.population import Households, Persons
    >>> hh, pp = Households(0, k=1), Persons(0)
    >>> _ = pp.append(hh=[0, 1, 1], age=[30, 40, 10], sex=[0, 1, 0], edu=[1, 1, 0],
    ...               status=[0, 0, 0], years_abroad=[0, 0, 0], region=[0, 0, 0],
    ...               ethnicity=[0, 0, 0], death_age=[90, 90, 90], group_base=[0, 0, 0])
    >>> _ = hh.append(region=[0, 0], ethnicity=[0, 0], optimism=[0.5, 0.5],
    ...               diaspora=[False, False], status=[0, 0], head=[0, 1],
    ...               contacts=[[0], [0]])
    >>> singles(hh, pp, 20, 49).tolist()  # the lone mother of household 1 is single too
    [0, 1]
    >>> singles(hh, pp, 5, 49).tolist()  # ... unless her child counts as an adult
    [0]
    """
    return kernels.partner_singles(kernels.PersonArrays.of(pp), kernels.HouseholdArrays.of(hh),
                                   int(min_age), int(max_age))


def match(market: np.ndarray, sex: np.ndarray, age: np.ndarray, region: np.ndarray,
          n_regions: int) -> tuple[np.ndarray, np.ndarray]:
    """Rule 3: pair the k-th youngest man with the k-th youngest woman of each region.

    ``market`` are slots into ``sex``, ``age`` and ``region`` (ties of age: the lower slot
    first); ``n_regions`` bounds the region codes. Returns the matched men and women,
    aligned (pair ``j`` is ``men[j], women[j]``), ordered by region and then age rank
    (:func:`model.core.kernels.match_couples`).

    Examples
    --------
    >>> sex = np.array([0, 1, 0, 1, 0]); age = np.array([30, 25, 22, 40, 50])
    >>> region = np.zeros(5, np.int8)
    >>> [m.tolist() for m in match(np.arange(5), sex, age, region, 1)]
    [[2, 0], [1, 3]]
    """
    slots = np.sort(np.asarray(market, dtype=np.int64))
    men, women = kernels.match_couples(np.asarray(sex)[slots], np.asarray(age)[slots],
                                       np.asarray(region, dtype=np.int64)[slots])
    return slots[men], slots[women]


def form_couples(hh, pp, rules: PartnerRules, *, seed: int, year: int, n_regions: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Rules 1-4 on the tables: matched women (and their children) join their partners.

    Returns the matched men and women (aligned, as :func:`match`; ``n_regions`` is not
    needed by the compiled pass and kept for the callers).
    """
    return kernels.form_couples(
        kernels.PersonArrays.of(pp), kernels.HouseholdArrays.of(hh),
        kernels.CoupleRules(int(rules.min_age), int(rules.max_age),
                            np.float32(rules.p_partner), stream_key(seed, "partner", year)))
