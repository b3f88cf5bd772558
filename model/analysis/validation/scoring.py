"""Scores of quantile forecasts against an observed value.

A forecast is given by five predictive quantiles, :data:`LEVELS` (the median and the central
50% and 90% intervals). The scores, smaller is better for ``wis`` and ``ape``:

* ``wis``: the weighted interval score of Bracher et al. (2021), computed with
  ``scoringrules.weighted_interval_score`` with the canonical weights (``alpha / 2`` for the
  interval of level ``1 - alpha``, ``1 / 2`` for the median)::

      WIS = (0.5 |y - m| + sum_k alpha_k / 2 * IS_alpha_k) / (K + 0.5)
      IS_alpha = (u - l) + 2 / alpha * (l - y)  if y < l
                 (u - l)                         if l <= y <= u
                 (u - l) + 2 / alpha * (y - u)   if y > u

  with ``K = 2`` intervals (alpha 0.5 and 0.1); it approximates the CRPS and has the unit of
  the value.
* ``covered_50``, ``covered_90``: 1 when ``y`` lies inside the central 50% (90%) interval,
  bounds included.
* ``ape``: ``|median - y| / |y|``, the absolute percentage error of the median (a fraction:
  0.1 is 10%).

Examples
--------
>>> q = {"q05": 6.0, "q25": 7.0, "q50": 8.0, "q75": 9.0, "q95": 12.0}
>>> s = score(10.0, q)
>>> round(s["wis"], 4), s["covered_50"], s["covered_90"], round(s["ape"], 2)
(1.12, 0, 1, 0.2)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scoringrules as sr

__all__ = ["LEVELS", "QUANTILE_COLUMNS", "ALPHAS", "score", "score_frame", "sample_quantiles",
           "interval_score"]

LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantile levels of a forecast: the median and the central 50% and 90% intervals."""

QUANTILE_COLUMNS = ("q05", "q25", "q50", "q75", "q95")
"""Column names of the quantiles in :data:`LEVELS` order."""

ALPHAS = np.array([0.5, 0.1])
"""``alpha`` of the central intervals scored (50% and 90%): bounds (q25, q75), (q05, q95)."""


def interval_score(obs: float, lower: float, upper: float, alpha: float) -> float:
    """Interval score of one central ``1 - alpha`` interval (``scoringrules``).

    Examples
    --------
    >>> interval_score(10.0, 7.0, 9.0, 0.5)
    6.0
    """
    return float(sr.interval_score(float(obs), float(lower), float(upper), float(alpha),
                                   backend="numpy"))


def score(obs: float, q: Mapping[str, float]) -> dict[str, float]:
    """Score one quantile forecast ``q`` (keys :data:`QUANTILE_COLUMNS`) against ``obs``.

    Returns
    -------
    dict
        ``wis``, ``covered_50``, ``covered_90`` (0 or 1) and ``ape``; all NaN when a
        quantile is missing.

    Examples
    --------
    >>> s = score(5.0, {"q05": 1.0, "q25": 4.0, "q50": 5.0, "q75": 6.0, "q95": 9.0})
    >>> s["wis"], s["covered_50"], s["ape"]
    (0.36, 1, 0.0)
    """
    vals = np.array([float(q[c]) for c in QUANTILE_COLUMNS])
    y = float(obs)
    if np.isnan(vals).any() or np.isnan(y):
        return {"wis": np.nan, "covered_50": np.nan, "covered_90": np.nan, "ape": np.nan}
    q05, q25, q50, q75, q95 = vals
    wis = sr.weighted_interval_score(y, q50, np.array([q25, q05]), np.array([q75, q95]),
                                     ALPHAS, backend="numba")
    # The numba backend: in scoringrules 0.10 the numpy backend's WIS adds w_median * median
    # instead of w_median * |y - median| (tests/test_validation_scoring.py checks the result
    # against the hand-computed formula). Default weights are the canonical alpha/2 and 1/2.
    return {"wis": float(wis), "covered_50": int(q25 <= y <= q75),
            "covered_90": int(q05 <= y <= q95),
            "ape": float(abs(q50 - y) / abs(y)) if y != 0 else np.nan}


def score_frame(forecasts: pd.DataFrame, observed_col: str = "observed") -> pd.DataFrame:
    """Add the scores of :func:`score` to every row of a table of quantile forecasts.

    Examples
    --------
    >>> f = pd.DataFrame({"observed": [10.0], "q05": 6.0, "q25": 7.0, "q50": 8.0,
    ...                   "q75": 9.0, "q95": 12.0})
    >>> round(float(score_frame(f)["wis"].iloc[0]), 4)
    1.12
    """
    rows = [score(r[observed_col], r) for _, r in forecasts.iterrows()]
    scores = pd.DataFrame(rows, index=forecasts.index,
                          columns=["wis", "covered_50", "covered_90", "ape"])
    return pd.concat([forecasts, scores], axis=1)


def sample_quantiles(samples: np.ndarray | pd.Series) -> dict[str, float]:
    """The :data:`LEVELS` quantiles of a predictive sample (linear interpolation).

    Examples
    --------
    >>> sample_quantiles(np.arange(101.0))["q25"]
    25.0
    """
    v = np.asarray(samples, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return dict.fromkeys(QUANTILE_COLUMNS, np.nan)
    return dict(zip(QUANTILE_COLUMNS, np.quantile(v, LEVELS).tolist(), strict=True))
