"""The reusable Executor: one cluster across submit() calls, per-run results equal to what
execute() stores, reducers that run on the workers and send back only their value, the
population cache of warm workers (and turning it off), and errors reported per run.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

import dask.distributed
import pandas as pd
import pytest

from model.core import population_cache
from model.runs.batch import design_specs, replicate_specs
from model.runs.execution import Executor, RunResult, execute
from model.runs.reducers import national_series
from model.runs.runner import _simulate
from model.runs.store import ResultStore
from model.scenario import Scenario

KEYS = ["run_id", "year", "metric", "group"]
SCENARIO = Scenario(scale=4000, end=2014)


def emigrants_and_pid(rows, model):
    """A reducer: a statistic of the rows, one of the model, and where it ran."""
    import os

    sel = rows[(rows["metric"] == "new_emigrants") & (rows["group"] == "all")]
    return {"pid": os.getpid(), "emigrants": float(sel["value"].sum()),
            "households": int(model.n_households_start)}


def cache_counts(rows, model):
    """A reducer: this process's population cache counters after the run."""
    import os

    from model.core import population_cache

    c = population_cache.default_cache()
    return os.getpid(), c.hits, c.misses


def stacked(results: list[RunResult]) -> pd.DataFrame:
    return (pd.concat([r.rows for r in results], ignore_index=True)
            .sort_values(KEYS).reset_index(drop=True))


@pytest.fixture
def counted_clusters(monkeypatch):
    """Count LocalClusters started (the Executor imports the class when it needs one)."""
    started = []

    class Counting(dask.distributed.LocalCluster):
        def __init__(self, *a, **kw):
            started.append(kw)
            super().__init__(*a, **kw)

    monkeypatch.setattr(dask.distributed, "LocalCluster", Counting)
    return started


def test_one_cluster_serves_every_call_and_reducers_run_on_its_workers(counted_clusters,
                                                                       tmp_path):
    specs = replicate_specs(SCENARIO, seed=3, replicates=4)
    reduced = [replace(s, reducer=emigrants_and_pid) for s in specs]
    named = [replace(s, reducer="model.runs.reducers:national_series") for s in specs[:2]]
    with Executor(workers=2, progress=False, chunk_size=1) as ex:
        rows = list(ex.submit(specs))
        client, cluster = ex.client, ex._cluster
        values = ex.run(reduced)
        by_name = ex.run(named)
        assert ex.client is client and ex._cluster is cluster
        worker_pids = set(client.run(os.getpid).values())
    assert len(counted_clusters) == 1  # three calls, one cluster
    assert counted_clusters[0]["dashboard_address"] is None  # no dashboard unless asked

    # rows: as execute() stores them, whatever the workers and the completion order
    assert all(r.ok and r.value is None for r in rows)
    assert {r.run_id for r in rows} == {s.run_id for s in specs}
    store = ResultStore(tmp_path / "store")
    assert execute(specs, store, workers=0, progress=False).complete
    expected = store.load().sort_values(KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(stacked(rows), expected, check_exact=True)

    # reducers: the worker's value only, equal to the reducer of the full rows and model
    assert all(r.ok and r.rows is None for r in values + by_name)
    assert [r.spec for r in values] == reduced  # run() keeps the order of the specs
    pids = {r.value["pid"] for r in values}
    assert pids <= worker_pids and os.getpid() not in pids
    for r in values:
        model, full = _simulate(r.spec.scenario, r.spec.seed)
        expect = emigrants_and_pid(full, model)
        assert r.value["emigrants"] == expect["emigrants"] > 0
        assert r.value["households"] == expect["households"]
        assert r.value["pid"] != expect["pid"]
    for r in by_name:
        assert r.value == national_series(_simulate(r.spec.scenario, r.spec.seed)[1])


def test_per_run_rows_do_not_depend_on_chunking_or_workers():
    """Runs of a one-at-a-time design (each point its own parameter) share chunks or not."""
    pts = [{"realise_emigrate": 0.03}, {"b_compatriot": 0.1}, {"realise_emigrate": 0.01}]
    specs = design_specs(SCENARIO, pts, seed=1, replicates=1)
    with Executor(workers=0, progress=False) as ex:
        alone = {r.run_id: r.rows for r in ex.submit(specs, chunk_size=1)}
        shared = {r.run_id: r.rows for r in ex.submit(specs, chunk_size=3)}
    with Executor(workers=2, progress=False) as ex:
        remote = {r.run_id: r.rows for r in ex.submit(specs, chunk_size=2)}
    for spec in specs:
        a = alone[spec.run_id]
        assert list(a.columns)[-1] == next(iter(spec.design))  # only its own design column
        pd.testing.assert_frame_equal(a, shared[spec.run_id], check_exact=True)
        pd.testing.assert_frame_equal(a, remote[spec.run_id], check_exact=True)


def test_warm_workers_build_a_population_once_and_the_cache_can_be_turned_off():
    specs = [replace(s, reducer=cache_counts)
             for s in design_specs(SCENARIO, [{"realise_emigrate": v} for v in
                                              (0.01, 0.02, 0.03, 0.04, 0.05, 0.06)],
                                   seed=2, replicates=1)]

    def per_worker(results):
        last = {}
        for r in results:  # the counters only grow; keep each worker's last
            pid, hits, misses = r.value
            last[pid] = max(last.get(pid, (0, 0)), (hits, misses))
        return last

    # an external cluster that two executors use one after the other
    with dask.distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None,
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                       silence_logs=logging.ERROR) as cluster:
        address = cluster.scheduler_address
        with Executor(scheduler=address, progress=False, chunk_size=1,
                      population_cache=0) as ex:
            off = per_worker(ex.submit(specs))
        assert all(h == 0 for h, _ in off.values())
        assert sum(m for _, m in off.values()) == len(specs)  # every run built its own

        # the default is each worker's own setting (on), not the earlier executor's
        with Executor(scheduler=address, progress=False, chunk_size=1) as ex:
            on = per_worker(ex.submit(specs))
    gained = {pid: (h - off.get(pid, (0, 0))[0], m - off.get(pid, (0, 0))[1])
              for pid, (h, m) in on.items()}
    assert all(m == 1 for _, m in gained.values())  # one build per worker, then copies
    assert sum(h for h, _ in gained.values()) + len(gained) == len(specs)


