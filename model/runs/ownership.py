"""What emigsim wrote in a folder: its marker, its temporary names, removing only its files.

An output folder belongs to the user; emigsim only borrows the names it wrote there. So:

- every folder emigsim writes holds a marker, ``.emigsim-output`` (JSON: tool, marker
  version, kind, and the files and folders emigsim wrote), kept up to date before every
  change, so that whatever a kill leaves behind is listed;
- every temporary name starts with ``.emigsim-tmp-`` and carries the writer's process id
  and host (:func:`temp_name`); a later run removes those whose process is gone
  (:func:`clean_stale_temporaries`), and only those;
- files are removed by list (:func:`remove_listed`): the listed files, then listed folders
  that are then empty; never a whole tree that emigsim did not make.

Examples
--------
>>> import pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_marker(d, "run", files=["series.csv"], folders=[])
>>> read_marker(d)["files"]
['series.csv']
>>> temp_name(d, "series.csv").name.startswith(".emigsim-tmp-")
True
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import sys
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["MARKER", "MARKER_VERSION", "TEMP_PREFIX", "temp_name", "parse_temp_name",
           "make_temp_dir", "clean_stale_temporaries", "read_marker", "write_marker",
           "remove_listed", "probe_writable", "safe_relative", "umask"]

MARKER = ".emigsim-output"
"""The marker file of a folder emigsim writes."""

MARKER_VERSION = 1
"""Bumped when a key of the marker changes meaning."""

TEMP_PREFIX = ".emigsim-tmp-"
"""Start of every temporary name emigsim makes in a user's folder."""

# .emigsim-tmp-<pid>-<host hash>-<random>[.<final name>]
_TEMP_RE = re.compile(r"^\.emigsim-tmp-(\d+)-([0-9a-f]{8})-([0-9a-f]{8})(?:\..+)?$")


def _host_hash(host: str | None = None) -> str:
    name = socket.gethostname() if host is None else host
    return hashlib.sha1(name.encode()).hexdigest()[:8]


