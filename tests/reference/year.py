"""A whole simulated year with one Python object per household and per person.

Written from the docstring of :meth:`model.simulation.EmigrationModel.step` and the rules
it names (the docstrings of :mod:`model.core.kernels`, :mod:`model.core.decisions`,
:mod:`model.core.demography`), as plain loops over :class:`Household` and :class:`Person`
objects, in the step's order, one stage after another (the model fuses several stages
into one compiled pass over the persons; here each stage is its own loop). It draws the
same named random numbers as the model: :func:`model.core.rng.uniform_at` for the draws
the model makes per slot in its compiled passes, and :func:`model.core.rng.stream` for the
streams the model draws in numpy (optimism, intention, realisation, immigration).

What it takes from the model rather than restating it, and why:

* the year's utility tables (:func:`model.core.decisions.utility_tables`) and the nested
  logit (:func:`model.core.decisions.nested_logit`): the per-household formulas are checked
  against ``tests/reference/household.py`` in ``tests/test_decisions.py``; here each
  household gathers its own terms and adds them in float32, and its choice, the members
  picked, returns, deaths, births and new homes follow from there, exactly;
* the life table (:func:`model.core.demography.death_age`), the fertility schedule and the
  synthesis of arriving households (:func:`model.core.population.add_households`, applied
  to tables written from the objects): data rules, tested in their own modules.

Counts are exact integers and float sums run in slot order, so the reference's state and
records must equal the model's bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from model import datasets
from model.core.decisions import (
    EMIGRATE,
    LABOUR,
    STUDY,
    Context,
    nested_logit,
    utility_tables,
)
from model.core.demography import fertility_shape
from model.core.lifetables import life_tables
from model.core.population import Households, Persons, add_households
from model.core.recorder import DESTINATIONS, Recorder
from model.core.rng import stream, uniform_at
from model.core.states import (
    DEAD,
    DISSOLVED,
    EMIGRATED,
    HH_EMIGRATED,
    HOME,
    RESIDENT,
)
from model.core.states import LABOUR as ABROAD_LABOUR
from model.core.states import STUDY as ABROAD_STUDY
from model.scenario import FIRST_YEAR
from model.simulation import _immigrant_ethnicity  # the arrivals' ethnic mix: a data table

F32 = np.float32
FERTILITY = fertility_shape(np.arange(121))
N_REGIONS = len(datasets.REGIONS)
N_ETH = len(datasets.ETHNIC_GROUPS)
GROUPS = Recorder().groups
REGION_GROUPS = slice(7, 7 + N_REGIONS)  # all, 3 age bands, 3 education levels, regions


@dataclass(eq=False)
class Person:
    slot: int
    household: Household
    age: int
    sex: int
    edu: int
    status: int
    years_abroad: int
    region: int
    ethnicity: int
    death_age: int
    intending: bool = False  # an adult's lasting intention to emigrate permanently

    def living_de_jure(self) -> bool:
        return self.status in (HOME, ABROAD_LABOUR, ABROAD_STUDY)

    def groups(self) -> list[int]:
        """Positions of this person's groups in the recorder's list."""
        band = 0 if self.age <= 15 else 1 if self.age <= 62 else 2
        return [0, 1 + band, 4 + self.edu, 7 + self.region, 7 + N_REGIONS + self.ethnicity]


@dataclass(eq=False)
class Household:
    slot: int
    region: int
    ethnicity: int
    optimism: np.float32
    diaspora: bool
    status: int
    head: Person | None
    contacts: list[int]
    emigrated_year: int = 0
    ties_before: np.float32 = F32(0.0)  # contacts who emigrated before 2012, 2012 weights


def tally(persons) -> np.ndarray:
    """Persons counted in every group of the recorder."""
    out = np.zeros(len(GROUPS))
    for q in persons:
        for g in q.groups():
            out[g] += 1
    return out


@dataclass
class World:
    """Every household and person of a run, in slot order, and what a year needs."""

    params: dict
    seed: int
    scale: float
    start: int
    households: list[Household] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    events: dict = field(default_factory=dict)
    birth_levels: object = None  # the model's EmigrationModel.birth_levels (an input)

    # ------------------------------------------------------------------ copying
    @classmethod
    def from_model(cls, model) -> World:
        w = cls(params=dict(model.params), seed=model.seed, scale=model.scale,
                start=model.sim_scenario.start)
        w._add_rows(model.households, model.persons, 0, 0)
        w.birth_levels = model.birth_levels  # fitted on the model's 2012 women: an input
        return w

    def _add_rows(self, hh: Households, pp: Persons, first_hh: int, first_p: int) -> None:
        for h in range(first_hh, hh.n):
            self.households.append(Household(
                slot=h, region=int(hh.region[h]), ethnicity=int(hh.ethnicity[h]),
                optimism=F32(hh.optimism[h]), diaspora=bool(hh.diaspora[h]),
                status=int(hh.status[h]), head=None,
                contacts=[int(c) for c in hh.contacts[h]],
                emigrated_year=int(hh.emigrated_year[h]),
                ties_before=F32(hh.ties_before[h])))
        for i in range(first_p, pp.n):
            self.persons.append(Person(
                slot=i, household=self.households[int(pp.hh[i])], age=int(pp.age[i]),
                sex=int(pp.sex[i]), edu=int(pp.edu[i]), status=int(pp.status[i]),
                years_abroad=int(pp.years_abroad[i]), region=int(pp.region[i]),
                ethnicity=int(pp.ethnicity[i]), death_age=int(pp.death_age[i]),
                intending=bool(pp.intending[i])))
        for h in range(first_hh, hh.n):
            self.households[h].head = self.persons[int(hh.head[h])]

    def to_tables(self) -> tuple[Households, Persons]:
        """The objects written as the model's tables."""
        k = len(self.households[0].contacts)
        hh, pp = Households(len(self.households), k=k), Persons(len(self.persons))
        H, P = self.households, self.persons
        hh.append(region=[h.region for h in H], ethnicity=[h.ethnicity for h in H],
                  optimism=[h.optimism for h in H], diaspora=[h.diaspora for h in H],
                  status=[h.status for h in H], head=[h.head.slot for h in H],
                  contacts=np.array([h.contacts for h in H]).reshape(len(H), k),
                  emigrated_year=[h.emigrated_year for h in H],
                  ties_before=[h.ties_before for h in H])
        pp.append(hh=[q.household.slot for q in P], age=[q.age for q in P],
                  sex=[q.sex for q in P], edu=[q.edu for q in P],
                  status=[q.status for q in P], years_abroad=[q.years_abroad for q in P],
                  region=[q.region for q in P], ethnicity=[q.ethnicity for q in P],
                  death_age=[q.death_age for q in P],
                  intending=[int(q.intending) for q in P],
                  group_base=Recorder.base(np.array([q.region for q in P]),
                                           np.array([q.ethnicity for q in P])))
        return hh, pp

    def members(self) -> dict[Household, list[Person]]:
        out: dict[Household, list[Person]] = {h: [] for h in self.households}
        for q in self.persons:
            out[q.household].append(q)
        return out

    def _u(self, name: str, year: int, slot: int) -> np.float32:
        return uniform_at(self.seed, name, year, np.array([slot]))[0]

    def _count(self, event: str, n: int = 1) -> None:
        self.events[event] = self.events.get(event, 0) + n

    # ------------------------------------------------------------------ the year
    def step(self, year: int) -> dict[str, dict[str, float]]:
        """Simulate ``year``; return its records ``{metric: {group: persons}}``."""
        p, seed = self.params, self.seed
        recording = year >= self.start
        records: dict[str, dict[str, float]] = {}

        def put(metric, values, groups=GROUPS):
            if recording:
                records[metric] = dict(zip(groups, (float(v) for v in values), strict=True))

        # 1. the population on 1 January: who is at home, ties abroad
        population = tally(q for q in self.persons if q.living_de_jure())
        put("population", population)
        members = self.members()
        at_home = {h: [q for q in ms if q.status == HOME] for h, ms in members.items()}
        abroad = [h.status == HH_EMIGRATED
                  or any(q.status in (ABROAD_LABOUR, ABROAD_STUDY) for q in members[h])
                  for h in self.households]

        # 2-3. drivers for the year (no interventions here)
        tab = utility_tables(p, Context.for_year(year, p))

        # 4. optimism: the national ladder plus a random walk, kept in [0, 1]
        shift = p["optimism_ladder_weight"] * (datasets.ladder(year) - datasets.ladder(year - 1))
        noise = stream(seed, "optimism", year).standard_normal(len(self.households),
                                                               dtype=np.float32)
        for h in self.households:
            step = noise[h.slot] * F32(p["optimism_sigma"]) + F32(shift / 10.0)
            h.optimism = F32(min(max(h.optimism + step, F32(0.0)), F32(1.0)))

        # 5. intentions of every resident household with somebody at home
        choosers = [h for h in self.households if h.status == RESIDENT and at_home[h]]
        # a contact abroad weighs 1; one that emigrated n years ago (1 - network_decay)^(n-1)
        tie = [F32((1.0 - p["network_decay"]) ** max(year - h.emigrated_year - 1, 0))
               if h.status == HH_EMIGRATED else F32(1.0) for h in self.households]
        # contacts who left before 2012 count ties_weight * (1 - network_decay)^(year - 2012)
        before = F32(p["ties_weight"] * (1.0 - p["network_decay"]) ** (year - 2012))
        v = np.array([self._utilities(h, at_home[h], abroad, tie, before, tab)
                      for h in choosers],
                     dtype=np.float32).reshape(len(choosers), 4).T.copy()
        prob = nested_logit(v[0], v[1], v[2], v[3], p["nest_scale"])
        u_int = stream(seed, "intention", year).random(len(self.households), dtype=np.float32)
        u_real = stream(seed, "realisation", year).random(len(self.households),
                                                          dtype=np.float32)
        # 5b. adults' lasting intentions: kept with p_intention_persist, else formed with
        # the household's probability of emigrating times intention_scale (at most 1) times
        # the age profile; in the first
        # year drawn from the stationary share f / (1 - persist + f)
        # (the household's probability of emigrating times intention_scale, at most 1)
        # the first year's stock formed at the rate of the years before 2012
        start = 1.0 + p["residual_intending_start"] if year == FIRST_YEAR else 1.0
        scale = F32(p["intention_scale"] * start)
        p_emig = {h: F32(min(prob.emigrate[j] * scale, F32(1.0))) for j, h in enumerate(choosers)}
        persist = F32(p["p_intention_persist"])
        for q in self.persons:
            if q.status != HOME or q.age < 18 or not p_emig.get(q.household, 0.0) > 0:
                continue
            u = self._u("intention.person", year, q.slot)
            z = (q.age - float(p["intention_age_peak"])) / float(p["intention_age_spread"])
            f = F32(p_emig[q.household] * F32(np.exp(-0.5 * z * z)))
            if year == FIRST_YEAR:
                q.intending = bool(u < F32(f / (F32(1.0) - persist + f)))
            elif q.intending:
                q.intending = bool(u < persist)
            else:
                q.intending = bool(u < f)
        rate = [F32(0.0), F32(0.0), F32(p["realise_labour"]), F32(p["realise_study"])]
        decided = {}  # household -> (choice, acts, position among the choosers)
        for j, h in enumerate(choosers):
            choice = _choose(prob.stay[j], prob.emigrate[j], prob.labour[j], prob.study[j],
                             u_int[h.slot])
            # 6. labour and study happen with probability realise_<choice>; emigration when
            # the head intends, the draw is emigration and the hazard's uniform is below
            # realise_emigrate
            acts = bool(u_real[h.slot] < rate[choice])
            if (choice == EMIGRATE and h.head.intending
                    and self._u("emigration.hazard", year, h.slot) < F32(p["realise_emigrate"])):
                acts = True
            decided[h] = (choice, acts, j)

        # 6-8 (persons): intentions counted, members picked, emigration, returns, deaths
        adults, intending = [], []
        best: dict[Household, tuple[np.float32, Person]] = {}
        emigrants, returnees, settlers, deaths, women = [], [], [], [], []
        graduates = set()  # slots of the settlers who stay after their studies
        for q in self.persons:
            if not q.living_de_jure():
                continue
            h = q.household
            if h in decided:
                choice, acts, _ = decided[h]
                if q.status == HOME:
                    if recording and q.age >= 18:
                        adults.append(q)
                        if q.intending:
                            intending.append(q)
                    if acts and _eligible(choice, q.age):
                        name = "member.labour" if choice == LABOUR else "member.study"
                        u = self._u(name, year, q.slot)
                        if h not in best or u >= best[h][0]:  # ties: the later slot
                            best[h] = (u, q)
                if acts and choice == EMIGRATE:
                    q.status = EMIGRATED  # the whole household, members abroad included
                    emigrants.append(q)
                    continue
            comes_back = False
            if q.status == ABROAD_LABOUR:  # 7. returns of those abroad since an earlier year
                u = self._u("abroad.labour", year, q.slot)
                if u < F32(p["p_return_labour"]):
                    comes_back = True
                elif u < F32(p["p_return_labour"] + p["p_settle_labour"]):
                    q.status = EMIGRATED
                    settlers.append(q)
                    continue
            elif q.status == ABROAD_STUDY:
                q.years_abroad += 1
                if q.years_abroad >= p["study_years"]:
                    q.edu = 2  # graduates hold the degree, whether they stay or return
                    u = self._u("abroad.study", year, q.slot)
                    if u < F32(p["p_stay_after_study"]):
                        q.status = EMIGRATED
                        settlers.append(q)
                        graduates.add(q.slot)
                        continue
                    if u < F32(p["p_wish_stay_study"]):
                        q.intending = True  # wished to stay: home, intending to emigrate
                    comes_back = True
            if comes_back:
                q.status, q.years_abroad = HOME, 0
                returnees.append(q)
            if q.age >= q.death_age:  # 8. deaths, at the age of death drawn on entry
                q.status = DEAD
                deaths.append(q)
                continue
            if q.status == HOME and q.sex == 1 and FERTILITY[q.age] > 0:
                women.append(q)
        if recording:
            num, tot = tally(intending), tally(adults)
            share = [n / t if t > 0 else 0.0 for n, t in zip(num, tot, strict=True)]
            keep = [i for i, g in enumerate(GROUPS) if g != "age=0-15"]
            put("share_intending", [share[i] for i in keep], [GROUPS[i] for i in keep])

        # 6 (households): destinations, emigrated households, the members sent abroad
        non_cis = {}
        for h, (choice, acts, j) in decided.items():
            if acts and choice == EMIGRATE:
                non_cis[h] = bool(self._u("destination", year, h.slot) < prob.noncis[j])
                h.status = HH_EMIGRATED
                h.emigrated_year = year
        sent = {LABOUR: [], STUDY: []}
        for h, (choice, acts, _) in decided.items():
            if acts and choice in sent and h in best:
                sent[choice].append(best[h][1])
        for q in sent[LABOUR] + sent[STUDY]:
            if q.status == HOME:  # one who died this year does not go, but is counted
                q.status = ABROAD_LABOUR if q in sent[LABOUR] else ABROAD_STUDY
                q.years_abroad = 0
        # registered emigrants are the emigrating households only; settlers abroad apart:
        # labour migrants in the CIS, graduates outside it with p_graduate_noncis
        t_emig = tally(emigrants)
        n_noncis = sum(non_cis[q.household] for q in emigrants)
        put("new_emigrants", list(t_emig) + [len(emigrants) - n_noncis, n_noncis],
            GROUPS + [f"destination={d}" for d in DESTINATIONS])
        grads_out = sum(1 for q in settlers if q.slot in graduates
                        and self._u("settle.destination", year, q.slot)
                        < F32(p["p_graduate_noncis"]))
        put("new_settlers_abroad", list(tally(settlers)) + [len(settlers) - grads_out,
                                                             grads_out],
            GROUPS + [f"destination={d}" for d in DESTINATIONS])
        put("new_labour_migrants", tally(sent[LABOUR]))
        put("new_students_abroad", tally(sent[STUDY]))
        put("new_returnees", tally(returnees))
        self._count("emigrating households", len(non_cis))
        self._count("sent abroad", len(sent[LABOUR]) + len(sent[STUDY]))
        self._count("returnees", len(returnees))
        self._count("settlers", len(settlers))
        self._count("deaths", len(deaths))

        # 8. births: the level of the woman's region and ethnicity (fitted by the model on
        # its 2012 women, an input here) times the fertility of her age
        deaths_t = tally(deaths)
        table = self.birth_levels(year)
        mothers = [q for q in women if q.status == HOME and self._u("birth", year, q.slot)
                   < F32(min(float(table[int(Recorder.base(np.array([q.region]),
                                                           np.array([q.ethnicity]))[0])])
                             * float(FERTILITY[q.age]), p["birth_cap"]))]
        n_aged = len(self.persons)
        slots = np.arange(n_aged, n_aged + len(mothers))
        ratio = float(p["sex_ratio_birth"])  # boys per 100 girls
        girl = uniform_at(seed, "sex", year, slots) >= ratio / (ratio + 100.0)
        # the cohort life table of the mother's region, age 0 in the next year
        dies_at = life_tables(p).death_age(
            np.zeros(len(slots), np.int64), girl.astype(np.int8),
            np.array([q.region for q in mothers], np.int64), year + 1,
            uniform_at(seed, "death_age", year, slots))
        for mother, slot, g, d in zip(mothers, slots, girl, dies_at, strict=True):
            self.persons.append(Person(
                slot=int(slot), household=mother.household, age=0, sex=int(g), edu=0,
                status=HOME, years_abroad=0, region=mother.region,
                ethnicity=mother.ethnicity, death_age=int(d)))
        newborns = self.persons[n_aged:]
        self._count("births", len(newborns))

        # 8. schooling and ageing of the living (not the newborns)
        households_without_head = [h for h in self.households
                                   if h.status == RESIDENT and h.head.status != HOME]
        for q in self.persons[:n_aged]:
            if q.living_de_jure():
                if q.age == 16:
                    q.edu = 1
                elif q.age == 22 and self._u("education", year, q.slot) < F32(
                        p["p_higher_completion"]):
                    q.edu = 2
                q.age += 1
        labour_abroad = [q for q in self.persons if q.status == ABROAD_LABOUR]
        students_abroad = [q for q in self.persons if q.status == ABROAD_STUDY]

        # 8. young adults leaving home: 21-35 at home, at least 16 years younger than the head
        leavers = []
        for q in self.persons:
            h = q.household
            if (q.status == HOME and 21 <= q.age <= 35 and h.status == RESIDENT
                    and h.head is not q and h.head.age - q.age >= 16
                    and self._u("leave_home", year, q.slot) < F32(p["p_leave_home"])):
                leavers.append(q)

        # 8. new heads: the oldest at home who stays, else the oldest living abroad
        members = self.members()
        for h in households_without_head:
            stay = [q for q in members[h] if q.living_de_jure() and q not in leavers]
            if stay:
                h.head = max(stay, key=lambda q: (q.status == HOME, q.age, q.slot))
            else:
                h.status = DISSOLVED
        self._count("new heads", sum(h.status == RESIDENT for h in households_without_head))
        self._count("dissolved", sum(h.status == DISSOLVED for h in households_without_head))
        for q in leavers:  # each heads a household of its own, like its parents'
            parent = q.household
            home = Household(slot=len(self.households), region=parent.region,
                             ethnicity=parent.ethnicity, optimism=parent.optimism,
                             diaspora=parent.diaspora, status=RESIDENT, head=q,
                             contacts=list(parent.contacts), ties_before=parent.ties_before)
            self.households.append(home)
            q.household = home
        self._count("leavers", len(leavers))

        # 8. partnering: heads at home aged 20-49 with no other living member of 20+ in a
        # resident household look for a partner with probability p_partner; in each
        # region and ethnic group the k-th youngest man pairs with the k-th youngest
        # woman; she and her household's living members join his household, hers is
        # dissolved
        lo, hi = int(p["partner_min_age"]), int(p["partner_max_age"])
        members = self.members()
        market: dict[tuple[int, int, int], list[Person]] = {}
        for h in self.households:
            q = h.head
            if (h.status == RESIDENT and q.status == HOME and lo <= q.age <= hi
                    and not any(o is not q and o.living_de_jure() and o.age >= lo
                                for o in members[h])
                    and self._u("partner", year, q.slot) < F32(p["p_partner"])):
                market.setdefault((h.region, q.ethnicity, q.sex), []).append(q)
        couples = 0
        for r, e in [(r, e) for r in range(N_REGIONS) for e in range(N_ETH)]:
            men = sorted(market.get((r, e, 0), []), key=lambda q: (q.age, q.slot))
            women = sorted(market.get((r, e, 1), []), key=lambda q: (q.age, q.slot))
            for man, woman in zip(men, women, strict=False):
                hers, his = woman.household, man.household
                for o in members[hers]:
                    if o.living_de_jure():
                        o.household = his
                hers.status = DISSOLVED
                couples += 1
        self._count("couples", couples)

        # 9. immigration: arriving households from the exogenous series
        rng = stream(seed, "immigration.count", year)
        expected = datasets.immigrants(year) * p["immigration_multiplier"] / self.scale
        n = int(expected) + int(rng.random() < expected - int(expected))
        first_hh, first_p = len(self.households), len(self.persons)
        if n > 0:
            weights = datasets.population_by_region(min(year, 2019))
            per_region = rng.multinomial(n, weights / weights.sum())
            hh, pp = self.to_tables()
            add_households(hh, pp, p, seed=seed, year=year, label="immigration",
                           region_persons=per_region,
                           ethnicity_shares=_immigrant_ethnicity(float(
                               p["immigrant_kazakh_share_2012" if year <= 2012
                                 else "immigrant_kazakh_share"])),
                           higher_share=float(p["immigrant_higher_share"]))
            self._add_rows(hh, pp, first_hh, first_p)
        immigrants_t = tally(self.persons[first_p:])
        self._count("immigrants", len(self.persons) - first_p)

        # 10. the year's flows and the stocks abroad on 31 December
        put("births", tally(newborns))
        put("deaths", deaths_t)
        put("new_immigrants", immigrants_t)
        put("net_migration", immigrants_t - t_emig)
        put("n_labour_abroad", tally(labour_abroad))
        put("n_students_abroad", tally(students_abroad))
        return records

    def _utilities(self, h: Household, home: list[Person], abroad: list[bool],
                   tie: list[np.float32], before: np.float32, tab) -> list[np.float32]:
        """Utilities of CIS, non-CIS, labour and study: the household's terms, in float32."""
        head = h.head
        cell = (h.region * N_ETH + h.ethnicity) * 2 + int(h.diaspora)
        hidx = min(head.age, 120) * 2 + int(head.edu == 2)
        count = F32(0.0)
        for c in h.contacts:
            if abroad[c]:
                count = F32(count + tie[c])
        count = F32(count + F32(h.ties_before * before))
        share = min(F32(count / F32(len(h.contacts))), F32(1.0))
        opt = h.optimism - F32(0.5)
        b = tab.coef
        emigrate = (tab.head.emigrate[hidx] + tab.family[min(len(home), 40)]
                    + b.b_optimism_emigrate * opt + b.b_network_emigrate * share)
        if any(q.age < 16 for q in home):
            emigrate += b.b_children_emigrate
        labour = (tab.cell.labour[cell] + tab.head.labour[hidx] + b.b_optimism_labour * opt
                  + b.b_network_labour * share)
        study = (tab.cell.study[cell] + tab.head.study[hidx] + b.b_optimism_study * opt
                 + b.b_network_study * share)
        # labour needs a member aged 18-62 at home, study one aged 16-24
        if not any(_eligible(LABOUR, q.age) for q in home):
            labour = F32(-np.inf)
        if not any(_eligible(STUDY, q.age) for q in home):
            study = F32(-np.inf)
        return [tab.cell.cis[cell] + emigrate, tab.cell.noncis[cell] + emigrate, labour, study]


def _eligible(choice: int, age: int) -> bool:
    """Who may be sent abroad: 18-62 for work, 16-24 to study."""
    if choice == LABOUR:
        return 18 <= age <= 62
    return choice == STUDY and 16 <= age <= 24


def _choose(stay, emigrate, labour, study, u) -> int:
    """The alternative whose share of [0, 1) holds ``u`` (stay, emigrate, labour, study).

    Float32 shares may sum to a little less than 1: the rest goes to the last alternative
    with a positive probability.
    """
    c1 = stay
    c2 = c1 + emigrate
    c3 = c2 + labour
    if study == 0:
        c3 = F32(1.0)
        if labour == 0:
            c2 = F32(1.0)
            if emigrate == 0:
                c1 = F32(1.0)
    return int(u >= c1) + int(u >= c2) + int(u >= c3)
