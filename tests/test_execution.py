"""The executor: identical results in-process, on a LocalCluster and on a real Dask cluster
(a ``dask scheduler`` and ``dask worker`` processes on localhost); batches killed with SIGKILL
resume without losing or repeating a run; a lost worker loses no run; a run that raises is
recorded and reported while the others complete.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import psutil
import pytest

import model.runs.batch
from model.runs.batch import design_specs, replicate_specs
from model.runs.execution import BatchReport, execute
from model.runs.store import ResultStore
from model.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().with_name("_batch_driver.py")
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
KEYS = ["run_id", "year", "metric", "group"]
_spec = importlib.util.spec_from_file_location("_batch_driver", DRIVER)
_driver = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_driver)
batch_specs = _driver.batch_specs  # the driver's batch, built here for the comparisons
N_RUNS = 10  # the driver's batch in these tests


# --- helpers ------------------------------------------------------------------------------


def table(store: ResultStore) -> pd.DataFrame:
    """Every row of the store in a canonical order."""
    return store.load().sort_values(KEYS).reset_index(drop=True)


def run_ids(specs) -> set[str]:
    return {s.run_id for s in specs}


def check_complete_once(store: ResultStore, specs) -> None:
    """Every run is in the store, in exactly one shard, with no row twice."""
    assert store.done_ids() == run_ids(specs)
    shards_per_run = Counter()
    for path in store.shard_paths():
        shards_per_run.update(set(pd.read_parquet(path, columns=["run_id"])["run_id"]))
    assert set(shards_per_run.values()) == {1}, "a run was written to more than one shard"
    df = store.load()
    assert not df.duplicated(KEYS).any()
    assert store.read_errors() == []


def quiet(specs, store, **kw) -> BatchReport:
    return execute(specs, store, progress=False, **kw)


def dask_cli(verb: str) -> list[str]:
    """The ``dask`` command of this interpreter's environment (CI's venv, not the PATH's)."""
    exe = Path(sys.executable).with_name("dask")
    if exe.exists():
        return [str(exe), verb]
    return [sys.executable, "-m", f"distributed.cli.dask_{verb}"]


def live_group_members(pgid: int) -> list[int]:
    """Processes of a process group that are still running (zombies do not count)."""
    out = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                out.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return out


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal a subprocess started with ``start_new_session=True`` and all its children."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def stop_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the group, wait, then SIGKILL whatever is left of it."""
    kill_group(proc, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    kill_group(proc, signal.SIGKILL)
    proc.wait(timeout=30)


def wait_for(condition, timeout: float, what: str, interval: float = 0.002):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


# --- a real Dask cluster on localhost -----------------------------------------------------


@dataclass
class Cluster:
    address: str
    folder: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}"
                         for p in sorted(self.folder.glob("*.log")))


@contextmanager
def dask_cluster(folder: Path, n_workers: int = 2) -> Iterator[Cluster]:
    """``dask scheduler`` plus ``n_workers`` single-thread ``dask worker`` processes.

    Each process is the leader of its own process group, so that stopping it also stops
    the worker process its nanny started.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sched_file = folder / "scheduler.json"
    cluster = Cluster("", folder)

    def spawn(name: str, args: list[str]) -> None:
        with open(folder / f"{name}.log", "wb") as log:
            cluster.procs[name] = subprocess.Popen(
                args, cwd=folder, env=ENV, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    def address() -> str | None:
        try:
            return json.loads(sched_file.read_text())["address"]
        except (OSError, ValueError, KeyError):
            return None

    try:
        spawn("scheduler", [*dask_cli("scheduler"), "--host", "127.0.0.1", "--port", "0",
                            "--scheduler-file", str(sched_file), "--no-dashboard"])
        for i in range(n_workers):  # they wait for the scheduler file themselves
            spawn(f"w{i}", [*dask_cli("worker"), "--scheduler-file", str(sched_file),
                            "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                            "--host", "127.0.0.1", "--name", f"w{i}",
                            "--local-directory", str(folder / f"w{i}"),
                            "--death-timeout", "60"])
        try:
            cluster.address = wait_for(address, 60, "the scheduler file", interval=0.05)
            assert cluster.address.startswith("tcp://127.0.0.1:"), cluster.address
            from dask.distributed import Client

            with Client(cluster.address, timeout="30s") as client:
                client.wait_for_workers(n_workers, timeout=120)
        except Exception as exc:
            raise AssertionError(f"the Dask cluster did not start: {exc}\n{cluster.logs()}") \
                from exc
        yield cluster
    finally:
        for proc in reversed(cluster.procs.values()):  # workers first, then the scheduler
            stop_group(proc)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    with dask_cluster(tmp_path_factory.mktemp("dask")) as c:
        yield c


@pytest.fixture(scope="module")
def specs():
    return batch_specs(N_RUNS)


@pytest.fixture(scope="module")
def reference(specs, tmp_path_factory) -> pd.DataFrame:
    """The driver's batch run in this process, uninterrupted."""
    store = ResultStore(tmp_path_factory.mktemp("reference"))
    rep = quiet(specs, store, workers=0)
    assert rep.complete and rep.failed == 0
    check_complete_once(store, specs)
    return table(store)


