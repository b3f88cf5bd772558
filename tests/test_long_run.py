"""The baseline to 2050 at a small scale stays inside wide plausible ranges.

The ranges are wider than those of ``docs/long_run.md`` (scale 50) because at this scale a
region has a few hundred persons; they catch explosions and collapses, not the fit.
"""

from __future__ import annotations

from functools import cache

import pytest

from model.analysis.demography import indicators
from model.scenario import Scenario
from model.simulation import EmigrationModel


def _extreme_draw() -> dict[str, float] | None:
    """The shipped posterior's draw with the strongest network effect (the one most able to
    make emigration run away), or None without a posterior file."""
    from model.posterior import resolve_posterior

    post, _, _ = resolve_posterior("default")
    if post is None:
        return None
    j = post.names.index("b_network_emigrate")
    return post.draw(max(range(post.n_draws), key=lambda r: post.rows[r][j]))


@cache
def _run(posterior: bool = False) -> dict[int, dict[str, float]]:
    sc = Scenario(scale=1500, end=2050)
    if posterior:
        from model.posterior import apply_draw

        draw = _extreme_draw()
        if draw is None:
            pytest.skip("no shipped posterior")
        sc = apply_draw(sc, draw)
    m = EmigrationModel(sc, seed=3)
    out = {}
    while m.running:
        if m.year in (2018, 2050):
            out[m.year] = indicators(m)
        m.step()
    return out


@pytest.mark.parametrize("key, lo, hi", [
    ("tfr", 1.8, 3.6),
    ("e0", 74.0, 82.0),
    ("median_age", 25.0, 40.0),
    ("population", 19e6, 28e6),
    ("household_size", 2.5, 4.5),
    ("kazakh_share", 0.6, 0.9),
])
@pytest.mark.parametrize("posterior", [False, True], ids=["defaults", "posterior-extreme"])
def test_2050_inside_wide_plausible_ranges(key, lo, hi, posterior):
    assert lo <= _run(posterior)[2050][key] <= hi


def test_life_expectancy_and_median_age_do_not_fall():
    r = _run()
    assert r[2050]["e0"] > r[2018]["e0"] + 4
    assert r[2050]["median_age"] >= r[2018]["median_age"] - 1


def test_nothing_vanishes_abroad():
    r = _run()[2050]
    assert r["labour_abroad"] > 0 and r["students_abroad"] > 0
