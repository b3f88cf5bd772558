r"""The one output writer: output folders, CSV tables, figures and manifests, safely.

``emigsim run``, ``compare`` and ``sensitivity`` and ``em.run(out=...)`` write their
folders through this module. The folder is the user's; emigsim replaces only what it wrote
there (issue 10):

- :func:`check_output_folder` decides, before any work, whether a folder may be written
  (the one place that rule lives): a new or empty folder, or an emigsim output folder
  (:func:`owned`: its ``.emigsim-output`` marker, or the manifest schema of an earlier
  version) in which no file of the user's sits where emigsim would write; and it must be
  writable (a probe file of ours is created, renamed and deleted);
- outputs are written *into* the folder, never by renaming the folder itself (a mount point
  cannot be renamed): every new file is staged in a temporary folder of ours inside it, then
  moved to its final name file by file (:func:`commit_outputs`): ``manifest.json`` is
  removed first and put in place last, so a folder with a manifest is a complete output;
- the marker lists every file and folder emigsim wrote, old and new, before each change,
  so whatever a kill leaves behind is listed; files are removed by that list only
  (:func:`model.runs.ownership.remove_listed`), and a user's other files stay;
- temporaries of killed runs are removed by the next run into the same place
  (:func:`model.runs.ownership.clean_stale_temporaries`).

Examples
--------
>>> import pathlib, tempfile
>>> import pandas as pd
>>> out = pathlib.Path(tempfile.mkdtemp()) / "o"
>>> check_output_folder(out)
>>> write_csv_atomic(pd.DataFrame({"a": [1]}), out / "t.csv").read_text()
'a\n1\n'
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from model.runs.manifest import MANIFEST_VERSION, build_manifest, write_json_atomic
from model.runs.ownership import (
    MARKER,
    clean_stale_temporaries,
    make_temp_dir,
    parse_temp_name,
    probe_writable,
    read_marker,
    remove_listed,
    safe_relative,
    temp_name,
    write_marker,
)
from model.runs.results import DESIGN_COLUMNS
from model.runs.store import discard_store, is_aside
from model.scenario import Scenario

__all__ = ["OUT_ALLOWED", "WRITES", "OutputFolderError", "Owned", "owned",
           "check_output_folder", "has_batch_store", "claim_output_folder", "staged",
           "commit_outputs", "write_csv_atomic", "write_series_csv", "write_figures",
           "run_figures", "mark_unfinished", "write_manifest", "write_run_folder",
           "write_batch_folder", "WrittenFolder"]

OUT_ALLOWED = "a new folder, an empty one, or an earlier emigsim output folder"
"""What an output folder may be (the ``allowed:`` part of the error)."""

WRITES: dict[str | None, tuple[str, ...]] = {
    "run": ("series.csv", "manifest.json", "figures", "store"),
    "compare": ("series.csv", "manifest.json", "figures", "store", "differences.csv"),
    "sensitivity": ("design.csv", "outcomes.csv", "indices.csv", "noise.csv", "series.csv",
                    "manifest.json", "figures", "store"),
}
"""The names each command may write in its output folder (``figures`` and ``store`` are
folders); ``None``: any command."""
WRITES[None] = tuple(dict.fromkeys(n for names in list(WRITES.values()) for n in names))


class OutputFolderError(ValueError):
    """The output folder may not be written or replaced; one line saying why."""


def has_batch_store(out: Path) -> bool:
    """True when ``out`` holds the result store of a batch (``store/shards/``)."""
    return (Path(out) / "store" / "shards").is_dir()


@dataclass
class Owned:
    """What emigsim wrote in a folder: relative file and folder paths, and how we know."""

    files: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)
    source: str = "new"
    """``marker``, ``manifest`` (an earlier version's output), ``store`` (an earlier
    version's interrupted batch) or ``new`` (nothing yet)."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _our_manifest(path: Path) -> dict | None:
    """The manifest at ``path`` if it has the schema emigsim writes, else None."""
    m = _read_json(path)
    if not isinstance(m, dict) or m.get("tool") != "emigsim":
        return None
    version = m.get("manifest_version")
    if not isinstance(version, int) or not 1 <= version <= MANIFEST_VERSION:
        return None
    if not isinstance(m.get("files"), list) or not isinstance(m.get("command"), list) \
            or not isinstance(m.get("scenario"), dict):
        return None
    try:
        m["files"] = [safe_relative(f) for f in m["files"]]
    except (ValueError, TypeError):
        return None
    return m


def owned(out: str | Path) -> Owned | None:
    """What emigsim wrote in ``out``, or None when nothing shows it is an emigsim output.

    Recognised positively: the ``.emigsim-output`` marker (listing the files and folders);
    for folders written before markers existed, a ``manifest.json`` of emigsim's schema
    (its ``files``, itself, ``figures/`` and ``store/``) or a bare interrupted batch
    (``store/shards/`` and ``store/batch.json``). A listed ``manifest.json`` that is no
    longer emigsim's (the user replaced it) is not counted as ours.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "manifest.json").write_text('{"title": "mine"}')
    >>> owned(d) is None
    True
    >>> write_marker(d, "run", ["series.csv"], [])
    >>> sorted(owned(d).files)
    ['series.csv']
    """
    out = Path(out)
    manifest = out / "manifest.json"
    marker = read_marker(out)
    if marker is not None:
        files = set(marker["files"])
        if "manifest.json" in files and manifest.exists() and _our_manifest(manifest) is None:
            files.discard("manifest.json")
        return Owned(files, set(marker["folders"]), "marker")
    if (out / MARKER).exists():
        return None  # a marker that is not a valid one of ours
    if manifest.is_file():
        m = _our_manifest(manifest)
        if m is None:
            return None
        files = {*m["files"], "manifest.json"}
        folders = {f.split("/")[0] for f in files if "/" in f}
        if "store" in m and has_batch_store(out):
            folders.add("store")
        return Owned(files, folders, "manifest")
    batch = _read_json(out / "store" / "batch.json")
    if has_batch_store(out) and isinstance(batch, dict) and "code_version" in batch:
        files = {"design.csv"} if batch.get("kind") == "sensitivity" else set()
        return Owned(files, {"store"}, "store")
    return None


def _first_clash(out: Path, own: Owned, kind: str | None) -> str | None:
    """The first path emigsim would write in ``out`` that holds something not its own."""
    for name in WRITES[kind]:
        path = out / name
        if not (path.exists() or path.is_symlink()):
            continue
        if name == "figures":
            if path.is_symlink() or not path.is_dir():
                return name
            for f in sorted(path.rglob("*")):
                rel = f.relative_to(out).as_posix()
                if (f.is_file() or f.is_symlink()) and rel not in own.files \
                        and parse_temp_name(f.name) is None:
                    return rel
        elif name == "store":
            if name not in own.folders or path.is_symlink():
                return "store/"
        elif name not in own.files:
            return name
    return None


def check_output_folder(out: str | Path, shown: str | None = None,
                        kind: str | None = None) -> None:
    """Refuse output folders we could not write or must not write into, before any work.

    Allowed: a new folder under a writable one, an empty folder, or an emigsim output
    folder (:func:`owned`) in which nothing of the user's sits where ``kind`` would write
    (a file of the user's elsewhere in it is fine and stays). Never the working directory
    or a folder holding it. The folder (or, when it does not exist yet, the nearest folder
    above it) must be writable: a probe file of ours is created, renamed and deleted.

    Parameters
    ----------
    out : str or Path
        The output folder.
    shown : str, optional
        How the folder is named in the message (default ``'<out>'``), e.g. the option
        that gave it.
    kind : {"run", "compare", "sensitivity"}, optional
        The command that will write (its names: :data:`WRITES`); default any.

    Raises
    ------
    OutputFolderError
        ``<shown> <problem>; allowed: ...``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "notes.txt").write_text("mine")
    4
    >>> try:
    ...     check_output_folder(d)
    ... except OutputFolderError as exc:
    ...     print(str(exc).split(" (")[0].endswith("is a folder emigsim did not write"))
    True
    """
    out = Path(out)
    shown = f"'{out}'" if shown is None else shown
    if out.is_symlink() and not out.exists():
        raise OutputFolderError(f"{shown} is a broken link; allowed: {OUT_ALLOWED}")
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"{shown} exists and is not a folder; allowed: {OUT_ALLOWED}")
    if out.is_dir():
        resolved, cwd = out.resolve(), Path.cwd().resolve()
        if resolved == cwd or resolved in cwd.parents:
            raise OutputFolderError(f"{shown} contains the working directory; allowed: "
                                    f"{OUT_ALLOWED}")
        entries = sorted(p.name for p in out.iterdir() if parse_temp_name(p.name) is None)
        if entries:
            own = owned(out)
            if own is None:
                raise OutputFolderError(
                    f"{shown} is a folder emigsim did not write (it holds {entries[0]} but "
                    f"no valid {MARKER} marker or emigsim manifest.json), so not an emigsim "
                    f"output; nothing was written; allowed: {OUT_ALLOWED}")
            clash = _first_clash(out, own, kind)
            if clash is not None:
                raise OutputFolderError(
                    f"{shown} holds {clash}, which emigsim did not write but would replace; "
                    f"allowed: move it out of the folder, or another output folder")
    target = out
    while not target.exists() and target != target.parent:
        target = target.parent
    if not target.is_dir():
        raise OutputFolderError(f"{shown} cannot be created: {target} is not a folder; "
                                "allowed: a path under a writable folder")
    try:
        probe_writable(target)
    except OSError as exc:
        where = "" if target == out else f" (it would be created in {target})"
        raise OutputFolderError(f"{shown} is not writable{where}: {exc.strerror or exc}; "
                                "allowed: a folder this user can write to") from None


