"""Batch verbs of the CLI: sensitivity, run --replicates through the store, summarize."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _cli_helpers import check_rejected
from _cli_helpers import main_inprocess as main

from model.core.rng import replicate_seed
from model.runs import batch
from model.scenario import Scenario
from model.ui import cli

ROOT = Path(__file__).resolve().parent.parent

TINY = """
method = "morris"
n = 2
replicates = 1
seed = 2
scenario = "baseline"
[run]
end = 2013
scale = 4000
[parameters]
b_compatriot = {}
realise_emigrate = { bounds = [0.005, 0.03] }
[[outcomes]]
name = "cum"
metric = "new_emigrants"
years = [2012, 2013]
"""




def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(TINY)
    (tmp_path / "other.toml").write_text(TINY.replace("seed = 2", "seed = 3"))
    (tmp_path / "bad.toml").write_text(TINY.replace("b_compatriot", "b_compatriott"))
    return tmp_path


# --- sensitivity ---------------------------------------------------------------------------------

BAD = {
    "experiment error": (["sensitivity", "bad.toml"],
                         "bad.toml: key 'parameters.b_compatriott' is not a parameter"),
    "unknown experiment": (["sensitivity", "sobol_baselin"],
                           "did you mean 'sobol_baseline'"),
    "workers negative": (["sensitivity", "tiny.toml", "--workers", "-1"], "key '--workers'"),
    "workers text": (["sensitivity", "tiny.toml", "--workers", "many"], "key '--workers'"),
    "scheduler": (["sensitivity", "tiny.toml", "--scheduler", "10.0.0.5:8786"],
                  "key '--scheduler'"),
    "fresh with store": (["sensitivity", "tiny.toml", "--fresh", "--store", "s"],
                         "key '--fresh' cannot be combined with --store"),
    "store not a store": (["sensitivity", "tiny.toml", "--store", "tiny.toml"],
                          "key '--store'"),
    "missing out": (["sensitivity", "tiny.toml"], "--out"),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_sensitivity_bad_input(work, case, capsys):
    args, expected = case
    extra = [] if expected == "--out" else ["--out", str(work / "out")]
    before = files(work)
    check_rejected(*main([*args, *extra], capsys), expected)
    assert files(work) == before


def test_sensitivity_refuses_a_foreign_folder(work, capsys):
    (work / "out").mkdir()
    (work / "out" / "thesis.tex").write_text("precious")
    before = files(work)
    check_rejected(*main(["sensitivity", "tiny.toml", "--out", "out"], capsys), "key '--out'")
    assert files(work) == before


def test_sensitivity_bad_file_as_subprocess(work):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "model", "sensitivity", "bad.toml", "--out",
                           "out"], cwd=work, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    check_rejected(proc.returncode, proc.stdout, proc.stderr, "did you mean 'b_compatriot'")
    assert not (work / "out").exists()


def test_sensitivity_runs_resumes_and_refuses_other_batches(work, capsys):
    code, out, err = main(["sensitivity", "tiny.toml", "--out", "out", "--quiet"], capsys)
    assert code == 0, err
    assert err == ""  # --quiet
    assert "tiny: morris, 6 design points x 1 replicate = 6 runs, all finished" in out
    assert "store:" in out and "(0 of 6 runs reused)" in out
    for name in ("design.csv", "outcomes.csv", "indices.csv", "noise.csv", "series.csv",
                 "manifest.json", "figures/indices_cum.png", "figures/emigrants.png"):
        assert (work / "out" / name).is_file(), name
    m = json.loads((work / "out" / "manifest.json").read_text())
    assert m["command"][:3] == ["emigsim", "sensitivity", "tiny.toml"]

    # Same command again: everything reused.
    code, out, _ = main(["sensitivity", "tiny.toml", "--out", "out", "--quiet"], capsys)
    assert code == 0 and "(6 of 6 runs reused)" in out

    # Another experiment into the same folder: refused, nothing changed.
    before = files(work / "out")
    check_rejected(*main(["sensitivity", "other.toml", "--out", "out", "--quiet"], capsys),
                   "--fresh")
    assert files(work / "out") == before
    # --fresh deletes the old runs and starts again.
    code, out, _ = main(["sensitivity", "other.toml", "--out", "out", "--quiet", "--fresh"],
                        capsys)
    assert code == 0 and "(0 of 6 runs reused)" in out


def test_sensitivity_failures_exit_1_with_run_ids(work, capsys, monkeypatch):
    real = batch.MODELS["emigsim"]

    def flaky(spec):
        if spec.point == 2:
            raise ValueError("bad luck")
        return real(spec)

    monkeypatch.setitem(batch.MODELS, "emigsim", flaky)
    code, out, err = main(["sensitivity", "tiny.toml", "--out", "out", "--quiet",
                           "--workers", "0"], capsys)
    assert code == 1
    assert "1 of 6 runs failed; the partial design was not analysed" in err
    assert "ValueError: bad luck" in err and "(point 2, seed" in err
    assert "run the same command again" in err
    assert not (work / "out" / "indices.csv").exists()
    monkeypatch.setitem(batch.MODELS, "emigsim", real)
    code, out, _ = main(["sensitivity", "tiny.toml", "--out", "out", "--quiet"], capsys)
    assert code == 0 and "(5 of 6 runs reused)" in out


def test_given_data_method_reuses_a_sobol_store(work, capsys):
    sobol = TINY.replace('method = "morris"\nn = 2', 'method = "sobol"\nn = 4')
    (work / "sobol.toml").write_text(sobol)
    delta = sobol.replace('method = "sobol"', 'method = "delta"\nsampling = "sobol"')
    (work / "delta.toml").write_text(delta)
    latin = sobol.replace('method = "sobol"\nn = 4', 'method = "delta"\nn = 24')
    (work / "latin.toml").write_text(latin)
    code, out, err = main(["sensitivity", "sobol.toml", "--out", "s", "--quiet"], capsys)
    assert code == 0, err
    code, out, err = main(["sensitivity", "delta.toml", "--out", "d", "--quiet", "--store",
                           "s/store"], capsys)
    assert code == 0, err
    assert "(24 of 24 runs reused)" in out
    ix = pd.read_csv(work / "d" / "indices.csv")
    assert set(ix["index"]) == {"delta", "delta_conf", "S1", "S1_conf"}
    assert not (work / "d" / "store").exists()
    # A design that shares no runs with the store is refused.
    check_rejected(*main(["sensitivity", "latin.toml", "--out", "l", "--quiet", "--store",
                          "s/store"], capsys), "key '--store' = 's/store'")


# --- run with replicates: the executor and the store ---------------------------------------------

def test_run_replicates_through_store(work, capsys):
    # the registry defaults, as the in-memory runner below (the posterior's draws would
    # give other numbers by design: tests/test_posterior.py)
    args = ["run", "baseline", "--out", "r", "--replicates", "2", "--end", "2013", "--scale",
            "4000", "--seed", "5", "--quiet", "--no-posterior"]
    code, out, err = main(args, capsys)
    assert code == 0, err
    assert sorted(p.name for p in (work / "r").iterdir()) == [
        ".emigsim-output", "figures", "manifest.json", "series.csv", "store"]
    series = pd.read_csv(work / "r" / "series.csv")
    assert list(series.columns) == ["scenario", "replicate", "seed", "year", "metric", "group",
                                    "value"]
    assert series["replicate"].is_monotonic_increasing
    assert sorted(series["seed"].unique()) == sorted([replicate_seed(5, 0),
                                                      replicate_seed(5, 1)])
    # The same numbers as the in-memory runner (same seeds, same model).
    from model.runs.runner import run

    expected = run(Scenario(scale=4000, end=2013), seed=5, replicates=2).series
    pd.testing.assert_frame_equal(series, expected.reset_index(drop=True), check_dtype=False)

    m = json.loads((work / "r" / "manifest.json").read_text())
    assert m["replicates"] == 2 and m["replicate_seeds"] == [replicate_seed(5, 0),
                                                             replicate_seed(5, 1)]
    assert m["n_households"] > 0 and m["n_persons"] > m["n_households"]
    assert m["batch"] == {"total": 2, "done": 2, "skipped": 0, "failed": 0}
    assert "figures/emigrants.png" in m["files"]
    assert (work / "r" / "figures" / "emigrants.png").is_file()

    # Resume: nothing runs again. More replicates: only the new one runs.
    assert "(2 of 2 runs reused)" in main(args, capsys)[1]
    more = [a if a != "2" else "3" for a in args]
    assert "(2 of 3 runs reused)" in main(more, capsys)[1]
    # One replicate into a batch folder stays a batch (replicate 1 is in the store).
    code, out, _ = main([*args[:5], "1", *args[6:]], capsys)
    assert code == 0 and "(1 of 1 runs reused)" in out

    # Other options: refused without --fresh, the earlier output untouched.
    before = files(work / "r")
    changed = [*args[:7], "2012", *args[8:]]
    assert changed[6:8] == ["--end", "2012"]
    check_rejected(*main(changed, capsys), "--fresh")
    assert files(work / "r") == before
    code, out, _ = main([*changed, "--fresh"], capsys)
    assert code == 0 and "(0 of 2 runs reused)" in out
    assert pd.read_csv(work / "r" / "series.csv").query("metric == 'births'")["year"].max() \
        == 2012


def test_run_fresh_single_replicate_replaces_batch_folder(work, capsys):
    args = ["run", "baseline", "--out", "r", "--end", "2012", "--scale", "4000", "--quiet"]
    assert main([*args, "--replicates", "2"], capsys)[0] == 0
    assert main([*args, "--fresh"], capsys)[0] == 0
    assert sorted(p.name for p in (work / "r").iterdir()) == [
        ".emigsim-output", "figures", "manifest.json", "series.csv"]


def test_run_batch_failures_exit_1(work, capsys, monkeypatch):
    def broken(spec):
        raise RuntimeError("model blew up")

    monkeypatch.setitem(batch.MODELS, "emigsim", broken)
    code, out, err = main(["run", "baseline", "--out", "r", "--replicates", "2", "--end",
                           "2012", "--scale", "4000", "--quiet"], capsys)
    assert code == 1 and "2 of 2 runs failed" in err and "RuntimeError: model blew up" in err
    assert not (work / "r" / "manifest.json").exists()
    # The interrupted batch folder (store/ only) is accepted as an emigsim output.
    monkeypatch.setitem(batch.MODELS, "emigsim", batch._run_emigsim)
    code, out, err = main(["run", "baseline", "--out", "r", "--replicates", "2", "--end",
                           "2012", "--scale", "4000", "--quiet"], capsys)
    assert code == 0, err


def test_run_help_lists_batch_options(capsys):
    code, out, _ = main(["run", "--help"], capsys)
    assert code == 0
    for text in ("--workers", "--scheduler", "--fresh", "OUT/store"):
        assert text in out
    code, out, _ = main(["sensitivity", "--help"], capsys)
    assert code == 0 and "morris_screening" in out and "--store" in out


# --- summarize -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def batch_out(tmp_path_factory) -> Path:
    """One small batch output (2 replicates, 2012-2013) shared by the summarize tests."""
    out = tmp_path_factory.mktemp("summarize") / "r"
    assert cli.main(["run", "baseline", "--out", str(out), "--replicates", "2", "--end",
                     "2013", "--scale", "4000", "--quiet", "--workers", "0"]) == 0
    return out


def test_summarize(work, batch_out, capsys):
    code, out, _ = main(["summarize", str(batch_out)], capsys)
    assert code == 0
    assert "baseline / new_emigrants / all (2 runs)" in out
    assert "baseline / population / all (2 runs)" in out
    assert "baseline / net_migration / all (2 runs)" in out
    assert "q05" in out and "q50" in out and "q95" in out and "2013" in out

    code, out, _ = main(["summarize", str(batch_out / "store"), "--metric", "births", "--group",
                         "region=Karaganda", "--quantiles", "0.1", "0.9"], capsys)
    assert code == 0 and "baseline / births / region=Karaganda" in out and "q10" in out

    # A single-run folder has no store: its series.csv is read.
    assert main(["run", "baseline", "--out", "one", "--end", "2012", "--scale", "4000",
                 "--quiet"], capsys)[0] == 0
    code, out, _ = main(["summarize", "one", "--metric", "new_emigrants"], capsys)
    assert code == 0 and "(1 runs)" in out


@pytest.mark.parametrize("args,expected", [
    (["summarize", "nowhere"], "key 'STORE_OR_OUTDIR' = 'nowhere' is not a folder"),
    (["summarize", "."], "holds no results"),
    (["summarize", ".", "--metric", "new_emigrant"], "did you mean 'new_emigrants'"),
    (["summarize", ".", "--quantiles", "1.5"], "key '--quantiles'"),
])
def test_summarize_bad_input(work, args, expected, capsys):
    check_rejected(*main(args, capsys), expected)


def test_summarize_unknown_group(batch_out, capsys):
    check_rejected(*main(["summarize", str(batch_out), "--group", "region=Karagand"], capsys),
                   "did you mean 'region=Karaganda'")
