"""One results layer: the tidy table of one run, a batch or a store, and its summaries.

Every reader of results goes through :class:`ResultSet`: ``em.run`` and ``em.compare``
return one, ``emigsim summarize`` loads one from a folder, and the figures of an output
folder are drawn from one. The tidy columns (:data:`COLUMNS`) and the naming of quantile
columns (:func:`quantile_column`) are defined here and nowhere else.

Examples
--------
>>> import pandas as pd
>>> s = pd.DataFrame({"scenario": "a", "replicate": [1, 2], "seed": [5, 6],
...                   "year": 2012, "metric": "births", "group": "all",
...                   "value": [10.0, 14.0]})
>>> ResultSet(s).summary("births")[["year", "mean", "q50", "runs"]].to_dict("records")
[{'year': 2012, 'mean': 12.0, 'q50': 12.0, 'runs': 2}]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["COLUMNS", "DESIGN_COLUMNS", "DEFAULT_QUANTILES", "ResultSet", "Results",
           "ResultsError", "NoRowsError", "quantile_column", "paired_differences"]

COLUMNS = ["scenario", "replicate", "seed", "year", "metric", "group", "value"]
"""Columns of the tidy results table (``series.csv``)."""

DESIGN_COLUMNS = ["scenario", "point", *COLUMNS[1:]]
"""Columns of the tidy table of a design's runs (a sensitivity batch): ``point`` added."""

DEFAULT_QUANTILES = (0.05, 0.5, 0.95)
"""Quantiles across runs reported by default."""

_RUN_KEYS = ("scenario", "point", "replicate")
"""Columns that together name one run of a table (``point`` only in designs)."""


class ResultsError(ValueError):
    """A folder holds no results, or a scenario is not in them."""


