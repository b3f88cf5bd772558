"""The fit report on hand-made tidy tables, its figure, and ``emigsim fit`` on a tiny run."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from model.analysis.fit import (
    REPORT_COLUMNS,
    SeriesNotFoundError,
    fit_figure,
    fit_report,
    fit_total,
    load_series,
    model_values,
    with_total,
)
from model.analysis.targets import DERIVED_METRICS, Target, Targets, load_targets
from model.runs.store import ResultStore
from model.ui import fit_command

SEEDS = [11, 12, 13, 14, 15]


def tidy(metric: str, group: str, year: int, values, scenario="base") -> pd.DataFrame:
    """One row per replicate (1..5) of one metric, group and year."""
    return pd.DataFrame({"scenario": scenario, "replicate": range(1, len(values) + 1),
                         "seed": SEEDS[:len(values)], "year": year, "metric": metric,
                         "group": group, "value": [float(v) for v in values]})


def target(tid, year, metric, group, kind, value, sd, period="full_year", **flags):
    return Target(tid, year, metric, group, kind, float(value), "x", period, "normal_abs",
                  float(sd), **flags)


def targets(*rows: Target) -> Targets:
    out = Targets()
    for r in rows:
        out[r.target_id] = r
    return out


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.concat([
        tidy("new_emigrants", "all", 2013, [10, 20, 30, 40, 50]),
        tidy("new_emigrants", "ethnicity=Russian", 2013, [2, 6, 12, 20, 30]),
        # decoys: the share must use the same metric's and year's "all"
        tidy("new_emigrants", "all", 2014, [1000] * 5),
        tidy("new_immigrants", "all", 2013, [1] * 5),
        tidy("births", "all", 2013, [100, 110, 120, 130, 140]),
        tidy("deaths", "all", 2013, [50, 50, 50, 50, 50]),
        tidy("population", "all", 2013, [1000, 1000, 1000, 1000, 1000]),
    ], ignore_index=True)


def test_counts_medians_and_quantiles_are_exact(table):
    t = targets(target("e", 2013, "new_emigrants", "all", "count", 25, 5))
    r = fit_report(table, t).iloc[0]
    # linear interpolation between order statistics: q05 = 10 + 0.2 * 10, q95 = 40 + 0.8 * 10
    assert (r["median"], r["q05"], r["q95"]) == (30.0, 12.0, 48.0)
    assert r["z"] == 1.0 and r["z2"] == 1.0
    assert r["inside"] == 1 and r["counted"] == 1 and r["n_runs"] == 5
    assert list(fit_report(table, t).columns) == REPORT_COLUMNS


def test_shares_are_group_over_all_of_the_same_metric_and_year(table):
    t = targets(target("s", 2013, "new_emigrants", "ethnicity=Russian", "share", 0.3, 0.05))
    v = model_values(table, t)
    assert v["value"].tolist() == pytest.approx([0.2, 0.3, 0.4, 0.5, 0.6])
    r = fit_report(table, t).iloc[0]
    assert r["median"] == pytest.approx(0.4)
    assert r["q05"] == pytest.approx(0.22) and r["q95"] == pytest.approx(0.58)
    assert r["z"] == pytest.approx(2.0)


def test_derived_balance_and_sum_over_years(table):
    both = pd.concat([table, tidy("new_emigrants", "all", 2012, [1, 2, 3, 4, 5])])
    t = targets(
        target("ni", 2013, "natural_increase", "all", "balance", 70, 10),
        target("cum", 2013, "new_emigrants", "all", "count", 30, 3, period="sum:2012-2013"))
    v = model_values(both, t)
    assert v[v["target_id"] == "ni"]["value"].tolist() == [50.0, 60.0, 70.0, 80.0, 90.0]
    assert v[v["target_id"] == "cum"]["value"].tolist() == [11.0, 22.0, 33.0, 44.0, 55.0]
    r = fit_report(both, t).set_index("target_id")
    assert r.loc["ni", "z"] == 0.0
    assert r.loc["cum", "z"] == 1.0


def test_by_construction_and_unfitted_rows_are_reported_but_not_counted(table):
    t = targets(
        target("e", 2013, "new_emigrants", "all", "count", 25, 5),                  # z = 1
        target("p", 2013, "population", "all", "stock", 900, 10, by_construction=True,
               fitted=False),                                                      # z = 10
        target("b", 2013, "births", "all", "count", 100, 10, fitted=False),        # z = 2
        target("missing", 2018, "new_emigrants", "all", "count", 40, 4))          # no value
    r = fit_report(table, t).set_index("target_id")
    assert r.loc["p", "z"] == 10.0 and r.loc["b", "z"] == 2.0
    assert r["counted"].to_dict() == {"e": 1, "p": 0, "b": 0, "missing": 0}
    assert math.isnan(r.loc["missing", "median"]) and pd.isna(r.loc["missing", "inside"])
    assert r.loc["missing", "n_runs"] == 0
    total = fit_total(r.reset_index()).iloc[0]
    assert (total["z2"], total["inside"], total["counted"]) == (1.0, 1, 1)


def test_total_sums_z2_and_band_counts_per_scenario(table):
    other = table.assign(scenario="alt", value=table["value"] * 2)
    t = targets(target("e", 2013, "new_emigrants", "all", "count", 25, 5),
                target("d", 2013, "deaths", "all", "count", 40, 5))
    r = fit_report(pd.concat([table, other]), t)
    tot = fit_total(r).set_index("scenario")
    # base: z = 1 and 2 -> 1 + 4; alt: medians 60 and 100 -> z = 7 and 12 -> 49 + 144
    assert tot.loc["base", "z2"] == 5.0 and tot.loc["alt", "z2"] == 193.0
    # deaths are 50 in every base run (band 50-50); alt's emigrants band 24-96 holds 25
    assert tot.loc["base", "inside"] == 1 and tot.loc["alt", "inside"] == 1
    full = with_total(r)
    assert full["target_id"].tolist() == ["e", "d", "TOTAL", "e", "d", "TOTAL"]


def test_runs_are_told_apart_by_run_id_and_counted_once(table):
    rows = table[table["metric"] == "new_emigrants"].copy()
    rows["run_id"] = "r" + rows["replicate"].astype(str)
    twice = pd.concat([rows, rows[rows["run_id"] == "r1"]])  # r1 read from two shards
    t = targets(target("e", 2013, "new_emigrants", "all", "count", 25, 5))
    r = fit_report(twice.drop(columns=["replicate", "seed"]), t).iloc[0]
    assert r["n_runs"] == 5 and r["median"] == 30.0


def test_shipped_targets_on_a_hand_made_table():
    # every shipped target gets a value from a table holding its metrics and groups
    t = load_targets()
    rows = []
    for row in t.values():
        for m in DERIVED_METRICS.get(row.metric, (row.metric,)):
            for g in {row.group, "all"}:
                for y in row.years:
                    rows.append({"replicate": 1, "year": y, "metric": m, "group": g,
                                 "value": 1.0 if g == "all" else 0.5})
    table = pd.DataFrame(rows).drop_duplicates()
    r = fit_report(table, t)
    assert len(r) == len(t) and r["median"].notna().all()
    assert (r.loc[r["kind"] == "share", "median"] == 0.5).all()


def test_figure_has_a_row_per_target_and_flags_reported_only_rows(table):
    t = targets(target("e", 2013, "new_emigrants", "all", "count", 25, 5),
                target("p", 2013, "population", "all", "stock", 900, 10,
                       by_construction=True, fitted=False),
                target("s", 2013, "new_emigrants", "ethnicity=Russian", "share", 0.3, 0.05))
    fig = fit_figure(fit_report(table, t))
    assert isinstance(fig, Figure)
    labels = [x.get_text() for x in fig.axes[0].get_yticklabels()]
    # grouped by kind: counts, stocks, shares
    assert labels == ["new_emigrants 2013", "population 2013 [by construction]",
                      "new_emigrants ethnicity=Russian 2013"]
    assert "sum z\u00b2 = 5.0 over 2 fitted rows" in fig.axes[0].get_title()


# ---------------------------------------------------------------- reading results
def test_load_series_from_csv_store_and_nothing(tmp_path, table):
    run = tmp_path / "run"
    run.mkdir()
    table.to_csv(run / "series.csv", index=False)
    got = load_series(run, ["births"])
    assert set(got["metric"]) == {"births"} and len(got) == 5
    batch = tmp_path / "batch"
    ResultStore(batch / "store").write_shard(table.assign(run_id="r" + table["replicate"]
                                                          .astype(str)))
    assert len(load_series(batch)) == len(table)
    assert set(load_series(batch / "store", ["deaths"])["metric"]) == {"deaths"}
    with pytest.raises(SeriesNotFoundError):
        load_series(tmp_path)


# ---------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    from model.ui import cli

    out = tmp_path_factory.mktemp("tiny") / "run"
    assert cli.main(["run", "baseline", "--out", str(out), "--end", "2013", "--scale",
                     "4000", "--quiet"]) == 0
    return out


def test_cmd_fit_writes_table_and_figure(tiny_run, tmp_path, capsys):
    out = tmp_path / "fit"
    assert fit_command.main([str(tiny_run), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "new_emigrants.count.all.2013" in printed and "total: sum z^2 = " in printed
    fit = pd.read_csv(out / "fit.csv")
    n = len(load_targets())
    assert len(fit) == n + 1 and fit["target_id"].iloc[-1] == "TOTAL"
    done = fit[fit["target_id"] != "TOTAL"]
    # a run to 2013 has model values for 2012-2013 only, and the population on
    # 1 January 2014 that closes 2013
    later = done[done["year"] >= 2014]
    assert set(later.loc[later["median"].notna(), "target_id"]) == {"population.stock.all.2014"}
    assert done.loc[done["target_id"] == "new_emigrants.count.all.2013", "median"].notna().all()
    total = fit.iloc[-1]
    assert total["counted"] == done["z2"].notna().sum()
    assert total["z2"] == pytest.approx(done["z2"].sum())
    assert (out / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tiny_run / "fit.csv").exists()


def test_cmd_fit_defaults_to_the_run_folder(tiny_run, capsys):
    args = fit_command.add_arguments(argparse.ArgumentParser()).parse_args(
        [str(tiny_run), "--quiet"])
    assert fit_command.cmd_fit(args) == 0
    assert (tiny_run / "fit.csv").is_file() and (tiny_run / "fit.png").is_file()
    assert "target " not in capsys.readouterr().out  # --quiet: totals only


def _one_line_error(code: int, err: str, expected: str) -> None:
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("emigsim: error: ")
    assert expected in err and "Traceback" not in err


def test_cmd_fit_bad_input_is_one_line_and_writes_nothing(tiny_run, tmp_path, capsys):
    out = tmp_path / "o"
    code = fit_command.main([str(tmp_path / "nowhere"), "--out", str(out)])
    _one_line_error(code, capsys.readouterr().err, "is not a folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    code = fit_command.main([str(empty), "--out", str(out)])
    _one_line_error(code, capsys.readouterr().err, "holds no results")
    bad = tmp_path / "bad.csv"
    text = (load_targets().path.read_text(encoding="utf-8")
            .replace(",new_emigrants,all,count,24384,", ",new_emigrant,all,count,24384,", 1))
    bad.write_text(text, encoding="utf-8")
    code = fit_command.main([str(tiny_run), "--targets", str(bad), "--out", str(out)])
    _one_line_error(code, capsys.readouterr().err,
                    "line 2, column 'metric' = 'new_emigrant' is not a model metric")
    assert not out.exists()


def test_fit_command_parser_wires_into_subparsers():
    parser = argparse.ArgumentParser(prog="emigsim")
    sub = parser.add_subparsers(dest="command")
    fit_command.add_parser(sub)
    args = parser.parse_args(["fit", "runs/x", "--targets", "t.csv"])
    assert args.handler is fit_command.cmd_fit and args.targets == "t.csv"


def test_no_model_values_for_other_metrics_gives_nan_not_error():
    t = targets(target("e", 2013, "new_emigrants", "all", "count", 25, 5))
    r = fit_report(tidy("births", "all", 2013, [1, 2]), t)
    assert np.isnan(r["median"].iloc[0]) and r["counted"].iloc[0] == 0


def test_fit_files_are_ours_in_the_marker_and_a_users_file_is_never_replaced(tmp_path, capsys):
    import json

    from _cli_helpers import check_rejected
    from _cli_helpers import main_inprocess as main

    run = tmp_path / "r"
    assert main(["run", "baseline", "--out", str(run), "--end", "2013", "--scale", "4000",
                 "--quiet"], capsys)[0] == 0
    assert main(["fit", str(run), "--quiet"], capsys)[0] == 0
    marker = json.loads((run / ".emigsim-output").read_text())
    assert {"fit.csv", "fit.png", "series.csv"} <= set(marker["files"])
    assert main(["fit", str(run), "--quiet"], capsys)[0] == 0  # its own files: replaced
    # a re-run replaces the results the old fit described, and the stale fit with them
    assert main(["run", "baseline", "--out", str(run), "--end", "2013", "--scale", "4000",
                 "--quiet"], capsys)[0] == 0
    assert not (run / "fit.csv").exists()
    # a user's fit.csv elsewhere is never replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "fit.csv").write_text("my own notes\n")
    check_rejected(*main(["fit", str(run), "--out", str(mine)], capsys),
                   "holds fit.csv, which emigsim did not write")
    assert (mine / "fit.csv").read_text() == "my own notes\n"
    assert not list(mine.glob(".emigsim-tmp-*"))
