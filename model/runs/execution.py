"""One executor for every multi-run command, on Dask distributed.

:class:`Executor` keeps one cluster for its whole life: by default a
:class:`dask.distributed.LocalCluster` of ``workers`` single-threaded worker processes,
started on first use; with ``scheduler="tcp://host:8786"`` the same code submits to an
existing cluster (``dask scheduler`` and ``dask worker`` processes, or dask-jobqueue on
SLURM); with ``workers=0`` everything runs in this process. Runs travel in chunks that last
seconds and only a bounded number of chunks is in flight, so the driver's memory stays flat
however large the batch. ``submit`` yields each run's result as its chunk finishes: its rows,
or only what the spec's reducer computed from them on the worker, or its error. Workers stay
warm between calls: imports, data tables, compiled passes and built populations
(:mod:`model.core.population_cache`) are paid for once per worker process, which is what a
calibration sampler that submits many small generations needs.

:func:`execute` is the batch on top of it: every spec not yet in a
:class:`model.runs.store.ResultStore`, each finished chunk written to the store at once.
A run's result depends only on its spec (seed included), never on the worker count, the
chunking, the completion order or what the workers ran before.

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
import signal
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from model.core import population_cache
from model.runs.batch import ChunkOutput, RunSpec, resolve_reducer, work_chunk
from model.runs.store import ResultStore

__all__ = ["Executor", "RunResult", "execute", "BatchReport", "BatchInterrupted",
           "default_workers", "estimate_run_seconds"]


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
        """True when every run of the batch is in the store (counted in the store)."""
        return self.done == self.total

    @property
    def missing(self) -> int:
        """Runs neither in the store nor failed (e.g. a result that lacked them)."""
        return max(0, self.total - self.done - self.failed)


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch: what was kept, so that the caller can say how to resume.

    Attributes
    ----------
    done, total : int
        Runs of the batch in the store when it stopped, and in the batch.
    store_path : Path
        The store that keeps them.

    Examples
    --------
    >>> str(BatchInterrupted(3, 24, Path("o/store")))
    'interrupted after 3 of 24 runs; the finished runs are kept in o/store'
    """

    def __init__(self, done: int, total: int, store_path: Path):
        self.done, self.total, self.store_path = done, total, Path(store_path)
        super().__init__(f"interrupted after {done} of {total} runs; the finished runs are "
                         f"kept in {self.store_path}")


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored in this process meanwhile (only the main thread can change it).

    Processes started meanwhile inherit the ignored signal: the local cluster's workers
    then leave a Ctrl-C at the terminal (sent to the whole process group) to this
    process, which stops them in order, instead of each dying with a traceback.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


_NOISY_LOGGERS = ("distributed", "tornado", "asyncio")


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """The distributed loggers silenced (their complaints about work cancelled by an
    interrupt are noise: the batch reports what it kept)."""
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


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


RUN_COLUMNS = ["run_id", "scenario", "replicate", "seed", "year", "metric", "group", "value",
               "point"]
"""Columns of a run's rows (then one column per design value of the run)."""


@dataclass
class RunResult:
    """The outcome of one run: its rows, its reducer's value, or its error.

    Attributes
    ----------
    spec : RunSpec
        The run.
    rows : pandas.DataFrame or None
        :data:`RUN_COLUMNS` and the run's design values, as the store holds them (None
        when the spec has a reducer or the run failed).
    value : object
        What ``spec.reducer`` returned (None without a reducer).
    error : dict or None
        ``error`` (type and message), ``traceback`` and the run's identification when the
        run failed.
    """

    spec: RunSpec
    rows: pd.DataFrame | None = None
    value: Any = None
    error: dict | None = None

    @property
    def run_id(self) -> str:
        """The spec's run id."""
        return self.spec.run_id

    @property
    def ok(self) -> bool:
        """True when the run finished (with rows or a reduced value)."""
        return self.error is None


