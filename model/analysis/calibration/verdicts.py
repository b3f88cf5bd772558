"""The identifiability verdict of a calibrated parameter: one rule, used everywhere.

``r`` is the posterior 90% width over the prior 90% width from the real-data calibration;
``covered_90`` the share of recovery truths (synthetic data, :mod:`.recovery`) inside the
posterior 90% intervals:

* ``identified``: ``r < 0.5`` (the data halve the prior's 90% interval or better) and,
  when there is recovery data, ``covered_90 >= 0.7``;
* ``not identified``: ``r > 0.85`` (the posterior is nearly the prior);
* ``weakly identified``: everything in between, including a narrow posterior whose
  recovery coverage is below 0.7 (narrow but not trustworthy).

Without recovery data (``covered_90`` None or NaN) the verdict comes from ``r`` alone;
the dossier says so ("(no recovery)"). Kept apart from :mod:`.dossier` and
:mod:`.recovery` so both import it without a cycle.

Examples
--------
>>> identifiability(0.3), identifiability(0.7), identifiability(0.9)
('identified', 'weakly identified', 'not identified')
>>> identifiability(0.3, covered_90=0.6), identifiability(0.3, covered_90=0.7)
('weakly identified', 'identified')
"""

from __future__ import annotations

import math

__all__ = ["identifiability", "VERDICTS", "IDENTIFIED_MAX_RATIO", "IDENTIFIED_MIN_COVERAGE",
           "NOT_IDENTIFIED_MIN_RATIO"]

VERDICTS = ("identified", "weakly identified", "not identified")
"""The three verdicts, from best to worst."""

IDENTIFIED_MAX_RATIO = 0.5
"""Largest posterior/prior 90% width ratio of an identified parameter (exclusive)."""

IDENTIFIED_MIN_COVERAGE = 0.7
"""Smallest share of recovery truths inside the 90% interval of an identified parameter."""

NOT_IDENTIFIED_MIN_RATIO = 0.85
"""Width ratios above this: not identified (the data barely narrow the prior)."""


def identifiability(width_ratio: float, covered_90: float | None = None) -> str:
    """The verdict of one parameter (see the module notes for the rule).

    Parameters
    ----------
    width_ratio : float
        Posterior 90% width / prior 90% width (real-data calibration).
    covered_90 : float, optional
        Recovery share of truths inside the 90% intervals; None or NaN: no recovery data,
        the verdict comes from the ratio alone.

    Returns
    -------
    str
        One of :data:`VERDICTS` (``"not identified"`` for a NaN ratio: nothing shows the
        data narrow the prior).

    Examples
    --------
    >>> identifiability(0.5), identifiability(0.85), identifiability(0.851)
    ('weakly identified', 'weakly identified', 'not identified')
    >>> identifiability(0.2, float("nan"))
    'identified'
    """
    r = float(width_ratio)
    if not math.isfinite(r) or r > NOT_IDENTIFIED_MIN_RATIO:
        return "not identified"
    if r < IDENTIFIED_MAX_RATIO:
        no_recovery = covered_90 is None or not math.isfinite(float(covered_90))
        if no_recovery or float(covered_90) >= IDENTIFIED_MIN_COVERAGE:
            return "identified"
    return "weakly identified"