# --- same values everywhere ---------------------------------------------------------------


def test_real_cluster_gives_the_in_process_values(cluster, specs, reference, tmp_path):
    from dask.distributed import Client, get_task_stream

    store = ResultStore(tmp_path / "store")
    with Client(cluster.address, timeout="30s") as client, \
            get_task_stream(client) as stream:  # the scheduler records every task
        rep = quiet(specs, store, scheduler=cluster.address, chunk_size=1)
    assert (rep.total, rep.done, rep.skipped, rep.failed) == (N_RUNS, N_RUNS, 0, 0)
    check_complete_once(store, specs)
    pd.testing.assert_frame_equal(table(store), reference)
    chunks = [t for t in stream.data if str(t["key"]).startswith("chunk-")]
    assert len(chunks) == N_RUNS == len(store.shard_paths())  # one run per chunk and shard
    assert len({t["worker"] for t in chunks}) == 2  # both workers took part

    again = quiet(specs, store, scheduler=cluster.address, chunk_size=1)
    assert (again.done, again.skipped, again.failed) == (N_RUNS, N_RUNS, 0)
    assert len(store.shard_paths()) == N_RUNS  # nothing written twice


def test_one_and_two_local_workers_give_identical_tables(specs, reference, tmp_path):
    tables = {}
    for workers in (1, 2):
        store = ResultStore(tmp_path / f"w{workers}")
        rep = quiet(specs, store, workers=workers, chunk_size=1)
        assert rep.complete and rep.failed == 0
        check_complete_once(store, specs)
        tables[workers] = table(store)
    pd.testing.assert_frame_equal(tables[1], tables[2])
    pd.testing.assert_frame_equal(tables[1], reference)


def test_default_chunking_gives_the_same_values(specs, reference, tmp_path):
    store = ResultStore(tmp_path / "s")
    rep = quiet(specs, store, workers=0)  # chunk size from the run-time estimate
    assert rep.complete
    pd.testing.assert_frame_equal(table(store), reference)


# --- kill and resume ----------------------------------------------------------------------


def driver(store: Path, workers: int) -> list[str]:
    return [sys.executable, str(DRIVER), str(store), str(N_RUNS), str(workers)]


