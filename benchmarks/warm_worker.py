"""Warm-worker benchmark: seconds per calibration-style run, set-up included.

A calibration sampler submits many small runs that differ only in behaviour parameters,
with the same seeds. This script times one 2012-2018 run of the baseline scenario
(``scenarios/baseline.toml``, scale 50) in four ways, each with its whole set-up:

(a) **cold**: a fresh Python process per run (``python benchmarks/warm_worker.py --_child``):
    interpreter start, imports, numba's cache load, data tables, population, the run;
    timed from the parent, process start to exit.
(b) **warm, cache off**: one process that has done a run already (imports, compiled passes
    and data tables loaded), population cache off (``population_cache.configure(0)``): each
    run builds its population.
(c) **warm, cache on**: the same process with the population cache on: each run copies its
    population (built once per seed, in the warm-up run).
(d) **executor**: the same runs through :class:`model.runs.execution.Executor` on a
    one-worker LocalCluster that has done a run already, with the cache off and on: what a
    calibration sees per run (Dask round trip, pickling and the reducer included); and, as
    *before* this benchmark's changes, on a LocalCluster worker with Dask's default worker
    environment (``MALLOC_TRIM_THRESHOLD_=65536``, which the Executor no longer sets) and
    the cache off.

Runs (b)-(d) vary ``realise_emigrate`` over its range with fixed seeds, as a calibration
would, and each returns only ``model.runs.reducers:national_series`` (the worker's path:
``model.runs.batch.work_chunk``). The warm modes are measured ``--repeats`` times,
interleaved so that drifting load hits all of them, and the fastest repeat's mean is shown
(every repeat goes to the JSON). The ``CPU`` column is CPU time over wall time of the process
that ran the runs; below 85% (flagged ``*``) other load slowed that line. The script only
measures and prints; it asserts nothing about timing.

Usage (from the repository root)::

    python benchmarks/warm_worker.py                       # 5 cold, 3 x 20 warm runs
    python benchmarks/warm_worker.py --out benchmarks/results.json
    python benchmarks/warm_worker.py --cold 2 --runs 5 --repeats 1   # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
BUSY_SHARE = 0.85
"""Below this CPU share a measurement is flagged as slowed by other load."""
TAG = "WARM_WORKER_JSON "
KEY = "warm_worker"
"""Key of this benchmark's results in ``results.json`` (``throughput.py`` keeps it)."""
REDUCER = "model.runs.reducers:national_series"


def _specs(runs: int, seeds: int, scenario_path: str):
    """Calibration-like specs: ``realise_emigrate`` over its range, seeds fixed."""
    from dataclasses import replace

    import numpy as np

    from model.params import REGISTRY
    from model.runs.batch import design_specs
    from model.scenario import load_scenario

    sc = load_scenario(scenario_path)
    lo, hi = REGISTRY["realise_emigrate"].bounds
    values = np.linspace(lo + 0.1 * (hi - lo), lo + 0.4 * (hi - lo), runs)
    out = []
    for i, v in enumerate(values):
        [spec] = design_specs(sc, [{"realise_emigrate": float(v)}], seed=1 + i % seeds,
                              replicates=1)
        out.append(replace(spec, reducer=REDUCER))
    return sc, out


# --------------------------------------------------------------------------- cold (a)
def _child(scenario_path: str, value: float, seed: int) -> None:
    """One run in this fresh process; print what it took inside the process."""
    t0 = time.perf_counter()
    from dataclasses import replace

    from model.runs.batch import design_specs, work_chunk
    from model.scenario import load_scenario

    t1 = time.perf_counter()
    sc = load_scenario(scenario_path)
    [spec] = design_specs(sc, [{"realise_emigrate": value}], seed=seed, replicates=1)
    out = work_chunk([replace(spec, reducer=REDUCER)])
    t2 = time.perf_counter()
    assert not out.errors, out.errors
    print(TAG + json.dumps({"imports_s": t1 - t0, "run_s": t2 - t1}), flush=True)


