"""The residual terms a fit reports: where each value comes from, what it means, the CLI."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from model.analysis.residuals import (
    RESIDUALS,
    format_residuals,
    read_manifest,
    residual_table,
)
from model.params import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def _scenario(name="s", end=2018, overrides=(), **params) -> dict:
    return {"name": name, "end": end, "overrides": {k: params[k] for k in overrides},
            "params": {"residual_until": 2018, **params}}


def _row(table: pd.DataFrame, name: str, scenario: str = "s") -> pd.Series:
    return table[(table["parameter"] == name) & (table["scenario"] == scenario)].iloc[0]


def test_every_float_residual_is_reported_and_the_year_is_not():
    assert set(RESIDUALS) == {"residual_emigrate", "residual_labour", "residual_study",
                              "residual_intending_start"}
    t = residual_table({"scenario": _scenario()})
    assert sorted(t["parameter"]) == sorted(RESIDUALS)
    assert (t["source"] == "scenario").all() and (t["median"] == 0).all()
    assert format_residuals(t).endswith("of s: all 0")


def test_a_yearly_trend_is_translated_into_the_utility_it_adds_by_the_last_year():
    # +0.03 a year from 2012, growing until 2016 (residual_until), in a run to 2030:
    # 4 years of growth, +0.12
    t = residual_table({"scenario": _scenario(end=2030, residual_labour=0.03,
                                              residual_until=2016)})
    r = _row(t, "residual_labour")
    assert r["median"] == 0.03 and r["effect"] == ("utility of labour +0.12 by 2016 "
                                                   "(+0.03 a year from 2012)")
    # a run that ends before residual_until: growth stops at its end (2014: 2 years)
    r = _row(residual_table({"scenario": _scenario(end=2014, residual_study=-0.05)}),
             "residual_study")
    assert r["effect"] == "utility of study -0.1 by 2014 (-0.05 a year from 2012)"


def test_posterior_draws_give_the_median_and_band_over_replicates():
    record = {"parameters": ["asc_emigrate", "residual_intending_start"],
              "draws": [0, 1, 2, 1], "values": {"0": [-8.0, 0.1], "1": [-8.0, 0.2],
                                                "2": [-8.0, 0.6]}}
    t = residual_table({"scenarios": [_scenario(), _scenario("t")], "posterior": record})
    for sc in ("s", "t"):
        r = _row(t, "residual_intending_start", sc)
        # replicate values 0.1, 0.2, 0.6, 0.2: median 0.2, 5% 0.115, 95% 0.54
        assert r["source"] == "posterior" and r["n_runs"] == 4
        assert (r["median"], r["q05"], r["q95"]) == pytest.approx((0.2, 0.115, 0.54))
        assert r["effect"] == "intentions of 2012 formed at 1.2x the 2012 rate (median)"
    assert _row(t, "residual_emigrate")["source"] == "scenario"  # not in the posterior
    text = format_residuals(t)
    assert "residual_intending_start = 0.2 (posterior draws, 90% 0.115 to 0.54)" in text
    assert "the others are 0: residual_study, residual_emigrate, residual_labour" in text


def test_a_residual_the_same_in_every_draw_is_reported_as_one_value():
    record = {"parameters": ["residual_intending_start"], "draws": [0, 1],
              "values": {"0": [0.15], "1": [0.15]}}
    text = format_residuals(residual_table({"scenario": _scenario(), "posterior": record}))
    assert ("residual_intending_start = 0.15 (the same in every posterior draw): "
            "intentions of 2012 formed at 1.15x the 2012 rate\n") in text


def test_a_scenario_that_sets_a_residual_wins_over_the_draws():
    record = {"parameters": ["residual_emigrate"], "draws": [0], "values": {"0": [0.2]}}
    t = residual_table({"scenarios": [_scenario(overrides=["residual_emigrate"],
                                                residual_emigrate=0.01)],
                        "posterior": record})
    r = _row(t, "residual_emigrate")
    assert r["source"] == "scenario" and r["median"] == 0.01


def test_an_older_manifest_is_read_against_its_file_only_while_the_file_is_unchanged(tmp_path):
    post = tmp_path / "post.csv"
    post.write_text("draw,residual_emigrate\n0,0.01\n1,0.03\n")
    record = {"path": str(post), "sha256": hashlib.sha256(post.read_bytes()).hexdigest(),
              "parameters": ["residual_emigrate"], "draws": [0, 1]}
    r = _row(residual_table({"scenario": _scenario(), "posterior": record}),
             "residual_emigrate")
    assert r["source"] == "posterior" and r["median"] == pytest.approx(0.02)
    post.write_text("draw,residual_emigrate\n0,0.05\n1,0.05\n")  # replaced since the run
    r = _row(residual_table({"scenario": _scenario(), "posterior": record}),
             "residual_emigrate")
    assert r["source"] == "posterior (values unknown)" and math.isnan(r["median"])
    assert "whose values the manifest lacks" in format_residuals(
        residual_table({"scenario": _scenario(), "posterior": record}))


def test_a_design_that_varies_a_residual_reports_its_range():
    m = {"scenario": _scenario(), "experiment": {"parameters": [
        {"name": "residual_emigrate", "bounds": [-0.3, 0.3]}]}}
    r = _row(residual_table(m), "residual_emigrate")
    assert (r["source"], r["q05"], r["q95"]) == ("design", -0.3, 0.3)
    assert "residual_emigrate = varied by the design over -0.3 to 0.3" in format_residuals(
        residual_table(m))


def test_read_manifest_finds_the_run_folders_manifest_from_its_store(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "manifest.json").write_text(json.dumps({"scenario": _scenario()}))
    assert read_manifest(tmp_path / "store")["scenario"]["name"] == "s"
    (tmp_path / "manifest.json").write_text("{not json")
    assert read_manifest(tmp_path) is None


def test_emigsim_fit_reports_the_residuals_a_run_used(tmp_path, capsys):
    from _cli_helpers import main_inprocess as main

    scen = tmp_path / "resid.toml"
    base = ROOT / "scenarios" / "baseline.toml"
    scen.write_text(f'extends = "{base}"\nname = "resid"\n[params]\nresidual_emigrate = 0.02\n')
    run = tmp_path / "r"
    assert main(["run", str(scen), "--out", str(run), "--end", "2013", "--scale", "4000",
                 "--quiet", "--no-posterior"], capsys)[0] == 0
    code, out, err = main(["fit", str(run), "--quiet"], capsys)
    assert code == 0, err
    assert "residual_emigrate = 0.02: utility of emigrate +0.02 by 2013" in out
    table = pd.read_csv(run / "fit_residuals.csv")
    assert set(table["parameter"]) == set(RESIDUALS)
    r = table[table["parameter"] == "residual_emigrate"].iloc[0]
    assert r["source"] == "scenario" and r["median"] == 0.02
    assert r["description"] == REGISTRY["residual_emigrate"].doc
    marker = json.loads((run / ".emigsim-output").read_text())
    assert "fit_residuals.csv" in marker["files"]


def test_fit_without_a_manifest_says_the_residuals_are_unknown(tmp_path, capsys):
    from _cli_helpers import main_inprocess as main

    run = tmp_path / "r"
    assert main(["run", "baseline", "--out", str(run), "--end", "2012", "--scale", "4000",
                 "--quiet"], capsys)[0] == 0
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "series.csv").write_bytes((run / "series.csv").read_bytes())
    code, out, _ = main(["fit", str(bare), "--quiet"], capsys)
    assert code == 0 and "residual terms unknown (no manifest.json" in out
    assert not (bare / "fit_residuals.csv").exists()
    assert Path(bare / "fit.csv").is_file()
