"""ABC-SMC with the observation errors as a stochastic acceptance kernel (pyABC).

The summaries ``s`` of a particle are accepted with probability proportional to
``N(y; s, diag(var)) ** (1 / T)``: ``y`` the observed values, ``var`` the squares of the
targets' observation errors (:attr:`model.analysis.targets.Target.sd`, one error model for
the fit report and the calibration), ``T`` a temperature that pyABC lowers from generation
to generation to 1 (:class:`pyabc.StochasticAcceptor`, :class:`pyabc.IndependentNormalKernel`,
:class:`pyabc.Temperature`). At ``T = 1`` the accepted, importance-weighted particles are a
sample of the exact posterior under that Gaussian error model (Wilkinson 2013; the
simulation's own noise, at the chosen scale, is part of the model's prediction).

:func:`run_abc` is the generic loop: priors (:class:`model.params.Prior`), a batch
simulator, observed values and variances, a database. It is used by
:func:`model.analysis.calibration.calibrate` with the model on the Dask executor, and by the
tests with a conjugate-normal toy.

Examples
--------
>>> import math
>>> from model.params import Prior
>>> def toy(t, idx, props):                      # s = theta: the posterior is conjugate
...     return [{"y": p["theta"]} for p in props]
>>> import tempfile, pathlib
>>> db = pathlib.Path(tempfile.mkdtemp()) / "abc.db"
>>> out = run_abc({"theta": Prior(("normal", 0.0, 1.0), -8.0, 8.0)}, toy, {"y": 1.0},
...               {"y": 0.25}, db, population_size=50, seed=1, max_generations=6,
...               progress=False)
>>> float(generations_table(out.history)["temperature"].iloc[-1])
1.0
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from model.analysis.calibration.sampler import OrderedBatchSampler, ReplayModel
from model.params import Prior

__all__ = ["run_abc", "AbcOutcome", "pyabc_prior", "generations_table", "last_population",
           "equal_weight_sample", "load_history"]


def _rv(prior: Prior):
    import pyabc

    lo, hi = float(prior.lo), float(prior.hi)
    family, args = prior.family, prior.spec[1:]
    if family == "uniform":
        return pyabc.RV("uniform", lo, hi - lo)
    if family == "normal":
        mu, sigma = args
        return pyabc.RV("truncnorm", (lo - mu) / sigma, (hi - mu) / sigma, mu, sigma)
    if family == "beta":
        return pyabc.RV("beta", args[0], args[1], lo, hi - lo)
    return pyabc.RV("triang", (args[0] - lo) / (hi - lo), lo, hi - lo)


def pyabc_prior(priors: Mapping[str, Prior]):
    """The :class:`pyabc.Distribution` of independent priors (same densities as ``Prior``).

    Examples
    --------
    >>> d = pyabc_prior({"a": Prior(("uniform",), 0.0, 2.0)})
    >>> float(d.pdf({"a": 1.0}))
    0.5
    """
    import pyabc

    return pyabc.Distribution(**{n: _rv(p) for n, p in priors.items()})


@dataclass
class AbcOutcome:
    """What :func:`run_abc` did: the history, simulations run now, seconds, stop reason."""

    history: object
    n_simulated: int
    seconds: float
    simulated_by_generation: dict
    failure: str = ""  # why pyABC gave up on a generation ("" when it did not)


def load_history(db: str | Path):
    """The pyABC history of ``db`` (its first analysis), or None when there is none yet."""
    import pyabc

    db = Path(db)
    if not db.exists():
        return None
    h = pyabc.History(f"sqlite:///{db}")
    if not h.all_runs():
        return None
    h.id = 1
    return h


#: Largest log importance weight of one particle (see :func:`capped_acceptor`).
LOG_WEIGHT_CAP = 50.0


def capped_acceptor():
    """PyABC's stochastic acceptor, normalised by the largest density found so far.

    Normalising by the kernel's own maximum (the density at the observed values) makes the
    acceptance probability at temperature 1 ``exp(-sum(z^2) / 2)``: with 40 targets that a
    model cannot all meet within their errors, about ``exp(-50)`` even for the best
    particle, so temperature 1 is never reached. pyABC's default instead normalises by the
    largest density found in the history (``ScaledPDFNorm`` lowers it further once the
    acceptance rate falls below 10%), and a particle denser than the norm is accepted with
    the importance weight ``exp((density - norm) / T)``: still exact. That weight
    overflows when a particle is far denser than every earlier one, which made NaN weights
    in a real run; it is capped at ``exp(LOG_WEIGHT_CAP)``, so a particle more than e^50
    times denser than the norm counts as e^50 times (it dominates the generation either
    way).

    Examples
    --------
    >>> a = capped_acceptor()
    >>> type(a).__name__
    'CappedStochasticAcceptor'
    """
    import pyabc
    from pyabc.acceptor import AcceptorResult
    from pyabc.distance import SCALE_LIN

    class CappedStochasticAcceptor(pyabc.StochasticAcceptor):
        def __call__(self, distance_function, eps, x, x_0, t, par):
            temp = eps(t)
            density = distance_function(x, x_0, t, par)
            norm = self.pdf_norms[t]
            if distance_function.ret_scale == SCALE_LIN:
                log_ratio = (np.log(max(density, 1e-300)) - np.log(norm)) / temp
            else:
                log_ratio = (density - norm) / temp
            log_ratio = min(float(log_ratio), LOG_WEIGHT_CAP)
            acc_prob = float(np.exp(log_ratio))
            accept = acc_prob >= np.random.uniform(low=0, high=1)  # noqa: NPY002
            if acc_prob == 0.0:
                weight = 0.0
            elif self.apply_importance_weighting:
                weight = acc_prob / min(1.0, acc_prob)
            else:
                weight = 1.0
            return AcceptorResult(density, accept, weight)

    return CappedStochasticAcceptor(
        pdf_norm_method=pyabc.acceptor.ScaledPDFNorm(factor=10, alpha=0.5,
                                                     min_acceptance_rate=0.1))


def run_abc(priors: Mapping[str, Prior], simulate: Callable, observed: Mapping[str, float],
            variances: Mapping[str, float], db: str | Path, *, population_size: int,
            seed: int, max_generations: int, min_temperature: float = 1.0,
            min_acceptance_rate: float = 0.0, max_total_simulations: float = np.inf,
            max_walltime: float | None = None, progress: bool = True,
            report: Callable | None = None, transition: str = "normal") -> AbcOutcome:
    """Run (or continue) ABC-SMC until temperature ``min_temperature`` or a budget is hit.

    Parameters
    ----------
    priors : mapping of str to Prior
        Free parameters and their priors.
    simulate : callable
        ``simulate(generation, indices, proposals) -> list of {stat: value}``.
    observed, variances : mapping
        Observed summaries and their observation-error variances (same keys).
    db : path
        The SQLite database of the pyABC history. When it holds an analysis it is
        continued (``ABCSMC.load``) up to ``max_generations`` generations in total.
    population_size : int
        Particles per generation.
    seed : int
        Seeds every random draw (:class:`OrderedBatchSampler`).
    max_generations : int
        Generations in the history at most.
    min_temperature : float
        Stop when the temperature reaches it (1: the exact posterior).
    min_acceptance_rate : float
        Stop when a generation accepts less.
    max_total_simulations, max_walltime : float
        Budget (``max_total_simulations`` counts every generation of
        the history; ``max_walltime`` in seconds, of this call).
    progress : bool
        Print a line per generation.
    report : callable, optional
        Called as the sampler's ``report`` (generation, accepted, evaluated, simulated,
        seconds) instead of the printed line.
    transition : {"normal", "local"}
        PyABC's perturbation kernel: one multivariate normal fitted to the whole
        population, or ``LocalTransition`` (each particle's covariance from its nearest
        quarter of the population), which keeps the importance weights of a curved or
        narrow posterior in many dimensions from collapsing onto a few particles.

    Returns
    -------
    AbcOutcome
    """
    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)
    logging.getLogger("pyabc").setLevel(logging.WARNING)
    keys = list(observed)
    model = ReplayModel()
    db = Path(db)

    def line(t, accepted, evaluated, simulated, seconds):
        if report is not None:
            report(t, accepted, evaluated, simulated, seconds)
        elif progress:
            what = "calibration sample" if t < 0 else f"generation {t}"
            print(f"  {what}: {accepted} accepted of {evaluated} evaluated "
                  f"({accepted / max(evaluated, 1):.1%}), {simulated} simulations, "
                  f"{seconds:.0f} s", flush=True)

    history = load_history(db)
    done_sims = 0 if history is None else int(history.total_nr_simulations)
    sampler = OrderedBatchSampler(
        simulate, model, seed, min_batch=max(4, population_size // 4),
        max_batch=5 * population_size, max_simulations=max_total_simulations - done_sims,
        deadline=None if max_walltime is None else time.monotonic() + max_walltime,
        report=line)
    kernel = pyabc.IndependentNormalKernel(var=[float(variances[k]) for k in keys], keys=keys)
    # pyABC draws its first temperature and the acceptor's normalisation from a prior
    # sample; seeding here makes even that part reproducible
    np.random.seed(seed % 2**32)  # noqa: NPY002 - pyABC draws from the global state
    random.seed(seed)
    abc = pyabc.ABCSMC(model, pyabc_prior(priors), kernel, population_size=population_size,
                       eps=pyabc.Temperature(),
                       acceptor=capped_acceptor(),
                       transitions=(pyabc.LocalTransition(k_fraction=0.25)
                                    if transition == "local"
                                    else pyabc.MultivariateNormalTransition()),
                       sampler=sampler)
    if history is None:
        abc.new(f"sqlite:///{db}", {k: float(observed[k]) for k in keys})
        done = 0
    else:
        abc.load(f"sqlite:///{db}", 1)
        done = history.max_t + 1
    started = time.perf_counter()
    remaining = max_generations - done
    failure = ""
    if remaining > 0:
        try:
            abc.run(minimum_epsilon=min_temperature, max_nr_populations=remaining,
                    min_acceptance_rate=min_acceptance_rate,
                    max_total_nr_simulations=max_total_simulations,
                    max_walltime=None if max_walltime is None
                    else timedelta(seconds=max_walltime))
        except AssertionError as exc:
            # pyABC refuses a generation whose weights do not normalise (seen at low
            # temperature with 18 parameters: a total weight of NaN). The generations
            # before it are complete in the history and are what the result reports.
            failure = f"generation {abc.history.max_t + 1} failed in pyABC: {exc}"
    return AbcOutcome(abc.history, sampler.n_simulated, time.perf_counter() - started,
                      dict(sampler.simulated_by_generation), failure)


def generations_table(history, simulated: Mapping[int, int] | None = None) -> pd.DataFrame:
    """One row per generation: t, temperature, evaluations, acceptance rate, ESS.

    ``n_simulations`` is pyABC's count of evaluations (what the acceptance rate divides
    by); ``simulated`` adds the runs actually made, batches' leftovers included, where known.
    """
    from pyabc.weighted_statistics import effective_sample_size

    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    rows = []
    for _, p in pops.iterrows():
        t = int(p["t"])
        df, w = history.get_distribution(m=0, t=t)
        n = len(df)
        rows.append({"t": t, "temperature": float(p["epsilon"]),
                     "n_simulations": int(p["samples"]),
                     "acceptance_rate": n / max(int(p["samples"]), 1),
                     "ess": float(effective_sample_size(np.asarray(w, float))),
                     "n_particles": n,
                     "simulated": (simulated or {}).get(t, np.nan)})
    return pd.DataFrame(rows, columns=["t", "temperature", "n_simulations", "acceptance_rate",
                                       "ess", "n_particles", "simulated"])


def last_population(history, names) -> pd.DataFrame:
    """The last generation's particles: one column per parameter, then ``weight``."""
    df, w = history.get_distribution(m=0, t=history.max_t)
    out = df[list(names)].reset_index(drop=True).astype(float)
    out.columns.name = None
    out["weight"] = np.asarray(w, float) / np.sum(w)
    return out


def equal_weight_sample(population: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` draws from a weighted population (systematic resampling, reproducible).

    Examples
    --------
    >>> pop = pd.DataFrame({"a": [0.0, 1.0], "weight": [0.25, 0.75]})
    >>> equal_weight_sample(pop, 4, seed=1)["a"].tolist().count(1.0)
    3
    """
    w = population["weight"].to_numpy(float)
    w = w / w.sum()
    u = (np.random.default_rng(seed).random() + np.arange(n)) / n
    idx = np.minimum(np.searchsorted(np.cumsum(w), u), len(w) - 1)
    idx = np.random.default_rng(seed + 1).permutation(idx)
    out = population.drop(columns="weight").iloc[idx].reset_index(drop=True)
    out.insert(0, "draw", np.arange(n))  # 0..n-1 in row order: what model.posterior reads
    return out
