"""Compiled passes over the person and household tables (numba).

Why compiled (DESIGN.md asks for a vectorised numpy core; this is where numpy was slowest):
the yearly step touches every person slot several times (the census of 1 January, deaths,
births, schooling and ageing, household formation, new heads) and gathers a dozen attributes
per household for its utilities. Written as numpy expressions each of these is a chain of 5
to 15 whole-array passes with temporaries and index sets; here each is one loop that reads a
slot's fields once. A year makes four passes over the persons that apply its rules, each in
slot order the rules that follow one another in the step (a person's fate in one rule only
depends on its own earlier rules and on household-level values fixed before the pass), and
partnering (:func:`form_couples`) two more that count and move household members:

1. :func:`census` on 1 January;
2. within the decision, :func:`update_intentions`: each adult at home keeps, drops or
   forms an intention to emigrate (the household's emigration hazard reads its head's);
3. after the decision, :func:`act_return_die`: intentions counted, who goes, returns from
   abroad, deaths and the women who may give birth (then :func:`births` over those women
   only);
4. :func:`age_and_move`: schooling, ageing, leaving home, new heads, the stocks abroad.

Hot loops avoid branches on per-person tests that are as good as random (alive, adult, at
home, of leaving age): they add 0 or 1, or draw a uniform for every slot so that the one
branch left is the rare event, because a mispredicted branch costs more than the work.

These passes are the model's statement of its yearly rules. The probabilities and tables
they read are computed in numpy by the calling modules
(:func:`model.core.decisions.nested_logit`, :func:`model.core.decisions.utility_tables`),
and ``tests/test_kernels.py`` checks every kernel against a plain numpy statement of the
same rule (the oracles of ``tests/reference/``), with exact equality;
``tests/test_reference_year.py`` checks a whole year against an object-per-household
reference.

Arguments that travel together travel as named tuples (:class:`PersonArrays`,
:class:`HouseholdArrays`, :class:`Census`, :class:`Acts`, :class:`ActRules`,
:class:`ActTallies`, :class:`AgeRules`, :class:`Draws`, :class:`Choices` and
:class:`model.core.decisions.UtilityTables`), read by field name inside the loops: two
arrays of one dtype cannot be swapped by position without anyone noticing, and numba
compiles a named tuple of arrays as fast as the arrays passed one by one.

Rules that keep results identical to the numpy form (and independent of the machine):

* loops run over slots in increasing order, so float sums add in the order
  ``np.bincount`` adds them;
* comparisons with a probability are made in float32, as numpy does when a float32 array
  meets a Python float;
* random numbers come from :func:`uniform_of`, the same counter-based SplitMix64 as
  :func:`model.core.rng.uniform_at`, bit for bit;
* ties go to the later slot, as a stable sort that keeps the last element does;
* the passes whose slots are independent of one another (:func:`update_intentions`,
  :func:`household_utilities`, :func:`realise`, :func:`drift_optimism`: each slot reads
  only values fixed before the pass and writes only its own outputs, with no sum across
  slots) run their loop over the cores (``prange``), so their results cannot depend on the
  number of threads;
* :func:`act_return_die` and :func:`age_and_move`, which list slots and count by group,
  run over contiguous blocks of slots on the cores (``_BLOCKS``): each block lists from
  its own first slot and counts in its own tallies, and what one slot does to a household
  shared with other blocks (the member picked to go abroad, the new head) is listed as a
  candidate and settled after the blocks, in slot order; the lists are joined and the
  integer tallies summed in block order, which is slot order, so the result is the
  serial pass's, whatever the threads; every other pass adds or allocates in slot order
  and stays serial.
  :func:`set_threads` sets the threads (Dask workers use one each: the cluster already
  runs one run per core). The names of a parallel pass's arrays are bound one a line:
  with ``a, b = t.a, t.b`` numba 0.68's parallel lowering dropped the loop's writes to
  ``b``; and the loop index of ``prange`` is unsigned, so a slot passed on is cast to
  int64 (``tests/test_kernels.py`` compares every parallel pass with its serial compile).

Examples
--------
>>> import numpy as np
>>> from model.core.rng import stream_key, uniform_at
>>> key = stream_key(1, "birth", 2013)
>>> bool(uniform_of(key, 7) == uniform_at(1, "birth", 2013, np.array([7]))[0])
True
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from model import datasets
from model.core.decisions import EMIGRATE as EMIGRATE_CODE
from model.core.decisions import Context, nested_logit, utility_tables
from model.core.rng import SPLITMIX_GAMMA, SPLITMIX_M1, SPLITMIX_M2
from model.core.states import (
    DEAD,
    DISSOLVED,
    EMIGRATED,
    HH_EMIGRATED,
    HOME,
    LABOUR,
    RESIDENT,
    STUDY,
)

__all__ = ["uniform_of", "uniforms", "census", "update_intentions", "act_return_die",
           "fertility_mass", "births",
           "age_and_move", "partner_singles", "match_couples", "form_couples",
           "household_utilities", "realise", "group_order", "key_blocks", "extend_blocks",
           "next_in_block",
           "drift_optimism", "warm_up"]
# __all__ lists the compiled passes only (a test reads their signatures from it);
# set_threads and PARALLEL_PASSES are public too, and so are the named tuples the passes
# take: PersonArrays, HouseholdArrays, Census, Acts, ActRules,
# ActTallies, IntentionRules, AgeRules, Draws, Choices

_TWO_M24 = np.float32(2.0**-24)
_N_ETH = len(datasets.ETHNIC_GROUPS)
# Indices cast to unsigned: numba then skips the negative-index (wraparound) branch on every
# access, which halves the time of these gather-and-scatter loops. Every index here is a
# slot, a code or an age, never negative.
_ix = np.uint64


class PersonArrays(NamedTuple):
    """The person table's columns a pass reads or writes (views of the table, not copies).

    Fields as in :class:`model.core.population.Persons`; ``hh`` is the household of each
    person.

    Examples
    --------
    >>> from model.core.population import Persons
    >>> PersonArrays.of(Persons(4)).status.shape
    (0,)
    """

    hh: np.ndarray
    age: np.ndarray
    sex: np.ndarray
    edu: np.ndarray
    status: np.ndarray
    years_abroad: np.ndarray
    region: np.ndarray
    death_age: np.ndarray
    group_base: np.ndarray
    intending: np.ndarray
    ethnicity: np.ndarray

    @classmethod
    def of(cls, table) -> PersonArrays:
        """The used part of ``table`` (a :class:`~model.core.population.Persons`)."""
        return cls(*(getattr(table, f) for f in cls._fields))

    @classmethod
    def zeros(cls, n: int, **given) -> PersonArrays:
        """``n`` persons in the table's dtypes: ``given`` columns, zeros elsewhere.

        Examples
        --------
        >>> PersonArrays.zeros(2, age=[5, 30]).age.dtype
        dtype('int16')
        """
        dt = _person_dtypes()
        return cls(**{f: np.asarray(given[f], dt[f]) if f in given else np.zeros(n, dt[f])
                      for f in cls._fields})


class HouseholdArrays(NamedTuple):
    """The household table's columns a pass reads or writes (views of the table).

    Fields as in :class:`model.core.population.Households`.

    Examples
    --------
    >>> from model.core.population import Households
    >>> HouseholdArrays.of(Households(4, k=3)).contacts.shape
    (0, 3)
    """

    region: np.ndarray
    ethnicity: np.ndarray
    optimism: np.ndarray
    diaspora: np.ndarray
    status: np.ndarray
    head: np.ndarray
    contacts: np.ndarray
    emigrated_year: np.ndarray
    ties_before: np.ndarray

    @classmethod
    def of(cls, table) -> HouseholdArrays:
        """The used part of ``table`` (a :class:`~model.core.population.Households`)."""
        return cls(*(getattr(table, f) for f in cls._fields))

    @classmethod
    def zeros(cls, n: int, k: int = 1, **given) -> HouseholdArrays:
        """``n`` households with ``k`` contacts in the table's dtypes, zeros but ``given``.

        Examples
        --------
        >>> HouseholdArrays.zeros(3, k=2).contacts.shape
        (3, 2)
        """
        dt = _household_dtypes()
        return cls(**{f: np.asarray(given[f], dt[f]) if f in given
                      else np.zeros((n, k) if f == "contacts" else n, dt[f])
                      for f in cls._fields})


def _person_dtypes() -> dict:
    from model.core.population import Persons  # lazily: population imports this module
    return {f: np.dtype(t) for f, (t, _) in Persons._fields.items()}


def _household_dtypes() -> dict:
    from model.core.population import Households  # lazily, as above
    return {f: np.dtype(t) for f, (t, _) in Households._fields.items()}


class Census(NamedTuple):
    """What :func:`census` counts on 1 January (filled in place).

    ``cells``: living de jure persons by group cell (int64, ``Recorder.OUTSIDE + 1``);
    ``packed``: members at home by kind per household (int64, base-256 digits);
    ``abroad``: the household has a member abroad or has emigrated (bool).

    Examples
    --------
    >>> Census(np.zeros(3, np.int64), np.zeros(2, np.int64), np.zeros(2, np.bool_)).packed
    array([0, 0])
    """

    cells: np.ndarray
    packed: np.ndarray
    abroad: np.ndarray


class Acts(NamedTuple):
    """The year's decision per household as :func:`act_return_die` reads it, and its picks.

    ``intent``: 0 for a household that did not decide, else 1 + its choice (int8);
    ``acting``: it acts on it (bool); ``best_key`` (float32) and ``best_slot`` (intp), filled
    with -1, receive the largest draw and the member picked to go abroad.

    Examples
    --------
    >>> Acts(np.zeros(1, np.int8), np.zeros(1, np.bool_), np.full(1, -1.0, np.float32),
    ...      np.full(1, -1, np.intp)).best_slot
    array([-1])
    """

    intent: np.ndarray
    acting: np.ndarray
    best_key: np.ndarray
    best_slot: np.ndarray


class ActRules(NamedTuple):
    """The rules :func:`act_return_die` applies, with the year's stream keys.

    ``eligible[code, age]``: who may be sent abroad for a choice code; ``member_keys[code]``:
    the stream that picks the member (uint64, indexed by choice code); ``key_abroad_labour``
    and ``key_abroad_study``: the streams of returns; ``p_return_labour``,
    ``p_return_or_settle`` (= p_return_labour + p_settle_labour) and ``p_stay_after_study``
    in float32; ``study_years``; ``adult_age`` of those whose intention is counted;
    ``record``: count intentions; ``fertility`` by age (float32); ``p_wish_stay_study``
    (float32, default 0): the share of graduates who wished to stay abroad, of which those
    who return come home intending to emigrate.

    Examples
    --------
    >>> r = ActRules(np.zeros((4, 121), np.bool_), np.zeros(4, np.uint64), np.uint64(1),
    ...              np.uint64(2), np.float32(0.3), np.float32(0.4), np.float32(0.5), 4.0, 18,
    ...              True, np.zeros(121, np.float32))
    >>> float(r.p_return_or_settle), r.adult_age
    (0.4000000059604645, 18)
    """

    eligible: np.ndarray
    member_keys: np.ndarray
    key_abroad_labour: np.uint64
    key_abroad_study: np.uint64
    p_return_labour: np.float32
    p_return_or_settle: np.float32
    p_stay_after_study: np.float32
    study_years: float
    adult_age: int
    record: bool
    fertility: np.ndarray
    p_wish_stay_study: np.float32 = np.float32(0.0)


class ActTallies(NamedTuple):
    """Counts by group cell that :func:`act_return_die` adds to (int64 each).

    ``intending``: adults at home whose household intends to emigrate; ``adults``: adults at
    home in deciding households; ``deaths``: the year's deaths.

    Examples
    --------
    >>> ActTallies(*(np.zeros(2, np.int64) for _ in range(3))).deaths
    array([0, 0])
    """

    intending: np.ndarray
    adults: np.ndarray
    deaths: np.ndarray


class IntentionRules(NamedTuple):
    """What :func:`update_intentions` reads besides the persons.

    ``p_emigrate``: each household slot's nested-logit probability of emigrating this year
    (float32, 0 where the household does not decide); ``profile``: the age profile of
    forming an intention, by single year of age (float32, 0 under the adult age);
    ``key``: the stream ``intention.person`` of the year; ``persist``: the probability that
    an intending adult still intends a year later (float32); ``adult_age``; ``first``: the
    first simulated year, when the state is drawn from its stationary distribution.

    Examples
    --------
    >>> r = IntentionRules(np.zeros(1, np.float32), np.ones(121, np.float32), np.uint64(1),
    ...                    np.float32(0.8), 18, False)
    >>> float(r.persist)
    0.800000011920929
    """

    p_emigrate: np.ndarray
    profile: np.ndarray
    key: np.uint64
    persist: np.float32
    adult_age: int
    first: bool


class AgeRules(NamedTuple):
    """Streams, probabilities and ages of :func:`age_and_move`.

    Keys are uint64, probabilities float32. ``ages`` holds five ages (int32):
    ``secondary_age``, ``higher_age``, the youngest and oldest age of leaving home *after
    ageing* (``leave_home_min_age + 1``, ``leave_home_max_age + 1``) and
    ``leave_home_min_gap`` (defaults 16, 22, 21, 35, 16).

    Examples
    --------
    >>> ages = np.array([16, 22, 21, 35, 16], np.int32)
    >>> AgeRules(np.uint64(1), np.float32(0.3), np.uint64(2), np.float32(0.06), ages).p_leave
    np.float32(0.06)
    """

    key_education: np.uint64
    p_higher: np.float32
    key_leave: np.uint64
    p_leave: np.float32
    ages: np.ndarray


class CoupleRules(NamedTuple):
    """Ages, probability and stream of :func:`form_couples`.

    ``min_age`` and ``max_age`` of a single (registry ``partner_min_age``,
    ``partner_max_age``); ``p_partner`` (float32) and ``key``, the stream ``partner`` of the
    year, decide who enters the year's market.

    Examples
    --------
    >>> CoupleRules(20, 49, np.float32(0.5), np.uint64(1)).max_age
    49
    """

    min_age: int
    max_age: int
    p_partner: np.float32
    key: np.uint64


class Draws(NamedTuple):
    """Each household slot's uniforms of the decision: ``intention`` and ``realisation``.

    Examples
    --------
    >>> Draws(np.zeros(2, np.float32), np.ones(2, np.float32)).realisation
    array([1., 1.], dtype=float32)
    """

    intention: np.ndarray
    realisation: np.ndarray


class Choices(NamedTuple):
    """Per chooser, what :func:`realise` writes: ``choice`` (int8) and ``act`` (bool).

    Examples
    --------
    >>> Choices(np.zeros(1, np.int8), np.zeros(1, np.bool_)).act
    array([False])
    """

    choice: np.ndarray
    act: np.ndarray


@njit(cache=True, nogil=True)
def uniform_of(key: np.uint64, slot: int) -> np.float32:
    """The uniform of ``slot`` in the stream with ``key`` (see :func:`model.core.rng.uniform_at`).

    Examples
    --------
    >>> 0.0 <= uniform_of(np.uint64(3), 5) < 1.0
    True
    """
    x = np.uint64(slot) * SPLITMIX_GAMMA + key
    x ^= x >> np.uint64(30)
    x *= SPLITMIX_M1
    x ^= x >> np.uint64(27)
    x *= SPLITMIX_M2
    x ^= x >> np.uint64(31)
    return np.float32(x >> np.uint64(40)) * _TWO_M24


@njit(cache=True, nogil=True)
def uniforms(key, slots):
    """The uniform of each of ``slots`` in the stream with ``key`` (float32).

    :func:`model.core.rng.uniform_at` bit for bit, in one pass instead of numpy's eight
    whole-array steps.

    Examples
    --------
    >>> from model.core.rng import stream_key, uniform_at
    >>> slots = np.array([3, 1, 4])
    >>> bool((uniforms(stream_key(1, "x", 2013), slots) == uniform_at(1, "x", 2013, slots)).all())
    True
    """
    out = np.empty(len(slots), np.float32)
    for j in range(len(slots)):
        out[j] = uniform_of(key, slots[j])
    return out


@njit(cache=True, nogil=True, inline="always")
def _cell(group_base, band_code, age, edu, i):
    """The group cell of slot ``i``: :meth:`model.core.recorder.Recorder.code` of one person."""
    return _ix(group_base[i] + band_code[_ix(min(age[i], len(band_code) - 1))] + edu[i])


@njit(cache=True, nogil=True)
def census(pp, band_code, pack, out):
    """One pass of the 1 January census: group cells, household composition, ties abroad.

    ``pp`` is a :class:`PersonArrays`, ``out`` a :class:`Census`. For every living de jure
    person (status HOME, LABOUR or STUDY) adds 1 to
    ``out.cells[group_base + band_code[age] + edu]``; for a person at home adds
    ``pack[age]`` to ``out.packed[hh]`` (counts of members by kind in base-256 digits); for
    a person abroad sets ``out.abroad[hh]``.

    Examples
    --------
    >>> pp = PersonArrays.zeros(3, age=[5, 30, 70], status=[0, 1, 4])
    >>> out = Census(np.zeros(8, np.int64), np.zeros(1, np.int64), np.zeros(1, np.bool_))
    >>> census(pp, np.arange(121, dtype=np.int32) // 20, np.ones(121, np.int64), out)
    >>> out.cells[:2].tolist(), int(out.packed[0]), bool(out.abroad[0])
    ([1, 1], 1, True)
    """
    status, age, edu, owner, group_base = pp.status, pp.age, pp.edu, pp.hh, pp.group_base
    cells, packed, abroad_hh = out.cells, out.packed, out.abroad
    for i in range(len(status)):
        s = status[i]
        if s > STUDY:
            continue
        cells[_cell(group_base, band_code, age, edu, i)] += 1
        if s == HOME:
            packed[_ix(owner[i])] += pack[_ix(age[i])]
        else:
            abroad_hh[_ix(owner[i])] = True


@njit(cache=True, nogil=True, parallel=True)
def act_return_die(pp, band_code, acts, rules, tallies):
    """One pass after the decision: who goes, who comes back, who dies, who may give birth.

    ``pp`` is a :class:`PersonArrays`, ``acts`` an :class:`Acts`, ``rules`` an
    :class:`ActRules`, ``tallies`` an :class:`ActTallies`. ``acts.intent[h]`` is 0 for a
    household that did not decide this year, else 1 + its chosen alternative
    (:data:`model.core.decisions.STAY` ... ``STUDY``); ``acts.acting[h]`` says whether it
    acts on it. For every living de jure person, in slot order:

    1. **acting** (members of deciding households):

       * if ``rules.record``, a person at home aged ``rules.adult_age`` or more adds 1 to
         ``tallies.adults`` at its group code (as in :func:`census`), and to
         ``tallies.intending`` when it intends to emigrate (``pp.intending``, see
         :func:`update_intentions`);
       * in a household that acts on labour or study (code ``c``), a member at home who is
         ``rules.eligible[c, age]`` gets the uniform of its slot in the stream
         ``rules.member_keys[c]``; the member with the largest draw becomes
         ``acts.best_slot[h]`` (ties: the later slot; -1 where nobody qualifies).
         ``acts.best_key`` and ``acts.best_slot`` must arrive filled with -1. The caller
         sends the chosen members abroad after the pass;
       * in a household that acts on emigration, the person (at home or abroad) emigrates;
    2. **returns** of those abroad since an earlier year: a labour migrant returns when the
       uniform of its slot in ``rules.key_abroad_labour`` is below
       ``rules.p_return_labour``, else settles abroad (emigrates) when below
       ``rules.p_return_or_settle``; a student adds a year abroad and, having studied
       ``rules.study_years``, graduates (education becomes higher, 2) and stays abroad for
       good when the uniform of its slot in ``rules.key_abroad_study`` is below
       ``rules.p_stay_after_study``, else returns, intending to emigrate when that uniform
       is below ``rules.p_wish_stay_study`` (wished to stay, did not). Returnees are at
       home again (``years_abroad`` 0). Those who settle abroad (labour or study) are EMIGRATED but
       never registered as emigrants: the caller records them as settlers abroad;
    3. **deaths**: a person whose age has reached its ``death_age`` becomes DEAD and adds 1
       to ``tallies.deaths`` at its group code;
    4. the survivors at home who are women with a positive ``rules.fertility[age]`` are
       listed.

    Returns the slots, each in increasing order, of the emigrants (whole households), the
    returnees, those who settled abroad, and the women of rule 4. Households act on one
    alternative, so rule 1's parts never meet in one household; a member picked in rule 1
    is still at home during the pass (the caller removes her from the women of rule 4, and
    does not send a member who died).

    Examples
    --------
    >>> pp = PersonArrays.zeros(4, hh=[0, 0, 0, 1], age=[40, 10, 30, 35], sex=[1, 1, 1, 1],
    ...                         status=[0, 0, 2, 0], years_abroad=[0, 0, 4, 0],
    ...                         death_age=[99, 99, 99, 99], intending=[0, 0, 0, 1])
    >>> elig = np.zeros((4, 121), np.bool_); elig[2, 18:63] = True
    >>> acts = Acts(intent=np.array([3, 2], np.int8), acting=np.array([True, True]),
    ...     best_key=np.full(2, -1.0, np.float32), best_slot=np.full(2, -1, np.intp))
    >>> rules = ActRules(elig, np.array([0, 0, 9, 0], np.uint64), np.uint64(0), np.uint64(5),
    ...     np.float32(0), np.float32(0), np.float32(0), 4.0, 18, True,
    ...     np.ones(121, np.float32))
    >>> t = ActTallies(np.zeros(4, np.int64), np.zeros(4, np.int64), np.zeros(4, np.int64))
    >>> gone, back, settled, women = act_return_die(pp, np.zeros(121, np.int32), acts,
    ...                                             rules, t)
    >>> gone.tolist(), back.tolist(), women.tolist()  # household 1 emigrates
    ([3], [2], [0, 1, 2])
    >>> pp.status.tolist(), acts.best_slot.tolist(), int(t.intending[0]), int(t.adults[0])
    ([0, 0, 0, 3], [0, -1], 1, 2)
    """
    # one name a line (see the module docstring: parallel lowering and tuple unpacking)
    status = pp.status
    age = pp.age
    edu = pp.edu
    owner = pp.hh
    group_base = pp.group_base
    years_abroad = pp.years_abroad
    death_age = pp.death_age
    sex = pp.sex
    intending = pp.intending
    intent = acts.intent
    acting = acts.acting
    eligible = rules.eligible
    keys = rules.member_keys
    fertility = rules.fertility
    adult_age = rules.adult_age
    record = rules.record
    study_years = rules.study_years
    key_labour = rules.key_abroad_labour
    key_study = rules.key_abroad_study
    p_return = rules.p_return_labour
    p_return_or_settle = rules.p_return_or_settle
    p_stay = rules.p_stay_after_study
    p_wish = rules.p_wish_stay_study
    emigrate = 1 + EMIGRATE_CODE
    n_p = len(status)
    # contiguous blocks of slots, one task each: a block writes its lists from its first
    # slot on (a block of m slots lists at most m) and adds to its own tallies, so that
    # neither depends on another block; the lists are then joined and the tallies summed
    # in block order, which is slot order (the result does not depend on the blocks)
    n_blocks, size = _blocks(n_p)
    gone = np.empty(n_p, np.intp)  # only the pages written are ever touched
    back = np.empty(n_p, np.intp)
    settled = np.empty(n_p, np.intp)
    women = np.empty(n_p, np.intp)
    picked = np.empty(n_p, np.intp)  # members who may be sent abroad, with their draws
    draw = np.empty(n_p, np.float32)
    listed = np.zeros((n_blocks, 5), np.int64)
    n_cells = len(tallies.adults)
    block_adults = np.zeros((n_blocks, n_cells), np.int64)
    block_yes = np.zeros((n_blocks, n_cells), np.int64)
    block_deaths = np.zeros((n_blocks, len(tallies.deaths)), np.int64)
    for b in prange(n_blocks):
        lo = np.int64(b) * size
        hi = min(lo + size, n_p)
        n_gone = lo
        n_back = lo
        n_settled = lo
        n_women = lo
        n_picked = lo
        for i in range(lo, hi):
            s = status[i]
            if s > STUDY:
                continue
            h = _ix(owner[i])
            k = intent[h]
            if k != 0:
                if s == HOME:
                    a = _ix(age[i])
                    if record:  # the same for every person; adds 0 or 1 without a branch
                        cell = _cell(group_base, band_code, age, edu, i)
                        adult = a >= adult_age
                        block_adults[b, cell] += adult
                        block_yes[b, cell] += adult & (intending[i] != 0)
                    code = _ix(k - 1)
                    if acting[h] and k != emigrate and eligible[code, a]:
                        picked[n_picked] = i
                        draw[n_picked] = uniform_of(keys[code], i)
                        n_picked += 1
                if k == emigrate and acting[h]:
                    status[i] = EMIGRATED
                    gone[n_gone] = i
                    n_gone += 1
                    continue
            if s == LABOUR:
                u = uniform_of(key_labour, i)
                if u < p_return:
                    s = HOME
                elif u < p_return_or_settle:
                    status[i] = EMIGRATED
                    settled[n_settled] = i
                    n_settled += 1
                    continue
            elif s == STUDY:
                years_abroad[i] += 1
                if np.float64(years_abroad[i]) >= study_years:
                    edu[i] = 2  # the degree earned abroad, whether the graduate stays or not
                    u = uniform_of(key_study, i)
                    if u < p_stay:
                        status[i] = EMIGRATED
                        settled[n_settled] = i
                        n_settled += 1
                        continue
                    if u < p_wish:
                        intending[i] = 1  # wished to stay: comes home intending to emigrate
                    s = HOME
            if s == HOME and status[i] != HOME:
                status[i] = HOME
                years_abroad[i] = 0
                back[n_back] = i
                n_back += 1
            if age[i] >= death_age[i]:
                status[i] = DEAD
                block_deaths[b, _cell(group_base, band_code, age, edu, i)] += 1
                continue
            # written always, kept when fertile: no hard-to-predict branch on sex
            women[n_women] = i
            n_women += (s == HOME) & (sex[i] == 1) & (fertility[_ix(age[i])] > 0)
        listed[b, 0] = n_gone - lo
        listed[b, 1] = n_back - lo
        listed[b, 2] = n_settled - lo
        listed[b, 3] = n_women - lo
        listed[b, 4] = n_picked - lo
    # in slot order: the member with the largest draw (ties: the later slot), the tallies
    best_key = acts.best_key
    best_slot = acts.best_slot
    for b in range(n_blocks):
        lo = np.int64(b) * size
        for j in range(lo, lo + listed[b, 4]):
            i = picked[j]
            h = _ix(owner[i])
            if draw[j] >= best_key[h]:
                best_key[h] = draw[j]
                best_slot[h] = i
        for c in range(n_cells):
            tallies.adults[c] += block_adults[b, c]
            tallies.intending[c] += block_yes[b, c]
        for c in range(len(tallies.deaths)):
            tallies.deaths[c] += block_deaths[b, c]
    return (_joined(gone, listed[:, 0], size), _joined(back, listed[:, 1], size),
            _joined(settled, listed[:, 2], size), _joined(women, listed[:, 3], size))


_BLOCKS = 32
"""Blocks of slots a blocked pass runs over (:func:`act_return_die`, :func:`age_and_move`).

Enough for 32 cores and for two threads to share the work evenly; fixed, not read from the
threads, because numba cannot cache a function that asks for them (and the result does not
depend on it)."""


@njit(cache=True, nogil=True)
def _blocks(n):
    """Number and size of the contiguous blocks of ``n`` slots a blocked pass runs over."""
    n_blocks = max(1, min(n, _BLOCKS))
    return n_blocks, (n + n_blocks - 1) // n_blocks


@njit(cache=True, nogil=True)
def _joined(lists, counts, size):
    """The blocks' lists (block ``b`` from ``b * size``, ``counts[b]`` long) joined in order."""
    out = np.empty(counts.sum(), lists.dtype)
    n = 0
    for b in range(len(counts)):
        lo = b * size
        out[n:n + counts[b]] = lists[lo:lo + counts[b]]
        n += counts[b]
    return out


@njit(cache=True, nogil=True, parallel=True)
def update_intentions(pp, rules):
    """Each adult at home keeps, drops or forms an intention to emigrate permanently.

    ``pp`` is a :class:`PersonArrays` (``intending`` is updated), ``rules`` an
    :class:`IntentionRules`. For every person at home aged ``rules.adult_age`` or more in
    a deciding household (``rules.p_emigrate[hh] > 0``), with ``u`` the uniform of its slot
    in the stream ``rules.key`` (one draw per slot): an intending adult keeps the intention
    when ``u < rules.persist``; a non-intending adult forms one when ``u <
    p_emigrate[hh] * profile[age]`` (float32). Everybody else keeps the state (persons
    abroad are not asked; children never intend). In the first year (``rules.first``)
    nobody has a history: an adult intends when ``u < f / (1 - persist + f)``, with ``f``
    the formation probability above, the stationary share of a two-state chain that forms
    with ``f`` and keeps with ``persist`` (float32).

    Examples
    --------
    >>> pp = PersonArrays.zeros(3, age=[40, 40, 10], intending=[1, 0, 0])
    >>> rules = IntentionRules(np.ones(1, np.float32), np.ones(121, np.float32),
    ...                        np.uint64(1), np.float32(1.0), 18, False)
    >>> update_intentions(pp, rules)
    >>> pp.intending.tolist()  # kept (persist 1), formed (probability 1), a child: never
    [1, 1, 0]
    """
    # one name a line (see the module docstring: parallel lowering and tuple unpacking)
    status = pp.status
    age = pp.age
    owner = pp.hh
    intending = pp.intending
    p_emig = rules.p_emigrate
    profile = rules.profile
    key = rules.key
    persist = rules.persist
    adult = rules.adult_age
    if rules.first:
        for i in prange(len(status)):
            if status[i] != HOME or age[i] < adult:
                continue
            p_h = p_emig[_ix(owner[i])]
            if p_h <= 0:
                continue
            u = uniform_of(key, np.int64(i))
            f = np.float32(p_h * profile[_ix(min(age[i], 120))])
            intending[i] = u < np.float32(f / (np.float32(1.0) - persist + f))
        return
    # every slot is weighed and written, those not asked keep their state (no branch per
    # person: who is an adult at home is as good as random to the branch predictor)
    for i in prange(len(status)):
        p_h = p_emig[_ix(owner[i])]
        asked = (status[i] == HOME) & (age[i] >= adult) & (p_h > 0)
        u = uniform_of(key, np.int64(i))
        f = np.float32(p_h * profile[_ix(min(age[i], 120))])
        had = intending[i] != 0
        now = (had & (u < persist)) | (~had & (u < f))
        intending[i] = now if asked else intending[i]


@njit(cache=True, nogil=True)
def fertility_mass(women, pp, fertility, mass):
    """Add the fertility of each woman of ``women`` still at home to ``mass[region]``.

    ``women`` are the slots listed by :func:`act_return_die` (in order); a woman sent
    abroad after that pass no longer counts. Sums in float64, in slot order (the order in
    which ``np.bincount`` adds its weights).

    Examples
    --------
    >>> mass = np.zeros(1)
    >>> pp = PersonArrays.zeros(2, age=[27, 30], status=[0, 1])
    >>> fertility_mass(np.array([0, 1]), pp, np.full(121, 0.5, np.float32), mass)
    >>> float(mass[0])
    0.5
    """
    status, region, age = pp.status, pp.region, pp.age
    for j in range(len(women)):
        i = women[j]
        if status[i] == HOME:
            mass[_ix(region[i])] += np.float64(fertility[_ix(age[i])])


@njit(cache=True, nogil=True)
def births(women, pp, fertility, level, key_birth, cap):
    """Mothers of the year among the women of ``women`` at home; returns their slots.

    A woman of ``women`` (see :func:`act_return_die`) still at home gives birth when the
    uniform of her slot is below ``min(level[group_base] * fertility[age], cap)``: ``level``
    by the region-and-ethnicity code of the person (:func:`model.core.fertility.level_table`),
    ``cap`` the float64 ``birth_cap``, 0.95; in float32. Mothers come in slot order.

    Examples
    --------
    >>> pp = PersonArrays.zeros(2, age=[27, 30])
    >>> births(np.array([0, 1]), pp, np.ones(121, np.float32), np.array([0.95]),
    ...        np.uint64(1), 0.95).tolist()
    [0, 1]
    """
    status, group_base, age = pp.status, pp.group_base, pp.age
    n = 0
    mothers = np.empty(len(women), np.intp)
    for j in range(len(women)):
        i = women[j]
        if status[i] != HOME:
            continue
        p = np.float32(min(level[_ix(group_base[i])] * np.float64(fertility[_ix(age[i])]),
                               cap))
        if uniform_of(key_birth, i) < p:
            mothers[n] = i
            n += 1
    return mothers[:n].copy()


@njit(cache=True, nogil=True, parallel=True)
def age_and_move(n_aged, pp, hh, rules, band_code, abroad_cells):
    """Schooling, ageing, leaving home and new heads in one pass; returns who leaves home.

    ``pp`` is a :class:`PersonArrays`, ``hh`` a :class:`HouseholdArrays` (heads and statuses
    are updated), ``rules`` an :class:`AgeRules`. Three rules, applied to each living de
    jure person in slot order, and a count:

    1. **schooling and ageing** (slots below ``n_aged``, i.e. not this year's newborns): at
       ``rules.ages[0]`` (16) a person reaches secondary education, at ``rules.ages[1]``
       (22) higher education with probability ``rules.p_higher`` (the uniform of its slot
       in ``rules.key_education``, float32); then ages one year;
    2. **leaving home**: an adult child aged ``rules.ages[2]``-``rules.ages[3]`` (21-35,
       after ageing) at home in a resident household, not its head and at least
       ``rules.ages[4]`` (16) years younger than the head (both after ageing), leaves when
       the uniform of its slot in ``rules.key_leave`` is below ``rules.p_leave``
       (float32). Leavers are returned in increasing slot order; the
       caller gives them households of their own;
    3. **new heads**: a resident household whose head is no longer at home gets the oldest
       member at home who stays, else the oldest living member abroad (ties: the later
       slot); with nobody living it is dissolved (the numpy statement of this rule is
       ``tests/reference/oracles.py``'s ``reassign_heads``);
    4. the persons abroad on 31 December by group cell (after schooling and ageing, as in
       :func:`census`): labour migrants add 1 to ``abroad_cells[0]``, students to
       ``abroad_cells[1]``.

    Heads never leave home (rule 2 excludes them), so which households need a new head is
    known before the pass; the head of a household may sit at a later slot, not yet aged
    when a younger member is weighed for rule 2, hence its age is taken as it will be.

    Examples
    --------
    >>> pp = PersonArrays.zeros(3, status=[4, 0, 0], age=[70, 48, 21])  # head (0) died
    >>> hh = HouseholdArrays.zeros(1)
    >>> ages = np.array([16, 22, 21, 35, 16], np.int32)
    >>> rules = AgeRules(np.uint64(1), np.float32(0.5), np.uint64(2), np.float32(1.0), ages)
    >>> age_and_move(3, pp, hh, rules, np.zeros(121, np.int32),
    ...              np.zeros((2, 1), np.int64)).tolist()
    [2]
    >>> pp.age.tolist(), int(hh.head[0])  # slot 2 left home; the oldest who stays is the head
    ([70, 49, 22], 1)
    """
    # one name a line (see the module docstring: parallel lowering and tuple unpacking)
    status = pp.status
    age = pp.age
    edu = pp.edu
    owner = pp.hh
    group_base = pp.group_base
    hh_head = hh.head
    hh_status = hh.status
    key_edu = rules.key_education
    p_higher = rules.p_higher
    key_leave = rules.key_leave
    p_leave = rules.p_leave
    ages = rules.ages
    secondary = ages[0]
    higher = ages[1]
    leave_lo = ages[2]
    leave_hi = ages[3]
    gap = ages[4]
    n_h = len(hh_status)
    n_p = len(status)
    flag = np.empty(n_h, np.bool_)
    for h in prange(n_h):
        flag[h] = (hh_status[h] == RESIDENT) & (status[_ix(hh_head[h])] != HOME)
    # schooling and ageing first, over every slot: the rules below then read each age as
    # it is after the pass (a head at a later slot is weighed at its new age, as the rule
    # says), whichever block a slot falls in
    for i in prange(n_aged):
        a = np.int32(age[i])
        alive = status[i] <= STUDY
        if alive and a == secondary:
            edu[i] = 1
        elif alive and a == higher and uniform_of(key_edu, np.int64(i)) < p_higher:
            edu[i] = 2
        age[i] = a + 1 if alive else a
    # contiguous blocks, as in act_return_die: lists from each block's first slot, tallies
    # of its own, joined and summed in block order (slot order)
    n_blocks, size = _blocks(n_p)
    out = np.empty(n_p, np.intp)
    cand = np.empty(n_p, np.intp)  # candidate heads of households whose head is gone
    listed = np.zeros((n_blocks, 2), np.int64)
    n_cells = abroad_cells.shape[1]
    block_cells = np.zeros((n_blocks, 2, n_cells), np.int64)
    for b in prange(n_blocks):
        lo = np.int64(b) * size
        hi = min(lo + size, n_p)
        n = lo
        n_cand = lo
        for i in range(lo, hi):
            s = status[i]
            if s > STUDY:
                continue
            a = np.int32(age[i])
            if s != HOME:
                block_cells[b, _ix(s - 1), _cell(group_base, band_code, age, edu, i)] += 1
            h = _ix(owner[i])
            # the draw is made for every living person, so that the branch below is taken
            # rarely (an unpredictable test of age and status would cost more than the draw)
            if ((s == HOME) & (a >= leave_lo) & (a <= leave_hi) & (hh_status[h] == RESIDENT)
                    & (uniform_of(key_leave, i) < p_leave)):
                head = _ix(hh_head[h])
                if head != i and np.int32(age[head]) - a >= gap:
                    out[n] = i
                    n += 1
                    continue  # gone: not a candidate head of the home it leaves
            if flag[h]:
                cand[n_cand] = i
                n_cand += 1
        listed[b, 0] = n - lo
        listed[b, 1] = n_cand - lo
    best_rank = np.full(n_h, -1, np.int32)
    best = np.full(n_h, -1, np.intp)
    for b in range(n_blocks):
        lo = np.int64(b) * size
        for j in range(lo, lo + listed[b, 1]):
            i = cand[j]
            h = _ix(owner[i])
            # rank: at home before abroad, then older before younger (ties: the later slot)
            rank = np.int32(age[i]) + (np.int32(1000) if status[i] == HOME else np.int32(0))
            if rank >= best_rank[h]:
                best_rank[h] = rank
                best[h] = i
        for k in range(2):
            for c in range(n_cells):
                abroad_cells[k, c] += block_cells[b, k, c]
    for h in prange(n_h):
        if flag[h]:
            if best[h] >= 0:
                hh_head[h] = best[h]
            else:
                hh_status[h] = DISSOLVED
    return _joined(out, listed[:, 0], size)


@njit(cache=True, nogil=True)
def partner_singles(pp, hh, min_age, max_age):
    """Slots of the heads at home aged ``min_age``-``max_age`` without a partner.

    ``pp`` is a :class:`PersonArrays`, ``hh`` a :class:`HouseholdArrays`. Without a partner:
    no other living de jure member (at home or abroad) of the resident household is
    ``min_age`` or over. Returned in increasing slot order (rule 1 of
    :mod:`model.core.partnering`; the numpy statement is ``tests/reference/oracles.py``'s
    ``singles``).

    Examples
    --------
    >>> pp = PersonArrays.zeros(3, hh=[0, 1, 1], age=[30, 40, 10])
    >>> hh = HouseholdArrays.zeros(2, head=[0, 1])
    >>> partner_singles(pp, hh, 20, 49).tolist()  # the lone mother of household 1 too
    [0, 1]
    >>> partner_singles(pp, hh, 5, 49).tolist()  # ... unless her child counts as an adult
    [0]
    """
    status, age, owner = pp.status, pp.age, pp.hh
    hh_status, hh_head = hh.status, hh.head
    n_p = len(status)
    # living de jure members aged min_age or over; every slot adds 0 or 1 (no branch: which
    # slots count is as good as random, and a mispredicted branch costs more than the add)
    adults = np.zeros(len(hh_status), np.int32)
    for i in range(n_p):
        adults[_ix(owner[i])] += (status[i] <= STUDY) & (age[i] >= min_age)
    # every household's head is written, the count moves on for a single (no branch); a
    # slot heading two households would be listed twice, as a sort of the heads lists it
    out = np.empty(len(hh_status) + 1, np.int64)
    n = 0
    for h in range(len(hh_status)):
        j = _ix(hh_head[h])
        a = age[j]
        out[n] = j
        n += ((hh_status[h] == RESIDENT) & (adults[h] == 1) & (status[j] == HOME)
              & (a >= min_age) & (a <= max_age))
    out = np.sort(out[:n])
    return out


@njit(cache=True, nogil=True)
def match_couples(sex, age, group):
    """Pair the k-th youngest man with the k-th youngest woman of each group.

    ``sex`` (0 men), ``age`` and ``group`` (non-negative codes) describe the persons of the
    market, one entry each; within a group and an age the earlier entry ranks first.
    Returns the positions of the matched men and women, aligned (pair ``j`` is
    ``men[j], women[j]``), ordered by group and then age rank; the unmatched oldest of the
    larger side of a group are left out. A counting sort by (group, age): two passes, no
    comparisons (rule 3 of :mod:`model.core.partnering`).

    Examples
    --------
    >>> sex = np.array([0, 1, 0, 1, 0]); age = np.array([30, 25, 22, 40, 50])
    >>> [m.tolist() for m in match_couples(sex, age, np.zeros(5, np.int64))]
    [[2, 0], [1, 3]]
    """
    n = len(sex)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a_lo, a_hi, g_hi = age[0], age[0], group[0]
    for j in range(n):
        a_lo = min(a_lo, age[j])
        a_hi = max(a_hi, age[j])
        g_hi = max(g_hi, group[j])
    n_ages = np.int64(a_hi) - np.int64(a_lo) + 1
    n_groups = np.int64(g_hi) + 1
    # per side (0 men, 1 women) and (group, age) bucket: the count, then the first rank
    slot = np.zeros((2, n_groups * n_ages), np.int64)
    for j in range(n):
        side = 0 if sex[j] == 0 else 1
        slot[side, np.int64(group[j]) * n_ages + (np.int64(age[j]) - a_lo)] += 1
    pairs = np.empty(n_groups, np.int64)
    for g in range(n_groups):
        total = np.zeros(2, np.int64)
        for side in range(2):
            run = np.int64(0)
            for b in range(g * n_ages, (g + 1) * n_ages):
                c = slot[side, b]
                slot[side, b] = run
                run += c
            total[side] = run
        pairs[g] = min(total[0], total[1])
    first = np.empty(n_groups, np.int64)  # where each group's pairs start in the output
    n_pairs = np.int64(0)
    for g in range(n_groups):
        first[g] = n_pairs
        n_pairs += pairs[g]
    out = np.empty((2, n_pairs), np.int64)
    for j in range(n):
        side = 0 if sex[j] == 0 else 1
        g = np.int64(group[j])
        b = g * n_ages + (np.int64(age[j]) - a_lo)
        rank = slot[side, b]
        slot[side, b] = rank + 1
        if rank < pairs[g]:
            out[side, first[g] + rank] = j
    return out[0].copy(), out[1].copy()


@njit(cache=True, nogil=True)
def form_couples(pp, hh, rules):
    """Singles, the year's market, matching and moving in; returns the men and women matched.

    ``pp`` is a :class:`PersonArrays` (household indices are updated), ``hh`` a
    :class:`HouseholdArrays` (statuses are updated), ``rules`` a :class:`CoupleRules`. The
    rules of :mod:`model.core.partnering`: the singles (:func:`partner_singles`) whose
    uniform in ``rules.key`` is below ``rules.p_partner`` (float32) enter the market; its
    men and women are matched by age rank within each region and ethnic group of the
    person (:func:`match_couples`, ties: the lower slot first); each matched woman and the
    living de jure members of her household join the man's household, and hers is
    dissolved. The men and women are returned aligned, ordered by region, ethnic group and
    age rank.

    Examples
    --------
    >>> pp = PersonArrays.zeros(3, hh=[0, 1, 2], age=[30, 28, 60], sex=[0, 1, 1])
    >>> hh = HouseholdArrays.zeros(3, head=[0, 1, 2])
    >>> men, women = form_couples(pp, hh, CoupleRules(20, 49, np.float32(1.0), np.uint64(1)))
    >>> men.tolist(), women.tolist(), pp.hh.tolist(), hh.status.tolist()
    ([0], [1], [0, 0, 2], [0, 2, 0])
    """
    status, owner, region, ethnicity = pp.status, pp.hh, pp.region, pp.ethnicity
    single = partner_singles(pp, hh, rules.min_age, rules.max_age)
    market = np.empty(len(single), np.int64)
    n = 0
    for j in range(len(single)):
        i = single[j]
        if uniform_of(rules.key, i) < rules.p_partner:
            market[n] = i
            n += 1
    # the market's own rows, in slot order (so ties break by slot); group code by region
    # and ethnicity, ethnicity the faster digit
    stride = np.int64(1)
    for j in range(n):
        stride = max(stride, np.int64(ethnicity[_ix(market[j])]) + 1)
    sex = np.empty(n, np.int8)
    age = np.empty(n, np.int16)
    group = np.empty(n, np.int64)
    for j in range(n):
        i = _ix(market[j])
        sex[j] = pp.sex[i]
        age[j] = pp.age[i]
        group[j] = np.int64(region[i]) * stride + ethnicity[i]
    m_pos, w_pos = match_couples(sex, age, group)
    men = np.empty(len(m_pos), np.int64)
    women = np.empty(len(w_pos), np.int64)
    for j in range(len(m_pos)):
        men[j] = market[m_pos[j]]
        women[j] = market[w_pos[j]]
    if len(women) == 0:
        return men, women
    # moving in: a woman's household (she heads it) moves into her partner's
    hh_status = hh.status
    leaving = np.zeros(len(hh_status), np.bool_)
    new_home = np.empty(len(hh_status), owner.dtype)
    old = np.empty(len(women), np.int64)
    for j in range(len(women)):
        old[j] = owner[_ix(women[j])]
        new_home[_ix(old[j])] = owner[_ix(men[j])]
        leaving[_ix(old[j])] = True
    for i in range(len(status)):
        h = _ix(owner[i])
        if leaving[h] and status[i] <= STUDY:
            owner[i] = new_home[h]
    for j in range(len(women)):
        hh_status[_ix(old[j])] = DISSOLVED
    return men, women


@njit(cache=True, nogil=True)
def group_order(keys, counts):
    """Slots grouped by key, in slot order within a key: ``np.argsort(keys, kind="stable")``.

    ``counts`` is ``np.bincount(keys)``. A counting sort: one pass, no comparisons.

    Examples
    --------
    >>> group_order(np.array([1, 0, 1, 0], np.int8), np.array([2, 2])).tolist()
    [1, 3, 0, 2]
    """
    nxt = np.zeros(len(counts), np.int64)
    for k in range(1, len(counts)):
        nxt[k] = nxt[k - 1] + counts[k - 1]
    out = np.empty(len(keys), np.int64)
    for i in range(len(keys)):
        k = _ix(keys[i])
        out[nxt[k]] = i
        nxt[k] += 1
    return out


@njit(cache=True, nogil=True)
def key_blocks(keys):
    """Slots grouped by key (slot order within a key), each key's count and first position.

    ``keys`` are non-negative codes; counts and first positions cover the codes 0 to the
    largest (``np.bincount`` and its exclusive cumulative sum); the order is
    ``np.argsort(keys, kind="stable")``. One counting pass and one placing pass.

    Examples
    --------
    >>> order, counts, starts = key_blocks(np.array([1, 0, 1, 0], np.int8))
    >>> order.tolist(), counts.tolist(), starts.tolist()
    ([1, 3, 0, 2], [2, 2], [0, 2])
    """
    top = 0
    for i in range(len(keys)):
        top = max(top, np.int64(keys[i]))
    counts = np.zeros(top + 1, np.int64)
    for i in range(len(keys)):
        counts[_ix(keys[i])] += 1
    starts = np.zeros(top + 1, np.int64)
    for k in range(1, top + 1):
        starts[k] = starts[k - 1] + counts[k - 1]
    return group_order(keys, counts), counts, starts


@njit(cache=True, nogil=True)
def extend_blocks(keys, order, counts, start):
    """:func:`key_blocks` of ``keys`` from ``order`` and ``counts``, those of ``keys[:start]``.

    For keys that are only ever appended to (the households' regions): the old blocks are
    copied whole and the slots from ``start`` on placed after them, in slot order, which
    is the order :func:`key_blocks` gives (slot order within a key).

    Examples
    --------
    >>> keys = np.array([1, 0, 1, 0, 2, 0], np.int8)
    >>> order, counts, starts = extend_blocks(keys, *key_blocks(keys[:4])[:2], 4)
    >>> order.tolist(), counts.tolist(), starts.tolist()
    ([1, 3, 5, 0, 2, 4], [3, 2, 1], [0, 3, 5])
    """
    top = len(counts) - 1
    for i in range(start, len(keys)):
        top = max(top, np.int64(keys[i]))
    new_counts = np.zeros(top + 1, np.int64)
    new_counts[:len(counts)] = counts
    for i in range(start, len(keys)):
        new_counts[_ix(keys[i])] += 1
    starts = np.zeros(top + 1, np.int64)
    for k in range(1, top + 1):
        starts[k] = starts[k - 1] + new_counts[k - 1]
    out = np.empty(len(keys), np.int64)
    nxt = starts.copy()
    first = 0
    for k in range(len(counts)):
        c = counts[k]
        out[starts[k]:starts[k] + c] = order[first:first + c]
        first += c
        nxt[k] += c
    for i in range(start, len(keys)):
        k = _ix(keys[i])
        out[nxt[k]] = i
        nxt[k] += 1
    return out, new_counts, starts


@njit(cache=True, nogil=True)
def next_in_block(keys, order, counts, starts, own):
    """The slot after each of ``own`` in its block of :func:`key_blocks` (cyclically).

    ``order``, ``counts`` and ``starts`` are :func:`key_blocks` of ``keys``; every slot of
    ``own`` is in its block, found there by bisection (blocks are in slot order).

    Examples
    --------
    >>> keys = np.array([1, 0, 1, 0, 1], np.int8)
    >>> next_in_block(keys, *key_blocks(keys), np.array([0, 4, 3])).tolist()
    [2, 0, 1]
    """
    out = np.empty(len(own), order.dtype)
    for j in range(len(own)):
        out[j] = next_slot(keys, order, counts, starts, own[j])
    return out


@njit(cache=True, nogil=True, inline="always")
def next_slot(keys, order, counts, starts, o):
    """The slot after ``o`` in its block (cyclically): one step of :func:`next_in_block`."""
    k = _ix(keys[_ix(o)])
    lo = starts[k]
    hi = lo + counts[k]
    first = lo
    while lo < hi:  # leftmost position in the block whose slot is not below o
        mid = (lo + hi) // 2
        if order[_ix(mid)] < o:
            lo = mid + 1
        else:
            hi = mid
    return order[_ix(first + (lo - first + 1) % max(counts[k], 1))]


@njit(cache=True, nogil=True, parallel=True)
def household_utilities(choosers, hh, pp, composition, tab, extra, out):
    """Utilities of CIS, non-CIS, labour and study (rows of ``out``) for every chooser.

    The compiled statement of the utilities of :mod:`model.core.decisions` (term for term
    and in the float32 order of ``tests/reference/oracles.py``'s ``utilities``), gathering
    each household's attributes in one loop: region, ethnicity, kin abroad, optimism and
    contacts from ``hh`` (a :class:`HouseholdArrays`), the head's age and education from
    ``pp`` (a :class:`PersonArrays`), members, children, workers and student-age members at
    home from ``composition.packed`` (base-256 digits, see :func:`census`), and the share
    of contacts abroad from ``composition.abroad``: a contact with a member abroad counts 1,
    an emigrated contact ``tab.tie[emigrated_year]`` (less the longer ago it left), and the
    household's contacts who left before 2012 ``hh.ties_before * tab.tie_before``
    (:mod:`model.core.ties`); the share is that count over the contacts, at most 1. ``tab`` is
    the year's
    :class:`model.core.decisions.UtilityTables`, read by name (its coefficients by the
    names of :data:`model.core.decisions.UTILITY_TERMS`); ``extra`` is
    ``(4, n_households)`` utility shifts or has no columns. Unavailable alternatives get
    ``-inf``.

    Examples
    --------
    >>> from model.core.decisions import Context, utility_tables
    >>> from model.params import defaults
    >>> t = utility_tables(defaults(), Context.for_year(2015, defaults()))
    >>> pk = np.array([2 + 2**16 + 2**32 * 2], np.int64)  # two adults, one of working age
    >>> c = Census(np.zeros(1, np.int64), pk, np.zeros(1, np.bool_))
    >>> hh = HouseholdArrays.zeros(1, k=2, optimism=[0.5])
    >>> pp = PersonArrays.zeros(1, age=[40])
    >>> v = np.zeros((4, 1), np.float32)
    >>> household_utilities(np.array([0]), hh, pp, c, t, np.zeros((4, 0), np.float32), v)
    >>> bool(np.isfinite(v[2, 0])), bool(np.isneginf(v[3, 0]))  # nobody aged 16-24
    (True, True)
    """
    region, ethnicity, diaspora, optimism = hh.region, hh.ethnicity, hh.diaspora, hh.optimism
    hh_head, contacts, hh_status, emigrated = hh.head, hh.contacts, hh.status, hh.emigrated_year
    tie, before, tie_before = tab.tie, hh.ties_before, tab.tie_before
    age, edu = pp.age, pp.edu
    packed, abroad_hh = composition.packed, composition.abroad
    cell_cis, cell_non, cell_lab, cell_stu = (tab.cell.cis, tab.cell.noncis, tab.cell.labour,
                                              tab.cell.study)
    head_emi, head_lab, head_stu = tab.head.emigrate, tab.head.labour, tab.head.study
    family, b = tab.family, tab.coef
    k = contacts.shape[1]
    fk = np.float32(k)
    top_member = len(family) - 1
    half = np.float32(0.5)
    one = np.float32(1.0)
    ninf = np.float32(-np.inf)
    has_extra = extra.shape[1] > 0
    # the coefficients as scalars before the parallel loop (numba cannot lower a named
    # tuple's attributes read inside a prange body)
    b_opt_emi, b_net_emi, b_child = b.b_optimism_emigrate, b.b_network_emigrate, \
        b.b_children_emigrate
    b_opt_lab, b_net_lab = b.b_optimism_labour, b.b_network_labour
    b_opt_stu, b_net_stu = b.b_optimism_study, b.b_network_study
    for j in prange(len(choosers)):
        h = _ix(choosers[j])
        pk = packed[h]
        head = _ix(hh_head[h])
        hidx = _ix(min(age[head], 120) * 2 + (edu[head] == 2))
        cell = _ix((np.int64(region[h]) * _N_ETH + ethnicity[h]) * 2 + diaspora[h])
        count = np.float32(0.0)
        for c in range(k):
            o = _ix(contacts[h, c])
            if abroad_hh[o]:
                # 1 + 1 + ... adds exactly in float32, as the integer count did
                count += tie[_ix(emigrated[o])] if hh_status[o] == HH_EMIGRATED else one
        count += before[h] * tie_before  # contacts who left before 2012, fading
        share = min(count / fk, one)
        opt = optimism[h] - half

        dyn = (head_emi[hidx] + family[min(pk & 255, top_member)]
               + b_opt_emi * opt + b_net_emi * share)
        if (pk >> 8) & 255 > 0:  # children at home
            dyn += b_child
        v_cis = cell_cis[cell] + dyn
        v_non = cell_non[cell] + dyn
        v_lab = (cell_lab[cell] + head_lab[hidx] + b_opt_lab * opt
                 + b_net_lab * share)
        v_stu = (cell_stu[cell] + head_stu[hidx] + b_opt_stu * opt
                 + b_net_stu * share)
        if has_extra:
            v_cis += extra[0, h]
            v_non += extra[1, h]
            v_lab += extra[2, h]
            v_stu += extra[3, h]
        out[0, j] = v_cis
        out[1, j] = v_non
        out[2, j] = v_lab if (pk >> 16) & 255 > 0 else ninf  # nobody aged 18-62 at home
        out[3, j] = v_stu if (pk >> 24) & 255 > 0 else ninf  # nobody aged 16-24 at home


@njit(cache=True, nogil=True, parallel=True)
def realise(choosers, prob, draws, rate, out):
    """Intentions drawn from the probabilities, and their realisation.

    ``prob`` is the choosers' :class:`model.core.decisions.Probabilities`, ``draws`` the
    :class:`Draws` of every household slot, ``out`` the :class:`Choices` to fill. The unit
    interval is cut in the order stay, emigrate, labour, study (float32 rounding goes to
    the last available alternative, never to one with probability 0); the household's
    ``draws.intention`` picks the choice, which is realised when
    ``draws.realisation < rate[choice]``.

    Examples
    --------
    >>> from model.core.decisions import Probabilities
    >>> one, zero = np.ones(1, np.float32), np.zeros(1, np.float32)
    >>> out = Choices(np.zeros(1, np.int8), np.zeros(1, np.bool_))
    >>> realise(np.array([0]), Probabilities(zero, one, zero, zero, zero),
    ...         Draws(np.full(1, 0.5, np.float32), np.zeros(1, np.float32)),
    ...         np.ones(4, np.float32), out)
    >>> int(out.choice[0]), bool(out.act[0])
    (1, True)
    """
    # one name a line (see the module docstring: parallel lowering and tuple unpacking)
    p_stay = prob.stay
    p_emig = prob.emigrate
    p_lab = prob.labour
    p_stu = prob.study
    u_int = draws.intention
    u_real = draws.realisation
    choice = out.choice
    act = out.act
    one = np.float32(1.0)
    for j in prange(len(choosers)):
        h = _ix(choosers[j])
        c1 = p_stay[j]
        c2 = c1 + p_emig[j]
        c3 = c2 + p_lab[j]
        if p_stu[j] == 0:
            c3 = one
            if p_lab[j] == 0:
                c2 = one
                if p_emig[j] == 0:
                    c1 = one
        u = u_int[h]
        ch = np.int8((u >= c1) + (u >= c2) + (u >= c3))
        choice[j] = ch
        act[j] = u_real[h] < rate[ch]


@njit(cache=True, nogil=True, parallel=True)
def drift_optimism(optimism, noise, sigma, shift):
    """Optimism moves by ``noise * sigma + shift`` and is held in [0, 1], in place (float32).

    The statement ``noise *= sigma; noise += shift; optimism += noise;
    np.clip(optimism, 0.0, 1.0, out=optimism)`` in one pass: the same float32 operations
    in the same order on each slot (``noise`` is left as drawn).

    Examples
    --------
    >>> opt = np.array([0.5, 0.95, 0.02], np.float32)
    >>> drift_optimism(opt, np.array([1.0, 1.0, -1.0], np.float32), np.float32(0.1),
    ...                np.float32(0.0))
    >>> [round(float(x), 6) for x in opt]
    [0.6, 1.0, 0.0]
    """
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for i in prange(len(optimism)):
        x = optimism[i] + (noise[i] * sigma + shift)
        if not np.isnan(x):  # as numpy's clip: NaN stays, -0.0 becomes 0.0
            x = x if x > zero else zero
            x = x if x < one else one
        optimism[i] = x


@cache
def warm_up() -> None:
    """Load (or compile, the first time on a machine) every kernel for the model's dtypes.

    Why: numba compiles on first call, or loads its on-disk cache then (about half a second
    for all kernels); calling each once on empty tables at model set-up keeps that one-off
    cost out of the first simulated year. Runs once per process.

    Examples
    --------
    >>> warm_up()
    """
    from model.params import defaults  # lazily: only the warm-up needs a parameter set

    i1, i8 = np.zeros(0, np.int8), np.zeros(0, np.int64)
    ip, f4, f8, b1 = (np.zeros(0, t) for t in (np.intp, np.float32, np.float64, np.bool_))
    key, half = np.uint64(1), np.float32(0.5)
    table = np.zeros(121, np.int32)
    pp = PersonArrays.zeros(0)
    hh = HouseholdArrays.zeros(0)
    composition = Census(i8, i8, b1)
    census(pp, table, np.zeros(121, np.int64), composition)
    uniforms(key, i8)
    act_return_die(pp, table, Acts(i1, b1, f4, ip),
                   ActRules(np.zeros((4, 121), np.bool_), np.zeros(4, np.uint64), key, key,
                            half, half, half, 4.0, 18, True, np.zeros(121, np.float32)),
                   ActTallies(i8, i8, i8))
    update_intentions(pp, IntentionRules(f4, np.zeros(121, np.float32), key, half, 18,
                                         False))
    fertility_mass(ip, pp, np.zeros(121, np.float32), f8)
    births(ip, pp, np.zeros(121, np.float32), f8, key, 0.95)
    age_and_move(0, pp, hh, AgeRules(key, half, key, half, np.zeros(5, np.int32)), table,
                 np.zeros((2, 1), np.int64))
    group_order(i1, i8)
    blocks = key_blocks(i1)
    extend_blocks(i1, blocks[0], blocks[1], 0)
    next_in_block(i1, *blocks, i8)
    form_couples(pp, hh, CoupleRules(20, 49, half, key))
    p = defaults()
    tab = utility_tables(p, Context.for_year(2012, p))
    household_utilities(ip, hh, pp, composition, tab, np.zeros((4, 0), np.float32),
                        np.zeros((4, 0), np.float32))
    prob = nested_logit(f4, f4, f4, f4, 1.0)
    realise(ip, prob, Draws(f4, f4), f4, Choices(i1, b1))
    drift_optimism(f4, f4, half, half)


PARALLEL_PASSES = ("update_intentions", "act_return_die", "age_and_move",
                   "household_utilities", "realise", "drift_optimism")
"""The passes whose loop runs over the cores (see the module docstring)."""


def set_threads(n: int | None) -> int:
    """Threads of the parallel passes for the calling thread (``None``: every core).

    Returns the number set before. The results do not depend on it (the parallel passes
    have no sums or allocations across slots).

    Examples
    --------
    >>> before = set_threads(1)
    >>> _ = set_threads(before)
    """
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS if n is None else max(1, int(n)))
    return before
