"""How large a batch is, before any of it is built: runs, time, memory, disk.

:func:`estimate_batch` works from one example run (its scale, window and model) and the
number of runs, so that a batch of a billion runs is answered in a moment instead of
hours of building its run list. :func:`check_batch` refuses, with a
:class:`BatchSizeError` that gives the estimate, what cannot fit:

- memory: every worker holds one run at a time (:data:`model.scenario.PEAK_BYTES_PER_PERSON`
  per simulated person), its population cache and its imports; a local cluster's workers
  and this process must fit in 80% of the machine's memory, a cluster's run in each
  worker's memory limit; this process holds the run list (and, for ``run`` and
  ``compare``, the result table);
- disk: the store's shards and ``series.csv`` must fit in the free space of the output
  folder's file system;
- workers: at most :func:`max_workers` local workers (one per core);
- time: a batch estimated to take more than ``EMIGSIM_LONG_BATCH_HOURS`` (default
  :data:`LONG_BATCH_HOURS`) is refused unless it is accepted (``--yes``), since it may be a
  typing mistake; it would still run.

The figures are estimates from measurements on the development machine (the constants
below say which); they err on the large side.

Examples
--------
>>> from model.runs.batch import RunSpec
>>> from model.scenario import Scenario
>>> est = estimate_batch(RunSpec("x", Scenario(scale=50, end=2018), 1, 1), 100, workers=2)
>>> est.runs, est.slots, est.rows_per_run
(100, 2, 2654)
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from model.runs.batch import RunSpec
from model.runs.execution import Executor, default_workers, estimate_run_seconds

__all__ = ["BatchEstimate", "BatchSizeError", "estimate_batch", "check_batch", "plan_batch", "max_workers",
           "long_batch_hours", "machine_memory", "LONG_BATCH_HOURS", "LONG_ENV_VAR"]

LONG_BATCH_HOURS = 24.0
"""Batches estimated to take longer than this are refused unless accepted (``--yes``)."""
LONG_ENV_VAR = "EMIGSIM_LONG_BATCH_HOURS"
"""Environment variable that sets :data:`LONG_BATCH_HOURS`."""

ROWS_FIRST_YEAR = 410
"""Rows of a run's first year (404 measured, 2012 at scale 4000: every metric by group)."""
ROWS_PER_YEAR = 374
"""Rows of every further year (374-377 measured; the first year has a few more metrics)."""
STORE_BYTES_PER_RUN = 8192
"""Parquet file overhead a run may cost in the store (a shard of one 2012 run: 7.5 kB)."""
STORE_BYTES_PER_ROW = 6
"""Compressed store bytes per row (2.9-4.6 measured for 2018-2030 runs)."""
CSV_BYTES_PER_ROW = 90
"""Bytes of a row of ``series.csv`` (87.5 measured)."""
TABLE_BYTES_PER_ROW = 256
"""Driver memory per row of a ``run``/``compare`` result table (128 bytes a row in pandas,
measured, twice for the copy made while it is sorted)."""
SPEC_BYTES = {"replicates": 1024, "design": 3072}
"""Driver memory per run of the run list: a replicate's spec shares its scenario (349
bytes measured), a design point's has its own parameters (2,304 bytes measured), plus the
batch's sets of run ids and chunk lists."""
WORKER_BASE_BYTES = 400 * 2**20
"""A worker process's memory before its run: imports, data tables, compiled passes (316
MiB measured after a run at scale 4000)."""


class BatchSizeError(ValueError):
    """A batch that cannot fit (or is too long to start unasked); says the estimate.

    Attributes
    ----------
    resource : str
        ``"runs"`` (the run list or result table in this process), ``"memory"`` (the
        workers), ``"workers"``, ``"disk"`` or ``"time"``.
    problem, allowed : str
        The line's two halves.
    estimate : BatchEstimate

    Examples
    --------
    >>> str(BatchSizeError("time", "takes long", "--yes", None))
    'takes long; allowed: --yes'
    """

    def __init__(self, resource: str, problem: str, allowed: str, estimate):
        self.resource, self.problem, self.allowed, self.estimate = \
            resource, problem, allowed, estimate
        super().__init__(f"{problem}; allowed: {allowed}")


def max_workers() -> int:
    """The most local workers a batch may have: one per core of this machine.

    More single-threaded workers than cores only make each run slower and take memory.

    Examples
    --------
    >>> max_workers() == default_workers()
    True
    """
    return default_workers()


def long_batch_hours() -> float:
    """The time above which a batch needs accepting: ``EMIGSIM_LONG_BATCH_HOURS`` or 24.

    Examples
    --------
    >>> long_batch_hours() > 0
    True
    """
    text = os.environ.get(LONG_ENV_VAR, "").strip()
    if not text:
        return LONG_BATCH_HOURS
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise BatchSizeError("env", f"= {text!r} is not a number of hours > 0",
                             f"hours > 0 (default {LONG_BATCH_HOURS:g})", None)
    return value


