"""Simulate replicates of a scenario in this process and return the results in memory.

:func:`run_one` is what a batch's worker runs for each spec; :func:`run` is the
in-process path of a single replicate that ``em.run`` and ``emigsim run`` share
(:mod:`model.runs.batches`), with a progress bar over simulated years. Replicate ``r`` of
a run seeded with ``seed`` uses :func:`model.core.rng.replicate_seed` ``(seed, r)``,
recorded in the ``seed`` column.

Examples
--------
>>> res = run(Scenario(scale=4000, end=2013), seed=1, replicates=2)
>>> sorted(res.series["replicate"].unique().tolist())
[1, 2]
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from tqdm.auto import tqdm

from model.core.rng import replicate_seed
from model.scenario import FIRST_YEAR, Scenario, load_scenario
from model.simulation import EmigrationModel

if TYPE_CHECKING:
    from model.runs.results import ResultSet

__all__ = ["run", "run_one"]


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
        progress: bool = False) -> ResultSet:
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
    ResultSet

    Examples
    --------
    >>> res = run(Scenario(scale=4000, end=2012), seed=3)
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
    # Imported here, not at the top: what a worker imports to run is what the code version
    # hashes, and the results layer does not change a run's numbers.
    from model.runs.results import COLUMNS, ResultSet

    series = pd.concat(frames, ignore_index=True)[COLUMNS]
    info.update(replicate_seeds=seeds, runtime_s=round(time.perf_counter() - started, 3))
    return ResultSet(series, info)
