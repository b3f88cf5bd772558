"""emigsim validate with an injected toy calibration and forecast."""

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from model.analysis.targets import default_targets_path, load_targets
from model.analysis.validation.validate import (
    SKILL_COLUMNS,
    ValidationError,
    posterior_predictive,
    relative_skill,
    run_validation,
)
from model.ui import validate_cmd
from model.ui.cli import main

TARGETS = load_targets()
EMIG = [f"new_emigrants.count.all.{y}" for y in range(2013, 2019)]


@dataclasses.dataclass(frozen=True)
class ToyStudy:
    target_ids: tuple = tuple(EMIG)
    targets_path: str = str(default_targets_path())
    source: str = "toy.toml"
    end: int = 2018
    replicates: int = 3
    population_size: int = 100
    max_total_simulations: int = 1000

    def run_scenario(self, params):
        return dict(params)


class Calls:
    def __init__(self):
        self.calibrations = []
        self.forecasts = 0

    def calibrate(self, study, out_dir, *, target_ids, quick, workers, progress):
        self.calibrations.append((study, list(target_ids), quick))
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        return SimpleNamespace(posterior=pd.DataFrame({"draw": [0, 1], "a": [1.0, 1.0]}))

    def forecast(self, study, posterior, target_ids, *, seed, progress):
        # every draw forecasts 1.1 x the official value: WIS = |0.1 y|, ape = 0.1
        self.forecasts += 1
        rows = [{"draw": d, "target_id": t, "value": 1.1 * TARGETS[t].value}
                for d in range(len(posterior)) for t in target_ids]
        return pd.DataFrame(rows)


def run_toy(tmp_path, calls, origins=(2016,), **kw):
    return run_validation(ToyStudy(), tmp_path, list(origins), calibrate_fn=calls.calibrate,
                          forecast_fn=calls.forecast, observation_noise=False,
                          progress=False, echo=lambda s: None, **kw)


def test_skill_table_by_hand(tmp_path):
    calls = Calls()
    skill = run_toy(tmp_path, calls, budget={"population_size": 10})
    on_disk = pd.read_csv(tmp_path / "skill.csv")
    assert tuple(on_disk.columns) == SKILL_COLUMNS
    # calibrated on years <= 2016 only, with the reduced budget, simulating to 2016
    study, ids, _ = calls.calibrations[0]
    assert ids == EMIG[:4]
    assert (study.population_size, study.end) == (10, 2016)
    m = skill[(skill["forecaster"] == "model") & (skill["metric"] == "new_emigrants")]
    assert m["year"].tolist() == [2017, 2018]
    assert m["horizon"].tolist() == [1, 2]
    assert m["wis"].tolist() == pytest.approx([3770.4, 4189.4])   # 0.1 * 37704, 0.1 * 41894
    assert m["ape"].tolist() == pytest.approx([0.1, 0.1])
    assert m["covered_90"].tolist() == [0, 0]
    p = skill[(skill["forecaster"] == "persistence") & (skill["metric"] == "new_emigrants")]
    assert p["ape"].tolist() == pytest.approx([abs(34965 - 37704) / 37704,
                                               abs(34965 - 41894) / 41894])
    # net balance and the emigrant shares are forecast too; baselines only for the series
    assert {"net_migration", "new_emigrants.share.age=0-15.Jan-Sep"} <= set(skill["metric"])
    shares = skill[skill["metric"].str.contains("share")]
    assert set(shares["forecaster"]) == {"model"}
    assert (tmp_path / "skill.png").stat().st_size > 0
    rel = pd.read_csv(tmp_path / "relative_skill.csv")
    r = rel[(rel["metric"] == "new_emigrants") & (rel["baseline"] == "persistence")]
    pw = p.set_index("horizon")["wis"]
    assert r["relative_wis"].tolist() == pytest.approx([3770.4 / pw[1], 4189.4 / pw[2]])