def machine_memory() -> int:
    """This machine's physical memory in bytes."""
    from model.scenario import _physical_memory

    return _physical_memory()


def _gib(n: float) -> str:
    if n >= 100 * 2**30:
        return f"{n / 2**30:,.0f} GiB"
    if n >= 2**30:
        return f"{n / 2**30:,.1f} GiB"
    return f"{n / 2**20:,.0f} MiB"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds < 2 * 365 * 86400:
        return f"{seconds / 86400:,.0f} days"
    return f"{seconds / (365.25 * 86400):,.0f} years"


@dataclass(frozen=True)
class BatchEstimate:
    """The estimated size of a batch.

    Attributes
    ----------
    runs : int
        Runs in the batch.
    slots : int
        Runs at a time (worker threads; 1 in this process).
    seconds : float
        Wall time: runs x seconds per run / slots.
    run_bytes : int
        Peak memory of one run.
    worker_bytes : int
        Memory of a worker process: one run per thread, its population cache, imports.
    driver_bytes : int
        Memory of this process: the run list (and the result table of run/compare), plus
        a worker's when the runs happen here.
    disk_bytes : int
        Store shards and ``series.csv``.
    rows_per_run : int
        Rows of one run's tidy table.
    in_process : bool
        The runs happen in this process.
    keeps_table : bool
        This process reads every row at the end (``run`` and ``compare``).
    """

    runs: int
    slots: int
    seconds: float
    run_bytes: int
    worker_bytes: int
    driver_bytes: int
    disk_bytes: int
    rows_per_run: int
    in_process: bool = False
    keeps_table: bool = True

    def __str__(self) -> str:
        where = "in this process" if self.in_process else f"on {self.slots} workers"
        return (f"{self.runs:,} runs, about {_duration(self.seconds)} {where}, "
                f"{_gib(self.worker_bytes)} per worker, {_gib(self.disk_bytes)} on disk")


def _rows_per_run(spec: RunSpec) -> int:
    if spec.model != "emigsim":
        return 1
    years = spec.scenario.end - spec.scenario.start + 1
    return ROWS_FIRST_YEAR + ROWS_PER_YEAR * max(0, years - 1)


def _run_bytes(spec: RunSpec) -> int:
    if spec.model != "emigsim":
        return 2**20
    from model import datasets
    from model.scenario import PEAK_BYTES_PER_PERSON

    persons = float(datasets.population_by_region(2012).sum()) / spec.scenario.scale
    return int(persons * PEAK_BYTES_PER_PERSON)


def _cache_bytes() -> int:
    from model.core import population_cache

    return population_cache.default_cache().max_bytes


def estimate_batch(example: RunSpec, runs: int, *, workers: int | None = None,
                   threads_per_worker: int = 1, kind: str = "replicates",
                   keep_table: bool = True) -> BatchEstimate:
    """Estimate a batch of ``runs`` runs like ``example``, without building it.

    Parameters
    ----------
    example : RunSpec
        One run of the batch (every run has its scale, window and model).
    runs : int
        Runs in the batch.
    workers : int, optional
        Worker threads (default: one per core; 0: in this process).
    threads_per_worker : int
        Runs a worker process holds at a time.
    kind : str
        ``"replicates"`` (runs share their scenario) or ``"design"`` (each design point has
        its own parameters): the driver memory of the run list.
    keep_table : bool
        This process loads every row at the end (``run``, ``compare``).

    Examples
    --------
    >>> from model.scenario import Scenario
    >>> spec = RunSpec("x", Scenario(scale=4000, end=2012), 1, 1)
    >>> est = estimate_batch(spec, 10, workers=0)
    >>> est.slots, est.seconds == 10 * estimate_run_seconds(spec), est.rows_per_run
    (1, True, 410)
    >>> est.disk_bytes == 10 * (8192 + 410 * (6 + 90))
    True
    """
    workers = default_workers() if workers is None else int(workers)
    in_process = workers == 0
    slots = max(1, workers)
    rows = _rows_per_run(example)
    run_bytes = _run_bytes(example)
    worker = WORKER_BASE_BYTES + _cache_bytes() + threads_per_worker * run_bytes
    driver = runs * SPEC_BYTES[kind] + (runs * rows * TABLE_BYTES_PER_ROW if keep_table
                                        else 0)
    driver += worker if in_process else WORKER_BASE_BYTES
    csv = CSV_BYTES_PER_ROW if example.model == "emigsim" else 0
    disk = runs * (STORE_BYTES_PER_RUN + rows * (STORE_BYTES_PER_ROW + csv))
    seconds = runs * estimate_run_seconds(example) / slots
    return BatchEstimate(runs, slots, seconds, run_bytes, worker, int(driver), int(disk),
                         rows, in_process, keep_table)


