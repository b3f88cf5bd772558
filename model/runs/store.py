"""A directory store of batch results that survives being killed at any moment.

Layout of a store folder::

    store/
      batch.json          what the batch is (written once, before any run)
      shards/part-*.parquet   finished runs, tidy rows (one file per finished chunk)
      errors/<run_id>.json    runs that raised, with the error (retried on resume)

A shard is written to a temporary name and renamed into place (an atomic step on POSIX
file systems), so a shard either holds all rows of its runs or does not exist; the
set of finished runs is the set of ``run_id`` values in the shards. A batch killed with
SIGKILL and started again therefore skips exactly the runs that finished, loses none and
writes none twice.

Each shard records, in its Parquet metadata, how many rows each of its runs has, and
carries page checksums. A shard that cannot be read (truncated, empty), fails a checksum
or holds other row counts than it recorded is moved to ``quarantine/`` with one line on
stderr, and its runs count as not done, so the next resume redoes them. A run found in
two shards (two processes that wrote the same store) is read once.

One process at a time writes a store: :meth:`ResultStore.lock` takes an exclusive lock
(``store/.lock``, released by the system when the process ends, even by ``kill -9``); a
second batch on the same store is refused at once rather than made to wait.

Examples
--------
>>> import pandas as pd, tempfile
>>> st = ResultStore(tempfile.mkdtemp())
>>> _ = st.write_shard(pd.DataFrame({"run_id": ["a"], "year": [2012], "value": [1.0]}))
>>> sorted(st.done_ids())
['a']
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from model.runs.ownership import remove_listed

__all__ = ["ResultStore", "StoreError", "StoreLockedError", "StoreConflictError", "open_store",
           "set_aside", "is_aside", "discard_store", "store_files"]

_INDEX_KEY = b"emigsim.rows_per_run"


class StoreError(ValueError):
    """The folder is not a store of this batch (or is unreadable)."""


class StoreLockedError(StoreError):
    """Another process holds the store's lock (a batch is writing to it)."""


class StoreConflictError(StoreError):
    """The store folder holds only runs of another batch (or is not a store)."""


def _stderr_line(message: str) -> None:
    print(f"emigsim: warning: {message}", file=sys.stderr)


