"""Experiment files: loading, resolution and one-line validation errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from model.analysis.experiment import (
    Experiment,
    Outcome,
    VariedParam,
    load_experiment,
    shipped_experiments_dir,
)
from model.params import REGISTRY
from model.scenario import Scenario, ScenarioError

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
method = "sobol"
n = 8
replicates = 2
seed = 3
[run]
end = 2016
scale = 500
[parameters]
b_compatriot = {}
realise_emigrate = { bounds = [0.005, 0.03] }
[[outcomes]]
name = "cum"
metric = "new_emigrants"
years = [2012, 2016]
[[outcomes]]
name = "e16"
metric = "new_emigrants"
group = "ethnicity=Russian"
year = 2016
[[outcomes]]
name = "by_year"
metric = "net_migration"
per_year = true
"""


def write(folder: Path, text: str, name: str = "exp.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_good_file_resolves_everything(tmp_path):
    exp = load_experiment(write(tmp_path, GOOD))
    assert exp.name == "exp" and exp.method == "sobol" and exp.sampling == "sobol"
    assert (exp.n, exp.replicates, exp.seed) == (8, 2, 3)
    # Default scenario: the baseline, with the experiment's [run] overrides applied.
    assert exp.scenario.name == "baseline"
    assert (exp.scenario.start, exp.scenario.end, exp.scenario.scale) == (2012, 2016, 500.0)
    assert exp.problem == {"num_vars": 2, "names": ["b_compatriot", "realise_emigrate"],
                           "bounds": [[0.0, 2.0], [0.005, 0.03]]}
    assert exp.n_points == 8 * (2 * 2 + 2) and exp.n_runs == 2 * exp.n_points
    assert exp.outcomes[0] == Outcome("cum", "new_emigrants", years=(2012, 2016))
    assert exp.outcomes[1].group == "ethnicity=Russian"
    assert exp.outcome_columns() == ["cum", "e16", *(f"by_year@{y}" for y in range(2012, 2017))]
    resolved = exp.resolved()
    assert resolved["scenario"]["end"] == 2016 and resolved["n_runs"] == exp.n_runs


def test_scenario_paths(tmp_path):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "experiments").mkdir()
    write(tmp_path / "scenarios", '[run]\nend = 2015\n[params]\nb_compatriot = 0\n', "mine.toml")
    rel = write(tmp_path / "experiments", GOOD.replace('method', 'scenario = '
                                                       '"../scenarios/mine.toml"\nmethod'))
    assert load_experiment(rel).scenario.name == "mine"
    # A bare name: the project's scenarios/ next to experiments/ ...
    bare = write(tmp_path / "experiments", GOOD.replace("method", 'scenario = "mine"\nmethod'))
    exp = load_experiment(bare)
    assert exp.scenario.name == "mine" and exp.scenario.params["b_compatriot"] == 0.0
    assert exp.scenario.end == 2016  # the experiment's [run] wins over the scenario's
    # ... and the shipped ones.
    shipped = write(tmp_path, GOOD.replace("method", 'scenario = "pessimism_shock"\nmethod'))
    assert load_experiment(shipped).scenario.name == "pessimism_shock"


@pytest.mark.parametrize("path", sorted(shipped_experiments_dir().glob("*.toml")),
                         ids=lambda p: p.name)
def test_shipped_experiments_load(path):
    exp = load_experiment(path)
    assert exp.name == path.stem and exp.description
    assert exp.scenario.name == "baseline" and exp.window == (2012, 2018)
    assert {o.name for o in exp.outcomes} >= {"cum_emigrants_2012_2018", "emigrants_2018",
                                               "net_migration_2018", "students_abroad_2018",
                                               "emigrants_by_year"}
    for p in exp.parameters:
        assert REGISTRY[p.name].group == "behaviour"


def test_shipped_morris_screens_every_behavioural_parameter():
    exp = load_experiment(shipped_experiments_dir() / "morris_screening.toml")
    behaviour = [p.name for p in REGISTRY.values() if p.group == "behaviour"]
    assert [p.name for p in exp.parameters] == behaviour
    assert exp.method == "morris" and exp.n == 10


def test_shipped_sobol_is_small_and_a_power_of_two():
    exp = load_experiment(shipped_experiments_dir() / "sobol_baseline.toml")
    assert exp.method == "sobol" and exp.n == 64 and len(exp.parameters) == 6


# --- one-line errors -------------------------------------------------------------------------

