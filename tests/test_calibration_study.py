"""Calibration study files: the shipped one parses; bad ones fail in one line, exit 2."""

from __future__ import annotations

import dataclasses

import pytest

from model.analysis.calibration import StudyError, default_study_path, load_study
from model.ui.cli import main

GOOD = '''
scenario = "baseline"
seed = 3
[simulation]
scale = 200
[parameters]
asc_emigrate = "registry"
b_russian = ["normal", 4.0, 1.0]
[targets]
include = ["new_emigrants.count.all.201[3-4]", "new_emigrants.share.destination=*"]
exclude = ["new_emigrants.share.destination=CIS.2018"]
'''


def _write(tmp_path, text):
    f = tmp_path / "s.toml"
    f.write_text(text, encoding="utf-8")
    return f


def test_shipped_study_selects_fitted_targets_and_behaviour_parameters():
    s = load_study(default_study_path())
    targets = s.targets()
    assert all(t.counted for t in targets.values())
    assert 20 <= len(s.target_ids) <= 40 and 8 <= len(s.free) <= 20
    assert dataclasses.replace(s, population_size=7).population_size == 7
    assert s.quick().population_size < s.population_size


def test_selectors_priors_and_exclude(tmp_path):
    s = load_study(_write(tmp_path, GOOD))
    assert s.target_ids == ("new_emigrants.count.all.2013", "new_emigrants.count.all.2014",
                            "new_emigrants.share.destination=CIS.2012.Jan-Jul",
                            "new_emigrants.share.destination=CIS.2013.Jan-Jul",
                            "new_emigrants.share.destination=CIS.2017")
    assert s.priors["b_russian"].describe() == "normal(4, 1)"
    assert s.priors["asc_emigrate"].family == "uniform"
    assert (s.scale, s.seed) == (200.0, 3)


@pytest.mark.parametrize("old,new,expect", [
    ('asc_emigrate = "registry"', 'asc_emigrat = "registry"', "did you mean 'asc_emigrate'"),
    ('asc_emigrate = "registry"', 'sex_ratio_birth = "registry"', "role 'structural'"),
    ('asc_emigrate = "registry"', 'study_years = "registry"', "whole number"),
    ('b_russian = ["normal", 4.0, 1.0]', 'b_russian = ["normal", 9.0, 1.0]',
     "parameters.b_russian"),
    ('b_russian = ["normal", 4.0, 1.0]', 'b_russian = ["gamma", 1.0]', "prior family"),
    ("scale = 200", "scale = -1", "'simulation.scale'"),
    ("scale = 200", "scael = 200", "did you mean 'scale'"),
    ("scale = 200", "scale = 200\ndiscrepancy_share = -0.01", "'simulation.discrepancy_share'"),
    ("seed = 3", "seed = 3\n[abc]\ntransition = \"locl\"", "did you mean 'local'"),
    ("scale = 200", "scale = 200\ndiscrepancy_level = \"big\"",
     "'simulation.discrepancy_level'"),
    ("seed = 3", "population_size = 3", "put it under [abc]"),
    ('"new_emigrants.share.destination=*"', '"no_such.*"', "matches no fitted target"),
    ('"new_emigrants.share.destination=*"', '"net_migration.balance.all.2014"',
     "not fitted"),
    ('"new_emigrants.share.destination=*"', '"population.stock.all.2012"',
     "by construction"),
    ('scenario = "baseline"', 'scenario = "baselin"', "did you mean 'baseline'"),
])
def test_bad_study_is_one_line_exit_2_nothing_written(tmp_path, capsys, old, new, expect):
    assert old in GOOD
    f = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(StudyError) as err:
        load_study(f)
    assert expect in str(err.value)
    out = tmp_path / "out"
    assert main(["calibrate", str(f), "--out", str(out), "--workers", "0"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(f) in lines[0] and "allowed:" in lines[0]
    assert not out.exists()


def test_out_folder_with_foreign_files_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("x")
    assert main(["calibrate", str(_write(tmp_path, GOOD)), "--out", str(out)]) == 2
    assert "did not write" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


def test_bad_workers_is_exit_2(tmp_path, capsys):
    assert main(["calibrate", str(_write(tmp_path, GOOD)), "--out", str(tmp_path / "o"),
                 "--workers", "-1"]) == 2
    assert "--workers" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value", [("--max-simulations", "0"),
                                         ("--max-simulations", "2.5"),
                                         ("--max-walltime", "-1"),
                                         ("--max-walltime", "soon")])