class ResultStore:
    """Parquet shards of the tidy long table plus the batch description and errors.

    Parameters
    ----------
    path : str or Path
        The store folder (created when missing).

    Examples
    --------
    >>> import tempfile
    >>> ResultStore(tempfile.mkdtemp()).load().empty
    True
    """

    def __init__(self, path: str | Path, report: Callable[[str], None] = _stderr_line):
        self.path = Path(path)
        self.shards = self.path / "shards"
        self.errors = self.path / "errors"
        self.quarantine = self.path / "quarantine"
        self.shards.mkdir(parents=True, exist_ok=True)
        self.errors.mkdir(exist_ok=True)
        self._report = report
        # verified shards: path -> (size, mtime_ns, {run_id: rows})
        self._index: dict[Path, tuple[int, int, dict[str, int]]] = {}
        self._lock_fd: int | None = None
        self.replaced: Path | None = None  # where --fresh moved the old store (open_store)

    # ------------------------------------------------------------------ lock
    def lock(self) -> None:
        """Take the store's exclusive lock for this process, or raise StoreLockedError.

        Held until :meth:`unlock` or the end of the process (the operating system drops
        it even after ``kill -9``, so a killed batch never leaves a stale lock).
        """
        if self._lock_fd is not None:
            return
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise StoreLockedError(f"{self.path} is being written by {holder}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"emigsim pid {os.getpid()}".encode(), 0)
        self._lock_fd = fd

    def __del__(self) -> None:
        self.unlock()

    def unlock(self) -> None:
        """Release the lock taken by :meth:`lock` (no-op when not held)."""
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    # ------------------------------------------------------------------ batch description
    @property
    def batch_file(self) -> Path:
        """Path of the batch description (``batch.json``)."""
        return self.path / "batch.json"

    def read_batch(self) -> dict | None:
        """The batch description, or None for a new store."""
        if not self.batch_file.exists():
            return None
        try:
            return json.loads(self.batch_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"{self.batch_file}: unreadable batch description ({exc})") from exc

    def write_batch(self, batch: dict) -> None:
        """Write the batch description atomically."""
        _write_atomic(self.batch_file, json.dumps(batch, indent=2, default=str).encode())

    # ------------------------------------------------------------------ shards
    def write_shard(self, rows: pd.DataFrame) -> Path:
        """Write finished runs' rows as one shard, atomically; return its path.

        The shard's metadata records each run's row count; its pages carry checksums.
        """
        path = self.shards / f"part-{uuid.uuid4().hex}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        counts = rows["run_id"].value_counts(sort=False)
        index = json.dumps({str(k): int(v) for k, v in counts.items()}, sort_keys=True)
        table = pa.Table.from_pandas(rows, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               _INDEX_KEY: index.encode()})
        pq.write_table(table, tmp, write_page_checksum=True)
        _fsync(tmp)
        os.replace(tmp, path)
        for run_id in counts.index:  # a run that failed before is now done
            (self.errors / f"{run_id}.json").unlink(missing_ok=True)
        return path

    def shard_paths(self) -> list[Path]:
        """Finished shards in a stable order (temporary files are ignored)."""
        return sorted(self.shards.glob("part-*.parquet"))

    def _check_shard(self, path: Path) -> dict[str, int]:
        """The shard's rows per run, after checking them; raises ValueError or OSError."""
        meta = pq.read_schema(path).metadata or {}
        if _INDEX_KEY not in meta:
            raise ValueError("it records no row counts (not written by this store)")
        recorded = json.loads(meta[_INDEX_KEY])
        # every page is read once per store object (then cached by size and mtime), so a
        # flipped byte anywhere fails its page checksum
        table = pq.read_table(path, page_checksum_verification=True)
        found = table.column("run_id").value_counts().to_pylist()
        actual = {d["values"]: int(d["counts"]) for d in found}
        if actual != recorded:
            raise ValueError(f"it holds {sum(actual.values())} rows of {len(actual)} runs, "
                             f"not the {sum(recorded.values())} rows of {len(recorded)} "
                             "runs it recorded")
        return recorded

    def verified_shards(self) -> dict[Path, dict[str, int]]:
        """Every readable, complete shard and its rows per run; the others quarantined.

        A shard that fails is moved to ``quarantine/`` (never deleted), reported in one
        line, and its runs count as not done, so a resumed batch redoes them.
        """
        out: dict[Path, dict[str, int]] = {}
        for path in self.shard_paths():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            cached = self._index.get(path)
            if cached is not None and cached[:2] == (st.st_size, st.st_mtime_ns):
                out[path] = cached[2]
                continue
            try:
                runs = self._check_shard(path)
            except (OSError, ValueError, pa.ArrowException) as exc:
                self._quarantine(path, exc)
                continue
            self._index[path] = (st.st_size, st.st_mtime_ns, runs)
            out[path] = runs
        return out

    def _quarantine(self, path: Path, exc: Exception) -> None:
        self.quarantine.mkdir(exist_ok=True)
        dest = self.quarantine / path.name
        os.replace(path, dest)
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        self._report(f"{path} is damaged ({reason}); moved to {dest}; its runs will be "
                     "run again on resume")

    def done_ids(self) -> set[str]:
        """Ids of the runs whose rows are in the store (in verified shards)."""
        done: set[str] = set()
        for runs in self.verified_shards().values():
            done.update(runs)
        return done

    def load(self, columns: list[str] | None = None, **equal) -> pd.DataFrame:
        """All rows as a pandas DataFrame, optionally only some columns or values.

        Every run is read once, from the first shard that holds it, even when two
        processes wrote it twice.

        Parameters
        ----------
        columns : list of str, optional
            Columns to read.
        **equal
            Column = value (or list of values) filters, e.g. ``metric="new_emigrants"``.
        """
        seen: set[str] = set()
        tables = []
        for path, runs in self.verified_shards().items():
            fresh = [r for r in runs if r not in seen]
            seen.update(runs)
            if not fresh:
                continue
            names = set(pq.read_schema(path).names)
            # a shard without a filtered column has no row with a wanted value in it
            if any(k not in names for k in equal):
                continue
            wanted = dict(equal)
            if len(fresh) < len(runs):  # some runs were read from an earlier shard
                want = wanted.get("run_id")
                keep = set(fresh) if want is None else set(fresh) & set(
                    want if isinstance(want, list | tuple | set) else [want])
                if not keep:
                    continue
                wanted["run_id"] = sorted(keep)
            filters = [(k, "in", list(v) if isinstance(v, list | tuple | set) else [v])
                       for k, v in wanted.items()] or None
            cols = None if columns is None else [c for c in columns if c in names]
            tables.append(pq.read_table(path, columns=cols, filters=filters))
        if not tables:
            return pd.DataFrame(columns=columns or [])
        # shards of one store may differ in columns (designs varying other parameters):
        # missing columns become nulls instead of being dropped
        table = pa.concat_tables(tables, promote_options="default")
        df = table.to_pandas()
        if columns is not None:
            df = df.reindex(columns=columns)
        return df

    # ------------------------------------------------------------------ errors
    def write_error(self, run_id: str, error: dict) -> None:
        """Record that a run raised (kept until the run succeeds)."""
        _write_atomic(self.errors / f"{run_id}.json", json.dumps(error, default=str).encode())

    def read_errors(self) -> list[dict]:
        """Errors of runs that have not (yet) succeeded."""
        done = None
        out = []
        for path in sorted(self.errors.glob("*.json")):
            if done is None:
                done = self.done_ids()
            if path.stem in done:
                continue
            out.append(json.loads(path.read_text()))
        return out


