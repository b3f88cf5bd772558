"""The targets file: parsing, one-line errors on bad rows, and the observation-error models."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pytest

from model.analysis.targets import (
    COLUMNS,
    Target,
    TargetsError,
    default_targets_path,
    error_sd,
    load_targets,
)
from model.core.recorder import METRICS

GOOD = {"target_id": "a", "year": "2013", "metric": "new_emigrants", "group": "all",
        "kind": "count", "value": "24384", "unit": "persons", "period": "full_year",
        "error_model": "normal_rel", "error_sd": "0.03", "by_construction": "false",
        "fitted": "true", "source_file": "kz_migration_targets.csv", "source_row": "11",
        "source": "somewhere", "quality": "official statistic", "note": ""}


def write(tmp_path: Path, *rows: dict, header=COLUMNS) -> Path:
    path = tmp_path / "targets.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(header), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return path


def rejected(tmp_path: Path, **changes) -> str:
    """The one-line message for a file whose second row is GOOD with ``changes``."""
    path = write(tmp_path, GOOD, {**GOOD, "target_id": "b", **changes})
    with pytest.raises(TargetsError) as info:
        load_targets(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: line 3, column '")
    return msg


# ---------------------------------------------------------------- the shipped file
def test_shipped_targets_load_and_count_by_kind():
    t = load_targets()
    assert t.path == default_targets_path()
    kinds = {}
    for row in t.values():
        kinds[row.kind] = kinds.get(row.kind, 0) + 1
    # the EEC labour figures are yearly flows (counts), not stocks (issue 11)
    assert kinds == {"count": 29, "balance": 14, "stock": 14, "share": 34, "proportion": 1}
    assert sum(r.by_construction for r in t.values()) == 10


def test_shipped_targets_keep_provenance_and_stay_in_2012_2018():
    for row in load_targets().values():
        assert 2012 <= row.year <= 2018
        assert all(y <= 2018 for y in row.years)
        assert row.source_file.endswith(".csv") and row.source_row and row.source
        assert row.quality
        assert not (row.by_construction and row.fitted)
        if row.period.startswith("part_year"):
            assert row.kind == "share"


_ALLOWED_LATER = ("CABAR 2019", "Simakova 2019", "January 2019", "2009 and 2021 censuses",
                  "2021->2022", "(Jan 2019)")


def test_shipped_targets_quote_no_figure_for_2019_or_later():
    # every mention of a later year is a publication or fieldwork date or a census caveat;
    # the figures the source texts quoted for those years were cut when the file was built
    later = re.compile(r"(?<![\d-])20(?:19|[2-9]\d)(?![\d-])")
    for row in load_targets().values():
        for text in (row.source, row.quality, row.note):
            for hit in later.finditer(text):
                around = text[max(0, hit.start() - 25):hit.end() + 10]
                assert any(a in around for a in _ALLOWED_LATER), (row.target_id, around)


def test_shipped_by_construction_rows_are_the_copied_ones():
    bc = {(r.metric, r.kind) for r in load_targets().values() if r.by_construction}
    assert bc == {("population", "stock"),
                  ("new_immigrants", "count"), ("new_immigrants", "share")}


def test_shipped_observation_errors_follow_the_rules():
    t = load_targets()
    # exact count in a secondary report: 3%
    assert t["new_emigrants.count.all.2013"].sd == pytest.approx(0.03 * 24384)
    # rounded to thousands: 3% and a uniform error over 1,000
    assert t["new_emigrants.count.all.2014"].sd == pytest.approx(
        math.sqrt(870.0 ** 2 + 1000.0 ** 2 / 12.0))
    # official balance: 1% with a floor of 500
    assert t["net_migration.balance.all.2018"].sd == 500.0
    # official count: 1%
    assert t["deaths.count.all.2018"].sd == pytest.approx(1304.48)
    # part-year share: binomial over the January-September emigrants plus 2 points
    p = 20464 / 28150
    row = t["new_emigrants.share.ethnicity=Russian.2017.Jan-Sep"]
    assert row.value == pytest.approx(p, abs=1e-6)
    assert row.sd == pytest.approx(math.sqrt(p * (1 - p) / 28150 + 0.02 ** 2), rel=1e-5)


# ---------------------------------------------------------------- error models by hand
@pytest.mark.parametrize(("model", "e", "value", "sd"), [
    ("normal_abs", 0.05, 0.3, 0.05),
    ("normal_rel", 0.1, -200.0, 20.0),
    ("count:500", 0.01, 80000.0, 800.0),
    ("count:500", 0.01, -279.0, 500.0),
    ("rounded:1000", 0.0, 30000.0, 1000.0 / math.sqrt(12.0)),
    ("rounded:1000", 0.03, 30000.0, math.sqrt(900.0 ** 2 + 1000.0 ** 2 / 12.0)),
    ("binomial:400", 0.0, 0.2, 0.02),
    ("binomial:400", 0.015, 0.2, 0.025),
])
def test_error_models_against_hand_computed_sds(model, e, value, sd):
    assert error_sd(model, e, value) == pytest.approx(sd, rel=1e-12)


def test_z_and_loglik_by_hand():
    t = Target("x", 2013, "new_emigrants", "all", "count", 100.0, "persons", "full_year",
               "normal_abs", 4.0)
    assert t.z(110.0) == 2.5
    assert t.loglik(110.0) == pytest.approx(-0.5 * 6.25 - math.log(4.0 * math.sqrt(2 * math.pi)))
    assert t.loglik(100.0) > t.loglik(104.0) > t.loglik(110.0)


def test_sum_period_years(tmp_path):
    path = write(tmp_path, {**GOOD, "year": "2018", "period": "sum:2012-2018"})
    assert load_targets(path)["a"].years == tuple(range(2012, 2019))


# ---------------------------------------------------------------- bad rows
def test_unknown_metric_names_line_column_and_suggests(tmp_path):
    msg = rejected(tmp_path, metric="emigrants")
    assert "column 'metric' = 'emigrants' is not a model metric" in msg
    assert "did you mean 'new_emigrants'?" in msg
    assert all(m in msg for m in METRICS)


def test_unknown_group_suggests(tmp_path):
    msg = rejected(tmp_path, group="region=Karagandy", kind="share", value="0.1",
                   error_model="binomial:1000", error_sd="0.02")
    assert "column 'group' = 'region=Karagandy' is not a model group" in msg
    assert "did you mean 'region=Karaganda'?" in msg


@pytest.mark.parametrize(("model", "expected"), [
    ("gaussian", "= 'gaussian' is not an error model"),
    ("count", "= 'count' needs a parameter"),
    ("normal_rel:3", "= 'normal_rel:3' takes no parameter"),
    ("rounded:x", "= 'rounded:x' has a parameter that is not a number"),
    ("binomial:0", "= 'binomial:0' needs a parameter > 0"),
])
def test_bad_error_model(tmp_path, model, expected):
    msg = rejected(tmp_path, error_model=model)
    assert "column 'error_model'" in msg and expected in msg


def test_missing_source_is_rejected(tmp_path):
    msg = rejected(tmp_path, source="")
    assert "column 'source' is empty" in msg


def test_part_year_only_for_shares(tmp_path):
    msg = rejected(tmp_path, period="part_year:Jan-Sep")
    assert "column 'period'" in msg and "constrains shares only" in msg


def test_by_construction_rows_are_never_fitted(tmp_path):
    msg = rejected(tmp_path, by_construction="true", fitted="true")
    assert "column 'fitted'" in msg


@pytest.mark.parametrize(("changes", "column"), [
    ({"year": "2011"}, "year"),
    ({"year": "2013.5"}, "year"),
    ({"value": "many"}, "value"),
    ({"kind": "share", "value": "1.5", "group": "edu=higher"}, "value"),
    ({"kind": "share"}, "group"),
    ({"kind": "total"}, "kind"),
    ({"kind": "proportion"}, "kind"),
    ({"error_sd": "-1"}, "error_sd"),
    ({"error_sd": "0"}, "error_sd"),
    ({"fitted": "yes"}, "fitted"),
    ({"period": "sum:2012-2017"}, "period"),
    ({"period": "Jan-Sep"}, "period"),
    ({"target_id": "a"}, "target_id"),
])
def test_other_bad_values_name_their_column(tmp_path, changes, column):
    assert f"column '{column}'" in rejected(tmp_path, **changes)


def test_missing_column_and_missing_file(tmp_path):
    path = write(tmp_path, GOOD, header=[c for c in COLUMNS if c != "quality"])
    with pytest.raises(TargetsError, match=r"line 1: columns quality are missing"):
        load_targets(path)
    with pytest.raises(TargetsError, match="file not found"):
        load_targets(tmp_path / "none.csv")
    empty = write(tmp_path)
    with pytest.raises(TargetsError, match="has no target rows"):
        load_targets(empty)


def test_targets_error_is_a_scenario_error():
    # the CLI turns ScenarioError into one line on stderr and exit code 2
    from model.scenario import ScenarioError

    assert issubclass(TargetsError, ScenarioError)
