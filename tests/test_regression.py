"""Regression baseline: three fixed-seed runs whose ``series.csv`` must not change.

A refactoring keeps these byte-identical. A modelling change rewrites them with
``pytest tests/test_regression.py --update-baseline`` in a commit that says why. Each
baseline stores the SHA-256 of the run's ``series.csv`` (as ``emigsim run`` writes it)
and a readable summary (registered emigrants and net migration per year), so a failure
shows what moved, not only that something did.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

import model as em

BASELINES = Path(__file__).parent / "baselines"

# Different scales, seeds and horizons; one runs to 2035 (past the data years).
CASES = {
    "scale3000_seed7_2035": dict(scale=3000, seed=7, end=2035),
    "scale500_seed2_2018": dict(scale=500, seed=2, end=2018),
    "scale200_seed11_2024": dict(scale=200, seed=11, end=2024),
}


def _series_csv(case: dict) -> str:
    scenario = em.load_scenario("scenarios/baseline.toml")
    scenario = scenario.with_run(scale=case["scale"], end=case["end"])
    # registry defaults, explicitly: refactoring checks must not depend on the posterior file
    res = em.run(scenario, seed=case["seed"], replicates=1, posterior=None)
    buf = io.StringIO()
    res.series.to_csv(buf, index=False)  # exactly what `emigsim run` writes
    return buf.getvalue()


def _summary(csv_text: str) -> dict:
    import pandas as pd

    df = pd.read_csv(io.StringIO(csv_text))
    sel = df[(df["group"] == "all") & df["metric"].isin(["new_emigrants", "net_migration"])]
    table = sel.pivot_table(index="year", columns="metric", values="value", aggfunc="sum")
    return {str(int(y)): {m: round(float(v), 1) for m, v in row.items()}
            for y, row in table.iterrows()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_series_unchanged(name: str, update_baseline: bool) -> None:
    csv_text = _series_csv(CASES[name])
    digest = hashlib.sha256(csv_text.encode()).hexdigest()
    record = {"case": CASES[name], "sha256": digest, "rows": csv_text.count("\n") - 1,
              "emigrants_and_net_migration": _summary(csv_text)}
    path = BASELINES / f"{name}.json"
    if update_baseline:
        BASELINES.mkdir(exist_ok=True)
        path.write_text(json.dumps(record, indent=1) + "\n")
        pytest.skip(f"baseline {path.name} rewritten")
    assert path.exists(), f"no baseline {path}; run pytest --update-baseline and commit it"
    stored = json.loads(path.read_text())
    assert record["emigrants_and_net_migration"] == stored["emigrants_and_net_migration"]
    assert record["rows"] == stored["rows"]
    assert digest == stored["sha256"], "series.csv changed although its summary did not"
