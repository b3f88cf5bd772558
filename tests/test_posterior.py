"""The posterior: file validation, replicate r takes draw r, pairing, explicit scenario values
win, --no-posterior is the registry defaults, the manifest, run ids, the wrap-around notice,
and sensitivity designs that keep the registry defaults.

All against the synthetic tests/data/posterior_small.csv (3 draws), never the real file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from _cli_helpers import check_rejected
from _cli_helpers import main_inprocess as main

import model as em
import model.posterior as mp
from model.core.rng import replicate_seed
from model.params import defaults
from model.runs.batch import make_run_id, replicate_specs, work_chunk
from model.runs.runner import run_one
from model.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
SMALL = Path(__file__).parent / "data" / "posterior_small.csv"
DRAWS = [  # tests/data/posterior_small.csv, by hand
    {"asc_emigrate": -7.0, "b_compatriot": 0.3, "realise_emigrate": 0.020, "study_years": 3},
    {"asc_emigrate": -7.4, "b_compatriot": 0.6, "realise_emigrate": 0.030, "study_years": 4},
    {"asc_emigrate": -6.8, "b_compatriot": 0.9, "realise_emigrate": 0.040, "study_years": 5},
]
TINY = Scenario(scale=4000, end=2013)
RUN = ["--end", "2013", "--scale", "4000", "--seed", "3", "--quiet"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def shipped_small(monkeypatch):
    """Make the synthetic file the 'shipped' default posterior."""
    monkeypatch.setattr(mp, "default_posterior_path", lambda: SMALL)


@pytest.fixture
def shipped_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(mp, "default_posterior_path", lambda: tmp_path / "absent.csv")


# --- the file ------------------------------------------------------------------------------------

def test_small_file_reads_as_written_by_hand():
    post = mp.load_posterior(SMALL)
    assert post.n_draws == 3 and post.names == tuple(DRAWS[0])
    assert [post.draw(r) for r in range(3)] == DRAWS
    assert post.sha256 == hashlib.sha256(SMALL.read_bytes()).hexdigest()
    assert isinstance(post.draw(0)["study_years"], int)  # whole-number parameter stays int
    assert post.draw(4) == DRAWS[1] and post.index(4) == 1  # wraps: 4 mod 3


BAD = {
    "first column": ("name,age_peak\n0,30\n", "key 'column 1' = 'name' is not 'draw'"),
    "unknown": ("draw,age_pek\n0,30\n", "key 'age_pek' is not a parameter"),
    "out of bounds": ("draw,age_peak\n0,30\n1,99\n", "line 3: key 'age_peak' = 99 is out of "
                                                     "bounds; allowed: [28, 45]"),
    "empty": ("", "is empty"),
    "header only": ("draw,age_peak\n", "has no draws"),
    "no parameter": ("draw\n0\n", "has no parameter column"),
    "not a number": ("draw,age_peak\n0,abc\n", "key 'age_peak' = 'abc' is not a number"),
    "not whole": ("draw,study_years\n0,3.5\n", "key 'study_years' must be a whole number"),
    "draw index": ("draw,age_peak\n1,30\n", "key 'draw' = '1' is not the row's index 0"),
    "short row": ("draw,age_peak,age_width\n0,30\n", "line 2: has 2 fields"),
    "repeated": ("draw,age_peak,age_peak\n0,30,31\n", "key 'age_peak' is column 3"),
    "order": ("draw,abroad_student_min_age,abroad_student_max_age\n0,22,18\n",
              "makes abroad_student_min_age = 22 above"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_give_one_line_naming_the_file(tmp_path, case):
    text, expected = BAD[case]
    path = tmp_path / "post.csv"
    path.write_text(text)
    with pytest.raises(mp.PosteriorError) as err:
        mp.load_posterior(path)
    message = str(err.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_unknown_parameter_suggests_the_name(tmp_path):
    path = tmp_path / "post.csv"
    path.write_text(BAD["unknown"][0])
    with pytest.raises(mp.PosteriorError, match="did you mean 'age_peak'"):
        mp.load_posterior(path)


@pytest.mark.parametrize("case", ["unknown", "out of bounds", "empty", "first column"])
def test_cli_refuses_a_bad_posterior_with_exit_2_and_writes_nothing(work, capsys, case):
    (work / "bad.csv").write_text(BAD[case][0])
    check_rejected(*main(["run", "baseline", "--out", "r", "--posterior", "bad.csv", *RUN],
                         capsys), BAD[case][1])
    assert not (work / "r").exists()
    check_rejected(*main(["compare", "baseline", "pessimism_shock", "--out", "c",
                          "--posterior", "bad.csv", *RUN], capsys), "bad.csv")
    assert not (work / "c").exists()


def test_cli_refuses_a_missing_posterior_file(work, capsys):
    check_rejected(*main(["run", "baseline", "--out", "r", "--posterior", "nope.csv", *RUN],
                         capsys), "nope.csv: file not found; allowed:")
    assert not (work / "r").exists()


def test_posterior_and_no_posterior_exclude_each_other(work, capsys):
    code, _, err = main(["run", "baseline", "--out", "r", "--posterior", str(SMALL),
                         "--no-posterior", *RUN], capsys)
    assert code == 2 and "not allowed with argument" in err


# --- replicate r takes draw r ---------------------------------------------------------------------

def _used_params(specs):
    """The parameters each run's model actually simulated with (reduced in the worker)."""
    keys = list(DRAWS[0]) + ["age_peak"]
    reduced = work_chunk([replace(s, reducer=lambda rows, m: {k: m.params[k] for k in keys})
                          for s in specs]).reduced
    return [reduced[i] for i in range(len(specs))]


