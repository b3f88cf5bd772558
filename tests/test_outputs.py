"""Output folders never lose a user's data (issue 10 items 1, 2 and 13).

- emigsim recognises its own output folders positively (the ``.emigsim-output`` marker, or
  the manifest schema of an earlier version) and replaces only what it wrote there;
- an ``--out`` that is a mount point works, a read-only one is refused before any run, and
  ``--fresh`` keeps the old store until the new batch's outputs are in place;
- temporaries a killed run left behind are removed by the next run into the same place,
  and only those.

Mount points and read-only folders are made with tmpfs (the tests run as root in CI); where
mounting is not permitted the tests that need it are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _cli_helpers import check_rejected
from _cli_helpers import main_inprocess as main

import model as em
from model.runs import batch

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--end", "2012", "--scale", "4000", "--seed", "5", "--workers", "0", "--quiet"]
USER_MANIFEST = '{"title": "my survey of emigration", "version": 3}\n'


def files(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (dot-files included) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_model(monkeypatch):
    """Make any simulation fail the test: refusals must come before the model runs."""
    import model.runs.runner as runner

    def ran(*args, **kwargs):
        raise AssertionError("the model ran")

    monkeypatch.setattr(runner, "run", ran)
    monkeypatch.setitem(batch.MODELS, "emigsim", ran)


def user_folder(path: Path) -> Path:
    """A folder of the user's: their own manifest.json, notes, the scenario, a figure."""
    path.mkdir()
    (path / "manifest.json").write_text(USER_MANIFEST)
    (path / "notes.txt").write_text("field notes")
    shutil.copy(ROOT / "scenarios" / "baseline.toml", path / "baseline.toml")
    (path / "figures").mkdir()
    (path / "figures" / "mine.png").write_bytes(b"my own plot")
    return path


# --- item 1: only emigsim's own outputs are replaced, and only what it wrote -----------------

FOREIGN = {
    "single run": ["run", "baseline"],
    "batch": ["run", "baseline", "--replicates", "2"],
    "compare": ["compare", "baseline", "pessimism_shock", "--replicates", "2"],
    "single run --fresh": ["run", "baseline", "--fresh"],
}


@pytest.mark.parametrize("args", FOREIGN.values(), ids=FOREIGN.keys())
def test_a_folder_with_a_foreign_manifest_is_refused_untouched(work, args, no_model, capsys):
    # before: the single run deleted all four user files; the batch deleted figures/mine.png
    # and the user's manifest.json
    out = user_folder(work / "mine")
    before = files(out)
    check_rejected(*main([*args, "--out", "mine", *SMALL], capsys),
                   "key '--out' = 'mine' is a folder emigsim did not write")
    assert files(out) == before


def test_sensitivity_refuses_a_foreign_manifest_untouched(work, no_model, capsys):
    from model.analysis.experiment import load_experiment
    from model.analysis.sensitivity import run_experiment
    from model.runs.outputs import OutputFolderError

    out = user_folder(work / "mine")
    before = files(out)
    check_rejected(*main(["sensitivity", "morris_screening", "--out", "mine", "--workers",
                          "0", "--quiet"], capsys), "is a folder emigsim did not write")
    exp = load_experiment(ROOT / "experiments" / "morris_screening.toml")
    with pytest.raises(OutputFolderError, match="did not write"):
        run_experiment(exp, out, workers=0, progress=False)
    assert files(out) == before


def test_em_run_refuses_a_foreign_manifest_untouched(work, no_model):
    from model.runs.outputs import OutputFolderError

    out = user_folder(work / "mine")
    before = files(out)
    for replicates in (1, 2):
        with pytest.raises(OutputFolderError, match="did not write"):
            em.run(ROOT / "scenarios" / "baseline.toml", replicates=replicates, out=out,
                   workers=0)
    assert files(out) == before


def test_a_manifest_of_another_schema_is_not_ours(work, no_model, capsys):
    # "tool": "emigsim" alone is not enough: the schema must be the one emigsim writes
    out = work / "o"
    out.mkdir()
    (out / "manifest.json").write_text('{"tool": "emigsim", "files": "all of them"}')
    (out / "series.csv").write_text("mine")
    before = files(out)
    check_rejected(*main(["run", "baseline", "--out", "o", *SMALL], capsys), "did not write")
    assert files(out) == before