def _run_results(chunk: list[RunSpec], out: ChunkOutput) -> list[RunResult]:
    """Split a chunk's output into one result per run, in chunk order.

    A run's rows keep only its own design columns, so they do not depend on which other
    runs shared its chunk (which depends on the chunk size and so on the worker count).
    """
    results = [RunResult(spec) for spec in chunk]
    start = 0
    for i, n in zip(out.row_runs, out.row_counts, strict=True):
        spec = chunk[i]
        cols = RUN_COLUMNS + [k for k in spec.design if k in out.rows.columns]
        results[i].rows = out.rows.iloc[start:start + n][cols].reset_index(drop=True)
        start += n
    for i, value in out.reduced.items():
        results[i].value = value
    for i, err in zip(out.error_runs, out.errors, strict=True):
        results[i].error = err
    return results


def _output_of(chunk: list[RunSpec], out: ChunkOutput) -> bool:
    """True when ``out`` holds results of ``chunk``'s runs only."""
    if any(i >= len(chunk) for i in (*out.row_runs, *out.error_runs, *out.reduced)):
        return False
    if not len(out.rows):
        return True
    return set(out.rows["run_id"].unique()) <= {s.run_id for s in chunk}


def _chunk_failed(chunk: list[RunSpec], exc: BaseException) -> ChunkOutput:
    """Output of a chunk that failed as a whole (e.g. its worker died): an error per run."""
    errors = [{"run_id": s.run_id, "scenario": s.scenario.name, "seed": s.seed,
               "point": s.point, "design": s.design,
               "error": f"{type(exc).__name__}: {exc}", "traceback": ""} for s in chunk]
    return ChunkOutput(pd.DataFrame(), errors=errors, error_runs=list(range(len(chunk))))


def _worker_chunk(chunk: list[RunSpec], cache_bytes: int | None, set_cache: bool
                  ) -> ChunkOutput:
    """The task a worker runs: set its population cache (None: as its environment says),
    then the chunk."""
    if set_cache:
        population_cache.configure(cache_bytes)
    from model.core.kernels import set_threads  # numba loads on the worker, not the client

    # one thread per run on a worker: the cluster runs one run per core already, and more
    # threads than cores would only make the parallel passes wait on one another
    set_threads(1)
    return work_chunk(chunk)


_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


