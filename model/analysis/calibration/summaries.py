"""The summary statistics a calibration compares: each target's model value in one run.

:func:`target_values` is the reducer a worker applies to a finished run (its ``year,
metric, group, value`` rows), so only the targets' numbers travel back; it computes them
with :func:`model.analysis.fit.model_values`, exactly as the fit report does.
:func:`simulate_summaries` is the same in this process, for one parameter set and seed
(the averaged replicates of a particle use the seeds of :func:`particle_seeds`).

Examples
--------
>>> import pandas as pd
>>> from model.analysis.targets import Target
>>> t = (Target("e", 2013, "new_emigrants", "all", "count", 100.0, "persons",
...             "full_year", "normal_abs", 10.0),)
>>> rows = pd.DataFrame({"year": [2013], "metric": ["new_emigrants"], "group": ["all"],
...                      "value": [90.0]})
>>> target_values(rows, None, targets=t)
{'e': 90.0}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from model.analysis.fit import model_values
from model.analysis.targets import Target, Targets

if TYPE_CHECKING:
    from model.analysis.calibration.study import Study

__all__ = ["target_values", "reducer_for", "simulate_summaries", "particle_seed"]


def target_values(rows: pd.DataFrame, model=None, *, targets: Sequence[Target]
                  ) -> dict[str, float]:
    """Reducer: ``{target_id: model value}`` of one run (NaN where the run has none).

    Parameters
    ----------
    rows : pandas.DataFrame
        The run's ``year, metric, group, value`` frame.
    model : object, optional
        The finished model (not used).
    targets : sequence of Target
        The targets to compute.
    """
    table = Targets({t.target_id: t for t in targets})
    values = model_values(rows, table)
    got = dict(zip(values["target_id"], values["value"].astype(float), strict=True))
    return {t.target_id: float(got.get(t.target_id, np.nan)) for t in targets}


def reducer_for(targets: Targets | Sequence[Target]):
    """The picklable reducer that computes ``targets`` on a worker.

    Examples
    --------
    >>> from model.analysis.targets import load_targets
    >>> r = reducer_for([load_targets()["new_emigrants.count.all.2013"]])
    >>> r.func.__name__
    'target_values'
    """
    rows = tuple(targets.values()) if isinstance(targets, Mapping) else tuple(targets)
    return partial(target_values, targets=rows)


def particle_seed(seed: int, generation: int, index: int, replicate: int = 0) -> int:
    """The model seed of replicate ``replicate`` of evaluation ``index`` of a generation.

    A pure function of its arguments (``generation`` -1 is pyABC's calibration sample), so
    a calibration's runs do not depend on the worker count or the order runs finish in.

    Examples
    --------
    >>> a = particle_seed(1, 0, 5)
    >>> a == particle_seed(1, 0, 5), a == particle_seed(1, 0, 6)
    (True, False)
    """
    ss = np.random.SeedSequence([int(seed), int(generation) + 10, int(index), int(replicate)])
    return int(ss.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)


def simulate_summaries(study: Study, params: Mapping[str, float], seed: int,
                       target_ids: Sequence[str] | None = None) -> pd.Series:
    """The summaries the ABC compares, for one parameter set and one seed, in this process.

    Parameters
    ----------
    study : Study
        Gives the scenario, window, scale and targets.
    params : mapping
        Values of (some of) the free parameters; the rest keep the scenario's values.
    seed : int
        The model seed.
    target_ids : sequence of str, optional
        A subset of the study's targets (default: all of them).

    Returns
    -------
    pandas.Series
        ``target_id -> model value``, in the study's target order.

    Examples
    --------
    >>> from dataclasses import replace
    >>> from model.analysis.calibration.study import load_study, default_study_path
    >>> s = replace(load_study(default_study_path()), scale=4000, end=2013)
    >>> v = simulate_summaries(s, {"asc_emigrate": -7.0}, seed=1,
    ...                        target_ids=["new_emigrants.count.all.2013"])
    >>> list(v.index), bool(v.iloc[0] > 0)
    (['new_emigrants.count.all.2013'], True)
    """
    from model.runs.runner import run_one

    targets = study.targets(target_ids)
    rows = run_one(study.run_scenario(params), seed)
    values = target_values(rows, None, targets=tuple(targets.values()))
    return pd.Series(values, name="value", dtype=float)