@pytest.fixture(scope="module")
def single_output(tmp_path_factory) -> Path:
    """One single-run output folder written by the CLI (copied by the tests that change it)."""
    from model.ui import cli

    out = tmp_path_factory.mktemp("outputs") / "single"
    assert cli.main(["run", "baseline", "--out", str(out), *SMALL]) == 0
    return out


def test_the_marker_lists_what_emigsim_wrote(single_output):
    marker = json.loads((single_output / ".emigsim-output").read_text())
    assert marker["tool"] == "emigsim" and marker["kind"] == "run"
    assert marker["marker_version"] == 1
    listed = set(marker["files"])
    written = {p.relative_to(single_output).as_posix() for p in single_output.rglob("*")
               if p.is_file() and p.name != ".emigsim-output"}
    assert listed == written
    assert {"series.csv", "manifest.json", "figures/emigrants.png"} <= listed
    assert marker["folders"] == ["figures"]
    manifest = json.loads((single_output / "manifest.json").read_text())
    assert manifest["tool"] == "emigsim" and manifest["manifest_version"] >= 1


@pytest.mark.parametrize("replicates", ["1", "2"])
def test_user_files_in_an_emigsim_output_survive_a_rerun(single_output, work, replicates,
                                                         capsys):
    # before: the single run's folder swap deleted notes.txt and .hidden
    out = work / "o"
    shutil.copytree(single_output, out)
    (out / "notes.txt").write_text("my notes")
    (out / ".hidden").write_text("my settings")
    (out / "drafts").mkdir()
    (out / "drafts" / "d.txt").write_text("a draft")
    code, _, err = main(["run", "baseline", "--out", "o", *SMALL[2:], "--scale", "3000",
                         "--replicates", replicates], capsys)
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / ".hidden").read_text() == "my settings"
    assert (out / "drafts" / "d.txt").read_text() == "a draft"
    assert json.loads((out / "manifest.json").read_text())["scale"] == 3000
    assert "drafts" not in json.loads((out / ".emigsim-output").read_text())["folders"]


def test_old_outputs_that_are_not_written_again_are_removed(single_output, work, capsys):
    # a compare folder becomes a single run: its store/ and differences.csv were emigsim's
    args = ["compare", "baseline", "pessimism_shock", "--out", "o", "--replicates", "2",
            *SMALL]
    assert main(args, capsys)[0] == 0
    assert (work / "o" / "differences.csv").is_file()
    (work / "o" / "notes.txt").write_text("mine")
    assert main(["run", "baseline", "--out", "o", "--fresh", *SMALL], capsys)[0] == 0
    assert sorted(p.name for p in (work / "o").iterdir()) == [
        ".emigsim-output", "figures", "manifest.json", "notes.txt", "series.csv"]


@pytest.mark.parametrize("user_file", ["differences.csv", "figures/notes.txt"])
def test_a_user_file_where_emigsim_would_write_is_refused(single_output, work, user_file,
                                                           no_model, capsys):
    # before: the comparison overwrote the user's differences.csv; the re-run deleted
    # figures/notes.txt with the old figures
    out = work / "o"
    shutil.copytree(single_output, out)
    (out / user_file).write_text("the user's own table")
    before = files(out)
    check_rejected(*main(["compare", "baseline", "pessimism_shock", "--out", "o",
                          "--replicates", "2", *SMALL], capsys),
                   f"holds {user_file}, which emigsim did not write")
    assert files(out) == before


def test_an_output_of_an_earlier_version_is_recognised_by_its_manifest(single_output, work,
                                                                      capsys):
    # no marker (written before markers existed): the manifest's schema and files list
    # say what emigsim wrote; anything else stays
    out = work / "o"
    shutil.copytree(single_output, out)
    (out / ".emigsim-output").unlink()
    (out / "notes.txt").write_text("mine")
    assert main(["run", "baseline", "--out", "o", *SMALL], capsys)[0] == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / ".emigsim-output").is_file()


def test_remove_listed_removes_only_listed_files_then_empty_folders(tmp_path):
    from model.runs.ownership import remove_listed

    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "c").mkdir(parents=True)
    for name in ("a/x", "a/user", "b/c/z", "top"):
        (tmp_path / name).write_text(name)
    removed = remove_listed(tmp_path, files=["a/x", "b/c/z", "missing", "a"],
                            folders=["a", "b", "b/c", "nope"])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in removed) == [
        "a/x", "b", "b/c", "b/c/z"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "a", "a/user", "top"]
    with pytest.raises(ValueError, match="outside"):
        remove_listed(tmp_path, files=["../elsewhere"], folders=[])


