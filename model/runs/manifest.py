"""Run manifests: everything needed to tell how an output folder was made.

Every output folder gets a ``manifest.json`` with the fully resolved scenario, the seeds,
the population size, package versions, the git commit and the command line (DESIGN.md
section 8). The builder is shared by ``emigsim run`` and the batch commands.

Examples
--------
>>> from model.runs.manifest import package_versions
>>> sorted(package_versions())[:3]
['SALib', 'dask', 'distributed']
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import model
from model.drivers import drivers_for
from model.runs.batch import code_version
from model.runs.ownership import make_temp_dir, temp_name
from model.scenario import Scenario

__all__ = ["MANIFEST_VERSION", "build_manifest", "package_versions", "git_commit",
           "write_json_atomic", "to_jsonable"]

MANIFEST_VERSION = 1
"""Bumped when a key of the manifest changes meaning or disappears."""

_PACKAGES = ("numpy", "numba", "llvmlite", "pandas", "pyarrow", "mesa", "scipy", "matplotlib",
             "SALib", "dask", "distributed")


def package_versions() -> dict[str, str | None]:
    """Return the versions of Python, emigsim and the scientific packages (None if absent).

    Examples
    --------
    >>> v = package_versions()
    >>> v["python"].count(".")
    2
    """
    versions: dict[str, str | None] = {"python": platform.python_version(),
                                       "emigsim": model.__version__}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# Settings that stop git from running anything a repository's configuration names: the
# fsmonitor hook (an arbitrary program), hooks, and pagers or editors.
_SAFE_GIT = ["-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null",
             "-c", "core.pager=cat", "--no-optional-locks"]


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *_SAFE_GIT, *args], cwd=cwd, capture_output=True,
                             text=True, timeout=10, check=False,
                             env={**os.environ, "GIT_OPTIONAL_LOCKS": "0",
                                  "GIT_TERMINAL_PROMPT": "0"})
    except (OSError, subprocess.SubprocessError):
        # No git installed, or a hung repository: the manifest records null, not a crash.
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_commit(package_dir: Path | None = None) -> dict[str, Any]:
    """Return ``{"commit": sha or None, "dirty": bool or None, "repo": path or None}``.

    Only the repository that holds the ``model`` package itself counts (an editable
    install or a checkout): its top level must contain this very package folder. For an
    installed copy, or when run from inside some other repository, nothing is recorded:
    the working directory's repository is never consulted, since its commit says nothing
    about the code that ran and its configuration could run programs (``core.fsmonitor``),
    which git is told not to do.

    Parameters
    ----------
    package_dir : Path, optional
        The package folder (default: where ``model`` was imported from).

    Examples
    --------
    >>> sorted(git_commit())
    ['commit', 'dirty', 'repo']
    >>> import tempfile
    >>> git_commit(Path(tempfile.mkdtemp()))["commit"] is None
    True
    """
    none = {"commit": None, "dirty": None, "repo": None}
    folder = (package_dir or Path(model.__file__).parent).resolve()
    top = _git(["rev-parse", "--show-toplevel"], folder)
    if top is None or (Path(top).resolve() / folder.name) != folder:
        return none
    commit = _git(["rev-parse", "HEAD"], folder)  # None in a repo without commits
    status = _git(["status", "--porcelain", "--untracked-files=no", "--", folder.name],
                  Path(top))
    return {"commit": commit, "dirty": None if status is None else bool(status), "repo": top}


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars and arrays, paths and datetimes to plain JSON types (NaN -> None).

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"n": np.int64(3), "x": [np.float32(0.5)]})
    {'n': 3, 'x': [0.5]}
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    # numpy scalars and arrays both have tolist(); avoids importing numpy here.
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":
        return to_jsonable(value.tolist())
    # NaN and inf are not JSON; null keeps the file readable by every JSON parser.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def build_manifest(scenario: Scenario, results: Any, argv: Sequence[str], started: datetime,
                   ended: datetime, *, seed: int | None = None,
                   extra: dict | None = None) -> dict[str, Any]:
    """Return the manifest of one run (or batch) as a JSON-ready dict.

    Parameters
    ----------
    scenario : Scenario
        The scenario as run (after command-line overrides).
    results : Results
        Needs ``results.info`` with ``n_households``, ``n_persons``, ``scale``,
        ``replicate_seeds`` and ``runtime_s``; missing entries are recorded as null.
    argv : sequence of str
        The command line (usually ``sys.argv``).
    started, ended : datetime
        Wall-clock start and end; timezone-aware ones are recorded with their offset.
    seed : int, optional
        The seed given by the user (replicate seeds are derived from it).
    extra : dict, optional
        More keys for callers (e.g. the list of files written).

    Returns
    -------
    dict
        Keys: ``manifest_version``, ``tool``, ``scenario``, ``drivers`` (every exogenous
        series with its last observed year and the projection after it), ``seed``,
        ``replicates``, ``replicate_seeds``, ``n_households``, ``n_persons``, ``scale``, ``runtime_s``,
        ``versions``, ``git_commit``, ``git_dirty``, ``command``, ``cwd``, ``platform``,
        ``started``, ``ended``, ``posterior`` (``path``, ``sha256``, ``n_draws``,
        ``parameters`` and ``draws``, the draw of each replicate, the same for every
        scenario; or a text saying why there was none, e.g. ``"none (file missing)"``;
        ``scenario`` holds the scenario's own values, before any draw), plus ``extra``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> from types import SimpleNamespace
    >>> now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> res = SimpleNamespace(info={"replicate_seeds": [7, 8], "n_households": 10})
    >>> m = build_manifest(Scenario(), res, ["emigsim", "run"], now, now, seed=1)
    >>> (m["seed"], m["replicates"], m["started"], m["scenario"]["name"])
    (1, 2, '2024-01-01T00:00:00+00:00', 'baseline')
    >>> m["drivers"][0]["name"], m["drivers"][0]["projection"]
    ('ladder', {'projection': 'hold'})
    """
    info = dict(getattr(results, "info", {}) or {})
    replicate_seeds = list(info.get("replicate_seeds") or [])
    git = git_commit()
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "tool": "emigsim",
        "scenario": scenario.resolved(),
        "drivers": drivers_for(scenario.drivers).assumptions(),
        "seed": seed if seed is not None else info.get("seed"),
        "replicates": len(replicate_seeds) or None,
        "replicate_seeds": replicate_seeds,
        "n_households": info.get("n_households"),
        "n_persons": info.get("n_persons"),
        "scale": info.get("scale", scenario.scale),
        "runtime_s": info.get("runtime_s"),
        "versions": package_versions(),
        "code_version": code_version(),
        "git_commit": git["commit"],
        "git_dirty": git["dirty"],
        "command": list(argv),
        "cwd": os.getcwd(),
        "platform": platform.platform(),
        "started": started.isoformat(),
        "ended": ended.isoformat(),
        "posterior": info.get("posterior"),
    }
    manifest.update(extra or {})
    return to_jsonable(manifest)


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON so that readers never see a half-written file.

    The text goes to a temporary file in the same folder, which then replaces ``path``
    (a rename within one file system is atomic).

    Examples
    --------
    >>> import tempfile, json, pathlib
    >>> p = write_json_atomic(pathlib.Path(tempfile.mkdtemp()) / "m.json", {"a": 1})
    >>> json.loads(p.read_text())
    {'a': 1}
    """
    path = Path(path)
    text = json.dumps(to_jsonable(data), indent=2, ensure_ascii=False, allow_nan=False)
    # our temporary name (pid-stamped, so a later run can remove it after a kill); opened
    # with "x" and the umask's ordinary mode, not mkstemp's private 0600
    tmp = temp_name(path.parent, path.name)
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path



def output_temp_dir(beside: Path) -> Path:
    """A temporary folder of ours next to ``beside``, with the mode of an ordinary folder.

    Named as every emigsim temporary (:func:`model.runs.ownership.temp_name`), so a run
    that is killed leaves nothing a later run will not clean. The output writers stage
    inside the output folder instead (:func:`model.runs.outputs.staged`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = output_temp_dir(pathlib.Path(tempfile.mkdtemp()) / "out")
    >>> d.is_dir(), d.name.startswith(".emigsim-tmp-")
    (True, True)
    """
    beside = Path(beside)
    beside.parent.mkdir(parents=True, exist_ok=True)
    return make_temp_dir(beside.parent)
