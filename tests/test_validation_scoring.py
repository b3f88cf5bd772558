"""Scores of quantile forecasts against hand-computed interval scores."""

import numpy as np
import pytest

from model.analysis.validation.scoring import (
    interval_score,
    sample_quantiles,
    score,
)


def q(a, b, c, d, e):
    return {"q05": a, "q25": b, "q50": c, "q75": d, "q95": e}


@pytest.mark.parametrize(("y", "lo", "hi", "alpha", "expected"), [
    (5.0, 4.0, 6.0, 0.5, 2.0),            # inside: the width
    (10.0, 7.0, 9.0, 0.5, 2.0 + 4 * 1),   # above by 1: width + 2/0.5 * 1
    (0.0, 1.0, 9.0, 0.1, 8.0 + 20 * 1),   # below by 1: width + 2/0.1 * 1
    (9.0, 1.0, 9.0, 0.1, 8.0),            # on the bound counts as inside
])
def test_interval_score_by_hand(y, lo, hi, alpha, expected):
    assert interval_score(y, lo, hi, alpha) == pytest.approx(expected)


def test_wis_by_hand_outside_the_50_interval():
    # y = 10, median 8, 50%: [7, 9] -> IS = 2 + 4*1 = 6; 90%: [6, 12] -> IS = 6
    # WIS = (0.5*|10-8| + 0.25*6 + 0.05*6) / 2.5 = (1 + 1.5 + 0.3) / 2.5 = 1.12
    s = score(10.0, q(6.0, 7.0, 8.0, 9.0, 12.0))
    assert s["wis"] == pytest.approx(1.12)
    assert (s["covered_50"], s["covered_90"]) == (0, 1)
    assert s["ape"] == pytest.approx(0.2)


def test_wis_by_hand_outside_both():
    # y = 20: 50% [7, 9] IS = 2 + 4*11 = 46; 90% [6, 12] IS = 6 + 20*8 = 166
    # WIS = (0.5*12 + 0.25*46 + 0.05*166) / 2.5 = (6 + 11.5 + 8.3) / 2.5 = 10.32
    s = score(20.0, q(6.0, 7.0, 8.0, 9.0, 12.0))
    assert s["wis"] == pytest.approx(10.32)
    assert (s["covered_50"], s["covered_90"]) == (0, 0)
    assert s["ape"] == pytest.approx(12 / 20)


def test_point_forecast_wis_is_absolute_error():
    # all quantiles equal c: (0.5 + 0.25*4 + 0.05*20) |y - c| / 2.5 = |y - c|
    s = score(-100.0, q(-70.0, -70.0, -70.0, -70.0, -70.0))
    assert s["wis"] == pytest.approx(30.0)
    assert s["ape"] == pytest.approx(0.3)   # relative to |y| for a negative balance


def test_missing_quantile_gives_nan_scores():
    s = score(1.0, q(np.nan, 0.0, 1.0, 2.0, 3.0))
    assert all(np.isnan(v) for v in s.values())


def test_sample_quantiles():
    got = sample_quantiles(np.arange(0.0, 101.0))
    assert got == {"q05": 5.0, "q25": 25.0, "q50": 50.0, "q75": 75.0, "q95": 95.0}
