"""The Mesa model: clock, seed, the yearly step order and data collection.

``EmigrationModel`` is a thin :class:`mesa.Model` shell around array state: it does not
create a ``mesa.Agent`` per household (see DESIGN.md section 3). Mesa's own random
generator is never used for the simulation, so results do not depend on the Mesa version.

Examples
--------
>>> from model.scenario import Scenario
>>> m = EmigrationModel(Scenario(scale=2000, end=2013), seed=1)
>>> m.run_model()
>>> sorted(set(m.series()["year"]))[:2]
[2012, 2013]
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from types import SimpleNamespace

import mesa
import numpy as np
import pandas as pd

from model import datasets
from model.core import fertility as fert
from model.core import kernels
from model.core.decisions import (
    EMIGRATE,
    LABOUR,
    STUDY,
    Context,
    intention_base,
    nested_logit,
    utility_tables,
)
from model.core.demography import AGE_BANDS, fertility_shape
from model.core.lifetables import life_tables
from model.core.network import ContactPools
from model.core.partnering import PartnerRules, form_couples
from model.core.population import (
    HH_EMIGRATED,
    HOME,
    RESIDENT,
    add_households,
)
from model.core.population import LABOUR as P_LABOUR
from model.core.population import STUDY as P_STUDY
from model.core.population_cache import population
from model.core.recorder import DESTINATIONS, Recorder
from model.core.rng import stream, stream_key, uniform_at
from model.core.ties import ties_before
from model.drivers import drivers_for
from model.interventions import NO_SHIFTS, Effects, HouseholdAttributes
from model.scenario import FIRST_YEAR, Scenario

__all__ = ["EmigrationModel"]

_N_REGIONS = len(datasets.REGIONS)
_KAZAKH = datasets.ETHNIC_GROUPS.index("Kazakh")
_AGES = np.arange(121)
# Definitions, not model assumptions (they stay constants): share_intending counts adults
# (18+), as the survey asks them; the utilities' "children" are members under 16, the
# child band of the output age groups (model.core.demography.AGE_BANDS).
_ADULT_AGE = 18
_CHILD_BELOW = AGE_BANDS[0][1] + 1


_PERSON_GROWTH = 0.03
"""Person slots added a year per slot of 2012 (births, arrivals; the dead keep theirs): about
0.025 at the defaults from 2012 to 2035 and 2050, a little over. Only memory depends on it."""
_HOUSEHOLD_GROWTH = 0.055
"""Household slots added a year per household of 2012 (leavers, couples, arrivals): about
0.044 (2012-2035) and 0.052 (2012-2050) at the defaults. Only memory depends on it."""


@cache
def _age_tables(work: tuple[int, int], study: tuple[int, int],
                fertile: tuple[int, int, int]) -> SimpleNamespace:
    """Tables by single year of age (0-120) built from a run's ages (cached per value).

    Shared by every model with the same ages: do not write to them (they are not made
    read-only because numba compiles read-only arrays as another type).

    ``pack``: weight of a member in the packed household count (base-256 digits: members,
    children, workers, student age, adults); ``eligible``: who may be sent abroad, by
    choice code (rows) and age; ``fertility``: the fertility shape.

    Examples
    --------
    >>> t = _age_tables((18, 62), (16, 24), (15, 27, 49))
    >>> bool(t.eligible[LABOUR, 18] and not t.eligible[LABOUR, 63]), float(t.fertility[27])
    (True, 1.0)
    """
    ages = _AGES
    work_age = (ages >= work[0]) & (ages <= work[1])
    study_age = (ages >= study[0]) & (ages <= study[1])
    pack = (1 + 2**8 * (ages < _CHILD_BELOW) + 2**16 * work_age + 2**24 * study_age
            + 2**32 * (ages >= _ADULT_AGE)).astype(np.int64)
    eligible = np.zeros((4, ages.size), dtype=bool)
    eligible[LABOUR] = work_age
    eligible[STUDY] = study_age
    return SimpleNamespace(pack=pack, eligible=eligible, fertility=fertility_shape(_AGES, *fertile))


def age_tables(params: dict) -> SimpleNamespace:
    """:func:`_age_tables` of a full parameter set (work, study and fertile ages)."""
    p = params
    return _age_tables((int(p["work_age_min"]), int(p["work_age_max"])),
                       (int(p["study_age_min"]), int(p["study_age_max"])),
                       (int(p["fertile_age_min"]), int(p["fertility_peak_age"]),
                        int(p["fertile_age_max"])))


def intention_profile(params: dict) -> np.ndarray:
    """Age profile of forming an intention to emigrate, by single year of age (float32).

    ``exp(-((age - intention_age_peak) / intention_age_spread)**2 / 2)`` from 18 on, 0
    below: 1 at the peak.

    Examples
    --------
    >>> t = intention_profile({"intention_age_peak": 35.0, "intention_age_spread": 10.0})
    >>> float(t[17]), float(t[35]), round(float(t[45]), 4)
    (0.0, 1.0, 0.6065)
    """
    z = (_AGES - float(params["intention_age_peak"])) / float(params["intention_age_spread"])
    return np.where(_AGES >= _ADULT_AGE, np.exp(-0.5 * z * z), 0.0).astype(np.float32)


@cache
def _immigrant_ethnicity(kazakh: float) -> np.ndarray:
    """Ethnic shares of arrivals by region, for a share ``kazakh`` of Kazakhs.

    ``immigrant_kazakh_share_2012`` (69.0%) in 2012, ``immigrant_kazakh_share`` (62.3%)
    from 2013 on, BNS January-July; the others as the national non-Kazakh mix of 2012
    (assumption).
    """
    nat = datasets.ethnicity_by_region().T @ datasets.population_by_region(2012)
    nat[_KAZAKH] = 0.0
    shares = nat / nat.sum() * (1 - kazakh)
    shares[_KAZAKH] = kazakh
    return np.tile(shares, (_N_REGIONS, 1))


class EmigrationModel(mesa.Model):
    """Households of Kazakhstan choosing each year to stay, emigrate, work or study abroad.

    Parameters
    ----------
    scenario : Scenario, optional
        Parameters, run window and scale (default: the built-in baseline).
    seed : int
        Seed of every random stream of the run.

    Attributes
    ----------
    sim_scenario : Scenario
        The scenario being run (not ``scenario``: Mesa 3.5 reserves that name).
    households, persons : Households, Persons
        The array state.
    drivers : Drivers
        Every exogenous series of the run, observed and projected as the scenario's
        ``[drivers]`` say (:mod:`model.drivers`).
    year : int
        The calendar year the next ``step`` simulates.

    Examples
    --------
    >>> from model.scenario import Scenario
    >>> m = EmigrationModel(Scenario(scale=5000, end=2012), seed=2)
    >>> m.step()
    >>> m.year
    2013
    """

    def __init__(self, scenario: Scenario | None = None, *, seed: int = 1):
        super().__init__(rng=int(seed))
        self.sim_scenario = scenario or Scenario()
        self.seed = int(seed)
        self.params = dict(self.sim_scenario.params)
        self.drivers = drivers_for(self.sim_scenario.drivers)
        self.scale = float(self.sim_scenario.scale)
        self.year = FIRST_YEAR
        # a copy of a population built earlier in this process when the scale, seed and
        # population parameters match (model.core.population_cache): the same tables as a
        # fresh build, without its cost on a warm worker
        self.households, self.persons = population(self.params, scale=self.scale,
                                                   seed=self.seed)
        # room for the run's growth at set-up: a table that outgrows its capacity mid-run is
        # copied whole (5% of a 100k run 2012-2035 went on two such copies), while spare
        # zeroed capacity costs no memory until written (calloc)
        years = self.sim_scenario.end - FIRST_YEAR + 1
        self.households.reserve(int(self.households.n * _HOUSEHOLD_GROWTH * years))
        self.persons.reserve(int(self.persons.n * _PERSON_GROWTH * years))
        # contacts who emigrated before 2012 (model.core.ties): drawn here, not in the
        # cached synthesis, as they depend on network_decay (a behaviour parameter); at
        # ties_weight 0 they would count nothing, so the draw (about a second at the full
        # population) is skipped
        if self.params["ties_weight"] > 0:
            hh = self.households
            hh.ties_before[:] = ties_before(self.params, hh.region, hh.ethnicity,
                                            stream(self.seed, "population.ties", 2012))
        self._ages = age_tables(self.params)
        self._life = life_tables(self.params)
        self._fertility_level = self._fit_fertility()
        self._intention_profile = intention_profile(self.params)
        p = self.params
        # schooling and leaving-home ages of kernels.age_and_move (leaving home after ageing)
        self._move_ages = np.array([p["secondary_age"], p["higher_age"],
                                    p["leave_home_min_age"] + 1, p["leave_home_max_age"] + 1,
                                    p["leave_home_min_gap"]], dtype=np.int32)
        # one-off loads at set-up, not in the first simulated year: the data tables the
        # step looks up and the compiled passes
        datasets.preload()
        self.drivers.preload()
        kernels.warm_up()
        self.n_households_start = int(self.households.n)
        self.n_persons_start = int(self.persons.n)
        self.recorder = Recorder()
        self._region_slice = self.recorder.slice_of("region=")
        children = f"age={AGE_BANDS[0][0]}-{AGE_BANDS[0][1]}"
        self._intention_groups = [i for i, g in enumerate(self.recorder.groups) if g != children]
        self._population_t = np.zeros(len(self.recorder.groups))
        # the scenario's intervention rows (model.interventions.Intervention); the year's
        # Effects built from them (None without interventions), and last year's intention
        # to emigrate by household slot (for ``intending`` targets)
        self.interventions: list = list(self.sim_scenario.interventions)
        self.effects: Effects | None = None
        self._intending = np.zeros(0, dtype=bool)
        # the households grouped by region (and ethnicity) for the arrivals' contacts,
        # extended year by year as households are appended (model.core.network)
        self._contact_pools = ContactPools()
        self.running = True
        self._finished = False

    # ------------------------------------------------------------------ helpers
    def _tally(self, idx: np.ndarray) -> np.ndarray:
        pp = self.persons
        return self.recorder.tally_codes(
            Recorder.code(pp.group_base[idx], pp.age[idx], pp.edu[idx]))

    def _recording(self) -> bool:
        return self.year >= self.sim_scenario.start

    def _census(self) -> tuple[np.ndarray, np.ndarray]:
        """Record the population on 1 January; return household composition and ties abroad.

        Returns ``packed`` (members at home by kind, base-256 digits of ``pack`` of
        :func:`_age_tables`) and
        ``abroad_hh`` (the household has a member abroad, or has emigrated).
        """
        hh, pp = self.households, self.persons
        counts = kernels.Census(cells=np.zeros(Recorder.OUTSIDE + 1, dtype=np.int64),
                                packed=np.zeros(hh.n, dtype=np.int64),
                                abroad=hh.status == HH_EMIGRATED)
        kernels.census(kernels.PersonArrays.of(pp), Recorder.BAND_CODE, self._ages.pack, counts)
        self._population_t = self.recorder.tally_cells(counts.cells)
        if self._recording():
            self.recorder.put(self.year, "population", self._population_t)
        return counts.packed, counts.abroad

    def _fit_fertility(self) -> np.ndarray:
        """Fertility level of each region from the model's women on 1 January 2012.

        :func:`model.core.fertility.fit_levels`: expected births equal the region's mean
        crude birth rate of 2012-2018 (BNS) times its population in the model, times
        ``fertility_level_scale``.
        """
        pp = self.persons
        mk, mo = fert.home_women_mass(pp.sex, pp.status, pp.region, pp.ethnicity, pp.age,
                                      self._ages.fertility)
        population = np.bincount(pp.region, minlength=_N_REGIONS)
        return fert.fit_levels(mk, mo, fert.observed_birth_rate(), population,
                               float(self.params["kazakh_fertility_ratio"])) \
            * float(self.params["fertility_level_scale"])

    def birth_levels(self, year: int) -> np.ndarray:
        """Birth levels of ``year`` by person group base (what the births kernel reads)."""
        p = self.params
        factor = fert.projection_factor(year, float(p["fertility_change_per_decade"]))
        return fert.level_table(self._fertility_level, float(p["kazakh_fertility_ratio"]),
                                factor)

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """Simulate one calendar year.

        The step order, the one place it is written down:

        1. record the population on 1 January (resident persons plus labour migrants and
           students abroad, as BNS counts the de jure population);
        2. drivers for the year: income gaps by region and destination, the compatriot
           programme and EAEU flags (:class:`model.core.decisions.Context`), from the run's
           exogenous series, observed or projected (:mod:`model.drivers`);
        3. interventions: every active row of the scenario's ``[[interventions]]`` adds its
           effect on the households it reaches to the year's
           :class:`model.interventions.Effects` (utility, optimism and income shifts,
           realisation multipliers) or switches a flag of the context;
        4. optimism moves with the national Cantril ladder (driver ``ladder``) plus a
           random walk;
        5. intentions: every resident household draws its preferred alternative of the
           year from the nested logit; every adult (18+) at home keeps an intention to
           emigrate for good with ``p_intention_persist`` or forms one with the
           household's probability of emigrating times ``intention_scale`` (at most 1)
           times an age profile;
           ``share_intending`` is the share of adults at home who intend (the survey
           question of CABAR 2019);
        6. realisation: a household whose head intends and whose draw is emigration
           leaves with probability ``realise_emigrate``, whole (members abroad included),
           to a CIS or non-CIS destination, registered; a household drawing labour or
           study acts with ``realise_<choice>`` and sends one eligible member abroad;
        7. returns: labour migrants abroad since an earlier year return or settle abroad;
           students who finished ``study_years`` graduate (higher education) and return
           or stay. Settlers abroad never deregister: they leave the model's population
           but are recorded as ``new_settlers_abroad``, not as (registered) emigrants;
        8. demography: deaths (at each person's drawn age of death, from the regional life
           tables), births (age-specific fertility with regional levels fitted to the births
           of 2012-2018, an ethnic ratio and the projection after 2018), schooling, ageing,
           young adults leaving home, new heads; adults living alone form couples within
           their region and ethnic group (:mod:`model.core.partnering`);
        9. immigration: arriving households from the exogenous series;
        10. record the year's flows and the stocks abroad on 31 December.

        The person-level parts run as four compiled passes (:mod:`model.core.kernels`): the
        census (1); adults' intentions (5); who goes, returns and deaths (6-8); schooling,
        ageing, leaving home and new heads (8); partnering is compiled too
        (:func:`model.core.kernels.form_couples`). Within a pass each person meets the rules
        in this order.

        Each stage is a method named after it, called in this order below: ``_census``
        (1), ``_drivers_and_interventions`` (2-3), ``_update_optimism`` (4), ``_decide``
        (5-6), ``_act_return_die`` and ``_move_abroad`` (6-8, first part), ``_demography``
        (8), ``_immigration`` (9), ``_record_year`` (10).
        """
        year = self.year
        packed, abroad_hh = self._census()
        ctx, effects = self._drivers_and_interventions(year, packed)
        self._update_optimism(year)
        d = self._decide(year, ctx, effects, packed, abroad_hh)
        moves = self._act_return_die(year, d)
        t_emig = self._move_abroad(year, d, moves)
        births_t, deaths_t, abroad_cells = self._demography(year, moves.death_cells,
                                                            moves.women)
        immigrants_t = self._immigration(year)
        if self._recording():
            self._record_year(year, t_emig, births_t, deaths_t, immigrants_t, abroad_cells)
        self.year += 1
        if self.year > self.sim_scenario.end:
            self.running = False

    # ------------------------------------------------------------------ phases of step
    def _drivers_and_interventions(self, year: int, packed: np.ndarray
                                   ) -> tuple[Context, Effects | None]:
        """Stages 2-3: the year's drivers, then the year's intervention effects.

        A fresh :class:`~model.interventions.Effects` each year (nothing carries over, so a
        window's end ends its effect). A household intervention reaches the deciding
        households (resident, someone at home) in its target whose uniform in the
        intervention's own stream ``uptake.<name>``, drawn for the window's first year, is
        below ``uptake``: the same households every year of the window, and no other
        stream is touched. A context switch reaches every deciding household.
        """
        ctx = Context.for_year(year, self.params, self.drivers)
        self.effects = None
        if not self.interventions:
            return ctx, None
        hh = self.households
        effects = Effects(hh.n)
        active = [iv for iv in self.interventions if iv.active(year)]
        if active:
            deciding = (hh.status == RESIDENT) & (packed & 255 > 0)
            attrs = self._target_attributes(packed) \
                if any(not iv.target.is_everyone for iv in active) else None
            for iv in active:
                mask = deciding & iv.target.match(attrs) \
                    if iv.reaches_households and attrs is not None else deciding
                slots = np.flatnonzero(mask)
                if iv.reaches_households and iv.uptake < 1.0:
                    u = uniform_at(self.seed, iv.stream, iv.start, slots)
                    slots = slots[u < np.float32(iv.uptake)]
                effects.add(iv, slots)
            if effects.context:
                ctx = replace(ctx, **effects.context)
        self.effects = effects
        return ctx, effects

    def _target_attributes(self, packed: np.ndarray) -> HouseholdAttributes:
        """What targets are matched on, per household slot, on 1 January."""
        hh, pp = self.households, self.persons
        intending = np.zeros(hh.n, dtype=bool)
        intending[:len(self._intending)] = self._intending
        return HouseholdAttributes(region=hh.region, ethnicity=hh.ethnicity,
                                   head_age=pp.age[hh.head], head_education=pp.edu[hh.head],
                                   children=(packed >> 8) & 255 > 0, intending=intending)

    def _update_optimism(self, year: int) -> None:
        """Stage 4: optimism moves with the national ladder plus a random walk."""
        p = self.params
        hh = self.households
        ladder = self.drivers.value
        shift = p["optimism_ladder_weight"] * (ladder("ladder", year)
                                               - ladder("ladder", year - 1))
        noise = stream(self.seed, "optimism", year).standard_normal(hh.n, dtype=np.float32)
        # optimism += noise * sigma + shift / 10, clipped to [0, 1], in one compiled pass
        kernels.drift_optimism(hh.optimism, noise, np.float32(p["optimism_sigma"]),
                               np.float32(shift / 10.0))

    def _decide(self, year: int, ctx: Context, effects: Effects | None, packed: np.ndarray,
                abroad_hh: np.ndarray) -> SimpleNamespace:
        """Stages 5-6: intentions and who acts on them.

        Every resident household with a member at home (composition from the census)
        chooses: utilities gathered in one compiled pass, probabilities from
        ``decisions.nested_logit``. Realisation draws on a stream of its own, so that a
        change in intentions elsewhere does not reshuffle who acts (common random numbers).
        The year's intervention ``effects`` shift the utilities (the pass's ``extra``
        array) and multiply the realisation rates (the test ``u_real < rate`` is redone
        after the compiled pass with each chooser's own rate; where the multiplier is 1 it
        gives the kernel's answer).
        """
        p = self.params
        hh, pp = self.households, self.persons
        n_h = hh.n
        choosers = np.flatnonzero((hh.status == RESIDENT) & (packed & 255 > 0))
        n_c = len(choosers)
        tab = utility_tables(p, ctx)
        v = np.empty((4, n_c), dtype=np.float32)
        shifts = None if effects is None else effects.utility_shifts(p, hh.optimism)
        kernels.household_utilities(choosers, kernels.HouseholdArrays.of(hh),
                                    kernels.PersonArrays.of(pp),
                                    kernels.Census(np.zeros(0, np.int64), packed, abroad_hh),
                                    tab, NO_SHIFTS if shifts is None else shifts, v)
        prob = nested_logit(v[0], v[1], v[2], v[3], p["nest_scale"])
        u_int = stream(self.seed, "intention", year).random(n_h, dtype=np.float32)
        # emigration is realised through the head's intention below, never by this draw
        rate = np.array([0.0, 0.0, p["realise_labour"], p["realise_study"]], dtype=np.float32)
        u_real = stream(self.seed, "realisation", year).random(n_h, dtype=np.float32)
        out = kernels.Choices(choice=np.empty(n_c, dtype=np.int8), act=np.empty(n_c, dtype=bool))
        kernels.realise(choosers, prob, kernels.Draws(intention=u_int, realisation=u_real), rate,
                        out)
        choice, act = out.choice, out.act
        if effects is not None:
            rates = effects.realisation_rates(rate, choice, choosers)
            if rates is not None:  # the kernel's rule with each household's own rate
                act = u_real[choosers] < rates
        head_intends = self._update_intentions(year, choosers, prob)
        # a household leaves (registered) when its head intends (a lasting state of mind),
        # the household's draw of the year is emigration (the year's utilities: when) and
        # the uniform of its slot on the stream emigration.hazard is below realise_emigrate
        rate_e = np.full(n_c, p["realise_emigrate"], dtype=np.float32)
        if effects is not None:
            rates = effects.realisation_rates(np.full(4, p["realise_emigrate"], np.float32),
                                              np.full(n_c, EMIGRATE, np.int8), choosers)
            rate_e = rate_e if rates is None else rates
            self._intending = np.zeros(n_h, dtype=bool)
            self._intending[choosers[head_intends]] = True
        leave = head_intends & (choice == EMIGRATE) & (
            kernels.uniforms(stream_key(self.seed, "emigration.hazard", year), choosers)
            < rate_e)
        choice = np.where(leave, np.int8(EMIGRATE), choice).astype(np.int8)
        act = act | leave
        return SimpleNamespace(choosers=choosers, prob=prob, choice=choice, act=act)

    def _update_intentions(self, year: int, choosers: np.ndarray, prob) -> np.ndarray:
        """Adults' intentions to emigrate for good; return whether each chooser's head intends.

        Every adult (18+) at home in a deciding household keeps an intention with
        ``p_intention_persist`` or, not intending, forms one with the household's
        nested-logit probability of emigrating times ``intention_scale`` (at most 1) times
        the age profile (Gaussian in age,
        ``intention_age_peak`` and ``intention_age_spread``): one uniform per person slot
        on the stream ``intention.person`` (:func:`model.core.kernels.update_intentions`).
        In the first year the state is drawn from its stationary distribution, with the
        formation probability of the years before 2012: ``intention_scale`` times
        ``1 + residual_intending_start``.
        """
        hh, pp = self.households, self.persons
        p_h = np.zeros(hh.n, dtype=np.float32)
        # a wish to leave (the survey's "plan to move") is wider than the year's choice:
        # it forms at intention_scale times the household's probability of emigrating
        scale = self.params["intention_scale"]
        if year == FIRST_YEAR:  # the starting stock: formed at the rate of the years before
            scale = scale * (1.0 + self.params["residual_intending_start"])
        p_h[choosers] = intention_base(prob.emigrate, scale)
        rules = kernels.IntentionRules(
            p_emigrate=p_h, profile=self._intention_profile,
            key=stream_key(self.seed, "intention.person", year),
            persist=np.float32(self.params["p_intention_persist"]), adult_age=_ADULT_AGE,
            first=year == FIRST_YEAR)
        kernels.update_intentions(kernels.PersonArrays.of(pp), rules)
        return pp.intending[hh.head[choosers]] != 0

    def _act_return_die(self, year: int, d: SimpleNamespace) -> SimpleNamespace:
        """Stages 6-8 (first part) in one pass over the persons.

        Intentions counted when recording; one eligible member at home picked for labour
        or study (the largest draw); every living de jure member of an emigrating
        household leaving; returns and settlement of those abroad since an earlier year;
        deaths; the women who may give birth (:func:`model.core.kernels.act_return_die`).
        """
        p = self.params
        hh, pp = self.households, self.persons
        n_h = hh.n
        rec = self._recording()
        intent = np.zeros(n_h, dtype=np.int8)
        intent[d.choosers] = d.choice + 1
        acting = np.zeros(n_h, dtype=bool)
        acting[d.choosers] = d.act
        member_keys = np.zeros(4, dtype=np.uint64)  # by choice code
        member_keys[LABOUR] = stream_key(self.seed, "member.labour", year)
        member_keys[STUDY] = stream_key(self.seed, "member.study", year)
        f32 = np.float32  # as numpy compares a float32 uniform with a Python float
        rules = kernels.ActRules(
            eligible=self._ages.eligible, member_keys=member_keys,
            key_abroad_labour=stream_key(self.seed, "abroad.labour", year),
            key_abroad_study=stream_key(self.seed, "abroad.study", year),
            p_return_labour=f32(p["p_return_labour"]),
            p_return_or_settle=f32(p["p_return_labour"] + p["p_settle_labour"]),
            p_stay_after_study=f32(p["p_stay_after_study"]),
            p_wish_stay_study=f32(p["p_wish_stay_study"]),
            study_years=float(p["study_years"]), adult_age=_ADULT_AGE, record=rec,
            fertility=self._ages.fertility)
        acts = kernels.Acts(intent=intent, acting=acting,
                            best_key=np.full(n_h, -1.0, dtype=np.float32),
                            best_slot=np.full(n_h, -1, dtype=np.intp))
        tallies = kernels.ActTallies(*(np.zeros(Recorder.OUTSIDE + 1, dtype=np.int64)
                                       for _ in kernels.ActTallies._fields))
        studying = pp.status == P_STUDY  # before the pass: which settlers are graduates
        emig_p, returnees, settlers, women = kernels.act_return_die(
            kernels.PersonArrays.of(pp), Recorder.BAND_CODE, acts, rules, tallies)
        if rec:
            self._record_intentions(year, tallies.intending, tallies.adults)
        return SimpleNamespace(emig_p=emig_p, returnees=returnees, settlers=settlers,
                               graduates=studying[settlers],
                               women=women, best_slot=acts.best_slot,
                               death_cells=tallies.deaths)

    def _move_abroad(self, year: int, d: SimpleNamespace, moves: SimpleNamespace
                     ) -> np.ndarray | None:
        """Stage 6 (rest): destinations of emigrating households, members sent abroad.

        Records the year's departures and returns; returns the emigrants' tally (None
        when the year is not recorded).
        """
        hh, pp = self.households, self.persons
        n_h = hh.n
        choosers, choice, act, prob = d.choosers, d.choice, d.act, d.prob
        emig = act & (choice == EMIGRATE)
        emig_hh = choosers[emig]
        u_dest = uniform_at(self.seed, "destination", year, emig_hh)
        noncis_hh = np.zeros(n_h, dtype=bool)
        noncis_hh[emig_hh] = u_dest < prob.noncis[emig]
        emig_dest = noncis_hh[pp.hh[moves.emig_p]].astype(np.int8)
        hh.status[emig_hh] = HH_EMIGRATED
        hh.emigrated_year[emig_hh] = year  # contacts weigh it less as the years pass
        # the picked members go abroad (counted even if they died later in the year, as
        # they left before dying); a woman who left cannot give birth at home
        best_slot = moves.best_slot
        new_lab = best_slot[choosers[act & (choice == LABOUR)]]
        new_lab = new_lab[new_lab >= 0]
        new_stu = best_slot[choosers[act & (choice == STUDY)]]
        new_stu = new_stu[new_stu >= 0]
        status = pp.status
        for picked, code in ((new_lab, P_LABOUR), (new_stu, P_STUDY)):
            alive = picked[status[picked] == HOME]
            status[alive] = code
            pp.years_abroad[alive] = 0
        if not self._recording():
            return None
        # registered emigrants: whole households leaving for permanent residence, who
        # deregister (BNS's departures); settlers abroad never deregister and are recorded
        # apart, never compared with BNS departures
        by_dest = self.recorder.groups + [f"destination={d}" for d in DESTINATIONS]
        t_emig = self._tally(moves.emig_p)
        self.recorder.put(year, "new_emigrants",
                          np.r_[t_emig, np.bincount(emig_dest, minlength=2)], by_dest)
        self.recorder.put(year, "new_settlers_abroad",
                          np.r_[self._tally(moves.settlers),
                                self._settler_destinations(year, moves)], by_dest)
        self.recorder.put(year, "new_labour_migrants", self._tally(new_lab))
        self.recorder.put(year, "new_students_abroad", self._tally(new_stu))
        self.recorder.put(year, "new_returnees", self._tally(moves.returnees))
        return t_emig

    def _settler_destinations(self, year: int, moves: SimpleNamespace) -> np.ndarray:
        """Settlers abroad by destination (CIS, non-CIS).

        Labour migrants settle where they worked: the EAEU labour market (EEC figures), so
        the CIS. A graduate stays outside the CIS when the uniform of its slot in the stream
        ``settle.destination`` is below ``p_graduate_noncis`` (one draw per slot).
        """
        grads = moves.settlers[moves.graduates]
        u = uniform_at(self.seed, "settle.destination", year, grads)
        noncis = int(np.count_nonzero(u < np.float32(self.params["p_graduate_noncis"])))
        return np.array([len(moves.settlers) - noncis, noncis])

    def _record_year(self, year: int, t_emig: np.ndarray, births_t: np.ndarray,
                     deaths_t: np.ndarray, immigrants_t: np.ndarray,
                     abroad_cells: np.ndarray) -> None:
        """Stage 10: the year's flows and the stocks abroad on 31 December."""
        self.recorder.put(year, "births", births_t)
        self.recorder.put(year, "deaths", deaths_t)
        self.recorder.put(year, "new_immigrants", immigrants_t)
        self.recorder.put(year, "net_migration", immigrants_t - t_emig)
        self.recorder.put(year, "n_labour_abroad", self.recorder.tally_cells(abroad_cells[0]))
        self.recorder.put(year, "n_students_abroad", self.recorder.tally_cells(abroad_cells[1]))
        if self.interventions:
            self._record_interventions(year)

    def _record_interventions(self, year: int) -> None:
        """Households reached and cost of every intervention this year (0 outside its window).

        Group ``intervention=<name>``; the table scales both by the scale, so they are in
        real households and in the currency unit of ``cost_per_household``.
        """
        fx = self.effects
        groups = [f"intervention={iv.name}" for iv in self.interventions]
        reached = [fx.reached.get(iv.name, 0) if fx else 0 for iv in self.interventions]
        cost = [fx.cost.get(iv.name, 0.0) if fx else 0.0 for iv in self.interventions]
        self.recorder.put(year, "n_households_reached", np.array(reached, float), groups)
        self.recorder.put(year, "cost", np.array(cost, float), groups)

    def _record_intentions(self, year: int, yes: np.ndarray, every: np.ndarray) -> None:
        """Share of adults (18+) at home whose household intends to emigrate, by group.

        The survey question (CABAR 2019) is asked of adults; each adult at home carries
        the intention of the household. ``yes`` and ``every`` are the adults by group cell
        from :func:`model.core.kernels.act_return_die`. Every group but ``age=0-15`` (no
        adults) is reported.
        """
        num, tot = self.recorder.tally_cells(yes), self.recorder.tally_cells(every)
        share = np.divide(num, tot, out=np.zeros_like(num), where=tot > 0)
        keep = self._intention_groups
        self.recorder.put(year, "share_intending", share[keep],
                          [self.recorder.groups[i] for i in keep], share=True)

    def _demography(self, year: int, death_cells: np.ndarray, women: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Births, schooling, ageing, leaving home and new heads, after the year's deaths.

        ``death_cells`` are the year's deaths by group cell and ``women`` the slots of the
        surviving women at home with a positive fertility, in order (both from
        :func:`model.core.kernels.act_return_die`; those sent abroad since no longer count).
        Returns the tallies of births and deaths, and the persons abroad on 31 December by
        group cell (row 0 labour migrants, row 1 students; immigration adds nobody abroad).

        A person dies in the year in which their age reaches the age of death drawn when
        they entered the model (:mod:`model.core.lifetables`). Births: each woman at home
        with the probability of her region, ethnicity and age (:meth:`birth_levels`,
        :mod:`model.core.fertility`); natural increase is an output.
        """
        p = self.params
        hh, pp = self.households, self.persons
        n_p = pp.n
        fertility = self._ages.fertility
        deaths_t = self.recorder.tally_cells(death_cells)

        # births to women 15-49 at home
        mothers = kernels.births(women, kernels.PersonArrays.of(pp), fertility,
                                 self.birth_levels(year), stream_key(self.seed, "birth", year),
                                 float(p["birth_cap"]))

        # newborns (age 0 on 1 January of next year), boys with probability r / (r + 100)
        # for a sex ratio at birth of r boys to 100 girls (a Python float: compared with
        # the float32 uniforms in float32, as the literal 105 / 205 was)
        n_b = len(mothers)
        slots = np.arange(n_p, n_p + n_b)
        ratio = float(p["sex_ratio_birth"])
        sex = (kernels.uniforms(stream_key(self.seed, "sex", year), slots)
               >= ratio / (ratio + 100.0)
               ).astype(np.int8)
        # aged 0 in the next calendar year, in their mother's region
        dies_at = self._life.death_age(np.zeros(n_b, np.int64), sex, pp.region[mothers],
                                       year + 1,
                                       kernels.uniforms(stream_key(self.seed, "death_age", year),
                                                        slots))
        pp.append(hh=pp.hh[mothers], age=np.zeros(n_b, np.int16), sex=sex,
                  edu=np.zeros(n_b, np.int8), status=np.full(n_b, HOME, np.int8),
                  years_abroad=np.zeros(n_b, np.int8), region=pp.region[mothers],
                  ethnicity=pp.ethnicity[mothers], death_age=dies_at,
                  group_base=pp.group_base[mothers])
        births_t = self._tally(slots)

        # schooling and ageing of the living (not the newborns), young adults leaving home,
        # and new heads for households whose head died, left or went abroad (or their
        # dissolution), in one pass over the persons
        abroad_cells = np.zeros((2, Recorder.OUTSIDE + 1), dtype=np.int64)
        rules = kernels.AgeRules(key_education=stream_key(self.seed, "education", year),
                                 p_higher=np.float32(p["p_higher_completion"]),
                                 key_leave=stream_key(self.seed, "leave_home", year),
                                 p_leave=np.float32(p["p_leave_home"]), ages=self._move_ages)
        movers = kernels.age_and_move(n_p, kernels.PersonArrays.of(pp),
                                      kernels.HouseholdArrays.of(hh), rules, Recorder.BAND_CODE,
                                      abroad_cells)
        self._found_households(movers)
        # adults living alone (this year's leavers among them) form couples
        form_couples(hh, pp, PartnerRules(int(p["partner_min_age"]), int(p["partner_max_age"]),
                                          float(p["p_partner"])),
                     seed=self.seed, year=year, n_regions=_N_REGIONS)
        return births_t, deaths_t, abroad_cells

    def _found_households(self, movers: np.ndarray) -> None:
        """Each young adult who left home heads a household of its own in the same region.

        The new household inherits its parents' region, ethnicity, optimism, kin abroad and
        contacts, and so its contacts who emigrated before 2012 (``ties_before``).
        """
        if len(movers) == 0:
            return
        hh, pp = self.households, self.persons
        parent = pp.hh[movers]
        sl = hh.append(region=hh.region[parent], ethnicity=hh.ethnicity[parent],
                       optimism=hh.optimism[parent], diaspora=hh.diaspora[parent],
                       status=np.full(len(movers), RESIDENT, np.int8),
                       head=movers, contacts=hh.contacts[parent],
                       ties_before=hh.ties_before[parent])
        pp.hh[movers] = np.arange(sl.start, sl.stop)

    def _immigration(self, year: int) -> np.ndarray:
        """Arrivals from the exogenous series; returns their tally."""
        p = self.params
        hh, pp = self.households, self.persons
        rng = stream(self.seed, "immigration.count", year)
        base = p["immigrants_2012"] if year == 2012 else self.drivers.value("immigrants", year)
        expected = base * p["immigration_multiplier"] / self.scale
        n = int(expected) + int(rng.random() < expected - int(expected))
        first_person = pp.n
        if n > 0:
            # regions in proportion to population (assumption)
            weights = self.drivers.value("population_by_region", year)
            kazakh = float(p["immigrant_kazakh_share_2012" if year <= 2012
                             else "immigrant_kazakh_share"])
            per_region = rng.multinomial(n, weights / weights.sum())
            add_households(hh, pp, p, seed=self.seed, year=year, label="immigration",
                           region_persons=per_region,
                           ethnicity_shares=_immigrant_ethnicity(kazakh),
                           higher_share=float(p["immigrant_higher_share"]),
                           pools=self._contact_pools)
        return self._tally(np.arange(first_person, pp.n))

    def run_model(self) -> None:
        """Run to the scenario's end year, then record the population on 1 January after it.

        Safe to call after stepping by hand: the final population is recorded once.
        """
        while self.running:
            self.step()
        if not self._finished:
            self._census()
            self._finished = True

    def series(self) -> pd.DataFrame:
        """Return the run's results: ``year, metric, group, value`` in real persons."""
        return self.recorder.frame(self.scale)

