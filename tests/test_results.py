"""The results layer: ResultSet on every kind of folder, quantile names, paired differences,
and ``em.run`` / ``em.compare`` giving the tables ``emigsim run`` / ``compare`` write."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _cli_helpers import main_inprocess

import model as em
from model.runs import batch
from model.runs.batches import BatchFailedError
from model.runs.outputs import OutputFolderError
from model.runs.results import (
    COLUMNS,
    ResultsError,
    ResultSet,
    paired_differences,
    quantile_column,
)
from model.scenario import shipped_scenarios_dir

ROOT = Path(__file__).resolve().parent.parent
RUN = ["--end", "2013", "--scale", "4000", "--seed", "5", "--workers", "0", "--quiet"]


def shipped(name: str) -> em.Scenario:
    """A shipped scenario with the window and scale of RUN (as the CLI applies them)."""
    return em.load_scenario(shipped_scenarios_dir() / f"{name}.toml").with_run(end=2013,
                                                                               scale=4000)


def sort(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("scenario", "replicate", "year", "metric", "group") if c in frame]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def cli(args: list[str], capsys) -> str:
    code, out, err = main_inprocess(args, capsys)
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A single-run folder and a two-replicate batch folder written by the CLI."""
    from model.ui import cli as cli_module

    root = tmp_path_factory.mktemp("results")
    single, batch_out = root / "single", root / "batch"
    assert cli_module.main(["run", "baseline", "--out", str(single), *RUN]) == 0
    assert cli_module.main(["run", "baseline", "--out", str(batch_out), "--replicates", "2",
                            *RUN]) == 0
    return {"single": single, "batch": batch_out}


# --- ResultSet.load on the three kinds of folder ---------------------------------------------

def test_load_single_run_folder(folders):
    rs = ResultSet.load(folders["single"])
    expected = pd.read_csv(folders["single"] / "series.csv")
    pd.testing.assert_frame_equal(rs.series, expected)
    assert rs.info["seed"] == 5 and rs.info["replicates"] == 1  # the manifest
    assert rs.scenarios == ["baseline"] and rs.n_runs() == 1
    assert "new_emigrants" in rs.metrics and "region=Karaganda" in rs.groups


def test_load_batch_folder_reads_its_store(folders):
    out = folders["batch"]
    rs = ResultSet.load(out)
    assert rs._frame is None  # nothing read yet: questions read only the rows they need
    expected = pd.read_csv(out / "series.csv")
    assert list(rs.series.columns) == COLUMNS
    pd.testing.assert_frame_equal(sort(rs.series), sort(expected), check_dtype=False)
    assert rs.n_runs() == 2 and rs.info["batch"]["done"] == 2
    births = rs.select(metric="births", group="all").series
    assert set(births["metric"]) == {"births"} and set(births["group"]) == {"all"}


def test_load_bare_store_and_a_folder_without_its_store(folders, tmp_path):
    out = folders["batch"]
    rs = ResultSet.load(out / "store")
    assert rs.info == {}  # a store has no manifest
    pd.testing.assert_frame_equal(sort(rs.series), sort(pd.read_csv(out / "series.csv")),
                                  check_dtype=False)
    # a finished batch whose store was moved away: its series.csv is read
    moved = tmp_path / "moved"
    shutil.copytree(out, moved, ignore=shutil.ignore_patterns("store"))
    assert ResultSet.load(moved).n_runs() == 2


def test_load_refuses_a_folder_without_results(tmp_path):
    with pytest.raises(ResultsError, match="holds no results"):
        ResultSet.load(tmp_path)


# --- summaries and quantile names ------------------------------------------------------------

def hand_made() -> pd.DataFrame:
    """Two scenarios, two replicates (shared seeds), one metric, years 2012-2013."""
    rows = []
    values = {("a", 1): (10.0, 20.0), ("a", 2): (20.0, 30.0),
              ("b", 1): (11.0, 25.0), ("b", 2): (23.0, 29.0)}
    for (scenario, rep), by_year in values.items():
        for year, v in zip((2012, 2013), by_year, strict=True):
            rows.append({"scenario": scenario, "replicate": rep, "seed": 100 + rep,
                         "year": year, "metric": "births", "group": "all", "value": v})
    return pd.DataFrame(rows, columns=COLUMNS)


def test_quantile_column_names():
    assert [quantile_column(q) for q in (0.05, 0.5, 0.95)] == ["q05", "q50", "q95"]
    assert [quantile_column(q) for q in (0.0, 0.1, 0.025, 0.975, 1.0)] == \
        ["q00", "q10", "q02.5", "q97.5", "q100"]


