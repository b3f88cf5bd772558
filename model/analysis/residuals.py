"""The residual terms a run used: how much of its dynamics the named drivers leave unexplained.

Every trend or starting excess that no named, data-driven driver explains is an explicit
``residual_*`` parameter of the registry (:data:`model.params.REGISTRY`), 0 by default. A
fit is only as convincing as those residuals are small, so ``emigsim fit`` reports, next
to the targets, the value of each residual in the runs it scores. The values come from the
folder's ``manifest.json``: the scenario's own value, the posterior draw of each replicate
(the manifest records the draws' values; a manifest without them is read against the
posterior file itself when its sha256 still matches), or the design's range for a
sensitivity batch that varies the term.

Examples
--------
>>> m = {"scenarios": [{"name": "s", "end": 2018, "overrides": {},
...                     "params": {"residual_emigrate": 0.02, "residual_until": 2018}}],
...      "posterior": {"parameters": ["residual_intending_start"], "draws": [0, 1],
...                    "values": {"0": [0.1], "1": [0.3]}}}
>>> t = residual_table(m).set_index("parameter")
>>> t.loc[["residual_emigrate", "residual_intending_start"], ["source", "median"]].values.tolist()
[['scenario', 0.02], ['posterior', 0.2]]
>>> t.loc[["residual_emigrate", "residual_intending_start"], "effect"].tolist()
... # doctest: +NORMALIZE_WHITESPACE
['utility of emigrate +0.12 by 2018 (+0.02 a year from 2012)',
 'intentions of 2012 formed at 1.2x the 2012 rate (median)']
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from model.params import REGISTRY
from model.posterior import load_posterior

__all__ = ["RESIDUALS", "RESIDUAL_COLUMNS", "residual_table", "read_manifest",
           "format_residuals"]

RESIDUALS: tuple[str, ...] = tuple(n for n in REGISTRY if n.startswith("residual_")
                                   and REGISTRY[n].kind == "float")
"""The residual terms (``residual_until``, a year, only says how long the trends grow)."""

RESIDUAL_COLUMNS = ["scenario", "parameter", "source", "median", "q05", "q95", "n_runs",
                    "effect", "description"]
"""Columns of :func:`residual_table` (and of ``fit_residuals.csv``)."""

_FIRST_YEAR = 2012
"""The year the yearly residual trends start from (model.core.decisions)."""


def read_manifest(path: str | Path) -> dict | None:
    """The ``manifest.json`` of a run folder, or of the folder holding a ``store/``; None if none.

    Examples
    --------
    >>> import tempfile
    >>> read_manifest(tempfile.mkdtemp()) is None
    True
    """
    path = Path(path)
    for folder in (path, path.parent):
        f = folder / "manifest.json"
        if f.is_file():
            try:
                return json.loads(f.read_text())
            except (OSError, ValueError):
                return None
    return None


def _posterior_values(record: dict, name: str) -> list[float] | None:
    """The value of ``name`` for each replicate's draw, from the record or its file."""
    draws = record.get("draws") or []
    names = list(record.get("parameters") or [])
    if name not in names or not draws:
        return None
    col = names.index(name)
    values = record.get("values")
    if isinstance(values, dict):
        try:
            return [float(values[str(d)][col]) for d in draws]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    # an older manifest: the file, if it is still the one the run read
    try:
        post = load_posterior(record.get("path") or "")
    except (OSError, ValueError):
        return None
    if post.sha256 != record.get("sha256"):
        return None
    try:
        return [float(post.rows[d][col]) for d in draws]
    except (IndexError, TypeError, ValueError):
        return None


def _effect(name: str, value: float, scenario: dict) -> str:
    if name == "residual_intending_start":
        return f"intentions of 2012 formed at {1 + value:.3g}x the 2012 rate"
    choice = name.removeprefix("residual_")
    until = int(scenario.get("params", {}).get("residual_until",
                                              REGISTRY["residual_until"].default))
    last = min(until, int(scenario.get("end") or until))
    years = max(last - _FIRST_YEAR, 0)
    return (f"utility of {choice} {value * years:+.3g} by {last} "
            f"({value:+.3g} a year from {_FIRST_YEAR})")


def _varied(manifest: dict) -> dict[str, tuple[float, float]]:
    exp = manifest.get("experiment") or {}
    return {p["name"]: tuple(p["bounds"]) for p in exp.get("parameters", [])
            if isinstance(p, dict) and "name" in p and "bounds" in p}


