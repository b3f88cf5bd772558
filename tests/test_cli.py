"""The emigsim command line: one-line errors with exit 2, help, params, atomic output."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
from _cli_helpers import check_rejected, main_inprocess

from model.params import REGISTRY
from model.ui import cli

ROOT = Path(__file__).resolve().parent.parent


def emigsim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python -m model`` as a user would (the package need not be installed)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "model", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- bad input: exit 2, one line, nothing written --------------------------------------------

BAD = {
    "missing scenario name": (["run", "basline"], "basline: file not found"),
    "missing scenario path": (["run", "nope/x.toml"], "x.toml: file not found"),
    "start too early": (["run", "baseline", "--start", "2011"], "key '--start'"),
    "end too late": (["run", "baseline", "--end", "2051"], "key '--end'"),
    "start not a number": (["run", "baseline", "--start", "soon"], "key '--start'"),
    "start after file end": (["run", "baseline", "--start", "2019"], "key '--start'"),
    "end before start": (["run", "baseline", "--start", "2015", "--end", "2014"],
                         "key '--start'"),
    "end before file start": (["run", "late.toml", "--end", "2014"], "key '--end'"),
    "scale zero": (["run", "baseline", "--scale", "0"], "key '--scale'"),
    "scale nan": (["run", "baseline", "--scale", "nan"], "key '--scale'"),
    "scale text": (["run", "baseline", "--scale", "big"], "key '--scale'"),
    "replicates zero": (["run", "baseline", "--replicates", "0"], "key '--replicates'"),
    "replicates float": (["run", "baseline", "--replicates", "2.5"], "key '--replicates'"),
    "seed negative": (["run", "baseline", "--seed", "-1"], "key '--seed'"),
    "unknown option": (["run", "baseline", "--sead", "3"], "unrecognized arguments"),
    "scenario error": (["run", "bad.toml"], "bad.toml: key 'params.age_pek'"),
    "scenario syntax": (["run", "broken.toml"], "broken.toml: is not valid TOML"),
}


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "bad.toml").write_text("[params]\nage_pek = 40\n")
    (tmp_path / "broken.toml").write_text("[run\n")
    (tmp_path / "late.toml").write_text("[run]\nstart = 2016\nend = 2018\n")
    return tmp_path




@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_bad_input_exits_2_with_one_line_and_writes_nothing(workdir, case, capsys, monkeypatch):
    # In-process for speed; the subprocess test below covers the real entry point.
    monkeypatch.chdir(workdir)
    args, expected = case
    out = workdir / "out"
    check_rejected(*main_inprocess([*args, "--out", str(out)], capsys), expected)
    assert not out.exists()
    assert sorted(p.name for p in workdir.iterdir()) == ["bad.toml", "broken.toml", "late.toml"]


@pytest.mark.parametrize("case", ["missing scenario name", "start too early", "unknown option",
                                  "scenario error"])
def test_bad_input_as_subprocess(workdir, case):
    args, expected = BAD[case]
    out = workdir / "out"
    proc = emigsim(*args, "--out", str(out), cwd=workdir)
    check_rejected(proc.returncode, proc.stdout, proc.stderr, expected)
    assert not out.exists()
    assert sorted(p.name for p in workdir.iterdir()) == ["bad.toml", "broken.toml", "late.toml"]


def test_did_you_mean_for_scenario_names(workdir, capsys):
    _, _, err = main_inprocess(["run", "basline", "--out", str(workdir / "o")], capsys)
    assert "did you mean 'baseline'?" in err


def test_bad_input_leaves_earlier_output_untouched(workdir, capsys):
    out = workdir / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    (out / "series.csv").write_text("old")
    before = snapshot(out)
    check_rejected(*main_inprocess(["run", "baseline", "--out", str(out), "--end", "1900"],
                                   capsys), "key '--end'")
    assert snapshot(out) == before


@pytest.mark.parametrize("kind", ["file", "foreign folder", "cwd"])
def test_refuses_outputs_it_must_not_replace(workdir, kind, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    if kind == "file":
        target = workdir / "bad.toml"
    elif kind == "foreign folder":
        target = workdir / "mine"
        target.mkdir()
        (target / "thesis.tex").write_text("precious")
    else:
        target = workdir
    before = snapshot(workdir)
    check_rejected(*main_inprocess(["run", "baseline", "--out", str(target)], capsys),
                   "key '--out'")
    assert snapshot(workdir) == before


@pytest.mark.parametrize("args", [["frob"], [], ["run"], ["run", "baseline"],
                                  ["params", "--md"]], ids=" ".join)
def test_usage_errors_exit_2(args, capsys):
    check_rejected(*main_inprocess(args, capsys), "emigsim: error: ")


# --- help and params ---------------------------------------------------------------------------

def test_help(tmp_path):
    top = emigsim("--help", cwd=tmp_path)
    assert top.returncode == 0
    assert "run" in top.stdout and "params" in top.stdout and "examples:" in top.stdout


def test_run_help_describes_defaults(capsys):
    code, out, _ = main_inprocess(["run", "--help"], capsys)
    assert code == 0
    for text in ("--out", "--seed", "--replicates", "--start", "--end", "--scale", "--quiet",
                 "default: 1", "baseline", "examples:"):
        assert text in out
    assert main_inprocess(["params", "--help"], capsys)[0] == 0


def test_version(capsys):
    code, out, _ = main_inprocess(["--version"], capsys)
    assert code == 0 and out.startswith("emigsim ")


def _param_lines(text: str) -> list[str]:
    """The first line of every parameter (not indented, not a role heading or header)."""
    return [line for line in text.splitlines()
            if line and not line.startswith(" ") and ": " not in line.split()[0]
            and not line.startswith("name ") and not line.split()[0].endswith(":")]


def test_params_prints_every_registry_name_with_description_and_source(tmp_path):
    proc = emigsim("params", cwd=tmp_path)
    assert proc.returncode == 0
    text = proc.stdout
    lines = text.splitlines()
    assert lines[0].startswith("behaviour: ")
    assert lines[1].split() == ["name", "default", "bounds", "unit", "prior"]
    # grouped by role: behaviour, then structural, then context
    names = [line.split()[0] for line in _param_lines(text)]
    assert sorted(names) == sorted(REGISTRY)
    roles = [REGISTRY[n].role for n in names]
    assert roles == sorted(roles, key=["behaviour", "structural", "context"].index)
    flat = " ".join(text.split())  # undo the wrapping
    for p in REGISTRY.values():
        assert " ".join(p.doc.split()) in flat
        assert "source: " + " ".join(p.source.split()) in flat


def test_params_wraps_to_a_narrow_terminal(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    proc = emigsim("params", cwd=tmp_path)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 60
    names = [line.split()[0] for line in lines if line and not line.startswith(" ")
             and " = " in line]
    assert sorted(names) == sorted(REGISTRY)
    flat = " ".join(proc.stdout.split())
    assert " ".join(REGISTRY["immigrants_2012"].source.split()) in flat


def test_params_role_filter(capsys):
    assert cli.main(["params", "--role", "structural"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in _param_lines(out)]
    assert names == [p.name for p in REGISTRY.values() if p.role == "structural"]
    assert "sex_ratio_birth" in names and "asc_emigrate" not in names


def test_params_help_names_the_docs_file(capsys):
    code, out, _ = main_inprocess(["params", "--help"], capsys)
    assert code == 0
    assert "docs/parameters.md" in out and "docs/params.md" not in out
    code, out, _ = main_inprocess(["--help"], capsys)
    assert "docs/parameters.md" in out and "docs/params.md" not in out


def test_params_markdown(capsys):
    assert cli.main(["params", "--markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| name | default | bounds | unit | source |")
    assert "| role | prior |" in lines[0]
    assert len(lines) == 2 + len(REGISTRY)
    ncols = lines[0].count("|")
    for name, line in zip(REGISTRY, lines[2:], strict=True):
        assert line.startswith(f"| `{name}` |")
        assert line.count("|") - line.count("\\|") == ncols


def test_bare_name_prefers_cwd_scenarios(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.resolve_scenario_path("baseline") == cli.shipped_scenarios_dir() / "baseline.toml"
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "baseline.toml").write_text("")
    assert cli.resolve_scenario_path("baseline") == Path("scenarios/baseline.toml")
    assert cli.resolve_scenario_path("baseline.toml") == Path("scenarios/baseline.toml")


# --- run with a fake model: outputs, manifest, atomic replacement ------------------------------

class FakeResults:
    def __init__(self, scenario, seed, replicates):
        seeds = [seed * 100 + r for r in range(replicates)]
        rows = [{"scenario": scenario.name, "replicate": r, "seed": s, "year": y,
                 "metric": "new_emigrants", "group": "all", "value": 1000.0 + y}
                for r, s in enumerate(seeds) for y in range(scenario.start, scenario.end + 1)]
        self.series = pd.DataFrame(rows)
        self.info = {"n_households": 86000, "n_persons": 320000, "scale": scenario.scale,
                     "replicate_seeds": seeds, "runtime_s": 0.01}


@pytest.fixture
def fake_model(monkeypatch):
    """Stand-ins for model.runs.runner and model.runs.plots; ``calls`` records what run got."""
    calls: list[dict] = []
    behaviour = {"run_fails": False, "plot_fails": False}

    def run(scenario, *, seed=1, replicates=1, progress=False):
        calls.append({"scenario": scenario, "seed": seed, "replicates": replicates,
                      "progress": progress})
        if behaviour["run_fails"]:
            raise RuntimeError("model blew up")
        return FakeResults(scenario, seed, replicates)

    def write_run_figures(series, outdir, observed=None):
        assert observed is None or {"year", "metric", "value"} <= set(observed.columns)
        if behaviour["plot_fails"]:
            (outdir / "half.png").write_bytes(b"partial")
            raise RuntimeError("plot blew up")
        path = outdir / "new_emigrants.png"
        path.write_bytes(b"png")
        return [path]

    monkeypatch.setitem(sys.modules, "model.runs.runner", types.SimpleNamespace(run=run))
    monkeypatch.setitem(sys.modules, "model.runs.plots",
                        types.SimpleNamespace(write_run_figures=write_run_figures))
    return calls, behaviour


def test_run_writes_series_manifest_figures(tmp_path, fake_model, capsys):
    calls, _ = fake_model
    out = tmp_path / "runs" / "nocp"
    # One replicate: the in-process path with the atomic folder swap. Several replicates
    # go through the executor and a resumable store: tests/test_cli_batch.py.
    argv = ["run", "no_compatriot_programme", "--out", str(out), "--seed", "3",
            "--replicates", "1", "--end", "2020", "--scale", "200", "--quiet"]
    assert cli.main(argv) == 0
    (call,) = calls
    assert call["seed"] == 3 and call["replicates"] == 1 and call["progress"] is False
    assert call["scenario"].end == 2020 and call["scenario"].scale == 200.0
    assert call["scenario"].params["b_compatriot"] == 0.0

    assert sorted(p.name for p in out.iterdir()) == [".emigsim-output", "figures",
                                                     "manifest.json", "series.csv"]
    series = pd.read_csv(out / "series.csv")
    assert list(series.columns) == ["scenario", "replicate", "seed", "year", "metric", "group",
                                    "value"]
    assert (out / "figures" / "new_emigrants.png").is_file()

    m = json.loads((out / "manifest.json").read_text())
    assert m["scenario"]["name"] == "no_compatriot_programme"
    assert m["scenario"]["end"] == 2020 and m["scenario"]["scale"] == 200.0
    assert m["scenario"]["overrides"] == {"b_compatriot": 0.0}
    assert set(m["scenario"]["params"]) == set(REGISTRY)
    assert m["seed"] == 3 and m["replicate_seeds"] == [300] and m["replicates"] == 1
    assert (m["n_households"], m["n_persons"], m["scale"]) == (86000, 320000, 200.0)
    for pkg in ("python", "numpy", "pandas", "mesa", "scipy", "matplotlib", "SALib"):
        assert pkg in m["versions"]
    assert "git_commit" in m
    assert m["command"] == ["emigsim", *argv]
    assert m["started"] <= m["ended"] and "+00:00" in m["started"]
    assert m["files"] == ["series.csv", "figures/new_emigrants.png"]

    printed = capsys.readouterr()
    assert printed.err == ""  # --quiet
    assert "series.csv" in printed.out and "manifest.json" in printed.out
    assert "figures" in printed.out
    # No temporary folders left next to the output.
    assert sorted(p.name for p in out.parent.iterdir()) == ["nocp"]


def test_rerun_replaces_earlier_output_and_keeps_the_users_files(tmp_path, fake_model):
    out = tmp_path / "out"
    assert cli.main(["run", "baseline", "--out", str(out), "--quiet"]) == 0
    # a file emigsim did not write is the user's: it stays (tests/test_outputs.py)
    (out / "notes.txt").write_text("the user's")
    assert cli.main(["run", "baseline", "--out", str(out), "--quiet", "--end", "2013"]) == 0
    assert (out / "notes.txt").read_text() == "the user's"
    assert pd.read_csv(out / "series.csv")["year"].max() == 2013
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_empty_existing_folder_is_used(tmp_path, fake_model):
    out = tmp_path / "out"
    out.mkdir()
    assert cli.main(["run", "baseline", "--out", str(out), "--quiet"]) == 0
    assert (out / "manifest.json").is_file()


@pytest.mark.parametrize("failure", ["run_fails", "plot_fails"])
def test_failed_run_keeps_earlier_output(tmp_path, fake_model, failure):
    _, behaviour = fake_model
    out = tmp_path / "out"
    assert cli.main(["run", "baseline", "--out", str(out), "--quiet"]) == 0
    before = snapshot(out)
    behaviour[failure] = True
    with pytest.raises(RuntimeError, match="blew up"):
        cli.main(["run", "baseline", "--out", str(out), "--quiet", "--end", "2013"])
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_first_run_leaves_nothing(tmp_path, fake_model):
    _, behaviour = fake_model
    behaviour["plot_fails"] = True
    with pytest.raises(RuntimeError):
        cli.main(["run", "baseline", "--out", str(tmp_path / "out"), "--quiet"])
    assert list(tmp_path.iterdir()) == []


def test_progress_follows_quiet(tmp_path, fake_model, capsys):
    calls, _ = fake_model
    assert cli.main(["run", "baseline", "--out", str(tmp_path / "o")]) == 0
    assert calls[-1]["progress"] is True
    assert "running baseline 2012-2018" in capsys.readouterr().err


def test_bad_input_never_calls_the_model(tmp_path, fake_model, capsys):
    calls, _ = fake_model
    assert cli.main(["run", "baseline", "--out", str(tmp_path / "o"), "--scale", "-1"]) == 2
    assert calls == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "key '--scale'" in err
    assert not (tmp_path / "o").exists()


# --- end to end with the real model, once it exists ----------------------------------------------

_HAVE_MODEL = all(importlib.util.find_spec(m) is not None
                  for m in ("model.runs.runner", "model.runs.plots"))


@pytest.mark.slow
@pytest.mark.skipif(not _HAVE_MODEL, reason="model.runs.runner / model.runs.plots not written yet")
def test_end_to_end_real_model(tmp_path):
    out = tmp_path / "out"
    proc = emigsim("run", "baseline", "--out", str(out), "--end", "2013", "--scale", "2000",
                   "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    series = pd.read_csv(out / "series.csv")
    # Stocks are also recorded on 1 January after the last year, hence end + 1.
    assert set(series["year"]) <= {2012, 2013, 2014}
    assert series.loc[series["metric"] == "new_emigrants", "year"].max() == 2013
    assert list(series.columns) == ["scenario", "replicate", "seed", "year", "metric", "group",
                                    "value"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["n_households"] > 0 and len(m["replicate_seeds"]) == 1
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert {"emigrants.png", "choices.png", "emigrants_by_age.png",
            "emigrants_by_region.png"} <= set(pngs)
