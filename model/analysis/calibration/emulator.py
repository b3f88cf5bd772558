"""Gaussian-process emulators of the model's summaries: one per target, errors measured.

A run of the model at parameters ``theta`` gives summaries ``s(theta) = m(theta) + noise``.
:func:`fit_emulator` learns each target's mean ``m_k`` from a design of runs with a
Gaussian process (scikit-learn's :class:`~sklearn.gaussian_process.GaussianProcessRegressor`):
an ARD Matern-5/2 kernel times a constant, plus a white-noise nugget that absorbs the runs'
own noise, on the parameters scaled to ``[0, 1]`` by their prior bounds. The kernel's
hyperparameters are fitted on at most ``fit_points`` runs (the marginal likelihood costs the
cube of the points); the predictor is then conditioned on every run with those
hyperparameters (one Cholesky factor).

The emulator's error is measured, not assumed: :attr:`Emulator.loo_var` is the mean square
of the leave-one-out residuals ``s_i - m_{-i}(theta_i)`` (Rasmussen and Williams 2006,
eq. 5.12, exact and cheap from the factor), i.e. the variance of one run about the emulated
mean: simulation noise plus the emulator's own error. The calibration adds it to the
likelihood's variance (:mod:`model.analysis.calibration.emulation`).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.uniform(0, 1, (60, 2))
>>> Y = np.column_stack([3 * X[:, 0] + X[:, 1] ** 2, np.sin(3 * X[:, 1])])
>>> em = fit_emulator(X, Y, [0.0, 0.0], [1.0, 1.0], seed=1)
>>> err = np.abs(em.predict(np.array([[0.5, 0.5]])) - [1.75, np.sin(1.5)])
>>> bool(err.max() < 0.05), em.loo_var.shape
(True, (2,))
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Emulator", "fit_emulator"]


@dataclass
class Emulator:
    """Emulators of ``k`` targets over ``d`` parameters (built by :func:`fit_emulator`).

    Attributes
    ----------
    lo, hi : numpy.ndarray
        The parameters' bounds (the inputs are scaled to ``[0, 1]`` by them).
    train : numpy.ndarray
        The scaled design the predictors are conditioned on, shape ``(n, d)``.
    length_scales : numpy.ndarray
        Per target, the Matern kernel's length scales, shape ``(k, d)`` (``nan`` for a
        target that was constant over the design).
    amplitude : numpy.ndarray
        Per target, the kernel's variance (in standardised units).
    weights : numpy.ndarray
        Per target, the predictor's weights ``(K + s^2 I)^-1 y``, shape ``(k, n)``.
    y_mean, y_std : numpy.ndarray
        Per target, the design's mean and sd (the standardisation); a constant target
        predicts its mean.
    loo_var : numpy.ndarray
        Per target, the mean square leave-one-out residual of one run about the emulated
        mean (simulation noise plus emulator error), in the target's units.
    nugget_var : numpy.ndarray
        Per target, the runs' noise variance as the GP sees it (its white-noise term),
        averaged over the design in the target's units.
    error_var : numpy.ndarray
        Per target, the emulator's own error variance: ``loo_var - nugget_var``, at
        least 0 (the leave-one-out residual is the run's noise plus the emulator's error).
    log : numpy.ndarray
        Per target, whether it is emulated on the log scale (a count: the model's counts
        grow about exponentially in its utilities, and their noise is about proportional
        to them), as ``log(y + offset)``; the prediction is ``exp(mean) - offset``.
    offset : numpy.ndarray
        Per target, the offset of the log scale (1% of the design's median, so a run
        with no emigrant at all stays finite).
    """

    lo: np.ndarray
    hi: np.ndarray
    train: np.ndarray
    length_scales: np.ndarray
    amplitude: np.ndarray
    weights: np.ndarray
    y_mean: np.ndarray
    y_std: np.ndarray
    loo_var: np.ndarray
    nugget_var: np.ndarray
    error_var: np.ndarray
    log: np.ndarray
    offset: np.ndarray

    @property
    def n_train(self) -> int:
        """Runs the predictors are conditioned on."""
        return int(len(self.train))

    def predict(self, X: np.ndarray, chunk: int = 5000) -> np.ndarray:
        """Emulated means, shape ``(n, k)``, of parameter rows ``X`` (shape ``(n, d)``).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.linspace(0, 1, 12)[:, None]
        >>> em = fit_emulator(X, np.column_stack([2 * X[:, 0], np.ones(12)]), [0.0], [1.0])
        >>> np.round(em.predict(np.array([[0.25]])), 2).tolist()
        [[0.5, 1.0]]
        """
        from scipy.spatial.distance import cdist

        X = np.atleast_2d(np.asarray(X, dtype=float))
        Z = (X - self.lo) / (self.hi - self.lo)
        out = np.empty((len(Z), len(self.y_mean)))
        for j in range(len(self.y_mean)):
            ls = self.length_scales[j]
            if not np.isfinite(ls).all():
                out[:, j] = self.y_mean[j]
                continue
            t = self.train / ls
            for a in range(0, len(Z), chunk):
                r = np.sqrt(5.0) * cdist(Z[a:a + chunk] / ls, t)
                k = self.amplitude[j] * (1.0 + r + r * r / 3.0) * np.exp(-r)
                out[a:a + chunk, j] = self.y_mean[j] + self.y_std[j] * (k @ self.weights[j])
            if self.log[j]:
                out[:, j] = np.exp(out[:, j]) - self.offset[j]
        return out


def _kernel(d: int):
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    return (ConstantKernel(1.0, (1e-3, 1e3))
            * Matern(length_scale=np.full(d, 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5)
            + WhiteKernel(1e-2, (1e-8, 1.0)))


def _loo_residuals(gp) -> np.ndarray:
    """Leave-one-out residuals ``y_i - mean_{-i}(x_i)`` of a fitted regressor (its units)."""
    from scipy.linalg import cho_solve

    n = gp.L_.shape[0]
    k_inv = cho_solve((gp.L_, True), np.eye(n))
    alpha = np.asarray(gp.alpha_).reshape(n)
    return alpha / np.diag(k_inv) * float(np.ravel(gp._y_train_std)[0])


def fit_emulator(X: np.ndarray, Y: np.ndarray, lo: Sequence[float], hi: Sequence[float], *,
                 fit_points: int = 400, seed: int = 0,
                 log: Sequence[bool] | None = None) -> Emulator:
    """Fit one Gaussian-process emulator a column of ``Y`` (see the module notes).

    Parameters
    ----------
    X : numpy.ndarray
        Design, shape ``(n, d)``: one row of parameter values a run.
    Y : numpy.ndarray
        The runs' summaries, shape ``(n, k)``.
    lo, hi : sequence of float
        The parameters' bounds (the prior's support).
    fit_points : int
        At most this many runs (a seeded random subset) fit the kernel's hyperparameters.
    seed : int
        Seed of that subset and of the optimiser's restart.
    log : sequence of bool, optional
        Per column, emulate ``log(Y + offset)`` (used where no value is negative); the
        leave-one-out residuals and the noise stay in the target's own units.

    Returns
    -------
    Emulator
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor

    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(f"X {X.shape} and Y {Y.shape} must be (n, d) and (n, k)")
    if len(X) < 3:
        raise ValueError(f"an emulator needs at least 3 runs, not {len(X)}")
    Z = (X - lo) / (hi - lo)
    rng = np.random.default_rng(seed)
    sub = np.sort(rng.choice(len(Z), min(fit_points, len(Z)), replace=False))
    k, d = Y.shape[1], X.shape[1]
    ls, amp = np.full((k, d), np.nan), np.zeros(k)
    weights, loo, nugget = np.zeros((k, len(Z))), np.zeros(k), np.zeros(k)
    y_mean, y_std = Y.mean(axis=0), np.ones(k)
    logs = np.array([bool(v) for v in (log if log is not None else [False] * k)])
    logs &= (Y >= 0).all(axis=0) & (np.median(Y, axis=0) > 0)
    offset = np.where(logs, 0.01 * np.median(Y, axis=0), 0.0)
    error = np.zeros(k)
    for j in range(k):
        y = np.log(Y[:, j] + offset[j]) if logs[j] else Y[:, j]
        if not np.ptp(y) > 1e-12 * max(1.0, abs(y_mean[j])):
            y_mean[j] = float(np.mean(y))
            continue  # constant over the design: predicts its mean
        with warnings.catch_warnings():
            # a length scale at its bound only says the target hardly depends on that
            # parameter; it is not an error
            warnings.simplefilter("ignore", ConvergenceWarning)
            hyper = GaussianProcessRegressor(_kernel(d), normalize_y=True,
                                             n_restarts_optimizer=0,
                                             random_state=int(rng.integers(2**31)))
            hyper.fit(Z[sub], y[sub])
        gp = GaussianProcessRegressor(hyper.kernel_, normalize_y=True, optimizer=None)
        gp.fit(Z, y)
        y_std[j] = float(np.ravel(gp._y_train_std)[0])
        y_mean[j] = float(np.ravel(gp._y_train_mean)[0])
        ls[j] = np.broadcast_to(gp.kernel_.k1.k2.length_scale, (d,))
        amp[j] = float(gp.kernel_.k1.k1.constant_value)
        weights[j] = np.ravel(gp.alpha_)
        res = _loo_residuals(gp)
        white = float(gp.kernel_.k2.noise_level) * y_std[j] ** 2
        if logs[j]:
            # y - (exp(log(y + c) - r) - c), and the noise of sd (y + c) * sqrt(white)
            res = (Y[:, j] + offset[j]) * (1.0 - np.exp(-res))
            nugget[j] = float(np.mean((Y[:, j] + offset[j]) ** 2)) * white
        else:
            nugget[j] = white
        loo[j] = float(np.mean(res ** 2))
        error[j] = max(0.0, loo[j] - nugget[j])
    return Emulator(lo, hi, Z, ls, amp, weights, y_mean, y_std, loo, nugget, error, logs,
                    offset)
