"""Measure the noise of a particle's log acceptance density: the pseudo-marginal diagnostic.

For the heaviest particles of a finished calibration's last generation, runs each of them
with several seeds and prints the mean and sd of the log density of the study's kernel
(observation + noise + discrepancy variance, as ``calibrate`` builds it). ABC-SMC with a
stochastic acceptor needs this sd at about 1-1.5 or less to reach temperature 1; at a
finer scale the kernel's noise term is scaled down with the noise variance (1 / households).
It changes no file.

Usage::

    python calibration/loglik_noise.py runs/calibration --particles 4 --seeds 8 --scales 100 25

Each particle and seed is one run of the study's window in this process (about 0.25 s at
scale 100, 0.55 s at scale 25).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.analysis.calibration import default_study_path, load_study  # noqa: E402
from model.analysis.calibration.calibrate import discrepancy_variances  # noqa: E402
from model.analysis.calibration.summaries import simulate_summaries  # noqa: E402


def main() -> int:
    """Parse the command line, run the particles, print the log-density spread."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="a finished calibration's out folder")
    ap.add_argument("--study", type=Path, default=default_study_path())
    ap.add_argument("--particles", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--scales", type=float, nargs="+", default=[100.0, 25.0])
    a = ap.parse_args()
    for f in ("noise.csv", "population.csv"):
        if not (a.out / f).is_file():
            ap.error(f"{a.out / f} not found: OUT must be a finished calibration's folder")
    study = load_study(a.study)
    ids = list(study.target_ids)
    targets = study.targets(ids)
    obs = np.array([targets[k].value for k in ids])
    noise = pd.read_csv(a.out / "noise.csv").set_index("target_id")
    # the observation and noise sd calibrate measured the noise against (noise.csv)
    obs_var = noise.loc[ids, "obs_sd"].to_numpy(float) ** 2
    noise_var = noise.loc[ids, "noise_sd"].to_numpy(float) ** 2
    d = discrepancy_variances(study, targets, {k: targets[k].value for k in ids})
    disc = np.array([d[k] for k in ids])
    top = pd.read_csv(a.out / "population.csv").sort_values("weight", ascending=False)
    for scale in a.scales:
        kernel = obs_var + (noise_var * scale / study.scale if study.noise_in_kernel else 0.0) \
            + disc
        sds = []
        for i, (_, p) in enumerate(top.head(a.particles).iterrows()):
            params = {n: float(p[n]) for n in study.free}
            dens = []
            for seed in range(a.seeds):
                y = simulate_summaries(replace(study, scale=scale), params, seed=1000 + seed)
                dens.append(-0.5 * float(np.sum((y.loc[ids].to_numpy() - obs) ** 2 / kernel)))
            sds.append(float(np.std(dens, ddof=1)))
            print(f"scale {scale:g}, particle {i}: log density mean {np.mean(dens):.1f}, "
                  f"sd {sds[-1]:.2f}", flush=True)
        print(f"scale {scale:g}: median sd {np.median(sds):.2f} "
              f"(range {min(sds):.2f}-{max(sds):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
