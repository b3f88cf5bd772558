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

Examples
--------
>>> import pandas as pd, tempfile
>>> st = ResultStore(tempfile.mkdtemp())
>>> _ = st.write_shard(pd.DataFrame({"run_id": ["a"], "year": [2012], "value": [1.0]}))
>>> sorted(st.done_ids())
['a']
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ResultStore", "StoreError", "StoreConflictError", "open_store"]


class StoreError(ValueError):
    """The folder is not a store of this batch (or is unreadable)."""


class StoreConflictError(StoreError):
    """The store folder holds only runs of another batch (or is not a store)."""


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

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.shards = self.path / "shards"
        self.errors = self.path / "errors"
        self.shards.mkdir(parents=True, exist_ok=True)
        self.errors.mkdir(exist_ok=True)

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
        """Write finished runs' rows as one shard, atomically; return its path."""
        path = self.shards / f"part-{uuid.uuid4().hex}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), tmp)
        _fsync(tmp)
        os.replace(tmp, path)
        for run_id in rows["run_id"].unique():  # a run that failed before is now done
            (self.errors / f"{run_id}.json").unlink(missing_ok=True)
        return path

    def shard_paths(self) -> list[Path]:
        """Finished shards in a stable order (temporary files are ignored)."""
        return sorted(self.shards.glob("part-*.parquet"))

    def done_ids(self) -> set[str]:
        """Ids of the runs whose rows are in the store."""
        done: set[str] = set()
        for path in self.shard_paths():
            col = pq.read_table(path, columns=["run_id"]).column("run_id")
            done.update(col.unique().to_pylist())
        return done

    def load(self, columns: list[str] | None = None, **equal) -> pd.DataFrame:
        """All rows as a pandas DataFrame, optionally only some columns or values.

        Parameters
        ----------
        columns : list of str, optional
            Columns to read.
        **equal
            Column = value (or list of values) filters, e.g. ``metric="new_emigrants"``.
        """
        paths = self.shard_paths()
        tables = []
        for path in paths:
            names = set(pq.read_schema(path).names)
            # a shard without a filtered column has no row with a wanted value in it
            if any(k not in names for k in equal):
                continue
            filters = [(k, "in", list(v) if isinstance(v, list | tuple) else [v])
                       for k, v in equal.items()] or None
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
               batch: dict | None = None) -> ResultStore:
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
        Delete the folder first (start from scratch).
    batch : dict, optional
        Description written to ``batch.json`` when the store is new.

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
    if fresh and path.exists():
        shutil.rmtree(path)
    if path.exists():
        if not (path / "shards").is_dir():
            raise StoreConflictError(f"{path} exists but is not a result store (no shards/)")
        done = ResultStore(path).done_ids()
        written_by = (ResultStore(path).read_batch() or {}).get("code_version")
        if done and written_by is not None and written_by != code_version():
            raise StoreConflictError(
                f"{path} was written by other model code (code version {written_by}; this "
                f"code is {code_version()}), so its runs cannot be mixed with new ones")
        if done and done.isdisjoint(s.run_id for s in specs):
            raise StoreConflictError(
                f"{path} holds {len(done)} finished runs, none of them of this batch (made with "
                "another scenario, run options, design, seed or model code version)")
    store = ResultStore(path)
    if batch is not None and (store.read_batch() is None or not store.done_ids()):
        # Describes the batch that created the store; a batch reusing it leaves it as is
        # (a store with no finished run is anybody's: its record names the code now running).
        store.write_batch({**batch, "code_version": code_version()})
    return store


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
