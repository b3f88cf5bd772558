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

import mesa
import numpy as np
import pandas as pd

from model import datasets
from model.decisions import (
    EMIGRATE,
    LABOUR,
    STUDY,
    Choosers,
    Context,
    Utilities,
    choose,
    nested_logit,
    utilities,
)
from model.demography import birth_probability, death_probability, fertility_shape, reassign_heads
from model.network import share_abroad
from model.population import (
    DEAD,
    EMIGRATED,
    HH_EMIGRATED,
    HOME,
    RESIDENT,
    add_households,
    synthesize,
)
from model.population import LABOUR as P_LABOUR
from model.population import STUDY as P_STUDY
from model.recorder import DESTINATIONS, Recorder
from model.rng import stream, uniform_at
from model.scenario import FIRST_YEAR, Scenario

__all__ = ["EmigrationModel"]

_N_REGIONS = len(datasets.REGIONS)
_AGES = np.arange(121)
# weight of a member by age in the packed household count: 1 + 256 [child]
# + 65536 [18-62] + 16777216 [16-24]
_FERTILITY = fertility_shape(_AGES)
_PACK = (1.0 + 256.0 * (_AGES < 16) + 65536.0 * ((_AGES >= 18) & (_AGES <= 62))
         + 16777216.0 * ((_AGES >= 16) & (_AGES <= 24)))
_KAZAKH = datasets.ETHNIC_GROUPS.index("Kazakh")


