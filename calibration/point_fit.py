"""Quick point fit of a few registry parameters to the targets with scipy.optimize.

Not the Bayesian calibration (issue 12): a hand-tuning aid that minimises the fit report's
total (sum of z^2 over fitted, not-by-construction target rows) of the baseline scenario,
with common random numbers (the same seeds at every evaluation) so that the objective is a
smooth-ish function of the parameters. Prints the best values; it changes no file.

Usage::

    python calibration/point_fit.py asc_emigrate realise_emigrate --scale 100 --replicates 3
    python calibration/point_fit.py asc_emigrate b_compatriot --maxiter 60 --end 2018

Each evaluation runs ``--replicates`` runs of 2012..``--end`` in this process (about 0.5 s
a run at scale 100), so 100 evaluations of 3 runs take a few minutes.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import model as em  # noqa: E402
from model.analysis.fit import fit_report, fit_total  # noqa: E402
from model.analysis.targets import load_targets  # noqa: E402
from model.params import REGISTRY, validate_params  # noqa: E402
from model.runs.runner import run  # noqa: E402


def main() -> int:
    """Parse the command line, minimise the fit total, print the best point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="+", help="registry parameters to fit")
    ap.add_argument("--scale", type=float, default=100.0)
    ap.add_argument("--replicates", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", type=int, default=2018)
    ap.add_argument("--maxiter", type=int, default=80)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.toml"))
    args = ap.parse_args()
    for n in args.names:
        if n not in REGISTRY:
            ap.error(f"{n} is not a registry parameter")
    base = em.load_scenario(args.scenario).with_run(scale=args.scale, end=args.end)
    targets = load_targets()
    lo = np.array([REGISTRY[n].bounds[0] for n in args.names], float)
    hi = np.array([REGISTRY[n].bounds[1] for n in args.names], float)
    x0 = np.array([base.params[n] for n in args.names], float)
    span = hi - lo
    best = {"f": np.inf, "x": x0}
    started = time.perf_counter()

    def objective(u: np.ndarray) -> float:
        x = lo + np.clip(u, 0.0, 1.0) * span
        params = validate_params({**base.overrides, **dict(zip(args.names, x, strict=True))})
        sc = replace(base, params=params)
        series = run(sc, seed=args.seed, replicates=args.replicates).series
        f = float(fit_total(fit_report(series, targets))["z2"].iloc[0])
        if f < best["f"]:
            best.update(f=f, x=x)
            print(f"{time.perf_counter() - started:7.1f}s  z2={f:9.2f}  " + "  ".join(
                f"{n}={v:.4g}" for n, v in zip(args.names, x, strict=True)), flush=True)
        return f

    u0 = (x0 - lo) / span
    minimize(objective, u0, method="Nelder-Mead",
             options={"maxiter": args.maxiter, "xatol": 1e-3, "fatol": 0.5,
                      "initial_simplex": np.vstack([u0] + [u0 + 0.05 * np.eye(len(u0))[i]
                                                           for i in range(len(u0))])})
    print("best:", {n: round(float(v), 5) for n, v in zip(args.names, best["x"], strict=True)},
          f"z2={best['f']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