def _swap(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


BAD = {
    "unknown top key": (_swap("seed = 3", "sed = 3"),
                        "key 'sed' is not an experiment setting", "did you mean 'seed'"),
    "param at top level": (_swap("seed = 3", "seed = 3\nage_peak = 3"), "key 'age_peak'",
                           "under [parameters]"),
    "method": (_swap('"sobol"', '"sobel"'), "key 'method' = 'sobel' is not a method",
               "did you mean 'sobol'"),
    "method missing": (_swap('method = "sobol"', ""), "key 'method' is missing", "morris"),
    "n not power of two": (_swap("n = 8", "n = 10"), "key 'n' = 10 is not a power of two",
                           "power of two"),
    "n zero": (_swap("n = 8", "n = 0"), "key 'n' = 0 is below 2", "power of two"),
    "n float": (_swap("n = 8", "n = 8.5"), "key 'n' must be a whole number", ""),
    "n bool": (_swap("n = 8", "n = true"), "key 'n' must be a whole number", ""),
    "n missing": (_swap("n = 8", ""), "key 'n' is missing", ""),
    "fast n": (_swap('method = "sobol"\nn = 8', 'method = "fast"\nn = 64'),
               "key 'n' = 64 is below 65", "4 M^2"),
    "replicates": (_swap("replicates = 2", "replicates = 0"), "key 'replicates' = 0 is below 1",
                   "integer >= 1"),
    "seed": (_swap("seed = 3", "seed = -1"), "key 'seed' = -1 is below 0", ""),
    "levels on sobol": (_swap("seed = 3", "seed = 3\nlevels = 4"), "key 'levels' applies only",
                        "morris"),
    "odd levels": (_swap('method = "sobol"', 'method = "morris"\nlevels = 5'),
                   "key 'levels' = 5 is not an even number", ""),
    "sampling on sobol": (_swap("seed = 3", 'seed = 3\nsampling = "latin"'),
                          "key 'sampling' cannot be set", "delta"),
    "delta too small": (_swap('method = "sobol"\nn = 8', 'method = "delta"\nn = 8'),
                        "key 'n' = 8 is below 20", ""),
    "unknown param": (_swap("b_compatriot = {}", "b_compatriott = {}"),
                      "key 'parameters.b_compatriott' is not a parameter",
                      "did you mean 'b_compatriot'"),
    "param not table": (_swap("b_compatriot = {}", "b_compatriot = 1"),
                        "key 'parameters.b_compatriot' must be a table", "bounds"),
    "param sub key": (_swap("b_compatriot = {}", "b_compatriot = { bound = [0, 1] }"),
                      "key 'parameters.b_compatriot.bound' is not a parameter setting",
                      "did you mean 'bounds'"),
    "bounds outside": (_swap("[0.005, 0.03]", "[0.005, 0.9]"),
                       "key 'parameters.realise_emigrate.bounds' = [0.005, 0.9] goes outside "
                       "the registry bounds [0, 0.5]", ""),
    "bounds reversed": (_swap("[0.005, 0.03]", "[0.03, 0.005]"), "has lo >= hi", ""),
    "bounds shape": (_swap("[0.005, 0.03]", "[0.005]"), "must be two numbers", ""),
    "int bounds": (_swap("b_compatriot = {}", "study_years = { bounds = [1.5, 6] }"),
                   "are not whole numbers (study_years takes whole numbers)", ""),
    "no parameters": (_swap("b_compatriot = {}\nrealise_emigrate = { bounds = [0.005, 0.03] }",
                            ""), "key 'parameters' is empty", ""),
    "run key": (_swap("end = 2016", "ende = 2016"), "key 'run.ende' is not a run setting",
                "did you mean 'end'"),
    "run year": (_swap("end = 2016", "end = 2060"), "key 'run.end' = 2060 is outside", ""),
    "run window": (_swap("end = 2016", "end = 2016\nstart = 2017"),
                   "key 'run.start' = 2017 is after run.end = 2016", ""),
    "scenario missing": (_swap("method", 'scenario = "basline"\nmethod'),
                         "key 'scenario' = 'basline' names no scenario file",
                         "pessimism_shock); did you mean 'baseline'"),
    "metric": (_swap('metric = "net_migration"', 'metric = "net_migrations"'),
               "key 'outcomes[3].metric' = 'net_migrations' is not a metric",
               "did you mean 'net_migration'"),
    "group": (_swap('"ethnicity=Russian"', '"ethnicity=Rusian"'),
              "key 'outcomes[2].group' = 'ethnicity=Rusian' is not a group",
              "did you mean 'ethnicity=Russian'"),
    "year outside": (_swap("year = 2016", "year = 2017"),
                     "key 'outcomes[2].year' = 2017 is outside the run window", "2012 to 2016"),
    "years outside": (_swap("years = [2012, 2016]", "years = [2011, 2016]"),
                      "key 'outcomes[1].years' = 2011 is outside", ""),
    "years reversed": (_swap("years = [2012, 2016]", "years = [2016, 2012]"),
                       "has first > last", ""),
    "two selectors": (_swap("year = 2016", "year = 2016\nper_year = true"),
                      "key 'outcomes[2]' sets year and per_year", "exactly one of"),
    "no selector": (_swap("year = 2016", ""), "key 'outcomes[2]' sets none of", ""),
    "duplicate outcome": (_swap('name = "e16"', 'name = "cum"'), "is already used", ""),
    "outcome named like a parameter": (_swap('name = "e16"', 'name = "b_compatriot"'),
                                       "is already used", ""),
    "outcome key": (_swap("per_year = true", "per_yaer = true"),
                    "key 'outcomes[3].per_yaer' is not an outcome setting",
                    "did you mean 'per_year'"),
    "aggregate": (_swap("years = [2012, 2016]", 'years = [2012, 2016]\naggregate = "avg"'),
                  "key 'outcomes[1].aggregate' = 'avg' is not an aggregate", "sum, mean"),
    "no outcomes": (GOOD.split("[[outcomes]]")[0], "key 'outcomes' is missing", ""),
    "toml syntax": ("[run\n", "is not valid TOML", ""),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_bad_files_give_one_line_errors(tmp_path, case):
    text, expected, hint = case
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "; allowed: " in message
    assert hint in message


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        load_experiment(tmp_path / "nope.toml")


def test_errors_in_the_scenario_name_the_scenario_file(tmp_path):
    write(tmp_path, "[params]\nage_pek = 30\n", "bad_scenario.toml")
    path = write(tmp_path, GOOD.replace("method", 'scenario = "bad_scenario.toml"\nmethod'))
    with pytest.raises(ScenarioError, match=r"bad_scenario.toml: key 'params.age_pek'"):
        load_experiment(path)


def test_given_data_methods_take_any_design(tmp_path):
    exp = load_experiment(write(tmp_path, _swap('method = "sobol"', 'method = "delta"\n'
                                                'sampling = "sobol"')))
    assert exp.method == "delta" and exp.sampling == "sobol" and exp.n_points == 48
    latin = load_experiment(write(tmp_path, _swap('method = "sobol"\nn = 8',
                                                  'method = "pawn"\nn = 40')))
    assert latin.sampling == "latin" and latin.n_points == 40


# --- values ---------------------------------------------------------------------------------

def test_varied_param_maps_the_unit_interval():
    p = VariedParam("realise_emigrate", 0.005, 0.03)
    assert p.value(0.0) == 0.005 and p.value(1.0) == 0.03
    assert p.value(0.5) == pytest.approx(0.0175)
    u = np.linspace(0, 1, 11)
    assert np.all(np.diff(p.value(u)) > 0)


def test_integer_params_are_discrete_uniform():
    p = VariedParam("study_years", 1, 8, "int")
    u = (np.arange(80_000) + 0.5) / 80_000
    values, counts = np.unique(p.value(u), return_counts=True)
    assert values.tolist() == [float(v) for v in range(1, 9)]
    assert np.all(counts == 10_000)  # each integer gets the same share of [0, 1]
    assert p.value(1.0) == 8.0 and p.value(0.0) == 1.0


def test_experiment_built_in_python_defaults_sampling():
    exp = Experiment("x", "", Scenario(), "pawn", 30, 1, 0, (VariedParam("a", 0, 1),),
                     (Outcome("y", "y", year=0),))
    assert exp.sampling == "latin" and exp.n_points == 30


# --- priors ---------------------------------------------------------------------------------

def test_uniform_mapping_is_bit_identical_to_the_linear_formula():
    p = VariedParam("realise_emigrate", 0.005, 0.03)
    u = np.random.default_rng(4).random(1000)
    assert np.array_equal(p.value(u), np.clip(0.005 + u * (0.03 - 0.005), 0.005, 0.03))


def test_design_maps_the_unit_cube_through_a_non_uniform_registry_prior(tmp_path, monkeypatch):
    from dataclasses import replace

    from model.analysis.design import design_matrix, sample

    # age_peak on [28, 45] with a triangular prior peaking at 28: cdf 1 - ((45 - x) / 17)^2,
    # so ppf(u) = 45 - 17 sqrt(1 - u)
    monkeypatch.setitem(REGISTRY, "age_peak",
                        replace(REGISTRY["age_peak"], prior=("triangular", 28.0)))
    exp = load_experiment(write(tmp_path, _swap("b_compatriot = {}", "age_peak = {}")))
    by_name = {p.name: p for p in exp.parameters}
    assert by_name["age_peak"].prior == ("triangular", 28.0)
    # own bounds in the file: uniform on them, whatever the registry prior
    assert by_name["realise_emigrate"].prior == ("uniform",)
    X = design_matrix(exp)
    points = sample(exp)
    j = [p.name for p in exp.parameters].index("age_peak")
    want = 45.0 - 17.0 * np.sqrt(1.0 - X[:, j])
    assert np.allclose([pt["age_peak"] for pt in points], want, atol=1e-9)
    k = [p.name for p in exp.parameters].index("realise_emigrate")
    assert [pt["realise_emigrate"] for pt in points] == \
        np.clip(0.005 + X[:, k] * (0.03 - 0.005), 0.005, 0.03).tolist()
    assert exp.resolved()["parameters"][j]["prior"] == ["triangular", 28.0]
    # the same file with the registry's bounds written out is uniform instead
    own = load_experiment(write(tmp_path, _swap("b_compatriot = {}",
                                                "age_peak = { bounds = [28, 45] }"), "own.toml"))
    assert {p.name: p.prior for p in own.parameters}["age_peak"] == ("uniform",)