def test_resume_skips_finished_origins(tmp_path):
    calls = Calls()
    run_toy(tmp_path, calls, origins=(2015, 2016))
    assert len(calls.calibrations) == 2 and calls.forecasts == 2
    first = pd.read_csv(tmp_path / "skill.csv")
    again = Calls()
    run_toy(tmp_path, again, origins=(2015, 2016, 2017))
    assert len(again.calibrations) == 1 and again.forecasts == 1   # only 2017 is new
    both = pd.read_csv(tmp_path / "skill.csv")
    pd.testing.assert_frame_equal(both[both["origin"] < 2017].reset_index(drop=True), first)


def test_bad_origin_raises_before_writing(tmp_path):
    with pytest.raises(ValidationError, match="leaves no year to forecast"):
        run_toy(tmp_path / "o", Calls(), origins=(2018,))
    assert not (tmp_path / "o").exists()


def test_relative_skill_means_over_shared_pairs():
    s = pd.DataFrame({"origin": [2014, 2015, 2014, 2015], "horizon": 1,
                      "year": [2015, 2016, 2015, 2016], "metric": "m",
                      "forecaster": ["model", "model", "drift", "drift"],
                      "wis": [1.0, 3.0, 4.0, 4.0]})
    r = relative_skill(s)
    assert r["relative_wis"].tolist() == [0.5]
    assert r["n"].tolist() == [2]


def test_posterior_predictive_one_run_per_draw():
    seen = []

    def run_fn(params, seed):
        seen.append(seed)
        return pd.DataFrame({"year": 2017, "metric": "new_emigrants", "group": "all",
                             "value": [params["a"]]})

    post = pd.DataFrame({"draw": [0, 1, 2], "a": [10.0, 20.0, 30.0]})
    out = posterior_predictive(ToyStudy(), post, ["new_emigrants.count.all.2017"], seed=4,
                               run_fn=run_fn, progress=False)
    assert out["value"].tolist() == [10.0, 20.0, 30.0]
    assert len(set(seen)) == 3


# ------------------------------------------------------------------ CLI bad input
@pytest.fixture
def study_file(tmp_path, monkeypatch):
    path = tmp_path / "toy.toml"
    path.write_text("# toy\n")
    monkeypatch.setattr(validate_cmd, "_load_study", lambda p: ToyStudy())
    return path


@pytest.mark.parametrize(("extra", "fragment"), [
    (["--origins", "2018"], "'--origins' = 2018 leaves no year to forecast"),
    (["--origins", "2010"], "'--origins' = 2010 is before the first target year"),
    (["--origins", "20x6"], "'--origins' = '20x6' is not a year"),
    (["--origins", "2015", "2015"], "'--origins' = 2015 is given twice"),
    (["--origins", "2015", "--draws", "0"], "'--draws' = 0 is below 1"),
    (["--origins", "2015", "--max-walltime", "-5"], "'--max-walltime' = '-5'"),
    (["--origins", "2015", "--population-size", "many"], "'--population-size' = 'many'"),
])
def test_cli_bad_input(study_file, tmp_path, capsys, extra, fragment):
    out = tmp_path / "out"
    code = main(["validate", str(study_file), "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_missing_study(tmp_path, capsys):
    code = main(["validate", str(tmp_path / "nope.toml"), "--origins", "2015",
                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "is not a file" in err and len(err.strip().splitlines()) == 1


def test_cli_runs_with_injected_functions(study_file, tmp_path, monkeypatch):
    calls = Calls()
    import model.analysis.validation.validate as v

    real = v.run_validation
    monkeypatch.setattr(v, "run_validation", lambda *a, **k: real(
        *a, **k, calibrate_fn=calls.calibrate, forecast_fn=calls.forecast,
        echo=lambda s: None))
    out = tmp_path / "out"
    assert main(["validate", str(study_file), "--origins", "2016", "--out", str(out),
                 "--quiet", "--max-simulations", "50"]) == 0
    assert calls.calibrations[0][0].max_total_simulations == 50
    skill = pd.read_csv(out / "skill.csv")
    assert set(skill["origin"]) == {2016}
    assert np.isfinite(skill["wis"]).all()
