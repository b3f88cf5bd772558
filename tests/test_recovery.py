"""Recovery on synthetic data with a conjugate-normal toy."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from model.analysis.calibration.recovery import ROW_COLUMNS, recovery_summary, run_recovery
from model.analysis.targets import Target, Targets
from model.params import Prior

TOY_TARGETS = Targets(y=Target("y", 2013, "new_emigrants", "all", "count", 0.0, "persons",
                               "full_year", "normal_abs", 1.0))


@dataclasses.dataclass(frozen=True)
class ToyStudy:
    # theta ~ N(0, 1) (truncated far out), b ~ U(0, 1) does not enter the simulation
    free: tuple = ("theta", "b")
    priors: dict = dataclasses.field(default_factory=lambda: {
        "theta": Prior(("normal", 0.0, 1.0), -10.0, 10.0), "b": Prior(("uniform",), 0.0, 1.0)})
    target_ids: tuple = ("y",)
    seed: int = 7
    population_size: int = 100

    def targets(self):
        return TOY_TARGETS


class Toy:
    """y = theta + e, e ~ N(0, 1): the posterior of theta is N(y / 2, 1 / 2) exactly."""

    def __init__(self):
        self.calls = []

    def simulate(self, study, params, seed, target_ids=None):
        return pd.Series({"y": params["theta"]})

    def calibrate(self, study, out_dir, *, observed, target_ids, quick, workers, progress):
        self.calls.append(study)
        y = float(observed["y"])
        rng = np.random.default_rng(abs(hash(round(y, 9))) % 2**32)
        n = 4000
        return SimpleNamespace(posterior=pd.DataFrame({
            "draw": np.arange(n), "theta": rng.normal(y / 2, np.sqrt(0.5), n),
            "b": rng.random(n)}))


def test_conjugate_normal_coverage_is_near_nominal(tmp_path):
    toy = Toy()
    table = run_recovery(ToyStudy(), tmp_path, n_datasets=200, calibrate_fn=toy.calibrate,
                         simulate_fn=toy.simulate, budget={"population_size": 10},
                         progress=False, echo=lambda s: None)
    assert tuple(table.columns) == ROW_COLUMNS
    assert toy.calls[0].population_size == 10      # the reduced budget was used
    s = recovery_summary(table).set_index("param")
    # binomial sd with 200 datasets: 0.035 at 50%, 0.021 at 90%
    assert s.loc["theta", "covered_50"] == pytest.approx(0.5, abs=0.12)
    assert s.loc["theta", "covered_90"] == pytest.approx(0.9, abs=0.07)
    # the data halve the variance: 90% width ratio sqrt(1/2) = 0.71
    assert s.loc["theta", "median_width_ratio"] == pytest.approx(np.sqrt(0.5), abs=0.05)
    assert s.loc["b", "median_width_ratio"] == pytest.approx(1.0, abs=0.05)
    for name in ("recovery.csv", "recovery_summary.csv", "recovery.png", "truths.csv"):
        assert (tmp_path / name).exists()


def test_overconfident_calibration_shows_low_coverage(tmp_path):
    toy = Toy()

    def overconfident(study, out_dir, **kw):
        post = toy.calibrate(study, out_dir, **kw).posterior
        post["theta"] = kw["observed"]["y"] / 2 + (post["theta"] - post["theta"].mean()) / 10
        return SimpleNamespace(posterior=post)

    table = run_recovery(ToyStudy(), tmp_path, n_datasets=60, calibrate_fn=overconfident,
                         simulate_fn=toy.simulate, progress=False, echo=lambda s: None)
    cov = table[table["param"] == "theta"]["inside_90"].mean()
    assert cov < 0.4


def test_resume_calibrates_only_missing_datasets(tmp_path):
    toy = Toy()
    first = run_recovery(ToyStudy(), tmp_path, n_datasets=3, calibrate_fn=toy.calibrate,
                         simulate_fn=toy.simulate, progress=False, echo=lambda s: None)
    assert len(toy.calls) == 3
    (tmp_path / "dataset_1" / "recovery_rows.csv").unlink()   # as if killed mid-dataset
    more = Toy()
    table = run_recovery(ToyStudy(), tmp_path, n_datasets=5, calibrate_fn=more.calibrate,
                         simulate_fn=more.simulate, progress=False, echo=lambda s: None)
    assert len(more.calls) == 3          # datasets 1, 3 and 4
    pd.testing.assert_frame_equal(table[table["dataset"] < 3].reset_index(drop=True), first)


def test_summary_coverage_feeds_the_single_rule():
    from model.analysis.calibration.verdicts import identifiability

    rows = pd.DataFrame({"param": ["a"] * 10, "inside_50": [1] * 5 + [0] * 5,
                         "inside_90": [1] * 7 + [0] * 3, "width_ratio": [0.3] * 10,
                         "true": [0.0] * 10, "median": [0.0] * 10})
    s = recovery_summary(rows).set_index("param")
    assert s.loc["a", "covered_90"] == pytest.approx(0.7)
    assert identifiability(0.3, s.loc["a", "covered_90"]) == "identified"


def test_dataset_with_zero_observation_error_is_skipped(tmp_path):
    rel = Targets(y=Target("y", 2013, "new_emigrants", "all", "count", 10.0, "persons",
                           "full_year", "normal_rel", 0.03))
    study = dataclasses.replace(ToyStudy())
    object.__setattr__(study, "targets", lambda: rel)
    toy = Toy()

    def simulate(study, params, seed, target_ids=None):
        # dataset 0 simulates zero (sd 0 under a relative error), the others do not
        return pd.Series({"y": 0.0 if seed == first_seed[0] else 5.0})

    first_seed = []

    def recording(study, params, seed, target_ids=None):
        if not first_seed:
            first_seed.append(seed)
        return simulate(study, params, seed, target_ids)

    table = run_recovery(study, tmp_path, n_datasets=3, calibrate_fn=toy.calibrate,
                         simulate_fn=recording, progress=False, echo=lambda s: None)
    assert sorted(table["dataset"].unique()) == [1, 2]
    assert len(toy.calls) == 2
    assert "zero observation sd" in (tmp_path / "dataset_0" / "skipped.txt").read_text()


def test_an_emulation_study_shares_one_wave_0_file_across_its_datasets(tmp_path):
    seen = []

    def calibrate(study, out_dir, *, observed, target_ids, quick, workers, progress,
                  shared_design=None):
        seen.append(shared_design)
        return Toy().calibrate(study, out_dir, observed=observed, target_ids=target_ids,
                               quick=quick, workers=workers, progress=progress)

    @dataclasses.dataclass(frozen=True)
    class EmulationStudy(ToyStudy):
        method: str = "emulation"

    run_recovery(EmulationStudy(), tmp_path, n_datasets=2, calibrate_fn=calibrate,
                 simulate_fn=Toy().simulate, progress=False, echo=lambda s: None)
    assert seen == [tmp_path / "wave0_design.csv"] * 2
    seen.clear()
    run_recovery(ToyStudy(), tmp_path / "abc", n_datasets=1, calibrate_fn=calibrate,
                 simulate_fn=Toy().simulate, progress=False, echo=lambda s: None)
    assert seen == [None]  # ABC-SMC has no design to share
