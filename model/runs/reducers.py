"""Reducers: what a worker sends back instead of a run's rows.

A :class:`model.runs.batch.RunSpec` with ``reducer="model.runs.reducers:national_series"``
(or any ``package.module:function`` of the same form, or a callable) has the worker call
``reducer(rows, model)`` on the run's ``year, metric, group, value`` frame and the finished
model, and return only the result: a calibration of 10^5 runs then moves a few hundred
numbers per run instead of a thousand rows.

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"year": [2012, 2013, 2012], "metric": ["births", "births", "births"],
...                      "group": ["all", "all", "region=Almaty"], "value": [5.0, 6.0, 1.0]})
>>> national_series(rows, None)
{'births': {2012: 5.0, 2013: 6.0}}
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["national_series"]


def national_series(rows: pd.DataFrame, model: Any = None) -> dict[str, dict[int, float]]:
    """Every metric of the whole country (group ``all``) by year, as plain numbers.

    Parameters
    ----------
    rows : pandas.DataFrame
        A run's ``year, metric, group, value`` frame.
    model : object, optional
        The finished model (not used).

    Returns
    -------
    dict
        ``{metric: {year: value}}``.
    """
    sel = rows[rows["group"] == "all"]
    out: dict[str, dict[int, float]] = {}
    for metric, year, value in zip(sel["metric"], sel["year"], sel["value"], strict=True):
        out.setdefault(str(metric), {})[int(year)] = float(value)
    return out
