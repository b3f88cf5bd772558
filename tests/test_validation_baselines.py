"""Naive baselines on a toy series, and the official history they read."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from model.analysis.validation.baselines import (
    arima,
    drift,
    naive_forecasts,
    official_history,
    persistence,
)

Z95 = norm.ppf(0.95)
Z75 = norm.ppf(0.75)
TOY = pd.Series([100.0, 110.0, 130.0, 120.0, 140.0], index=range(2010, 2015))


def test_persistence_by_hand():
    f = persistence(TOY, 2014, 2016)
    # changes 10, 20, -10, 20: s = sqrt((100 + 400 + 100 + 400) / 4) = sqrt(250)
    s = np.sqrt(250.0)
    assert f["year"].tolist() == [2015, 2016]
    assert f["horizon"].tolist() == [1, 2]
    assert f["q50"].tolist() == [140.0, 140.0]
    assert f["q95"].tolist() == pytest.approx([140 + Z95 * s, 140 + Z95 * s * np.sqrt(2)])
    assert f["q25"].tolist() == pytest.approx([140 - Z75 * s, 140 - Z75 * s * np.sqrt(2)])


def test_drift_by_hand():
    f = drift(TOY, 2014, 2016)
    # mean change (140 - 100) / 4 = 10; s = std(10, 20, -10, 20; ddof 1) = 14.142; n = 4
    s = np.std([10, 20, -10, 20], ddof=1)
    assert f["q50"].tolist() == [150.0, 160.0]
    sd = s * np.sqrt(np.array([1, 2]) * (1 + np.array([1, 2]) / 4))
    assert f["q05"].tolist() == pytest.approx((np.array([150, 160]) - Z95 * sd).tolist())


def test_baselines_use_only_years_up_to_the_origin():
    changed = TOY.copy()
    changed.loc[2014] = 1e6   # a value after the origin must not matter
    assert persistence(changed, 2013, 2015).equals(persistence(TOY, 2013, 2015))
    assert drift(changed, 2013, 2015).equals(drift(TOY, 2013, 2015))


def test_drift_with_one_change_uses_the_persistence_spread():
    y = pd.Series([10.0, 14.0], index=[2013, 2014])
    f = drift(y, 2014, 2015)
    assert float(f["q50"].iloc[0]) == 18.0
    assert float(f["q95"].iloc[0]) == pytest.approx(18 + Z95 * 4 * np.sqrt(1 + 1))


def test_gaps_are_refused():
    with pytest.raises(ValueError, match="without gaps"):
        persistence(pd.Series([1.0, 2.0], index=[2010, 2012]), 2012, 2013)


def test_arima_needs_enough_years_and_brackets_the_median():
    assert arima(TOY.iloc[:4], 2013, 2015) is None
    f = arima(TOY, 2014, 2017)
    assert f["year"].tolist() == [2015, 2016, 2017]
    assert (f["q05"] < f["q25"]).all() and (f["q25"] < f["q50"]).all()
    assert (f["q75"] < f["q95"]).all()
    # wider with the horizon
    assert (np.diff((f["q95"] - f["q05"]).to_numpy()) > 0).all()


def test_official_history():
    e = official_history("new_emigrants", 2016)
    assert e.to_dict() == {2013: 24384.0, 2014: 29000.0, 2015: 30000.0, 2016: 34965.0}
    n = official_history("net_migration", 2013)
    assert n.index.tolist() == list(range(2000, 2014))
    assert n.loc[2012] == -1426.0
    assert official_history("net_migration", 2018).index.max() == 2018


def test_naive_forecasts_on_official_series():
    f = naive_forecasts(official_history("new_emigrants", 2017), 2017, 2018)
    assert f["forecaster"].tolist() == ["persistence", "drift", "arima"]
    assert f.loc[f["forecaster"] == "persistence", "q50"].item() == 37704.0
    # drift from 2013 to 2017: 37704 + (37704 - 24384) / 4 = 41034
    assert f.loc[f["forecaster"] == "drift", "q50"].item() == pytest.approx(41034.0)
