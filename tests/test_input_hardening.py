"""Input files that used to give tracebacks or wrong tables (issue 10, items 7, 8, 11):
huge integers, deep nesting, control characters, a byte-order mark, and "did you mean"
suggestions that named the rejected key itself or a far-off group."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli_helpers import check_rejected
from _cli_helpers import main_inprocess as main

from model.params import suggest
from model.scenario import MAX_DEPTH, ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parent.parent
BASE = f'extends = "{ROOT / "scenarios" / "baseline.toml"}"\n'

EXPERIMENT = """
method = "morris"
n = 2
scenario = "baseline"
[run]
end = 2013
scale = 4000
[parameters]
b_compatriot = {}
[[outcomes]]
name = "cum"
metric = "new_emigrants"
years = [2012, 2013]
"""


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


SCENARIOS = {
    "huge integer param": (BASE + "[params]\nage_peak = " + "9" * 300 + "\n",
                           "key 'params.age_peak' is an integer of 300 digits"),
    "huge integer year": (BASE + "[run]\nend = " + "1" * 400 + "\n",
                          "key 'run.end' is an integer of 400 digits"),
    "integer too long to parse": (BASE + "[params]\nage_peak = " + "9" * 5000 + "\n",
                                  "holds a number too long to read"),
    "deep arrays": (BASE + "[params]\nage_peak = " + "[" * 3000 + "]" * 3000 + "\n",
                    "nests tables or arrays too deeply"),
    "deep but parseable": (BASE + "[params]\nx = " + "[" * 20 + "]" * 20 + "\n",
                           f"levels deep; allowed: at most {MAX_DEPTH} levels"),
    "carriage return in name": (BASE + 'name = "base\\rline"\n', "holds a control character"),
    "NUL in name": (BASE + 'name = "base\\u0000"\n', "holds a control character"),
    "escape in description": (BASE + 'description = "a \\u001b[31m red"\n',
                              "key 'description'"),
}


@pytest.mark.parametrize("case", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_bad_scenario_files_get_one_line(work, capsys, case):
    text, expected = case
    (work / "s.toml").write_text(text)
    check_rejected(*main(["run", "s.toml", "--out", "out"], capsys), expected)
    assert not (work / "out").exists()


def test_description_may_span_lines(work):
    (work / "s.toml").write_text(BASE + 'description = """two\nlines\tand a tab"""\n')
    assert load_scenario(work / "s.toml").description == "two\nlines\tand a tab"


def test_byte_order_mark_is_named(work, capsys):
    (work / "s.toml").write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    check_rejected(*main(["run", "s.toml", "--out", "out"], capsys), "byte-order mark (BOM)")
    (work / "e.toml").write_bytes(b"\xef\xbb\xbf" + EXPERIMENT.encode())
    check_rejected(*main(["sensitivity", "e.toml", "--out", "out"], capsys),
                   "byte-order mark (BOM)")


EXPERIMENTS = {
    "huge n": (EXPERIMENT.replace("n = 2", "n = " + "7" * 200), "key 'n' is an integer of 200"),
    "control character in outcome name": (EXPERIMENT.replace('name = "cum"', 'name = "c\\ru"'),
                                          "outcomes[1].name"),
    "control character in name": ('name = "exp\\u0000"\n' + EXPERIMENT,
                                  "holds a control character"),
}


@pytest.mark.parametrize("case", EXPERIMENTS.values(), ids=EXPERIMENTS.keys())
def test_bad_experiment_files_get_one_line(work, capsys, case):
    text, expected = case
    (work / "e.toml").write_text(text)
    check_rejected(*main(["sensitivity", "e.toml", "--out", "out"], capsys), expected)
    assert not (work / "out").exists()


def test_a_carriage_return_never_reaches_series_csv(work):
    (work / "s.toml").write_text(BASE + 'name = "two\\rrows"\n')
    with pytest.raises(ScenarioError, match="control character"):
        load_scenario(work / "s.toml")


def test_suggestions_never_name_the_rejected_key_and_know_group_values():
    groups = ["all", "region=Kostanay", "region=Astana city", "region=Almaty city"]
    assert suggest("region=Astana city", groups) == ""
    assert suggest("region=Astana", groups) == "; did you mean 'region=Astana city'?"
    assert suggest("region=astana city", groups) == "; did you mean 'region=Astana city'?"
    assert suggest("region=Kostanai", groups) == "; did you mean 'region=Kostanay'?"


@pytest.mark.parametrize("scale,expected", [
    ("5000000", "leaves a region without any simulated person"),
    ("1085918", "leaves a region without any simulated person"),
    ("0.01", "more than this machine's memory allows"),
])
def test_scale_outside_the_usable_range_is_refused(work, capsys, scale, expected):
    from model.scenario import usable_scale_range

    lo, hi = usable_scale_range()
    assert hi == 1_085_917  # just under Atyrau's 542,959 persons of 2012
    check_rejected(*main(["run", "baseline", "--out", "out", "--scale", scale], capsys),
                   expected)
    err = main(["run", "baseline", "--out", "out", "--scale", scale], capsys)[2]
    assert f"allowed: a scale from {lo:g} to 1,085,917" in err
    assert not (work / "out").exists()


def test_scale_in_a_scenario_file_is_checked_too(work, capsys):
    (work / "s.toml").write_text(BASE + "[run]\nscale = 2e6\n")
    check_rejected(*main(["run", "s.toml", "--out", "out"], capsys),
                   "s.toml: key 'run.scale' = 2e+06 leaves a region")


def test_the_largest_usable_scale_still_simulates_every_region():
    from model.core.population import synthesize
    from model.params import defaults
    from model.scenario import usable_scale_range

    _, hi = usable_scale_range()
    _, pp = synthesize(defaults(), scale=hi, seed=1)
    import numpy as np

    assert np.all(np.bincount(pp.region[:pp.n], minlength=16) >= 1)


@pytest.mark.parametrize("args,expected", [
    (["run", "baseline", "--out", "o", "--replicate", "3"], "unrecognized arguments: --replicate"),
    (["run", "baseline", "--out", "o", "--rep", "3"], "unrecognized arguments: --rep"),
    (["compare", "baseline", "baseline", "--ou", "o"], "--ou"),
])
def test_abbreviated_long_options_are_refused(work, capsys, args, expected):
    code, out, err = main(args, capsys)
    assert code == 2 and expected in err and "Traceback" not in err
    assert not (work / "o").exists()