def _pick_one(owner: np.ndarray, candidates: np.ndarray, key: np.ndarray) -> np.ndarray:
    """One candidate per household: the one with the largest key (owner, key per candidate)."""
    if len(candidates) == 0:
        return candidates
    order = np.lexsort((key, owner))
    own = owner[order]
    last = np.r_[own[1:] != own[:-1], True]
    return candidates[order[last]]


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
    households, persons : Households, Persons
        The array state.
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
        self.scenario = scenario or Scenario()
        self.seed = int(seed)
        self.params = dict(self.scenario.params)
        self.scale = float(self.scenario.scale)
        self.year = FIRST_YEAR
        self.households, self.persons = synthesize(self.params, scale=self.scale, seed=self.seed)
        self.n_households_start = int(self.households.n)
        self.n_persons_start = int(self.persons.n)
        self.recorder = Recorder()
        self.extra_utility: Utilities | None = None  # seam for policy interventions
        self.interventions: list = []
        self.running = True

    # ------------------------------------------------------------------ helpers
    def _person_groups(self, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        pp = self.persons
        return pp.age[idx], pp.edu[idx], pp.region[idx], pp.ethnicity[idx]

    def _tally(self, idx: np.ndarray) -> np.ndarray:
        return self.recorder.tally(*self._person_groups(idx))

    def _recording(self) -> bool:
        return self.year >= self.scenario.start

    def _record_population(self) -> None:
        if self._recording():
            alive = np.flatnonzero(self.persons.status <= P_STUDY)
            self.recorder.put(self.year, "population", self._tally(alive))

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """Simulate one calendar year.

        The step order, the one place it is written down:

        1. record the population on 1 January (resident persons plus labour migrants and
           students abroad, as BNS counts the de jure population);
        2. drivers for the year: income gaps by region and destination, the compatriot
           programme and EAEU flags (:class:`model.decisions.Context`);
        3. interventions adjust the context or add utility shifts (``apply(model, year)``);
        4. optimism moves with the national Cantril ladder plus a random walk;
        5. intentions: every resident household draws its preferred alternative from the
           nested logit; ``share_intending`` is the share of adults (18+) at home whose
           household intends to emigrate for good (the survey question of CABAR 2019);
        6. realisation: an intending household acts with probability ``realise_<choice>``:
           emigration takes the whole household (members abroad included) to a CIS or
           non-CIS destination; labour and study send one eligible member abroad;
        7. returns: labour migrants abroad since an earlier year return or settle abroad;
           students who finished ``study_years`` return or stay (settling counts as
           emigration);
        8. demography: deaths, births, schooling, ageing, new heads, young adults leaving
           home;
        9. immigration: arriving households from the exogenous series;
        10. record the year's flows and the stocks abroad on 31 December.
        """
        year = self.year
        p = self.params
        hh, pp = self.households, self.persons
        rec = self._recording()
        self._record_population()

        ctx = Context.for_year(year, p)
        self.extra_utility = None
        for intervention in self.interventions:
            intervention.apply(self, year)

        # 4. optimism
        n_h = hh.n
        shift = p["optimism_ladder_weight"] * (datasets.ladder(year) - datasets.ladder(year - 1))
        noise = stream(self.seed, "optimism", year).standard_normal(n_h, dtype=np.float32)
        opt = hh.optimism
        opt += np.float32(shift / 10.0) + np.float32(p["optimism_sigma"]) * noise
        np.clip(opt, 0.0, 1.0, out=opt)

        # household composition from persons at home
        status = pp.status
        at_home = status == HOME
        abroad_start = (status == P_LABOUR) | (status == P_STUDY)
        age = pp.age
        owner = pp.hh
        home_idx = np.flatnonzero(at_home)
        home_owner = owner[home_idx]
        home_age = age[home_idx]
        work_ok = (home_age >= 18) & (home_age <= 62)
        study_ok = (home_age >= 16) & (home_age <= 24)
        # one pass: members, children, workers and students packed in base-256 digits
        packed = np.bincount(home_owner, _PACK[np.minimum(home_age, _PACK.size - 1)],
                             minlength=n_h).astype(np.int64)
        members = packed & 255
        children = (packed >> 8) & 255 > 0
        can_labour = (packed >> 16) & 255 > 0
        can_study = (packed >> 24) & 255 > 0
        abroad_hh = hh.status == HH_EMIGRATED
        abroad_hh[owner[abroad_start]] = True

        # 5. intentions
        choosers = np.flatnonzero((hh.status == RESIDENT) & (members > 0))
        head = hh.head[choosers]
        ch = Choosers(region=hh.region[choosers], ethnicity=hh.ethnicity[choosers],
                      head_age=age[head], head_higher=pp.edu[head] == 2,
                      optimism=hh.optimism[choosers],
                      share_abroad=share_abroad(hh.contacts[choosers], abroad_hh),
                      diaspora=hh.diaspora[choosers], members=members[choosers],
                      children=children[choosers], can_labour=can_labour[choosers],
                      can_study=can_study[choosers])
        extra = self.extra_utility
        if extra is not None:
            extra = Utilities(*(np.asarray(a)[choosers] if np.ndim(a) else a for a in
                                (extra.cis, extra.noncis, extra.labour, extra.study)))
        prob = nested_logit(*vars(utilities(p, ctx, ch, extra)).values(), p["nest_scale"])
        u_int = stream(self.seed, "intention", year).random(n_h, dtype=np.float32)
        intent = np.zeros(n_h, dtype=np.int8)
        intent[choosers] = choose(prob, u_int[choosers])
        if rec:
            adults = home_idx[home_age >= 18]
            num = self._tally(adults[intent[owner[adults]] == EMIGRATE])
            den = self._tally(adults)
            self.recorder.put(year, "share_intending",
                              np.divide(num, den, out=np.zeros_like(num), where=den > 0),
                              share=True)

        # 6. realisation
        u_real = stream(self.seed, "realisation", year).random(n_h, dtype=np.float32)
        rate = np.array([0.0, p["realise_emigrate"], p["realise_labour"], p["realise_study"]],
                        dtype=np.float32)
        act = u_real < rate[intent]
        emig_hh = np.flatnonzero(act & (intent == EMIGRATE))
        p_noncis = np.zeros(n_h, dtype=np.float32)
        p_noncis[choosers] = prob.noncis
        u_dest = stream(self.seed, "destination", year).random(n_h, dtype=np.float32)
        noncis_hh = u_dest < p_noncis
        # labour and study: one eligible member at home, chosen by a per-person key
        labour_hh = np.zeros(n_h, dtype=bool)
        labour_hh[np.flatnonzero(act & (intent == LABOUR))] = True
        study_hh = np.zeros(n_h, dtype=bool)
        study_hh[np.flatnonzero(act & (intent == STUDY))] = True
        cand_lab = home_idx[work_ok & labour_hh[home_owner]]
        cand_stu = home_idx[study_ok & study_hh[home_owner]]
        new_lab = _pick_one(owner[cand_lab], cand_lab,
                            uniform_at(self.seed, "member.labour", year, cand_lab))
        new_stu = _pick_one(owner[cand_stu], cand_stu,
                            uniform_at(self.seed, "member.study", year, cand_stu))
        status[new_lab] = P_LABOUR
        status[new_stu] = P_STUDY
        pp.years_abroad[new_lab] = 0
        pp.years_abroad[new_stu] = 0
        # whole-household emigration: every living de jure member leaves
        leaving_hh = np.zeros(n_h, dtype=bool)
        leaving_hh[emig_hh] = True
        emig_p = np.flatnonzero(leaving_hh[owner] & (status <= P_STUDY))
        emig_dest = noncis_hh[owner[emig_p]].astype(np.int8)
        status[emig_p] = EMIGRATED
        hh.status[emig_hh] = HH_EMIGRATED

        # 7. returns and settlement of those abroad since an earlier year
        lab_idx = np.flatnonzero(abroad_start & (status == P_LABOUR))
        u_l = uniform_at(self.seed, "abroad.labour", year, lab_idx)
        lab_return = lab_idx[u_l < p["p_return_labour"]]
        lab_settle = lab_idx[(u_l >= p["p_return_labour"])
                             & (u_l < p["p_return_labour"] + p["p_settle_labour"])]
        stu_idx = np.flatnonzero(abroad_start & (status == P_STUDY))
        pp.years_abroad[stu_idx] += 1
        grads = stu_idx[pp.years_abroad[stu_idx] >= p["study_years"]]
        stays = uniform_at(self.seed, "abroad.study", year, grads) < p["p_stay_after_study"]
        stu_settle, stu_return = grads[stays], grads[~stays]
        returnees = np.concatenate([lab_return, stu_return])
        status[returnees] = HOME
        pp.years_abroad[returnees] = 0
        settlers = np.concatenate([lab_settle, stu_settle])
        status[settlers] = EMIGRATED
        lab_stay = lab_idx[status[lab_idx] == P_LABOUR]
        pp.years_abroad[lab_stay] = np.minimum(pp.years_abroad[lab_stay] + 1, 100)

        if rec:
            emigrants = np.concatenate([emig_p, settlers])
            # settlers stay where they went to work or study: Russia (CIS), an assumption
            dest = np.concatenate([emig_dest, np.zeros(len(settlers), np.int8)])
            t_emig = self._tally(emigrants)
            self.recorder.put(year, "new_emigrants",
                              np.r_[t_emig, np.bincount(dest, minlength=2)],
                              self.recorder.groups + [f"destination={d}" for d in DESTINATIONS])
            self.recorder.put(year, "new_labour_migrants", self._tally(new_lab))
            self.recorder.put(year, "new_students_abroad", self._tally(new_stu))
            self.recorder.put(year, "new_returnees", self._tally(returnees))

        # 8. demography
        births_t, deaths_t = self._demography(year)

        # 9. immigration
        immigrants_t = self._immigration(year)

        if rec:
            self.recorder.put(year, "births", births_t)
            self.recorder.put(year, "deaths", deaths_t)
            self.recorder.put(year, "new_immigrants", immigrants_t)
            self.recorder.put(year, "net_migration", immigrants_t - t_emig)
            status = pp.status
            self.recorder.put(year, "n_labour_abroad",
                              self._tally(np.flatnonzero(status == P_LABOUR)))
            self.recorder.put(year, "n_students_abroad",
                              self._tally(np.flatnonzero(status == P_STUDY)))
        self.year += 1
        if self.year > self.scenario.end:
            self.running = False

    def _demography(self, year: int) -> tuple[np.ndarray, np.ndarray]:
        """Deaths, births, schooling, ageing, heads and leaving home; returns tallies.

        One uniform per person decides both death (``u < q``) and, for women at home,
        birth (``q <= u < q + p_birth``): the events are exclusive within the year.
        """
        p = self.params
        hh, pp = self.households, self.persons
        n_p = pp.n
        status = pp.status
        age, sex, region = pp.age, pp.sex, pp.region
        alive = status <= P_STUDY
        sexage = sex.astype(np.int16) * 121 + np.minimum(age, 120)
        q_table = np.concatenate([death_probability(_AGES, np.zeros(121), p["mortality_level"]),
                                  death_probability(_AGES, np.ones(121), p["mortality_level"]),
                                  np.zeros(1, np.float32)])
        sexage[~alive] = 242  # the dead and emigrated: q = 0
        q = q_table[sexage]
        u = stream(self.seed, "vital", year).random(n_p, dtype=np.float32)
        dies = np.flatnonzero(u < q)
        # births: expected births per region = natural increase + expected deaths
        cells = np.bincount(region.astype(np.int32) * 243 + sexage,
                            minlength=243 * _N_REGIONS).reshape(_N_REGIONS, 243)
        expected_deaths = cells @ q_table.astype(np.float64)
        pop_r = cells[:, :242].sum(axis=1)
        target = datasets.natural_increase_rate(year) * pop_r + expected_deaths
        fertile = np.flatnonzero((sexage >= 121 + 15) & (sexage <= 121 + 49) & (status == HOME))
        shape = _FERTILITY[age[fertile]]
        p_birth = birth_probability(target, region[fertile], shape, _N_REGIONS)
        u_f = u[fertile]
        q_f = q[fertile]
        mothers = fertile[(u_f >= q_f) & (u_f < q_f + p_birth)]
        deaths_t = self._tally(dies)
        status[dies] = DEAD

        # schooling and ageing of the living
        pp.edu[np.flatnonzero(alive & (age == 16))] = 1
        at22 = np.flatnonzero(alive & (age == 22))
        grad = at22[uniform_at(self.seed, "education", year, at22) < p["p_higher_completion"]]
        pp.edu[grad] = 2
        live = alive & (status <= P_STUDY)
        age += live
        np.minimum(age, 120, out=age)

        # newborns (age 0 on 1 January of next year; sex ratio at birth 105 boys : 100 girls)
        n_b = len(mothers)
        u_sex = uniform_at(self.seed, "sex", year, np.arange(n_p, n_p + n_b))
        pp.append(hh=pp.hh[mothers], age=np.zeros(n_b, np.int16),
                  sex=(u_sex >= 105 / 205).astype(np.int8), edu=np.zeros(n_b, np.int8),
                  status=np.full(n_b, HOME, np.int8), years_abroad=np.zeros(n_b, np.int8),
                  region=pp.region[mothers], ethnicity=pp.ethnicity[mothers])
        births_t = self._tally(np.arange(pp.n - n_b, pp.n))

        # young adults leave home and head new households
        self._leave_home(year)
        # households whose head died or left get a new head, or are dissolved
        head_gone = pp.status[hh.head] != HOME
        affected = np.flatnonzero(head_gone & (hh.status == RESIDENT))
        reassign_heads(hh, pp, affected)
        return births_t, deaths_t

    def _leave_home(self, year: int) -> None:
        p = self.params
        hh, pp = self.households, self.persons
        cand = np.flatnonzero((pp.age >= 20) & (pp.age <= 34) & (pp.status == HOME))
        owner = pp.hh[cand]
        head = hh.head[owner]
        child = ((head != cand) & (pp.age[head] - pp.age[cand] >= 16)
                 & (hh.status[owner] == RESIDENT))
        cand = cand[child]
        movers = cand[uniform_at(self.seed, "leave_home", year, cand) < p["p_leave_home"]]
        if len(movers) == 0:
            return
        parent = pp.hh[movers]
        sl = hh.append(region=hh.region[parent], ethnicity=hh.ethnicity[parent],
                       optimism=hh.optimism[parent], diaspora=hh.diaspora[parent],
                       status=np.full(len(movers), RESIDENT, np.int8),
                       head=movers.astype(np.int32), contacts=hh.contacts[parent])
        pp.hh[movers] = np.arange(sl.start, sl.stop, dtype=np.int32)

    def _immigration(self, year: int) -> np.ndarray:
        """Arrivals from the exogenous series; returns their tally."""
        p = self.params
        hh, pp = self.households, self.persons
        rng = stream(self.seed, "immigration.count", year)
        expected = datasets.immigrants(year) * p["immigration_multiplier"] / self.scale
        n = int(expected) + int(rng.random() < expected - int(expected))
        if n == 0:
            return self._tally(np.zeros(0, dtype=np.int64))
        # regions in proportion to population (assumption); Kazakh share from BNS Jan-Jul
        # 2012/2013 (69.0%, 62.3%), the later year held; others as the national non-Kazakhs
        weights = datasets.population_by_region(min(year, 2019))
        per_region = rng.multinomial(n, weights / weights.sum())
        kazakh = 0.69 if year <= 2012 else 0.623
        nat = datasets.ethnicity_by_region().T @ datasets.population_by_region(2012)
        others = nat.copy()
        others[_KAZAKH] = 0.0
        shares = others / others.sum() * (1 - kazakh)
        shares[_KAZAKH] = kazakh
        first_person = pp.n
        add_households(hh, pp, p, seed=self.seed, year=year, label="immigration",
                       region_persons=per_region,
                       ethnicity_shares=np.tile(shares, (_N_REGIONS, 1)),
                       higher_share=0.175)
        return self._tally(np.arange(first_person, pp.n))

    def run_model(self) -> None:
        """Run from 2012 to the scenario's end year, then record the final population."""
        while self.running:
            self.step()
        self._record_population()

    def series(self) -> pd.DataFrame:
        """Return the run's results: ``year, metric, group, value`` in real persons."""
        return self.recorder.frame(self.scale)

