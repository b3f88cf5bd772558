"""Global sensitivity analysis of emigsim with SALib: batch, indices, noise, figures.

The path of an experiment (:mod:`model.analysis.experiment`) through this module:

1. the design comes from :mod:`model.analysis.design`: SALib samples the **unit cube**
   (:func:`~model.analysis.design.design_matrix`), each column goes through the
   parameter's prior (:func:`~model.analysis.design.sample`) and
   :func:`~model.analysis.design.experiment_specs` turns the points into runs
   (``replicates`` per point, each with its own seed);
2. :func:`run_experiment` executes them into a resumable
   :class:`~model.runs.store.ResultStore` (finished runs are skipped on a re-run);
3. :func:`~model.analysis.outcomes.outcome_table` (:mod:`model.analysis.outcomes`) reads
   only the rows of the outcome metrics back from the store and computes one row per run;
   :func:`analyse` averages the replicates of each design point and runs the SALib
   analyser on every outcome (per year for ``per_year`` outcomes: SALib has no
   time-varying analysis, so each year is analysed on its own). The analysers work on the
   unit-cube design, so the indices rank the parameters over their priors;
4. :func:`noise_shares` measures how much of the outcome's variance is replicate noise;
   indices smaller than about that share cannot be told apart from noise.

Seeds: SALib's analysers test ``if seed:``, so a seed of 0 silently means "unseeded"; and
some of them reseed NumPy's global generator.
:func:`~model.analysis.design.salib_seed` therefore derives a non-zero seed per purpose
from the experiment's seed, and the analysers run with the global NumPy state saved and
restored.

Examples
--------
>>> import math
>>> from model.analysis.experiment import Experiment, Outcome, VariedParam
>>> from model.scenario import Scenario
>>> xs = tuple(VariedParam(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3))
>>> exp = Experiment("ishigami", "", Scenario(), "sobol", 64, 1, 1, xs,
...                  (Outcome("y", "y", year=0),), model="ishigami")
>>> ix = analyse(exp, pd.DataFrame({"point": range(exp.n_points), "y": [
...     math.sin(p["x1"]) + 7 * math.sin(p["x2"]) ** 2 for p in sample(exp)]}))
>>> sorted(ix["index"].unique())[:2]
['S1', 'S1_conf']
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from model.analysis.design import design_matrix, experiment_specs, salib_seed, sample, unit_problem
from model.analysis.experiment import FAST_M, Experiment
from model.analysis.outcomes import column_year, outcome_table, point_means
from model.runs.batch import RunSpec
from model.runs.execution import BatchReport, Executor, execute
from model.runs.outputs import (
    check_output_folder,
    claim_output_folder,
    commit_outputs,
    mark_unfinished,
    run_figures,
    staged,
    write_csv_atomic,
    write_manifest,
    write_series_csv,
)
from model.runs.results import COLUMNS
from model.runs.sizing import BatchEstimate, plan_batch
from model.runs.store import ResultStore, StoreConflictError, open_store

__all__ = ["analyse", "noise_shares", "MAIN_INDEX", "run_experiment", "ExperimentResult",
           "summary_text", "index_figure", "index_by_year_figure",
           # moved to model.runs.store and model.runs.outputs; importable here as before
           "open_store", "StoreConflictError", "write_series_csv"]

MAIN_INDEX = {"sobol": "ST", "morris": "mu_star", "fast": "ST", "delta": "delta",
              "pawn": "median"}
"""The index used to rank parameters, per method."""
_CONF = {"S1": "S1_conf", "ST": "ST_conf", "mu_star": "mu_star_conf", "delta": "delta_conf",
         "S2": "S2_conf"}
_VARIANCE_BASED = ("sobol", "fast", "delta")
_RUN_METRICS = ("new_emigrants", "net_migration", "population", "new_labour_migrants",
                "new_students_abroad", "n_labour_abroad", "n_students_abroad")
"""Metrics of the standard run figures (:func:`model.runs.plots.write_run_figures`)."""




def _relock(store: ResultStore, path: Path) -> ResultStore:
    """A fresh store object on the cleared folder that keeps the lock already held."""
    fresh = ResultStore(path)
    fresh._lock_fd, store._lock_fd = store._lock_fd, None
    return fresh


def _one_blas_thread():
    """Limit BLAS to one thread when threadpoolctl is installed (a no-op otherwise).

    SALib's delta runs thousands of kernel-density estimates on tiny arrays; a
    multi-threaded BLAS spends far longer waking its threads than computing, above all on
    a busy machine (measured: 2 s with one thread, 30 s with two busy cores).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