class Executor:
    """Runs specs on one cluster (or in this process) that lives across calls.

    Parameters
    ----------
    workers : int, optional
        Worker processes of the local cluster (default: one per core); 0 runs in this
        process without Dask (for small batches, tests and debugging).
    scheduler : str, optional
        Address of an existing Dask scheduler, e.g. ``tcp://10.0.0.5:8786`` (then
        ``workers`` only sets the chunk size).
    progress : bool
        Show a progress bar for each call (runs done / total, rate, time left).
    chunk_size : int, optional
        Runs per task (default: enough for about 3 seconds of work, and at least four
        chunks per worker).
    population_cache : int, optional
        Byte budget of each worker's population cache (0 turns it off; default: as the
        worker's ``EMIGSIM_POPULATION_CACHE_MB`` says, see
        :mod:`model.core.population_cache`). With ``workers=0`` the default leaves this
        process's cache as it is.
    dashboard_address : str, optional
        Where the local cluster serves its dashboard (default: no dashboard; e.g.
        ``"127.0.0.1:0"`` for one on a free local port, which needs bokeh).
    connect_timeout : float, optional
        Seconds to wait for ``scheduler`` and its first worker (default:
        ``EMIGSIM_CONNECT_TIMEOUT``, else 10; see :mod:`model.runs.scheduler`).

    Notes
    -----
    Only ``tcp://`` schedulers are supported, and the cluster must be trusted: Dask sends
    pickled functions and data between the processes. A scheduler that cannot be reached
    (or is no Dask scheduler) raises :class:`model.runs.scheduler.SchedulerError` within
    ``connect_timeout``; :meth:`connect` checks it before anything else is done.
    The local cluster starts on the first call that needs it and stops on :meth:`close`
    (or at the end of a ``with`` block); the workers keep their imports, data tables,
    compiled passes and population cache between calls. At most three chunks per worker
    thread are in flight; the next chunk is submitted as one finishes, so a caller that
    stops iterating early leaves little running (the rest is cancelled).

    Examples
    --------
    >>> from model.runs.batch import design_specs
    >>> from model.scenario import Scenario
    >>> pts = [{"x1": 0.0, "x2": 1.0, "x3": 0.0}, {"x1": 1.0, "x2": 0.0, "x3": 2.0}]
    >>> specs = design_specs(Scenario(), pts, 1, 1, "ishigami")
    >>> with Executor(workers=0, progress=False) as ex:
    ...     res = ex.run(specs)
    >>> [round(float(r.rows["value"].iloc[0]), 4) for r in res]
    [4.9565, 2.1878]
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None, *,
                 progress: bool = True, chunk_size: int | None = None,
                 population_cache: int | None = None, dashboard_address: str | None = None,
                 connect_timeout: float | None = None):
        if workers is not None and workers < 0:
            raise ValueError(f"workers must be 0 or more, not {workers}")
        self.workers = default_workers() if workers is None else int(workers)
        self.scheduler = scheduler
        self.progress = progress
        self.chunk_size = chunk_size
        self.population_cache = population_cache
        self.dashboard_address = dashboard_address
        self.connect_timeout = connect_timeout
        self._client = None
        self._cluster = None

    # ------------------------------------------------------------------ the cluster
    @property
    def in_process(self) -> bool:
        """True when runs happen in this process (``workers=0`` and no scheduler)."""
        return self.workers == 0 and not self.scheduler

    @property
    def client(self):
        """The Dask client (connects, or starts the local cluster, on first use)."""
        if self.in_process:
            raise RuntimeError("an in-process executor (workers=0) has no Dask client")
        if self._client is None:
            import dask
            from dask.distributed import Client, LocalCluster

            if self.scheduler:
                from model.runs.scheduler import connect

                self._client = connect(self.scheduler, self.connect_timeout)
            else:
                # without a dashboard the scheduler still serves its HTTP routes (health,
                # metrics): on a free port of this host only, so that two clusters do not
                # fight over 8787 and nothing listens on other interfaces
                http = {} if self.dashboard_address else {"dashboard_address": "127.0.0.1:0"}
                # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off
                # glibc's adaptive mmap threshold: every large temporary array of a yearly
                # step is then mapped and page-faulted afresh, and a run takes 1.6x as long
                # (0.18 s instead of 0.11 s at scale 50, measured). Arrays above 32 MB are
                # mapped (and given back) anyway, so memory is still returned.
                with dask.config.set({_TRIM: None}), _sigint_ignored():
                    self._cluster = LocalCluster(
                        n_workers=self.workers, threads_per_worker=1, processes=True,
                        dashboard_address=self.dashboard_address, scheduler_kwargs=http,
                        silence_logs=logging.ERROR)
                self._client = Client(self._cluster)
        return self._client

    def connect(self) -> Executor:
        """Connect to the scheduler (or start the local cluster) now; returns self.

        With a scheduler this is where a bad address fails, in one
        :class:`~model.runs.scheduler.SchedulerError`, before a caller writes anything.
        In-process executors have nothing to connect to.
        """
        if not self.in_process:
            _ = self.client
        return self

    def worker_memory(self) -> list[int]:
        """Memory limit of each worker of the cluster (0: none), as its scheduler says."""
        if self.in_process:
            return []
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return [int(w.get("memory_limit") or 0) for w in info.values()]

    def threads(self) -> int:
        """Runs at a time: the cluster's worker threads, else ``workers`` (1 in-process)."""
        if self.in_process:
            return 1
        if self._client is None and not self.scheduler:
            return self.workers  # the local cluster is not started just to count
        return max(1, sum(self.client.nthreads().values()))

    def close(self, quiet: bool = False) -> None:
        """Close the client and stop the local cluster (a later call starts a new one).

        ``quiet``: after an interrupt, with the distributed loggers silenced and a second
        Ctrl-C ignored until the workers are stopped.
        """
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if quiet:
            with _sigint_ignored(), _quiet_logs():
                self._stop(client, cluster)
        else:
            self._stop(client, cluster)

    @staticmethod
    def _stop(client, cluster) -> None:
        try:
            if client is not None:
                client.close()
        finally:
            if cluster is not None:
                cluster.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(quiet=exc_type is not None and issubclass(exc_type, KeyboardInterrupt))

    # ------------------------------------------------------------------ running
    def submit(self, specs: Iterable[RunSpec], *, chunk_size: int | None = None,
               progress: bool | None = None, label: str = "runs") -> Iterator[RunResult]:
        """Run ``specs``; yield a :class:`RunResult` for each as its chunk finishes.

        Results come in completion order (each carries its spec); their contents do not
        depend on it. A spec given twice runs twice. Work is submitted as the iterator is
        consumed; closing it early cancels what is still queued.

        Parameters
        ----------
        specs : iterable of RunSpec
            The runs (their reducers, if any, are checked here).
        chunk_size : int, optional
            Runs per task (default: the executor's, else from the run-time estimate).
        progress : bool, optional
            Show a progress bar (default: the executor's setting).
        label : str
            Progress bar label.

        Returns
        -------
        iterator of RunResult
        """
        specs = list(specs)
        for spec in specs:
            if spec.reducer is not None:
                resolve_reducer(spec.reducer)  # a bad name fails here, not in every worker
        show = self.progress if progress is None else progress
        return self._results(specs, chunk_size, show, label)

    def run(self, specs: Iterable[RunSpec], **kw) -> list[RunResult]:
        """Run ``specs`` and return their results in the order of ``specs``.

        Keywords as :meth:`submit`.
        """
        specs = list(specs)
        out: list[RunResult | None] = [None] * len(specs)
        # results carry their spec; identical specs (a spec given twice) are told apart
        # by position, in the order they finish
        slots: dict[int, list[int]] = {}
        for i, spec in enumerate(specs):
            slots.setdefault(id(spec), []).append(i)
        for res in self.submit(specs, **kw):
            out[slots[id(res.spec)].pop(0)] = res
        return out  # type: ignore[return-value]

    def _results(self, specs: list[RunSpec], chunk_size: int | None, show: bool,
                 label: str) -> Iterator[RunResult]:
        bar = tqdm(total=len(specs), desc=label, unit="run", disable=not show, smoothing=0.1)
        try:
            for chunk, out in self.chunks(specs, chunk_size):
                yield from _run_results(chunk, out)
                bar.update(len(chunk))
        finally:
            bar.close()

    def chunks(self, specs: Sequence[RunSpec], chunk_size: int | None = None
               ) -> Iterator[tuple[list[RunSpec], ChunkOutput]]:
        """Run ``specs`` in chunks; yield each chunk with its output as it finishes.

        The lower level of :meth:`submit` (and of :func:`execute`, which writes one store
        shard per chunk). A chunk that fails as a whole (its worker died more often than
        the retries allow) comes back with an error for each of its runs.
        """
        specs = list(specs)
        if not specs:
            return
        size = chunk_size or self.chunk_size or _chunk_size(specs, self.workers)
        chunks = [specs[i:i + size] for i in range(0, len(specs), size)]
        if self.in_process:
            yield from self._chunks_here(chunks)
        else:
            yield from self._chunks_distributed(chunks)

    def _chunks_here(self, chunks: list[list[RunSpec]]
                     ) -> Iterator[tuple[list[RunSpec], ChunkOutput]]:
        for chunk in chunks:
            try:
                # this process's cache is left as it is unless the executor says otherwise
                out = _worker_chunk(chunk, self.population_cache,
                                    self.population_cache is not None)
            except Exception as exc:  # noqa: BLE001 - reported per run, as on Dask
                out = _chunk_failed(chunk, exc)
            yield chunk, out

    def _chunks_distributed(self, chunks: list[list[RunSpec]]
                            ) -> Iterator[tuple[list[RunSpec], ChunkOutput]]:
        from dask.distributed import as_completed

        client = self.client
        n_threads = max(1, sum(client.nthreads().values()))
        in_flight = 3 * n_threads  # bounded: the driver never holds the whole batch
        pending = iter(enumerate(chunks))
        # task keys: this call's random batch id and the chunk index, so that two batches
        # on one scheduler (same scenario and seed, other replicate counts or chunk sizes)
        # never share a key, and so never a result; the first run id only helps reading
        batch_id = uuid.uuid4().hex
        by_key: dict = {}

        def submit_next():
            item = next(pending, None)
            if item is None:
                return None
            i, chunk = item
            # every task sets its worker's cache, so that a worker shared with an earlier
            # executor (an external cluster) does not keep that executor's setting
            fut = client.submit(_worker_chunk, chunk, self.population_cache, True,
                                key=f"chunk-{batch_id}-{i}-{chunk[0].run_id}", pure=False,
                                retries=2)
            by_key[fut.key] = (chunk, fut)
            return fut

        first = [f for f in (submit_next() for _ in range(in_flight)) if f is not None]
        # this client's loop: as_completed otherwise takes the default client's, the most
        # recently made one, and waiting across loops made runs 4-6 times as slow (measured)
        ac = as_completed(first, loop=client.loop)
        try:
            for fut in ac:
                chunk, _ = by_key.pop(fut.key)
                try:
                    out = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after retries
                    out = _chunk_failed(chunk, exc)
                if not _output_of(chunk, out):  # never store another task's runs as ours
                    out = _chunk_failed(chunk, RuntimeError(
                        f"task {fut.key} returned the results of other runs"))
                fut.release()
                nxt = submit_next()
                if nxt is not None:
                    ac.add(nxt)
                yield chunk, out
        finally:
            if by_key:  # the caller stopped early: drop what is still queued or running
                client.cancel([f for _, f in by_key.values()])
                by_key.clear()


