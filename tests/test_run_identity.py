"""Run identity: the code version covers every file a run depends on; run ids change with
what changes numbers and with nothing else; a store written by other code is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from _cli_helpers import check_rejected
from _cli_helpers import main_inprocess as main

from model.params import defaults
from model.runs import batch
from model.runs.manifest import git_commit, package_versions
from model.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent


def _imported_model_files(module: str) -> set[Path]:
    """Files of every ``model`` module that importing ``module`` loads (a fresh process)."""
    code = (f"import sys, {module}; "
            "print('\\n'.join(m.__file__ for n, m in list(sys.modules.items()) "
            "if n.startswith('model') and getattr(m, '__file__', None)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return {Path(line).resolve() for line in out.split()}


@pytest.mark.parametrize("module", ["model.simulation", "model.runs.runner", "model.runs.batch"])
def test_code_version_covers_every_module_a_run_imports(module):
    covered = {p.resolve() for p in batch.result_sources()}
    imported = _imported_model_files(module)
    # package __init__ files of layers above the model (runs/, analysis/) hold no rules
    imported = {p for p in imported if not (p.name == "__init__.py"
                                            and p.parent.name in ("runs", "analysis", "ui"))}
    missing = sorted(str(p.relative_to(ROOT)) for p in imported - covered)
    assert not missing, f"modules a run imports but the code version does not hash: {missing}"


def test_code_version_covers_kernels_and_data():
    names = {p.relative_to(ROOT / "model").as_posix() for p in batch.result_sources()}
    assert "core/kernels.py" in names
    assert any(n.startswith("data/kz/") and n.endswith(".csv") for n in names)
    # the CLI, plots and executor do not change numbers
    assert not any(n.startswith(("ui/", "analysis/")) for n in names)
    assert "runs/execution.py" not in names and "runs/plots.py" not in names


def test_code_version_changes_when_a_kernel_changes(monkeypatch):
    before = batch.code_version()
    kernels = (ROOT / "model" / "core" / "kernels.py").resolve()
    real = Path.read_bytes

    def edited(self: Path) -> bytes:
        data = real(self)
        return data + b"\n# an edit\n" if self.resolve() == kernels else data

    monkeypatch.setattr(Path, "read_bytes", edited)
    batch.code_version.cache_clear()
    try:
        assert batch.code_version() != before
    finally:
        monkeypatch.undo()
        batch.code_version.cache_clear()
    assert batch.code_version() == before


def test_code_version_includes_numpy_and_numba_versions(monkeypatch):
    from importlib import metadata

    before = batch.code_version()
    real = metadata.version
    monkeypatch.setattr(metadata, "version",
                        lambda name: "0.0-other" if name == "numba" else real(name))
    batch.code_version.cache_clear()
    try:
        assert batch.code_version() != before
    finally:
        monkeypatch.undo()
        batch.code_version.cache_clear()
    assert batch.code_version() == before


def _id(scenario: Scenario, seed: int = 1) -> str:
    return batch.make_run_id("emigsim", scenario, {}, seed)


def test_run_id_ignores_name_description_and_source():
    base = Scenario(scale=100)
    assert _id(base) == _id(replace(base, name="renamed", description="reworded",
                                    source="/somewhere/else.toml"))


def test_run_id_ignores_explicit_defaults():
    base = Scenario(scale=100)
    explicit = replace(base, overrides={"age_peak": defaults()["age_peak"]})
    assert _id(base) == _id(explicit)


@pytest.mark.parametrize("change", [
    {"scale": 101.0}, {"end": 2017}, {"start": 2013},
    {"params": {**defaults(), "age_peak": 30.0}},
])
def test_run_id_changes_with_what_changes_numbers(change):
    base = Scenario(scale=100)
    assert _id(base) != _id(replace(base, **change))
    assert _id(base, seed=1) != _id(base, seed=2)


# --- the CLI -----------------------------------------------------------------------------------

RUN = ["run", "baseline", "--end", "2012", "--scale", "4000", "--seed", "3", "--replicates",
       "2", "--quiet"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_resume_into_a_store_of_other_code_is_refused(work, capsys):
    code, _, err = main([*RUN, "--out", "r"], capsys)
    assert code == 0, err
    batch_file = work / "r" / "store" / "batch.json"
    record = json.loads(batch_file.read_text())
    assert record["code_version"] == batch.code_version()
    record["code_version"] = "0123456789ab"
    batch_file.write_text(json.dumps(record))
    check_rejected(*main([*RUN, "--out", "r"], capsys), "--fresh")
    err = main([*RUN, "--out", "r"], capsys)[2]
    assert "other model code" in err and "0123456789ab" in err
    code, out, _ = main([*RUN, "--out", "r", "--fresh"], capsys)
    assert code == 0 and "(0 of 2 runs reused)" in out


def test_renamed_scenario_reuses_its_runs_and_takes_the_new_name(work, capsys):
    (work / "a.toml").write_text(f'extends = "{ROOT / "scenarios" / "baseline.toml"}"\n'
                                 'name = "first_name"\n'
                                 'description = "one wording"\n')
    (work / "b.toml").write_text(f'extends = "{ROOT / "scenarios" / "baseline.toml"}"\n'
                                 'name = "second_name"\n'
                                 'description = "another wording"\n')
    args = RUN[2:]
    assert main(["run", "a.toml", "--out", "r", *args], capsys)[0] == 0
    code, out, _ = main(["run", "b.toml", "--out", "r", *args], capsys)
    assert code == 0 and "(2 of 2 runs reused)" in out
    series = pd.read_csv(work / "r" / "series.csv")
    assert set(series["scenario"]) == {"second_name"}


def test_compare_of_two_equal_scenarios_keeps_both(work, capsys):
    (work / "twin.toml").write_text(f'extends = "{ROOT / "scenarios" / "baseline.toml"}"\n'
                                 'name = "twin"\n')
    code, _, err = main(["compare", "baseline", "twin.toml", "--out", "c", *RUN[2:]], capsys)
    assert code == 0, err
    series = pd.read_csv(work / "c" / "series.csv")
    assert set(series["scenario"]) == {"baseline", "twin"}
    a = series[series["scenario"] == "baseline"].drop(columns="scenario").reset_index(drop=True)
    b = series[series["scenario"] == "twin"].drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_manifest_records_the_compiler_and_executor_versions(work, capsys):
    versions = package_versions()
    for name in ("numba", "llvmlite", "dask", "distributed", "numpy"):
        assert versions[name], name
    assert main([*RUN, "--out", "r"], capsys)[0] == 0
    m = json.loads((work / "r" / "manifest.json").read_text())
    assert m["versions"]["numba"] == versions["numba"]
    assert m["versions"]["llvmlite"] == versions["llvmlite"]
    assert m["code_version"] == batch.code_version()


# --- the git commit in the manifest -------------------------------------------------------------

def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


def test_git_commit_ignores_a_hostile_repository_in_the_working_directory(work, monkeypatch):
    hostile = work / "hostile"
    hostile.mkdir()
    _git("init", "-q", cwd=hostile)
    marker = work / "fsmonitor-ran"
    hook = hostile / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    _git("config", "core.fsmonitor", str(hook), cwd=hostile)
    (hostile / "f.txt").write_text("x")
    _git("add", "f.txt", cwd=hostile)
    _git("commit", "-qm", "x", cwd=hostile)
    marker.unlink(missing_ok=True)
    monkeypatch.chdir(hostile)
    info = git_commit()
    assert not marker.exists(), "git ran the repository's fsmonitor"
    assert info["repo"] != str(hostile)
    # a copy of the package inside that repository (an installed, non-editable copy) records
    # nothing, and still runs nothing
    pkg = hostile / "site" / "model"
    pkg.mkdir(parents=True)
    assert git_commit(pkg) == {"commit": None, "dirty": None, "repo": None}
    assert not marker.exists()


def test_git_commit_never_runs_the_repositorys_fsmonitor(work):
    repo = work / "checkout"
    (repo / "model").mkdir(parents=True)
    _git("init", "-q", cwd=repo)
    marker = work / "fsmonitor-ran"
    hook = repo / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    (repo / "model" / "x.py").write_text("x = 1\n")
    _git("add", "model/x.py", cwd=repo)
    _git("commit", "-qm", "x", cwd=repo)
    _git("config", "core.fsmonitor", str(hook), cwd=repo)
    # plain git status runs the hook (so this test can fail) ...
    subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True)
    assert marker.exists()
    marker.unlink()
    # ... the manifest's git calls do not, and still record this checkout's commit
    info = git_commit(repo / "model")
    assert not marker.exists(), "git ran the repository's fsmonitor"
    assert info["commit"] and len(info["commit"]) == 40 and info["dirty"] is False