def test_the_population_cache_option_applies_in_process_too():
    try:
        with Executor(workers=0, progress=False, population_cache=0) as ex:
            [res] = ex.run(replicate_specs(SCENARIO, seed=1, replicates=1))
        assert res.ok and population_cache.default_cache().max_bytes == 0
    finally:
        population_cache.configure(None)


@pytest.mark.parametrize("workers", [0, 1])
def test_an_error_is_reported_for_its_run_while_the_others_complete(workers):
    points = [{"x1": 0.5, "x2": -1.0, "x3": 2.0}, {"x1": 1.0, "x2": 0.0},  # no x3: KeyError
              {"x1": -0.5, "x2": 2.0, "x3": 0.1}, {"x1": -1.5, "x2": 0.0, "x3": 0.0}]
    specs = design_specs(Scenario(), points, seed=3, replicates=1, model="ishigami")

    def fails_on_negative(rows, model):
        value = float(rows["value"].iloc[0])
        if value < 0:
            raise ArithmeticError("negative")
        return value

    specs[3] = replace(specs[3], reducer=fails_on_negative)  # y(-1.5, 0, 0) < 0
    specs[2] = replace(specs[2], reducer=fails_on_negative)  # y(-0.5, 2, 0.1) > 0
    with Executor(workers=workers, progress=False, chunk_size=2) as ex:
        res = ex.run(specs)
    assert [r.ok for r in res] == [True, False, True, False]
    assert res[1].error["error"] == "KeyError: 'x3'" and res[1].error["point"] == 1
    assert res[3].error["error"] == "ArithmeticError: negative"
    assert "fails_on_negative" in res[3].error["traceback"]
    assert res[0].rows is not None and res[2].value > 0 and res[2].rows is None


def test_stopping_early_cancels_the_rest_and_the_executor_goes_on():
    specs = replicate_specs(SCENARIO, seed=8, replicates=8)
    with Executor(workers=1, progress=False, chunk_size=1) as ex:
        it = ex.submit(specs)
        first = next(it)
        it.close()
        again = ex.run(specs[:2])
    assert first.ok and [r.ok for r in again] == [True, True]
    assert [r.run_id for r in again] == [s.run_id for s in specs[:2]]


def test_bad_reducers_and_reducers_in_a_store_batch_are_refused(tmp_path):
    [spec] = replicate_specs(SCENARIO, seed=1, replicates=1)
    with Executor(workers=0, progress=False) as ex:
        with pytest.raises(ValueError, match="reducer 'model.runs.reducers:nope'"):
            ex.submit([replace(spec, reducer="model.runs.reducers:nope")])
        with pytest.raises(ValueError, match="neither a callable"):
            ex.submit([replace(spec, reducer="national_series")])
    with pytest.raises(ValueError, match="Executor.submit"):
        execute([replace(spec, reducer=national_series)], ResultStore(tmp_path / "s"),
                workers=0, progress=False)
    assert not any((tmp_path / "s").rglob("*.parquet"))


def test_the_reducer_is_not_part_of_the_run_id():
    [spec] = replicate_specs(SCENARIO, seed=1, replicates=1)
    assert replace(spec, reducer=national_series).run_id == spec.run_id