def cold_run(python: str, scenario_path: str, value: float, seed: int) -> dict:
    """Time one run in a fresh process, from its start to its exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([python, str(Path(__file__).resolve()), "--_child",
                           "--scenario", scenario_path, "--_value", repr(value),
                           "--_seed", str(seed)], cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(TAG)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"cold run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    rec = json.loads(lines[-1][len(TAG):])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rec.update(wall_s=wall, cpu_share=cpu / wall)
    return rec


# --------------------------------------------------------------------------- warm (b, c)
def warm_here(specs, cache: bool) -> dict:
    """Mean seconds per run of ``specs`` in this process, cache on or off."""
    from model.core import population_cache
    from model.runs.batch import work_chunk

    population_cache.configure(None if cache else 0)
    c0, t0 = time.process_time(), time.perf_counter()
    for spec in specs:
        out = work_chunk([spec])
        assert not out.errors, out.errors
    wall = time.perf_counter() - t0
    return {"s_per_run": wall / len(specs), "cpu_share": (time.process_time() - c0) / wall}


# --------------------------------------------------------------------------- executor (d)
def warm_executor(ex, specs, cache: bool | None) -> dict:
    """Mean seconds per run of ``specs`` on the executor's (one) warm worker."""
    import psutil

    if cache is not None:  # None: as the executor was made (the "before" one: off)
        ex.population_cache = None if cache else 0
    [pid] = ex.client.run(os.getpid).values()
    proc = psutil.Process(pid)
    c0, t0 = sum(proc.cpu_times()[:2]), time.perf_counter()
    results = ex.run(specs, chunk_size=1)
    wall = time.perf_counter() - t0
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:1]
    return {"s_per_run": wall / len(specs),
            "cpu_share": (sum(proc.cpu_times()[:2]) - c0) / wall}


def _dask_default_cluster():
    """A one-worker LocalCluster as ``execute`` started it before the Executor: Dask's
    default worker environment (``MALLOC_TRIM_THRESHOLD_=65536``)."""
    import logging

    from dask.distributed import LocalCluster

    before = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    # the nanny sets the variable in this process too (for the processes it spawns)
    if before is None:
        os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return cluster


# --------------------------------------------------------------------------- report
def _flag(share: float) -> str:
    return f"{share:>4.0%}{'*' if share < BUSY_SHARE else ' '}"


def _machine() -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from throughput import machine_info

    return machine_info()


