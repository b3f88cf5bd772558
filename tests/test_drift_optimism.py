"""kernels.drift_optimism against the numpy statement it replaced, bit for bit."""

from __future__ import annotations

import numpy as np

from model.core import kernels


def oracle(opt, noise, sigma, shift):
    opt = opt.copy()
    noise = noise.copy()
    noise *= sigma
    noise += shift
    opt += noise
    np.clip(opt, 0.0, 1.0, out=opt)
    return opt


def test_same_bits_as_numpy_statement():
    g = np.random.default_rng(2)
    opt = g.random(20000).astype(np.float32)
    noise = g.standard_normal(20000, dtype=np.float32)
    # edges: exactly 0 and 1, signed zeros, infinities, NaN
    opt[:8] = [0.0, 1.0, -0.0, 0.5, 0.5, 0.5, 0.0, 1.0]
    noise[:8] = [0.0, 0.0, -0.0, np.inf, -np.inf, np.nan, -0.0, 1e-9]
    for sigma, shift in ((0.1, 0.0), (0.05, -0.02), (0.3, 0.01)):
        s, t = np.float32(sigma), np.float32(shift)
        want = oracle(opt, noise, s, t)
        got = opt.copy()
        before = noise.copy()
        kernels.drift_optimism(got, noise, s, t)
        assert got.tobytes() == want.tobytes()
        assert noise.tobytes() == before.tobytes()
