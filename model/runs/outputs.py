"""The one output writer: output folders, CSV tables, figures and manifests, atomically.

``emigsim run``, ``compare`` and ``sensitivity`` and ``em.run(out=...)`` write their
folders through this module:

- :func:`check_output_folder` decides, before any work, whether a folder may be written
  or replaced (the one place that rule lives);
- a single run is written whole into a temporary sibling folder and swapped in
  (:func:`write_run_folder`): a failure leaves the earlier output as it was;
- a batch keeps its resumable ``store/`` in the folder, so its outputs are replaced
  piece by piece (:func:`write_batch_folder`): ``manifest.json`` is removed first and
  written last, so a folder with a manifest is always a complete output;
- every file is written under a temporary name and renamed, and ``figures/`` is drawn
  into a temporary folder and swapped in (:func:`write_figures`).

Examples
--------
>>> import pathlib, tempfile
>>> import pandas as pd
>>> out = pathlib.Path(tempfile.mkdtemp()) / "o"
>>> check_output_folder(out)
>>> write_csv_atomic(pd.DataFrame({"a": [1]}), out / "t.csv").read_text()
'a\\n1\\n'
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from model.runs.manifest import build_manifest, output_temp_dir, write_json_atomic
from model.runs.results import DESIGN_COLUMNS
from model.scenario import Scenario

__all__ = ["OUT_ALLOWED", "OutputFolderError", "check_output_folder", "has_batch_store",
           "swap_in", "write_csv_atomic", "write_series_csv", "write_figures",
           "run_figures", "mark_unfinished", "write_manifest", "write_run_folder",
           "write_batch_folder", "WrittenFolder"]

OUT_ALLOWED = "a new folder, an empty one, or an earlier emigsim output folder"
"""What an output folder may be (the ``allowed:`` part of the error)."""


class OutputFolderError(ValueError):
    """The output folder may not be written or replaced; one line saying why."""


def has_batch_store(out: Path) -> bool:
    """True when ``out`` holds the result store of a batch (``store/shards/``)."""
    return (Path(out) / "store" / "shards").is_dir()


def check_output_folder(out: str | Path, shown: str | None = None) -> None:
    """Refuse output folders we could not write or must not replace, before any work.

    Allowed: a new folder under a writable one, an empty folder, a folder with
    ``manifest.json`` (an earlier emigsim output), or one with ``store/shards/`` (a batch
    that was interrupted, which a re-run resumes). Never the working directory or a
    folder holding it, since replacing a folder renames it away.

    Parameters
    ----------
    out : str or Path
        The output folder.
    shown : str, optional
        How the folder is named in the message (default ``'<out>'``), e.g. the option
        that gave it.

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
    ...     print(str(exc).split(", so")[0].endswith("is a non-empty folder without manifest.json"))
    True
    """
    out = Path(out)
    shown = f"'{out}'" if shown is None else shown
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"{shown} exists and is not a folder; allowed: {OUT_ALLOWED}")
    if out.is_dir():
        resolved, cwd = out.resolve(), Path.cwd().resolve()
        # Replacing a folder renames it away: never do that to where the user stands.
        if resolved == cwd or resolved in cwd.parents:
            raise OutputFolderError(f"{shown} contains the working directory; allowed: "
                                    f"{OUT_ALLOWED}")
        # store/ without manifest.json is a batch that was interrupted: resumable, ours.
        if any(out.iterdir()) and not (out / "manifest.json").is_file() \
                and not has_batch_store(out):
            raise OutputFolderError(f"{shown} is a non-empty folder without manifest.json, so "
                                    f"not an emigsim output; allowed: {OUT_ALLOWED}")
    existing = out.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OutputFolderError(f"{shown} cannot be created: {existing} is not a writable "
                                "folder; allowed: a path under a writable folder")


def swap_in(tmp: Path, out: Path) -> None:
    """Put the finished ``tmp`` folder in place of ``out``; restore ``out`` if that fails.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "new").mkdir(); (d / "new" / "f").write_text("x")
    1
    >>> swap_in(d / "new", d / "out"); sorted(p.name for p in d.iterdir())
    ['out']
    """
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def write_csv_atomic(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` without its index under a temporary name, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
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
    tmp = _temp_name(path)
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
    """Draw figures into a temporary folder beside ``folder``, then swap it in.

    ``draw(tmp)`` writes the figure files into ``tmp`` and returns their paths; a failure
    leaves the earlier ``folder`` as it was. Returns the paths inside ``folder``.

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
    tmp = output_temp_dir(folder)
    try:
        names = [Path(f).name for f in draw(tmp)]
        swap_in(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [folder / name for name in names]


def run_figures(series: pd.DataFrame, folder: Path) -> list[Path]:
    """The standard run figures of a tidy table, with the official numbers beside them."""
    from model.datasets import observed
    from model.runs.plots import write_run_figures

    return [Path(f) for f in write_run_figures(series, folder, observed=observed())]


def mark_unfinished(out: Path) -> None:
    """Remove ``manifest.json``: until a new one lands the folder reads as unfinished."""
    (Path(out) / "manifest.json").unlink(missing_ok=True)


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
                     argv: Sequence[str], started: datetime,
                     ended: datetime) -> WrittenFolder:
    """Write a single run's folder whole into a temporary sibling, then swap it in.

    ``results`` has ``series`` and ``info`` (a :class:`~model.runs.results.ResultSet`).
    Files: ``series.csv``, ``figures/``, then ``manifest.json``. Anything that fails
    leaves the earlier ``out`` as it was and no temporary folder behind.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A sibling, not /tmp: the final rename must stay on one file system to be atomic.
    tmp = output_temp_dir(out)
    try:
        results.series.to_csv(tmp / "series.csv", index=False)
        (tmp / "figures").mkdir()
        figures = [f.resolve().relative_to(tmp.resolve())
                   for f in run_figures(results.series, tmp / "figures")]
        files = ["series.csv", *(f.as_posix() for f in figures)]
        write_manifest(tmp, scenario, results.info, argv, started, ended, seed=seed,
                       extra={"files": files})
        swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return WrittenFolder(out, len(results.series), [out / f for f in figures])


def write_batch_folder(out: Path, scenarios: Sequence[Scenario], results: Any, *,
                       seed: int, argv: Sequence[str], started: datetime,
                       batch: dict) -> WrittenFolder:
    """Write the outputs of a finished batch of ``run`` or ``compare`` beside its store.

    ``series.csv`` (every scenario), ``figures/``, ``differences.csv`` when there are
    several scenarios (each minus the first, paired by replicate), then
    ``manifest.json`` (with ``batch``: total, done, skipped, failed).
    """
    out = Path(out)
    scenario = scenarios[0]
    series = results.series
    # Outputs of an earlier state of the folder are replaced piece by piece; without
    # manifest.json the folder reads as unfinished until the new manifest lands.
    mark_unfinished(out)
    write_csv_atomic(series, out / "series.csv")
    figures = write_figures(out / "figures", lambda tmp: run_figures(series, tmp))
    files = ["series.csv", *(f"figures/{f.name}" for f in figures)]
    differences = None
    if len(scenarios) > 1:
        differences = write_csv_atomic(results.paired_differences(scenario.name),
                                       out / "differences.csv")
        files.append("differences.csv")
    write_manifest(out, scenario, results.info, argv, started, datetime.now(started.tzinfo),
                   seed=seed, extra={"files": files, "store": "store",
                                     "scenarios": [sc.resolved() for sc in scenarios],
                                     "batch": batch})
    return WrittenFolder(out, len(series), figures, differences)