def _make_folder(out: Path) -> list[Path]:
    """Create ``out`` and missing parents; return the folders made, outermost first."""
    missing = []
    p = out
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    out.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def _remove_made(made: Sequence[Path]) -> None:
    """Remove the folders :func:`_make_folder` made, innermost first, when they are empty."""
    for p in reversed(made):
        try:
            p.rmdir()
        except OSError:
            return


_LEGACY_AGE_S = 3600.0


def _clean_legacy_temporaries(out: Path) -> None:
    """Temporary folders of emigsim versions before pid-named temporaries, an hour old.

    ``<out>/.figures.tmp-XXXXXXXX`` and ``<parent>/.<out>.tmp-XXXXXXXX`` only ever held
    new outputs being drawn; a swap's ``.<out>.old-*`` may hold a user's files and is
    left alone.
    """
    import re

    now = time.time()
    candidates = [(out, re.compile(r"^\.figures\.tmp-[A-Za-z0-9_]{8}$")),
                  (out.parent, re.compile(rf"^\.{re.escape(out.name)}\.tmp-[A-Za-z0-9_]{{8}}$"))]
    removed = []
    for folder, pattern in candidates:
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for p in entries:
            try:
                old = now - p.lstat().st_mtime > _LEGACY_AGE_S
            except OSError:
                continue
            if pattern.match(p.name) and p.is_dir() and not p.is_symlink() and old:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    if removed:
        print(f"emigsim: warning: removed {len(removed)} stale temporary folder(s) of an "
              f"earlier emigsim version: {', '.join(str(p) for p in removed)}",
              file=sys.stderr)


