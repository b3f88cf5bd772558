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
from model.core.demography import AGE_BANDS

__all__ = ["Recorder", "EDU_LEVELS", "DESTINATIONS", "METRICS"]

EDU_LEVELS = ("basic", "secondary", "higher")
DESTINATIONS = ("CIS", "non-CIS")
METRICS = ("population", "births", "deaths", "new_emigrants", "new_settlers_abroad",
           "new_immigrants", "net_migration", "new_labour_migrants", "n_labour_abroad",
           "new_students_abroad", "n_students_abroad", "new_returnees", "share_intending")
"""Metrics written for every year (``population`` is the stock on 1 January)."""

_AGE_EDGES = np.array([b[0] for b in AGE_BANDS[1:]])
_N_BAND, _N_EDU, _N_ETH = len(AGE_BANDS), 3, len(datasets.ETHNIC_GROUPS)
_N_CELLS = len(datasets.REGIONS) * _N_ETH * _N_BAND * _N_EDU
# age -> band * number of education levels (the age part of the group code)
_BAND_CODE = (np.searchsorted(_AGE_EDGES, np.arange(121), side="right") * _N_EDU).astype(np.int32)


def _group_of_cell() -> np.ndarray:
    """Position in :attr:`Recorder.groups` of every cell, for each family in turn.

    Families in the order of the groups: all, age band, education, region, ethnicity; the
    cell code is ``((region * ethnicities + ethnicity) * bands + band) * levels + edu``.
    """
    region, eth, band, edu = np.unravel_index(np.arange(_N_CELLS),
                                              (len(datasets.REGIONS), _N_ETH, _N_BAND, _N_EDU))
    offsets = np.cumsum([0, 1, _N_BAND, _N_EDU, len(datasets.REGIONS)])
    return np.concatenate([np.zeros(_N_CELLS, np.int64), offsets[1] + band, offsets[2] + edu,
                           offsets[3] + region, offsets[4] + eth])


_GROUP_OF_CELL = _group_of_cell()
_N_GROUPS = 1 + _N_BAND + _N_EDU + len(datasets.REGIONS) + _N_ETH


def _age_label(lo: int, hi: int) -> str:
    return f"age={lo}+" if hi >= 200 else f"age={lo}-{hi}"


class Recorder:
    """Collects ``(year, metric, group) -> value`` rows during a run.

    Examples
    --------
    >>> rec = Recorder()
    >>> rec.put(2012, "births", np.ones(len(rec.groups)))
    >>> float(rec.frame(scale=10.0)["value"].iloc[0])
    10.0
    """

    def __init__(self) -> None:
        self.groups = (["all"] + [_age_label(lo, hi) for lo, hi in AGE_BANDS]
                       + [f"edu={e}" for e in EDU_LEVELS]
                       + [f"region={r}" for r in datasets.REGIONS]
                       + [f"ethnicity={g}" for g in datasets.ETHNIC_GROUPS])
        self._rows: list[tuple[int, str, np.ndarray, list[str], bool]] = []

    OUTSIDE = _N_CELLS
    """Group code of persons to leave out of a tally."""

    @staticmethod
    def base(region: np.ndarray, ethnicity: np.ndarray) -> np.ndarray:
        """Region-and-ethnicity part of the group code (stored per person).

        Examples
        --------
        >>> int(Recorder.base(np.array([1]), np.array([2]))[0])
        90
        """
        return ((region.astype(np.int32) * _N_ETH + ethnicity) * _N_BAND * _N_EDU).astype(np.int32)

    @staticmethod
    def code(base: np.ndarray, age: np.ndarray, edu: np.ndarray) -> np.ndarray:
        """One integer per person naming its (region, ethnicity, age band, education) cell.

        Why: one bincount of this code gives every group family at once, instead of one
        gather and bincount per family.

        Examples
        --------
        >>> int(Recorder.code(np.array([0]), np.array([40]), np.array([2]))[0])
        5
        """
        return base + _BAND_CODE[np.minimum(age, _BAND_CODE.size - 1)] + edu

    BAND_CODE = _BAND_CODE
    """Age part of the group code, by single year of age (0-120)."""

    def tally_cells(self, counts: np.ndarray) -> np.ndarray:
        """Counts in every group from counts per cell code (length ``OUTSIDE + 1``).

        The last entry (code :attr:`OUTSIDE`) is not counted.

        Examples
        --------
        >>> rec = Recorder()
        >>> counts = np.zeros(Recorder.OUTSIDE + 1)
        >>> counts[[5, Recorder.OUTSIDE]] = 2
        >>> float(rec.tally_cells(counts)[0])
        2.0
        """
        # one weighted bincount over (family, cell) pairs: about 5 times faster than five
        # axis sums for this small table (12 calls a year); integer counts add exactly in
        # float64, so the result equals the integer sums
        weights = np.tile(np.asarray(counts, dtype=np.float64)[:_N_CELLS], 5)
        return np.bincount(_GROUP_OF_CELL, weights, minlength=_N_GROUPS)

    def tally_codes(self, codes: np.ndarray) -> np.ndarray:
        """Counts of persons with the given cell codes in every group (see :meth:`code`).

        Codes equal to :attr:`OUTSIDE` are not counted (a way to mask persons without a copy).

        Examples
        --------
        >>> rec = Recorder()
        >>> base = Recorder.base(np.array([0, 3]), np.array([1, 1]))
        >>> t = rec.tally_codes(Recorder.code(base, np.array([5, 40]), np.array([0, 2])))
        >>> float(t[0]), float(t[rec.groups.index("ethnicity=Russian")])
        (2.0, 2.0)
        """
        return self.tally_cells(np.bincount(codes, minlength=_N_CELLS + 1))

    def slice_of(self, prefix: str) -> slice:
        """Positions of the groups starting with ``prefix`` (e.g. ``"region="``).

        Examples
        --------
        >>> s = Recorder().slice_of("region=")
        >>> s.stop - s.start
        16
        """
        idx = [i for i, g in enumerate(self.groups) if g.startswith(prefix)]
        return slice(idx[0], idx[-1] + 1)

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
