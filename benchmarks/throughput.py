"""Throughput benchmark: emigsim against a plain-Mesa reference model.

Prints household-years per second and peak memory for emigsim at several population sizes
(default 10k, 100k and 1M simulated households, 24 years from 2012 to 2035) and the same
figures for the plain-Mesa reference model (``mesa_ref.py``, kept outside the repository in
``../shared/bench``), run in the same benchmark run, with the ratio of the two.
``--national`` adds a run of emigsim at scale 1 (the full population, about 4.5 million
households) and prints its wall time and peak RSS.

Every measurement runs in its own Python subprocess, so the peak RSS reported
(``ru_maxrss`` of that process) belongs to that measurement alone. Nothing here asserts on
timing: the script only measures and prints.

Usage (from the repository root)::

    python benchmarks/throughput.py                                   # 10k, 100k, 1M; 24 years
    python benchmarks/throughput.py --sizes 10000 100000 1000000 --ref-sizes 10000 100000
    python benchmarks/throughput.py --sizes 10000 --years 3           # quick smoke run
    python benchmarks/throughput.py --national --sizes                # national run only
    python benchmarks/throughput.py --out benchmarks/results.json     # also write JSON
    python benchmarks/throughput.py --repeat 3                        # fastest of 3 runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REF_DIR = Path(__file__).resolve().parents[2] / "shared" / "bench"
REF_SCRIPT = "mesa_ref.py"
FULL_REF_SCRIPT = "mesa_full_ref.py"  # households and persons as agents: the like-for-like one
FIRST_YEAR = 2012
TAG = "EMIGSIM_BENCH_RESULT "
RSS_TAG = "EMIGSIM_BENCH_MAXRSS_KIB="
CPU_TAG = "EMIGSIM_BENCH_CPU_S="
BUSY_SHARE = 0.85
"""Below this share of CPU time in wall time, a measurement is flagged as slowed by other load."""

# Runs the reference script as __main__ with its own argv, then reports the peak RSS of this
# process on stderr as a tagged line (the script itself prints setup_s/run_s on stderr).
_REF_WRAPPER = """\
import resource, runpy, sys
sys.argv = [{script!r}] + {argv!r}
sys.path.insert(0, '.')
try:
    runpy.run_path({script!r}, run_name='__main__')
finally:
    u = resource.getrusage(resource.RUSAGE_SELF)
    print({tag!r} + str(u.ru_maxrss), file=sys.stderr, flush=True)
    print({cpu_tag!r} + repr(u.ru_utime + u.ru_stime), file=sys.stderr, flush=True)
"""


# --------------------------------------------------------------------------- child side
def _child_emigsim(households: int, years: int, seed: int, scale: float | None) -> None:
    """Build and run one emigsim model; print a tagged JSON line with the timings."""
    import resource
    from time import perf_counter, process_time

    sys.path.insert(0, str(REPO))
    from model import datasets
    from model.scenario import Scenario
    from model.simulation import EmigrationModel

    if scale is None:
        real_households = (datasets.population_by_region(FIRST_YEAR).sum()
                           / Scenario().params["mean_household_size"])
        scale = float(real_households / households)
    sc = Scenario(scale=scale, start=FIRST_YEAR, end=FIRST_YEAR + years - 1)
    t0 = perf_counter()
    m = EmigrationModel(sc, seed=seed)
    t1 = perf_counter()
    persons_start = int(m.persons.n)
    c1 = process_time()
    m.run_model()
    t2 = perf_counter()
    c2 = process_time()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "households": int(m.n_households_start),
        "households_requested": households,
        "persons_start": persons_start,
        "scale": scale,
        "years": years,
        "setup_s": t1 - t0,
        "run_s": t2 - t1,
        "run_cpu_s": c2 - c1,
        "process_cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_kib": usage.ru_maxrss,
    }
    print(TAG + json.dumps(out), flush=True)


# -------------------------------------------------------------------------- parent side
def _progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _tail(text: str, n: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def _finish(rec: dict) -> dict:
    hy = rec["households"] * rec["years"]
    rec["household_years"] = hy
    rec["hh_years_per_s"] = hy / rec["run_s"] if rec["run_s"] > 0 else float("nan")
    rec["us_per_hh_year"] = 1e6 * rec["run_s"] / hy if hy else float("nan")
    rec["peak_rss_mb"] = rec["maxrss_kib"] / 1024.0
    # share of the wall time this process actually got a CPU: well below 1 means other load
    # on the machine slowed the measurement (the timings are then too pessimistic)
    if rec.get("run_cpu_s") is not None and rec["run_s"] > 0:
        rec["cpu_share"] = rec["run_cpu_s"] / rec["run_s"]
    elif rec.get("process_cpu_s") is not None and rec["process_wall_s"] > 0:
        rec["cpu_share"] = rec["process_cpu_s"] / rec["process_wall_s"]
    else:
        rec["cpu_share"] = None
    return rec


def _threads(env: dict) -> int:
    """Threads of emigsim's parallel passes under ``env`` (``NUMBA_NUM_THREADS``, else cores)."""
    return int(env.get("NUMBA_NUM_THREADS", os.cpu_count()))