def _clean(out: Path) -> None:
    clean_stale_temporaries(out)
    _clean_legacy_temporaries(out)


def _write_marker_if_changed(out: Path, kind: str, files: Iterable[str],
                             folders: Iterable[str]) -> None:
    files, folders = set(files), set(folders)
    marker = read_marker(out)
    if marker is not None and set(marker["files"]) == files \
            and set(marker["folders"]) == folders and marker.get("kind") == kind:
        return
    write_marker(out, kind, files, folders)


def claim_output_folder(out: str | Path, kind: str, files: Iterable[str] = (),
                        folders: Iterable[str] = ()) -> None:
    """Before writing ``files``/``folders`` into ``out``: list them in its marker first.

    Also removes stale temporaries of ours. The marker keeps everything emigsim wrote
    there before, so a kill at any later point leaves only listed names.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "o"
    >>> claim_output_folder(d, "batch", folders=["store"])
    >>> sorted(owned(d).folders)
    ['store']
    """
    out = Path(out)
    _make_folder(out)
    _clean(out)
    own = owned(out) or Owned()
    _write_marker_if_changed(out, kind, own.files | set(files), own.folders | set(folders))


@contextmanager
def staged(out: str | Path) -> Iterator[Path]:
    """A temporary folder of ours inside ``out`` for new outputs; removed on leaving.

    Inside the folder, not beside it: the final moves are renames within one file system,
    and nothing is written outside the output folder.
    """
    tmp = make_temp_dir(out)
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)  # made by make_temp_dir just now


