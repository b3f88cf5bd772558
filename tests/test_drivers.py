"""Drivers: observed series, their projections, [drivers] tables and what the model sees."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from model import datasets
from model.drivers import (
    DRIVERS,
    HOLD,
    HORIZON,
    POSITIVE_FLOOR_SHARE,
    DriverError,
    Drivers,
    Projection,
    drivers_for,
    parse_projection,
    project,
)
from model.runs.manifest import build_manifest
from model.scenario import LAST_YEAR, Scenario, ScenarioError, load_scenario
from model.simulation import EmigrationModel
from tests._cli_helpers import check_rejected, main_inprocess

ROOT = Path(__file__).resolve().parents[1]
TOY = np.array([1.0, 2.0, 4.0, 5.0])  # observed 2017-2020


def _future(projection: Projection, obs=TOY, **kw) -> list:
    out = project(obs, 2020, projection, horizon=2023, **kw)
    assert np.array_equal(out[:len(obs)], obs)  # observed years are never changed
    return np.round(out[len(obs):], 9).tolist()


# ------------------------------------------------------------------ projection rules


def test_hold_repeats_the_last_value():
    assert _future(HOLD) == [5.0, 5.0, 5.0]


def test_trend_is_the_least_squares_line_through_the_last_years():
    # x = -3..0 (mean -1.5), y mean 3: slope = 7 / 5 = 1.4, line 3 + 1.4 (h + 1.5)
    assert _future(Projection("trend", years=4)) == [6.5, 7.9, 9.3]
    # the last two years only: 4, 5 -> 6, 7, 8
    assert _future(Projection("trend", years=2)) == [6.0, 7.0, 8.0]


def test_trend_stops_at_the_floor_of_its_kind():
    falling = np.array([10.0, 8.0, 6.0, 4.0])  # slope -2: 2, 0, -2
    trend = Projection("trend", years=4)
    assert _future(trend, falling, kind="signed") == [2.0, 0.0, -2.0]
    assert _future(trend, falling, kind="nonnegative") == [2.0, 0.0, 0.0]
    floor = POSITIVE_FLOOR_SHARE * 4.0
    assert _future(trend, falling, kind="positive") == [2.0, floor, floor]


def test_growth_compounds_from_the_last_value_within_the_ceiling():
    assert _future(Projection("growth", rate=0.1)) == [5.5, 6.05, 6.655]
    assert _future(Projection("growth", rate=0.5), ceiling=10.0) == [7.5, 10.0, 10.0]


def test_path_is_interpolated_from_the_last_value_and_held_after():
    assert _future(Projection("path", path=((2022, 9.0),))) == [7.0, 9.0, 9.0]
    assert _future(Projection("path", path=((2021, 6.0), (2023, 2.0)))) == [6.0, 4.0, 2.0]


def test_regional_rules_work_region_by_region():
    obs = np.array([[1.0, 10.0], [2.0, 20.0]])
    out = project(obs, 2020, Projection("trend", years=2), horizon=2022)
    assert out[2:].tolist() == [[3.0, 30.0], [4.0, 40.0]]
    path = project(obs, 2020, Projection("path", path=((2022, (4.0, 0.0)),)), horizon=2022)
    assert path[2:].tolist() == [[3.0, 10.0], [4.0, 0.0]]
    one = project(obs, 2020, Projection("path", path=((2021, 7.0),)), horizon=2021)
    assert one[2].tolist() == [7.0, 7.0]  # one number for every region


# ------------------------------------------------------------------ the registry


_TODAY = {  # the datasets functions the model read before drivers existed
    "ladder": datasets.ladder,
    "income_ratio_by_region": datasets.income_ratio,
    "gdp_ppp_kaz": lambda y: datasets.gdp_ppp("KAZ", y),
    "gdp_ppp_rus": lambda y: datasets.gdp_ppp("RUS", y),
    "gdp_ppp_deu": lambda y: datasets.gdp_ppp("DEU", y),
    "immigrants": datasets.immigrants,
    "natural_increase_rate": datasets.natural_increase_rate,
    "population_by_region": datasets.population_by_region,
}


@pytest.mark.parametrize("name", sorted(_TODAY))
def test_hold_gives_todays_values_bit_for_bit(name):
    d = Drivers()
    for year in range(1995, LAST_YEAR + 5):
        got, want = d.value(name, year), _TODAY[name](year)
        assert np.array_equal(got, want, equal_nan=True), (name, year)
        assert type(got) is type(want) or isinstance(got, np.ndarray)


def test_every_trend_a_row_allows_is_finite():
    for name, d in DRIVERS.items():
        row = {"projection": "trend", "years": d.complete_years}
        table = Drivers({name: parse_projection(name, row)}).table(name)
        assert np.isfinite(table[d.last_year - d.first_year + 1:]).all(), name


def test_values_is_value_for_many_years():
    d = Drivers({"income_ratio_by_region": Projection("growth", rate=0.02)})
    years = [1990, 2012, 2020, 2021, 2040, 2060]
    many = d.values("income_ratio_by_region", years)
    assert np.array_equal(many, np.stack([d.value("income_ratio_by_region", y)
                                          for y in years]))


def test_every_driver_has_data_and_a_hold_default():
    for name, d in DRIVERS.items():
        assert (ROOT / "model" / "data" / "kz" / d.file).is_file(), name
        assert d.default == HOLD
        obs = d.observed()
        assert len(obs) == d.last_year - d.first_year + 1
        assert obs.shape[1:] == ((len(datasets.REGIONS),) if d.regional else ())
        assert not obs.flags.writeable


def test_projection_starts_after_the_last_observed_year():
    d = drivers_for({"ladder": Projection("trend", years=5)})
    last = DRIVERS["ladder"].last_year
    for year in range(2000, last + 1):
        assert d.value("ladder", year) == datasets.ladder(year)
    assert d.value("ladder", last + 1) != datasets.ladder(last + 1)
    assert d.value("ladder", HORIZON + 10) == d.value("ladder", HORIZON)


def test_drivers_for_shares_one_object_per_projection_set():
    trend = {"ladder": Projection("trend", years=5)}
    assert drivers_for(trend) is drivers_for(dict(trend))
    assert drivers_for() is drivers_for({"ladder": HOLD}) is not drivers_for(trend)


def test_parse_rejects_bad_rows_naming_the_key():
    cases = {
        "ladr": ({"projection": "hold"}, "ladr", "did you mean 'ladder'"),
        "ladder": ({"projection": "linear"}, "ladder.projection", "hold, trend"),
        "immigrants": ({"projection": "growth", "rate": -1}, "immigrants.rate", "-1"),
    }
    for name, (row, key, text) in cases.items():
        with pytest.raises(DriverError) as err:
            parse_projection(name, row)
        assert err.value.key == key and text in str(err.value)


# ------------------------------------------------------------------ scenarios


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_baseline_resolved_has_no_drivers_key():
    # so the run ids of every scenario without [drivers] stay what they were
    assert "drivers" not in load_scenario(ROOT / "scenarios" / "baseline.toml").resolved()
    assert "drivers" not in Scenario().resolved()


def test_a_hold_row_is_the_default_and_leaves_the_run_id_alone(tmp_path):
    path = _write(tmp_path, "h.toml", '[drivers]\nladder = { projection = "hold" }\n')
    s = load_scenario(path)
    assert s.drivers == {} and "drivers" not in s.resolved()


def test_extends_overrides_per_driver(tmp_path):
    _write(tmp_path, "base.toml", '[drivers]\nladder = { projection = "trend", years = 4 }\n'
           'immigrants = { projection = "growth", rate = 0.01 }\n')
    path = _write(tmp_path, "v.toml", 'extends = "base.toml"\n[drivers]\n'
                  'immigrants = { projection = "hold" }\n'
                  'kzt_per_usd = { projection = "path", values = { 2030 = 600.0 } }\n')
    s = load_scenario(path)
    assert s.drivers == {"ladder": Projection("trend", years=4),
                         "kzt_per_usd": Projection("path", path=((2030, 600.0),))}
    assert s.resolved()["drivers"] == {
        "kzt_per_usd": {"projection": "path", "values": {"2030": 600.0}},
        "ladder": {"projection": "trend", "years": 4}}


def test_manifest_states_every_driver_assumption():
    s = Scenario(drivers={"ladder": Projection("growth", rate=-0.01)})
    now = datetime.now()
    m = build_manifest(s, None, ["emigsim"], now, now)
    by_name = {a["name"]: a for a in m["drivers"]}
    assert set(by_name) == set(DRIVERS)
    assert by_name["ladder"]["projection"] == {"projection": "growth", "rate": -0.01}
    assert by_name["immigrants"] == {
        "name": "immigrants", "file": "kz_external_migration_annual_2000_2018.csv",
        "unit": "persons per year", "first_observed": 2012, "last_observed": 2018,
        "projection": {"projection": "hold"}}


BAD_ROWS = {
    "unknown driver": ('ladr = { projection = "trend" }', "drivers.ladr", "did you mean 'ladder'"),
    "unknown projection": ('ladder = { projection = "trnd" }', "drivers.ladder.projection",
                           "did you mean 'trend'"),
    "missing projection": ("ladder = { years = 3 }", "drivers.ladder.projection", "is missing"),
    "not a table": ('ladder = "trend"', "drivers.ladder", "must be a table"),
    "too few years": ('ladder = { projection = "trend", years = 1 }', "drivers.ladder.years",
                      "from 2 to 15"),
    "too many years": ('ladder = { projection = "trend", years = 16 }', "drivers.ladder.years",
                       "from 2 to 15"),
    "years not whole": ('ladder = { projection = "trend", years = 2.5 }',
                        "drivers.ladder.years", "whole number"),
    "trend over a regional gap": ('natural_increase_rate = { projection = "trend", years = 11 }',
                                  "drivers.natural_increase_rate.years",
                                  "2009-2018 have data for every region"),
    "setting of another rule": ('ladder = { projection = "trend", rate = 0.1 }',
                                "drivers.ladder.rate", "not a setting of projection 'trend'"),
    "missing rate": ('immigrants = { projection = "growth" }', "drivers.immigrants.rate",
                     "is missing"),
    "rate -1": ('immigrants = { projection = "growth", rate = -1.0 }',
                "drivers.immigrants.rate", "greater than -1"),
    "observed path year": ('immigrants = { projection = "path", values = { 2015 = 100 } }',
                           "drivers.immigrants.values.2015", "is an observed year"),
    "path year after horizon": ('immigrants = { projection = "path", values = { 2051 = 1 } }',
                                "drivers.immigrants.values.2051", "years 2019 to 2050"),
    "path key not a year": ('immigrants = { projection = "path", values = { soon = 1 } }',
                            "drivers.immigrants.values.soon", "is not a year"),
    "negative count": ('immigrants = { projection = "path", values = { 2025 = -5 } }',
                       "drivers.immigrants.values.2025", "a number >= 0"),
    "zero for a positive series": ('kzt_per_usd = { projection = "path", values = { 2025 = 0 } }',
                                   "drivers.kzt_per_usd.values.2025", "a number > 0"),
    "ladder above 10": ('ladder = { projection = "path", values = { 2030 = 11 } }',
                        "drivers.ladder.values.2030", "from 0 to 10"),
    "regional list of 2": ('population_by_region = { projection = "path", values = '
                           '{ 2025 = [1.0, 2.0] } }', "drivers.population_by_region.values.2025",
                           "list of 16"),
    "empty path": ('ladder = { projection = "path", values = {} }', "drivers.ladder.values",
                   "non-empty table"),
}


@pytest.mark.parametrize("case", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_bad_drivers_rows_are_one_line_cli_errors(case, tmp_path, capsys):
    row, key, text = case
    path = _write(tmp_path, "bad.toml", f"[drivers]\n{row}\n")
    out = tmp_path / "out"
    code, stdout, err = main_inprocess(["run", str(path), "--out", str(out)], capsys)
    check_rejected(code, stdout, err, f"key '{key}'")
    assert text in err and str(path) in err
    assert not out.exists()


def test_drivers_not_a_table_is_an_error(tmp_path):
    with pytest.raises(ScenarioError, match="key 'drivers' must be a table"):
        load_scenario(_write(tmp_path, "x.toml", "drivers = 3\n"))


# ------------------------------------------------------------------ what the model sees


def _series(drivers: dict) -> dict:
    m = EmigrationModel(Scenario(scale=4000, end=2022, drivers=drivers), seed=3)
    m.run_model()
    s = m.series()
    return {(r.year, r.metric, r.group): r.value for r in s.itertuples()}


def test_a_drivers_table_changes_the_run_only_after_the_last_observed_year():
    hold = _series({})
    trend = _series({"ladder": Projection("trend", years=5)})
    assert hold.keys() == trend.keys()
    last = DRIVERS["ladder"].last_year
    before = [k for k in hold if k[0] <= last]
    after = [k for k in hold if k[0] > last]
    assert before and all(hold[k] == trend[k] for k in before)
    assert any(hold[k] != trend[k] for k in after)


def test_context_reads_the_scenarios_drivers():
    from model.core.decisions import Context
    from model.params import defaults

    p = defaults()
    grow = drivers_for({"russia_wage_kzt": Projection("growth", rate=0.05)})
    last = DRIVERS["russia_wage_kzt"].last_year
    same = Context.for_year(last, p, grow).gap_cis, Context.for_year(last, p).gap_cis
    assert np.array_equal(*same)
    later = Context.for_year(last + 2, p, grow).gap_cis - Context.for_year(last + 2, p).gap_cis
    np.testing.assert_allclose(later, 2 * np.log(1.05))  # log(1.05^2): the gap widens


def test_readme_drivers_example_loads(tmp_path):
    import re

    text = (ROOT / "README.md").read_text().split("## Drivers and projections", 1)[1]
    block = re.findall(r"```toml\n(.*?)```", text.split("\n## ", 1)[0], flags=re.S)[0]
    s = load_scenario(_write(tmp_path, "readme.toml", block))
    assert sorted(s.drivers) == ["immigrants", "kzt_per_usd", "ladder"]
    assert s.drivers["ladder"] == Projection("trend", years=5)
