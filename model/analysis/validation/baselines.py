"""Naive forecasts from an official series up to an origin year.

Three baselines, each a set of predictive quantiles (:data:`~.scoring.LEVELS`) for the
years ``origin + 1 .. last``, made only from the series' values in years ``<= origin``:

* ``persistence``: the last value; a random walk, so the interval widens like ``sqrt(h)``:
  ``sd_h = s * sqrt(h)`` with ``s`` the root mean square of the yearly changes.
* ``drift``: the last value plus ``h`` times the mean yearly change (the line from the
  first to the last value); ``sd_h = s * sqrt(h * (1 + h / n))`` with ``s`` the standard
  deviation of the ``n`` yearly changes (Hyndman and Athanasopoulos, *Forecasting:
  principles and practice*, 3rd ed., section 5.5). With a single change ``s`` is undefined
  and the persistence ``s`` is used.
* ``arima``: ``statsmodels`` ARIMA chosen by AICc among a few small orders with a drift
  term (:data:`ARIMA_ORDERS`), its Gaussian prediction intervals giving the quantiles; only
  with at least :data:`ARIMA_MIN_YEARS` years of history (shorter series: no forecast).

The intervals of persistence and drift are normal (``median +- z * sd_h``).

History (:func:`official_history`): the file ``model/data/kz/kz_external_migration_annual_
2000_2018.csv`` (copied from the shared data with its sources). The net migration balance
is official for every year 2000-2018, so its baselines use 2000..origin. Registered
emigrants are known only for 2000, 2004, 2005 and 2013-2018 (2012 as a full year is
missing); the early points are rounded or derived and from another regime (155,700 in
2000), so emigrant baselines use the unbroken run 2013..origin (:data:`HISTORY_START`).

Examples
--------
>>> y = pd.Series([10.0, 12.0, 14.0], index=[2013, 2014, 2015])
>>> persistence(y, 2015, 2017)["q50"].tolist()
[14.0, 14.0]
>>> drift(y, 2015, 2017)["q50"].tolist()
[16.0, 18.0]
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from model.analysis.validation.scoring import LEVELS, QUANTILE_COLUMNS

__all__ = ["FORECASTERS", "HISTORY_START", "ARIMA_ORDERS", "ARIMA_MIN_YEARS", "SERIES",
           "official_history", "persistence", "drift", "arima", "naive_forecasts",
           "history_path"]

FORECASTERS = ("persistence", "drift", "arima")
"""Names of the naive forecasters, in the order of :func:`naive_forecasts`."""

SERIES = {"new_emigrants": "emigrants", "net_migration": "net_migration_balance_official"}
"""Metric scored -> column of the history file."""

HISTORY_START = {"new_emigrants": 2013, "net_migration": 2000}
"""First year of history each metric's baselines use (see the module notes)."""

ARIMA_ORDERS = ((0, 1, 0), (1, 1, 0), (0, 1, 1))
"""Orders (p, d, q) tried, each with a drift term; the lowest AICc is used."""

ARIMA_MIN_YEARS = 5
"""Fewest years of history for an ARIMA forecast (fewer: the fit is degenerate)."""

_Z = norm.ppf(np.array(LEVELS))


def history_path() -> Path:
    """The history file shipped with the model data.

    Examples
    --------
    >>> history_path().name
    'kz_external_migration_annual_2000_2018.csv'
    """
    return Path(__file__).resolve().parents[2] / "data" / "kz" / \
        "kz_external_migration_annual_2000_2018.csv"


def official_history(metric: str, origin: int, path: str | Path | None = None) -> pd.Series:
    """The official series of ``metric`` from :data:`HISTORY_START` to ``origin``.

    Parameters
    ----------
    metric : str
        A key of :data:`SERIES`.
    origin : int
        Last year used (values after it are never read into the result).
    path : str or Path, optional
        Default :func:`history_path`.

    Returns
    -------
    pandas.Series
        Values indexed by year, years without a value dropped.

    Examples
    --------
    >>> official_history("new_emigrants", 2014).to_dict()
    {2013: 24384.0, 2014: 29000.0}
    >>> len(official_history("net_migration", 2014))
    15
    """
    df = pd.read_csv(path or history_path())
    years = df["year"].astype(int)
    keep = (years >= HISTORY_START[metric]) & (years <= origin)
    s = pd.Series(df.loc[keep, SERIES[metric]].to_numpy(float), index=years[keep].to_numpy())
    return s.dropna()


def _frame(origin: int, last: int, median: np.ndarray, sd: np.ndarray) -> pd.DataFrame:
    q = median[:, None] + sd[:, None] * _Z[None, :]
    years = np.arange(origin + 1, last + 1)
    out = pd.DataFrame(q, columns=list(QUANTILE_COLUMNS))
    out.insert(0, "horizon", years - origin)
    out.insert(0, "year", years)
    return out


