"""Analyses built on batches of runs: experiment files and sensitivity analysis.

Layer 4 (above ``model.runs``); later calibration, validation and forecasts.
"""