def run_emigsim(python: str, households: int | None, years: int, seed: int,
                scale: float | None = None, label: str = "emigsim",
                threads: int | None = None) -> dict | None:
    """Run one emigsim measurement in a subprocess and return its record (None on failure).

    ``threads`` sets the threads of the compiled passes that run over the cores
    (``NUMBA_NUM_THREADS``; default: every core).
    """
    cmd = [python, str(Path(__file__).resolve()), "--_child", "--years", str(years),
           "--seed", str(seed), "--sizes", str(households or 0)]
    if scale is not None:
        cmd += ["--_scale", repr(scale)]
    env = dict(os.environ)
    if threads is not None:
        env["NUMBA_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(TAG)]
    if proc.returncode != 0 or not lines:
        _progress(f"{label} FAILED (exit {proc.returncode}):\n{_tail(proc.stderr)}")
        return None
    rec = json.loads(lines[-1][len(TAG):])
    rec.update(model=label, process_wall_s=wall,
               threads=_threads(env))
    return _finish(rec)


def run_reference(python: str, ref_dir: Path, households: int, years: int,
                  seed: int, script: str = REF_SCRIPT, label: str = "mesa-ref") -> dict | None:
    """Run a reference script in a subprocess and return its record (None on failure)."""
    argv = ["--households", str(households), "--years", str(years), "--seed", str(seed)]
    code = _REF_WRAPPER.format(script=script, argv=argv, tag=RSS_TAG, cpu_tag=CPU_TAG)
    start = time.perf_counter()
    proc = subprocess.run([python, "-c", code], cwd=ref_dir, capture_output=True, text=True)
    wall = time.perf_counter() - start
    timing = re.search(r"setup_s=([0-9.eE+-]+)\s+run_s=([0-9.eE+-]+)", proc.stderr)
    rss = re.search(re.escape(RSS_TAG) + r"(\d+)", proc.stderr)
    cpu = re.search(re.escape(CPU_TAG) + r"([0-9.eE+-]+)", proc.stderr)
    if proc.returncode != 0 or not timing or not rss:
        _progress(f"reference FAILED (exit {proc.returncode}):\n{_tail(proc.stderr)}")
        return None
    rec = {"model": label, "households": households, "years": years,
           "setup_s": float(timing.group(1)), "run_s": float(timing.group(2)),
           "maxrss_kib": int(rss.group(1)), "process_wall_s": wall,
           "process_cpu_s": float(cpu.group(1)) if cpu else None}
    return _finish(rec)


def _keep_best(best: dict[int, dict], size: int, rec: dict | None) -> None:
    """Keep the record with the shortest run time of ``size``; list every run time in it."""
    if rec is None:
        return
    _progress(f"  done: setup {rec['setup_s']:.1f} s, run {rec['run_s']:.2f} s, "
              f"{rec['hh_years_per_s']:,.0f} household-years/s")
    runs = best[size]["run_s_all"] if size in best else []
    if size not in best or rec["run_s"] < best[size]["run_s"]:
        best[size] = rec
    best[size]["run_s_all"] = runs + [rec["run_s"]]


def machine_info() -> dict:
    """Describe the machine and software the numbers were measured with."""
    def version(pkg: str) -> str | None:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None

    info = {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else None,
        "cpu_model": None,
        "memory_gb": None,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "numpy": version("numpy"),
        "mesa": version("mesa"),
        "numba": version("numba"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "git_commit": None,
        "git_dirty": None,
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gb"] = round(pages * page_size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        git = ["git", "-C", str(REPO)]
        info["git_commit"] = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True,
                                            text=True, check=True).stdout.strip()
        status = subprocess.run(git + ["status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, check=True).stdout
        info["git_dirty"] = bool(status.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def print_table(records: list[dict]) -> None:
    """Print the measurements as an aligned table on stdout."""
    head = (f"{'model':<10} {'households':>10} {'years':>5} {'setup s':>9} {'run s':>9} "
            f"{'hh-years/s':>12} {'us/hh-year':>10} {'peak RSS MB':>11} {'CPU share':>9}")
    print(head)
    print("-" * len(head))
    for r in records:
        print(f"{r['model']:<10} {r['households']:>10,} {r['years']:>5} {r['setup_s']:>9.2f} "
              f"{r['run_s']:>9.2f} {r['hh_years_per_s']:>12,.0f} {r['us_per_hh_year']:>10.3f} "
              f"{r['peak_rss_mb']:>11.1f} {_share(r.get('cpu_share')):>9}")
    busy = [r for r in records if r.get("cpu_share") is not None and r["cpu_share"] < BUSY_SHARE]
    if busy:
        print(f"* CPU share below {BUSY_SHARE:.0%}: other load on the machine slowed these "
              "runs; their times are too pessimistic. Rerun on an idle machine.")


def _share(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.0%}" + ("*" if x < BUSY_SHARE else "")


def ratios(emig: dict[int, dict], ref: dict[int, dict]) -> list[dict]:
    """Ratio emigsim / reference of household-years per second, per requested size."""
    out = []
    for size in sorted(set(emig) & set(ref)):
        e, r = emig[size], ref[size]
        out.append({"households": size,
                    "emigsim_hh_years_per_s": e["hh_years_per_s"],
                    "reference_hh_years_per_s": r["hh_years_per_s"],
                    "ratio": e["hh_years_per_s"] / r["hh_years_per_s"],
                    "memory_ratio": e["peak_rss_mb"] / r["peak_rss_mb"]})
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    ap = argparse.ArgumentParser(
        description="Household-years per second and peak memory of emigsim and of the "
                    "plain-Mesa reference model.")
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                    help="simulated households for emigsim (default: 10000 100000 1000000; "
                         "give no value to skip)")
    ap.add_argument("--full-ref-sizes", type=int, nargs="*", default=[],
                    help="households for the like-for-like reference mesa_full_ref.py "
                         "(households and persons as Mesa agents; default: none, it is slow)")
    ap.add_argument("--ref-sizes", type=int, nargs="*", default=None,
                    help="households for the reference model (default: same as --sizes; "
                         "the 1M reference takes minutes; give no value to skip)")
    ap.add_argument("--years", type=int, default=24,
                    help="simulated years from 2012 (default 24, i.e. 2012-2035)")
    ap.add_argument("--seed", type=int, default=1, help="seed of every run (default 1)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="measure every size this many times, the two models alternating, "
                         "and keep the fastest run of each (default 1)")
    ap.add_argument("--national", action="store_true",
                    help="also run emigsim at scale 1 (full population, ~4.5M households)")
    ap.add_argument("--ref-dir", type=Path, default=DEFAULT_REF_DIR,
                    help=f"directory holding {REF_SCRIPT} (default: {DEFAULT_REF_DIR})")
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter for the measurement subprocesses (default: this one)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads of emigsim's parallel passes (default: every core; 1 for "
                         "a single-core comparison with the references)")
    ap.add_argument("--out", type=Path, default=None,
                    help="also write all numbers and machine info as JSON to this file")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_scale", type=float, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.ref_sizes is None:
        a.ref_sizes = list(a.sizes)
    if a.years < 1:
        ap.error("--years must be at least 1")
    if a.repeat < 1:
        ap.error("--repeat must be at least 1")
    if not a._child:
        if any(n < 1 for n in a.sizes + a.ref_sizes):
            ap.error("sizes must be positive")
        if not (a.sizes or a.ref_sizes or a.national):
            ap.error("nothing to measure: give --sizes, --ref-sizes or --national")
    return a


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table (and write JSON if asked)."""
    a = parse_args(argv)
    if a._child:
        _child_emigsim(a.sizes[0], a.years, a.seed, a._scale)
        return 0

    end = FIRST_YEAR + a.years - 1
    ref_dir = a.ref_dir.resolve()
    ref_sizes = list(a.ref_sizes)
    ref_note = None
    if ref_sizes and not (ref_dir / REF_SCRIPT).is_file():
        ref_note = (f"reference model not found ({ref_dir / REF_SCRIPT}); skipping the "
                    f"reference runs (use --ref-dir to point at it)")
        print(f"NOTE: {ref_note}", file=sys.stderr)
        ref_sizes = []

    load_at_start = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    emig: dict[int, dict] = {}
    ref: dict[int, dict] = {}
    full: dict[int, dict] = {}
    full_sizes = list(a.full_ref_sizes) if (ref_dir / FULL_REF_SCRIPT).is_file() else []
    records: list[dict] = []
    national = None
    for size in sorted(set(a.sizes) | set(ref_sizes) | set(full_sizes)):
        # the two models alternate, so that a slow spell of a shared machine hits both
        for rep in range(a.repeat):
            of = f" (repeat {rep + 1} of {a.repeat})" if a.repeat > 1 else ""
            if size in a.sizes:
                _progress(f"emigsim: {size:,} households, {a.years} years "
                          f"({FIRST_YEAR}-{end}){of} ...")
                _keep_best(emig, size, run_emigsim(a.python, size, a.years, a.seed,
                                                   threads=a.threads))
            if size in ref_sizes:
                _progress(f"mesa-ref: {size:,} households, {a.years} years{of} ...")
                _keep_best(ref, size, run_reference(a.python, ref_dir, size, a.years, a.seed))
            if size in full_sizes:
                _progress(f"mesa-full-ref: {size:,} households, {a.years} years{of} ...")
                _keep_best(full, size, run_reference(a.python, ref_dir, size, a.years, a.seed,
                                                     FULL_REF_SCRIPT, "mesa-full-ref"))
        records += [d[size] for d in (emig, ref, full) if size in d]
    if a.national:
        _progress(f"emigsim national (scale 1): {a.years} years ({FIRST_YEAR}-{end}); "
                  "this takes a while ...")
        national = run_emigsim(a.python, None, a.years, a.seed, scale=1.0, label="national",
                              threads=a.threads)
        if national:
            national["wall_s"] = national["setup_s"] + national["run_s"]
            _progress(f"  done: wall {national['wall_s']:.1f} s")

    info = machine_info()
    info["load_average_at_start"] = load_at_start
    best_of = f", fastest of {a.repeat} runs per size" if a.repeat > 1 else ""
    print(f"\nemigsim throughput, {a.years} simulated years ({FIRST_YEAR}-{end}), "
          f"seed {a.seed}{best_of}, emigsim with "
          f"{a.threads or _threads(os.environ)} thread(s) "
          "in its parallel passes")
    print(f"{info['cpu_count']} CPUs ({info['cpu_model']}), Python {info['python']}, "
          f"numpy {info['numpy']}, mesa {info['mesa']}, numba {info['numba']}, "
          f"{info['platform']}\n")
    if records:
        print_table(records)
    rat = ratios(emig, ref)
    if rat:
        print("\nemigsim / reference (household-years per second; higher = emigsim faster):")
        for r in rat:
            print(f"  {r['households']:>10,} households: {r['ratio']:6.2f}x   "
                  f"(peak RSS ratio {r['memory_ratio']:.2f})")
    rat_full = ratios(emig, full)
    if rat_full:
        print("\nemigsim / like-for-like reference mesa_full_ref.py (households and persons as "
              "agents):")
        for r in rat_full:
            print(f"  {r['households']:>10,} households: {r['ratio']:6.2f}x   "
                  f"(peak RSS ratio {r['memory_ratio']:.2f})")
    if ref_note:
        print(f"\nNote: {ref_note}")
    if national:
        print(f"\nnational run (scale 1): {national['households']:,} households, "
              f"{national['persons_start']:,} persons, {a.years} years")
        print(f"  setup {national['setup_s']:.1f} s + run {national['run_s']:.1f} s = "
              f"wall {national['wall_s']:.1f} s (process incl. imports "
              f"{national['process_wall_s']:.1f} s)")
        print(f"  {national['hh_years_per_s']:,.0f} household-years/s, "
              f"peak RSS {national['peak_rss_mb']:,.0f} MB")

    if a.out:
        result = {
            "years": a.years, "start": FIRST_YEAR, "end": end, "seed": a.seed,
            "repeat": a.repeat,
            "emigsim": list(emig.values()), "reference": list(ref.values()),
            "ratios": rat, "ratios_full_reference": rat_full, "national": national,
            "reference_note": ref_note, "full_reference": list(full.values()),
            "reference_dir": str(ref_dir), "machine": info,
        }
        a.out.parent.mkdir(parents=True, exist_ok=True)
        # other benchmarks keep their numbers under their own key (warm_worker.py)
        if a.out.exists():
            old = json.loads(a.out.read_text())
            result.update({k: v for k, v in old.items() if k not in result})
        a.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
