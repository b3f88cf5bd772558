"""Figures of a run's results: replicate fans, the yearly choices, and splits by group.

Every function reads the tidy long results table (columns ``scenario, replicate, seed,
year, metric, group, value``; values in persons, ``share_*`` metrics as shares 0..1) and
draws on a :class:`matplotlib.axes.Axes`. When no ``ax`` is given a new
:class:`matplotlib.figure.Figure` is made directly (never through ``pyplot``), so nothing is
registered in pyplot's figure manager and the backend of a user's notebook is untouched; the
figure is freed with the returned axes. In a notebook show it with ``ax.figure``.

Bands are quantiles across replicates for each scenario and year: the median line, a dark
band holding the middle 50% of replicates and a light band holding 90% of them.

Examples
--------
>>> import pandas as pd
>>> from model.runs import plots
>>> tidy = pd.DataFrame({"scenario": "baseline", "replicate": [1, 1, 2, 2],
...                      "seed": [11, 11, 12, 12], "year": [2012, 2013, 2012, 2013],
...                      "metric": "new_emigrants", "group": "all",
...                      "value": [24000.0, 26000.0, 25000.0, 27000.0]})
>>> ax = plots.fan(tidy, "new_emigrants")
>>> ax.get_title()
'Registered emigrants per year'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, MaxNLocator, PercentFormatter

__all__ = [
    "METRIC_LABELS", "STOCK_METRICS", "fan", "choices", "by_group", "write_run_figures",
]

COLUMNS = ("scenario", "replicate", "year", "metric", "group", "value")
"""Columns of the tidy table the functions need (``seed`` is carried but not used)."""

METRIC_LABELS: dict[str, str] = {
    "population": "Population",
    "births": "Births per year",
    "deaths": "Deaths per year",
    "new_emigrants": "Registered emigrants per year",
    "new_settlers_abroad": "Settlers abroad per year (unregistered)",
    "new_immigrants": "Immigrants per year",
    "net_migration": "Net migration per year",
    "new_labour_migrants": "New labour migrants per year",
    "n_labour_abroad": "Labour migrants abroad",
    "new_students_abroad": "New students abroad per year",
    "n_students_abroad": "Students abroad",
    "new_returnees": "Returnees per year",
    "share_intending": "Share intending to emigrate",
}
"""Human titles of the metrics; unknown metrics are shown by their name."""

STOCK_METRICS: frozenset[str] = frozenset({"population", "n_labour_abroad", "n_students_abroad"})
"""Metrics that count people present at a moment (stocks), not people moving in a year."""

_CHOICE_FLOWS = (
    ("new_emigrants", "emigrate (permanently)", "#d62728"),
    ("new_settlers_abroad", "stay abroad after work or study", "#9467bd"),
    ("new_labour_migrants", "leave for work abroad", "#1f77b4"),
    ("new_students_abroad", "leave to study abroad", "#2ca02c"),
)
_CHOICE_STOCKS = (
    ("n_labour_abroad", "labour migrants abroad", "#1f77b4"),
    ("n_students_abroad", "students abroad", "#2ca02c"),
)
_OBSERVED_STYLE = {"color": "black", "marker": "o", "markersize": 5, "linestyle": "none",
                   "zorder": 5}
_DPI = 120


# --------------------------------------------------------------------------- helpers


def _check(series: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the missing columns of a tidy table."""
    missing = [c for c in COLUMNS if c not in series.columns]
    if missing:
        raise ValueError(f"results table lacks column(s) {missing}; expected {list(COLUMNS)}")


def _select(series: pd.DataFrame, metric: str, group: str | None = None) -> pd.DataFrame:
    """Rows of one metric (and group, if given) with a value."""
    mask = series["metric"] == metric
    if group is not None:
        mask &= series["group"] == group
    return series.loc[mask & series["value"].notna()]


def _has(series: pd.DataFrame, metric: str, group: str | None = None) -> bool:
    """Whether the table holds any value of ``metric`` (and ``group``)."""
    return not _select(series, metric, group).empty


