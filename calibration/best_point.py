"""The calibration design's best simulated point: the run closest to the targets.

Reads a finished calibration folder's ``design.csv`` (every simulated point and its target
values) and its ``study.json`` settings, scores each run by the sum over the study's targets
of ``(model - observed)^2 / (observation variance + discrepancy variance)`` (the emulation
likelihood without the emulators' error), and prints the best point's parameters and score.
A real simulation at scale 100, not an emulator's guess: the registry defaults of the
calibrated parameters are set from it (``model/params.py``, "best design point").

Usage::

    python calibration/best_point.py calibration/posterior
    python calibration/best_point.py DIR --top 5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.analysis.calibration.calibrate import discrepancy_variances  # noqa: E402
from model.analysis.calibration.study import load_study  # noqa: E402


def scores(design: pd.DataFrame, study) -> pd.Series:
    """Each design row's sum of squared errors in likelihood sd over the study's targets.

    Examples
    --------
    >>> from model.analysis.calibration.study import load_study, default_study_path
    >>> s = load_study(default_study_path())
    >>> t = s.targets()
    >>> row = {k: t[k].value for k in s.target_ids}
    >>> float(scores(pd.DataFrame([row]), s).iloc[0])
    0.0
    """
    targets = study.targets()
    observed = {k: targets[k].value for k in study.target_ids}
    disc = discrepancy_variances(study, targets, observed)
    total = pd.Series(0.0, index=design.index)
    for k in study.target_ids:
        var = targets[k].sd ** 2 + disc[k]
        total += (design[k].astype(float) - observed[k]) ** 2 / var
    return total


def main() -> int:
    """Print the best design point of a calibration folder."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", help="a finished calibration's --out folder")
    ap.add_argument("--study", default=str(ROOT / "calibration" / "kz_2012_2018.toml"))
    ap.add_argument("--top", type=int, default=1)
    args = ap.parse_args()
    study = load_study(args.study)
    design = pd.read_csv(Path(args.folder) / "design.csv")
    s = scores(design, study)
    for i in np.argsort(s.to_numpy())[: args.top]:
        row = design.iloc[i]
        print(f"wave {int(row['wave'])} index {int(row['index'])}: sum z^2 {s.iloc[i]:.1f}")
        print("  " + ", ".join(f"{n} = {row[n]:.4g}" for n in study.free))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