@pytest.mark.parametrize(("kill_after", "workers"), [
    pytest.param(1, 0, id="after-1-shard"),
    pytest.param(N_RUNS // 2, 0, id="after-half"),
    pytest.param(N_RUNS - 1, 0, id="before-last"),
    pytest.param(N_RUNS // 2, 1, id="after-half-localcluster"),
])
def test_sigkill_then_resume_loses_and_repeats_nothing(kill_after, workers, specs, reference,
                                                       tmp_path):
    folder = tmp_path / "store"
    store = ResultStore(folder)
    log = tmp_path / "driver.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(driver(folder, workers), cwd=tmp_path, env=ENV,
                                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        def enough_shards() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"the driver ended before the kill:\n{log.read_text()}")
            return len(store.shard_paths()) >= kill_after

        wait_for(enough_shards, 180, f"{kill_after} shard(s)", interval=0.001)
        kill_group(proc)  # the driver and, with a LocalCluster, its worker processes
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        wait_for(lambda: not live_group_members(proc.pid), 30, "the killed group to die",
                 interval=0.05)
    finally:
        if proc.poll() is None:
            kill_group(proc)
            proc.wait(timeout=30)

    done_at_kill = store.done_ids()
    assert kill_after <= len(done_at_kill) < N_RUNS, "the kill came too late to test resuming"
    assert done_at_kill <= run_ids(specs)

    out = subprocess.run(driver(folder, workers), cwd=tmp_path, env=ENV, capture_output=True,
                         text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    rep = json.loads(out.stdout.strip().splitlines()[-1])
    assert rep == {"total": N_RUNS, "done": N_RUNS, "skipped": len(done_at_kill), "failed": 0}
    check_complete_once(store, specs)
    pd.testing.assert_frame_equal(table(store), reference)


# --- losing a worker ----------------------------------------------------------------------


def test_losing_a_worker_mid_batch_loses_no_run(tmp_path):
    specs = replicate_specs(Scenario(scale=500, end=2018), seed=11, replicates=12)
    expected_store = ResultStore(tmp_path / "expected")
    assert quiet(specs, expected_store, workers=0).complete
    expected = table(expected_store)

    with dask_cluster(tmp_path / "dask") as cl:
        from dask.distributed import Client

        store = ResultStore(tmp_path / "store")
        result: dict = {}

        def batch() -> None:
            try:
                result["report"] = quiet(specs, store, scheduler=cl.address, chunk_size=1)
            except BaseException as exc:  # noqa: BLE001 - shown by the main thread
                result["error"] = exc

        thread = threading.Thread(target=batch, daemon=True)
        with Client(cl.address, timeout="30s") as client:
            thread.start()
            wait_for(lambda: store.shard_paths() or "error" in result, 120,
                     "the first finished run", interval=0.005)

            def busy_worker() -> str | None:
                info = client.scheduler_info()["workers"]
                names = [info[a]["name"] for a, keys in client.processing().items()
                         if a in info and any(str(k).startswith("chunk-") for k in keys)]
                return names[0] if names else None

            victim = wait_for(busy_worker, 60, "a worker with a running task", interval=0.005)
            done_at_kill = len(store.done_ids())
            kill_group(cl.procs[victim])  # nanny and worker: the worker is gone for good
            cl.procs[victim].wait(timeout=30)
            thread.join(timeout=180)
            assert not thread.is_alive(), \
                f"the batch did not finish after the worker loss\n{cl.logs()}"
            assert len(client.nthreads()) == 1  # the lost worker did not come back

    assert "error" not in result, result.get("error")
    rep = result["report"]
    assert done_at_kill < len(specs), "the worker was killed after the batch had finished"
    assert (rep.total, rep.done, rep.failed) == (12, 12, 0), rep.errors
    check_complete_once(store, specs)
    pd.testing.assert_frame_equal(table(store), expected)


# --- a run that raises --------------------------------------------------------------------


def ishigami_with_a_bad_point():
    points = [{"x1": 0.5, "x2": -1.0, "x3": 2.0}, {"x1": 1.0, "x2": 0.0},  # no x3: KeyError
              {"x1": -0.5, "x2": 2.0, "x3": 0.1}, {"x1": 3.0, "x2": 1.0, "x3": -2.0}]
    specs = design_specs(Scenario(), points, seed=3, replicates=1, model="ishigami")
    return specs, specs[1]


@pytest.mark.parametrize("where", ["in-process", "local-cluster", "real-cluster"])
def test_a_run_that_raises_is_recorded_and_the_others_complete(where, request, tmp_path):
    specs, bad = ishigami_with_a_bad_point()
    store = ResultStore(tmp_path / "store")
    kw = {"in-process": {"workers": 0}, "local-cluster": {"workers": 1}}.get(where)
    if kw is None:
        kw = {"scheduler": request.getfixturevalue("cluster").address}
    rep = quiet(specs, store, chunk_size=2, **kw)  # the bad run shares a chunk with a good one

    assert (rep.total, rep.done, rep.skipped, rep.failed) == (4, 3, 0, 1)
    assert not rep.complete
    [err] = rep.errors
    assert err["run_id"] == bad.run_id and err["point"] == 1
    assert err["error"] == "KeyError: 'x3'"
    assert "KeyError" in err["traceback"]
    assert store.done_ids() == run_ids(specs) - {bad.run_id}
    assert [e["run_id"] for e in store.read_errors()] == [bad.run_id]
    assert store.read_errors()[0]["error"] == "KeyError: 'x3'"

    # a resume skips the three good runs, tries the bad one again and keeps its error
    again = quiet(specs, store, chunk_size=2, **kw)
    assert (again.done, again.skipped, again.failed) == (3, 3, 1)
    assert [e["run_id"] for e in store.read_errors()] == [bad.run_id]
    assert len(store.load()) == 3


def test_an_error_is_cleared_when_the_run_later_succeeds(monkeypatch, tmp_path):
    pts = [{"x1": 0.1, "x2": 0.2, "x3": 0.3}, {"x1": 1.0, "x2": 2.0, "x3": 3.0}]
    specs = design_specs(Scenario(), pts, seed=1, replicates=1, model="ishigami")
    real = model.runs.batch.MODELS["ishigami"]
    calls = Counter()

    def flaky(spec):
        calls[spec.run_id] += 1
        if spec.point == 1 and calls[spec.run_id] == 1:
            raise RuntimeError("transient failure")
        return real(spec)

    monkeypatch.setitem(model.runs.batch.MODELS, "ishigami", flaky)
    store = ResultStore(tmp_path / "store")
    first = quiet(specs, store, workers=0, chunk_size=1)
    assert (first.done, first.failed) == (1, 1)
    assert first.errors[0]["error"] == "RuntimeError: transient failure"
    assert [e["run_id"] for e in store.read_errors()] == [specs[1].run_id]

    second = quiet(specs, store, workers=0, chunk_size=1)
    assert (second.done, second.skipped, second.failed, second.errors) == (2, 1, 0, [])
    assert second.complete
    assert store.read_errors() == []
    assert list(store.errors.iterdir()) == []
    assert calls == {specs[0].run_id: 1, specs[1].run_id: 2}


def test_points_that_vary_different_parameters_can_share_a_chunk(tmp_path):
    """A one-at-a-time design: each point sets its own parameter; every run succeeds."""
    pts = [{"age_peak": 30.0}, {"b_compatriot": 0.1}]
    specs = design_specs(Scenario(scale=3000, end=2013), pts, seed=1, replicates=1)
    store = ResultStore(tmp_path / "store")
    rep = quiet(specs, store, workers=0, chunk_size=2)
    assert (rep.done, rep.failed) == (2, 0)
    assert {"age_peak", "b_compatriot"} <= set(store.load().columns)
