"""Run a scenario for one or more replicates and return the results in memory.

This is the function every interface wraps (the CLI's ``run``, later batches, the
dashboard). Replicate ``r`` of a run seeded with ``seed`` uses
:func:`model.core.rng.replicate_seed` ``(seed, r)``, recorded in the ``seed`` column.

Examples
--------
>>> import model as em
>>> res = em.run(em.Scenario(scale=4000, end=2013), seed=1, replicates=2)
>>> sorted(res.series["replicate"].unique().tolist())
[1, 2]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from model.core.rng import replicate_seed
from model.scenario import FIRST_YEAR, Scenario, load_scenario
from model.simulation import EmigrationModel

__all__ = ["run", "run_one", "Results", "COLUMNS"]

COLUMNS = ["scenario", "replicate", "seed", "year", "metric", "group", "value"]
"""Columns of the tidy results table."""


@dataclass
class Results:
    """Results of a run: the tidy table and facts about the run.

    Attributes
    ----------
    series : pandas.DataFrame
        Columns :data:`COLUMNS`; values in persons (shares for ``share_`` metrics).
    info : dict
        ``n_households`` and ``n_persons`` simulated on 1 January 2012, ``scale``,
        ``replicate_seeds``, ``runtime_s``.

    Examples
    --------
    >>> import model as em
    >>> res = em.run(em.Scenario(scale=4000, end=2012))
    >>> res.summary("births").columns.tolist()[:2]
    ['year', 'mean']
    """

    series: pd.DataFrame
    info: dict = field(default_factory=dict)

    def summary(self, metric: str, group: str = "all", by: str = "year",
                quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Mean and quantiles across replicates of ``metric`` for ``group`` by year.

        Parameters
        ----------
        metric : str
            A metric name, e.g. ``"new_emigrants"``.
        group : str
            A group label, e.g. ``"all"`` or ``"region=Karaganda"``.
        by : str
            Column to summarise by (``"year"``; with several scenarios they are kept apart).
        quantiles : tuple of float
            Quantiles to report.
        """
        s = self.series
        sel = s[(s["metric"] == metric) & (s["group"] == group)]
        if sel.empty:
            known = sorted(s["metric"].unique())
            raise KeyError(f"no rows for metric={metric!r} group={group!r}; metrics: {known}")
        keys = ["scenario", by] if s["scenario"].nunique() > 1 else [by]
        g = sel.groupby(keys)["value"]
        out = g.mean().rename("mean").to_frame()
        for q in quantiles:
            out[f"q{round(q * 100):02d}"] = g.quantile(q)
        return out.reset_index()


def run_one(scenario: Scenario, seed: int) -> pd.DataFrame:
    """Simulate one replicate; return its ``year, metric, group, value`` table.

    Examples
    --------
    >>> df = run_one(Scenario(scale=4000, end=2012), seed=5)
    >>> {"year", "metric", "group", "value"} <= set(df.columns)
    True
    """
    return _simulate(scenario, seed)[1]


def _simulate(scenario: Scenario, seed: int, bar=None) -> tuple[EmigrationModel, pd.DataFrame]:
    if bar is not None:
        bar.set_postfix_str("building the population", refresh=True)
    model = EmigrationModel(scenario, seed=seed)
    if bar is not None:
        # The set-up (12 s for the full population) is not a simulated year: leave it out of
        # the rate, so the remaining time is estimated from completed years only (tqdm
        # shows "?" until the first year is done).
        bar.set_postfix_str("", refresh=False)
        bar.unpause()
    while model.running:
        model.step()
        if bar is not None:
            bar.update(1)
    model.run_model()  # records the population on 1 January after the last year
    df = model.series()
    return model, df[df["year"] >= scenario.start].reset_index(drop=True)


def run(scenario: Scenario | str | Path = "baseline", *, seed: int = 1, replicates: int = 1,
        progress: bool = False) -> Results:
    """Run ``replicates`` replicates of a scenario.

    Parameters
    ----------
    scenario : Scenario, str or Path
        A scenario, or the path of a scenario file.
    seed : int
        Base seed; replicate seeds derive from it.
    replicates : int
        Number of replicates (at least 1).
    progress : bool
        Show a progress bar over replicates.

    Returns
    -------
    Results

    Examples
    --------
    >>> import model as em
    >>> res = em.run(em.Scenario(scale=4000, end=2012), seed=3)
    >>> int(res.info["n_households"]) > 0
    True
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, not {replicates}")
    started = time.perf_counter()
    seeds = [replicate_seed(seed, r) for r in range(replicates)]
    frames = []
    info: dict = {}
    years = scenario.end - FIRST_YEAR + 1
    # smoothing=0: the rate is the mean over completed years, not dominated by one year
    bar = tqdm(total=replicates * years, desc=f"{scenario.name}: simulated years",
               unit="year", disable=not progress, smoothing=0)
    for r, s in enumerate(seeds):
        model, df = _simulate(scenario, s, bar)
        df.insert(0, "seed", s)
        df.insert(0, "replicate", r + 1)
        df.insert(0, "scenario", scenario.name)
        frames.append(df)
        if r == 0:
            info = {"n_households": model.n_households_start, "n_persons": model.n_persons_start,
                    "scale": scenario.scale}
    bar.close()
    series = pd.concat(frames, ignore_index=True)[COLUMNS]
    info.update(replicate_seeds=seeds, runtime_s=round(time.perf_counter() - started, 3))
    return Results(series=series, info=info)
