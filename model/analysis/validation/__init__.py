"""Forecast validation: scores, naive baselines and held-out-year skill of the model.

:mod:`~model.analysis.validation.scoring` scores quantile forecasts (weighted interval score,
interval coverage, absolute percentage error of the median);
:mod:`~model.analysis.validation.baselines` makes the naive forecasts (persistence, drift,
ARIMA) from the official series up to an origin year;
:mod:`~model.analysis.validation.validate` calibrates at each origin, forecasts the held-out
years and scores the model against the baselines (``emigsim validate``).
"""
