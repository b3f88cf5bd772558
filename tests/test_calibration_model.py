"""A tiny real-model calibration: moves toward known truth, same result for 0 and 2 workers,
finished calibration is not redone, and the dossier is written."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from model.analysis.calibration import (
    calibrate,
    default_study_path,
    load_study,
    simulate_summaries,
)

IDS = ("new_emigrants.count.all.2013", "new_emigrants.count.all.2014")
TRUTH = {"asc_emigrate": -10.5}  # far from the prior median (-7 on [-14, 0])


@pytest.fixture(scope="module")
def study():
    s = load_study(default_study_path())
    # one free parameter, two emigrant counts, a coarse scale and a short window
    return dataclasses.replace(
        s, free=("asc_emigrate",), priors={"asc_emigrate": s.priors["asc_emigrate"]},
        target_ids=IDS, end=2014, scale=1000.0, population_size=16, max_generations=3,
        method="abc-smc", noise_in_kernel=True,
        max_total_simulations=400, max_walltime=300.0, posterior_draws=100, noise_runs=3,
        prior_predictive_draws=6, posterior_predictive_draws=6)


@pytest.fixture(scope="module")
def observed(study):
    return simulate_summaries(study, TRUTH, seed=99)


@pytest.fixture(scope="module")
def result(study, observed, tmp_path_factory):
    return calibrate(study, tmp_path_factory.mktemp("cal") / "out", observed=observed,
                     workers=0, progress=False)


def test_posterior_moves_toward_truth(study, result):
    prior_median = study.priors["asc_emigrate"].ppf(0.5)  # -7, truth -10.5
    post = result.posterior["asc_emigrate"]
    assert abs(post.median() - TRUTH["asc_emigrate"]) < abs(prior_median - TRUTH["asc_emigrate"])
    assert abs(post.median() - TRUTH["asc_emigrate"]) < 1.0
    assert len(result.posterior) == 100
    assert set(result.generations.columns) >= {"t", "temperature", "n_simulations",
                                               "acceptance_rate", "ess"}


def test_out_folder_and_dossier(result):
    out = result.out_dir
    for name in ("posterior.csv", "generations.csv", "population.csv", "abc.db", "noise.csv",
                 "dossier/dossier.md", "dossier/fit.csv", "dossier/posterior_table.csv",
                 "dossier/prior_predictive.csv", "dossier/marginals.png"):
        assert (out / name).exists(), name
    post = pd.read_csv(out / "posterior.csv")
    assert list(post.columns) == ["draw", "asc_emigrate"]
    # runs can use it as it is: model.posterior reads draws 0..n-1 in row order
    from model.posterior import load_posterior

    loaded = load_posterior(out / "posterior.csv")
    assert loaded.n_draws == len(post) and loaded.draw(0) == {
        "asc_emigrate": post["asc_emigrate"].iloc[0]}
    table = pd.read_csv(out / "dossier" / "posterior_table.csv")
    assert table["width_ratio"].iloc[0] < 1.0
    assert table["verdict_basis"].iloc[0] == "width ratio (no recovery)"
    md = (out / "dossier" / "dossier.md").read_text()
    assert "width ratio alone (no recovery)" in md and "Not run: `emigsim calibrate" in md


def test_finished_calibration_is_not_redone(study, observed, result, capsys):
    again = calibrate(study, result.out_dir, observed=observed, workers=0, progress=True)
    assert "already finished" in capsys.readouterr().out
    pd.testing.assert_frame_equal(again.posterior, result.posterior)


def test_same_posterior_with_two_workers(study, observed, result, tmp_path):
    # the simulation budget binds, never the wall clock: a walltime stop would depend on
    # the machine's load and the two runs could stop at different points
    small = dataclasses.replace(study, max_generations=1, population_size=8,
                                max_total_simulations=3000, max_walltime=7200.0)
    a = calibrate(small, tmp_path / "a", observed=observed, workers=0, progress=False,
                  dossier=False)
    b = calibrate(small, tmp_path / "b", observed=observed, workers=2, progress=False,
                  dossier=False)
    pd.testing.assert_frame_equal(a.population, b.population)
    pd.testing.assert_frame_equal(a.posterior, b.posterior)


def test_dossier_with_recovery_adds_coverage_and_verdict(study, result, observed):
    from model.analysis.calibration import write_dossier

    rec = pd.DataFrame({"param": ["asc_emigrate"], "covered_50": [0.4], "covered_90": [0.5],
                        "n_datasets": [10]})
    write_dossier(study, result, recovery=rec, observed=observed, progress=False)
    table = pd.read_csv(result.out_dir / "dossier" / "posterior_table.csv")
    assert table["covered_90"].iloc[0] == 0.5
    # coverage below 0.7: never "identified"; a wide posterior stays "not identified"
    ratio = table["width_ratio"].iloc[0]
    expect = "not identified" if ratio > 0.85 else "weakly identified"
    assert table["identifiability"].iloc[0] == expect
    assert table["verdict_basis"].iloc[0] == "width ratio and recovery"
    md = (result.out_dir / "dossier" / "dossier.md").read_text()
    assert "## 4. Recovery on synthetic data" in md and "10 synthetic datasets" in md
    assert "| asc_emigrate | 0.40 | 0.50 |" in md
    assert "## 5. Identifiability" in md and "(no recovery)" not in md


def test_budget_stopped_calibration_goes_on_with_a_larger_budget(tmp_path):
    # all 40 targets of the shipped study (the real data) at a coarse scale: the first
    # temperatures are far above 1, so 30 simulations stop it by its budget
    s = load_study(default_study_path())
    tight = dataclasses.replace(
        s, free=("asc_emigrate",), priors={"asc_emigrate": s.priors["asc_emigrate"]},
        method="abc-smc", noise_in_kernel=True,
        scale=1000.0, population_size=8, max_generations=4, max_total_simulations=30,
        max_walltime=7200.0, noise_runs=3, posterior_draws=20)
    observed = None
    first = calibrate(tight, tmp_path / "c", observed=observed, workers=0, progress=False,
                      dossier=False)
    assert first.final_temperature > tight.min_temperature  # stopped by its budget
    again = calibrate(tight, tmp_path / "c", observed=observed, workers=0, progress=False,
                      dossier=False)  # same budget: reused, not redone
    assert len(again.generations) == len(first.generations)
    more = calibrate(dataclasses.replace(tight, max_total_simulations=400), tmp_path / "c",
                     observed=observed, workers=0, progress=False, dossier=False)
    assert len(more.generations) > len(first.generations)
    assert more.n_simulations > first.n_simulations
    n = len(first.generations)  # the earlier generations are kept, not redone
    assert more.generations["temperature"].iloc[:n].tolist() == pytest.approx(
        first.generations["temperature"].tolist())


def test_dossier_says_when_the_sample_is_degenerate(study, result, observed):
    from model.analysis.calibration import write_dossier

    md_path = result.out_dir / "dossier" / "dossier.md"
    gens = result.generations.copy()
    gens.loc[gens.index[-1], "ess"] = 1.0  # one particle carries the weight
    write_dossier(study, dataclasses.replace(result, generations=gens), observed=observed,
                  progress=False)
    assert "**Degenerate sample:**" in md_path.read_text()
    gens.loc[gens.index[-1], "ess"] = float(gens["n_particles"].iloc[-1])
    write_dossier(study, dataclasses.replace(result, generations=gens), observed=observed,
                  progress=False)
    assert "Degenerate sample" not in md_path.read_text()


def test_emulation_moves_toward_truth_with_the_same_posterior_for_0_and_2_workers(
        study, observed, tmp_path):
    small = dataclasses.replace(study, method="emulation", noise_in_kernel=False, waves=2,
                                first_wave=20, wave_size=12, walkers=8, steps=600, burn=200,
                                candidates=2000, max_total_simulations=3000,
                                max_walltime=7200.0)
    a = calibrate(small, tmp_path / "a", observed=observed, workers=0, progress=False,
                  dossier=False)
    b = calibrate(small, tmp_path / "b", observed=observed, workers=2, progress=False,
                  dossier=False)
    pd.testing.assert_frame_equal(a.posterior, b.posterior)
    post = a.posterior["asc_emigrate"]
    assert abs(post.median() - TRUTH["asc_emigrate"]) < 1.0
    assert a.method == "emulation" and a.final_temperature == 1.0