@contextmanager
def _quiet_salib() -> Iterator[None]:
    """Keep SALib's side effects inside: global NumPy seed, warning filters, formatter."""
    # SALib's delta, fast and pawn reseed the legacy global generator; undo that.
    state = np.random.get_state()  # noqa: NPY002
    formatter = warnings.formatwarning
    # record=True: SALib's delta resets the warning filters inside; recording into a
    # list that is thrown away keeps its bin notices out of the user's console anyway.
    with warnings.catch_warnings(record=True), _one_blas_thread():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            np.random.set_state(state)  # noqa: NPY002
            warnings.formatwarning = formatter


def _analyse_column(exp: Experiment, X: np.ndarray | None, y: np.ndarray) -> dict:
    """Indices of one outcome column: ``{index: array over parameters}`` (+ ``S2``)."""
    from SALib.analyze import delta, fast, morris, pawn, sobol

    unit = unit_problem(exp)
    seed = salib_seed(exp.seed, "analyse")
    d = len(exp.parameters)
    constant = float(np.ptp(y)) == 0.0
    if constant and exp.method in _VARIANCE_BASED:
        # Variance-based indices divide by the output variance: none exist.
        keys = {"sobol": ["S1", "S1_conf", "ST", "ST_conf"], "fast": ["S1", "S1_conf", "ST",
                "ST_conf"], "delta": ["delta", "delta_conf", "S1", "S1_conf"]}[exp.method]
        return {k: np.full(d, np.nan) for k in keys}
    with _quiet_salib():
        if exp.method == "sobol":
            r = sobol.analyze(unit, y, calc_second_order=exp.second_order, seed=seed)
            out = {k: np.asarray(r[k]) for k in ("S1", "S1_conf", "ST", "ST_conf")}
            if exp.second_order:
                out["S2"], out["S2_conf"] = np.asarray(r["S2"]), np.asarray(r["S2_conf"])
            return out
        if exp.method == "morris":
            r = morris.analyze(unit, X, y, num_levels=exp.levels, seed=seed)
            return {k: np.asarray(r[k], dtype=float)
                    for k in ("mu", "mu_star", "mu_star_conf", "sigma")}
        if exp.method == "fast":
            r = fast.analyze(unit, y, M=FAST_M, seed=seed)
            return {k: np.asarray(r[k]) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        if exp.method == "delta":
            r = delta.analyze(unit, X, y, seed=seed)
            # "raw": the classic given-data estimator on the design as sampled.
            return {"delta": np.asarray(r["delta_raw"]),
                    "delta_conf": np.asarray(r["delta_raw_conf"]),
                    "S1": np.asarray(r["S1"]), "S1_conf": np.asarray(r["S1_conf"])}
        r = pawn.analyze(unit, X, y, seed=seed)
        return {k: np.asarray(r[k]) for k in ("minimum", "mean", "median", "maximum", "CV",
                                              "stdev")}


def analyse(exp: Experiment, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Sensitivity indices of every outcome as a tidy table.

    The replicates of each design point are averaged first (the analysers need one value
    per point, in design order). Per-year outcomes are analysed year by year.

    Parameters
    ----------
    exp : Experiment
        The experiment (its design is recomputed, deterministically).
    outcomes : pandas.DataFrame
        :func:`~model.analysis.outcomes.outcome_table` of the finished batch.

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome, year, parameter, index, value``; ``year`` is NaN for scalar
        outcomes. Indices by method: sobol ``S1, S1_conf, ST, ST_conf`` and ``S2, S2_conf``
        (parameter ``"a:b"``); morris ``mu, mu_star, mu_star_conf, sigma`` (elementary
        effects per whole range of the parameter, in outcome units); fast ``S1, S1_conf,
        ST, ST_conf`` (FAST confidence intervals are indicative only, SALib issue 649);
        delta ``delta, delta_conf, S1, S1_conf``; pawn ``minimum, mean, median, maximum,
        CV, stdev`` of the KS statistic over slices. ``_conf`` values are half-widths of
        95% bootstrap intervals. Variance-based indices of an outcome that does not vary
        are NaN.

    Raises
    ------
    ValueError
        When a design point has no value for some outcome (incomplete batch).

    Examples
    --------
    >>> import numpy as np
    >>> from model.analysis.experiment import Experiment, Outcome, VariedParam
    >>> from model.scenario import Scenario
    >>> exp = Experiment("lin", "", Scenario(), "sobol", 256, 1, 1,
    ...                  (VariedParam("a", 0, 1), VariedParam("b", 0, 1)),
    ...                  (Outcome("y", "y", year=0),), second_order=False)
    >>> X = design_matrix(exp)
    >>> table = pd.DataFrame({"point": range(len(X)), "y": 4 * X[:, 0] + X[:, 1]})
    >>> ix = analyse(exp, table).set_index(["parameter", "index"])["value"]
    >>> round(float(ix["a", "ST"]), 1), round(float(ix["b", "ST"]), 1)
    (0.9, 0.1)
    """
    means = point_means(exp, outcomes)
    X = design_matrix(exp) if exp.method in ("morris", "delta", "pawn") else None
    names = [p.name for p in exp.parameters]
    rows: list[tuple] = []
    for o in exp.outcomes:
        for col in o.columns(exp.window):
            year = column_year(col)
            res = _analyse_column(exp, X, means[col].to_numpy(dtype=float))
            for key, arr in res.items():
                if key in ("S2", "S2_conf"):
                    for i in range(len(names)):
                        for j in range(i + 1, len(names)):
                            rows.append((o.name, year, f"{names[i]}:{names[j]}", key,
                                         float(arr[i, j])))
                    continue
                rows.extend((o.name, year, name, key, float(v))
                            for name, v in zip(names, arr, strict=True))
    return pd.DataFrame(rows, columns=["outcome", "year", "parameter", "index", "value"])


def noise_shares(exp: Experiment, outcomes: pd.DataFrame) -> pd.DataFrame:
    """How much of each outcome's variance is replicate noise.

    ``noise_share`` is the mean variance between the replicates of a design point divided
    by the variance over all runs: the share of a single run's variation that no
    parameter explains. ``noise_share_of_means`` is the same for the replicate means the
    indices are computed from (within-point variance / replicates, over the variance of
    the means). A first-order or total index smaller than about that share cannot be told
    apart from noise. Both are NaN with one replicate (noise cannot be measured).

    Examples
    --------
    >>> from model.analysis.experiment import Experiment, Outcome, VariedParam
    >>> from model.scenario import Scenario
    >>> exp = Experiment("t", "", Scenario(), "delta", 20, 2, 1, (VariedParam("a", 0, 1),),
    ...                  (Outcome("y", "y", year=0),))
    >>> t = pd.DataFrame({"point": [0, 0, 1, 1], "y": [1.0, 1.2, 3.0, 3.2]})
    >>> round(float(noise_shares(exp, t)["noise_share"].iloc[0]), 3)
    0.015
    """
    rows = []
    for o in exp.outcomes:
        for col in o.columns(exp.window):
            g = outcomes.groupby("point")[col]
            total = float(outcomes[col].var(ddof=1))
            var_means = float(g.mean().var(ddof=1))
            within = float(g.var(ddof=1).mean()) if exp.replicates > 1 else math.nan
            share = within / total if total > 0 else math.nan
            share_means = (within / exp.replicates) / var_means if var_means > 0 else math.nan
            rows.append({"outcome": o.name, "year": column_year(col),
                         "replicates": exp.replicates, "within_var": within,
                         "total_var": total, "noise_share": share,
                         "noise_share_of_means": share_means})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- figures
def _noise_of(noise: pd.DataFrame | None, outcome: str, year: float = math.nan,
              column: str = "noise_share_of_means") -> float:
    if noise is None or noise.empty:
        return math.nan
    sel = noise[(noise["outcome"] == outcome)
                & (noise["year"].isna() if math.isnan(year) else noise["year"] == year)]
    return float(sel[column].iloc[0]) if len(sel) else math.nan


def _xerr(values: np.ndarray, conf: np.ndarray | None, nonneg: bool) -> np.ndarray | None:
    """Error bars from half-widths; a non-negative index's bar never dips below 0."""
    if conf is None:
        return None
    lower = np.minimum(conf, np.maximum(values, 0.0)) if nonneg else conf
    return np.vstack([lower, conf])


def index_figure(exp: Experiment, indices: pd.DataFrame, outcome: str,
                 noise: pd.DataFrame | None = None):
    """Horizontal bars of one scalar outcome's indices, sorted, with confidence intervals.

    Sobol and FAST show S1 and ST; delta shows delta and S1; Morris shows mu* (and a
    mu*-sigma panel: high sigma means interactions or non-linearity); PAWN shows the
    median KS statistic with its range over slices. For variance-based methods a dashed
    line marks the noise share of the analysed means.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from model.analysis.experiment import Experiment, Outcome, VariedParam
    >>> from model.scenario import Scenario
    >>> exp = Experiment("t", "", Scenario(), "sobol", 2, 1, 1, (VariedParam("a", 0, 1),),
    ...                  (Outcome("y", "y", year=0),))
    >>> ix = pd.DataFrame({"outcome": "y", "year": float("nan"), "parameter": "a",
    ...                    "index": ["S1", "S1_conf", "ST", "ST_conf"],
    ...                    "value": [0.5, 0.1, 0.6, 0.1]})
    >>> len(index_figure(exp, ix, "y").axes)
    1
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter, MaxNLocator

    sel = indices[(indices["outcome"] == outcome) & indices["year"].isna()]
    wide = sel.pivot_table(index="parameter", columns="index", values="value", dropna=False)
    wide = wide.reindex([p.name for p in exp.parameters])
    main = MAIN_INDEX[exp.method]
    order = wide[main].fillna(-np.inf).sort_values(ascending=True).index.tolist()
    wide = wide.loc[order]
    height = 1.6 + 0.32 * len(order)
    morris = exp.method == "morris"
    fig = Figure(figsize=(12.0 if morris else 8.0, min(max(height, 3.0), 18.0)),
                 layout="constrained")
    axes = fig.subplots(1, 2, width_ratios=[3, 2]) if morris else [fig.subplots()]
    ax = axes[0]
    y = np.arange(len(order), dtype=float)
    if exp.method in ("sobol", "fast", "delta"):
        pairs = [("S1", "first order S1"), ("ST", "total ST")] if exp.method != "delta" \
            else [("delta", "delta"), ("S1", "first order S1")]
        for k, (key, label) in enumerate(pairs):
            off = (0.2 if k == 0 else -0.2)
            conf = wide.get(_CONF[key])
            values = wide[key].to_numpy()
            ax.barh(y + off, values, height=0.38, label=label,
                    color=("#9ecae1", "#08519c")[k] if exp.method != "delta"
                    else ("#08519c", "#9ecae1")[k],
                    xerr=_xerr(values, None if conf is None else conf.to_numpy(),
                               key == "delta"),
                    error_kw={"ecolor": "0.3", "elinewidth": 0.8, "capsize": 2})
        share = _noise_of(noise, outcome)
        if np.isfinite(share):
            ax.axvline(share, color="0.4", linestyle="--", linewidth=1.0,
                       label=f"noise share of means ({share:.2f})")
        ax.set_xlabel("sensitivity index (share of output variance)")
    elif morris:
        mu_star = wide["mu_star"].to_numpy()
        ax.barh(y, mu_star, height=0.6, color="#08519c",
                xerr=_xerr(mu_star, wide["mu_star_conf"].to_numpy(), True),
                error_kw={"ecolor": "0.3", "elinewidth": 0.8, "capsize": 2}, label="mu*")
        ax.set_xlabel("mu* (mean |elementary effect| over the parameter's whole range)")
        scatter = axes[1]
        scatter.scatter(wide["mu_star"], wide["sigma"], color="#08519c", s=18)
        top = wide["mu_star"].fillna(0).sort_values(ascending=False).index[:8]
        for name in top:
            scatter.annotate(name, (wide.loc[name, "mu_star"], wide.loc[name, "sigma"]),
                             fontsize=7, xytext=(3, 3), textcoords="offset points")
        lim = float(np.nanmax([wide["mu_star"].max(), wide["sigma"].max(), 1e-12]))
        scatter.plot([0, lim], [0, lim], color="0.6", linestyle=":", linewidth=0.8)
        scatter.set_xlabel("mu*")
        scatter.set_ylabel("sigma (interactions / non-linearity)")
        scatter.set_title("mu* against sigma", fontsize=10)
        scatter.grid(True, alpha=0.3, linewidth=0.6)
        # Effects are in persons: engineering notation (200k) keeps the ticks apart.
        for axis in (ax.xaxis, scatter.xaxis, scatter.yaxis):
            axis.set_major_formatter(EngFormatter(sep=""))
            axis.set_major_locator(MaxNLocator(5))
    else:
        med = wide["median"].to_numpy()
        err = np.vstack([med - wide["minimum"].to_numpy(), wide["maximum"].to_numpy() - med])
        ax.barh(y, med, height=0.6, color="#08519c", xerr=err, label="median (range)",
                error_kw={"ecolor": "0.3", "elinewidth": 0.8, "capsize": 2})
        ax.set_xlabel("PAWN index (KS statistic between conditional and full output)")
    ax.set_yticks(y, order)
    ax.grid(True, axis="x", alpha=0.3, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.set_title(f"{outcome}: {exp.method} indices ({exp.n_points} points x "
                 f"{exp.replicates} replicate{'s' if exp.replicates > 1 else ''})",
                 fontsize=11)
    return fig


def index_by_year_figure(exp: Experiment, indices: pd.DataFrame, outcome: str,
                         noise: pd.DataFrame | None = None, top: int = 8):
    """Lines of the main index (ST, mu*, delta or PAWN median) over the years.

    The ``top`` parameters by their largest yearly index are coloured (the first three
    with their confidence band); the others are thin grey lines. Variance-based methods
    also show the noise share of the analysed means (dashed).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from model.analysis.experiment import Experiment, Outcome, VariedParam
    >>> from model.scenario import Scenario
    >>> exp = Experiment("t", "", Scenario(), "morris", 2, 1, 1, (VariedParam("a", 0, 1),),
    ...                  (Outcome("y", "y", per_year=True),))
    >>> ix = pd.DataFrame({"outcome": "y", "year": [2012.0, 2013.0], "parameter": "a",
    ...                    "index": "mu_star", "value": [1.0, 2.0]})
    >>> len(index_by_year_figure(exp, ix, "y").axes)
    1
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    main = MAIN_INDEX[exp.method]
    sel = indices[(indices["outcome"] == outcome) & indices["year"].notna()]
    wide = sel[sel["index"] == main].pivot_table(index="year", columns="parameter",
                                                 values="value", dropna=False)
    conf_key = _CONF.get(main)
    conf = sel[sel["index"] == conf_key].pivot_table(
        index="year", columns="parameter", values="value", dropna=False) if conf_key else None
    ranked = wide.max().fillna(-np.inf).sort_values(ascending=False).index.tolist()
    fig = Figure(figsize=(9.0, 5.0), layout="constrained")
    ax = fig.subplots()
    years = wide.index.to_numpy(dtype=float)
    cmap = colormaps["tab10"]
    for name in ranked[top:]:
        ax.plot(years, wide[name].to_numpy(), color="0.75", linewidth=0.8, zorder=1)
    for k, name in enumerate(ranked[:top]):
        values = wide[name].to_numpy()
        ax.plot(years, values, color=cmap(k % 10), linewidth=1.8, marker="o", markersize=3,
                label=name, zorder=3)
        if conf is not None and name in conf and k < 3:  # more bands hide the lines
            c = conf[name].reindex(wide.index).to_numpy()
            low = values - c if main == "ST" else np.maximum(values - c, 0.0)
            ax.fill_between(years, low, values + c, color=cmap(k % 10), alpha=0.12,
                            linewidth=0, zorder=2)
    if exp.method in _VARIANCE_BASED and noise is not None and not noise.empty:
        nz = noise[(noise["outcome"] == outcome) & noise["year"].notna()].sort_values("year")
        if nz["noise_share_of_means"].notna().any():
            ax.plot(nz["year"], nz["noise_share_of_means"], color="0.3", linestyle="--",
                    linewidth=1.2, label="noise share of means", zorder=4)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("year")
    ax.set_ylabel({"ST": "total index ST", "mu_star": "mu*", "delta": "delta",
                   "median": "PAWN median"}[main])
    if main == "mu_star":  # in persons: 200k reads better than 200000
        ax.yaxis.set_major_formatter(EngFormatter(sep=""))
    ax.grid(True, alpha=0.3, linewidth=0.6)
    if len(ranked) > top:
        ax.plot([], [], color="0.75", linewidth=0.8, label=f"{len(ranked) - top} others")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(f"{outcome}: {main} by year ({exp.method})", fontsize=11)
    return fig


# ---------------------------------------------------------------------- the experiment
@dataclass
class ExperimentResult:
    """What :func:`run_experiment` did.

    Attributes
    ----------
    experiment : Experiment
    report : BatchReport
        Runs done, skipped (already in the store), failed, with the errors.
    out_dir : Path
    files : list of Path
        Files written (empty when the batch is incomplete).
    indices, noise, outcomes : pandas.DataFrame or None
        :func:`analyse`, :func:`noise_shares` and
        :func:`~model.analysis.outcomes.outcome_table` (None when the batch is incomplete:
        partial designs are never analysed).
    """

    experiment: Experiment
    report: BatchReport
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    indices: pd.DataFrame | None = None
    noise: pd.DataFrame | None = None
    outcomes: pd.DataFrame | None = None

    @property
    def complete(self) -> bool:
        """True when every run finished and the outputs were written."""
        return self.report.complete and self.indices is not None


def run_experiment(exp: Experiment, out_dir: str | Path, *, workers: int | None = None,
                   scheduler: str | None = None, progress: bool = True, fresh: bool = False,
                   store_dir: str | Path | None = None,
                   argv: Sequence[str] | None = None, accept_long: bool = False,
                   on_start: Callable[[BatchEstimate], None] | None = None
                   ) -> ExperimentResult:
    """Run an experiment's batch (resuming), then analyse it and write every output.

    Parameters
    ----------
    exp : Experiment
        From :func:`model.analysis.experiment.load_experiment` (or built in Python).
    out_dir : str or Path
        Output folder. Written: ``design.csv`` (before the runs), then, once every run
        finished: ``outcomes.csv`` (one row per run), ``indices.csv``, ``noise.csv``,
        ``series.csv`` (every row of every run, streamed from the store), ``figures/``
        (``indices_<outcome>.png``, ``indices_<outcome>_by_year.png`` for per-year
        outcomes, and the standard run figures over all runs) and, last,
        ``manifest.json``.
    workers, scheduler : optional
        As :func:`model.runs.execution.execute` (``workers=0``: in this process).
    progress : bool
        Progress bar.
    fresh : bool
        Start a new store instead of resuming: the old one is moved aside and deleted
        only once the new outputs are in place.
    store_dir : str or Path, optional
        Store folder (default ``out_dir / "store"``); pointing it at another experiment's
        store reuses its runs when the designs share them (e.g. ``method = "delta"`` with
        ``sampling = "sobol"`` over a Sobol experiment's store).
    argv : sequence of str, optional
        Command line for the manifest (default ``sys.argv``).
    accept_long : bool
        Start a batch estimated to take longer than
        :func:`~model.runs.sizing.long_batch_hours` anyway.
    on_start : callable, optional
        Called with the batch's :class:`~model.runs.sizing.BatchEstimate` once the
        scheduler answered and the batch fits, before anything is written.

    Returns
    -------
    ExperimentResult
        When some runs failed, ``report.errors`` lists them and nothing is analysed;
        running again retries them (finished runs are kept).

    Raises
    ------
    StoreConflictError
        When the store holds only runs of other batches (before anything is written).
    model.runs.scheduler.SchedulerError, model.runs.sizing.BatchSizeError
        Before the design is sampled or anything is written: the scheduler cannot be used,
        or the batch does not fit this machine or cluster (or takes too long).
    model.runs.execution.BatchInterrupted
        On Ctrl-C during the batch (the finished runs stay in the store).

    Examples
    --------
    >>> import tempfile, math
    >>> from model.analysis.experiment import Experiment, Outcome, VariedParam
    >>> from model.scenario import Scenario
    >>> xs = tuple(VariedParam(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3))
    >>> exp = Experiment("ishigami", "", Scenario(), "morris", 4, 1, 1, xs,
    ...                  (Outcome("y", "y", year=0),), model="ishigami")
    >>> res = run_experiment(exp, tempfile.mkdtemp(), workers=0, progress=False)
    >>> res.complete, sorted(res.indices["index"].unique())
    (True, ['mu', 'mu_star', 'mu_star_conf', 'sigma'])
    """
    out = Path(out_dir)
    check_output_folder(out, kind="sensitivity")
    started = datetime.now(UTC)
    example = RunSpec("estimate", exp.scenario, 1, 1, model=exp.model)
    with Executor(workers, scheduler, progress=False) as ex:
        # sized from the design's formula, before SALib samples it or a spec is built
        est = plan_batch(ex, example, exp.n_runs, Path(store_dir) if store_dir else out,
                         kind="design", keep_table=False, accept_long=accept_long)
        if on_start is not None:
            on_start(est)
        specs = experiment_specs(exp)
        ids = [s.run_id for s in specs]
        batch = {"kind": "sensitivity", "experiment": exp.resolved(), "runs": len(specs),
                 "created": started.isoformat()}
        in_out = store_dir is None
        folders = ["store"] if in_out else []

        def claim_aside(aside: Path) -> None:
            if in_out:  # listed in the folder's marker before the old store moves there
                claim_output_folder(out, "sensitivity", folders=[*folders, aside.name])

        store = open_store(out / "store" if in_out else Path(store_dir), specs, fresh=fresh,
                           batch=batch, on_aside=claim_aside)
        claim_output_folder(out, "sensitivity", files=["design.csv"], folders=folders)
        # A folder with manifest.json is a finished output; this one is being redone.
        mark_unfinished(out)
        design = pd.DataFrame(sample(exp)).rename_axis("point").reset_index()
        write_csv_atomic(design, out / "design.csv")
        report = execute(specs, store, executor=ex, progress=progress, label=exp.name)
    result = ExperimentResult(exp, report, out)
    if not report.complete:
        return result

    table = outcome_table(store, exp, specs)
    result.outcomes = table
    result.indices = analyse(exp, table)
    result.noise = noise_shares(exp, table)
    with staged(out) as tmp:
        table.to_csv(tmp / "outcomes.csv", index=False)
        result.indices.to_csv(tmp / "indices.csv", index=False)
        result.noise.to_csv(tmp / "noise.csv", index=False)
        files = ["design.csv", "outcomes.csv", "indices.csv", "noise.csv"]
        (tmp / "figures").mkdir()
        files += [f"figures/{Path(f).name}"
                  for f in _write_figures(exp, result, store, ids, tmp / "figures")]
        if exp.model == "emigsim":
            n_rows = write_series_csv(store, ids, tmp / "series.csv")
            files.append("series.csv")
        else:
            n_rows = None
        write_manifest(
            tmp, exp.scenario, {"scale": exp.scenario.scale},
            list(sys.argv) if argv is None else list(argv), started, datetime.now(UTC),
            seed=exp.seed,
            extra={"kind": "sensitivity", "experiment": exp.resolved(),
                   "replicates": exp.replicates,
                   "run_seeds": "replicate r (1-based) of every design point uses "
                                "model.core.rng.replicate_seed(seed, r - 1) (common random "
                                "numbers); every run's seed is in outcomes.csv",
                   "salib_seeds": {"design": salib_seed(exp.seed, "design"),
                                   "analyse": salib_seed(exp.seed, "analyse")},
                   "batch": {"total": report.total, "done": report.done,
                             "skipped": report.skipped, "failed": report.failed},
                   "store": str(store.path), "series_rows": n_rows, "files": files})
        commit_outputs(out, tmp, "sensitivity", [*files[1:], "manifest.json"],
                       kept=["design.csv"], folders=folders,
                       discard=[store.replaced] if store.replaced else [])
    result.files = [*(out / f for f in files), out / "manifest.json"]
    return result


def _write_figures(exp: Experiment, result: ExperimentResult, store: ResultStore,
                   ids: list[str], folder: Path) -> list[Path]:
    written = []
    for o in exp.outcomes:
        if o.per_year:
            fig = index_by_year_figure(exp, result.indices, o.name, result.noise)
            name = f"indices_{o.name}_by_year.png"
        else:
            fig = index_figure(exp, result.indices, o.name, result.noise)
            name = f"indices_{o.name}.png"
        fig.savefig(folder / name, dpi=120)
        written.append(folder / name)
    if exp.model == "emigsim":
        rows = store.load(columns=["run_id", *COLUMNS], metric=list(_RUN_METRICS),
                          group="all", run_id=ids)
        # Each run of the design counts as one "replicate": the bands show the spread of
        # the outcome over the whole design (parameters and seeds together).
        number = {rid: k + 1 for k, rid in enumerate(ids)}
        rows["replicate"] = rows["run_id"].map(number).astype("int64")
        written += run_figures(rows.drop(columns="run_id"), folder)
    return written


def summary_text(result: ExperimentResult, top: int = 5) -> str:
    """A short printable summary: the most influential parameters per scalar outcome.

    Examples
    --------
    >>> import tempfile, math
    >>> from model.analysis.experiment import Experiment, Outcome, VariedParam
    >>> from model.scenario import Scenario
    >>> xs = tuple(VariedParam(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3))
    >>> exp = Experiment("ishigami", "", Scenario(), "morris", 4, 1, 1, xs,
    ...                  (Outcome("y", "y", year=0),), model="ishigami")
    >>> res = run_experiment(exp, tempfile.mkdtemp(), workers=0, progress=False)
    >>> print(summary_text(res).splitlines()[0])
    ishigami: morris, 16 design points x 1 replicate = 16 runs, all finished
    """
    exp, rep = result.experiment, result.report
    lines = [f"{exp.name}: {exp.method}, {exp.n_points} design points x {exp.replicates} "
             f"replicate{'s' if exp.replicates > 1 else ''} = {exp.n_runs} runs, "
             + ("all finished" if rep.complete else f"{rep.failed} failed")]
    if result.indices is None:
        return "\n".join(lines)
    main = MAIN_INDEX[exp.method]
    conf = _CONF.get(main)
    ix = result.indices
    for o in exp.outcomes:
        sel = ix[(ix["outcome"] == o.name)]
        year = math.nan
        if o.per_year:
            # The last year stands for the series; the by-year figure shows the rest.
            year = float(exp.window[1])
            sel = sel[sel["year"] == year]
        wide = sel.pivot_table(index="parameter", columns="index", values="value",
                               dropna=False)
        if main not in wide:
            continue
        best = wide[main].dropna().sort_values(ascending=False).index[:top]
        share = _noise_of(result.noise, o.name, year)
        single = _noise_of(result.noise, o.name, year, "noise_share")
        where = f" in {int(year)}" if o.per_year else ""
        noise = (f"noise share {share:.3f} of the means analysed, {single:.3f} of single runs"
                 if np.isfinite(share) else "noise not measured (1 replicate)")
        parts = [f"{p} {wide.loc[p, main]:.3g}"
                 + (f" ± {wide.loc[p, conf]:.2g}" if conf in wide and
                    np.isfinite(wide.loc[p, conf]) else "") for p in best]
        lines.append(f"  {o.name}{where} [{main}; {noise}]: " + ", ".join(parts))
    if exp.method in _VARIANCE_BASED and exp.replicates > 1:
        lines.append("  Indices smaller than about the noise share (of the replicate means "
                     "analysed; noise.csv) are not distinguishable from replicate noise.")
    elif exp.replicates > 1:
        lines.append("  noise.csv gives each outcome's replicate noise share; effects within "
                     "the noise are not distinguishable from it.")
    return "\n".join(lines)
