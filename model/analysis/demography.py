"""Demographic indicators of a running model: fertility, life expectancy, ages, households.

What the long-run report (``benchmarks/long_run.py``, ``docs/long_run.md``) and its test read
from a model's state on 1 January of ``model.year`` (before that year's step).

Examples
--------
>>> from model.scenario import Scenario
>>> from model.simulation import EmigrationModel
>>> m = EmigrationModel(Scenario(scale=5000, end=2012), seed=1)
>>> ind = indicators(m)
>>> bool(2.0 < ind["tfr"] < 4.0 and 65 < ind["e0"] < 80 and 20 < ind["median_age"] < 40)
True
"""

from __future__ import annotations

import numpy as np

from model import datasets
from model.core import fertility as fert
from model.core.population import HOME, RESIDENT, STUDY
from model.core.population import LABOUR as P_LABOUR

__all__ = ["indicators", "INDICATORS"]

INDICATORS = ("population", "tfr", "e0", "e0_men", "e0_women", "median_age",
              "household_size", "one_person_share", "labour_abroad", "students_abroad",
              "kazakh_share", "russian_share")
"""The keys of :func:`indicators`, in report order."""


def indicators(model) -> dict[str, float]:
    """Indicators of ``model`` (an :class:`~model.simulation.EmigrationModel`) now.

    ``population`` (de jure, real persons), ``tfr`` (period total fertility of women at
    home at this year's levels, :func:`model.core.fertility.total_fertility`), ``e0``,
    ``e0_men``, ``e0_women`` (period life expectancy at birth of this year's tables, the
    regions weighted by their de jure population), ``median_age`` (de jure),
    ``household_size`` and ``one_person_share`` (persons at home per resident household
    with someone at home), ``labour_abroad`` and ``students_abroad`` (real persons),
    ``kazakh_share`` and ``russian_share`` of the de jure population.
    """
    pp, hh, year = model.persons, model.households, model.year
    living = pp.status <= STUDY
    n_r = len(datasets.REGIONS)
    pop_r = np.bincount(pp.region[living], minlength=n_r).astype(float)
    women = (pp.status == HOME) & (pp.sex == 1)
    tfr = fert.total_fertility(model.birth_levels(year), model._ages.fertility,
                               float(model.params["birth_cap"]), pp.group_base[women],
                               pp.age[women])
    e = model._life.life_expectancy(year)
    w = pop_r / pop_r.sum()
    home = pp.status == HOME
    size = np.bincount(pp.hh[home], minlength=hh.n)
    occupied = (hh.status == RESIDENT) & (size > 0)
    eth = np.bincount(pp.ethnicity[living], minlength=len(datasets.ETHNIC_GROUPS))
    return {
        "population": float(living.sum() * model.scale),
        "tfr": tfr,
        "e0": float(w @ e["both"]), "e0_men": float(w @ e["men"]),
        "e0_women": float(w @ e["women"]),
        "median_age": float(np.median(pp.age[living])),
        "household_size": float(size[occupied].mean()),
        "one_person_share": float((size[occupied] == 1).mean()),
        "labour_abroad": float((pp.status == P_LABOUR).sum() * model.scale),
        "students_abroad": float((pp.status == STUDY).sum() * model.scale),
        "kazakh_share": float(eth[datasets.ETHNIC_GROUPS.index("Kazakh")] / eth.sum()),
        "russian_share": float(eth[datasets.ETHNIC_GROUPS.index("Russian")] / eth.sum()),
    }