def _free_disk(out: Path) -> int:
    path = Path(out).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def check_batch(est: BatchEstimate, out: str | Path | None, *, local_workers: int | None = None,
                worker_memory: list[int] | None = None, memory: int | None = None,
                accept_long: bool = False) -> None:
    """Refuse a batch that cannot fit, or (unless ``accept_long``) takes very long.

    Parameters
    ----------
    est : BatchEstimate
    out : str or Path, optional
        Where the store and outputs go (its file system's free space is checked).
    local_workers : int, optional
        Worker processes of a local cluster (checked against :func:`max_workers`; their
        memory against this machine's).
    worker_memory : list of int, optional
        Memory limit of each worker of an existing cluster (0: none), as its scheduler
        reports them.
    memory : int, optional
        This machine's memory (default :func:`machine_memory`).
    accept_long : bool
        Start a batch longer than :func:`long_batch_hours` anyway.

    Raises
    ------
    BatchSizeError
        Saying the estimate and what would be accepted.

    Examples
    --------
    >>> from model.scenario import Scenario
    >>> est = estimate_batch(RunSpec("x", Scenario(scale=50), 1, 1), 4, workers=2)
    >>> check_batch(est, None, local_workers=2, memory=64 * 2**30)
    >>> check_batch(est, None, local_workers=2, memory=2**30)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.runs.sizing.BatchSizeError: 2 workers of ... need 1.8 GiB of memory, ...
    """
    if local_workers is not None and local_workers > max_workers():
        cap = max_workers()
        raise BatchSizeError("workers", f"more than this machine's {cap} cores",
                             f"an integer from 0 to {cap} (0 = run in this process)", est)
    memory = machine_memory() if memory is None else memory
    usable = int(0.8 * memory)
    if est.driver_bytes > usable:
        what = " and results" if est.keeps_table else ""
        raise BatchSizeError(
            "runs", f"the batch of {est.runs:,} runs needs about {_gib(est.driver_bytes)} of "
            f"memory in this process for its run list{what}, more than 80% of this "
            f"machine's {_gib(memory)} ({est})",
            "fewer runs, or fewer years", est)
    if local_workers is not None:
        need = local_workers * est.worker_bytes + est.driver_bytes
        if local_workers and need > usable:
            fit = max(0, (usable - est.driver_bytes) // est.worker_bytes)
            raise BatchSizeError(
                "memory", f"{local_workers} workers of {_gib(est.worker_bytes)} each and "
                f"this process need {_gib(need)} of memory, more than 80% of this "
                f"machine's {_gib(memory)} ({est})",
                f"at most {fit} workers at this scale, or a larger scale" if fit
                else "a larger scale", est)
    if worker_memory:
        limits = [m for m in worker_memory if m]
        if limits and est.worker_bytes > min(limits):
            raise BatchSizeError(
                "memory", f"a run at this scale needs about {_gib(est.worker_bytes)} per "
                f"worker (the run, the population cache and the worker's imports), more "
                f"than the cluster's smallest worker memory limit of {_gib(min(limits))} "
                f"({est})", "a larger scale, or workers with more memory", est)
    if out is not None:
        free = _free_disk(Path(out))
        if est.disk_bytes > free:
            raise BatchSizeError(
                "disk", f"the batch needs about {_gib(est.disk_bytes)} of disk, more than the "
                f"{_gib(free)} free there ({est})",
                "fewer runs or years, or a folder on a larger disk", est)
    hours = long_batch_hours()
    if not accept_long and est.seconds > hours * 3600:
        raise BatchSizeError(
            "time", f"the batch would take about {_duration(est.seconds)} ({est}), longer "
            f"than {hours:g} h", "--yes (or accept_long=True) to start it anyway, or "
            f"fewer runs; {LONG_ENV_VAR} sets the limit", est)


def plan_batch(executor: Executor, example: RunSpec, runs: int, out: str | Path | None, *,
               kind: str = "replicates", keep_table: bool = True,
               accept_long: bool = False) -> BatchEstimate:
    """Connect ``executor`` to its scheduler, estimate the batch and check that it fits.

    What every batch command does before it writes anything: a bad scheduler raises
    :class:`~model.runs.scheduler.SchedulerError`, a batch that does not fit
    :class:`BatchSizeError`. A local cluster is not started here (it starts with the
    first run); its size is checked against this machine.

    Examples
    --------
    >>> from model.scenario import Scenario
    >>> spec = RunSpec("x", Scenario(scale=4000, end=2012), 1, 1)
    >>> plan_batch(Executor(workers=0), spec, 3, None).runs
    3
    """
    per_worker = 1
    if executor.scheduler:
        executor.connect()
        per_worker = max(executor.client.nthreads().values(), default=1)
    est = estimate_batch(example, runs, workers=0 if executor.in_process else
                         executor.threads(), threads_per_worker=per_worker, kind=kind,
                         keep_table=keep_table)
    check_batch(est, out, local_workers=None if executor.scheduler else executor.workers,
                worker_memory=executor.worker_memory() if executor.scheduler else None,
                accept_long=accept_long)
    return est