def test_bad_budget_option_is_exit_2_and_writes_nothing(tmp_path, capsys, flag, value):
    out = tmp_path / "o"
    assert main(["calibrate", str(_write(tmp_path, GOOD)), "--out", str(out),
                 flag, value]) == 2
    err = capsys.readouterr().err
    assert flag in err and "allowed" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_recovery_section_parses_and_defaults(tmp_path):
    s = load_study(_write(tmp_path, GOOD))
    assert (s.recovery_datasets, dict(s.recovery_budget)) == (10, {})
    assert s.recovery().population_size == s.population_size
    s = load_study(_write(tmp_path, GOOD + "[recovery]\ndatasets = 4\npopulation_size = 30\n"
                          "max_total_simulations = 500\nmax_walltime = 90\n"
                          "max_generations = 3\nscale = 400\n"))
    assert s.recovery_datasets == 4
    r = s.recovery()
    assert (r.population_size, r.max_total_simulations, r.max_walltime, r.max_generations,
            r.scale) == (30, 500, 90.0, 3, 400.0)
    assert (s.population_size, s.scale) == (200, 200.0)   # the real calibration's, untouched


def test_shipped_recovery_budget_is_reduced():
    s = load_study(default_study_path())
    r = s.recovery()
    assert s.recovery_datasets == 10
    assert (r.population_size, r.max_total_simulations, r.max_generations, r.max_walltime,
            r.scale) == (40, 3000, 6, 3600.0, 100.0)
    # the emulation's reduced budget: shorter later waves and chains, wave 0 as the study's
    assert (r.first_wave, r.wave_size, r.steps, r.burn) == (s.first_wave, 300, 1500, 500)
    assert r.wave_size < s.wave_size and r.steps < s.steps


@pytest.mark.parametrize("line,expect", [
    ("datasets = 0", "'recovery.datasets' = 0 is below 1"),
    ("datasets = 2.5", "'recovery.datasets' = 2.5 is not a whole number"),
    ("scale = -5", "'recovery.scale' = -5 is not positive"),
    ("max_walltime = \"long\"", "'recovery.max_walltime'"),
    ("populaton_size = 10", "did you mean 'population_size'"),
    ("noise_runs = 3", "is not a [recovery] setting"),
])
def test_bad_recovery_section_is_one_line_exit_2(tmp_path, capsys, line, expect):
    f = _write(tmp_path, GOOD + f"[recovery]\n{line}\n")
    with pytest.raises(StudyError) as err:
        load_study(f)
    assert expect in str(err.value)
    out = tmp_path / "out"
    assert main(["calibrate", str(f), "--out", str(out), "--workers", "0", "--recovery"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(f) in lines[0] and "allowed:" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("value", ["0", "two"])
def test_bad_recovery_count_is_one_line_exit_2(tmp_path, capsys, value):
    out = tmp_path / "out"
    assert main(["calibrate", str(default_study_path()), "--out", str(out), "--recovery",
                 value]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "'--recovery'" in lines[0] and "allowed:" in lines[0]
    assert not out.exists()


def test_discrepancy_variances_by_kind(tmp_path):
    from model.analysis.calibration.calibrate import discrepancy_variances

    s = load_study(_write(tmp_path, GOOD.replace(
        "scale = 200", "scale = 200\ndiscrepancy_level = 0.05\ndiscrepancy_share = 0.02")))
    assert (s.discrepancy_level, s.discrepancy_share) == (0.05, 0.02)
    t = s.targets()
    obs = {k: t[k].value for k in t}
    v = discrepancy_variances(s, t, obs)
    # hand: 0.05 * 24,384 = 1,219.2 persons; a share gets 0.02 share points
    assert v["new_emigrants.count.all.2013"] == pytest.approx(1219.2 ** 2)
    assert v["new_emigrants.share.destination=CIS.2017"] == pytest.approx(0.0004)
    plain = load_study(_write(tmp_path, GOOD))
    assert set(discrepancy_variances(plain, t, obs).values()) == {0.0}
