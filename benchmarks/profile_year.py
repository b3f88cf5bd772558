"""Where the yearly step spends its time: the share of each phase and of its main parts.

Builds one model (default about 100k simulated households, 2012-2025), wraps every phase
method of :class:`model.simulation.EmigrationModel` and the main functions they call with a
timer, runs the model and prints, per phase, the seconds spent inside it over the whole run
and its share of the time in ``step``. Parts are indented under the phase that calls them
(their times are included in the phase's). Nothing is asserted: the script only measures
and prints.

Times are CPU seconds of the process (``time.process_time``), which the other load of a
shared machine disturbs far less than wall time; ``--wall`` measures wall time instead.

Usage (from the repository root)::

    python benchmarks/profile_year.py                     # 100k households, 2012-2025
    python benchmarks/profile_year.py --households 1000000 --end 2020
    python benchmarks/profile_year.py --repeat 3          # fastest of 3 runs per item

Also writes a state digest of the run (every person and household field and the series)
with ``--digest``, to check that a rewrite leaves results byte-identical.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PHASES = ("_census", "_drivers_and_interventions", "_update_optimism", "_decide",
          "_act_return_die", "_move_abroad", "_demography", "_immigration", "_record_year")
# (module, name, phase it is called from): parts timed inside the phases
PARTS = (
    ("model.simulation", "_update_intentions", "_decide"),
    ("kernels", "household_utilities", "_decide"),
    ("model.simulation", "nested_logit", "_decide"),
    ("kernels", "realise", "_decide"),
    ("kernels", "act_return_die", "_act_return_die"),
    ("kernels", "census", "_census"),
    ("kernels", "births", "_demography"),
    ("kernels", "age_and_move", "_demography"),
    ("model.simulation", "_found_households", "_demography"),
    ("model.simulation", "form_couples", "_demography"),
    ("model.simulation", "add_households", "_immigration"),
)


_clock = time.process_time


def _timed(fn, name: str, acc: dict):
    def wrapper(*args, **kwargs):
        t = _clock()
        try:
            return fn(*args, **kwargs)
        finally:
            acc[name] += _clock() - t
    return wrapper


def digest(model) -> str:
    """SHA-256 of every person and household field and of the recorded series."""
    h = hashlib.sha256()
    for table in (model.persons, model.households):
        for f in type(table)._fields:
            h.update(f.encode())
            h.update(getattr(table, f).tobytes())
    h.update(model.series().to_csv(index=False).encode())
    return h.hexdigest()


def profile(households: int, end: int, seed: int) -> tuple[dict, float, object]:
    """Run one model with every phase and part timed; return times, step time, model."""
    from model import datasets, simulation
    from model.core import kernels
    from model.scenario import Scenario

    real = datasets.population_by_region(2012).sum() / Scenario().params["mean_household_size"]
    model = simulation.EmigrationModel(Scenario(scale=float(real / households), end=end),
                                       seed=seed)
    acc: dict = defaultdict(float)
    for name in PHASES:
        setattr(model, name, _timed(getattr(model, name), name, acc))
    saved = []
    for mod_name, name, _ in PARTS:
        if name.startswith("_"):
            setattr(model, name, _timed(getattr(model, name), name, acc))
            continue
        mod = kernels if mod_name == "kernels" else sys.modules[mod_name]
        saved.append((mod, name, getattr(mod, name)))
        setattr(mod, name, _timed(getattr(mod, name), name, acc))
    try:
        t = _clock()
        model.run_model()
        total = _clock() - t
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)
    return acc, total, model


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--end", type=int, default=2025)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="keep the fastest of N runs")
    ap.add_argument("--digest", action="store_true", help="print the state digest too")
    ap.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    args = ap.parse_args(argv)
    global _clock
    _clock = time.perf_counter if args.wall else time.process_time
    runs = [profile(args.households, args.end, args.seed) for _ in range(args.repeat)]
    best = {k: min(r[0][k] for r in runs) for k in runs[0][0]}
    total = min(r[1] for r in runs)
    model = runs[0][2]
    years = args.end - 2012 + 1
    rate = model.n_households_start * years / total / 1e6
    print(f"{model.n_households_start:,} households, {years} years, run {total:.2f} s "
          f"{'wall' if args.wall else 'CPU'} ({rate:.2f}M household-years/s)")
    print(f"{'phase':34s} {'s':>7s} {'share':>7s}")
    for phase in PHASES:
        print(f"{phase:34s} {best[phase]:7.3f} {best[phase] / total:7.1%}")
        for _, name, parent in PARTS:
            if parent == phase:
                print(f"  {name:32s} {best[name]:7.3f} {best[name] / total:7.1%}")
    rest = total - sum(best[p] for p in PHASES)
    print(f"{'(run_model outside the phases)':34s} {rest:7.3f} {rest / total:7.1%}")
    if args.digest:
        print("digest", digest(model))


if __name__ == "__main__":
    main()
