"""Executor benchmark: runs per second on 1 and 2 workers, and the executor's overhead.

Prints

(a) **scaling**: runs per second of a Morris-sized batch of emigsim runs (default 48 runs at
    scale 500, 2012-2018) through :func:`model.runs.execution.execute` on a LocalCluster of 1 and
    of 2 single-threaded worker processes, and the parallel efficiency
    ``rate(2) / (2 * rate(1))``. The cluster is started (and each worker warmed up with one
    run, which loads the model's data) before the clock starts; that start-up is reported in
    its own columns.
(b) **overhead**: the wall time of ``execute`` (chunking, Dask, pickling, Parquet shards)
    against calling :func:`model.runs.runner.run_one` directly in a loop on the same specs, in
    this process (``workers=0``) and on one LocalCluster worker (``workers=1``, where the
    plain loop is timed inside the worker process too), in percent. Because other load on
    the machine changes the speed of the runs themselves by more than the overhead, each
    batch also times its own model runs (a timer around the ``emigsim`` entry of
    :data:`model.runs.batch.MODELS`, in whichever process runs them); ``batch / runs - 1`` is the
    executor's share of that very batch, the steadier figure.

Every batch writes to a fresh store in a temporary folder. Timings are the best of
``--repeats``; the script measures and prints, it never asserts on timing. The ``CPU``
column is the CPU time of the processes doing the runs (the workers, or this process) over
wall time x processes: below 85% (flagged ``*``) something else was competing for the cores
and the figures on that line are pessimistic.

Usage (from the repository root)::

    python benchmarks/executor.py                       # 48 runs, scale 500, 2012-2018
    python benchmarks/executor.py --runs 96 --repeats 5
    python benchmarks/executor.py --runs 8 --repeats 1  # quick smoke run
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
BUSY_SHARE = 0.85
"""Below this CPU share a measurement is flagged as slowed by other load."""


# --------------------------------------------------------------------------- measuring
def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by the processes ``pids`` (all threads)."""
    import psutil

    return sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids)


def measured(pids: list[int], fn, *args, **kw) -> tuple:
    """Call ``fn(*args, **kw)``, which returns a tuple starting with wall seconds; return
    that tuple with the CPU share of the processes ``pids`` over the call appended."""
    c0 = cpu_seconds(pids)
    out = fn(*args, **kw)
    return (*out, (cpu_seconds(pids) - c0) / (out[0] * len(pids)))


def flag(share: float) -> str:
    return f"{share:>4.0%}{'*' if share < BUSY_SHARE else ' '}"


def install_run_timer() -> None:
    """Wrap ``MODELS["emigsim"]`` (in this process) so that it adds up its own wall time."""
    import model.runs.batch as batch

    if hasattr(batch, "_bench_run_s"):
        return
    batch._bench_run_s = [0.0]
    inner = batch.MODELS["emigsim"]

    def timed(spec):
        t0 = time.perf_counter()
        try:
            return inner(spec)
        finally:
            batch._bench_run_s[0] += time.perf_counter() - t0

    batch.MODELS["emigsim"] = timed


def take_run_seconds() -> float:
    """Model-run seconds added up since the last call (in this process)."""
    import model.runs.batch as batch

    secs, batch._bench_run_s[0] = batch._bench_run_s[0], 0.0
    return secs


def _warm_up(scale: float, end: int) -> float:
    """One short run: imports the model and loads its data tables."""
    from model.runs.runner import run_one
    from model.scenario import Scenario

    t0 = time.perf_counter()
    run_one(Scenario(scale=scale, end=min(end, 2013)), 123456)
    return time.perf_counter() - t0


class Cluster:
    """A LocalCluster like the executor's, started (and warmed up) outside the timings."""

    def __init__(self, workers: int, scale: float, end: int):
        from model.runs.execution import Executor

        t0 = time.perf_counter()
        # the executor's own cluster (its worker environment), not a plain LocalCluster
        self.executor = Executor(workers=workers, progress=False)
        self.client = self.executor.client
        self.client.wait_for_workers(workers)
        self.start_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        self.client.run(_warm_up, scale, end)  # on every worker at once
        self.warm_s = time.perf_counter() - t1
        self.client.run(install_run_timer)
        self.address = self.executor._cluster.scheduler_address
        self.pids = sorted(self.client.run(os.getpid).values())

    def run_seconds(self) -> float:
        return sum(self.client.run(take_run_seconds).values())

    def close(self) -> None:
        self.executor.close()


def timed_execute(specs, cluster: Cluster | None = None, **kw) -> tuple[float, float]:
    """Wall seconds of one ``execute`` of every spec into a fresh store, and the seconds
    spent in the model runs of that batch (on ``cluster``'s workers, or in this process)."""
    from model.runs.execution import execute
    from model.runs.store import ResultStore

    with tempfile.TemporaryDirectory(prefix="emigsim-bench-") as tmp:
        store = ResultStore(tmp)
        if cluster is None:
            take_run_seconds()
        else:
            cluster.run_seconds()
            kw["scheduler"] = cluster.address
        t0 = time.perf_counter()
        rep = execute(specs, store, progress=False, **kw)
        elapsed = time.perf_counter() - t0
        runs = take_run_seconds() if cluster is None else cluster.run_seconds()
        if not rep.complete or rep.failed:
            raise SystemExit(f"batch incomplete: {rep.done}/{rep.total}, {rep.failed} failed")
    return elapsed, runs