# --- item 2: mount points, read-only folders, --fresh -----------------------------------------

def _mount(path: Path, *options: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the CI runs as root)")
    proc = subprocess.run(["mount", "-t", "tmpfs", *options, "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {proc.stderr.strip()}")


@pytest.fixture
def mount_point(work):
    path = work / "mnt"
    path.mkdir()
    _mount(path, "-o", "size=64m")
    yield path
    subprocess.run(["umount", "-l", str(path)], check=False)


def _make_read_only(path: Path) -> None:
    """Read-only for this user: a remounted tmpfs for root (who ignores mode bits)."""
    if os.geteuid() == 0:
        proc = subprocess.run(["mount", "-o", "remount,ro", str(path)], capture_output=True,
                              text=True, check=False)
        assert proc.returncode == 0, proc.stderr
    else:
        path.chmod(0o555)


@pytest.fixture
def read_only(work):
    """A read-only folder: a tmpfs remounted read-only as root, else chmod 555."""
    path = work / "ro"
    path.mkdir()
    if os.geteuid() == 0:
        _mount(path, "-o", "size=16m")
    yield path
    if os.geteuid() == 0:
        subprocess.run(["umount", "-l", str(path)], check=False)
    else:
        path.chmod(0o755)


@pytest.mark.parametrize(("earlier", "replicates"), [(False, "1"), (True, "1"), (True, "2")],
                         ids=["empty", "with an earlier output", "batch"])
def test_out_may_be_a_mount_point(mount_point, single_output, earlier, replicates, capsys):
    # before: the whole model ran, then renaming the folder failed with EBUSY (traceback)
    if earlier:
        for p in single_output.iterdir():
            (shutil.copytree if p.is_dir() else shutil.copy2)(p, mount_point / p.name)
        (mount_point / "notes.txt").write_text("mine")
    code, _, err = main(["run", "baseline", "--out", "mnt", "--replicates", replicates,
                         *SMALL], capsys)
    assert code == 0, err
    assert (mount_point / "manifest.json").is_file()
    assert (mount_point / "figures" / "emigrants.png").is_file()
    assert not [p for p in mount_point.iterdir() if "tmp" in p.name]
    if earlier:
        assert (mount_point / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("where", ["the folder", "a new folder in it"])
@pytest.mark.parametrize("replicates", ["1", "2"])
def test_a_read_only_out_is_refused_before_any_run(read_only, single_output, where,
                                                    replicates, no_model, capsys):
    # before: the whole model ran, then writing failed with EROFS (a traceback)
    if where == "the folder":
        for p in single_output.iterdir():
            (shutil.copytree if p.is_dir() else shutil.copy2)(p, read_only / p.name)
        target = "ro"
    else:
        target = "ro/new"
    _make_read_only(read_only)
    before = files(read_only)
    check_rejected(*main(["run", "baseline", "--out", target, "--replicates", replicates,
                          *SMALL], capsys), "is not writable")
    assert files(read_only) == before


def test_em_run_refuses_a_read_only_out(read_only, no_model):
    from model.runs.outputs import OutputFolderError

    _make_read_only(read_only)
    with pytest.raises(OutputFolderError, match="not writable"):
        em.run(ROOT / "scenarios" / "baseline.toml", out=read_only)


def _store_runs(store: Path) -> set[str]:
    from model.runs.store import ResultStore

    return ResultStore(store).done_ids()


def test_fresh_keeps_the_old_store_until_the_new_outputs_are_written(work, capsys,
                                                                     monkeypatch):
    # before: --fresh deleted the old store at once, so a new batch that failed (or was
    # killed) left neither the old runs nor new ones
    args = ["run", "baseline", "--out", "r", "--replicates", "2", *SMALL]
    assert main(args, capsys)[0] == 0
    old_runs = _store_runs(work / "r" / "store")
    old_outputs = {k: v for k, v in files(work / "r").items()
                   if not k.startswith(("store/", ".emigsim-output"))}

    real = batch.MODELS["emigsim"]

    def broken(spec):
        raise RuntimeError("model blew up")

    monkeypatch.setitem(batch.MODELS, "emigsim", broken)
    changed = [a if a != "2012" else "2013" for a in args]
    code, _, err = main([*changed, "--fresh"], capsys)
    assert code == 1 and "model blew up" in err
    # the old runs were moved aside inside the folder, whole, and the message says where
    (aside,) = (work / "r").glob("store.old-*")
    assert _store_runs(aside) == old_runs
    assert aside.name in err
    assert {k: v for k, v in files(work / "r").items()
            if not k.startswith(("store/", "store.old-", ".emigsim-output"))} == old_outputs
    assert aside.name in json.loads((work / "r" / ".emigsim-output").read_text())["folders"]

    # the new batch completes: its outputs are written, and only then the old store goes
    monkeypatch.setitem(batch.MODELS, "emigsim", real)
    code, out, err = main([*changed, "--fresh"], capsys)
    assert code == 0, err
    assert not list((work / "r").glob("store.old-*"))
    assert _store_runs(work / "r" / "store").isdisjoint(old_runs)
    assert json.loads((work / "r" / "manifest.json").read_text())["scenario"]["end"] == 2013
    assert "store.old" not in (work / "r" / ".emigsim-output").read_text()


def test_a_user_file_in_a_store_is_kept_when_the_store_is_discarded(work, capsys):
    args = ["run", "baseline", "--out", "r", "--replicates", "2", *SMALL]
    assert main(args, capsys)[0] == 0
    (work / "r" / "store" / "README.txt").write_text("what these runs were for")
    assert main([*args, "--fresh", "--replicates", "1"], capsys)[0] == 0
    (aside,) = (work / "r").glob("store.old-*")
    assert [p.name for p in aside.iterdir()] == ["README.txt"]


_KILLED_IN_A_FRESH_BATCH = """
import os, signal, sys
sys.path.insert(0, {root!r})
from model.runs import batch
from model.ui import cli

real = batch.MODELS["emigsim"]
calls = []

def dies_on_the_second_run(spec):
    calls.append(spec)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(spec)

batch.MODELS["emigsim"] = dies_on_the_second_run
cli.main(["run", "baseline", "--out", "r", "--replicates", "3", "--fresh", "--end", "2013",
          "--scale", "4000", "--seed", "5", "--workers", "0", "--quiet"])
"""


def test_a_fresh_batch_killed_midway_leaves_the_old_store_whole(work, capsys):
    # before: --fresh had deleted the old store when the kill came: its runs were lost
    args = ["run", "baseline", "--out", "r", "--replicates", "2", *SMALL]
    assert main(args, capsys)[0] == 0
    old_runs = _store_runs(work / "r" / "store")
    old_series = (work / "r" / "series.csv").read_bytes()
    proc = subprocess.run([sys.executable, "-c",
                           _KILLED_IN_A_FRESH_BATCH.format(root=str(ROOT))],
                          cwd=work, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (aside,) = (work / "r").glob("store.old-*")
    assert _store_runs(aside) == old_runs  # the old batch, whole
    assert len(_store_runs(work / "r" / "store")) == 1  # the new batch, one run done
    # the old outputs are still the folder's, so the old batch is restored by renaming
    assert (work / "r" / "series.csv").read_bytes() == old_series
    assert aside.name in json.loads((work / "r" / ".emigsim-output").read_text())["folders"]

    # the same command without --fresh resumes the new batch; once its outputs are in
    # place the old store goes
    resume = ["run", "baseline", "--out", "r", "--replicates", "3", "--end", "2013",
              "--scale", "4000", *SMALL[4:]]
    code, out, err = main(resume, capsys)
    assert code == 0, err
    assert "(1 of 3 runs reused)" in out
    assert not list((work / "r").glob("store.old-*"))


# --- item 13: temporaries of killed runs ------------------------------------------------------

_KILLED_WHILE_DRAWING = """
import os, signal, sys, types
sys.path.insert(0, {root!r})

def write_run_figures(series, outdir, observed=None):
    (outdir / "emigrants.png").write_bytes(b"half a figure")
    os.kill(os.getpid(), signal.SIGKILL)

sys.modules["model.runs.plots"] = types.SimpleNamespace(write_run_figures=write_run_figures)
from model.ui import cli
cli.main(["run", "baseline", "--out", "o", "--end", "2012", "--scale", "4000", "--quiet"])
"""


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporaries_of_a_killed_run_are_cleaned_by_the_next_run(single_output, work, capsys):
    # before: the killed run's temporary folder stayed beside the output for good
    out = work / "o"
    shutil.copytree(single_output, out)
    (out / ".mine").write_text("a user's dot-file")
    (work / ".other").write_text("another dot-file")
    proc = subprocess.run([sys.executable, "-c", _KILLED_WHILE_DRAWING.format(root=str(ROOT))],
                          cwd=work, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = sorted({*work.iterdir(), *out.iterdir()} - {out, work / ".other", out / ".mine"}
                  - set(single_output.iterdir()) - {out / p.name for p in
                                                    single_output.iterdir()})
    assert left, "the kill left no temporary to clean"

    code, _, err = main(["run", "baseline", "--out", "o", *SMALL[:-1]], capsys)
    assert code == 0, err
    assert sorted(p.name for p in work.iterdir()) == [".other", "o"]
    assert sorted(p.name for p in out.iterdir()) == [
        ".emigsim-output", ".mine", "figures", "manifest.json", "series.csv"]
    cleaned = [line for line in err.splitlines() if "stale" in line]
    assert len(cleaned) == 1 and "removed" in cleaned[0], err


def test_only_stale_temporaries_of_ours_are_removed(tmp_path):
    from model.runs.ownership import clean_stale_temporaries, temp_name

    dead = _dead_pid()
    stale_file = temp_name(tmp_path, "series.csv", pid=dead)
    stale_file.write_text("half")
    stale_dir = temp_name(tmp_path, pid=dead)
    (stale_dir / "figures").mkdir(parents=True)
    (stale_dir / "figures" / "a.png").write_bytes(b"x")
    live = temp_name(tmp_path, "manifest.json", pid=1)  # init: always alive
    live.write_text("{}")
    mine = temp_name(tmp_path, "series.csv")  # this process: alive
    mine.write_text("x")
    for name in (".hidden", ".emigsim-tmp-notes", ".emigsim-tmp-12-ab"):
        (tmp_path / name).write_text("the user's")
    lines: list[str] = []
    removed = clean_stale_temporaries(tmp_path, report=lines.append)
    assert sorted(removed) == sorted([stale_file, stale_dir])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, mine.name, ".hidden", ".emigsim-tmp-notes", ".emigsim-tmp-12-ab"])
    assert len(lines) == 1 and "2 stale temporaries" in lines[0] and str(dead) in lines[0]
    assert clean_stale_temporaries(tmp_path, report=lines.append) == [] and len(lines) == 1


def test_a_temporary_of_another_host_is_left_alone(tmp_path):
    from model.runs.ownership import clean_stale_temporaries, temp_name

    other = temp_name(tmp_path, "x", pid=_dead_pid(), host="another-machine")
    other.write_text("x")
    assert clean_stale_temporaries(tmp_path, report=lambda line: None) == []
    assert other.exists()


def test_series_written_are_identical_through_the_new_writer(single_output, work):
    # the writer changed, the table did not: em.run writes the CLI's bytes
    em.run(em.load_scenario(ROOT / "scenarios" / "baseline.toml").with_run(end=2012,
                                                                           scale=4000),
           seed=5, out=work / "py")
    assert (work / "py" / "series.csv").read_bytes() == \
        (single_output / "series.csv").read_bytes()
    pd.testing.assert_frame_equal(pd.read_csv(work / "py" / "series.csv"),
                                  pd.read_csv(single_output / "series.csv"))


def test_temporary_folders_of_the_earlier_version_are_cleaned_when_an_hour_old(single_output,
                                                                              work, capsys):
    # before: .figures.tmp-* and .<out>.tmp-* of killed runs stayed for good
    out = work / "o"
    shutil.copytree(single_output, out)
    old = [out / ".figures.tmp-ab12cd34", work / ".o.tmp-x1y2z3w4"]
    young = work / ".o.tmp-young123"
    swap = work / ".o.old-1a2b3c4d"  # an old swap's folder may hold the user's files: kept
    for p in [*old, young, swap]:
        p.mkdir()
        (p / "series.csv").write_text("half")
    hour_ago = os.path.getmtime(out) - 7200
    for p in [*old, swap]:
        os.utime(p, (hour_ago, hour_ago))
    code, _, err = main(["run", "baseline", "--out", "o", *SMALL], capsys)
    assert code == 0, err
    assert not any(p.exists() for p in old)
    assert young.exists() and swap.exists()
    assert "earlier emigsim version" in err