def test_summary_by_hand():
    rs = ResultSet(hand_made())
    s = rs.summary("births", quantiles=(0.1, 0.5))
    assert list(s.columns) == ["scenario", "year", "mean", "q10", "q50", "runs"]
    a12 = s[(s["scenario"] == "a") & (s["year"] == 2012)].iloc[0]
    # values 10 and 20: mean 15, q10 by linear interpolation 10 + 0.1 * 10 = 11
    assert (a12["mean"], a12["q10"], a12["q50"], a12["runs"]) == (15.0, 11.0, 15.0, 2)
    one = ResultSet(hand_made().query("scenario == 'b'")).summary("births")
    assert list(one.columns) == ["year", "mean", "q05", "q50", "q95", "runs"]
    q = ResultSet(hand_made()).quantiles("births", quantiles=(0.5,))
    assert list(q.columns) == ["scenario", "year", "q50"]
    with pytest.raises(ResultsError, match="no rows"):
        rs.summary("deaths")


def test_paired_differences_by_hand():
    s = hand_made()
    d = ResultSet(s.sample(frac=1.0, random_state=3)).paired_differences("a")
    assert list(d.columns) == ["scenario", "year", "metric", "group", "mean", "q05", "q50",
                               "q95"]
    assert set(d["scenario"]) == {"b"}
    d = d.set_index("year")
    # replicate by replicate: 2012: 11-10 = 1 and 23-20 = 3; 2013: 25-20 = 5 and 29-30 = -1
    assert d.loc[2012, "mean"] == 2.0 and d.loc[2013, "mean"] == 2.0
    assert d.loc[2012, "q05"] == pytest.approx(1.0 + 0.05 * 2)
    assert d.loc[2013, "q95"] == pytest.approx(-1.0 + 0.95 * 6)
    # the default reference is the first scenario; the function and the method agree
    pd.testing.assert_frame_equal(ResultSet(s).paired_differences(),
                                  paired_differences(s, "a"))
    with pytest.raises(ResultsError, match="reference"):
        ResultSet(s).paired_differences("c")


def test_summarize_prints_the_same_quantile_names(folders, capsys):
    out = cli(["summarize", str(folders["batch"]), "--metric", "births"], capsys)
    header = [line for line in out.splitlines() if line.lstrip().startswith("runs")][0]
    assert header.split() == ["runs", "mean", "q05", "q50", "q95"]


# --- one path for Python and the command line ------------------------------------------------

def test_em_run_gives_the_cli_tables(folders, tmp_path):
    for name, replicates in (("single", 1), ("batch", 2)):
        res = em.run(shipped("baseline"), seed=5, replicates=replicates, workers=0)
        assert isinstance(res, em.ResultSet)
        cli_series = pd.read_csv(folders[name] / "series.csv")
        assert list(res.series.columns) == list(cli_series.columns) == COLUMNS
        pd.testing.assert_frame_equal(sort(res.series), sort(cli_series), check_dtype=False)
    # with out=, the folder the CLI writes, byte for byte where nothing records the time
    out = tmp_path / "py"
    em.run(shipped("baseline"), seed=5, replicates=2, workers=0, out=out)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.name for p in folders["batch"].iterdir())
    assert (out / "series.csv").read_bytes() == (folders["batch"] / "series.csv").read_bytes()
    m = json.loads((out / "manifest.json").read_text())
    assert m["files"] == json.loads((folders["batch"] / "manifest.json").read_text())["files"]


def test_em_compare_gives_the_cli_tables(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli(["compare", "baseline", "pessimism_shock", "--out", "cmp", "--replicates", "2", *RUN],
        capsys)
    scenarios = [shipped("baseline"), shipped("pessimism_shock")]
    res = em.compare(scenarios, seed=5, replicates=2, workers=0)
    pd.testing.assert_frame_equal(sort(res.series), sort(pd.read_csv("cmp/series.csv")),
                                  check_dtype=False)
    cli_diff = pd.read_csv("cmp/differences.csv")
    pd.testing.assert_frame_equal(sort(res.paired_differences()), sort(cli_diff),
                                  check_dtype=False)
    em.compare(scenarios, seed=5, replicates=2, workers=0, out="py")
    for name in ("series.csv", "differences.csv"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cmp" / name).read_bytes()


def test_em_run_refuses_a_foreign_folder_and_reports_failed_runs(tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(OutputFolderError, match="not an emigsim output"):
        em.run(shipped("baseline"), out=mine)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]

    def broken(spec):
        raise RuntimeError("model blew up")

    monkeypatch.setitem(batch.MODELS, "emigsim", broken)
    with pytest.raises(BatchFailedError, match="2 of 2 runs failed") as caught:
        em.run(shipped("baseline"), replicates=2, workers=0)
    assert "RuntimeError: model blew up" in caught.value.report.errors[0]["error"]


def test_import_model_stays_light():
    code = ("import sys, model; heavy = {'pandas', 'mesa', 'numba', 'matplotlib', 'dask'}; "
            "print(sorted(heavy & set(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "[]"
    # the lazy names resolve to the results layer
    assert em.ResultSet is ResultSet and em.Results is ResultSet
    assert em.run.__module__ == em.compare.__module__ == "model.runs.batches"
