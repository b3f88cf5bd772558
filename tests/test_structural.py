"""The structural constants: reachable through the registry, overridable, and wired in.

Each test of the second part changes one group of constants and checks the effect that
constant must have (a hand-derivable property of the state), at a small scale.
"""

from __future__ import annotations

import numpy as np
import pytest

from model import simulation
from model.core import kernels
from model.core.demography import Mortality, death_age, death_probability
from model.core.population import LABOUR, STUDY, synthesize
from model.params import REGISTRY, by_role, defaults
from model.scenario import Scenario, ScenarioError, load_scenario
from model.simulation import EmigrationModel
from tests.reference.oracles import birth_probability

STRUCTURAL = by_role("structural")
SCALE = 2000


@pytest.mark.parametrize("p", STRUCTURAL, ids=lambda p: p.name)
def test_structural_parameter_is_overridable_in_a_scenario_file(tmp_path, p):
    lo, hi = p.bounds
    value = hi
    text = f"[params]\n{p.name} = {value!r}\n"
    (tmp_path / "s.toml").write_text(text)
    s = load_scenario(tmp_path / "s.toml")
    assert s.params[p.name] == value and type(s.params[p.name]) is type(p.default)
    assert s.overrides == {p.name: value}
    step = 1 if p.kind != "float" else (hi - lo) * 0.5
    (tmp_path / "bad.toml").write_text(f"[params]\n{p.name} = {hi + step!r}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "bad.toml")
    assert f"key 'params.{p.name}'" in str(info.value) and "out of bounds" in str(info.value)


def test_manifest_params_include_the_structural_ones():
    resolved = Scenario().resolved()["params"]
    assert {p.name for p in STRUCTURAL} <= set(resolved)
    assert resolved["sex_ratio_birth"] == 105.0


def one_year(**overrides) -> EmigrationModel:
    m = EmigrationModel(Scenario(scale=SCALE, end=2012, params=defaults() | overrides), seed=3)
    m.step()
    return m


# --- population of 2012 ----------------------------------------------------------------

def test_population_constants_shape_the_synthetic_population():
    base_hh, base_pp = synthesize(defaults(), scale=SCALE, seed=5)
    p = defaults() | {"max_household_size": 6, "head_min_age": 30, "abroad_student_min_age": 21,
                      "mortality_level": 1.5}
    hh, pp = synthesize(p, scale=SCALE, seed=5)
    base_sizes = np.bincount(base_pp.hh, minlength=base_hh.n)
    assert base_sizes.max() > 6
    assert np.bincount(pp.hh, minlength=hh.n).max() <= 6
    assert base_pp.age[base_hh.head].min() == 20 and pp.age[hh.head].min() >= 30
    students = pp.age[pp.status == STUDY]
    assert len(students) and students.min() >= 21 and students.max() <= 24
    # higher mortality at the same 2012 deaths (BNS): fewer of the very old
    assert (pp.age >= 85).sum() < (base_pp.age >= 85).sum()


# --- who may go abroad ----------------------------------------------------------------------

def test_work_and_study_ages_limit_who_goes_abroad():
    m = one_year(work_age_max=40, study_age_min=18, study_age_max=20, realise_labour=0.8,
                 realise_study=0.8)
    pp = m.persons
    labour = pp.age[pp.status == LABOUR]  # placed in 2012 or sent this year, then aged
    students = pp.age[(pp.status == STUDY) & (pp.years_abroad == 0)]  # sent this year
    assert len(labour) and labour.max() <= 41
    assert len(students) and students.min() >= 19 and students.max() <= 21


# --- demography -----------------------------------------------------------------------------

def test_mortality_schedule_constants():
    d = defaults()
    q = death_probability(np.array([0, 50, 50]), np.array([0, 0, 1]), Mortality.from_params(d))
    # hand-computed Gompertz: men 2.43 * 5e-5 * exp(4.5), women without the 2.43
    assert float(q[1]) == pytest.approx(2.43 * 5e-5 * np.exp(0.09 * 50), rel=1e-6)
    assert float(q[1] / q[2]) == pytest.approx(2.43, rel=1e-6)
    assert float(q[0]) == pytest.approx(2.43 * 5e-5 + 0.01, rel=1e-6)
    worse = Mortality.from_params(d | {"gompertz_a": 1e-4, "infant_mortality": 0.0,
                                       "male_mortality_excess": 1.0})
    q2 = death_probability(np.array([0, 50, 50]), np.array([0, 0, 1]), worse)
    assert float(q2[1]) == pytest.approx(2 * float(q[2]), rel=1e-6)
    assert float(q2[0]) == pytest.approx(1e-4, rel=1e-6)
    u = np.random.default_rng(0).random(2000)
    ages = np.full(2000, 40)
    assert death_age(ages, np.ones(2000, np.int64), u, worse).mean() < \
        death_age(ages, np.ones(2000, np.int64), u, Mortality.from_params(d)).mean()


def test_sex_ratio_fertility_ages_and_birth_cap_drive_births(monkeypatch):
    def newborns(m):
        born = np.arange(m.n_persons_start, m.persons.n)
        born = born[m.persons.age[born] == 0]
        return m.persons.sex[born]

    # the sex ratio also splits the synthetic 2012 cohorts: keep the default population so
    # that only the newborns' draw differs
    real = simulation.population
    monkeypatch.setattr(simulation, "population",
                        lambda params, *, scale, seed: real(defaults(), scale=scale, seed=seed))
    boys = newborns(one_year(sex_ratio_birth=112.0))
    girls_more = newborns(one_year(sex_ratio_birth=100.0))
    # same mothers and uniforms, a higher threshold for girls: more boys
    assert len(boys) == len(girls_more) > 0
    assert (boys == 0).sum() > (girls_more == 0).sum()
    # the fertile ages set the fertility schedule the births are drawn from
    m = one_year(fertile_age_min=20, fertile_age_max=40, fertility_peak_age=30)
    f = m._ages.fertility
    assert f[19] == 0 and f[20] > 0 and f[30] == 1.0 and f[40] > 0 and f[41] == 0


def test_birth_cap_bounds_a_womans_probability():
    # two women at home in a region whose level asks for certain births (level 10)
    women = np.array([0, 1])
    pp = kernels.PersonArrays.zeros(2, age=[27, 27])
    fert, level = np.ones(121, np.float32), np.array([10.0])
    assert kernels.births(women, pp, fert, level, np.uint64(1), 1.0).tolist() == [0, 1]
    assert kernels.births(women, pp, fert, level, np.uint64(1), 0.0).tolist() == []
    p = birth_probability(np.array([10.0]), np.zeros(2, np.int64), np.ones(2), 1, cap=0.7)
    assert p.tolist() == pytest.approx([0.7, 0.7])


def test_schooling_and_leaving_home_ages():
    m = one_year(secondary_age=17, leave_home_min_age=30, leave_home_max_age=34,
                 p_leave_home=0.5)
    pp, hh = m.persons, m.households
    old = np.arange(m.n_persons_start)  # not the year's immigrants or newborns
    alive = old[pp.status[old] <= STUDY]
    # at 17 (before ageing) a person reaches secondary: those now 17 are still basic
    assert (pp.edu[alive[pp.age[alive] == 17]] == 0).all()
    assert (pp.edu[alive[pp.age[alive] == 18]] >= 1).all()
    # households founded this year by young adults: heads aged 30-34 before ageing
    new = np.arange(m.n_households_start, hh.n)
    founded = new[hh.head[new] < m.n_persons_start]
    assert len(founded) > 0
    assert pp.age[hh.head[founded]].min() >= 31 and pp.age[hh.head[founded]].max() <= 35


# --- immigration ----------------------------------------------------------------------------

def test_immigration_constants():
    def immigrants(m, group):
        s = m.series()
        row = s[(s.metric == "new_immigrants") & (s.group == group) & (s.year == 2012)]
        return float(row["value"].iloc[0])

    base = one_year()
    fewer = one_year(immigrants_2012=REGISTRY["immigrants_2012"].bounds[0])
    assert immigrants(fewer, "all") < immigrants(base, "all")
    kazakh = one_year(immigrant_kazakh_share_2012=1.0)
    assert immigrants(kazakh, "ethnicity=Kazakh") == immigrants(kazakh, "all") > 0
    assert immigrants(base, "ethnicity=Kazakh") < immigrants(base, "all")
    none_higher = one_year(immigrant_higher_share=0.0)
    all_higher = one_year(immigrant_higher_share=1.0)
    assert immigrants(none_higher, "edu=higher") == 0.0
    assert immigrants(all_higher, "edu=higher") > immigrants(base, "edu=higher")
