"""How well a run or batch fits the calibration targets: a table and a figure.

For every target (:mod:`model.analysis.targets`) the model's value is computed in each run
from the tidy results table (columns ``scenario, replicate, seed, year, metric, group,
value``): the metric's value for counts, stocks, balances and proportions (summed over
the years of a ``sum:`` period; ``natural_increase`` is births minus deaths), the group's
value over the ``all`` value of the same metric and year for shares. Across runs the
report gives the median and the 5% and 95% quantiles, ``z = (median - observed) / sd``
with ``sd`` the target's observation error, and whether the observed value lies inside
the 90% band. The total counts only the rows that are fitted and not matched by
construction: the sum of ``z**2`` and how many of them lie inside their band.

Examples
--------
>>> import pandas as pd
>>> from model.analysis.targets import Target, Targets
>>> t = Targets(a=Target("a", 2013, "new_emigrants", "all", "count", 100.0, "persons",
...                      "full_year", "normal_abs", 10.0))
>>> tidy = pd.DataFrame({"scenario": "s", "replicate": [1, 2, 3], "seed": [1, 2, 3],
...                      "year": 2013, "metric": "new_emigrants", "group": "all",
...                      "value": [90.0, 110.0, 130.0]})
>>> r = fit_report(tidy, t)
>>> r[["median", "q05", "q95", "z"]].iloc[0].tolist(), int(r["inside"].iloc[0])
([110.0, 92.0, 128.0, 1.0], 1)
>>> float(fit_total(r)["z2"].iloc[0])
1.0
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rcParams
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from model.analysis.targets import DERIVED_METRICS, KINDS, Target, Targets, load_targets

__all__ = ["load_series", "model_values", "fit_report", "fit_total", "with_total",
           "fit_figure", "needed_metrics", "SeriesNotFoundError", "REPORT_COLUMNS"]

REPORT_COLUMNS = ["scenario", "target_id", "kind", "metric", "group", "year", "period",
                  "observed", "sd", "median", "q05", "q95", "n_runs", "z", "z2", "inside",
                  "by_construction", "fitted", "counted", "source_file", "source_row",
                  "quality"]
"""Columns of :func:`fit_report` (and of ``fit.csv``, which adds one ``TOTAL`` row per
scenario: ``z2`` the sum over counted rows, ``inside`` how many of them are inside their
band, ``counted`` how many there are)."""

_RUN_KEYS = ("run_id", "replicate", "seed", "point")
"""Columns that tell runs apart, when present (``run_id`` alone when there is one)."""


class SeriesNotFoundError(FileNotFoundError):
    """The folder holds neither ``series.csv`` nor a result store."""


def needed_metrics(targets: Targets | Iterable[Target]) -> list[str]:
    """Recorded metrics the targets are computed from.

    Examples
    --------
    >>> needed_metrics(load_targets())[:3]
    ['births', 'deaths', 'n_students_abroad']
    """
    out: set[str] = set()
    for t in (targets.values() if isinstance(targets, dict) else targets):
        out.update(DERIVED_METRICS.get(t.metric, (t.metric,)))
    return sorted(out)


def load_series(path: str | Path, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """The tidy results of a run or batch folder, or of a store folder.

    Reads through :meth:`model.runs.results.ResultSet.load` (a run folder, a batch folder
    or a bare store). Only ``metrics`` when given (from a store, only those rows are read).

    Examples
    --------
    >>> import tempfile
    >>> load_series(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.analysis.fit.SeriesNotFoundError: ...: no series.csv and no store/ in this folder
    """
    from model.runs.results import ResultsError, ResultSet

    try:
        results = ResultSet.load(path)
    except ResultsError:
        raise SeriesNotFoundError(f"{path}: no series.csv and no store/ in this folder") from None
    wanted = None if metrics is None else sorted(set(metrics))
    return (results if wanted is None else results.select(metric=wanted)).series


def _run_keys(series: pd.DataFrame) -> list[str]:
    if "run_id" in series.columns:
        return ["run_id"]
    return [c for c in _RUN_KEYS if c in series.columns]


def model_values(series: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    """Every target's model value in every run: ``scenario, <run keys>, target_id, value``.

    A value is NaN when the run has no rows for it (e.g. a year it did not record).

    Examples
    --------
    >>> from model.analysis.targets import Target, Targets
    >>> t = Targets(s=Target("s", 2017, "new_emigrants", "ethnicity=Russian", "share",
    ...                      0.7, "share", "full_year", "normal_abs", 0.05))
    >>> tidy = pd.DataFrame({"replicate": 1, "year": 2017, "metric": "new_emigrants",
    ...                      "group": ["all", "ethnicity=Russian"], "value": [40.0, 30.0]})
    >>> model_values(tidy, t)["value"].tolist()
    [0.75]
    """
    keys = _run_keys(series)
    df = series.loc[series["metric"].isin(needed_metrics(targets))]
    df = df.assign(scenario=df["scenario"] if "scenario" in df.columns else "")
    index = ["scenario", *keys]
    if df.empty:
        return pd.DataFrame(columns=[*index, "target_id", "value"])
    # one column per (metric, group, year), one row per run; a row written twice by two
    # processes has the same value, so the mean keeps it once
    wide = df.groupby([*index, "metric", "group", "year"])["value"].mean().unstack(
        ["metric", "group", "year"])
    cols = set(wide.columns)
    nan = pd.Series(np.nan, index=wide.index)

    def cell(metric: str, group: str, years: tuple[int, ...]) -> pd.Series:
        if metric in DERIVED_METRICS:
            a, b = DERIVED_METRICS[metric]
            return cell(a, group, years) - cell(b, group, years)
        if any((metric, group, y) not in cols for y in years):
            return nan
        return sum(wide[(metric, group, y)] for y in years)

    parts = []
    for t in targets.values():
        v = cell(t.metric, t.group, t.years)
        if t.kind == "share":
            total = cell(t.metric, "all", t.years)
            v = v / total.where(total != 0)
        parts.append(pd.DataFrame({"target_id": t.target_id, "value": v.astype(float)}))
    if not parts:
        return pd.DataFrame(columns=[*index, "target_id", "value"])
    return pd.concat(parts).reset_index()[[*index, "target_id", "value"]]


def fit_report(series: pd.DataFrame, targets: Targets | None = None) -> pd.DataFrame:
    """One row per scenario and target: observed, model median and 90% band, z.

    Parameters
    ----------
    series : pandas.DataFrame
        Tidy results of one or more runs (``scenario`` optional; runs are told apart by
        ``run_id``, or by ``replicate``, ``seed`` and ``point`` where present).
    targets : Targets, optional
        Default: the shipped targets (:func:`model.analysis.targets.load_targets`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REPORT_COLUMNS`. ``median``, ``q05`` and ``q95`` are quantiles across
        runs (linear interpolation); ``z = (median - observed) / sd``; ``inside`` is 1 when
        ``q05 <= observed <= q95``; ``counted`` is 1 for rows of the total (fitted, not by
        construction, with a model value) and ``z2`` is ``z**2`` on them.

    Examples
    --------
    >>> from model.analysis.targets import Target, Targets
    >>> t = Targets(b=Target("b", 2012, "population", "all", "stock", 10.0, "persons",
    ...                      "full_year", "normal_abs", 1.0, by_construction=True,
    ...                      fitted=False))
    >>> tidy = pd.DataFrame({"replicate": [1, 2], "year": 2012, "metric": "population",
    ...                      "group": "all", "value": [11.0, 13.0]})
    >>> r = fit_report(tidy, t)
    >>> float(r["z"].iloc[0]), int(r["counted"].iloc[0]), bool(pd.isna(r["z2"].iloc[0]))
    (2.0, 0, True)
    """
    targets = load_targets() if targets is None else targets
    values = model_values(series, targets)
    rows = []
    scenarios = list(dict.fromkeys(values["scenario"])) or [""]
    by = {k: g["value"].to_numpy(float) for k, g in values.groupby(["scenario", "target_id"])}
    for scenario in scenarios:
        for t in targets.values():
            v = by.get((scenario, t.target_id), np.array([]))
            v = v[~np.isnan(v)]
            has = v.size > 0
            med, q05, q95 = (np.quantile(v, [0.5, 0.05, 0.95]) if has
                             else (np.nan, np.nan, np.nan))
            z = (med - t.value) / t.sd if has else np.nan
            counted = t.counted and has
            rows.append({
                "scenario": scenario, "target_id": t.target_id, "kind": t.kind,
                "metric": t.metric, "group": t.group, "year": t.year, "period": t.period,
                "observed": t.value, "sd": t.sd, "median": med, "q05": q05, "q95": q95,
                "n_runs": int(v.size), "z": z, "z2": z * z if counted else np.nan,
                "inside": (int(q05 <= t.value <= q95) if has else pd.NA),
                "by_construction": t.by_construction, "fitted": t.fitted,
                "counted": int(counted), "source_file": t.source_file,
                "source_row": t.source_row, "quality": t.quality})
    out = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    out["inside"] = out["inside"].astype("Int64")
    return out


def fit_total(report: pd.DataFrame) -> pd.DataFrame:
    """The total of each scenario: sum of ``z**2`` and rows inside their band (counted rows).

    Examples
    --------
    >>> r = pd.DataFrame({"scenario": "s", "z2": [1.0, 4.0, np.nan], "counted": [1, 1, 0],
    ...                   "inside": [1, 0, 1], "n_runs": 5})
    >>> tot = fit_total(r).iloc[0]
    >>> float(tot["z2"]), int(tot["inside"]), int(tot["counted"])
    (5.0, 1, 2)
    """
    rows = []
    for scenario, part in report.groupby("scenario", sort=False):
        c = part[part["counted"] == 1]
        rows.append({"scenario": scenario, "target_id": "TOTAL", "kind": "total",
                     "z2": float(c["z2"].sum()), "inside": int(c["inside"].sum()),
                     "counted": int(len(c)), "n_runs": int(part["n_runs"].max())})
    return pd.DataFrame(rows)


def with_total(report: pd.DataFrame) -> pd.DataFrame:
    """The report with each scenario's ``TOTAL`` row after its targets (the ``fit.csv``).

    Examples
    --------
    >>> r = pd.DataFrame({"scenario": "s", "target_id": "a", "z2": [1.0], "counted": [1],
    ...                   "inside": [1], "n_runs": 3})
    >>> with_total(r)["target_id"].tolist()
    ['a', 'TOTAL']
    """
    totals = fit_total(report)
    parts = []
    for scenario, part in report.groupby("scenario", sort=False):
        parts += [part, totals[totals["scenario"] == scenario]]
    out = pd.concat(parts, ignore_index=True)[list(report.columns)]
    for col in ("inside", "year"):
        if col in out.columns:
            out[col] = out[col].astype("Int64")
    return out


def target_label(row: pd.Series) -> str:
    """A short label of a report row: metric, group (unless all), year or years, period.

    Examples
    --------
    >>> target_label(pd.Series({"metric": "new_emigrants", "group": "ethnicity=Russian",
    ...                         "year": 2017, "period": "part_year:Jan-Sep"}))
    'new_emigrants ethnicity=Russian 2017 Jan-Sep'
    """
    head, _, detail = str(row["period"]).partition(":")
    when = {"full_year": str(row["year"]), "part_year": f"{row['year']} {detail}",
            "sum": f"{detail} (sum)", "survey": f"{row['year']} (survey)"}[head]
    group = "" if row["group"] == "all" else f" {row['group']}"
    return f"{row['metric']}{group} {when}"


_CLIP = 6.0
"""z beyond this is drawn at the edge with its value written beside it."""


def fit_figure(report: pd.DataFrame, note: str | None = None) -> Figure:
    """Dot plot of z per target, grouped by kind, with the +-1 and +-2 bands.

    ``note`` (the residual terms of the runs, :func:`model.analysis.residuals.format_residuals`)
    goes under the title.

    The dot is the model median, the line the model's 90% band, both in units of the
    target's observation error around the observed value (at 0). Rows counted in the
    total are filled; rows matched by construction or not fitted are hollow and grey.

    Examples
    --------
    >>> r = pd.DataFrame({"scenario": "s", "target_id": ["a", "b"], "kind": "count",
    ...                   "metric": "new_emigrants", "group": "all", "year": [2013, 2014],
    ...                   "period": "full_year", "observed": 10.0, "sd": 1.0,
    ...                   "median": [11.0, 30.0], "q05": [10.0, 29.0], "q95": [12.0, 31.0],
    ...                   "z": [1.0, 20.0], "counted": [1, 1], "by_construction": False,
    ...                   "fitted": True, "z2": [1.0, 400.0], "inside": [1, 0], "n_runs": 3})
    >>> fig = fit_figure(r)
    >>> fig.axes[0].get_xlabel()
    '(model - observed) / observation sd'
    """
    rep = report[report["target_id"] != "TOTAL"].copy()
    order = {k: i for i, k in enumerate(KINDS)}
    first = rep.drop_duplicates("target_id").reset_index(drop=True)
    first["_k"] = first["kind"].map(order).fillna(len(KINDS))
    first = first.sort_values(["_k"], kind="stable").reset_index(drop=True)
    pos = {tid: i for i, tid in enumerate(first["target_id"])}
    n = max(len(first), 1)
    scenarios = list(dict.fromkeys(rep["scenario"]))
    fig = Figure(figsize=(9.0, 1.6 + 0.2 * n), layout="constrained")
    ax = fig.add_subplot()
    ax.axvspan(-2, 2, color="0.93", zorder=0)
    ax.axvspan(-1, 1, color="0.85", zorder=0)
    ax.axvline(0, color="0.4", lw=0.8, zorder=1)
    colours = rcParams["axes.prop_cycle"].by_key()["color"]
    step = 0.6 / max(len(scenarios), 1)
    for si, scenario in enumerate(scenarios):
        part = rep[rep["scenario"] == scenario]
        colour = colours[si % len(colours)]
        off = (si - (len(scenarios) - 1) / 2) * step
        for _, row in part.iterrows():
            if pd.isna(row["median"]):
                continue
            y = pos[row["target_id"]] + off
            lo, hi = ((row[q] - row["observed"]) / row["sd"] for q in ("q05", "q95"))
            counted = int(row["counted"]) == 1
            c = colour if counted else "0.55"
            ax.plot([np.clip(lo, -_CLIP, _CLIP), np.clip(hi, -_CLIP, _CLIP)], [y, y],
                    color=c, lw=1.2, zorder=2)
            z = float(row["z"])
            zc = float(np.clip(z, -_CLIP, _CLIP))
            marker = "o" if abs(z) <= _CLIP else (">" if z > 0 else "<")
            ax.plot([zc], [y], marker=marker, ms=5, color=c, zorder=3,
                    markerfacecolor=c if counted else "white")
            if abs(z) > _CLIP:
                ax.annotate(f"{z:+.0f}", (zc, y), xytext=(-4 if z > 0 else 4, 0),
                            textcoords="offset points", va="center", fontsize=7, color=c,
                            ha="right" if z > 0 else "left")
    labels = []
    for _, row in first.iterrows():
        flag = (" [by construction]" if row["by_construction"] else
                "" if row["fitted"] else " [not fitted]")
        labels.append(target_label(row) + flag)
    ax.set_yticks(range(len(first)), labels, fontsize=7)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(-_CLIP - 0.5, _CLIP + 0.5)
    for _, part in first.groupby("_k", sort=True):
        top = part.index.min()
        if top > 0:
            ax.axhline(top - 0.5, color="0.3", lw=0.6)
        ax.text(1.01, top, str(part["kind"].iloc[0]), transform=ax.get_yaxis_transform(),
                va="top", fontsize=8, fontweight="bold")
    ax.set_xlabel("(model - observed) / observation sd")
    totals = fit_total(rep) if len(rep) else pd.DataFrame()
    lines = [f"{s or 'run'}: sum z\u00b2 = {r.z2:.1f} over {r.counted} fitted rows, "
             f"{r.inside} inside their 90% band" for s, r in
             zip(totals.get("scenario", []), totals.itertuples(), strict=False)]
    if note:  # wrapped: the title is as wide as the axes, not the figure
        lines += [part for line in note.splitlines()
                  for part in textwrap.wrap(line, 95, subsequent_indent="    ")]
    ax.set_title("Fit to the targets (dot: model median; line: model 90% band)\n"
                 + "\n".join(lines), fontsize=9)
    handles = [Line2D([], [], marker="o", color=colours[i % len(colours)], lw=1.2,
                      label=s or "run") for i, s in enumerate(scenarios)]
    handles.append(Line2D([], [], marker="o", color="0.55", markerfacecolor="white", lw=1.2,
                          label="reported only (by construction or not fitted)"))
    # below the axes, where it hides no row
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=7)
    return fig
