"""Compiled passes over the person and household tables (numba).

Why compiled (DESIGN.md asks for a vectorised numpy core; this is where numpy was slowest):
the yearly step touches every person slot several times (the census of 1 January, deaths,
births, schooling and ageing, household formation, new heads) and gathers a dozen attributes
per household for its utilities. Written as numpy expressions each of these is a chain of 5
to 15 whole-array passes with temporaries and index sets; here each is one loop that reads a
slot's fields once. A year makes three passes over the persons, each applying in slot order
the rules that follow one another in the step (a person's fate in one rule only depends on
its own earlier rules and on household-level values fixed before the pass):

1. :func:`census` on 1 January;
2. after the decision, :func:`act_return_die`: intentions, who goes, returns from abroad,
   deaths and the women who may give birth (then :func:`births` over those women only);
3. :func:`age_and_move`: schooling, ageing, leaving home, new heads, the stocks abroad.

The loops hold no model logic that is not also stated in numpy form:
the probabilities and tables they read are computed in numpy by the calling modules
(:func:`model.core.decisions.nested_logit`, :func:`model.core.decisions.utility_tables`,
:func:`model.core.demography.birth_probability`'s rule), and ``tests/test_kernels.py`` checks
every kernel against a plain numpy statement of the same rule, with exact equality.

Rules that keep results identical to the numpy form (and independent of the machine):

* loops run over slots in increasing order, so float sums add in the order
  ``np.bincount`` adds them;
* comparisons with a probability are made in float32, as numpy does when a float32 array
  meets a Python float;
* random numbers come from :func:`uniform_of`, the same counter-based SplitMix64 as
  :func:`model.core.rng.uniform_at`, bit for bit;
* ties go to the later slot, as a stable sort that keeps the last element does.

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

import numpy as np
from numba import njit

from model import datasets
from model.core.decisions import EMIGRATE as EMIGRATE_CODE
from model.core.rng import SPLITMIX_GAMMA, SPLITMIX_M1, SPLITMIX_M2
from model.core.states import DEAD, DISSOLVED, EMIGRATED, HOME, INDEX_DTYPE, LABOUR, RESIDENT, STUDY

__all__ = ["uniform_of", "census", "act_return_die", "fertility_mass", "births",
           "age_and_move",
           "household_utilities", "realise", "group_order", "warm_up"]

_TWO_M24 = np.float32(2.0**-24)
_N_ETH = len(datasets.ETHNIC_GROUPS)
# Indices cast to unsigned: numba then skips the negative-index (wraparound) branch on every
# access, which halves the time of these gather-and-scatter loops. Every index here is a
# slot, a code or an age, never negative.
_ix = np.uint64


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


@njit(cache=True, nogil=True, inline="always")
def _cell(group_base, band_code, age, edu, i):
    """The group cell of slot ``i``: :meth:`model.core.recorder.Recorder.code` of one person."""
    return _ix(group_base[i] + band_code[_ix(min(age[i], len(band_code) - 1))] + edu[i])


@njit(cache=True, nogil=True)
def census(status, age, edu, owner, group_base, band_code, pack, cells, packed, abroad_hh):
    """One pass of the 1 January census: group cells, household composition, ties abroad.

    For every living de jure person (status HOME, LABOUR or STUDY) adds 1 to
    ``cells[group_base + band_code[age] + edu]``; for a person at home adds ``pack[age]``
    to ``packed[owner]`` (counts of members by kind in base-256 digits); for a person
    abroad sets ``abroad_hh[owner]``.

    Examples
    --------
    >>> st = np.array([0, 1, 4], np.int8)
    >>> cells, packed = np.zeros(8, np.int64), np.zeros(1, np.int64)
    >>> abroad = np.zeros(1, np.bool_)
    >>> census(st, np.array([5, 30, 70], np.int16), np.zeros(3, np.int8), np.zeros(3, np.intp),
    ...        np.zeros(3, np.int32), np.arange(121, dtype=np.int32) // 20,
    ...        np.ones(121, np.int64), cells, packed, abroad)
    >>> cells[:2].tolist(), int(packed[0]), bool(abroad[0])
    ([1, 1], 1, True)
    """
    for i in range(len(status)):
        s = status[i]
        if s > STUDY:
            continue
        cells[_cell(group_base, band_code, age, edu, i)] += 1
        if s == HOME:
            packed[_ix(owner[i])] += pack[_ix(age[i])]
        else:
            abroad_hh[_ix(owner[i])] = True


@njit(cache=True, nogil=True)
def act_return_die(status, age, edu, owner, group_base, band_code, intent, acting, eligible,
                   keys, adult_age, record, yes_cells, all_cells, best_key, best_slot,
                   years_abroad, returns, study_years, death_age, sex, fertility, death_cells):
    """One pass after the decision: who goes, who comes back, who dies, who may give birth.

    ``intent[h]`` is 0 for a household that did not decide this year, else 1 + its chosen
    alternative (:data:`model.core.decisions.STAY` ... ``STUDY``); ``acting[h]`` says whether it
    acts on it. For every living de jure person, in slot order:

    1. **acting** (members of deciding households):

       * if ``record``, a person at home aged ``adult_age`` or more adds 1 to ``all_cells``
         at its group code (as in :func:`census`), and to ``yes_cells`` when the household
         intends to emigrate;
       * in a household that acts on labour or study (code ``c``), a member at home who is
         ``eligible[c, age]`` gets the uniform of its slot in the stream ``keys[c]``; the
         member with the largest draw becomes ``best_slot[h]`` (ties: the later slot; -1
         where nobody qualifies). ``best_key`` and ``best_slot`` must arrive filled with
         -1. The caller sends the chosen members abroad after the pass;
       * in a household that acts on emigration, the person (at home or abroad) emigrates;
    2. **returns** of those abroad since an earlier year, with ``returns`` = (p_return_labour,
       p_return_labour + p_settle_labour, p_stay_after_study) in float32: a labour migrant
       returns when the uniform of its slot in ``keys[4]`` is below ``returns[0]``, else
       settles abroad (emigrates) when below ``returns[1]``; a student adds a year abroad
       and, having studied ``study_years``, stays abroad for good when the uniform of its
       slot in ``keys[5]`` is below ``returns[2]``, else returns. Returnees are at home again
       (``years_abroad`` 0);
    3. **deaths**: a person whose age has reached its ``death_age`` becomes DEAD and adds 1
       to ``death_cells`` at its group code;
    4. the survivors at home who are women with a positive ``fertility[age]`` are listed.

    Returns the slots, each in increasing order, of the emigrants (whole households), the
    returnees, those who settled abroad, and the women of rule 4. Households act on one
    alternative, so rule 1's parts never meet in one household; a member picked in rule 1
    is still at home during the pass (the caller removes her from the women of rule 4, and
    does not send a member who died).

    Examples
    --------
    >>> st = np.array([0, 0, 2, 0], np.int8)
    >>> elig = np.zeros((4, 121), np.bool_); elig[2, 18:63] = True
    >>> slot, yes, every = np.full(2, -1, np.intp), np.zeros(4, np.int64), np.zeros(4, np.int64)
    >>> gone, back, settled, women = act_return_die(
    ...     st, np.array([40, 10, 30, 35], np.int16), np.zeros(4, np.int8),
    ...     np.array([0, 0, 0, 1]), np.zeros(4, np.int32), np.zeros(121, np.int32),
    ...     np.array([3, 2], np.int8), np.array([True, True]), elig,
    ...     np.array([0, 0, 9, 0, 0, 5], np.uint64), 18, True, yes, every,
    ...     np.full(2, -1.0, np.float32), slot, np.array([0, 0, 4, 0], np.int8),
    ...     np.array([0.0, 0.0, 0.0], np.float32), 4.0, np.full(4, 99, np.int16),
    ...     np.ones(4, np.int8), np.ones(121, np.float32), np.zeros(4, np.int64))
    >>> gone.tolist(), back.tolist(), women.tolist()  # household 1 emigrates
    ([3], [2], [0, 1, 2])
    >>> st.tolist(), slot.tolist(), int(yes[0]), int(every[0])  # household 0 sends slot 0
    ([0, 0, 0, 3], [0, -1], 1, 2)
    """
    emigrate = 1 + EMIGRATE_CODE
    n_gone = n_back = n_settled = n_women = 0
    gone = np.empty(len(status), np.intp)  # only the pages written are ever touched
    back = np.empty(len(status), np.intp)
    settled = np.empty(len(status), np.intp)
    women = np.empty(len(status), np.intp)
    for i in range(len(status)):
        s = status[i]
        if s > STUDY:
            continue
        h = _ix(owner[i])
        k = intent[h]
        if k != 0:
            if s == HOME:
                a = _ix(age[i])
                if record and a >= adult_age:
                    cell = _cell(group_base, band_code, age, edu, i)
                    all_cells[cell] += 1
                    if k == emigrate:
                        yes_cells[cell] += 1
                code = _ix(k - 1)
                if acting[h] and k != emigrate and eligible[code, a]:
                    u = uniform_of(keys[code], i)
                    if u >= best_key[h]:
                        best_key[h] = u
                        best_slot[h] = i
            if k == emigrate and acting[h]:
                status[i] = EMIGRATED
                gone[n_gone] = i
                n_gone += 1
                continue
        if s == LABOUR:
            u = uniform_of(keys[4], i)
            if u < returns[0]:
                s = HOME
            elif u < returns[1]:
                status[i] = EMIGRATED
                settled[n_settled] = i
                n_settled += 1
                continue
        elif s == STUDY:
            years_abroad[i] += 1
            if np.float64(years_abroad[i]) >= study_years:
                if uniform_of(keys[5], i) < returns[2]:
                    status[i] = EMIGRATED
                    settled[n_settled] = i
                    n_settled += 1
                    continue
                s = HOME
        if s == HOME and status[i] != HOME:
            status[i] = HOME
            years_abroad[i] = 0
            back[n_back] = i
            n_back += 1
        if age[i] >= death_age[i]:
            status[i] = DEAD
            death_cells[_cell(group_base, band_code, age, edu, i)] += 1
            continue
        # written always, kept when fertile: no hard-to-predict branch on sex
        women[n_women] = i
        n_women += (s == HOME) & (sex[i] == 1) & (fertility[_ix(age[i])] > 0)
    return (gone[:n_gone].copy(), back[:n_back].copy(), settled[:n_settled].copy(),
            women[:n_women].copy())


@njit(cache=True, nogil=True)
def fertility_mass(women, status, region, age, fertility, mass):
    """Add the fertility of each woman of ``women`` still at home to ``mass[region]``.

    ``women`` are the slots listed by :func:`act_return_die` (in order); a woman sent
    abroad after that pass no longer counts. Sums in float64, in slot order (the order in
    which ``np.bincount`` adds its weights).

    Examples
    --------
    >>> mass = np.zeros(1)
    >>> fertility_mass(np.array([0, 1]), np.array([0, 1], np.int8), np.zeros(2, np.int8),
    ...                np.array([27, 30], np.int16), np.full(121, 0.5, np.float32), mass)
    >>> float(mass[0])
    0.5
    """
    for j in range(len(women)):
        i = women[j]
        if status[i] == HOME:
            mass[_ix(region[i])] += np.float64(fertility[_ix(age[i])])


@njit(cache=True, nogil=True)
def births(women, status, region, age, fertility, level, key_birth, cap):
    """Mothers of the year among the women of ``women`` at home; returns their slots.

    A woman of ``women`` (see :func:`act_return_die`) still at home gives birth when the
    uniform of her slot is below ``min(level[region] * fertility[age], cap)`` (in
    float32; ``cap`` is the float64 ``birth_cap``, 0.95). Mothers come in slot order.

    Examples
    --------
    >>> births(np.array([0, 1]), np.zeros(2, np.int8), np.zeros(2, np.int8),
    ...        np.array([27, 30], np.int16), np.ones(121, np.float32), np.array([0.95]),
    ...        np.uint64(1), 0.95).tolist()
    [0, 1]
    """
    n = 0
    mothers = np.empty(len(women), np.intp)
    for j in range(len(women)):
        i = women[j]
        if status[i] != HOME:
            continue
        p = np.float32(min(level[_ix(region[i])] * np.float64(fertility[_ix(age[i])]), cap))
        if uniform_of(key_birth, i) < p:
            mothers[n] = i
            n += 1
    return mothers[:n].copy()


@njit(cache=True, nogil=True)
def age_and_move(n_aged, status, age, edu, owner, hh_head, hh_status, key_edu, p_higher,
                 key_leave, p_leave, ages, group_base, band_code, abroad_cells):
    """Schooling, ageing, leaving home and new heads in one pass; returns who leaves home.

    ``ages`` holds five ages (int32): ``secondary_age``, ``higher_age``, the youngest and
    oldest age of leaving home *after ageing* (``leave_home_min_age + 1``,
    ``leave_home_max_age + 1``) and ``leave_home_min_gap`` (defaults 16, 22, 21, 35, 16).
    Three rules, applied to each living de jure person in slot order, and a count:

    1. **schooling and ageing** (slots below ``n_aged``, i.e. not this year's newborns): at
       ``ages[0]`` a person reaches secondary education, at ``ages[1]`` higher education
       with probability ``p_higher`` (the uniform of its slot in ``key_edu``, float32);
       then ages one year;
    2. **leaving home**: an adult child aged ``ages[2]``-``ages[3]`` (after ageing) at home
       in a resident household, not its head and at least ``ages[4]`` years younger than
       the head (both after ageing), leaves when the uniform of its slot in ``key_leave``
       is below ``p_leave`` (float32). Leavers are returned in increasing slot order; the
       caller gives them households of their own;
    3. **new heads**: a resident household whose head is no longer at home gets the oldest
       member at home who stays, else the oldest living member abroad (ties: the later
       slot); with nobody living it is dissolved. The rule of
       :func:`model.core.demography.reassign_heads`;
    4. the persons abroad on 31 December by group cell (after schooling and ageing, as in
       :func:`census`): labour migrants add 1 to ``abroad_cells[0]``, students to
       ``abroad_cells[1]``.

    Heads never leave home (rule 2 excludes them), so which households need a new head is
    known before the pass; the head of a household may sit at a later slot, not yet aged
    when a younger member is weighed for rule 2, hence its age is taken as it will be.

    Examples
    --------
    >>> st = np.array([4, 0, 0], np.int8)  # the head (slot 0) died this year
    >>> age, edu = np.array([70, 48, 21], np.int16), np.zeros(3, np.int8)
    >>> head, hs = np.array([0]), np.zeros(1, np.int8)
    >>> ages = np.array([16, 22, 21, 35, 16], np.int32)
    >>> age_and_move(3, st, age, edu, np.zeros(3, np.intp), head, hs, np.uint64(1),
    ...              np.float32(0.5), np.uint64(2), np.float32(1.0), ages,
    ...              np.zeros(3, np.int32), np.zeros(121, np.int32),
    ...              np.zeros((2, 1), np.int64)).tolist()
    [2]
    >>> age.tolist(), int(head[0])  # slot 2 left home; the oldest who stays is the head
    ([70, 49, 22], 1)
    """
    n_h = len(hh_status)
    flag = np.zeros(n_h, np.bool_)
    for h in range(n_h):
        flag[h] = hh_status[h] == RESIDENT and status[_ix(hh_head[h])] != HOME
    best_rank = np.full(n_h, -1, np.int32)
    best = np.full(n_h, -1, np.intp)
    n = 0
    out = np.empty(len(status), np.intp)
    secondary, higher, leave_lo, leave_hi, gap = ages[0], ages[1], ages[2], ages[3], ages[4]
    for i in range(len(status)):
        s = status[i]
        if s > STUDY:
            continue
        a = np.int32(age[i])
        if i < n_aged:
            if a == secondary:
                edu[i] = 1
            elif a == higher and uniform_of(key_edu, i) < p_higher:
                edu[i] = 2
            a += 1
            age[i] = a
        if s != HOME:
            abroad_cells[_ix(s - 1), _cell(group_base, band_code, age, edu, i)] += 1
        h = _ix(owner[i])
        if s == HOME and a >= leave_lo and a <= leave_hi and hh_status[h] == RESIDENT:
            head = _ix(hh_head[h])
            if head != i:
                a_head = np.int32(age[head])
                if head > i and head < n_aged and status[head] <= STUDY:
                    a_head += 1  # ages later in this pass
                if a_head - a >= gap and uniform_of(key_leave, i) < p_leave:
                    out[n] = i
                    n += 1
                    continue  # gone: not a candidate head of the home it leaves
        if flag[h]:
            # rank: at home before abroad, then older before younger
            rank = a + (np.int32(1000) if s == HOME else np.int32(0))
            if rank >= best_rank[h]:
                best_rank[h] = rank
                best[h] = i
    for h in range(n_h):
        if flag[h]:
            if best[h] >= 0:
                hh_head[h] = best[h]
            else:
                hh_status[h] = DISSOLVED
    return out[:n].copy()


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
def household_utilities(choosers, region, ethnicity, diaspora, optimism, hh_head, age, edu,
                        packed, contacts, abroad_hh, cell_tab, head_tab, family, coef, extra,
                        out):
    """Utilities of CIS, non-CIS, labour and study (rows of ``out``) for every chooser.

    The compiled form of :func:`model.core.decisions.utilities`, term for term and in the same
    float32 order, gathering each household's attributes in one loop: region, ethnicity,
    kin abroad and optimism from the household, the head's age and education from the
    person table, members, children, workers and student-age members at home from
    ``packed`` (base-256 digits, see :func:`census`), and the share of contacts abroad.
    ``cell_tab``, ``head_tab``, ``family`` and ``coef`` are the year's
    :class:`model.core.decisions.UtilityTables`; ``extra`` is ``(4, n_households)`` utility
    shifts or has no columns. Unavailable alternatives get ``-inf``.

    Examples
    --------
    >>> from model.core.decisions import Context, utility_tables
    >>> from model.params import defaults
    >>> t = utility_tables(defaults(), Context.for_year(2015, defaults()))
    >>> pk = np.array([2 + 2**16 + 2**32 * 2], np.int64)  # two adults, one of working age
    >>> v = np.zeros((4, 1), np.float32)
    >>> household_utilities(np.array([0]), np.zeros(1, np.int8), np.zeros(1, np.int8),
    ...     np.zeros(1, np.bool_), np.full(1, 0.5, np.float32), np.array([0]),
    ...     np.array([40], np.int16), np.zeros(1, np.int8), pk, np.zeros((1, 2), np.intp),
    ...     np.zeros(1, np.bool_), t.cell, t.head, t.family, t.coef,
    ...     np.zeros((4, 0), np.float32), v)
    >>> bool(np.isfinite(v[2, 0])), bool(np.isneginf(v[3, 0]))  # nobody aged 16-24
    (True, True)
    """
    k = contacts.shape[1]
    fk = np.float32(k)
    top_member = len(family) - 1
    half = np.float32(0.5)
    ninf = np.float32(-np.inf)
    has_extra = extra.shape[1] > 0
    for j in range(len(choosers)):
        h = _ix(choosers[j])
        pk = packed[h]
        head = _ix(hh_head[h])
        hidx = _ix(min(age[head], 120) * 2 + (edu[head] == 2))
        cell = _ix((np.int64(region[h]) * _N_ETH + ethnicity[h]) * 2 + diaspora[h])
        count = 0
        for c in range(k):
            count += abroad_hh[_ix(contacts[h, c])]
        share = np.float32(count) / fk
        opt = optimism[h] - half

        dyn = (head_tab[0, hidx] + family[min(pk & 255, top_member)] + coef[0] * opt
               + coef[1] * share)
        if (pk >> 8) & 255 > 0:  # children at home
            dyn += coef[2]
        v_cis = cell_tab[0, cell] + dyn
        v_non = cell_tab[1, cell] + dyn
        v_lab = cell_tab[2, cell] + head_tab[1, hidx] + coef[3] * opt + coef[4] * share
        v_stu = cell_tab[3, cell] + head_tab[2, hidx] + coef[5] * opt + coef[6] * share
        if has_extra:
            v_cis += extra[0, h]
            v_non += extra[1, h]
            v_lab += extra[2, h]
            v_stu += extra[3, h]
        out[0, j] = v_cis
        out[1, j] = v_non
        out[2, j] = v_lab if (pk >> 16) & 255 > 0 else ninf  # nobody aged 18-62 at home
        out[3, j] = v_stu if (pk >> 24) & 255 > 0 else ninf  # nobody aged 16-24 at home


@njit(cache=True, nogil=True)
def realise(choosers, p_stay, p_emig, p_lab, p_stu, u_int, u_real, rate, choice, act):
    """Intentions drawn from the probabilities, and their realisation.

    The compiled form of :func:`model.core.decisions.choose` (cut points of [0, 1) in the order
    stay, emigrate, labour, study; float32 rounding goes to the last available alternative)
    with the household's uniform ``u_int``; the intention is realised when
    ``u_real < rate[choice]``.

    Examples
    --------
    >>> one, zero = np.ones(1, np.float32), np.zeros(1, np.float32)
    >>> choice, act = np.zeros(1, np.int8), np.zeros(1, np.bool_)
    >>> realise(np.array([0]), zero, one, zero, zero, np.full(1, 0.5, np.float32),
    ...         np.zeros(1, np.float32), np.ones(4, np.float32), choice, act)
    >>> int(choice[0]), bool(act[0])
    (1, True)
    """
    one = np.float32(1.0)
    for j in range(len(choosers)):
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
    i1, i2, i4, i8 = (np.zeros(0, t) for t in (np.int8, np.int16, np.int32, np.int64))
    ip, f4, f8, b1 = (np.zeros(0, t) for t in (np.intp, np.float32, np.float64, np.bool_))
    ix = np.zeros(0, INDEX_DTYPE)  # a person's household, a household's head
    key = np.uint64(1)
    table = np.zeros(121, np.int32)
    census(i1, i2, i1, ix, i4, table, np.zeros(121, np.int64), i8, i8, b1)
    act_return_die(i1, i2, i1, ix, i4, table, i1, b1, np.zeros((4, 121), np.bool_),
                   np.zeros(6, np.uint64), 18, True, i8, i8, f4, ip, i1, f4, 4.0, i2, i1,
                   np.zeros(121, np.float32), i8)
    fertility_mass(ip, i1, i1, i2, np.zeros(121, np.float32), f8)
    births(ip, i1, i1, i2, np.zeros(121, np.float32), f8, key, 0.95)
    age_and_move(0, i1, i2, i1, ix, ix, i1, key, np.float32(0.5), key, np.float32(0.5),
                 np.zeros(5, np.int32), i4, table, np.zeros((2, 1), np.int64))
    group_order(i1, i8)
    household_utilities(ip, i1, i1, b1, f4, ix, i2, i1, i8, np.zeros((0, 1), INDEX_DTYPE), b1,
                        np.zeros((4, 1), np.float32), np.zeros((3, 1), np.float32), f4, f4,
                        np.zeros((4, 0), np.float32), np.zeros((4, 0), np.float32))
    realise(ip, f4, f4, f4, f4, f4, f4, f4, i1, b1)