class NoRowsError(ResultsError, KeyError):
    """No rows for the metric and group asked for (a KeyError too, as a lookup)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def quantile_column(q: float) -> str:
    """The column name of quantile ``q``: percent with at least two integer digits.

    Examples
    --------
    >>> [quantile_column(q) for q in (0.05, 0.5, 0.95, 0.1, 0.025, 1.0)]
    ['q05', 'q50', 'q95', 'q10', 'q02.5', 'q100']
    """
    text = f"{q * 100:g}"
    return f"q0{text}" if q * 100 < 10 else f"q{text}"


def _quantile_table(grouped: Any, quantiles: Sequence[float]) -> pd.DataFrame:
    return pd.DataFrame({quantile_column(q): grouped.quantile(q) for q in quantiles})


def paired_differences(series: pd.DataFrame, reference: str,
                       quantiles: Sequence[float] = DEFAULT_QUANTILES) -> pd.DataFrame:
    """Each scenario minus the reference, replicate by replicate, summarised by year.

    Replicates share seeds across scenarios (common random numbers), so the difference of
    replicate r isolates the scenario's effect from the draw's.

    Parameters
    ----------
    series : pandas.DataFrame
        Tidy table of several scenarios (:data:`COLUMNS`).
    reference : str
        Name of the scenario to subtract.
    quantiles : sequence of float
        Quantiles of the differences across replicates.

    Returns
    -------
    pandas.DataFrame
        ``scenario, year, metric, group, mean, q05, q50, q95`` of the differences, the
        scenarios in their order of appearance.

    Examples
    --------
    >>> s = pd.DataFrame({"scenario": ["a", "b"], "replicate": [1, 1], "seed": [9, 9],
    ...                   "year": [2012, 2012], "metric": ["births"] * 2,
    ...                   "group": ["all"] * 2, "value": [10.0, 12.5]})
    >>> float(paired_differences(s, "a")["mean"].iloc[0])
    2.5
    """
    keys = ["replicate", "year", "metric", "group"]
    ref = series[series["scenario"] == reference].set_index(keys)["value"]
    others = series[series["scenario"] != reference]
    diff = others.join(ref.rename("ref"), on=keys)
    diff["d"] = diff["value"] - diff["ref"]
    g = diff.groupby(["scenario", "year", "metric", "group"], sort=False)["d"]
    out = g.mean().rename("mean").to_frame()
    for q in quantiles:
        out[quantile_column(q)] = g.quantile(q)
    return out.reset_index()


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _filter(frame: pd.DataFrame, metric: list[str] | None,
            group: list[str] | None) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    if metric is not None:
        keep &= frame["metric"].isin(metric)
    if group is not None:
        keep &= frame["group"].isin(group)
    return frame[keep].reset_index(drop=True)


Reader = Callable[[list[str] | None, list[str] | None], pd.DataFrame]
"""Reads the rows of some metrics and groups (None: all) from where the results live;
its ``columns(names)`` reads only some columns of every row."""


class ResultSet:
    """Results of one run, a batch or a store: the tidy table, summaries, differences.

    Parameters
    ----------
    series : pandas.DataFrame
        Tidy table with (at least) :data:`COLUMNS`; values in persons (shares for
        ``share_`` metrics). A design's runs also have ``point``.
    info : dict, optional
        Facts about the runs: ``n_households`` and ``n_persons`` simulated on 1 January
        2012, ``scale``, ``replicate_seeds``, ``runtime_s``; for a loaded folder its
        ``manifest.json``.

    Examples
    --------
    >>> import model as em
    >>> res = em.run(em.Scenario(scale=4000, end=2012))
    >>> res.summary("births").columns.tolist()[:2]
    ['year', 'mean']
    >>> res.scenarios
    ['baseline']
    """

    def __init__(self, series: pd.DataFrame, info: dict | None = None):
        self._frame: pd.DataFrame | None = series
        self._reader: Reader | None = None
        self.info: dict = dict(info or {})

    # ------------------------------------------------------------------ constructors
    @classmethod
    def _lazy(cls, reader: Reader, info: dict | None = None) -> ResultSet:
        """Results read from disk on demand, only the rows a question needs."""
        rs = cls.__new__(cls)
        rs._frame, rs._reader, rs.info = None, reader, dict(info or {})
        return rs

    @classmethod
    def load(cls, path: str | Path) -> ResultSet:
        """The results in a folder: a single run, a batch output, or a bare store.

        A folder with ``store/`` (a batch of ``emigsim run``, ``compare`` or
        ``sensitivity``, finished or interrupted) and a store folder itself are read
        from the store's shards, every finished run in it, only the rows a question
        needs; a folder with only ``series.csv`` (a single run, or a batch whose store
        was moved) from that file. ``info`` is the folder's ``manifest.json`` (empty
        when there is none, e.g. an interrupted batch).

        Raises
        ------
        ResultsError
            When the folder holds none of these.

        Examples
        --------
        >>> import tempfile
        >>> try:
        ...     ResultSet.load(tempfile.mkdtemp())
        ... except ResultsError as exc:
        ...     print("holds no results" in str(exc))
        True
        """
        path = Path(path)
        store_dir = path if (path / "shards").is_dir() else path / "store"
        manifest = path / "manifest.json"
        info = json.loads(manifest.read_text()) if manifest.is_file() else {}
        if (store_dir / "shards").is_dir():
            return cls._lazy(_StoreReader(store_dir), info)
        if (path / "series.csv").is_file():
            return cls._lazy(_CsvReader(path / "series.csv"), info)
        raise ResultsError(f"{path} holds no results; allowed: an emigsim output folder "
                           "(with store/ or series.csv) or a store/ folder")

    @classmethod
    def from_store(cls, store: Any, run_ids: Sequence[str] | None = None,
                   scenarios: Sequence[str] | None = None, info: dict | None = None, *,
                   labels: dict[str, str] | None = None) -> ResultSet:
        """The runs ``run_ids`` of a :class:`~model.runs.store.ResultStore`, in memory.

        Columns :data:`COLUMNS`; rows in the order of ``scenarios`` (else by name), then
        replicate; a run written twice (two processes on one store) appears once.
        ``labels`` maps run ids to the scenario names to show (a batch's own names: a run
        stored under another name is the same run).

        Examples
        --------
        >>> import tempfile
        >>> from model.runs.store import ResultStore
        >>> st = ResultStore(tempfile.mkdtemp())
        >>> _ = st.write_shard(pd.DataFrame({"run_id": ["r"], "scenario": ["b"],
        ...     "replicate": [1], "seed": [3], "year": [2012], "metric": ["births"],
        ...     "group": ["all"], "value": [1.0], "point": [0]}))
        >>> ResultSet.from_store(st).series.columns.tolist() == COLUMNS
        True
        >>> ResultSet.from_store(st, labels={"r": "renamed"}).scenarios
        ['renamed']
        """
        frame = _read_store(store, None, None, None if run_ids is None else list(run_ids),
                            scenarios, labels)
        return cls(frame[COLUMNS], info)

    # ------------------------------------------------------------------ the table
    @property
    def series(self) -> pd.DataFrame:
        """The tidy table (read in full on first use when loaded from disk)."""
        if self._frame is None:
            assert self._reader is not None
            self._frame = self._reader(None, None)
        return self._frame

    def select(self, metric: str | Sequence[str] | None = None,
               group: str | Sequence[str] | None = None) -> ResultSet:
        """The rows of some metrics and groups only (from disk, only those rows are read).

        Examples
        --------
        >>> s = pd.DataFrame({"scenario": "a", "replicate": 1, "seed": 1, "year": 2012,
        ...                   "metric": ["births", "deaths"], "group": "all",
        ...                   "value": [1.0, 2.0]})
        >>> ResultSet(s).select(metric="deaths").metrics
        ['deaths']
        """
        metrics, groups = _as_list(metric), _as_list(group)
        if self._frame is not None:
            return ResultSet(_filter(self._frame, metrics, groups), self.info)
        assert self._reader is not None
        return ResultSet(self._reader(metrics, groups), self.info)

    def _column_values(self, column: str) -> list:
        if self._frame is None and self._reader is not None and column in ("metric", "group"):
            # a store answers one column without reading the values
            frame = self._reader.columns([column])  # type: ignore[attr-defined]
        else:
            frame = self.series
        return sorted(frame[column].dropna().unique().tolist())

    @property
    def metrics(self) -> list[str]:
        """Metric names in the results, sorted."""
        return self._column_values("metric")

    @property
    def groups(self) -> list[str]:
        """Group labels in the results, sorted."""
        return self._column_values("group")

    @property
    def scenarios(self) -> list[str]:
        """Scenario names in their order in the table."""
        return self.series["scenario"].drop_duplicates().tolist()

    # ------------------------------------------------------------------ summaries
    def _selection(self, metric: str, group: str) -> pd.DataFrame:
        sel = self.select(metric=metric, group=group).series
        if sel.empty:
            raise NoRowsError(f"no rows for metric={metric!r} group={group!r}; metrics: "
                               f"{self.metrics}")
        return sel

    def quantiles(self, metric: str, group: str = "all", by: str = "year",
                  quantiles: Sequence[float] = DEFAULT_QUANTILES) -> pd.DataFrame:
        """Quantiles across runs of ``metric`` for ``group`` by year (and scenario).

        Columns: ``scenario`` (when there are several), ``by``, then one column per
        quantile named by :func:`quantile_column` (``q05``, ``q50``, ``q95``).

        Examples
        --------
        >>> s = pd.DataFrame({"scenario": "a", "replicate": [1, 2, 3], "seed": 1,
        ...                   "year": 2012, "metric": "births", "group": "all",
        ...                   "value": [1.0, 2.0, 9.0]})
        >>> ResultSet(s).quantiles("births", quantiles=(0.5,)).to_dict("records")
        [{'year': 2012, 'q50': 2.0}]
        """
        sel = self._selection(metric, group)
        g = sel.groupby(self._keys(sel, by))["value"]
        return _quantile_table(g, quantiles).reset_index()

    def summary(self, metric: str, group: str = "all", by: str = "year",
                quantiles: Sequence[float] = DEFAULT_QUANTILES) -> pd.DataFrame:
        """Mean and quantiles across runs of ``metric`` for ``group`` by year.

        Parameters
        ----------
        metric : str
            A metric name, e.g. ``"new_emigrants"``.
        group : str
            A group label, e.g. ``"all"`` or ``"region=Karaganda"``.
        by : str
            Column to summarise by (``"year"``; with several scenarios they are kept apart).
        quantiles : sequence of float
            Quantiles to report.

        Returns
        -------
        pandas.DataFrame
            ``scenario`` (when there are several), ``by``, ``mean``, the quantile columns
            (:func:`quantile_column`) and ``runs`` (how many runs have a value).

        Raises
        ------
        NoRowsError
            When there are no rows for ``metric`` and ``group``.
        """
        sel = self._selection(metric, group)
        g = sel.groupby(self._keys(sel, by))["value"]
        out = g.mean().rename("mean").to_frame()
        out = out.join(_quantile_table(g, quantiles))
        out["runs"] = g.size()
        return out.reset_index()

    @staticmethod
    def _keys(sel: pd.DataFrame, by: str) -> list[str]:
        return ["scenario", by] if sel["scenario"].nunique() > 1 else [by]

    def n_runs(self) -> int:
        """How many runs the table holds.

        Examples
        --------
        >>> s = pd.DataFrame({"scenario": ["a", "a", "b"], "replicate": [1, 2, 1],
        ...                   "seed": 1, "year": 2012, "metric": "births",
        ...                   "group": "all", "value": 1.0})
        >>> ResultSet(s).n_runs()
        3
        """
        s = self.series
        keys = [k for k in _RUN_KEYS if k in s.columns]
        return int(len(s[keys].drop_duplicates()))

    def paired_differences(self, reference: str | None = None,
                           quantiles: Sequence[float] = DEFAULT_QUANTILES) -> pd.DataFrame:
        """Each scenario minus ``reference`` (default: the first), replicate by replicate.

        See :func:`paired_differences`; this is what ``differences.csv`` of
        ``emigsim compare`` holds.

        Examples
        --------
        >>> s = pd.DataFrame({"scenario": ["a", "a", "b", "b"], "replicate": [1, 2, 1, 2],
        ...                   "seed": [1, 2, 1, 2], "year": 2012, "metric": "births",
        ...                   "group": "all", "value": [10.0, 20.0, 11.0, 23.0]})
        >>> float(ResultSet(s).paired_differences()["mean"].iloc[0])
        2.0
        """
        series = self.series
        ref = self.scenarios[0] if reference is None else reference
        if ref not in set(series["scenario"]):
            raise ResultsError(f"reference scenario {ref!r} is not in the results; "
                               f"scenarios: {self.scenarios}")
        return paired_differences(series, ref, quantiles)

    def __repr__(self) -> str:
        where = "in memory" if self._frame is not None else "on disk"
        return f"ResultSet({where}, info keys {sorted(self.info)})"


Results = ResultSet
"""The former name of :class:`ResultSet`."""


# ---------------------------------------------------------------------- readers
def _read_store(store: Any, metric: list[str] | None, group: list[str] | None,
                run_id: list[str] | None, scenarios: Sequence[str] | None = None,
                labels: dict[str, str] | None = None) -> pd.DataFrame:
    filters: dict[str, Any] = {}
    if metric is not None:
        filters["metric"] = metric
    if group is not None:
        filters["group"] = group
    if run_id is not None:
        filters["run_id"] = run_id
    rows = store.load(columns=["run_id", "scenario", "point", "replicate", "seed", "year",
                               "metric", "group", "value"], **filters)
    # A run written twice (two processes on one store) must appear once.
    rows = rows.drop_duplicates(subset=["run_id", "year", "metric", "group"])
    if labels is not None:
        rows["scenario"] = rows["run_id"].map(labels)
    names = list(scenarios) if scenarios is not None else sorted(rows["scenario"].unique())
    order = {name: i for i, name in enumerate(names)}
    rows = rows.assign(_order=rows["scenario"].map(order))
    rows = rows.sort_values(["_order", "point", "replicate"], kind="stable")
    rows = rows.reset_index(drop=True)
    # a design's runs keep their point; runs without a design have the tidy columns only
    return rows[DESIGN_COLUMNS if rows["point"].nunique() > 1 else COLUMNS]


class _StoreReader:
    """Reads a store's shards, only the rows and columns asked for."""

    def __init__(self, path: Path):
        self.path = path

    def _store(self) -> Any:
        from model.runs.store import ResultStore

        return ResultStore(self.path)

    def __call__(self, metric: list[str] | None, group: list[str] | None) -> pd.DataFrame:
        return _read_store(self._store(), metric, group, None)

    def columns(self, columns: list[str]) -> pd.DataFrame:
        return self._store().load(columns=columns)


class _CsvReader:
    """Reads ``series.csv`` (whole: a CSV has no index to read parts of)."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, metric: list[str] | None, group: list[str] | None) -> pd.DataFrame:
        return _filter(pd.read_csv(self.path), metric, group)

    def columns(self, columns: list[str]) -> pd.DataFrame:
        return pd.read_csv(self.path, usecols=columns)

