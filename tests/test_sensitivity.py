"""The sensitivity pipeline: design, batch, outcomes, indices, noise, outputs.

The analytic check is the Ishigami function y = sin x1 + 7 sin^2 x2 + 0.1 x3^4 sin x1 on
[-pi, pi]^3, whose indices are known exactly (Ishigami & Homma 1990; Saltelli et al. 2008):
S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437), S13 = 0.2437.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from model.analysis.design import design_matrix, experiment_specs, salib_seed, sample
from model.analysis.experiment import (
    Experiment,
    Outcome,
    VariedParam,
    load_experiment,
    shipped_experiments_dir,
)
from model.analysis.outcomes import outcome_table
from model.analysis.sensitivity import (
    StoreConflictError,
    analyse,
    noise_shares,
    open_store,
    run_experiment,
    summary_text,
)
from model.runs import batch
from model.runs.execution import execute
from model.runs.store import ResultStore
from model.scenario import Scenario

S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
S2_13 = 0.2437
XS = tuple(VariedParam(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3))


def ishigami(method: str, n: int, *, seed: int = 1, replicates: int = 1,
             **kw) -> Experiment:
    return Experiment("ishigami", "", Scenario(), method, n, replicates, seed, XS,
                      (Outcome("y", "y", year=0),), model="ishigami", **kw)


def ishigami_values(points: list[dict]) -> np.ndarray:
    x = np.array([[p["x1"], p["x2"], p["x3"]] for p in points])
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def direct_table(exp: Experiment) -> pd.DataFrame:
    """Outcome table of the Ishigami function evaluated without the executor."""
    points = sample(exp)
    return pd.DataFrame({"point": range(len(points)), "y": ishigami_values(points)})


def indices_of(ix: pd.DataFrame) -> pd.Series:
    return ix.set_index(["parameter", "index"])["value"]


def close(ix: pd.Series, param: str, index: str, known: float, floor: float) -> None:
    """The known value lies in the estimated interval, widened modestly."""
    est, conf = ix[param, index], ix[param, f"{index}_conf"]
    assert abs(est - known) <= max(3 * conf, floor), (param, index, est, conf, known)


# --- design ------------------------------------------------------------------------------------

def test_salib_seed_is_never_zero_and_stable():
    seeds = {salib_seed(s, p) for s in range(50) for p in ("design", "analyse")}
    assert 0 not in seeds and len(seeds) == 100
    assert all(1 <= s < 2**31 for s in seeds)


def test_design_is_deterministic_and_seeded():
    a, b = ishigami("sobol", 8), ishigami("sobol", 8)
    assert np.array_equal(design_matrix(a), design_matrix(b))
    # Seed 0 is a real seed (SALib's `if seed:` would have ignored it).
    z1, z2 = design_matrix(ishigami("morris", 4, seed=0)), design_matrix(ishigami("morris", 4,
                                                                                  seed=0))
    assert np.array_equal(z1, z2)
    assert not np.array_equal(z1, design_matrix(ishigami("morris", 4, seed=1)))


@pytest.mark.parametrize("method,n,points", [("sobol", 8, 64), ("morris", 5, 20),
                                             ("fast", 65, 195), ("delta", 30, 30),
                                             ("pawn", 25, 25)])
def test_design_sizes_and_bounds(method, n, points):
    exp = ishigami(method, n)
    X = design_matrix(exp)
    assert X.shape == (points, 3) == (exp.n_points, 3)
    assert X.min() >= 0.0 and X.max() <= 1.0
    values = np.array([[p[k] for k in ("x1", "x2", "x3")] for p in sample(exp)])
    assert values.min() >= -math.pi and values.max() <= math.pi
    # Linear map of the unit cube, in design order (no de-duplication).
    assert np.allclose(values, -math.pi + X * 2 * math.pi)


def test_experiment_specs_replicates_and_seeds():
    from model.core.rng import replicate_seed

    exp = ishigami("morris", 2, replicates=3, seed=5)
    specs = experiment_specs(exp)
    assert len(specs) == exp.n_runs == 2 * 4 * 3
    assert [(s.point, s.replicate) for s in specs[:4]] == [(0, 1), (0, 2), (0, 3), (1, 1)]
    # common random numbers: replicate r of every point has the same seed
    assert specs[4].seed == replicate_seed(5, 1) == specs[1].seed
    assert len({s.run_id for s in specs}) == len(specs)


# --- the Ishigami check ------------------------------------------------------------------------

def test_ishigami_sobol_through_executor_and_store(tmp_path):
    """Full pipeline: design_specs -> execute -> ResultStore -> outcome_table -> analyse.

    N = 1024 (8,192 runs) through the same executor and store as model runs.
    """
    exp = ishigami("sobol", 1024)
    store = ResultStore(tmp_path / "store")
    specs = experiment_specs(exp)
    report = execute(specs, store, workers=0, progress=False, chunk_size=len(specs))
    assert report.complete and report.done == 8192
    table = outcome_table(store, exp, specs)
    assert len(table) == 8192 and table["y"].notna().all()
    # The stored values are exactly the function's (nothing lost, nothing reordered).
    assert np.allclose(table.sort_values("point")["y"], ishigami_values(sample(exp)))
    ix = indices_of(analyse(exp, table))
    for x in ("x1", "x2", "x3"):
        close(ix, x, "S1", S1[x], 0.05)
        close(ix, x, "ST", ST[x], 0.05)
    close(ix, "x1:x3", "S2", S2_13, 0.05)
    close(ix, "x1:x2", "S2", 0.0, 0.05)
    assert ix["x1", "ST"] > ix["x3", "ST"] and ix["x2", "ST"] > ix["x3", "ST"]


def test_ishigami_sobol_n1024():
    exp = ishigami("sobol", 1024)
    ix = indices_of(analyse(exp, direct_table(exp)))
    for x in ("x1", "x2", "x3"):
        close(ix, x, "S1", S1[x], 0.03)
        close(ix, x, "ST", ST[x], 0.03)
    close(ix, "x1:x3", "S2", S2_13, 0.05)
    assert abs(ix["x3", "S1"]) < 0.05 < ix["x3", "ST"] - 0.15  # x3 acts only with x1


def test_ishigami_morris_through_executor(tmp_path):
    exp = ishigami("morris", 50)
    store = ResultStore(tmp_path / "store")
    execute(experiment_specs(exp), store, workers=0, progress=False)
    ix = indices_of(analyse(exp, outcome_table(store, exp)))
    # On the 4-level grid x2 moves between -pi <-> pi/3 or -pi/3 <-> pi: every effect is
    # +-7 sin^2(pi/3) / (2/3) = 7.875 exactly, with both signs equally likely.
    assert ix["x2", "mu_star"] == pytest.approx(7.875)
    assert ix["x2", "mu_star_conf"] == pytest.approx(0.0, abs=1e-9)
    # x1's steps (-pi -> pi/3, -pi/3 -> pi) always raise sin x1: every effect is positive.
    assert ix["x1", "mu"] == pytest.approx(ix["x1", "mu_star"]) and ix["x1", "mu"] > 1.0
    # x3 acts through sin x1, whose sign varies: effects of both signs, large sigma.
    assert abs(ix["x3", "mu"]) < ix["x3", "mu_star"] < ix["x3", "sigma"]
    assert min(ix[x, "mu_star"] for x in ("x1", "x2", "x3")) > 1.0


def test_ishigami_fast():
    exp = ishigami("fast", 1000)
    ix = indices_of(analyse(exp, direct_table(exp)))
    for x in ("x1", "x2", "x3"):
        assert ix[x, "S1"] == pytest.approx(S1[x], abs=0.05)
        assert ix[x, "ST"] == pytest.approx(ST[x], abs=0.06)


def test_ishigami_given_data_methods_see_x3():
    # x3 has no first-order effect, but it changes the distribution of y: the
    # moment-independent measures (delta, PAWN) see it where S1 does not.
    exp = ishigami("delta", 500)
    delta = indices_of(analyse(exp, direct_table(exp)))
    assert abs(delta["x3", "S1"]) < 0.05
    assert min(delta["x1", "delta"], delta["x2", "delta"]) > delta["x3", "delta"] > 0.1
    exp = ishigami("pawn", 1000)
    pawn = indices_of(analyse(exp, direct_table(exp)))
    assert pawn["x2", "median"] > pawn["x1", "median"] > pawn["x3", "median"] > 0.05


def test_analysis_leaves_global_numpy_state_alone():
    exp = ishigami("delta", 100)
    table = direct_table(exp)
    state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking SALib's side effect
    analyse(exp, table)
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002


# --- replicates and noise ----------------------------------------------------------------------

def test_replicates_are_averaged_and_noise_measured():
    exp = ishigami("sobol", 64, replicates=2)
    points = sample(exp)
    clean = ishigami_values(points)
    rng = np.random.default_rng(3)
    rows = []
    for i, y in enumerate(clean):
        for r in (1, 2):
            rows.append({"point": i, "replicate": r, "y": y + rng.normal(0, 0.5)})
    table = pd.DataFrame(rows)
    noise = noise_shares(exp, table).iloc[0]
    # Within-point variance 0.25 over a total of var(y) + 0.25.
    expected = 0.25 / (np.var(clean, ddof=1) + 0.25)
    assert noise["noise_share"] == pytest.approx(expected, rel=0.2)
    assert noise["noise_share_of_means"] == pytest.approx(0.125 / (np.var(clean) + 0.125),
                                                          rel=0.2)
    assert noise["replicates"] == 2
    ix = indices_of(analyse(exp, table))
    assert ix["x2", "ST"] > ix["x3", "ST"]


def test_deterministic_model_has_no_noise_and_one_replicate_is_not_measured():
    two = ishigami("delta", 20, replicates=2)
    table = pd.concat([direct_table(two)] * 2)
    assert noise_shares(two, table)["noise_share"].iloc[0] == 0.0
    one = ishigami("delta", 20)
    assert math.isnan(noise_shares(one, direct_table(one))["noise_share"].iloc[0])


def test_incomplete_design_is_not_analysed():
    exp = ishigami("sobol", 8)
    table = direct_table(exp).iloc[:-1]
    with pytest.raises(ValueError, match="1 of 64 design points have no value for y"):
        analyse(exp, table)


def test_constant_outcome_gives_nan_variance_indices():
    exp = ishigami("sobol", 8)
    table = direct_table(exp).assign(y=1.0)
    ix = analyse(exp, table)
    assert ix.loc[ix["index"].isin(["S1", "ST"]), "value"].isna().all()


# --- the store ---------------------------------------------------------------------------------

def test_store_of_another_batch_is_refused(tmp_path):
    a, b = experiment_specs(ishigami("morris", 2)), experiment_specs(ishigami("morris", 2,
                                                                             seed=9))
    execute(a, open_store(tmp_path / "s", a), workers=0, progress=False)
    with pytest.raises(StoreConflictError, match="none of them of this batch"):
        open_store(tmp_path / "s", b)
    assert len(ResultStore(tmp_path / "s").done_ids()) == len(a)  # untouched
    # The same batch, or a larger one sharing runs, is reused; --fresh starts again.
    assert open_store(tmp_path / "s", a[:3] + b).done_ids()
    assert open_store(tmp_path / "s", b, fresh=True).done_ids() == set()
    (tmp_path / "junk").mkdir()
    with pytest.raises(StoreConflictError, match="not a result store"):
        open_store(tmp_path / "junk", a)


# --- end to end with emigsim -------------------------------------------------------------------

TINY = """
method = "morris"
n = 2
replicates = 2
seed = 4
[run]
end = 2013
scale = 4000
[parameters]
b_compatriot = {}
realise_emigrate = { bounds = [0.35, 0.5] }  # above the default 0.291: some emigrants at this scale
[[outcomes]]
name = "cum"
metric = "new_emigrants"
years = [2012, 2013]
[[outcomes]]
name = "students_2013"
metric = "n_students_abroad"
year = 2013
[[outcomes]]
name = "emigrants_by_year"
metric = "new_emigrants"
per_year = true
"""


@pytest.fixture
def tiny(tmp_path) -> Experiment:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return load_experiment(path)


def test_emigsim_morris_end_to_end(tiny, tmp_path):
    out = tmp_path / "out"
    res = run_experiment(tiny, out, workers=0, progress=False, argv=["emigsim", "test"])
    assert res.complete and res.report.done == 12 and res.report.failed == 0
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                   if p.is_file() and "store" not in p.parts and p.name != ".emigsim-output")
    marker = json.loads((out / ".emigsim-output").read_text())
    assert marker["kind"] == "sensitivity" and marker["folders"] == ["figures", "store"]
    assert marker["files"] == names
    assert names == sorted([
        "design.csv", "outcomes.csv", "indices.csv", "noise.csv", "series.csv",
        "manifest.json", "figures/indices_cum.png", "figures/indices_students_2013.png",
        "figures/indices_emigrants_by_year_by_year.png", "figures/emigrants.png",
        "figures/net_migration.png", "figures/choices.png", "figures/population.png"])
    assert sorted(p.relative_to(out).as_posix() for p in res.files) == names

    design = pd.read_csv(out / "design.csv")
    assert list(design.columns) == ["point", "b_compatriot", "realise_emigrate"]
    assert len(design) == 6

    outcomes = pd.read_csv(out / "outcomes.csv")
    assert len(outcomes) == 12
    assert list(outcomes.columns) == ["run_id", "point", "replicate", "seed", "b_compatriot",
                                      "realise_emigrate", "cum", "students_2013",
                                      "emigrants_by_year@2012", "emigrants_by_year@2013"]
    assert np.allclose(outcomes["cum"], outcomes["emigrants_by_year@2012"]
                       + outcomes["emigrants_by_year@2013"])
    assert (outcomes["cum"] > 0).all()
    # The design values of each run are those of its point in design.csv.
    for p in ("b_compatriot", "realise_emigrate"):
        assert np.allclose(outcomes[p], design.set_index("point").loc[outcomes["point"], p])

    ix = pd.read_csv(out / "indices.csv")
    assert list(ix.columns) == ["outcome", "year", "parameter", "index", "value"]
    assert set(ix["parameter"]) == {"b_compatriot", "realise_emigrate"}
    assert set(ix["index"]) == {"mu", "mu_star", "mu_star_conf", "sigma"}
    assert ix.loc[ix["outcome"] == "cum", "year"].isna().all()
    assert set(ix.loc[ix["outcome"] == "emigrants_by_year", "year"]) == {2012.0, 2013.0}

    noise = pd.read_csv(out / "noise.csv")
    # a share of variance exists wherever the outcome varies at all (a constant outcome,
    # e.g. no student abroad at this tiny scale, has no variance to share: NaN)
    varies = {"cum": outcomes["cum"].std() > 0,
              "students_2013": outcomes["students_2013"].std() > 0}
    assert len(noise) == 4
    for _, row in noise.iterrows():
        if varies.get(row["outcome"], True):
            assert pd.notna(row["noise_share"]), row["outcome"]
        else:
            assert pd.isna(row["noise_share"]), row["outcome"]

    series = pd.read_csv(out / "series.csv")
    assert list(series.columns) == ["scenario", "point", "replicate", "seed", "year", "metric",
                                    "group", "value"]
    assert series.groupby(["point", "replicate"]).ngroups == 12

    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "sensitivity" and m["command"] == ["emigsim", "test"]
    assert m["experiment"]["method"] == "morris" and m["experiment"]["n_runs"] == 12
    assert m["scenario"]["end"] == 2013 and m["scenario"]["scale"] == 4000.0
    assert m["batch"] == {"total": 12, "done": 12, "skipped": 0, "failed": 0}
    assert m["salib_seeds"]["design"] == salib_seed(4, "design")
    assert {"git_commit", "versions", "started", "ended"} <= set(m)
    assert "cum" in summary_text(res) and "noise share" in summary_text(res)

    # A second call resumes: nothing runs again, the outputs are rewritten identically.
    before = (out / "indices.csv").read_bytes()
    again = run_experiment(tiny, out, workers=0, progress=False)
    assert again.report.skipped == 12 and again.report.done == 12
    assert (out / "indices.csv").read_bytes() == before


def test_failed_runs_are_reported_and_not_analysed(tiny, tmp_path, monkeypatch):
    real = batch.MODELS["emigsim"]

    def flaky(spec):
        if spec.point == 3:
            raise RuntimeError("boom")
        return real(spec)

    monkeypatch.setitem(batch.MODELS, "emigsim", flaky)
    out = tmp_path / "out"
    res = run_experiment(tiny, out, workers=0, progress=False)
    assert not res.complete and res.report.failed == 2 and res.indices is None
    assert {e["point"] for e in res.report.errors} == {3}
    assert all("RuntimeError: boom" in e["error"] for e in res.report.errors)
    assert not (out / "indices.csv").exists() and not (out / "manifest.json").exists()
    # Fixed: the re-run retries only the failed runs, then analyses.
    monkeypatch.setitem(batch.MODELS, "emigsim", real)
    res = run_experiment(tiny, out, workers=0, progress=False)
    assert res.complete and res.report.skipped == 10
    assert (out / "indices.csv").is_file()


@pytest.mark.parametrize("name", ["morris_screening", "sobol_baseline"])
def test_shipped_experiments_run_their_first_points(name, tmp_path):
    exp = load_experiment(shipped_experiments_dir() / f"{name}.toml")
    specs = experiment_specs(exp)
    assert len(specs) == exp.n_runs
    # Only the first 4 runs, and at a coarse scale: the full batches take minutes.
    coarse = [batch.RunSpec(s.run_id, s.scenario.with_run(scale=4000), s.seed, s.replicate,
                            s.point, s.design, s.model) for s in specs[:4]]
    store = ResultStore(tmp_path / "store")
    report = execute(coarse, store, workers=0, progress=False)
    assert report.complete, report.errors
    table = outcome_table(store, exp, specs)
    done = table.iloc[:4]
    assert done[exp.outcome_columns()].notna().all().all()
    # a point at the low corner of the emigration parameters may send no whole household
    # (registered emigrants only) at 1 in 4000; the batch as a whole must send some
    assert (done["cum_emigrants_2012_2018"] >= 0).all()
    assert done["cum_emigrants_2012_2018"].sum() > 0
    assert table.iloc[4:][exp.outcome_columns()].isna().all().all()