def write_json(path: Path, result: dict) -> None:
    """Put ``result`` under :data:`KEY` of the JSON file, keeping its other keys."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data[KEY] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table (and write JSON if asked)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="scenarios/baseline.toml",
                    help="scenario file (default: the baseline, scale 50, 2012-2018)")
    ap.add_argument("--cold", type=int, default=5, help="fresh-process runs (default 5)")
    ap.add_argument("--runs", type=int, default=20, help="runs per warm measurement (20)")
    ap.add_argument("--seeds", type=int, default=2,
                    help="distinct seeds the warm runs cycle through (default 2)")
    ap.add_argument("--repeats", type=int, default=3, help="warm measurements (default 3)")
    ap.add_argument("--no-executor", action="store_true", help="skip (d)")
    ap.add_argument("--python", default=sys.executable, help="interpreter for (a)")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"also write the numbers under {KEY!r} of this JSON file")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_value", type=float, default=0.05, help=argparse.SUPPRESS)
    ap.add_argument("--_seed", type=int, default=1, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._child:
        _child(a.scenario, a._value, a._seed)
        return 0
    if min(a.cold, a.runs, a.seeds, a.repeats) < 1:
        ap.error("--cold, --runs, --seeds and --repeats must be at least 1")

    load_start = list(os.getloadavg())
    sc, specs = _specs(a.runs, a.seeds, a.scenario)
    print(f"warm-worker benchmark: {sc.name}, scale {sc.scale:g}, {sc.start}-{sc.end}; "
          f"realise_emigrate varied over {a.runs} runs, {a.seeds} seed(s); "
          f"{os.cpu_count()} CPUs, load average {load_start[0]:.2f}", flush=True)

    cold = [cold_run(a.python, a.scenario, specs[i % a.runs].design["realise_emigrate"],
                     specs[i % a.runs].seed) for i in range(a.cold)]
    walls = ", ".join(f"{r['wall_s']:.2f}" for r in cold)
    print(f"  (a) cold: {walls} s", flush=True)

    from model.runs.batch import work_chunk

    for spec in specs[:a.seeds]:  # warm-up: imports, compiled passes, data, one build a seed
        work_chunk([spec])
    ex = old = old_cluster = None
    if not a.no_executor:
        from model.runs.execution import Executor

        ex = Executor(workers=1, progress=False)
        ex.run(specs[:a.seeds], chunk_size=1)  # the worker's warm-up
        old_cluster = _dask_default_cluster()
        old = Executor(scheduler=old_cluster.scheduler_address, workers=1, progress=False,
                       population_cache=0)
        old.run(specs[:a.seeds], chunk_size=1)
    modes = {"warm_off": [], "warm_on": [], "executor_before": [], "executor_off": [],
             "executor_on": []}
    try:
        for rep in range(a.repeats):
            modes["warm_off"].append(warm_here(specs, cache=False))
            modes["warm_on"].append(warm_here(specs, cache=True))
            if ex is not None:
                modes["executor_before"].append(warm_executor(old, specs, cache=None))
                modes["executor_off"].append(warm_executor(ex, specs, cache=False))
                modes["executor_on"].append(warm_executor(ex, specs, cache=True))
            print(f"  repeat {rep + 1}: " + ", ".join(
                f"{k} {v[-1]['s_per_run']:.3f}" for k, v in modes.items() if v), flush=True)
    finally:
        for thing in (ex, old, old_cluster):
            if thing is not None:
                thing.close()
    modes = {k: v for k, v in modes.items() if v}

    best_cold = min(cold, key=lambda r: r["wall_s"])
    mean_cold = sum(r["wall_s"] for r in cold) / len(cold)
    rows = [("(a) cold: fresh process per run", mean_cold, best_cold["wall_s"],
             min(r["cpu_share"] for r in cold))]
    names = {"warm_off": "(b) warm process, cache off", "warm_on": "(c) warm process, cache on",
             "executor_before": "(d) warm Dask worker as before",
             "executor_off": "(d) warm worker (Executor), cache off",
             "executor_on": "(d) warm worker (Executor), cache on"}
    best = {k: min(v, key=lambda r: r["s_per_run"]) for k, v in modes.items()}
    for k, b in best.items():
        mean = sum(r["s_per_run"] for r in modes[k]) / len(modes[k])
        rows.append((names[k], mean, b["s_per_run"], b["cpu_share"]))

    print(f"\nseconds per {sc.start}-{sc.end} run at scale {sc.scale:g}, set-up included "
          f"(cold: mean and fastest of {a.cold}; warm: mean and fastest repeat of "
          f"{a.repeats} x {a.runs} runs)\n")
    head = (f"{'how':<40} {'mean s/run':>10} {'best s/run':>10} {'cold/best':>9} "
            f"{'CPU':>5}")
    print(head)
    print("-" * len(head))
    for name, mean, fast, share in rows:
        print(f"{name:<40} {mean:>10.3f} {fast:>10.3f} {best_cold['wall_s'] / fast:>8.1f}x "
              f"{_flag(share)}")
    print(f"\n(a) inside the fresh process: imports {best_cold['imports_s']:.2f} s, "
          f"the run with its set-up {best_cold['run_s']:.2f} s; the rest is interpreter "
          "start and exit")
    if "warm_on" in best:
        print(f"cache on vs off in a warm process: "
              f"{best['warm_off']['s_per_run'] / best['warm_on']['s_per_run']:.2f}x")
    if a.out:
        info = _machine()
        info["load_average_at_start"] = load_start
        write_json(a.out, {
            "scenario": a.scenario, "scale": sc.scale, "start": sc.start, "end": sc.end,
            "runs": a.runs, "seeds": a.seeds, "repeats": a.repeats, "varied": "realise_emigrate",
            "reducer": REDUCER, "cold": cold,
            "warm": modes, "best_s_per_run": {"cold": best_cold["wall_s"],
                                              **{k: b["s_per_run"] for k, b in best.items()}},
            "machine": info})
        print(f"\nwrote {a.out} [{KEY!r}]", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