def open_store(path: str | Path, specs: Sequence, *, fresh: bool = False,
               batch: dict | None = None,
               on_aside: Callable[[Path], None] | None = None) -> ResultStore:
    """Open (or create) the result store of a batch, refusing another batch's store.

    A store is reused when it has no finished runs or at least one finished run of this
    batch (run ids hash the code version, scenario, design values and seed, so a shared
    run means the same experiment; a larger design of the same experiment, e.g. more
    replicates, reuses what it can). A store whose finished runs all belong to other
    batches is refused, so that results of different experiments or code versions never
    mix silently.

    Parameters
    ----------
    path : str or Path
        The store folder.
    specs : sequence of RunSpec
        The batch (anything with a ``run_id``).
    fresh : bool
        Start from scratch: the old store is moved aside whole (:func:`set_aside`, its
        new path in ``store.replaced``), not deleted, so that it can be restored until
        the caller has the new batch's outputs in place and discards it
        (:func:`discard_store`).
    batch : dict, optional
        Description written to ``batch.json`` when the store is new.
    on_aside : callable, optional
        Called with the aside path before the old store is moved there (the output
        writers record it in the folder's marker first).

    Raises
    ------
    StoreConflictError
        Before anything is written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from model.runs.batch import replicate_specs
    >>> from model.scenario import Scenario
    >>> st = open_store(pathlib.Path(tempfile.mkdtemp()) / "store",
    ...                 replicate_specs(Scenario(), 1, 2))
    >>> st.done_ids()
    set()
    """
    from model.runs.batch import code_version

    path = Path(path)
    if path.exists() and not (path / "shards").is_dir():
        raise StoreConflictError(f"{path} exists but is not a result store (no shards/)")
    existed = path.exists()
    store = _locked_store(path)  # one writer at a time; taken before --fresh moves anything
    replaced = None
    if fresh and existed:
        # moved aside under the lock, never deleted here: a new batch that fails or is
        # killed leaves the old runs whole in `replaced`
        replaced = _aside_path(path)
        if on_aside is not None:
            on_aside(replaced)
        os.rename(path, replaced)
        old = store
        store = ResultStore(path, report=old._report)
        try:
            store.lock()
        except StoreLockedError as exc:  # another batch made the new folder meanwhile
            raise StoreConflictError(f"{exc} (another emigsim batch); the earlier runs are "
                                     f"in {replaced}") from None
        finally:
            old.unlock()
        existed = False
    if existed:
        try:
            _check_reusable(store, specs, code_version())
        except StoreConflictError:
            store.unlock()
            raise
    if batch is not None and (store.read_batch() is None or not store.done_ids()):
        # Describes the batch that created the store; a batch reusing it leaves it as is
        # (a store with no finished run is anybody's: its record names the code now running).
        store.write_batch({**batch, "code_version": code_version()})
    store.replaced = replaced
    return store


