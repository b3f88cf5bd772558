"""Yearly tallies of persons by group, collected into the tidy long table.

Every person metric is tallied for the same families of groups: ``all``, age band,
education, region and ethnicity (and destination for emigrants), so that any breakdown a
user asks for exists for every metric. Counts are of simulated persons; the table scales
them to real persons.

Examples
--------
>>> rec = Recorder()
>>> rec.groups[:4]
['all', 'age=0-15', 'age=16-62', 'age=63+']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model import datasets
from model.demography import AGE_BANDS

__all__ = ["Recorder", "EDU_LEVELS", "DESTINATIONS", "METRICS"]

EDU_LEVELS = ("basic", "secondary", "higher")
DESTINATIONS = ("CIS", "non-CIS")
METRICS = ("population", "births", "deaths", "new_emigrants", "new_immigrants",
           "net_migration", "new_labour_migrants", "n_labour_abroad", "new_students_abroad",
           "n_students_abroad", "new_returnees", "share_intending")
"""Metrics written for every year (``population`` is the stock on 1 January)."""

_AGE_EDGES = np.array([b[0] for b in AGE_BANDS[1:]])
_BAND_STARTS = np.array([b[0] for b in AGE_BANDS])


def _age_label(lo: int, hi: int) -> str:
    return f"age={lo}+" if hi >= 200 else f"age={lo}-{hi}"


class Recorder:
    """Collects ``(year, metric, group) -> value`` rows during a run.

    Examples
    --------
    >>> rec = Recorder()
    >>> rec.put(2012, "births", np.ones(len(rec.groups)))
    >>> rec.frame(scale=10.0)["value"].iloc[0]
    10.0
    """

    def __init__(self) -> None:
        self.groups = (["all"] + [_age_label(lo, hi) for lo, hi in AGE_BANDS]
                       + [f"edu={e}" for e in EDU_LEVELS]
                       + [f"region={r}" for r in datasets.REGIONS]
                       + [f"ethnicity={g}" for g in datasets.ETHNIC_GROUPS])
        self._offsets = np.cumsum([0, 1, len(AGE_BANDS), len(EDU_LEVELS),
                                   len(datasets.REGIONS)])
        self._rows: list[tuple[int, str, np.ndarray, list[str], bool]] = []

    def tally(self, age: np.ndarray, edu: np.ndarray, region: np.ndarray,
              ethnicity: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Counts (or weighted sums) of the given persons in every group.

        Parameters
        ----------
        age, edu, region, ethnicity : ndarray
            Attributes of the persons to count (region and ethnicity of their households).
        weights : ndarray, optional
            Weight of each person (default 1).

        Examples
        --------
        >>> rec = Recorder()
        >>> t = rec.tally(np.array([5, 40]), np.array([0, 2]), np.array([0, 0]),
        ...               np.array([1, 1]))
        >>> float(t[0]), float(t[rec.groups.index("age=16-62")])
        (2.0, 1.0)
        """
        by_age = np.bincount(age, weights, minlength=_AGE_EDGES[-1] + 1)
        parts = [np.array([by_age.sum()]), np.add.reduceat(by_age, _BAND_STARTS),
                 np.bincount(edu, weights, minlength=len(EDU_LEVELS)),
                 np.bincount(region, weights, minlength=len(datasets.REGIONS)),
                 np.bincount(ethnicity, weights, minlength=len(datasets.ETHNIC_GROUPS))]
        return np.concatenate(parts).astype(np.float64)

    def put(self, year: int, metric: str, values: np.ndarray, groups: list[str] | None = None,
            share: bool = False) -> None:
        """Store one metric's values for ``year`` (``groups`` defaults to :attr:`groups`)."""
        self._rows.append((year, metric, np.asarray(values, dtype=np.float64),
                           self.groups if groups is None else groups, share))

    def frame(self, scale: float) -> pd.DataFrame:
        """The tidy table ``year, metric, group, value``; counts scaled to real persons."""
        years, metrics, groups, values = [], [], [], []
        for year, metric, vals, grp, share in self._rows:
            years.append(np.full(len(vals), year))
            metrics.extend([metric] * len(vals))
            groups.extend(grp)
            values.append(vals if share else vals * scale)
        if not values:
            return pd.DataFrame(columns=["year", "metric", "group", "value"])
        return pd.DataFrame({"year": np.concatenate(years).astype(np.int64), "metric": metrics,
                             "group": groups, "value": np.concatenate(values)})