def commit_outputs(out: str | Path, staging: Path, kind: str, files: Sequence[str], *,
                   kept: Sequence[str] = (), folders: Sequence[str] = (),
                   discard: Sequence[Path] = ()) -> None:
    r"""Move the staged ``files`` into ``out`` one by one; remove only old outputs of ours.

    Steps: the marker lists the old and the new names; ``manifest.json`` is removed;
    every staged file replaces its final name (``os.replace`` within the folder, so this
    works when ``out`` is a mount point); listed old files not written again are removed,
    and listed folders that are then empty; the new ``manifest.json`` is put in place;
    then the stores in ``discard`` and stores an earlier ``--fresh`` set aside are
    discarded (:func:`model.runs.store.discard_store`) and the marker lists what is there.

    Parameters
    ----------
    out : Path
        The output folder (checked by :func:`check_output_folder`).
    staging : Path
        Folder holding the new files under their relative names.
    kind : str
        Recorded in the marker (``run``, ``batch``, ``sensitivity``).
    files : sequence of str
        Relative names staged in ``staging``.
    kept : sequence of str
        Files already in place that belong to the new output (``design.csv``).
    folders : sequence of str
        Folders of the new output other than those holding ``files`` (``store``).
    discard : sequence of Path
        Stores set aside by ``--fresh`` for this output.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with staged(d) as tmp:
    ...     _ = (tmp / "series.csv").write_text("a\n")
    ...     commit_outputs(d, tmp, "run", ["series.csv"])
    >>> sorted(p.name for p in d.iterdir())
    ['.emigsim-output', 'series.csv']
    """
    out = Path(out)
    own = owned(out)
    if own is None and any(parse_temp_name(p.name) is None and p.name != MARKER
                           for p in out.iterdir()):
        raise OutputFolderError(f"'{out}' is a folder emigsim did not write; allowed: "
                                f"{OUT_ALLOWED}")
    own = own or Owned()
    new_files = {safe_relative(f) for f in (*files, *kept)}
    new_folders = set(folders) | {f.rsplit("/", 1)[0] for f in new_files if "/" in f}
    write_marker(out, kind, own.files | new_files, own.folders | new_folders)
    if (out / "manifest.json").exists() and "manifest.json" in own.files:
        mark_unfinished(out)
    for rel in sorted(set(files) - {"manifest.json"}):
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, dest)
    remove_listed(out, own.files - new_files,
                  [f for f in own.folders - new_folders if not is_aside(f)])
    if "manifest.json" in files:
        os.replace(staging / "manifest.json", out / "manifest.json")
    asides = [out / f for f in own.folders if is_aside(f)] + [Path(p) for p in discard]
    for store in asides:
        discard_store(store)
    write_marker(out, kind, {f for f in own.files | new_files if (out / f).is_file()},
                 {f for f in own.folders | new_folders if (out / f).is_dir()})


