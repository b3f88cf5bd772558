"""Sampling designs: the unit cube of SALib, mapped through each parameter's prior.

One job: turn an :class:`~model.analysis.experiment.Experiment` into design points and
runs. Sensitivity analysis (:mod:`model.analysis.sensitivity`) uses it, and so can
calibration and forecast scoring, which need the same points from the same seeds.

1. :func:`design_matrix` samples the design in the **unit cube** with SALib (Sobol',
   Morris, FAST or Latin hypercube), seeded with :func:`salib_seed`;
2. :func:`sample` maps each column through the parameter's prior ``ppf``
   (:attr:`model.analysis.experiment.VariedParam.distribution`): a uniform prior maps
   ``u`` linearly onto ``[lo, hi]`` (integers and years through a discrete uniform), as
   EMA Workbench does, so the design is the same whatever the bounds and the analysis
   works on the exact matrix SALib produced;
3. :func:`experiment_specs` turns the points into runs (``replicates`` per point, each
   with its own seed).

Seeds: SALib's samplers and analysers test ``if seed:``, so a seed of 0 silently means
"unseeded"; :func:`salib_seed` derives a non-zero seed per purpose from the experiment's.

Examples
--------
>>> import math
>>> from model.analysis.experiment import Experiment, Outcome, VariedParam
>>> from model.scenario import Scenario
>>> xs = tuple(VariedParam(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3))
>>> exp = Experiment("ishigami", "", Scenario(), "sobol", 64, 1, 1, xs,
...                  (Outcome("y", "y", year=0),), model="ishigami")
>>> points = sample(exp)
>>> len(points), sorted(points[0])
(512, ['x1', 'x2', 'x3'])
"""

from __future__ import annotations

import zlib

import numpy as np

from model.analysis.experiment import FAST_M, Experiment
from model.runs.batch import RunSpec, design_specs

__all__ = ["salib_seed", "unit_problem", "design_matrix", "sample", "experiment_specs"]


def salib_seed(seed: int, purpose: str) -> int:
    """A non-zero seed for one SALib call, derived from the experiment's seed.

    SALib's analysers only seed when ``if seed:`` is true, so 0 would mean "unseeded"
    (different confidence intervals on every call). The result lies in ``1..2**31 - 1``
    (valid for ``np.random.seed`` too) and differs between purposes.

    Examples
    --------
    >>> salib_seed(0, "design") > 0
    True
    >>> salib_seed(1, "design") == salib_seed(1, "design") != salib_seed(1, "analyse")
    True
    """
    state = np.random.SeedSequence([int(seed), zlib.crc32(purpose.encode())])
    return int(state.generate_state(1, dtype=np.uint64)[0] % (2**31 - 1)) + 1


def unit_problem(exp: Experiment) -> dict:
    """The SALib problem of the design: every parameter on ``[0, 1]``.

    The samplers and analysers see the unit cube; :func:`sample` maps it to values.

    Examples
    --------
    >>> from model.analysis.experiment import Experiment, Outcome, VariedParam
    >>> from model.scenario import Scenario
    >>> exp = Experiment("m", "", Scenario(), "morris", 3, 1, 1,
    ...                  (VariedParam("age_peak", 30, 40),),
    ...                  (Outcome("e", "new_emigrants", year=2018),))
    >>> unit_problem(exp)
    {'num_vars': 1, 'names': ['age_peak'], 'bounds': [[0.0, 1.0]]}
    """
    return {"num_vars": len(exp.parameters), "names": [p.name for p in exp.parameters],
            "bounds": [[0.0, 1.0]] * len(exp.parameters)}


def design_matrix(exp: Experiment) -> np.ndarray:
    """The design in the unit cube, one row per design point, in SALib's order.

    Deterministic for a given experiment (the sampler is seeded with
    ``salib_seed(exp.seed, "design")``, whatever the method, so that a delta or PAWN
    experiment with ``sampling = "sobol"`` has exactly the points of the Sobol experiment
    with the same settings and can reuse its runs).

    Examples
    --------
    >>> from model.analysis.experiment import Experiment, Outcome, VariedParam
    >>> from model.scenario import Scenario
    >>> exp = Experiment("m", "", Scenario(), "morris", 3, 1, 1,
    ...                  (VariedParam("age_peak", 30, 40), VariedParam("b_russian", 0, 5)),
    ...                  (Outcome("e", "new_emigrants", year=2018),))
    >>> X = design_matrix(exp)
    >>> X.shape, float(X.min()) >= 0.0, float(X.max()) <= 1.0
    ((9, 2), True, True)
    """
    from SALib.sample import fast_sampler, latin, morris
    from SALib.sample import sobol as sobol_sampler

    unit = unit_problem(exp)
    seed = salib_seed(exp.seed, "design")
    if exp.sampling == "sobol":
        X = sobol_sampler.sample(unit, exp.n, calc_second_order=exp.second_order, seed=seed)
    elif exp.sampling == "morris":
        X = morris.sample(unit, exp.n, num_levels=exp.levels, seed=seed)
    elif exp.sampling == "fast":
        X = fast_sampler.sample(unit, exp.n, M=FAST_M, seed=seed)
    elif exp.sampling == "latin":
        X = latin.sample(unit, exp.n, seed=seed)
    else:
        raise ValueError(f"unknown sampling {exp.sampling!r}")
    return np.asarray(X, dtype=float)


def sample(exp: Experiment) -> list[dict]:
    """The design points as ``{parameter: value}`` dicts, in design order.

    Each unit-cube column goes through the parameter's prior ``ppf``: uniform priors map
    it linearly onto ``[lo, hi]`` (integer and year parameters onto a discrete uniform
    over ``lo..hi``). Points are not de-duplicated: Sobol and Morris estimators need the
    exact matrix.

    Examples
    --------
    >>> from model.analysis.experiment import Experiment, Outcome, VariedParam
    >>> from model.scenario import Scenario
    >>> exp = Experiment("l", "", Scenario(), "delta", 20, 1, 1,
    ...                  (VariedParam("study_years", 1, 8, "int"),),
    ...                  (Outcome("e", "new_emigrants", year=2018),))
    >>> sorted({p["study_years"] for p in sample(exp)}) == [float(v) for v in range(1, 9)]
    True
    """
    X = design_matrix(exp)
    cols = [p.value(X[:, j]) for j, p in enumerate(exp.parameters)]
    names = [p.name for p in exp.parameters]
    return [dict(zip(names, map(float, row), strict=True)) for row in zip(*cols, strict=True)]


def experiment_specs(exp: Experiment) -> list[RunSpec]:
    """Every run of the experiment (design points times replicates).

    Replicate ``r`` (1-based) of every point has seed
    ``model.core.rng.replicate_seed(exp.seed, r - 1)`` (common random numbers across points).

    Examples
    --------
    >>> from model.analysis.experiment import Experiment, Outcome, VariedParam
    >>> from model.scenario import Scenario
    >>> exp = Experiment("m", "", Scenario(scale=4000), "morris", 2, 2, 1,
    ...                  (VariedParam("age_peak", 30, 40),),
    ...                  (Outcome("e", "new_emigrants", year=2018),))
    >>> [(s.point, s.replicate) for s in experiment_specs(exp)][:3]
    [(0, 1), (0, 2), (1, 1)]
    """
    return design_specs(exp.scenario, sample(exp), exp.seed, exp.replicates, model=exp.model)