def _scenarios(series: pd.DataFrame) -> list[str]:
    """Scenario names in order of first appearance."""
    return [str(s) for s in pd.unique(series["scenario"])]


def _colours(names: Sequence[str]) -> dict[str, str]:
    """One colour of the property cycle per name, in order."""
    cycle = rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    return {n: cycle[i % len(cycle)] for i, n in enumerate(names)}


def _is_share(metric: str) -> bool:
    return metric.startswith("share_")


def _is_stock(metric: str) -> bool:
    return metric in STOCK_METRICS or _is_share(metric)


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def _persons_scale(values: np.ndarray) -> tuple[float, str]:
    """Divisor and unit word for persons: millions for large values, thousands otherwise."""
    top = float(np.nanmax(np.abs(values))) if values.size else 0.0
    return (1e6, "millions") if top >= 2e6 else (1e3, "thousands")


class _ScaledFormatter(Formatter):
    """Tick labels of ``value / divisor`` with thousands separators and just enough decimals."""

    def __init__(self, divisor: float):
        self.divisor = divisor
        self._ticks = np.empty(0)

    def set_locs(self, locs: Sequence[float]) -> None:
        """Remember the tick positions, which set the number of decimals."""
        super().set_locs(locs)
        self._ticks = np.unique(np.asarray(locs, dtype=float))

    def _decimals(self) -> int:
        # the fewest decimals that write every tick exactly (16.75 with steps of 0.25
        # needs two, not the one a step of 0.25 suggests)
        locs = self._ticks / self.divisor
        if locs.size == 0:
            return 0
        tol = 1e-9 * max(1.0, float(np.max(np.abs(locs))))
        for decimals in range(7):
            if np.all(np.abs(np.round(locs, decimals) - locs) <= tol):
                return decimals
        return 6

    def __call__(self, x: float, pos: int | None = None) -> str:
        text = f"{x / self.divisor:,.{self._decimals()}f}"
        if text.lstrip("-").strip("0.,") == "":
            text = text.lstrip("-")
        return text.replace("-", "\N{MINUS SIGN}")


