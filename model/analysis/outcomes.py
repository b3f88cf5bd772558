"""Outcome extraction: from the tidy rows of finished runs to one value per run and outcome.

One job: read the rows of a result store that an experiment's outcomes need (and only
those) and reduce each run to its outcomes (:class:`~model.analysis.experiment.Outcome`:
the value in one year, a sum or mean over years, or one column per year). Sensitivity
analysis averages them per design point; calibration targets and forecast scores are
outcomes of the same kind and reuse :func:`run_values` and :func:`outcome_values`.

Examples
--------
>>> import pandas as pd
>>> from model.analysis.experiment import Outcome
>>> rows = pd.DataFrame({"run_id": ["a", "a", "b", "b"], "year": [2012, 2013] * 2,
...                      "metric": "new_emigrants", "group": "all",
...                      "value": [1.0, 2.0, 3.0, 5.0]})
>>> wide = wide_values(rows)
>>> run_values(wide, ["a", "b"], "new_emigrants", "all", 2013).tolist()
[2.0, 5.0]
>>> outcome_values(wide, ["a", "b"], Outcome("cum", "new_emigrants", years=(2012, 2013)),
...                (2012, 2013))["cum"].tolist()
[3.0, 8.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from model.analysis.design import experiment_specs
from model.analysis.experiment import Experiment, Outcome
from model.runs.batch import RunSpec
from model.runs.store import ResultStore

__all__ = ["wide_values", "run_values", "outcome_values", "outcome_table", "point_means",
           "column_year"]


def wide_values(rows: pd.DataFrame) -> pd.DataFrame:
    """Tidy rows (``run_id, year, metric, group, value``) as one column per run.

    The index is ``(metric, group, year)``. A run written twice (two processes on one
    store) keeps its first value, so that it is never counted twice.

    Examples
    --------
    >>> rows = pd.DataFrame({"run_id": ["a", "a"], "year": [2012, 2012],
    ...                      "metric": "births", "group": "all", "value": [4.0, 9.0]})
    >>> float(wide_values(rows).loc[("births", "all", 2012), "a"])
    4.0
    """
    if not len(rows):
        return pd.DataFrame()
    return rows.groupby(["metric", "group", "year", "run_id"])["value"].first().unstack("run_id")


def run_values(wide: pd.DataFrame, run_ids: Sequence[str], metric: str, group: str,
               year: int) -> np.ndarray:
    """One metric, group and year for every run of ``run_ids`` (NaN where missing).

    ``wide`` is :func:`wide_values` of the runs' rows.

    Examples
    --------
    >>> rows = pd.DataFrame({"run_id": ["a"], "year": [2012], "metric": "births",
    ...                      "group": "all", "value": [4.0]})
    >>> run_values(wide_values(rows), ["a", "b"], "births", "all", 2012).tolist()
    [4.0, nan]
    """
    key = (metric, group, year)
    if key not in wide.index:
        return np.full(len(run_ids), np.nan)
    return wide.loc[key].reindex(list(run_ids)).to_numpy(dtype=float)


def outcome_values(wide: pd.DataFrame, run_ids: Sequence[str], outcome: Outcome,
                   window: tuple[int, int]) -> dict[str, np.ndarray]:
    """The columns of one outcome for every run: ``{column name: values}``.

    A ``years`` outcome sums (or averages) the years without skipping missing ones: a
    missing year makes the outcome missing, not smaller. A ``per_year`` outcome has one
    column per year of ``window`` (``name@year``).

    Examples
    --------
    >>> rows = pd.DataFrame({"run_id": ["a", "a"], "year": [2012, 2013],
    ...                      "metric": "births", "group": "all", "value": [4.0, 6.0]})
    >>> out = outcome_values(wide_values(rows), ["a"], Outcome("b", "births", per_year=True),
    ...                      (2012, 2013))
    >>> {k: v.tolist() for k, v in out.items()}
    {'b@2012': [4.0], 'b@2013': [6.0]}
    """
    o = outcome
    if o.year is not None:
        return {o.name: run_values(wide, run_ids, o.metric, o.group, o.year)}
    if o.years is not None:
        block = np.vstack([run_values(wide, run_ids, o.metric, o.group, y)
                           for y in range(o.years[0], o.years[1] + 1)])
        # No skipna: a missing year must make the outcome missing, not smaller.
        return {o.name: block.sum(axis=0) if o.aggregate == "sum" else block.mean(axis=0)}
    return {col: run_values(wide, run_ids, o.metric, o.group, y)
            for y, col in zip(range(window[0], window[1] + 1), o.columns(window), strict=True)}


def outcome_table(store: ResultStore, exp: Experiment,
                  specs: Sequence[RunSpec] | None = None) -> pd.DataFrame:
    """One row per run with its design values and outcomes.

    Columns: ``run_id, point, replicate, seed``, the varied parameters, then one column
    per outcome (``name@year`` for per-year outcomes).

    Only the rows of the outcomes' metrics and groups, and of this experiment's runs, are
    read from the store, so memory stays small whatever else the store holds. Runs not
    (yet) in the store have NaN outcomes.

    Examples
    --------
    >>> import tempfile
    >>> from model.runs.execution import execute
    >>> from model.analysis.experiment import Experiment, Outcome, VariedParam
    >>> from model.scenario import Scenario
    >>> xs = tuple(VariedParam(f"x{i}", -3.14, 3.14) for i in (1, 2, 3))
    >>> exp = Experiment("i", "", Scenario(), "morris", 2, 1, 1, xs,
    ...                  (Outcome("y", "y", year=0),), model="ishigami")
    >>> st = ResultStore(tempfile.mkdtemp())
    >>> _ = execute(experiment_specs(exp), st, workers=0, progress=False)
    >>> outcome_table(st, exp).columns.tolist()
    ['run_id', 'point', 'replicate', 'seed', 'x1', 'x2', 'x3', 'y']
    """
    specs = experiment_specs(exp) if specs is None else specs
    ids = [s.run_id for s in specs]
    table = pd.DataFrame({"run_id": ids, "point": [s.point for s in specs],
                          "replicate": [s.replicate for s in specs],
                          "seed": [s.seed for s in specs]})
    for p in exp.parameters:
        table[p.name] = [float(s.design[p.name]) for s in specs]
    metrics = sorted({o.metric for o in exp.outcomes})
    groups = sorted({o.group for o in exp.outcomes})
    rows = store.load(columns=["run_id", "year", "metric", "group", "value"],
                      metric=metrics, group=groups, run_id=ids)
    wide = wide_values(rows)
    out: dict[str, np.ndarray] = {}
    for o in exp.outcomes:
        out.update(outcome_values(wide, ids, o, exp.window))
    return pd.concat([table, pd.DataFrame(out, index=table.index)], axis=1)


def column_year(col: str) -> float:
    """The year of a per-year outcome column (``name@year``), NaN for scalar outcomes.

    Examples
    --------
    >>> column_year("emigrants@2015"), column_year("cum")
    (2015.0, nan)
    """
    return float(col.rsplit("@", 1)[1]) if "@" in col else math.nan


def point_means(exp: Experiment, table: pd.DataFrame) -> pd.DataFrame:
    """Outcomes averaged over the replicates of each design point, in design order.

    Raises
    ------
    ValueError
        When a design point has no value for some outcome (an incomplete batch, or a
        metric or group that is not recorded).

    Examples
    --------
    >>> from model.analysis.experiment import VariedParam
    >>> from model.scenario import Scenario
    >>> exp = Experiment("m", "", Scenario(), "morris", 1, 2, 1,
    ...                  (VariedParam("age_peak", 30, 40),), (Outcome("y", "y", year=0),))
    >>> table = pd.DataFrame({"point": [0, 0, 1, 1], "y": [1.0, 3.0, 5.0, 7.0]})
    >>> point_means(exp, table)["y"].tolist()
    [2.0, 6.0]
    """
    cols = exp.outcome_columns()
    means = table.groupby("point")[cols].mean().reindex(range(exp.n_points))
    bad = means.columns[means.isna().any()].tolist()
    if bad:
        n_missing = int(means[bad].isna().any(axis=1).sum())
        raise ValueError(f"{n_missing} of {exp.n_points} design points have no value for "
                         f"{', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}; the design "
                         "is incomplete (finish the batch) or a metric/group is not recorded")
    return means