def test_replicate_r_simulates_with_draw_r_mod_n():
    post = mp.load_posterior(SMALL)
    specs = replicate_specs(Scenario(scale=4000, end=2012), 1, 4, posterior=post)
    assert [s.draw for s in specs] == [0, 1, 2, 0]
    for used, r in zip(_used_params(specs), range(4), strict=True):
        assert used == {**DRAWS[r % 3], "age_peak": defaults()["age_peak"]}


def test_a_batch_replicate_equals_a_plain_run_with_that_draws_values():
    res = em.run(TINY, seed=5, replicates=2, workers=0, posterior=SMALL)
    rep2 = res.series[res.series["replicate"] == 2].drop(columns=["scenario", "replicate"])
    by_hand = Scenario(scale=4000, end=2013, params={**defaults(), **DRAWS[1]})
    plain = run_one(by_hand, replicate_seed(5, 1))
    assert rep2["seed"].unique().tolist() == [replicate_seed(5, 1)]
    pd.testing.assert_frame_equal(rep2.drop(columns="seed").reset_index(drop=True), plain,
                                  check_dtype=False)


def test_the_single_run_takes_draw_0():
    res = em.run(TINY, seed=5, posterior=SMALL)
    plain = run_one(Scenario(scale=4000, end=2013, params={**defaults(), **DRAWS[0]}),
                    replicate_seed(5, 0))
    got = res.series.drop(columns=["scenario", "replicate", "seed"])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), plain, check_dtype=False)
    assert res.info["posterior"]["draws"] == [0]


# --- pairing and explicit values ----------------------------------------------------------------

