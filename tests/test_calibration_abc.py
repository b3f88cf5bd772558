"""ABC-SMC engine: exact posterior on a conjugate normal toy, determinism, resume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.analysis.calibration.engine import (
    equal_weight_sample,
    generations_table,
    last_population,
    load_history,
    run_abc,
)
from model.analysis.calibration.summaries import particle_seed
from model.params import Prior

PRIOR = {"theta": Prior(("normal", 0.0, 1.0), -8.0, 8.0)}


def toy(t, indices, proposals):
    """s = theta + simulation noise of sd 0.3, seeded from the evaluation like the model."""
    out = []
    for j, p in zip(indices, proposals, strict=True):
        rng = np.random.default_rng(particle_seed(5, t, j))
        out.append({"y": p["theta"] + 0.3 * rng.standard_normal()})
    return out


def _moments(history):
    pop = last_population(history, ["theta"])
    m = float(np.sum(pop["theta"] * pop["weight"]))
    sd = float(np.sqrt(np.sum(pop["weight"] * (pop["theta"] - m) ** 2)))
    return m, sd


@pytest.mark.parametrize("transition", ["normal", "local"])
def test_conjugate_normal_posterior(tmp_path, transition):
    # prior N(0, 1); y_obs = 1.5 = theta + noise(0.3) + error(0.4): likelihood variance
    # 0.09 + 0.16 = 0.25, so the posterior is N(1.5 * 1 / 1.25, 0.25 / 1.25) = N(1.2, 0.447^2)
    out = run_abc(PRIOR, toy, {"y": 1.5}, {"y": 0.16}, tmp_path / "abc.db",
                  population_size=500, seed=3, max_generations=10, progress=False,
                  transition=transition)
    gens = generations_table(out.history)
    assert gens["temperature"].iloc[-1] == pytest.approx(1.0)
    m, sd = _moments(out.history)
    assert m == pytest.approx(1.2, abs=0.08)
    assert sd == pytest.approx(np.sqrt(0.2), abs=0.06)


def test_same_seed_same_particles_and_resume_continues(tmp_path):
    kw = dict(population_size=60, seed=11, progress=False)
    a = run_abc(PRIOR, toy, {"y": 1.5}, {"y": 0.16}, tmp_path / "a.db", max_generations=3,
                **kw)
    b = run_abc(PRIOR, toy, {"y": 1.5}, {"y": 0.16}, tmp_path / "b.db", max_generations=3,
                **kw)
    pa, pb = (last_population(h.history, ["theta"]) for h in (a, b))
    pd.testing.assert_frame_equal(pa, pb)
    # stop after 2 generations, then ask for 3: the same history gets a third
    c = run_abc(PRIOR, toy, {"y": 1.5}, {"y": 0.16}, tmp_path / "c.db", max_generations=2,
                **kw)
    assert c.history.max_t == 1
    first = last_population(c.history, ["theta"])
    d = run_abc(PRIOR, toy, {"y": 1.5}, {"y": 0.16}, tmp_path / "c.db", max_generations=3,
                **kw)
    assert d.history.max_t == 2
    h = load_history(tmp_path / "c.db")
    df, w = h.get_distribution(m=0, t=1)
    assert np.allclose(np.sort(df["theta"].to_numpy()), np.sort(first["theta"].to_numpy()))
    # nothing more to do: a finished history is not extended
    e = run_abc(PRIOR, toy, {"y": 1.5}, {"y": 0.16}, tmp_path / "c.db", max_generations=3,
                **kw)
    assert e.n_simulated == 0 and e.history.max_t == 2


def test_equal_weight_sample_is_reproducible_and_follows_weights():
    pop = pd.DataFrame({"a": [0.0, 1.0, 2.0], "weight": [0.5, 0.25, 0.25]})
    s1, s2 = equal_weight_sample(pop, 1000, 4), equal_weight_sample(pop, 1000, 4)
    pd.testing.assert_frame_equal(s1, s2)
    assert list(s1.columns) == ["draw", "a"]
    assert s1["a"].value_counts().to_dict() == {0.0: 500, 1.0: 250, 2.0: 250}
