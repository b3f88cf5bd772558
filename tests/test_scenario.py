"""Scenario files: loading, extends chains, and one-line errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.params import REGISTRY, defaults
from model.scenario import (
    DEFAULT_SCALE,
    FIRST_YEAR,
    Scenario,
    ScenarioError,
    check_scale,
    check_window,
    check_year,
    load_scenario,
)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))


def write(folder: Path, files: dict[str, str | bytes]) -> None:
    for name, text in files.items():
        path = folder / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")


# --- loading ------------------------------------------------------------------------------

def test_baseline_loads_with_registry_defaults():
    s = load_scenario(ROOT / "scenarios" / "baseline.toml")
    assert s.name == "baseline"
    assert (s.start, s.end) == (2012, 2018)
    assert s.scale == 50.0
    assert s.params == defaults()
    assert s.overrides == {}
    assert s.source.endswith("baseline.toml")
    assert s.description


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_scenario_loads(path):
    s = load_scenario(path)
    assert s.name == path.stem
    assert set(s.params) == set(REGISTRY)
    assert set(s.overrides) <= set(REGISTRY)
    assert FIRST_YEAR <= s.start <= s.end


def test_shipped_variants_change_what_they_say():
    nocp = load_scenario(ROOT / "scenarios" / "no_compatriot_programme.toml")
    assert nocp.overrides == {"b_compatriot": 0.0}
    assert nocp.params["b_compatriot"] == 0.0
    pess = load_scenario(ROOT / "scenarios" / "pessimism_shock.toml")
    assert pess.params["optimism_ladder_weight"] > REGISTRY["optimism_ladder_weight"].default


def test_empty_file_gives_defaults_and_stem_name(tmp_path):
    write(tmp_path, {"empty.toml": ""})
    s = load_scenario(tmp_path / "empty.toml")
    assert s == Scenario(name="empty", source=str(tmp_path / "empty.toml"))
    assert s.scale == DEFAULT_SCALE


def test_accepts_str_path(tmp_path):
    write(tmp_path, {"a.toml": 'name = "alpha"\n'})
    assert load_scenario(str(tmp_path / "a.toml")).name == "alpha"


def test_values_are_coerced_to_their_kind(tmp_path):
    write(tmp_path, {"a.toml": "[params]\nstudy_years = 3.0\nage_peak = 40\n[run]\nscale = 10\n"})
    s = load_scenario(tmp_path / "a.toml")
    assert s.params["study_years"] == 3 and isinstance(s.params["study_years"], int)
    assert isinstance(s.params["age_peak"], float)
    assert isinstance(s.scale, float)
    assert s.overrides == {"study_years": 3, "age_peak": 40.0}


# --- extends ------------------------------------------------------------------------------

def test_extends_chain_merges_and_child_wins(tmp_path):
    write(tmp_path, {
        "base.toml": 'description = "base"\n[run]\nstart = 2013\nend = 2020\nscale = 100\n'
                     "[params]\nage_peak = 30\nb_compatriot = 1.0\n",
        "mid.toml": 'extends = "base.toml"\n[run]\nend = 2025\n[params]\nage_peak = 40\n',
    })
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", {
        "leaf.toml": 'extends = "../mid.toml"\n[run]\nscale = 10\n[params]\nn_contacts = 5\n',
    })
    s = load_scenario(tmp_path / "sub" / "leaf.toml")
    assert s.name == "leaf"
    assert s.description == ""  # a parent's description describes the parent
    assert (s.start, s.end, s.scale) == (2013, 2025, 10.0)
    assert s.overrides == {"age_peak": 40.0, "b_compatriot": 1.0, "n_contacts": 5}
    assert s.params["age_peak"] == 40.0
    assert s.params["asc_emigrate"] == REGISTRY["asc_emigrate"].default


def test_extends_absolute_path(tmp_path):
    write(tmp_path, {"base.toml": "[params]\nage_peak = 30\n"})
    write(tmp_path, {"v.toml": f'extends = "{(tmp_path / "base.toml").as_posix()}"\n'})
    assert load_scenario(tmp_path / "v.toml").params["age_peak"] == 30.0


def test_start_after_inherited_end_blames_the_child(tmp_path):
    write(tmp_path, {"base.toml": "[run]\nend = 2014\n",
                     "v.toml": 'extends = "base.toml"\n[run]\nstart = 2016\n'})
    with pytest.raises(ScenarioError) as err:
        load_scenario(tmp_path / "v.toml")
    msg = str(err.value)
    assert "v.toml: key 'run.start'" in msg and "base.toml" in msg and "\n" not in msg


# --- errors -------------------------------------------------------------------------------

# (files, file to load, file named in the message, key named, needs "did you mean")
ERRORS = {
    "unknown top key": ({"a.toml": "parms = 1\n"}, "a.toml", "a.toml", "'parms'", True),
    "param at top level": ({"a.toml": "age_peak = 40\n"}, "a.toml", "a.toml", "'age_peak'",
                           True),
    "run key at top level": ({"a.toml": "start = 2013\n"}, "a.toml", "a.toml", "'start'",
                             True),
    "unknown run key": ({"a.toml": "[run]\nstrat = 2012\n"}, "a.toml", "a.toml",
                        "'run.strat'", True),
    "unknown param": ({"a.toml": "[params]\nage_pek = 40\n"}, "a.toml", "a.toml",
                      "'params.age_pek'", True),
    "param out of bounds": ({"a.toml": "[params]\nage_peak = 99\n"}, "a.toml", "a.toml",
                            "'params.age_peak'", False),
    "param wrong type": ({"a.toml": '[params]\nage_peak = "x"\n'}, "a.toml", "a.toml",
                         "'params.age_peak'", False),
    "param bool": ({"a.toml": "[params]\nage_peak = true\n"}, "a.toml", "a.toml",
                   "'params.age_peak'", False),
    "int param not whole": ({"a.toml": "[params]\nstudy_years = 2.5\n"}, "a.toml", "a.toml",
                            "'params.study_years'", False),
    "params not a table": ({"a.toml": "params = 3\n"}, "a.toml", "a.toml", "'params'", False),
    "run not a table": ({"a.toml": 'run = "x"\n'}, "a.toml", "a.toml", "'run'", False),
    "name not a string": ({"a.toml": "name = 5\n"}, "a.toml", "a.toml", "'name'", False),
    "name empty": ({"a.toml": 'name = " "\n'}, "a.toml", "a.toml", "'name'", False),
    "description not a string": ({"a.toml": "description = [1]\n"}, "a.toml", "a.toml",
                                 "'description'", False),
    "extends not a string": ({"a.toml": "extends = 1\n"}, "a.toml", "a.toml", "'extends'",
                             False),
    "extends empty": ({"a.toml": 'extends = ""\n'}, "a.toml", "a.toml", "'extends'", False),
    "start before 2012": ({"a.toml": "[run]\nstart = 2011\n"}, "a.toml", "a.toml",
                          "'run.start'", False),
    "end after 2050": ({"a.toml": "[run]\nend = 2051\n"}, "a.toml", "a.toml", "'run.end'",
                       False),
    "year float": ({"a.toml": "[run]\nstart = 2013.0\n"}, "a.toml", "a.toml", "'run.start'",
                   False),
    "year bool": ({"a.toml": "[run]\nend = true\n"}, "a.toml", "a.toml", "'run.end'", False),
    "year string": ({"a.toml": '[run]\nend = "2015"\n'}, "a.toml", "a.toml", "'run.end'",
                    False),
    "start after end": ({"a.toml": "[run]\nstart = 2015\nend = 2013\n"}, "a.toml", "a.toml",
                        "'run.start'", False),
    "start after default end": ({"a.toml": "[run]\nstart = 2020\n"}, "a.toml", "a.toml",
                                "'run.start'", False),
    "scale zero": ({"a.toml": "[run]\nscale = 0\n"}, "a.toml", "a.toml", "'run.scale'", False),
    "scale negative": ({"a.toml": "[run]\nscale = -5\n"}, "a.toml", "a.toml", "'run.scale'",
                       False),
    "scale inf": ({"a.toml": "[run]\nscale = inf\n"}, "a.toml", "a.toml", "'run.scale'", False),
    "scale nan": ({"a.toml": "[run]\nscale = nan\n"}, "a.toml", "a.toml", "'run.scale'", False),
    "scale string": ({"a.toml": '[run]\nscale = "big"\n'}, "a.toml", "a.toml", "'run.scale'",
                     False),
    "extends missing file": ({"a.toml": 'extends = "basline.toml"\n', "baseline.toml": ""},
                             "a.toml", "a.toml", "'extends'", True),
    "extends self": ({"a.toml": 'extends = "a.toml"\n'}, "a.toml", "a.toml", "'extends'",
                     False),
    "extends cycle": ({"a.toml": 'extends = "b.toml"\n', "b.toml": 'extends = "c.toml"\n',
                       "c.toml": 'extends = "a.toml"\n'}, "a.toml", "c.toml", "'extends'",
                      False),
    "error in parent": ({"a.toml": 'extends = "b.toml"\n', "b.toml": "[params]\nx_y = 1\n"},
                        "a.toml", "b.toml", "'params.x_y'", False),
}


@pytest.mark.parametrize("case", ERRORS.values(), ids=ERRORS.keys())
def test_errors_are_one_line_naming_file_and_key(tmp_path, case):
    files, load, named, key, near_miss = case
    write(tmp_path, files)
    with pytest.raises(ScenarioError) as err:
        load_scenario(tmp_path / load)
    msg = str(err.value)
    assert "\n" not in msg
    assert f"{named}: key {key}" in msg, msg
    assert "; allowed: " in msg
    assert ("did you mean" in msg) == near_miss, msg


@pytest.mark.parametrize("case", [
    ("missing", {}, "file not found"),
    ("syntax", {"bad.toml": "name = \n"}, "is not valid TOML"),
    ("syntax2", {"bad.toml": "[run\nstart = 2012\n"}, "is not valid TOML"),
    ("binary", {"bad.toml": b"\xff\xfe\x00"}, "is not UTF-8"),
], ids=lambda c: c[0])
def test_file_level_errors_are_one_line(tmp_path, case):
    _, files, problem = case
    write(tmp_path, files)
    with pytest.raises(ScenarioError) as err:
        load_scenario(tmp_path / "bad.toml")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(tmp_path / "bad.toml") + ": ")
    assert problem in msg and "; allowed: " in msg


def test_folder_instead_of_file(tmp_path):
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(ScenarioError, match="is a folder"):
        load_scenario(tmp_path / "dir.toml")


def test_near_miss_suggestions_name_the_right_key(tmp_path):
    write(tmp_path, {"a.toml": "[params]\nb_compatriots = 0\n"})
    with pytest.raises(ScenarioError, match="did you mean 'b_compatriot'"):
        load_scenario(tmp_path / "a.toml")
    write(tmp_path, {"b.toml": "b_compatriot = 0\n"})
    with pytest.raises(ScenarioError, match=r"under \[params\] \(params.b_compatriot\)"):
        load_scenario(tmp_path / "b.toml")


def test_cycle_message_shows_the_loop(tmp_path):
    write(tmp_path, {"a.toml": 'extends = "b.toml"\n', "b.toml": 'extends = "a.toml"\n'})
    with pytest.raises(ScenarioError, match=r"cycle \(.*a.toml -> .*b.toml -> .*a.toml\)"):
        load_scenario(tmp_path / "a.toml")


def test_scenario_error_is_a_value_error():
    assert issubclass(ScenarioError, ValueError)


# --- shared checks (also used by the command line) -------------------------------------------

def test_check_helpers():
    assert check_year(2050, "k", "w") == 2050
    assert check_scale(1, "k", "w") == 1.0
    check_window(2014, 2014, "w")
    with pytest.raises(ScenarioError, match=r"^w: key '--end' = 2013 is before --start = 2014"):
        check_window(2014, 2013, "w", "--end", "--start")