def test_every_scenario_of_a_comparison_takes_the_same_draw(tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(f'extends = "{ROOT / "scenarios" / "baseline.toml"}"\n'
                     "[params]\nb_compatriot = 1.5\n")
    post = mp.load_posterior(SMALL)
    a = replicate_specs(TINY, 1, 3, point=0, posterior=post)
    b = replicate_specs(load_scenario(other), 1, 3, point=1, posterior=post)
    assert [s.draw for s in a] == [s.draw for s in b] == [0, 1, 2]
    assert [s.seed for s in a] == [s.seed for s in b]
    for r in range(3):
        assert a[r].scenario.params["asc_emigrate"] == b[r].scenario.params["asc_emigrate"] \
            == DRAWS[r]["asc_emigrate"]
        assert a[r].scenario.params["b_compatriot"] == DRAWS[r]["b_compatriot"]
        assert b[r].scenario.params["b_compatriot"] == 1.5  # the scenario's own value wins


def test_compare_of_twins_with_a_posterior_is_exactly_paired():
    twin = replace(TINY, name="twin")
    res = em.compare([TINY, twin], seed=2, replicates=3, workers=0, posterior=SMALL)
    d = res.paired_differences()
    assert float(d["mean"].abs().max()) == 0.0
    # and the draws really differ between replicates (else pairing would prove nothing)
    emig = res.series[(res.series["metric"] == "new_emigrants") & (res.series["group"] == "all")
                      & (res.series["scenario"] == "baseline")]
    assert emig.groupby("replicate")["value"].sum().nunique() == 3
    assert res.info["posterior"]["draws"] == [0, 1, 2]


def test_explicit_scenario_values_win_even_at_the_default(tmp_path):
    path = tmp_path / "s.toml"
    default = defaults()["b_compatriot"]
    path.write_text(f"[params]\nb_compatriot = {default!r}\n")  # the default, set explicitly
    sc = load_scenario(path)
    assert sc.params["b_compatriot"] == default
    assert DRAWS[2]["b_compatriot"] != default  # else the test would prove nothing
    used = mp.apply_draw(sc, DRAWS[2])
    assert used.params["b_compatriot"] == default
    assert used.params["asc_emigrate"] == -6.8 and used.overrides == sc.overrides
    # a Scenario built in Python: values away from the default count as explicit
    py = Scenario(params={**defaults(), "realise_emigrate": 0.1})
    assert mp.apply_draw(py, DRAWS[0]).params["realise_emigrate"] == 0.1


def test_a_draw_that_breaks_an_order_with_the_scenario_is_one_line(tmp_path):
    post_file = tmp_path / "p.csv"
    post_file.write_text("draw,abroad_student_min_age\n0,20\n")
    sc = Scenario(name="s", overrides={"abroad_student_max_age": 19},
                  params={**defaults(), "abroad_student_max_age": 19})
    with pytest.raises(mp.PosteriorError, match=r"p.csv, draw 0 with scenario 's'"):
        replicate_specs(sc, 1, 1, posterior=mp.load_posterior(post_file))


# --- --no-posterior, the default, the manifest --------------------------------------------------

def _series(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "series.csv")


def test_no_posterior_gives_exactly_the_registry_default_results(work, capsys, shipped_small):
    assert main(["run", "baseline", "--out", "plain", "--no-posterior", *RUN], capsys)[0] == 0
    assert main(["run", "baseline", "--out", "post", *RUN], capsys)[0] == 0
    plain = run_one(load_scenario(ROOT / "scenarios" / "baseline.toml").with_run(
        scale=4000, end=2013), replicate_seed(3, 0))
    got = _series(work / "plain").drop(columns=["scenario", "replicate", "seed"])
    pd.testing.assert_frame_equal(got, plain, check_dtype=False)
    assert not _series(work / "plain").equals(_series(work / "post"))  # the default differs
    m = json.loads((work / "plain" / "manifest.json").read_text())
    assert m["posterior"] == mp.NO_POSTERIOR_REQUESTED


def test_manifest_records_the_posterior_and_the_draws(work, capsys, shipped_small):
    code, _, err = main(["compare", "baseline", "pessimism_shock", "--out", "c", "--replicates",
                         "2", "--workers", "0", *RUN], capsys)
    assert code == 0, err
    m = json.loads((work / "c" / "manifest.json").read_text())
    assert m["posterior"] == {"path": str(SMALL), "n_draws": 3,
                              "sha256": hashlib.sha256(SMALL.read_bytes()).hexdigest(),
                              "parameters": list(DRAWS[0]), "draws": [0, 1],
                              "values": {str(d): [float(v) for v in DRAWS[d].values()]
                                         for d in (0, 1)}}
    assert m["scenario"]["params"]["asc_emigrate"] == defaults()["asc_emigrate"]  # own values


def test_missing_default_posterior_runs_defaults_with_a_notice(work, capsys, shipped_missing):
    code, _, err = main(["run", "baseline", "--out", "r", *RUN[:-1]], capsys)  # not quiet
    assert code == 0, err
    notices = [line for line in err.splitlines() if "notice" in line]
    assert len(notices) == 1 and "no posterior at calibration/posterior/kz_2012_2018.csv" \
        in notices[0]
    m = json.loads((work / "r" / "manifest.json").read_text())
    assert m["posterior"] == "none (file missing)"
    assert main(["run", "baseline", "--out", "q", *RUN], capsys)[2] == ""  # --quiet: silent
    with pytest.warns(mp.PosteriorNotice, match="registry defaults"):
        res = em.run(TINY)
    assert res.info["posterior"] == "none (file missing)"
    plain = run_one(TINY, replicate_seed(1, 0))
    pd.testing.assert_frame_equal(res.series.drop(columns=["scenario", "replicate", "seed"]),
                                  plain, check_dtype=False)


def test_wrap_around_warns_once(work, capsys):
    with pytest.warns(mp.PosteriorNotice) as caught:
        res = em.run(TINY, replicates=4, workers=0, posterior=SMALL)
    assert len(caught) == 1 and "3 draws for 4 replicates" in str(caught[0].message)
    assert res.info["posterior"]["draws"] == [0, 1, 2, 0]
    code, _, err = main(["run", "baseline", "--out", "r", "--replicates", "4", "--workers",
                         "0", "--posterior", str(SMALL), *RUN[:-1]], capsys)
    assert code == 0, err
    assert sum("draws repeat" in line for line in err.splitlines()) == 1


# --- run identity ---------------------------------------------------------------------------

def test_run_id_changes_with_the_posterior_file_content(tmp_path):
    same_values = tmp_path / "same.csv"
    same_values.write_text(SMALL.read_text().replace("-7.0,", "-7.00,"))  # bytes differ only
    other_value = tmp_path / "other.csv"
    other_value.write_text(SMALL.read_text().replace("-7.4,", "-7.5,"))
    ids = {name: [s.run_id for s in replicate_specs(TINY, 1, 2, posterior=mp.load_posterior(p))]
           for name, p in [("small", SMALL), ("same", same_values), ("other", other_value)]}
    plain = [s.run_id for s in replicate_specs(TINY, 1, 2)]
    assert ids["small"][0] != ids["same"][0]  # same numbers, other file: a new run
    assert ids["small"][0] != ids["other"][0] and ids["small"][1] != ids["other"][1]
    assert not set(plain) & set(ids["small"])
    # without a posterior the id is the one made before posteriors existed
    assert plain[0] == make_run_id("emigsim", TINY, {}, replicate_seed(1, 0))


def test_run_id_carries_the_draw_index_even_when_the_scenario_sets_every_value():
    sc = Scenario(params={**defaults(), **DRAWS[0]}, overrides=dict(DRAWS[0]))
    post = mp.load_posterior(SMALL)
    a = replicate_specs(sc, 1, 4, posterior=post)
    assert a[0].scenario.params == a[3].scenario.params  # same values, draws 0 and 0 ...
    b = mp.Posterior(post.path, "0" * 64, post.names, post.rows)
    assert a[0].run_id != replicate_specs(sc, 1, 1, posterior=b)[0].run_id  # ... other file


def test_a_store_made_without_the_posterior_is_not_resumed_with_it(work, capsys):
    batch = ["--replicates", "2", "--workers", "0", *RUN]
    assert main(["run", "baseline", "--out", "r", "--no-posterior", *batch], capsys)[0] == 0
    check_rejected(*main(["run", "baseline", "--out", "r", "--posterior", str(SMALL), *batch],
                         capsys), "--fresh")
    code, out, _ = main(["run", "baseline", "--out", "r", "--no-posterior", *batch], capsys)
    assert code == 0 and "(2 of 2 runs reused)" in out


# --- sensitivity keeps the registry defaults ---------------------------------------------------

def test_sensitivity_designs_keep_the_registry_defaults(shipped_small):
    from model.analysis.design import experiment_specs
    from model.analysis.experiment import load_experiment

    exp = load_experiment(ROOT / "experiments" / "sobol_baseline.toml")
    varied = {v.name for v in exp.parameters}
    assert set(DRAWS[0]) - varied  # something the design does not vary is checked
    specs = experiment_specs(exp)[:4]
    assert all(s.draw is None for s in specs)
    for s in specs:
        for name in DRAWS[0]:
            if name not in varied:
                assert s.scenario.params[name] == defaults()[name], name


def test_sensitivity_run_ids_do_not_depend_on_the_posterior_file(monkeypatch, tmp_path):
    from model.analysis.design import experiment_specs
    from model.analysis.experiment import load_experiment

    exp = load_experiment(ROOT / "experiments" / "morris_screening.toml")
    monkeypatch.setattr(mp, "default_posterior_path", lambda: tmp_path / "absent.csv")
    without = [s.run_id for s in experiment_specs(exp)[:6]]
    monkeypatch.setattr(mp, "default_posterior_path", lambda: SMALL)
    assert [s.run_id for s in experiment_specs(exp)[:6]] == without