def timed_direct(specs) -> tuple[float]:
    """Wall seconds of ``run_one`` on every spec in a plain loop (no executor, no store)."""
    from model.runs.runner import run_one

    t0 = time.perf_counter()
    for s in specs:
        run_one(s.scenario, s.seed)
    return (time.perf_counter() - t0,)


def in_a_worker(client, specs) -> tuple[float]:
    """:func:`timed_direct` as one task in a worker; its wall seconds there."""
    return client.submit(timed_direct, specs, pure=False).result()


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=48, help="runs in the batch (default 48)")
    ap.add_argument("--scale", type=float, default=500.0, help="scenario scale (default 500)")
    ap.add_argument("--start", type=int, default=2012)
    ap.add_argument("--end", type=int, default=2018)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="best of this many (default 3)")
    ap.add_argument("--chunk-size", type=int, default=None,
                    help="runs per task (default: the executor's own choice)")
    args = ap.parse_args(argv)

    from model.runs.batch import replicate_specs
    from model.runs.execution import _chunk_size
    from model.scenario import Scenario

    sc = Scenario(scale=args.scale, start=args.start, end=args.end)
    specs = replicate_specs(sc, seed=args.seed, replicates=args.runs)
    print(f"emigsim executor benchmark: {args.runs} runs, scale {args.scale:g}, "
          f"{args.start}-{args.end}, best of {args.repeats}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)

    # (a) scaling over LocalCluster workers, start-up excluded -----------------------------
    print("\n(a) scaling (LocalCluster, 1 thread per worker; start-up not timed)")
    print(f"{'workers':>7} {'chunk':>5} {'start-up s':>10} {'warm-up s':>9} {'batch s':>8} "
          f"{'runs/s':>7} {'CPU':>5}")
    rates, shares = {}, []
    for w in (1, 2):
        cl = Cluster(w, args.scale, args.end)
        try:
            size = args.chunk_size or _chunk_size(specs, w)
            secs, _, share = min(measured(cl.pids, timed_execute, specs, cl, chunk_size=size)
                                 for _ in range(args.repeats))
        finally:
            cl.close()
        rates[w] = args.runs / secs
        shares.append(share)
        print(f"{w:>7} {size:>5} {cl.start_s:>10.2f} {cl.warm_s:>9.2f} {secs:>8.2f} "
              f"{rates[w]:>7.2f} {flag(share)}", flush=True)
    eff = rates[2] / (2 * rates[1])
    print(f"parallel efficiency rate(2) / (2 x rate(1)) = {eff:.1%}  (target >= 85% on 2 cores)")

    # (b) overhead of executor + store over a plain loop -----------------------------------
    print("\n(b) overhead of execute() + store over run_one() in a loop, same specs")
    _warm_up(args.scale, args.end)
    install_run_timer()
    here = [os.getpid()]
    direct, in_proc, in_worker, one_worker = [], [], [], []
    cl = Cluster(1, args.scale, args.end)
    try:
        size = args.chunk_size or _chunk_size(specs, 1)
        for _ in range(args.repeats):  # interleaved, so that drifting load hits all of them
            direct.append(measured(here, timed_direct, specs))
            in_proc.append(measured(here, timed_execute, specs, workers=0, chunk_size=size))
            in_worker.append(measured(cl.pids, in_a_worker, cl.client, specs))
            one_worker.append(measured(cl.pids, timed_execute, specs, cl, chunk_size=size))
    finally:
        cl.close()

    print(f"{'how':>28} {'batch s':>8} {'ms/run':>7} {'vs loop':>8} {'runs s':>7} "
          f"{'batch/runs':>10} {'CPU':>5}")

    def line(name: str, times: list, loop: float | None = None) -> None:
        best = min(times)
        t, share = best[0], best[-1]
        vs = f"{100 * (t - loop) / loop:>+7.1f}%" if loop else f"{'':>8}"
        own = (f"{best[1]:>7.2f} {100 * (t - best[1]) / best[1]:>+9.1f}%" if len(best) == 3
               else f"{'':>7} {'':>10}")
        print(f"{name:>28} {t:>8.2f} {1e3 * t / args.runs:>7.1f} {vs} {own} {flag(share)}")
        shares.append(share)

    line("run_one loop, this process", direct)
    line("execute, workers=0", in_proc, min(direct)[0])
    line("run_one loop, in the worker", in_worker)
    line("execute, 1 worker", one_worker, min(in_worker)[0])
    print(f"(chunk size {size}; 'vs loop': against the plain loop in the same kind of "
          f"process; 'batch/runs': the batch's wall time over its own model-run time; "
          f"target overhead < 5%)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if min(shares) < BUSY_SHARE:
        print("* CPU share below 85%: other processes competed for the cores; re-run on an "
              "idle machine before reading the efficiency or the overhead")


if __name__ == "__main__":
    main()
