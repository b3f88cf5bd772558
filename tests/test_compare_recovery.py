"""calibration/compare_recovery.py: the side-by-side table, and refusal of unpaired studies."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("compare_recovery",
                                              ROOT / "calibration" / "compare_recovery.py")
cr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cr)


def _study(folder: Path, covered_90: float, truth: float) -> Path:
    folder.mkdir()
    pd.DataFrame({"param": ["a", "b"], "n_datasets": [10, 10], "covered_50": [0.5, 0.3],
                  "covered_90": [covered_90, 0.7], "median_width_ratio": [0.25, 0.9],
                  "mean_abs_error": [0.1, 1.5]}).to_csv(folder / "recovery_summary.csv",
                                                         index=False)
    pd.DataFrame({"a": [truth], "b": [2.0]}).to_csv(folder / "truths.csv", index=False)
    return folder


def test_side_by_side_on_the_same_truths(tmp_path, capsys):
    a, b = _study(tmp_path / "a", 0.9, 1.0), _study(tmp_path / "b", 0.6, 1.0)
    assert cr.main(["ABC", str(a), "EM", str(b)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[2] == "| a | 0.5 / 0.9 | 0.25 | 0.1 | 0.5 / 0.6 | 0.25 | 0.1 |"
    assert rows[3].startswith("| b | 0.3 / 0.7 | 0.90 | 1.5 |")


def test_other_truths_are_refused(tmp_path, capsys):
    a, b = _study(tmp_path / "a", 0.9, 1.0), _study(tmp_path / "b", 0.9, 3.0)
    assert cr.main(["ABC", str(a), "EM", str(b)]) == 2
    assert "truths.csv differs" in capsys.readouterr().err
