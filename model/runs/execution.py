"""One executor for every multi-run command, on Dask distributed.

By default a :class:`dask.distributed.LocalCluster` of ``workers`` single-threaded worker
processes starts in-process; with ``scheduler="tcp://host:8786"`` the same code submits to
an existing cluster (``dask scheduler`` and ``dask worker`` processes, or dask-jobqueue on
SLURM). Runs travel in chunks that last seconds; finished chunks stream back and are
written to the :class:`model.runs.store.ResultStore` at once, and only a bounded number of chunks
is in flight, so the driver's memory stays flat however large the batch. A run's result
depends only on its spec (seed included), never on the worker count or completion order.

Examples
--------
>>> import tempfile
>>> from model.runs.batch import design_specs
>>> from model.scenario import Scenario
>>> from model.runs.store import ResultStore
>>> specs = design_specs(Scenario(), [{"x1": 0.0, "x2": 1.0, "x3": 0.0}], 1, 1, "ishigami")
>>> rep = execute(specs, ResultStore(tempfile.mkdtemp()), workers=0, progress=False)
>>> rep.done, rep.failed
(1, 0)
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from model.runs.batch import RunSpec, run_chunk
from model.runs.store import ResultStore

__all__ = ["execute", "BatchReport", "default_workers", "estimate_run_seconds"]


@dataclass
class BatchReport:
    """What a batch did: runs in the batch, done (in total), skipped as done, failed."""

    total: int
    done: int
    skipped: int
    failed: int
    errors: list[dict] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every run of the batch is in the store."""
        return self.done == self.total


def default_workers() -> int:
    """Worker processes for a local cluster: one per core.

    Examples
    --------
    >>> default_workers() >= 1
    True
    """
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def estimate_run_seconds(spec: RunSpec) -> float:
    """Rough seconds of one run, from its households and years (for chunk sizes).

    Examples
    --------
    >>> from model.scenario import Scenario
    >>> from model.runs.batch import RunSpec
    >>> estimate_run_seconds(RunSpec("x", Scenario(scale=50), 1, 1)) > 0
    True
    """
    if spec.model != "emigsim":
        return 1e-4
    sc = spec.scenario
    households = 4.5e6 / sc.scale
    years = sc.end - 2012 + 1
    return 0.1 + households * years * 1.2e-6


def _chunk_size(specs: Sequence[RunSpec], workers: int, target_s: float = 3.0) -> int:
    per_run = estimate_run_seconds(specs[0])
    by_time = max(1, round(target_s / per_run))
    # keep at least ~4 chunks per worker so that work balances and progress moves
    by_balance = max(1, math.ceil(len(specs) / (4 * max(workers, 1))))
    return min(by_time, by_balance)


@contextmanager
def _client(workers: int, scheduler: str | None) -> Iterator:
    from dask.distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler, timeout="30s")
        try:
            yield client
        finally:
            client.close()
        return
    # dashboard on a free port: two clusters at once must not fight over 8787
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def execute(specs: Sequence[RunSpec], store: ResultStore, *, workers: int | None = None,
            scheduler: str | None = None, chunk_size: int | None = None,
            progress: bool = True, label: str = "runs") -> BatchReport:
    """Run every spec not yet in ``store``; write results as chunks finish.

    Parameters
    ----------
    specs : sequence of RunSpec
        The whole batch (finished runs are skipped).
    store : ResultStore
        Where results go.
    workers : int, optional
        Worker processes of the local cluster (default: one per core); 0 runs in this
        process without Dask (for tests and debugging).
    scheduler : str, optional
        Address of an existing Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    chunk_size : int, optional
        Runs per task (default: enough for about 3 seconds of work).
    progress : bool
        Show a progress bar (runs done / total, rate, time left).
    label : str
        Progress bar label.

    Returns
    -------
    BatchReport
    """
    # identical runs (same point and seed, e.g. a Morris grid point visited twice under
    # common random numbers) are one run: the store keeps one copy and analyses look it up
    specs = list({s.run_id: s for s in specs}.values())
    done_before = store.done_ids()
    todo = [s for s in specs if s.run_id not in done_before]
    skipped = len(specs) - len(todo)
    n_workers = default_workers() if workers is None else workers
    failed: list[dict] = []
    bar = tqdm(total=len(specs), initial=skipped, desc=label, unit="run", disable=not progress,
               smoothing=0.1)
    try:
        if todo:
            size = chunk_size or _chunk_size(todo, n_workers)
            chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
            if n_workers == 0 and not scheduler:
                for chunk in chunks:
                    try:
                        result = run_chunk(chunk)
                    except Exception as exc:  # noqa: BLE001 - reported per run, as on Dask
                        result = _chunk_failed(chunk, exc)
                    failed += _collect(store, chunk, result, bar)
            else:
                failed += _run_distributed(store, chunks, n_workers, scheduler, bar)
    finally:
        bar.close()
    done = len(store.done_ids() & {s.run_id for s in specs})
    return BatchReport(total=len(specs), done=done, skipped=skipped, failed=len(failed),
                       errors=failed)


def _chunk_failed(chunk: list[RunSpec], exc: Exception) -> tuple:
    """Result of a chunk that failed as a whole: an error for each of its runs."""
    import pandas as pd

    return pd.DataFrame(), [{"run_id": s.run_id, "scenario": s.scenario.name, "seed": s.seed,
                             "point": s.point, "design": s.design,
                             "error": f"{type(exc).__name__}: {exc}", "traceback": ""}
                            for s in chunk]


def _collect(store: ResultStore, chunk: list[RunSpec], result, bar) -> list[dict]:
    rows, errors = result
    if len(rows):
        store.write_shard(rows)
    for err in errors:
        store.write_error(err["run_id"], err)
    bar.update(len(chunk))
    return errors


def _run_distributed(store: ResultStore, chunks: list[list[RunSpec]], n_workers: int,
                     scheduler: str | None, bar) -> list[dict]:
    from dask.distributed import as_completed

    failed: list[dict] = []
    with _client(n_workers, scheduler) as client:
        n_threads = max(1, sum(client.nthreads().values()))
        in_flight = 3 * n_threads  # bounded: the driver never holds the whole batch
        pending = iter(enumerate(chunks))
        by_future = {}

        def submit_next(ac=None) -> None:
            item = next(pending, None)
            if item is None:
                return
            i, chunk = item
            fut = client.submit(run_chunk, chunk, key=f"chunk-{chunk[0].run_id}-{i}",
                                pure=False, retries=2)
            by_future[fut.key] = chunk
            if ac is not None:
                ac.add(fut)
            return fut

        first = [f for f in (submit_next() for _ in range(in_flight)) if f is not None]
        ac = as_completed(first)
        for fut in ac:
            chunk = by_future.pop(fut.key)
            try:
                result = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after retries
                result = _chunk_failed(chunk, exc)
            failed += _collect(store, chunk, result, bar)
            fut.release()
            submit_next(ac)
    return failed