def write_csv_atomic(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` without its index under a temporary name, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path.parent, path.name)
    try:
        df.to_csv(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_series_csv(store: Any, run_ids: Sequence[str], path: str | Path,
                     columns: Sequence[str] = tuple(DESIGN_COLUMNS)) -> int:
    """Stream the runs' rows from the store's shards into one CSV; return the row count.

    One shard at a time is read (only the given runs and columns), so memory holds one
    shard, not the batch. The file is written under a temporary name and renamed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from model.runs.store import ResultStore
    >>> st = ResultStore(tempfile.mkdtemp())
    >>> _ = st.write_shard(pd.DataFrame({"run_id": ["a", "b"], "year": [2012, 2012],
    ...                                  "value": [1.0, 2.0]}))
    >>> write_series_csv(st, ["b"], pathlib.Path(st.path) / "s.csv", ["year", "value"])
    1
    """
    import pyarrow.parquet as pq

    path = Path(path)
    ids = list(run_ids)
    tmp = temp_name(path.parent, path.name)
    n = 0
    try:
        pd.DataFrame(columns=list(columns)).to_csv(tmp, index=False)
        for shard in store.shard_paths():
            table = pq.read_table(shard, columns=list(columns),
                                  filters=[("run_id", "in", ids)])
            if table.num_rows:
                table.to_pandas().to_csv(tmp, mode="a", header=False, index=False)
                n += table.num_rows
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def write_figures(folder: Path, draw: Callable[[Path], Sequence[str | Path]]) -> list[Path]:
    """Draw figures into a temporary folder of ours, then move them into ``folder`` one by one.

    ``draw(tmp)`` writes the figure files into ``tmp`` and returns their paths; a failure
    leaves the earlier ``folder`` as it was. Other files in ``folder`` stay. Returns the
    paths inside ``folder``. (The output commands stage figures with the rest of their
    outputs instead: :func:`commit_outputs`.)

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "figures"
    >>> def draw(tmp):
    ...     (tmp / "a.png").write_bytes(b"png")
    ...     return [tmp / "a.png"]
    >>> [p.name for p in write_figures(d, draw)]
    ['a.png']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with staged(folder) as tmp:
        names = [Path(f).name for f in draw(tmp)]
        for name in names:
            os.replace(tmp / name, folder / name)
    return [folder / name for name in names]


def run_figures(series: pd.DataFrame, folder: Path) -> list[Path]:
    """The standard run figures of a tidy table, with the official numbers beside them."""
    from model.datasets import observed
    from model.runs.plots import write_run_figures

    return [Path(f) for f in write_run_figures(series, folder, observed=observed())]


def mark_unfinished(out: Path) -> None:
    """Remove emigsim's ``manifest.json``: until a new one lands the folder reads unfinished.

    A ``manifest.json`` of any other schema is not emigsim's and is never removed.
    """
    manifest = Path(out) / "manifest.json"
    if manifest.is_file() and _our_manifest(manifest) is not None:
        manifest.unlink()


def write_manifest(out: Path, scenario: Scenario, info: dict, argv: Sequence[str],
                   started: datetime, ended: datetime, *, seed: int | None,
                   extra: dict) -> Path:
    """Write ``out/manifest.json`` (:func:`model.runs.manifest.build_manifest`), atomically.

    Written last: a folder with ``manifest.json`` is a complete emigsim output.
    """
    manifest = build_manifest(scenario, SimpleNamespace(info=info), argv, started, ended,
                              seed=seed, extra=extra)
    return write_json_atomic(Path(out) / "manifest.json", manifest)


@dataclass
class WrittenFolder:
    """What an output writer wrote: the folder, rows of ``series.csv``, figure paths."""

    out: Path
    rows: int
    figures: list[Path] = field(default_factory=list)
    differences: Path | None = None

    @property
    def series(self) -> Path:
        """Path of ``series.csv``."""
        return self.out / "series.csv"

    @property
    def manifest(self) -> Path:
        """Path of ``manifest.json``."""
        return self.out / "manifest.json"


def write_run_folder(out: Path, scenario: Scenario, results: Any, *, seed: int,
                     argv: Sequence[str], started: datetime, ended: datetime,
                     discard: Sequence[Path] = ()) -> WrittenFolder:
    """Write a single run's folder: staged inside it, then moved into place file by file.

    ``results`` has ``series`` and ``info`` (a :class:`~model.runs.results.ResultSet`).
    Files: ``series.csv``, ``figures/``, then ``manifest.json``; ``discard``: stores set
    aside by ``--fresh``, removed once the new files are in place. Anything that fails
    before the files move leaves the earlier ``out`` as it was, no temporary behind, and
    no folder that was not there before.
    """
    out = Path(out)
    made = _make_folder(out)
    try:
        _clean(out)
        with staged(out) as tmp:
            results.series.to_csv(tmp / "series.csv", index=False)
            (tmp / "figures").mkdir()
            figures = [f.resolve().relative_to(tmp.resolve()).as_posix()
                       for f in run_figures(results.series, tmp / "figures")]
            files = ["series.csv", *figures]
            write_manifest(tmp, scenario, results.info, argv, started, ended, seed=seed,
                           extra={"files": files})
            commit_outputs(out, tmp, "run", [*files, "manifest.json"], discard=discard)
    except BaseException:
        _remove_made(made)
        raise
    return WrittenFolder(out, len(results.series), [out / f for f in figures])


def write_batch_folder(out: Path, scenarios: Sequence[Scenario], results: Any, *,
                       seed: int, argv: Sequence[str], started: datetime,
                       batch: dict, discard: Sequence[Path] = ()) -> WrittenFolder:
    """Write the outputs of a finished batch of ``run`` or ``compare`` beside its store.

    ``series.csv`` (every scenario), ``figures/``, ``differences.csv`` when there are
    several scenarios (each minus the first, paired by replicate), then
    ``manifest.json`` (with ``batch``: total, done, skipped, failed); staged and moved
    into place as :func:`commit_outputs` does. ``discard``: stores set aside by
    ``--fresh``, removed once the new outputs are in place.
    """
    out = Path(out)
    scenario = scenarios[0]
    series = results.series
    _clean(out)
    with staged(out) as tmp:
        series.to_csv(tmp / "series.csv", index=False)
        (tmp / "figures").mkdir()
        figures = [Path(f).name for f in run_figures(series, tmp / "figures")]
        files = ["series.csv", *(f"figures/{name}" for name in figures)]
        if len(scenarios) > 1:
            results.paired_differences(scenario.name).to_csv(tmp / "differences.csv",
                                                             index=False)
            files.append("differences.csv")
        write_manifest(tmp, scenario, results.info, argv, started,
                       datetime.now(started.tzinfo), seed=seed,
                       extra={"files": files, "store": "store",
                              "scenarios": [sc.resolved() for sc in scenarios],
                              "batch": batch})
        commit_outputs(out, tmp, "batch", [*files, "manifest.json"], folders=["store"],
                       discard=discard)
    differences = out / "differences.csv" if len(scenarios) > 1 else None
    return WrittenFolder(out, len(series), [out / "figures" / n for n in figures],
                         differences)