def residual_table(manifest: dict) -> pd.DataFrame:
    """One row per scenario and residual term: where its value came from and what it means.

    Parameters
    ----------
    manifest : dict
        A run, compare or sensitivity manifest (:func:`model.runs.manifest.build_manifest`).

    Returns
    -------
    pandas.DataFrame
        :data:`RESIDUAL_COLUMNS`. ``source`` is ``scenario`` (the scenario's value: the
        registry default unless the scenario sets it), ``posterior`` (each replicate's
        draw; median and 90% range over the replicates), ``design`` (a sensitivity batch
        varies it over ``q05``-``q95``, its bounds) or ``posterior (values unknown)`` (the
        manifest has no values and the file changed). ``effect`` translates the median.

    Examples
    --------
    >>> m = {"scenario": {"name": "s", "end": 2018, "overrides": {},
    ...                   "params": {"residual_study": -0.01}}}
    >>> r = residual_table(m).set_index("parameter").loc["residual_study"]
    >>> r["source"], float(r["median"]), r["effect"]
    ('scenario', -0.01, 'utility of study -0.06 by 2018 (-0.01 a year from 2012)')
    """
    scenarios = manifest.get("scenarios") or [manifest.get("scenario") or {}]
    scenarios = [s for s in scenarios if isinstance(s, dict)]
    record = manifest.get("posterior")
    record = record if isinstance(record, dict) else {}
    varied = _varied(manifest)
    rows = []
    for sc in scenarios:
        params = sc.get("params", {})
        own = set(sc.get("overrides") or {})
        for name in RESIDUALS:
            p = REGISTRY[name]
            value = float(params.get(name, p.default))
            lo = hi = med = value
            n = None
            source = "scenario"
            if name in varied:
                source = "design"
                lo, hi = varied[name]
                med = float("nan")
            elif name not in own and name in (record.get("parameters") or []):
                vals = _posterior_values(record, name)
                if vals is None:
                    source, lo, med, hi = "posterior (values unknown)", *[float("nan")] * 3
                else:
                    source = "posterior"
                    lo, med, hi = np.quantile(vals, [0.05, 0.5, 0.95]).tolist()
                    n = len(vals)
            effect = ("" if np.isnan(med) else _effect(name, med, sc)
                      + (" (median)" if source == "posterior" else ""))
            rows.append({"scenario": sc.get("name", ""), "parameter": name, "source": source,
                         "median": med, "q05": lo, "q95": hi, "n_runs": n, "effect": effect,
                         "description": p.doc})
    return pd.DataFrame(rows, columns=RESIDUAL_COLUMNS)


def format_residuals(table: pd.DataFrame) -> str:
    """The printed lines: each scenario's residual terms, the non-zero ones first.

    Examples
    --------
    >>> t = residual_table({"scenario": {"name": "s", "params": {}, "end": 2018}})
    >>> print(format_residuals(t))
    residual terms (what the named drivers leave unexplained) of s: all 0
    """
    lines = []
    for scenario, part in table.groupby("scenario", sort=False):
        nonzero = part[~((part["median"] == 0) & (part["q05"] == 0) & (part["q95"] == 0))]
        head = f"residual terms (what the named drivers leave unexplained) of {scenario or 'run'}"
        if nonzero.empty:
            lines.append(f"{head}: all 0")
            continue
        lines.append(f"{head}:")
        for _, r in nonzero.iterrows():
            if r["source"] == "design":
                what = f"varied by the design over {r['q05']:.3g} to {r['q95']:.3g}"
            elif r["source"] == "posterior" and r["q05"] == r["q95"]:
                what = (f"{r['median']:.3g} (the same in every posterior draw): "
                        f"{r['effect'].removesuffix(' (median)')}")
            elif r["source"] == "posterior":
                what = (f"{r['median']:.3g} (posterior draws, 90% {r['q05']:.3g} to "
                        f"{r['q95']:.3g}): {r['effect']}")
            elif r["source"] == "scenario":
                what = f"{r['median']:.3g}: {r['effect']}"
            else:
                what = "from posterior draws whose values the manifest lacks"
            lines.append(f"  {r['parameter']} = {what}")
        zero = part.index.difference(nonzero.index)
        if len(zero):
            lines.append("  the others are 0: " + ", ".join(part.loc[zero, "parameter"]))
    return "\n".join(lines)
