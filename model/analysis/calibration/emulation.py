"""History matching with Gaussian-process emulators, then MCMC on the emulated likelihood.

Why a second method beside ABC-SMC (:mod:`.engine`): a stochastic-acceptor ABC-SMC is a
pseudo-marginal sampler; it needs the log acceptance density of one particle to vary by
about 1.5 or less from run to run, and at this model's scale it varies by 5-13 (measured,
``calibration/loglik_noise.py``), so the temperature never reaches 1. Emulation removes the
noise from the sampler: the runs train smooth emulators of each target's *mean*, and the
posterior is sampled from a deterministic likelihood (the approach of Vernon, Goldstein and
Bower 2010 and Andrianakis et al. 2015 for large epidemic and demographic simulators).

The steps (:func:`run_emulation`):

1. **Waves of design runs.** Wave 0 is a Latin hypercube over the prior's support. After
   each wave a :class:`~model.analysis.calibration.emulator.Emulator` is fitted to the runs
   inside the region not yet ruled out, and the region shrinks to the parameters whose
   *implausibility* ``I(theta)`` is below ``cutoff``: the second-largest over targets of
   ``|y_k - m_k(theta)| / sqrt(V_k)`` (the largest would let one misfit target rule out
   everything; Vernon et al. 2010). The next wave's runs are drawn from that region
   (candidates from the prior's support and around the surviving runs, kept when every
   earlier wave's emulator passes them).
2. **The likelihood.** ``y_k ~ N(m_k(theta), V_k)`` independently, with ``V_k`` the
   calibration's variance (observation error, discrepancy, and simulation noise when the
   study says so) plus the last emulator's measured error
   (:attr:`~model.analysis.calibration.emulator.Emulator.error_var`: the leave-one-out mean
   square above the runs' own noise as the emulator's nugget sees it).
3. **The posterior** ``prior(theta) * likelihood(theta)`` on the region the last emulator
   was trained in, sampled with emcee's affine-invariant ensemble (Goodman and Weare 2010;
   Foreman-Mackey et al. 2013); the draws after burn-in, evenly thinned and shuffled, are
   the equally weighted sample. Its integrated autocorrelation time gives the effective
   sample size.

Everything is fixed by ``seed``: the design, the runs' seeds (the batch simulator's), the
emulators' fitting and the chains. ``design`` rows already simulated (a resumed calibration,
or wave 0 shared by the datasets of a recovery) are not run again.

Examples
--------
>>> from model.params import Prior
>>> def toy(t, idx, props):                 # s = theta + noise: a conjugate normal case
...     rng = np.random.default_rng([7, t, *idx])
...     return [{"y": p["theta"] + 0.05 * rng.normal()} for p in props]
>>> out = run_emulation({"theta": Prior(("uniform",), -3.0, 3.0)}, toy, {"y": 1.0},
...                     {"y": 0.25}, EmulationSettings(waves=2, first_wave=40, wave_size=30,
...                     steps=2000, burn=600, walkers=16, posterior_draws=400), seed=1,
...                     progress=False)
>>> post = out.posterior["theta"]
>>> bool(abs(post.mean() - 1.0) < 0.1), bool(abs(post.std() - 0.5) < 0.1)
(True, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.analysis.calibration.emulator import Emulator, fit_emulator
from model.params import Prior

__all__ = ["EmulationSettings", "EmulationOutcome", "run_emulation", "implausibility",
           "WAVE_COLUMNS"]

WAVE_COLUMNS = ("t", "temperature", "n_simulations", "acceptance_rate", "ess", "n_particles",
                "n_train", "max_emulator_ratio")
"""Columns of the waves table (``generations.csv`` of an emulation calibration): ``t`` the
wave, ``temperature`` 1 (the likelihood is never tempered), ``n_simulations`` its runs,
``acceptance_rate`` the share of the prior's support still not ruled out after it, ``ess``
the chains' effective sample size (last row only), ``n_particles`` the posterior draws,
``n_train`` the runs its emulator learnt from, ``max_emulator_ratio`` the largest emulator
error sd / likelihood sd over targets."""


@dataclass(frozen=True)
class EmulationSettings:
    """The emulation calibration's sizes (the study's ``[emulation]`` table).

    Examples
    --------
    >>> EmulationSettings().waves
    3
    """

    waves: int = 3
    first_wave: int = 800
    wave_size: int = 500
    cutoff: float = 3.0
    candidates: int = 20000
    fit_points: int = 250
    walkers: int = 64
    steps: int = 3000
    burn: int = 1000
    posterior_draws: int = 1000
    chunk: int = 100


@dataclass
class EmulationOutcome:
    """What :func:`run_emulation` returns."""

    posterior: pd.DataFrame
    waves: pd.DataFrame
    design: pd.DataFrame
    emulators: list[Emulator]
    variances: dict[str, float]
    failure: str | None = None
    chain_info: dict = field(default_factory=dict)


def implausibility(pred: np.ndarray, observed: np.ndarray, var: np.ndarray,
                   rank: int = 2) -> np.ndarray:
    """The ``rank``-th largest standardised distance of each row of ``pred`` from the data.

    Examples
    --------
    >>> implausibility(np.array([[1.0, 5.0, 2.0]]), np.zeros(3), np.ones(3)).tolist()
    [2.0]
    """
    z = np.abs(pred - observed) / np.sqrt(var)
    r = min(rank, z.shape[1])
    return np.sort(z, axis=1)[:, -r]


def _bounds(priors: Mapping[str, Prior]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([float(p.lo) for p in priors.values()]),
            np.array([float(p.hi) for p in priors.values()]))


def _log_prior(priors: Mapping[str, Prior], X: np.ndarray) -> np.ndarray:
    out = np.zeros(len(X))
    for j, p in enumerate(priors.values()):
        if p.family != "uniform":  # a uniform prior is a constant on the support
            out += p.frozen().logpdf(X[:, j])
    return out


class _Region:
    """The parameters every emulator so far has not ruled out."""

    def __init__(self, observed: np.ndarray, cutoff: float):
        self.observed, self.cutoff = observed, cutoff
        self.tests: list[tuple[Emulator, np.ndarray]] = []

    def inside(self, X: np.ndarray, upto: int | None = None) -> np.ndarray:
        keep = np.ones(len(X), dtype=bool)
        for em, var in self.tests[:upto]:
            idx = np.flatnonzero(keep)
            if not len(idx):
                break
            keep[idx] = implausibility(em.predict(X[idx]), self.observed, var) < self.cutoff
        return keep


def _wave_points(w: int, n: int, lo, hi, region: _Region, design_x: np.ndarray,
                 s: EmulationSettings, seed: int) -> tuple[np.ndarray, float]:
    """Wave ``w``'s ``n`` design points and the share of the support not ruled out."""
    from scipy.stats import qmc

    d = len(lo)
    if w == 0:
        u = qmc.LatinHypercube(d=d, seed=np.random.default_rng([seed, 0])).random(n)
        return lo + u * (hi - lo), 1.0
    rng = np.random.default_rng([seed, w])
    uniform = lo + rng.uniform(size=(s.candidates, d)) * (hi - lo)
    ok_u = region.inside(uniform)
    volume = float(ok_u.mean())
    pool = [uniform[ok_u]]
    alive = design_x[region.inside(design_x)] if len(design_x) else design_x
    # candidates around the surviving runs (the region may be a small share of the
    # support): each a survivor moved by a normal of their covariance, inside the bounds
    for _ in range(20):
        if sum(len(p) for p in pool) >= 3 * n or len(alive) < 2:
            break
        cov = np.cov(alive, rowvar=False).reshape(d, d) + 1e-12 * np.eye(d)
        base = alive[rng.integers(len(alive), size=s.candidates)]
        cand = base + rng.multivariate_normal(np.zeros(d), cov, size=s.candidates)
        cand = cand[((cand >= lo) & (cand <= hi)).all(axis=1)]
        ok = cand[region.inside(cand)]
        pool.append(ok)
        if len(ok) >= 2:
            alive = np.vstack([alive, ok[: s.candidates // 4]])
    pool_x = np.vstack(pool)
    if len(pool_x) == 0:
        return pool_x, volume
    pick = rng.choice(len(pool_x), size=min(n, len(pool_x)), replace=False)
    return pool_x[np.sort(pick)], volume


def run_emulation(priors: Mapping[str, Prior], simulate: Callable, observed: Mapping[str, float],
                  variances: Mapping[str, float], settings: EmulationSettings, *,
                  seed: int = 1, log_targets: Sequence[str] = (),
                  design: pd.DataFrame | None = None,
                  save: Callable[[pd.DataFrame], None] | None = None,
                  max_total_simulations: int | None = None,
                  max_walltime: float | None = None, progress: bool = True) -> EmulationOutcome:
    """History-match and sample the emulated posterior (see the module notes).

    Parameters
    ----------
    priors : mapping
        ``name -> Prior`` of the free parameters (their bounds are the support).
    simulate : callable
        ``simulate(wave, indices, proposals) -> list of {target: value}``, one a proposal
        (:class:`~model.analysis.calibration.calibrate.ModelSimulator`); a run that failed
        returns ``None`` and is left out.
    observed, variances : mapping
        The data and the likelihood's variance per target (before the emulator's error).
    settings : EmulationSettings
        Wave sizes, cutoff and chain lengths.
    seed : int
        Fixes the design, the emulators and the chains.
    log_targets : sequence of str
        Targets emulated on the log scale (positive counts).
    design : pandas.DataFrame, optional
        Runs already made (``wave, index``, the parameters, the targets): not run again.
    save : callable, optional
        Called with the whole design after every batch of runs (to resume a killed run).
    max_total_simulations, max_walltime : int, float, optional
        The budget; when it runs out, the waves stop and the posterior uses the last
        emulator (``failure`` says so).
    progress : bool
        Print a line a wave and the chains' progress bar.

    Returns
    -------
    EmulationOutcome
    """
    import emcee

    say = print if progress else (lambda *a, **k: None)
    names = list(priors)
    keys = list(observed)
    lo, hi = _bounds(priors)
    y = np.array([float(observed[k]) for k in keys])
    base_var = np.array([float(variances[k]) for k in keys])
    s = settings
    cols = ["wave", "index", *names, *keys]
    design = (pd.DataFrame(columns=cols) if design is None else design[cols].copy())
    region = _Region(y, s.cutoff)
    emulators: list[Emulator] = []
    rows, failure = [], None
    started = time.perf_counter()
    var = base_var
    for w in range(s.waves):
        size = s.first_wave if w == 0 else s.wave_size
        X, volume = _wave_points(w, size, lo, hi, region,
                                 design[names].to_numpy(float), s, seed)
        if len(X) == 0:
            failure = f"wave {w}: no candidate left that the emulators do not rule out"
            break
        done = set(design.loc[design["wave"] == w, "index"].astype(int))
        todo = [i for i in range(len(X)) if i not in done]
        for a in range(0, len(todo), s.chunk):
            room = (len(todo) if max_total_simulations is None
                    else max_total_simulations - len(design))
            if room <= 0:
                break
            if max_walltime is not None and time.perf_counter() - started > max_walltime:
                failure = f"the budget of {max_walltime:g} s ran out"
                break
            idx = todo[a:a + s.chunk][:room]
            props = [dict(zip(names, map(float, X[i]), strict=True)) for i in idx]
            vals = simulate(w, idx, props)
            new = [{"wave": w, "index": i, **p, **v} for i, p, v in zip(idx, props, vals,
                                                                        strict=True)
                   if v is not None]
            design = pd.concat([design, pd.DataFrame(new, columns=cols)], ignore_index=True)
            if save is not None:
                save(design)
        made = int((design["wave"] == w).sum())
        if failure is None and made < len(X) and max_total_simulations is not None \
                and len(design) >= max_total_simulations:
            failure = f"the budget of {max_total_simulations} simulations ran out"
        train = design[design["wave"] <= w]
        tx = train[names].to_numpy(float)
        tx_in = region.inside(tx)
        tx, ty = tx[tx_in], train[keys].to_numpy(float)[tx_in]
        if len(tx) < max(10, 2 * len(names)):
            failure = failure or (f"wave {w}: only {len(tx)} runs inside the region, too "
                                  "few to emulate")
            break
        fitting = time.perf_counter()
        em = fit_emulator(tx, ty, lo, hi, fit_points=s.fit_points, seed=seed + 7919 * w,
                          log=[k in log_targets for k in keys])
        var = base_var + em.error_var
        emulators.append(em)
        region.tests.append((em, var))
        ratio = float(np.sqrt(em.error_var / var).max())
        rows.append({"t": w, "temperature": 1.0, "n_simulations": made,
                     "acceptance_rate": volume, "ess": np.nan, "n_particles": np.nan,
                     "n_train": int(len(tx)), "max_emulator_ratio": ratio})
        say(f"wave {w}: {rows[-1]['n_simulations']} runs, emulator of {len(tx)} runs, "
            f"share of the support not ruled out before it {volume:.3g}, largest emulator "
            f"sd / likelihood sd {ratio:.2f} (emulators fitted in "
            f"{time.perf_counter() - fitting:.0f} s)")
        if failure:
            break
    if not emulators:
        raise RuntimeError(failure or "no emulator could be fitted")
    # the posterior on the last emulator, inside the region its runs were drawn from
    em, upto = emulators[-1], len(emulators) - 1

    def log_post(theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        out = np.full(len(theta), -np.inf)
        ok = ((theta >= lo) & (theta <= hi)).all(axis=1)
        if ok.any():
            ok[ok] = region.inside(theta[ok], upto=upto)
        if ok.any():
            m = em.predict(theta[ok])
            out[ok] = _log_prior(priors, theta[ok]) - 0.5 * (((y - m) ** 2) / var).sum(axis=1)
        return out

    rng = np.random.default_rng([seed, 99])
    pool = design[names].to_numpy(float)
    pool = np.vstack([pool, lo + rng.uniform(size=(s.candidates, len(names))) * (hi - lo)])
    lp = log_post(pool)
    finite = np.flatnonzero(np.isfinite(lp))
    if len(finite) < s.walkers:
        raise RuntimeError(f"only {len(finite)} starting points with a finite posterior "
                           f"density; {s.walkers} walkers need as many")
    best = finite[np.argsort(lp[finite])[::-1][: 2 * s.walkers]]
    start = pool[rng.choice(best, size=s.walkers, replace=False)]
    sampler = emcee.EnsembleSampler(s.walkers, len(names), log_post, vectorize=True)
    sampler.random_state = np.random.RandomState(seed % 2**32).get_state()
    chains_from = time.perf_counter()
    sampler.run_mcmc(start, s.steps, progress=progress)
    chain = sampler.get_chain(discard=s.burn, flat=True)
    import logging

    emcee_log = logging.getLogger("emcee")
    level, emcee_log.level = emcee_log.level, logging.ERROR
    try:  # a short chain's estimate is still an estimate; it is reported, not warned
        tau = sampler.get_autocorr_time(discard=s.burn, quiet=True)
    finally:
        emcee_log.setLevel(level)
    n_chain = len(chain)
    ess = float(n_chain / max(1.0, float(np.max(tau))))
    pick = np.linspace(0, n_chain - 1, s.posterior_draws).round().astype(int)
    sample = chain[rng.permutation(pick)]
    posterior = pd.DataFrame(sample, columns=names)
    posterior.insert(0, "draw", np.arange(len(posterior)))
    info = {"acceptance_fraction": float(np.mean(sampler.acceptance_fraction)),
            "autocorr_time": float(np.max(tau)), "ess": ess, "chain_draws": int(n_chain),
            "chain_seconds": round(time.perf_counter() - chains_from, 1)}
    rows[-1]["ess"] = ess
    rows[-1]["n_particles"] = s.posterior_draws
    say(f"chains: {s.walkers} walkers x {s.steps} steps ({s.burn} burn-in), acceptance "
        f"{info['acceptance_fraction']:.2f}, autocorrelation time {info['autocorr_time']:.0f}"
        f" steps, effective sample size {ess:.0f}")
    return EmulationOutcome(posterior, pd.DataFrame(rows, columns=list(WAVE_COLUMNS)), design,
                            emulators, dict(zip(keys, map(float, var), strict=True)), failure,
                            info)
