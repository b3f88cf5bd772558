"""nested_logit reuses its buffers: the same bits as its statement with fresh temporaries.

The oracle is the expression form of ``model.core.decisions.nested_logit`` before it wrote
its intermediate results in place; every output must match it bit for bit (float32 and
float64, closed nests, unavailable alternatives, overflowing exponentials), and the inputs
must be left alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.core.decisions import nested_logit


def oracle(v_cis, v_noncis, v_labour, v_study, nest_scale):
    lam = np.float32(nest_scale)
    a = v_cis / lam
    b = v_noncis / lam
    m = np.maximum(a, b)
    closed = np.isneginf(m)
    m_safe = np.where(closed, np.float32(0.0), m)
    with np.errstate(divide="ignore"):
        iv = lam * (m_safe + np.log(np.exp(a - m_safe) + np.exp(b - m_safe)))
    iv = np.where(closed, np.float32(-np.inf), iv)
    top = np.maximum(np.maximum(iv, v_labour), np.maximum(v_study, 0))
    e_stay = np.exp(-top)
    e_emig = np.exp(iv - top)
    e_lab = np.exp(v_labour - top)
    e_study = np.exp(v_study - top)
    total = e_stay + e_emig + e_lab + e_study
    with np.errstate(invalid="ignore", over="ignore"):
        noncis = np.where(closed, np.float32(0.0), 1.0 / (1.0 + np.exp(a - b)))
    return e_stay / total, e_emig / total, e_lab / total, e_study / total, noncis


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lam", [1.0, 0.6, 0.05])
def test_same_bits_as_expression_form(dtype, lam):
    rng = np.random.default_rng(3)
    n = 5000
    v = [rng.normal(-2.0, 4.0, n).astype(dtype) for _ in range(4)]
    for x in v:
        x[rng.random(n) < 0.2] = -np.inf
    v[0][:50] = v[1][:50] = -np.inf  # closed nests
    v[0][50:60] = 80.0  # exp(a - b) overflows at a small nest scale
    before = [x.copy() for x in v]
    p = nested_logit(*v, lam)
    got = (p.stay, p.emigrate, p.labour, p.study, p.noncis)
    for g, w in zip(got, oracle(*v, lam), strict=True):
        assert g.dtype == w.dtype
        assert g.tobytes() == w.tobytes()
    for x, y in zip(v, before, strict=True):
        assert x.tobytes() == y.tobytes()