def umask() -> int:
    """The process's umask (read without changing it for good)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_name(folder: str | Path, final: str = "", *, pid: int | None = None,
              host: str | None = None) -> Path:
    """A new temporary path in ``folder``: ``.emigsim-tmp-<pid>-<host>-<random>[.<final>]``.

    The process id and a hash of the host name let a later run tell a temporary of a
    process that is gone (removable) from one still being written.

    Examples
    --------
    >>> p = temp_name("/data/out", "series.csv", pid=42, host="h")
    >>> p.parent.as_posix(), p.name.split("-")[2], p.name.endswith(".series.csv")
    ('/data/out', '42', True)
    >>> parse_temp_name(p.name)[0]
    42
    """
    pid = os.getpid() if pid is None else pid
    suffix = f".{Path(final).name}" if final else ""
    return Path(folder) / f"{TEMP_PREFIX}{pid}-{_host_hash(host)}-{uuid.uuid4().hex[:8]}{suffix}"


def parse_temp_name(name: str) -> tuple[int, str] | None:
    """``(pid, host hash)`` of one of our temporary names, or None for any other name.

    Examples
    --------
    >>> parse_temp_name(".emigsim-tmp-12-0123abcd-89abcdef.csv")
    (12, '0123abcd')
    >>> parse_temp_name(".emigsim-tmp-notes") is None
    True
    """
    m = _TEMP_RE.match(name)
    return None if m is None else (int(m.group(1)), m.group(2))


def make_temp_dir(folder: str | Path) -> Path:
    """Make a temporary folder of ours in ``folder`` with an ordinary folder's mode.

    Examples
    --------
    >>> import tempfile
    >>> make_temp_dir(tempfile.mkdtemp()).is_dir()
    True
    """
    path = temp_name(folder)
    path.mkdir(mode=0o777 & ~umask())
    return path


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _warn(message: str) -> None:
    print(f"emigsim: warning: {message}", file=sys.stderr)


def clean_stale_temporaries(folder: str | Path,
                            report: Callable[[str], None] = _warn) -> list[Path]:
    """Remove temporaries of ours in ``folder`` whose process on this host is gone.

    Only names of :func:`temp_name`'s pattern count; one of a live process, or made on
    another host (a shared file system), is left alone, and so is every other name. One
    line on stderr (``report``) says what was removed.

    Returns
    -------
    list of Path
        What was removed.

    Examples
    --------
    >>> import tempfile
    >>> clean_stale_temporaries(tempfile.mkdtemp())
    []
    """
    folder = Path(folder)
    here = _host_hash()
    removed, pids = [], set()
    try:
        entries = sorted(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    for path in entries:
        parsed = parse_temp_name(path.name)
        if parsed is None or parsed[1] != here or _alive(parsed[0]):
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)  # a folder of this very name was made by make_temp_dir
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
        pids.add(parsed[0])
    if removed:
        what = "temporary" if len(removed) == 1 else "temporaries"
        report(f"removed {len(removed)} stale {what} of killed emigsim process(es) "
               f"{', '.join(map(str, sorted(pids)))} from {folder}")
    return removed


def safe_relative(rel: str) -> str:
    """``rel`` as a clean relative POSIX path inside a folder, or ValueError.

    Examples
    --------
    >>> safe_relative("figures/a.png")
    'figures/a.png'
    >>> safe_relative("../x")
    Traceback (most recent call last):
    ...
    ValueError: '../x' is outside the folder
    """
    p = PurePosixPath(rel)
    if not isinstance(rel, str) or not rel or p.is_absolute() or ".." in p.parts \
            or p.as_posix() in (".", ""):
        raise ValueError(f"{rel!r} is outside the folder")
    return p.as_posix()


def read_marker(folder: str | Path) -> dict[str, Any] | None:
    """The folder's marker, or None when there is none or it is not a valid one of ours.

    Valid: JSON with ``"tool": "emigsim"``, an integer ``marker_version`` not above
    :data:`MARKER_VERSION`, and ``files`` and ``folders`` lists of relative paths.
    """
    path = Path(folder) / MARKER
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tool") != "emigsim":
        return None
    version = data.get("marker_version")
    if not isinstance(version, int) or not 1 <= version <= MARKER_VERSION:
        return None
    for key in ("files", "folders"):
        items = data.get(key)
        if not isinstance(items, list):
            return None
        try:
            data[key] = [safe_relative(x) for x in items]
        except (ValueError, TypeError):
            return None
    return data


def write_marker(folder: str | Path, kind: str, files: Iterable[str],
                 folders: Iterable[str]) -> None:
    """Write the folder's marker atomically (a temporary of ours, then a rename)."""
    folder = Path(folder)
    data = {"tool": "emigsim", "marker_version": MARKER_VERSION, "kind": kind,
            "about": "emigsim wrote the files and folders listed here and replaces or "
                     "removes only these; any other file in this folder is yours",
            "files": sorted({safe_relative(f) for f in files}),
            "folders": sorted({safe_relative(f) for f in folders})}
    tmp = temp_name(folder, MARKER)
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, folder / MARKER)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_listed(root: str | Path, files: Iterable[str], folders: Iterable[str]) -> list[Path]:
    """Remove the listed files under ``root``, then the listed folders that are then empty.

    A listed name that is missing, or a listed "file" that is a folder, is skipped; a
    folder that still holds anything (a file of the user's) stays. Deepest folders go
    first, so ``["b", "b/c"]`` removes both when empty.

    Returns
    -------
    list of Path
        What was removed.

    Raises
    ------
    ValueError
        For a name outside ``root`` (before anything is removed).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "f").mkdir(); (d / "f" / "a").write_text("x"); (d / "f" / "mine").write_text("y")
    1
    1
    >>> [p.name for p in remove_listed(d, ["f/a"], ["f"])], sorted(p.name for p in d.rglob("*"))
    (['a'], ['f', 'mine'])
    """
    root = Path(root)
    files = [safe_relative(f) for f in files]
    folders = sorted({safe_relative(f) for f in folders}, key=lambda f: -f.count("/"))
    removed = []
    for rel in files:
        path = root / rel
        if path.is_symlink() or path.is_file():
            path.unlink()
            removed.append(path)
    for rel in folders:
        path = root / rel
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()
            removed.append(path)
    return removed


def probe_writable(folder: str | Path) -> None:
    """Create, rename and delete a file of ours in ``folder``; raise OSError if any fails.

    What the output writers do (temporaries beside final names, then renames), checked
    before any work, so a read-only folder is refused before a model runs.

    Examples
    --------
    >>> import tempfile
    >>> probe_writable(tempfile.mkdtemp())
    """
    folder = Path(folder)
    probe = temp_name(folder, "probe")
    moved = temp_name(folder, "probe")
    try:
        with open(probe, "x"):
            pass
        os.replace(probe, moved)
    finally:
        probe.unlink(missing_ok=True)
        moved.unlink(missing_ok=True)