_ASIDE_RE = re.compile(r"^(.+)\.old-\d+-[0-9a-f]{8}$")


def _aside_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def is_aside(name: str, store_name: str = "store") -> bool:
    """True for the name of a store moved aside by ``--fresh`` (``store.old-<pid>-<id>``).

    Examples
    --------
    >>> is_aside("store.old-123-0a1b2c3d"), is_aside("store.old"), is_aside("store")
    (True, False, False)
    """
    m = _ASIDE_RE.match(name)
    return m is not None and m.group(1) == store_name


def set_aside(path: str | Path, on_aside: Callable[[Path], None] | None = None) -> Path | None:
    """Move the store ``path`` aside whole, under its lock; return where (None if absent).

    Raises
    ------
    StoreConflictError
        When another process holds the store's lock (nothing is moved).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "store"
    >>> _ = ResultStore(p)
    >>> is_aside(set_aside(p).name), p.exists()
    (True, False)
    """
    path = Path(path)
    if not (path / "shards").is_dir():
        return None
    store = _locked_store(path)
    try:
        aside = _aside_path(path)
        if on_aside is not None:
            on_aside(aside)
        os.rename(path, aside)
    finally:
        store.unlock()
    return aside


def store_files(path: str | Path) -> list[str]:
    """The files in the store folder ``path`` that a store writes (relative paths).

    Batch description, lock, shards, error records, quarantined shards and their
    temporaries; anything else (a note a user put there) is not listed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp())
    >>> _ = ResultStore(p); (p / "notes.txt").write_text("mine")
    4
    >>> store_files(p)
    []
    """
    path = Path(path)
    patterns = (".lock", "batch.json", "batch.json.*.tmp", "shards/part-*.parquet",
                "shards/part-*.parquet.tmp", "errors/*.json", "errors/*.json.*.tmp",
                "quarantine/part-*.parquet")
    found = {p for pattern in patterns for p in path.glob(pattern)
             if p.is_file() and not p.is_symlink()}
    return sorted(p.relative_to(path).as_posix() for p in found)


def discard_store(path: str | Path) -> bool:
    """Remove a store's own files and then its empty folders; True when it is gone.

    Files a store did not write stay, with the folders that hold them.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "store"
    >>> _ = ResultStore(p)
    >>> discard_store(p), p.exists()
    (True, False)
    """
    path = Path(path)
    if not path.is_dir() or path.is_symlink():
        return not path.exists()
    remove_listed(path, store_files(path), ["shards", "errors", "quarantine"])
    remove_listed(path.parent, [], [path.name])
    return not path.exists()


def _locked_store(path: Path) -> ResultStore:
    """The store at ``path`` with its lock held by this process, or StoreConflictError."""
    store = ResultStore(path)
    try:
        store.lock()
    except StoreLockedError as exc:
        raise StoreConflictError(f"{exc} (another emigsim batch); wait for it to end, or use "
                                 "another folder") from None
    return store


def _check_reusable(store: ResultStore, specs: Sequence, code: str) -> None:
    path = store.path
    done = store.done_ids()
    written_by = (store.read_batch() or {}).get("code_version")
    if done and written_by is not None and written_by != code:
        raise StoreConflictError(
            f"{path} was written by other model code (code version {written_by}; this "
            f"code is {code}), so its runs cannot be mixed with new ones")
    if done and done.isdisjoint(s.run_id for s in specs):
        raise StoreConflictError(
            f"{path} holds {len(done)} finished runs, none of them of this batch (made with "
            "another scenario, run options, design, seed or model code version)")


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
