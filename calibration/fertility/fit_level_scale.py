"""Least-squares ``fertility_level_scale`` from the national births 2012-2018 (BNS).

Method: run the baseline (``scenarios/baseline.toml``, 2012-2018) for a few seeds at the
current defaults; the model's births of each year are nearly proportional to the multiplier
of the fitted levels (the birth cap binds for almost nobody), so the least-squares
multiplier of the national births is ``scale * sum(obs * model) / sum(model ** 2)`` with
``model`` the mean over seeds. The script prints the model's and the observed births, the
period TFR of 2012 and 2018, and the new multiplier; the registry default is set by hand.

Usage::

    .venv/bin/python calibration/fertility/fit_level_scale.py            # 5 seeds, scale 50
    .venv/bin/python calibration/fertility/fit_level_scale.py --seeds 2 --scale 200
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from model import datasets  # noqa: E402
from model.analysis.demography import indicators  # noqa: E402
from model.core.fertility import FIT_YEARS  # noqa: E402
from model.scenario import load_scenario  # noqa: E402
from model.simulation import EmigrationModel  # noqa: E402


def births_and_tfr(seed: int, scale: float, params: dict | None = None
                   ) -> tuple[np.ndarray, dict[int, float]]:
    """National births of FIT_YEARS and the period TFR of their first and last year."""
    sc = load_scenario(REPO / "scenarios" / "baseline.toml").with_run(end=FIT_YEARS[1],
                                                                        scale=scale)
    if params:
        sc = replace(sc, params=sc.params | params)
    m = EmigrationModel(sc, seed=seed)
    tfr = {}
    while m.running:
        if m.year in FIT_YEARS:
            tfr[m.year] = indicators(m)["tfr"]
        m.step()
    s = m.series()
    s = s[(s["group"] == "all") & (s["metric"] == "births")]
    years = range(FIT_YEARS[0], FIT_YEARS[1] + 1)
    return np.array([s[s["year"] == y]["value"].sum() for y in years]), tfr


def main(argv: list[str] | None = None) -> None:
    """Print the births, the TFR and the least-squares multiplier."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="number of seeds (1..n)")
    ap.add_argument("--scale", type=float, default=50.0, help="real households per slot")
    a = ap.parse_args(argv)
    runs = [births_and_tfr(seed, a.scale) for seed in range(1, a.seeds + 1)]
    model = np.mean([b for b, _ in runs], axis=0)
    lo, hi = FIT_YEARS
    obs = datasets.births_by_region().loc[lo:hi].sum(axis=1).to_numpy(float)
    current = float(load_scenario(REPO / "scenarios" / "baseline.toml")
                    .params["fertility_level_scale"])
    new = current * float(obs @ model / (model @ model))
    for y, o, b in zip(range(lo, hi + 1), obs, model, strict=True):
        print(f"{y}  observed {o:9,.0f}  model {b:9,.0f}  ({b / o - 1:+.1%})")
    for y in FIT_YEARS:
        print(f"TFR {y}: {np.median([t[y] for _, t in runs]):.2f}")
    print(f"fertility_level_scale: current {current:.4f}, least squares {new:.4f}")


if __name__ == "__main__":
    main()