def _changes(history: pd.Series, origin: int) -> np.ndarray:
    y = history.loc[history.index <= origin].sort_index()
    if len(y) < 2:
        raise ValueError(f"need at least two years of history up to {origin}, got {len(y)}")
    if not np.array_equal(np.diff(y.index.to_numpy()), np.ones(len(y) - 1)):
        raise ValueError("history must be one value per year without gaps")
    return np.diff(y.to_numpy(float))


def persistence(history: pd.Series, origin: int, last: int) -> pd.DataFrame:
    """Persistence of the value of ``origin``, with random-walk intervals.

    Examples
    --------
    >>> y = pd.Series([10.0, 13.0, 9.0], index=[2013, 2014, 2015])
    >>> f = persistence(y, 2015, 2016)     # s = sqrt((3**2 + 4**2) / 2) = 3.536
    >>> round(float(f["q95"].iloc[0] - f["q50"].iloc[0]), 3)   # 1.645 * s
    5.815
    """
    d = _changes(history, origin)
    h = np.arange(1, last - origin + 1, dtype=float)
    s = float(np.sqrt(np.mean(d ** 2)))
    last_value = float(history.loc[origin])
    return _frame(origin, last, np.full(h.size, last_value), s * np.sqrt(h))


def drift(history: pd.Series, origin: int, last: int) -> pd.DataFrame:
    """The last value plus ``h`` times the mean yearly change, with drift intervals.

    Examples
    --------
    >>> y = pd.Series([10.0, 13.0, 14.0], index=[2013, 2014, 2015])
    >>> f = drift(y, 2015, 2016)           # mean change 2, s = std(3, 1) = 1.414, n = 2
    >>> float(f["q50"].iloc[0]), round(float(f["q95"].iloc[0] - 16.0), 3)
    (16.0, 2.849)
    """
    d = _changes(history, origin)
    h = np.arange(1, last - origin + 1, dtype=float)
    n = d.size
    s = float(np.std(d, ddof=1)) if n >= 2 else float(np.sqrt(np.mean(d ** 2)))
    last_value = float(history.loc[origin])
    return _frame(origin, last, last_value + h * d.mean(), s * np.sqrt(h * (1 + h / n)))


def arima(history: pd.Series, origin: int, last: int) -> pd.DataFrame | None:
    """ARIMA with drift chosen by AICc among :data:`ARIMA_ORDERS`; None if too short.

    Examples
    --------
    >>> y = pd.Series([1.0, 2.0, 3.5, 4.0, 5.5, 6.0], index=range(2010, 2016))
    >>> f = arima(y, 2015, 2017)
    >>> list(f["year"]), bool((f["q95"] > f["q05"]).all())
    ([2016, 2017], True)
    >>> arima(y.iloc[:3], 2012, 2014) is None
    True
    """
    from statsmodels.tsa.arima.model import ARIMA  # heavy import, only when used

    y = history.loc[history.index <= origin].sort_index().to_numpy(float)
    _changes(history, origin)
    if y.size < ARIMA_MIN_YEARS:
        return None
    steps = last - origin
    best = None
    for order in ARIMA_ORDERS:
        n_params = 2 + order[0] + order[2]  # drift, variance, AR/MA terms
        if y.size - 1 <= n_params + 1:
            continue
        with warnings.catch_warnings():
            # short series: convergence and "too few observations" warnings are expected;
            # a failed order is simply not chosen
            warnings.simplefilter("ignore")
            try:
                res = ARIMA(y, order=order, trend="t").fit()
            except (ValueError, np.linalg.LinAlgError):
                continue
        if np.isfinite(res.aicc) and (best is None or res.aicc < best.aicc):
            best = res
    if best is None:
        return None
    fc = best.get_forecast(steps=steps)
    median = np.asarray(fc.predicted_mean, dtype=float)
    sd = np.sqrt(np.asarray(fc.var_pred_mean, dtype=float))
    return _frame(origin, last, median, sd)


def naive_forecasts(history: pd.Series, origin: int, last: int) -> pd.DataFrame:
    """Every forecaster's quantiles: ``forecaster, year, horizon, q05 .. q95``.

    Examples
    --------
    >>> y = pd.Series([10.0, 12.0, 14.0], index=[2013, 2014, 2015])
    >>> naive_forecasts(y, 2015, 2016)["forecaster"].tolist()   # too short for ARIMA
    ['persistence', 'drift']
    """
    parts = []
    for name, fn in zip(FORECASTERS, (persistence, drift, arima), strict=True):
        f = fn(history, origin, last)
        if f is not None:
            parts.append(f.assign(forecaster=name))
    out = pd.concat(parts, ignore_index=True)
    return out[["forecaster", "year", "horizon", *QUANTILE_COLUMNS]]
