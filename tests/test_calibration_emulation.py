"""Emulation calibration: GP emulators, implausibility, the emulated posterior, the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.analysis.calibration import load_study
from model.analysis.calibration.emulation import (
    EmulationSettings,
    implausibility,
    run_emulation,
)
from model.analysis.calibration.emulator import fit_emulator
from model.params import Prior
from model.ui.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = EmulationSettings(waves=2, first_wave=40, wave_size=30, steps=3000, burn=1000,
                          walkers=16, posterior_draws=500, candidates=4000)


def _toy(sd: float = 0.05):
    def simulate(t, idx, props):  # s = (theta, theta^2 / 4) + noise, noise fixed by the index
        out = []
        for i, p in zip(idx, props, strict=True):
            e = np.random.default_rng([11, t, i]).normal(0, sd, 2)
            out.append({"a": p["theta"] + e[0], "b": p["theta"] ** 2 / 4 + e[1]})
        return out
    return simulate


def test_emulator_leave_one_out_matches_refitting_without_the_point():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (25, 2))
    Y = (np.sin(4 * X[:, 0]) + X[:, 1] + rng.normal(0, 0.05, 25))[:, None]
    em = fit_emulator(X, Y, [0.0, 0.0], [1.0, 1.0], seed=2)
    # refit by hand with the same hyperparameters on every set of 24 points: the
    # residual at the left-out point is what loo_var averages
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    ls, amp = em.length_scales[0], em.amplitude[0]
    noise = em.nugget_var[0] / em.y_std[0] ** 2
    kernel = ConstantKernel(amp, "fixed") * Matern(ls, "fixed", nu=2.5) + WhiteKernel(
        noise, "fixed")
    res = []
    for i in range(25):
        keep = np.arange(25) != i
        y = Y[keep, 0]
        # the emulator standardises with the full design's mean and sd
        gp = GaussianProcessRegressor(kernel, optimizer=None, normalize_y=False)
        gp.fit(X[keep], (y - em.y_mean[0]) / em.y_std[0])
        pred = em.y_mean[0] + em.y_std[0] * gp.predict(X[i:i + 1])[0]
        res.append(Y[i, 0] - pred)
    assert em.loo_var[0] == pytest.approx(np.mean(np.square(res)), rel=1e-6)


def test_emulator_predicts_a_smooth_function_and_constants():
    x = np.linspace(0, 2, 30)[:, None]
    em = fit_emulator(x, np.column_stack([x[:, 0] ** 2, np.full(30, 4.0)]), [0.0], [2.0])
    pred = em.predict(np.array([[0.5], [1.5]]))
    assert pred[:, 0] == pytest.approx([0.25, 2.25], abs=0.01)
    assert pred[:, 1].tolist() == [4.0, 4.0]


def test_implausibility_is_the_second_largest_standardised_distance():
    pred = np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    # distances |pred - 0| / sd with sd (1, 2, 1): (1, 1.5, 0) and (0, 0, 0)
    assert implausibility(pred, np.zeros(3), np.array([1.0, 4.0, 1.0])).tolist() == [1.0, 0.0]
    assert implausibility(pred, np.zeros(3), np.ones(3), rank=1).tolist() == [3.0, 0.0]


def test_emulated_posterior_of_a_conjugate_normal_case():
    # one datum y = 1 with variance 0.25 under a flat prior on [-3, 3]: N(1, 0.5^2); the
    # runs' noise (sd 0.05) is known and not double-counted
    prior = {"theta": Prior(("uniform",), -3.0, 3.0)}
    out = run_emulation(prior, lambda t, i, p: [{"y": v["theta"] + 0.05 * np.random.default_rng(
        [5, t, j]).normal()} for j, v in zip(i, p, strict=True)], {"y": 1.0}, {"y": 0.25},
        SMALL, seed=4, progress=False)
    post = out.posterior["theta"]
    assert post.mean() == pytest.approx(1.0, abs=0.08)
    assert post.std() == pytest.approx(0.5, abs=0.06)
    assert out.variances["y"] == pytest.approx(0.25, abs=0.01)
    assert sorted(out.posterior["draw"]) == list(range(500))
    assert out.waves["t"].tolist() == [0, 1] and out.waves["n_simulations"].tolist() == [40, 30]


def test_history_matching_shrinks_the_region_and_the_posterior_finds_the_truth():
    # two parameters, two targets: theta_1 = 0.7 and theta_2 = -1.2 make (0.7, 0.36)
    priors = {"theta": Prior(("uniform",), -2.0, 2.0), "other": Prior(("uniform",), -2.0, 2.0)}

    def simulate(t, idx, props):
        rng = np.random.default_rng([9, t])
        return [{"a": p["theta"] + 0.02 * rng.normal(), "b": p["other"] ** 2 / 4}
                for p in props]
    out = run_emulation(priors, simulate, {"a": 0.7, "b": 0.36}, {"a": 0.01, "b": 0.0025},
                        EmulationSettings(waves=3, first_wave=60, wave_size=40, steps=800,
                                          burn=300, walkers=16, posterior_draws=400,
                                          candidates=4000), seed=2, progress=False)
    assert out.waves["acceptance_rate"].iloc[-1] < 0.5  # the region shrank
    post = out.posterior
    assert post["theta"].median() == pytest.approx(0.7, abs=0.05)
    # b depends on other^2: both signs fit, and the posterior keeps both modes
    assert post["other"].abs().median() == pytest.approx(1.2, abs=0.1)
    assert (post["other"] > 0).mean() > 0.1 and (post["other"] < 0).mean() > 0.1


def test_same_seed_same_posterior_and_a_resumed_design_changes_nothing():
    prior = {"theta": Prior(("uniform",), -3.0, 3.0)}
    sim = _toy()
    kw = dict(seed=8, progress=False)
    full = run_emulation(prior, lambda t, i, p: [{"y": v["a"]} for v in sim(t, i, p)],
                         {"y": 0.5}, {"y": 0.1}, SMALL, **kw)
    calls = []

    def counted(t, i, p):
        calls.append(len(i))
        return [{"y": v["a"]} for v in sim(t, i, p)]
    part = full.design.iloc[:55]  # killed during wave 1
    again = run_emulation(prior, counted, {"y": 0.5}, {"y": 0.1}, SMALL, design=part, **kw)
    assert sum(calls) == 70 - 55
    pd.testing.assert_frame_equal(full.posterior, again.posterior)


def test_the_budget_stops_the_waves_and_says_so():
    prior = {"theta": Prior(("uniform",), -3.0, 3.0)}
    out = run_emulation(prior, lambda t, i, p: [{"y": v["theta"]} for v in p], {"y": 0.0},
                        {"y": 0.1}, SMALL, seed=1, max_total_simulations=50, progress=False)
    assert len(out.design) == 50 and "50 simulations" in out.failure
    assert len(out.posterior) == SMALL.posterior_draws


@pytest.mark.parametrize("top,section,expect", [
    ('method = "emulatoin"', "", "did you mean 'emulation'"),
    ("", "[emulation]\nburn = 5000", "'emulation.burn'"),
    ("", "[emulation]\nwalkers = 0", "'emulation.walkers'"),
    ("", "[emulation]\nwavez = 3", "did you mean 'waves'"),
])
def test_bad_emulation_settings_are_one_line_exit_2(tmp_path, capsys, top, section, expect):
    study = tmp_path / "s.toml"
    study.write_text(f'{top}\n[parameters]\nasc_emigrate = "registry"\n[targets]\n'
                     f'include = ["new_emigrants.count.all.2013"]\n{section}\n',
                     encoding="utf-8")
    assert main(["calibrate", str(study), "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert expect in err and len(err.splitlines()) == 1 and "s.toml" in err
    assert not (tmp_path / "o").exists()


STUDY = f'''
scenario = "baseline"
targets_file = "{ROOT / "calibration" / "targets" / "kz_2012_2018.csv"}"
seed = 5
method = "emulation"
[window]
end = 2014
[simulation]
scale = 2000
noise_runs = 2
prior_predictive_draws = 3
posterior_predictive_draws = 3
[abc]
posterior_draws = 60
[emulation]
waves = 2
first_wave = 24
wave_size = 16
walkers = 8
steps = 200
burn = 50
candidates = 2000
[parameters]
asc_emigrate = "registry"
b_russian = "registry"
[targets]
include = ["new_emigrants.count.all.201[34]", "new_emigrants.share.ethnicity=*.2013.*"]
'''


def test_model_calibration_by_emulation_writes_its_folder_and_resumes(tmp_path):
    study = tmp_path / "tiny.toml"
    study.write_text(STUDY, encoding="utf-8")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "model", "calibrate", str(study), "--out", str(out),
           "--workers", "0"]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    info = json.loads((out / "result.json").read_text())
    assert info["method"] == "emulation" and info["n_simulations"] == 40
    assert info["final_temperature"] == 1.0 and info["chain"]["ess"] > 0
    design = pd.read_csv(out / "design.csv")
    assert len(design) == 40 and {"asc_emigrate", "b_russian",
                                  "new_emigrants.count.all.2014"} <= set(design.columns)
    posterior = pd.read_csv(out / "posterior.csv")
    s = load_study(study)
    assert len(posterior) == 60 and posterior["asc_emigrate"].between(
        *s.priors["asc_emigrate"].frozen().support()).all()
    emul = pd.read_csv(out / "emulator.csv")
    assert len(emul) == len(s.target_ids) and (emul["likelihood_sd"] > 0).all()
    assert "history matching" in (out / "dossier" / "dossier.md").read_text()
    # killed during wave 1: result.json and part of the design gone; the re-run makes
    # only the missing runs and gives the same posterior
    (out / "result.json").unlink()
    design.iloc[:30].to_csv(out / "design.csv", index=False)
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "continuing the calibration" in again.stdout and "wave 0: 24 runs" in again.stdout
    pd.testing.assert_frame_equal(pd.read_csv(out / "posterior.csv"), posterior)
    third = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert third.returncode == 0 and "already finished" in third.stdout


def test_counts_are_emulated_on_the_log_scale_and_residuals_stay_in_their_units():
    x = np.linspace(0, 1, 25)[:, None]
    y = np.exp(4 * x[:, 0])
    em = fit_emulator(x, np.column_stack([y, y - 10]), [0.0], [1.0], log=[True, True])
    # the second column has negative values: it is emulated as it is
    assert em.log.tolist() == [True, False] and em.offset[1] == 0.0
    assert em.predict(np.array([[0.5]]))[0, 0] == pytest.approx(np.exp(2.0), rel=0.01)
    assert em.error_var[0] <= em.loo_var[0]
    # a smooth exponential is nearly exact on the log scale; the residuals are counts
    assert np.sqrt(em.loo_var[0]) < 0.05 * y.mean()
