"""`emigsim calibrate STUDY --out DIR --recovery N`, through a toy calibrate.

The ABC-SMC calibrations (the real-data one and one per synthetic dataset) are replaced by a
toy with a known posterior, so the test runs in seconds; the dossier rewrite is the real one
(a few model runs at a coarse scale).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import model.analysis.calibration as cal
from model.analysis.calibration.calibrate import CalibrationResult, _Folder
from model.analysis.calibration.verdicts import identifiability
from model.ui.cli import main

STUDY = '''
scenario = "baseline"
seed = 5
[window]
start = 2012
end = 2014
[simulation]
scale = 1000
noise_runs = 2
prior_predictive_draws = 2
posterior_predictive_draws = 2
[abc]
population_size = 50
[quick]
population_size = 4
prior_predictive_draws = 2
posterior_predictive_draws = 2
[recovery]
datasets = 3
population_size = 20
scale = 2000
[parameters]
asc_emigrate = "registry"
[targets]
include = ["new_emigrants.count.all.201[3-4]"]
'''


class Toy:
    """y = 40000 + 1000 * asc_emigrate per target; posterior N(estimate, 0.5)."""

    def __init__(self):
        self.calls = []

    def simulate(self, study, params, seed, target_ids=None):
        ids = list(target_ids or study.target_ids)
        return pd.Series({k: 40000.0 + 1000.0 * params["asc_emigrate"] for k in ids})

    def calibrate(self, study, out_dir, *, observed=None, target_ids=None, quick=False,
                  workers=None, progress=True, dossier=True):
        self.calls.append({"out": Path(out_dir), "quick": quick, "study": study})
        est = -7.0 if observed is None else (float(np.mean(observed)) - 40000.0) / 1000.0
        rng = np.random.default_rng(len(self.calls))
        post = pd.DataFrame({"asc_emigrate": np.clip(rng.normal(est, 0.5, 400), -14, 0)})
        folder = _Folder(Path(out_dir))
        folder.write_csv("posterior.csv", post)
        gens = pd.DataFrame({"t": [0], "temperature": [1.0], "n_simulations": [40],
                             "acceptance_rate": [0.5], "ess": [20.0]})
        return CalibrationResult(post, post.assign(weight=1 / len(post)), gens, 40, 1.0,
                                 Path(out_dir), None, 1.0)


@pytest.fixture
def toy(monkeypatch):
    t = Toy()
    monkeypatch.setattr(cal, "calibrate", t.calibrate)
    monkeypatch.setattr(cal, "simulate_summaries", t.simulate)
    return t


def test_recovery_quick_writes_recovery_and_dossier_columns(tmp_path, toy, capsys):
    study = tmp_path / "s.toml"
    study.write_text(STUDY, encoding="utf-8")
    out = tmp_path / "out"
    args = ["calibrate", str(study), "--out", str(out), "--quick", "--workers", "0",
            "--recovery", "2"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    # the real-data calibration, then one calibration per synthetic dataset, all quick
    assert [c["out"] for c in toy.calls] == [out, out / "recovery" / "dataset_0" / "calibration",
                                              out / "recovery" / "dataset_1" / "calibration"]
    assert all(c["quick"] for c in toy.calls)
    # --quick: the quick settings, not the [recovery] budget
    assert toy.calls[1]["study"].population_size == 50
    rec = pd.read_csv(out / "recovery" / "recovery.csv")
    assert sorted(rec["dataset"].unique()) == [0, 1] and set(rec["param"]) == {"asc_emigrate"}
    table = pd.read_csv(out / "dossier" / "posterior_table.csv")
    assert {"covered_50", "covered_90", "identifiability"} <= set(table.columns)
    row = table.iloc[0]
    assert row["covered_90"] == rec["inside_90"].mean()
    assert row["identifiability"] == identifiability(row["width_ratio"], row["covered_90"])
    md = (out / "dossier" / "dossier.md").read_text()
    assert "2 synthetic datasets" in md and "--quick settings" in md
    assert "recovery on 2 datasets" in printed and "asc_emigrate" in printed
    # a re-run calibrates no dataset again
    n = len(toy.calls)
    assert main(args) == 0
    assert len(toy.calls) == n + 1          # only the (finished) real-data call
    assert capsys.readouterr().out.count("done earlier") == 2


def test_recovery_uses_the_study_budget_and_datasets(tmp_path, toy, capsys):
    study = tmp_path / "s.toml"
    study.write_text(STUDY, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["calibrate", str(study), "--out", str(out), "--workers", "0", "--quiet",
                 "--recovery"]) == 0
    assert capsys.readouterr().out == ""
    runs = toy.calls[1:]
    assert len(runs) == 3                    # [recovery] datasets = 3
    assert all(not c["quick"] for c in runs)
    assert {(c["study"].population_size, c["study"].scale) for c in runs} == {(20, 2000.0)}
    md = (out / "dossier" / "dossier.md").read_text()
    assert "3 synthetic datasets" in md and "Reduced budget per dataset: 20 particles" in md
