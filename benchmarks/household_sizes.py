"""Household-size distribution of one baseline run to 2050 (prints a table).

Counts, on 1 January of each reported year, the resident households with someone at home
by the number of their members at home (1, 2, 3, 4, 5, 6+), the one-person share and the
mean size. The target band it is held to is documented in ``model/data/README.md``
(household formation).

Usage: ``python benchmarks/household_sizes.py [--scale 500] [--seed 1] [--end 2050]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from model.core.population import HOME, RESIDENT
from model.scenario import Scenario
from model.simulation import EmigrationModel

REPORT = (2012, 2018, 2035, 2050)


def size_distribution(model: EmigrationModel) -> tuple[np.ndarray, float]:
    """Shares of households by members at home (1..5, 6+) and the mean size."""
    hh, pp = model.households, model.persons
    home = pp.status == HOME
    size = np.bincount(pp.hh[home], minlength=hh.n)
    size = size[(hh.status == RESIDENT) & (size > 0)]
    counts = np.bincount(np.minimum(size, 6), minlength=7)[1:]
    return counts / counts.sum(), float(size.mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=500.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", type=int, default=2050)
    a = ap.parse_args()
    m = EmigrationModel(Scenario(scale=a.scale, end=a.end), seed=a.seed)
    t0 = time.perf_counter()
    print("year   1p     2p     3p     4p     5p     6p+   mean")
    while True:
        if m.year in REPORT:
            shares, mean = size_distribution(m)
            print(m.year, " ".join(f"{s:6.1%}" for s in shares), f"{mean:5.2f}")
        if not m.running:
            break
        m.step()
    print(f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