def _format_y(ax: Axes, metric: str, values: np.ndarray, *, axis: str = "y") -> None:
    """Tick labels and unit label for a persons or share axis."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    if _is_share(metric):
        target.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        target.set_label_text("share of adults (%)")
        return
    div, unit = _persons_scale(values)
    target.set_major_formatter(_ScaledFormatter(div))
    what = "persons" if _is_stock(metric) else "persons per year"
    target.set_label_text(f"{what} ({unit})")


def _year_axis(ax: Axes) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.grid(True, alpha=0.3, linewidth=0.6)


def _new_axes(ax: Axes | None, figsize: tuple[float, float] = (8.0, 4.8)) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def _band_pairs(quantiles: Sequence[float]) -> tuple[float, list[tuple[float, float]]]:
    """Split quantiles into the median (nearest 0.5) and (low, high) pairs, widest first."""
    qs = sorted(float(q) for q in quantiles)
    if not qs or any(q < 0.0 or q > 1.0 for q in qs):
        raise ValueError(f"quantiles must lie in [0, 1], got {tuple(quantiles)}")
    mid = min(qs, key=lambda q: abs(q - 0.5))
    low = [q for q in qs if q < mid]
    high = [q for q in qs if q > mid][::-1]
    return mid, list(zip(low, high, strict=False))


def _quantiles(df: pd.DataFrame, by: list[str], qs: Sequence[float]) -> pd.DataFrame:
    """Quantiles of ``value`` across replicates for each ``by`` key; columns are the qs."""
    out = df.groupby(by, sort=True)["value"].quantile(list(qs)).unstack(-1)
    out.columns = [float(c) for c in out.columns]
    return out


def _n_replicates(df: pd.DataFrame) -> int:
    if df.empty:
        return 0
    return int(df.groupby("scenario")["replicate"].nunique().max())


def _group_key(label: str) -> tuple[float, str]:
    """Sort key putting ``0-15`` before ``16-62`` before ``63+``; text keeps its order."""
    m = re.match(r"\s*(\d+)", label)
    return (float(m.group(1)) if m else np.inf, "")


def _observed_for(observed: pd.DataFrame | None, metric: str,
                  years: tuple[int, int] | None) -> pd.DataFrame:
    """Observed rows of ``metric`` within the simulated years."""
    if observed is None or observed.empty or "metric" not in observed.columns:
        return pd.DataFrame(columns=["year", "value"])
    obs = observed.loc[(observed["metric"] == metric) & observed["value"].notna()]
    if years is not None:
        obs = obs.loc[obs["year"].between(years[0], years[1])]
    return obs.sort_values("year")


def _observed_label(obs: pd.DataFrame) -> str:
    quality = obs["quality"].astype(str) if "quality" in obs.columns else pd.Series([], dtype=str)
    if len(quality) and quality.str.contains("UIS").all():
        return "observed (UNESCO UIS)"
    return "observed (BNS)"


def _source_note(fig: Figure, series: pd.DataFrame, observed_source: str | None) -> None:
    n_rep = series.groupby("scenario")["replicate"].nunique()
    reps = f"{int(n_rep.min())}" if n_rep.min() == n_rep.max() else f"{n_rep.min()}-{n_rep.max()}"
    note = f"emigsim simulation ({reps} replicate{'s' if n_rep.max() > 1 else ''} per scenario)"
    if observed_source:
        note += f"; observed: {observed_source}"
    fig.text(0.005, 0.003, note, fontsize=7, color="0.35", ha="left", va="bottom")
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):  # keep the note clear of the axes
        bottom = 0.18 / fig.get_figheight()
        engine.set(rect=(0.0, bottom, 1.0, 1.0 - bottom))  # used as left, bottom, width, height


# --------------------------------------------------------------------------- public


def fan(series: pd.DataFrame, metric: str, group: str = "all", ax: Axes | None = None,
        observed: pd.DataFrame | None = None,
        quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> Axes:
    """Median line and replicate bands of one metric over the years, one colour per scenario.

    Parameters
    ----------
    series : pandas.DataFrame
        Tidy results table (``scenario, replicate, seed, year, metric, group, value``).
    metric : str
        Metric to draw, e.g. ``"new_emigrants"``.
    group : str, default ``"all"``
        Group to draw, e.g. ``"age=16-62"``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure (outside pyplot) is made when omitted.
    observed : pandas.DataFrame, optional
        Observed series (``year, metric, value, quality``); rows of ``metric`` inside the
        simulated years are drawn as black markers when ``group == "all"``.
    quantiles : sequence of float
        Quantiles across replicates: the one nearest 0.5 is the line, symmetric pairs around
        it are bands (widest palest). With one replicate only the line is drawn.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        If the table holds no value of ``metric`` for ``group``.

    Examples
    --------
    >>> import pandas as pd
    >>> tidy = pd.DataFrame({"scenario": "baseline", "replicate": [1, 2, 1, 2],
    ...                      "seed": 0, "year": [2012, 2012, 2013, 2013],
    ...                      "metric": "share_intending", "group": "all",
    ...                      "value": [0.10, 0.12, 0.11, 0.13]})
    >>> ax = fan(tidy, "share_intending")
    >>> ax.get_ylabel()
    'share of adults (%)'
    """
    _check(series)
    df = _select(series, metric, group)
    if df.empty:
        raise ValueError(f"no values of metric {metric!r} for group {group!r} in the table")
    ax = _new_axes(ax)
    mid, pairs = _band_pairs(quantiles)
    qs = sorted({mid, *(q for p in pairs for q in p)})
    names = _scenarios(df)
    colours = _colours(names)
    n_rep = _n_replicates(df)
    handles: list[Line2D | Patch] = []
    for name in names:
        part = df.loc[df["scenario"] == name]
        q = _quantiles(part, ["year"], qs)
        years = q.index.to_numpy()
        colour = colours[name]
        if part["replicate"].nunique() > 1:
            for i, (lo, hi) in enumerate(pairs):
                alpha = 0.15 + 0.15 * i
                ax.fill_between(years, q[lo].to_numpy(), q[hi].to_numpy(), color=colour,
                                alpha=alpha, linewidth=0)
        (line,) = ax.plot(years, q[mid].to_numpy(), color=colour, linewidth=2.0,
                          marker="." if len(years) < 15 else None)
        median = f"median of {n_rep} replicates" if n_rep > 1 else "one replicate"
        line.set_label(f"{name} ({median})" if len(names) > 1
                       else f"simulation ({name}): {median}")
        handles.append(line)
    if n_rep > 1:
        # the swatch has the band's own colour when one scenario is drawn; with several,
        # a neutral grey stands for every scenario's band of that width
        swatch = colours[names[0]] if len(names) == 1 else "0.3"
        for i, (lo, hi) in enumerate(pairs):
            handles.append(Patch(color=swatch, alpha=0.15 + 0.15 * i, linewidth=0,
                                 label=f"{round((hi - lo) * 100)}% of replicates"))
    lo_year, hi_year = int(df["year"].min()), int(df["year"].max())
    values = df["value"].to_numpy(dtype=float)
    if group == "all":
        obs = _observed_for(observed, metric, (lo_year, hi_year))
        if not obs.empty:
            (pts,) = ax.plot(obs["year"].to_numpy(), obs["value"].to_numpy(dtype=float),
                             label=_observed_label(obs), **_OBSERVED_STYLE)
            handles.append(pts)
            values = np.concatenate([values, obs["value"].to_numpy(dtype=float)])
    if values.size and np.nanmin(values) < 0.0 < np.nanmax(values):
        ax.axhline(0.0, color="0.4", linewidth=0.8, zorder=1)
    elif not _is_share(metric) and np.nanmin(values) >= 0.0 and metric != "population":
        ax.set_ylim(bottom=0.0)
    _year_axis(ax)
    _format_y(ax, metric, values)
    title = _label(metric)
    if group != "all":
        title += f" — {group.replace('=', ' ')}"
    ax.set_title(title)
    ax.legend(handles=handles, fontsize=8, loc="best", frameon=False)
    return ax


def choices(series: pd.DataFrame, ax: Axes | Sequence[Axes] | None = None,
            scenario: str | None = None,
            quantiles: Sequence[float] = (0.05, 0.5, 0.95)) -> tuple[Axes, Axes]:
    """Draw the choices of each year: leaving flows, the stocks abroad, the share who stay.

    Flows (new emigrants, new labour migrants, new students abroad) are drawn as median
    lines with the replicate band; the stocks abroad (labour migrants, students) in a
    second panel. The fourth choice, staying, is the rest of the population; its share of
    residents is the title of the flows legend (when ``population`` is in the table).

    Parameters
    ----------
    series : pandas.DataFrame
        Tidy results table.
    ax : Axes or pair of Axes, optional
        Two axes (flows, stocks); one axes draws both with stocks dashed; omitted makes a
        new two-panel figure.
    scenario : str, optional
        Scenario to draw; defaults to the first in the table.
    quantiles : sequence of float
        Line (nearest 0.5) and band quantiles across replicates.

    Returns
    -------
    tuple of matplotlib.axes.Axes
        ``(flows_ax, stocks_ax)``; the same axes twice when one was given.

    Raises
    ------
    ValueError
        If the table holds none of the choice metrics, or the scenario is unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [("b", r, 0, y, m, "all", v * r)
    ...         for r in (1, 2) for y in (2012, 2013)
    ...         for m, v in [("new_emigrants", 3e4), ("n_students_abroad", 5e4)]]
    >>> tidy = pd.DataFrame(rows, columns=["scenario", "replicate", "seed", "year",
    ...                                    "metric", "group", "value"])
    >>> flows, stocks = choices(tidy)
    >>> flows.figure.get_suptitle()
    'Choices each year — b'
    """
    _check(series)
    wanted = [m for m, _, _ in _CHOICE_FLOWS + _CHOICE_STOCKS]
    allg = series.loc[(series["group"] == "all") & series["metric"].isin(wanted)
                      & series["value"].notna()]
    if allg.empty:
        raise ValueError(f"none of the choice metrics {wanted} (group 'all') in the table")
    names = _scenarios(series)
    scenario = names[0] if scenario is None else scenario
    if scenario not in names:
        raise ValueError(f"unknown scenario {scenario!r}; the table has {names}")
    part = series.loc[series["scenario"] == scenario]
    own_figure = ax is None
    if ax is None:
        fig = Figure(figsize=(11.0, 4.8), layout="constrained")
        flows_ax, stocks_ax = fig.subplots(1, 2, sharex=True)
        fig.suptitle(f"Choices each year — {scenario}", fontsize=13)
    elif isinstance(ax, Axes):
        flows_ax = stocks_ax = ax
    else:
        flows_ax, stocks_ax = ax
    single = flows_ax is stocks_ax
    mid, pairs = _band_pairs(quantiles)
    qs = sorted({mid, *(q for p in pairs for q in p)})
    lo, hi = pairs[0] if pairs else (mid, mid)

    def draw(target: Axes, metric: str, label: str, colour: str, dashed: bool) -> np.ndarray:
        df = _select(part, metric, "all")
        if df.empty:
            return np.empty(0)
        q = _quantiles(df, ["year"], qs)
        years = q.index.to_numpy()
        if pairs and df["replicate"].nunique() > 1:
            target.fill_between(years, q[lo].to_numpy(), q[hi].to_numpy(), color=colour,
                                alpha=0.12 if dashed else 0.2, linewidth=0)
        target.plot(years, q[mid].to_numpy(), color=colour, linewidth=2.0,
                    linestyle="--" if dashed else "-", label=label,
                    marker="." if len(years) < 15 else None)
        return df["value"].to_numpy(dtype=float)

    flow_values = [draw(flows_ax, m, lab, c, False) for m, lab, c in _CHOICE_FLOWS]
    stock_values = [draw(stocks_ax, m, lab + (" (stock)" if single else ""), c, single)
                    for m, lab, c in _CHOICE_STOCKS]
    stay = _stay_text(part)
    n_rep = int(part["replicate"].nunique())
    flat = [v for v in flow_values + stock_values if v.size]
    if single:
        panels = [(flows_ax, flat, "Choices each year")]
    else:
        panels = [(flows_ax, [v for v in flow_values if v.size], "Leaving in the year (flows)"),
                  (stocks_ax, [v for v in stock_values if v.size],
                   "Abroad at the time (stocks)")]
    for target, vals, title in panels:
        allv = np.concatenate(vals) if vals else np.zeros(1)
        # headroom above the data for the legend in the top of the panel
        headroom = 1.65 if single else 1.45
        target.set_ylim(bottom=0.0, top=max(1.0, float(np.nanmax(allv))) * headroom)
        _year_axis(target)
        _format_y(target, "n_labour_abroad" if target is stocks_ax and not single
                  else "new_emigrants", allv)
        if single:
            target.set_ylabel(target.get_ylabel().replace("persons per year",
                                                          "persons per year or abroad"))
        target.set_title(title, fontsize=11)
        handles, labels = target.get_legend_handles_labels()
        if handles and pairs and n_rep > 1:
            handles.append(Patch(color="0.5", alpha=0.25, linewidth=0))
            # two short lines: one long label would run out of the narrow panel
            labels.append(f"median of {n_rep} replicates,\n"
                          f"band {round((hi - lo) * 100)}% of them")
        if handles:
            # staying, the fourth choice, heads the legend of the flows
            legend_title = stay if target is flows_ax and stay else None
            target.legend(handles, labels, title=legend_title, fontsize=8, title_fontsize=9,
                          loc="upper left", ncols=2, frameon=False, alignment="left")
    if own_figure and not any(v.size for v in stock_values):
        stocks_ax.text(0.5, 0.5, "no stocks abroad in the table", ha="center",
                       transform=stocks_ax.transAxes, color="0.5")
    return flows_ax, stocks_ax


def _stay_text(part: pd.DataFrame) -> str:
    """Describe the share staying each year, from population and the leaving flows."""
    pop = _select(part, "population", "all")
    if pop.empty:
        return ""
    keys = ["replicate", "year"]
    # settlers abroad were abroad already: they left (as migrants or students) earlier
    from_home = [m for m, _, _ in _CHOICE_FLOWS if m != "new_settlers_abroad"]
    leaving = part.loc[part["metric"].isin(from_home)
                       & (part["group"] == "all")].groupby(keys)["value"].sum()
    if leaving.empty:
        return ""
    pop_by = pop.groupby(keys)["value"].sum()
    share = (1.0 - leaving / pop_by).dropna()
    share = share[np.isfinite(share)]
    if share.empty:
        return ""
    lo, hi = 100.0 * float(share.min()), 100.0 * float(share.max())
    span = f"{lo:.1f}%" if round(lo, 1) == round(hi, 1) else f"{lo:.1f}–{hi:.1f}%"
    return f"stay in Kazakhstan: {span} of residents each year"


def by_group(series: pd.DataFrame, metric: str, prefix: str, ax: Axes | None = None,
             kind: str = "bar", scenario: str | None = None) -> Axes:
    """One metric split by the groups starting with ``prefix`` (``"age="``, ``"region="``).

    Parameters
    ----------
    series : pandas.DataFrame
        Tidy results table.
    metric : str
        Metric to split, e.g. ``"new_emigrants"``.
    prefix : str
        Group prefix, e.g. ``"age="``, ``"region="``, ``"edu="``, ``"ethnicity="``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.
    kind : {"bar", "lines", "stacked"}
        ``"bar"``: horizontal bars of the total over the run's years (flows; stocks and
        shares use the last year), median across replicates with 5-95% error bars, sorted
        largest on top, one bar per scenario. ``"lines"``: median per year, one colour per
        group and one line style per scenario. ``"stacked"``: stacked areas of the yearly
        medians for one scenario.
    scenario : str, optional
        Scenario for ``"stacked"`` (default: the first); ignored otherwise.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        If no group of ``metric`` starts with ``prefix`` or ``kind`` is unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [("b", r, 0, y, "new_emigrants", g, v * r)
    ...         for r in (1, 2) for y in (2012, 2013)
    ...         for g, v in [("region=Karaganda", 4e3), ("region=Astana city", 2e3)]]
    >>> tidy = pd.DataFrame(rows, columns=["scenario", "replicate", "seed", "year",
    ...                                    "metric", "group", "value"])
    >>> ax = by_group(tidy, "new_emigrants", "region=")
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Karaganda', 'Astana city']
    """
    _check(series)
    if kind not in ("bar", "lines", "stacked"):
        raise ValueError(f"kind must be 'bar', 'lines' or 'stacked', got {kind!r}")
    df = _select(series, metric)
    df = df.loc[df["group"].astype(str).str.startswith(prefix)]
    if df.empty:
        raise ValueError(f"no groups starting with {prefix!r} for metric {metric!r}")
    df = df.assign(label=df["group"].astype(str).str.slice(len(prefix)))
    names = _scenarios(df)
    colours = _colours(names)
    what = prefix.rstrip("=").replace("_", " ")
    if kind == "bar":
        return _bars(df, metric, names, colours, what, ax)
    labels = [str(g) for g in pd.unique(df["label"])]
    if all(np.isfinite(_group_key(g)[0]) for g in labels):
        labels.sort(key=_group_key)
    group_colours = _colours(labels) if len(labels) <= 10 else {
        g: c for g, c in zip(labels, _tab20(len(labels)), strict=True)}
    ax = _new_axes(ax)
    if kind == "stacked":
        name = names[0] if scenario is None else scenario
        if name not in names:
            raise ValueError(f"unknown scenario {scenario!r}; the table has {names}")
        med = (df.loc[df["scenario"] == name].groupby(["year", "label"])["value"].median()
               .unstack("label").reindex(columns=labels).fillna(0.0).sort_index())
        ax.stackplot(med.index.to_numpy(), med.to_numpy().T, labels=labels,
                     colors=[group_colours[g] for g in labels], alpha=0.85)
        values = med.sum(axis=1).to_numpy()
        suffix = f" ({name})" if len(names) > 1 else ""
    else:
        styles = ["-", "--", ":", "-."]
        for i, name in enumerate(names):
            part = df.loc[df["scenario"] == name]
            med = part.groupby(["year", "label"])["value"].median().unstack("label")
            for g in labels:
                if g not in med.columns:
                    continue
                ax.plot(med.index.to_numpy(), med[g].to_numpy(), color=group_colours[g],
                        linestyle=styles[i % len(styles)], linewidth=1.8,
                        label=g if len(names) == 1 else f"{g} — {name}")
        values = df.groupby(["scenario", "year", "label"])["value"].median().to_numpy()
        suffix = ""
    if not _is_share(metric):
        ax.set_ylim(bottom=min(0.0, float(np.nanmin(values))))
    _year_axis(ax)
    _format_y(ax, metric, values)
    ax.set_title(f"{_label(metric)} by {what}{suffix}")
    handles, names_ = ax.get_legend_handles_labels()
    if kind == "stacked":  # top of the stack first, as drawn
        handles, names_ = handles[::-1], names_[::-1]
    ax.legend(handles, names_, title=f"{what} (median of replicates)", fontsize=8,
              title_fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def _tab20(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


def _bars(df: pd.DataFrame, metric: str, names: list[str], colours: dict[str, str],
          what: str, ax: Axes | None) -> Axes:
    """Horizontal bars of the per-replicate total (or last-year value) by group."""
    first, last = int(df["year"].min()), int(df["year"].max())
    if _is_stock(metric):
        per_rep = (df.loc[df["year"] == last]
                   .groupby(["scenario", "replicate", "label"])["value"].sum())
        period = f"in {last}"
    else:
        per_rep = df.groupby(["scenario", "replicate", "label"])["value"].sum()
        period = f"total {first}–{last}" if first != last else f"in {first}"
    stats = per_rep.groupby(["scenario", "label"]).quantile([0.05, 0.5, 0.95]).unstack(-1)
    stats.columns = [float(c) for c in stats.columns]
    order = stats.loc[names[0]][0.5].sort_values(ascending=False).index.tolist()
    for name in names[1:]:
        order += [g for g in stats.loc[name].index if g not in order]
    n_groups, n_scen = len(order), len(names)
    if ax is None:
        height = 1.6 + 0.28 * n_groups * max(1.0, 0.7 * n_scen)
        ax = _new_axes(None, figsize=(8.0, min(max(height, 3.0), 16.0)))
    width = 0.8 / n_scen
    ypos = np.arange(n_groups, dtype=float)
    many = int(df.groupby("scenario")["replicate"].nunique().max()) > 1
    for i, name in enumerate(names):
        s = stats.loc[name].reindex(order)
        offset = (i - (n_scen - 1) / 2.0) * width
        med = s[0.5].to_numpy()
        err = np.vstack([med - s[0.05].to_numpy(), s[0.95].to_numpy() - med])
        ax.barh(ypos + offset, med, height=width * 0.92, color=colours[name],
                label=name, xerr=err if many else None,
                error_kw={"ecolor": "0.25", "elinewidth": 0.9, "capsize": 2.0})
    ax.set_yticks(ypos, order)
    ax.invert_yaxis()
    ax.grid(True, axis="x", alpha=0.3, linewidth=0.6)
    ax.set_axisbelow(True)
    _format_y(ax, metric, stats.to_numpy(dtype=float), axis="x")
    unit = ax.get_xlabel().replace(" per year", "")
    ax.set_xlabel(f"{unit}, {period}")
    ax.set_title(f"{_label(metric).replace(' per year', '')} by {what}, {period}")
    if n_scen > 1 or many:
        handles, labels = ax.get_legend_handles_labels()
        if many:
            handles.append(Line2D([], [], color="0.25", linewidth=0.9, marker="|"))
            labels.append("5–95% of replicates")
        ax.legend(handles, labels, fontsize=8, frameon=False, loc="lower right")
    return ax


def write_run_figures(series: pd.DataFrame, outdir: str | Path,
                      observed: pd.DataFrame | None = None) -> list[Path]:
    """Write the standard PNG figures of a run into ``outdir`` (created if missing).

    Files: ``emigrants.png`` (fan of ``new_emigrants`` with observed), ``net_migration.png``
    (fan with observed), ``choices.png`` (one row per scenario), ``emigrants_by_age.png``
    (stacked areas for one scenario, lines for several), ``emigrants_by_region.png``
    (sorted bars of the run's total) and ``population.png``. A figure whose metric or
    groups are absent from the table is skipped.

    Parameters
    ----------
    series : pandas.DataFrame
        Tidy results table.
    outdir : str or pathlib.Path
        Directory for the PNGs.
    observed : pandas.DataFrame, optional
        Observed series (``year, metric, value, quality``), e.g.
        :func:`model.datasets.observed`.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order above.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> tidy = pd.DataFrame({"scenario": "b", "replicate": 1, "seed": 0,
    ...                      "year": [2012, 2013], "metric": "population", "group": "all",
    ...                      "value": [16.7e6, 16.9e6]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in write_run_figures(tidy, tmp)]
    ['population.png']
    """
    _check(series)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    n_scen = len(_scenarios(series))

    def save(fig: Figure, name: str, observed_source: str | None = None) -> None:
        _source_note(fig, series, observed_source)
        path = out / name
        fig.savefig(path, dpi=_DPI)
        fig.clear()
        written.append(path)

    def obs_source(metric: str) -> str | None:
        if observed is None or series.empty:
            return None
        years = (int(series["year"].min()), int(series["year"].max()))
        obs = _observed_for(observed, metric, years)
        return _observed_label(obs)[len("observed ("):-1] if not obs.empty else None

    for metric, name in (("new_emigrants", "emigrants.png"),
                         ("net_migration", "net_migration.png")):
        if _has(series, metric, "all"):
            ax = fan(series, metric, observed=observed)
            save(ax.figure, name, obs_source(metric))

    if any(_has(series, m, "all") for m, _, _ in _CHOICE_FLOWS + _CHOICE_STOCKS):
        fig = Figure(figsize=(11.0, 1.0 + 3.8 * n_scen), layout="constrained")
        grid = fig.subplots(n_scen, 2, sharex=True, squeeze=False)
        for row, name in enumerate(_scenarios(series)):
            flows_ax, stocks_ax = choices(series, ax=(grid[row, 0], grid[row, 1]),
                                          scenario=name)
            if n_scen > 1:
                flows_ax.set_title(f"{name}: {flows_ax.get_title().lower()}", fontsize=11)
                stocks_ax.set_title(f"{name}: {stocks_ax.get_title().lower()}", fontsize=11)
        for col in range(2):  # one y scale per column so scenarios compare by eye
            top = max(a.get_ylim()[1] for a in grid[:, col])
            for a in grid[:, col]:
                a.set_ylim(0.0, top)
                if a is not grid[-1, col]:
                    a.set_xlabel("")
        fig.suptitle("Choices each year" + (f" — {_scenarios(series)[0]}" if n_scen == 1
                                            else ""), fontsize=13)
        save(fig, "choices.png")

    for prefix, name, kind in (
        ("age=", "emigrants_by_age.png", "stacked" if n_scen == 1 else "lines"),
        ("region=", "emigrants_by_region.png", "bar"),
    ):
        groups = _select(series, "new_emigrants")["group"].astype(str)
        if groups.str.startswith(prefix).any():
            ax = by_group(series, "new_emigrants", prefix, kind=kind)
            save(ax.figure, name)

    if _has(series, "population", "all"):
        ax = fan(series, "population", observed=observed)
        save(ax.figure, "population.png", obs_source("population"))
    return written