def execute(specs: Sequence[RunSpec], store: ResultStore, *, workers: int | None = None,
            scheduler: str | None = None, chunk_size: int | None = None,
            progress: bool = True, label: str = "runs",
            executor: Executor | None = None) -> BatchReport:
    """Run every spec not yet in ``store``; write results as chunks finish.

    Parameters
    ----------
    specs : sequence of RunSpec
        The whole batch (finished runs are skipped). Specs with a reducer are refused:
        the store holds every run's full rows.
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
    executor : Executor, optional
        Run on this executor (and keep it open) instead of one made from ``workers`` and
        ``scheduler`` for this batch.

    Returns
    -------
    BatchReport
        ``done`` counts the batch's runs in the store after the batch, so the report is
        complete only when the store holds every one of them.

    Raises
    ------
    BatchInterrupted
        On Ctrl-C (a :class:`KeyboardInterrupt`), after the rest of the batch was
        cancelled: how many runs the store keeps for a resume.
    """
    reduced = [s.run_id for s in specs if s.reducer is not None]
    if reduced:
        raise ValueError(f"{len(reduced)} specs have a reducer (e.g. run {reduced[0]}); a "
                         "store keeps full rows: run them with Executor.submit instead")
    # identical runs (same point and seed, e.g. a Morris grid point visited twice under
    # common random numbers) are one run: the store keeps one copy and analyses look it up
    specs = list({s.run_id: s for s in specs}.values())
    done_before = store.done_ids()
    todo = [s for s in specs if s.run_id not in done_before]
    skipped = len(specs) - len(todo)
    failed: list[dict] = []
    ids = {s.run_id for s in specs}
    bar = tqdm(total=len(specs), initial=skipped, desc=label, unit="run", disable=not progress,
               smoothing=0.1)
    own = executor is None
    ex = Executor(workers, scheduler, progress=False) if own else executor
    interrupted = False
    work = ex.chunks(todo, chunk_size)
    try:
        for chunk, out in work:
            failed += _collect(store, out)
            bar.update(len(chunk))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        # after Ctrl-C: the rest cancelled, the workers stopped, with a second Ctrl-C
        # ignored and the distributed loggers' complaints about cancelled work silenced
        with _sigint_ignored() if interrupted else nullcontext(), \
                _quiet_logs() if interrupted else nullcontext():
            work.close()
            bar.close()
            if own:
                ex.close()
    # complete means every run of the batch is in the store, counted there (never from
    # the finished tasks)
    done = len(store.done_ids() & ids)
    if interrupted:
        raise BatchInterrupted(done, len(specs), store.path) from None
    return BatchReport(total=len(specs), done=done, skipped=skipped, failed=len(failed),
                       errors=failed)


def _collect(store: ResultStore, out: ChunkOutput) -> list[dict]:
    if len(out.rows):
        store.write_shard(out.rows)
    for err in out.errors:
        store.write_error(err["run_id"], err)
    return out.errors
