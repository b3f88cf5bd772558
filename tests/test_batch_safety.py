"""Batches that answer every bad size or address in one line, and never lose a run.

Issue 10, items 5, 6, 9 and 12: an unreachable or wrong ``--scheduler`` is refused in one
line within a bounded time and leaves nothing behind; Ctrl-C during a batch ends with one
line and keeps the finished runs; batches too large for the machine are refused from an
estimate before anything is built; two batches on one scheduler never take each other's
results, and a batch is complete only when the store holds every one of its runs.
Every network test uses 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from contextlib import closing, contextmanager, suppress
from pathlib import Path

import pytest
from _cli_helpers import check_rejected
from _cli_helpers import main_inprocess as main
from test_execution import dask_cluster, kill_group, live_group_members, wait_for

from model.runs.batch import replicate_specs
from model.runs.execution import Executor, execute
from model.runs.store import ResultStore
from model.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
       "EMIGSIM_CONNECT_TIMEOUT": "3"}
TINY_RUN = ["--scale", "4000", "--end", "2012", "--replicates", "2", "--quiet"]


def emigsim(args: list[str], cwd: Path, timeout: float = 60, env: dict | None = None,
            **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "model", *args], cwd=cwd, env=env or ENV,
                          capture_output=True, text=True, timeout=timeout, check=False, **kw)


def at_most_6_gib() -> None:
    """Cap a subprocess's address space, so that a batch built in full fails fast."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))


def free_port() -> int:
    """A port of 127.0.0.1 where nothing listens (bound, then released)."""
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def hello_server():
    """A TCP server on 127.0.0.1 that accepts, says hello and then says nothing."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except (TimeoutError, OSError):
                continue
            conns.append(conn)
            with suppress(OSError):
                conn.sendall(b"hello\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for c in conns:
            c.close()
        srv.close()


# --- item 5: a scheduler that is not there, or not a scheduler ----------------------------


def check_one_line(proc: subprocess.CompletedProcess, *expected: str) -> None:
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith("emigsim: error: "), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    assert proc.stdout == ""


@pytest.mark.parametrize("kind", ["refused", "not-dask", "inproc", "tls", "bad-port",
                                  "no-port"])
def test_a_bad_scheduler_is_one_line_and_leaves_nothing(kind, tmp_path):
    port = free_port()
    with hello_server() as hello:
        address, expected = {
            "refused": (f"tcp://127.0.0.1:{port}", "refused"),
            "not-dask": (hello, "not a Dask scheduler"),
            "inproc": ("inproc://abc", "inproc://"),
            "tls": (f"tls://127.0.0.1:{port}", "tls://"),
            "bad-port": ("tcp://127.0.0.1:99999", "port"),
            "no-port": ("tcp://127.0.0.1", "port"),
        }[kind]
        # the connection bound is 3 s here (EMIGSIM_CONNECT_TIMEOUT): far below 60 s
        proc = emigsim(["run", "baseline", "--out", "o", *TINY_RUN, "--scheduler", address],
                       tmp_path)
    check_one_line(proc, "key '--scheduler'", address, expected)
    assert not (tmp_path / "o").exists()


def test_sensitivity_with_an_unreachable_scheduler_writes_nothing(tmp_path):
    from test_cli_batch import TINY

    (tmp_path / "tiny.toml").write_text(TINY)
    address = f"tcp://127.0.0.1:{free_port()}"
    proc = emigsim(["sensitivity", "tiny.toml", "--out", "o", "--quiet", "--scheduler",
                    address], tmp_path)
    check_one_line(proc, "key '--scheduler'", address)
    assert not (tmp_path / "o").exists()


def test_the_python_api_refuses_a_bad_scheduler_before_writing(tmp_path, monkeypatch):
    import model as em
    from model.runs.scheduler import SchedulerError

    monkeypatch.setenv("EMIGSIM_CONNECT_TIMEOUT", "2")
    with hello_server() as address, pytest.raises(SchedulerError, match="not a Dask"):
        em.run(Scenario(scale=4000, end=2012), replicates=2, scheduler=address,
               out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_the_connection_bound_is_checked(tmp_path):
    proc = emigsim(["run", "baseline", "--out", "o", *TINY_RUN, "--scheduler",
                    f"tcp://127.0.0.1:{free_port()}"], tmp_path,
                   env={**ENV, "EMIGSIM_CONNECT_TIMEOUT": "soon"})
    check_one_line(proc, "EMIGSIM_CONNECT_TIMEOUT", "soon")


# --- item 6: Ctrl-C ----------------------------------------------------------------------


def _default_sigint() -> None:
    """In the child before exec: SIGINT back to its default action (see below)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_a_local_cluster_batch_is_one_line_and_resumes(tmp_path):
    args = ["run", "baseline", "--out", "o", "--scale", "1000", "--end", "2016",
            "--replicates", "24", "--workers", str(min(2, os.cpu_count() or 1)), "--quiet"]
    shards = tmp_path / "o" / "store" / "shards"  # the store object only once the batch made it
    # the child runs as a foreground command would: with SIGINT's default action. A test
    # run started as a background job of a non-interactive shell inherits SIGINT ignored,
    # and Python then keeps ignoring it (as nohup'd programs should): Ctrl-C could never
    # reach the batch, which completed with exit 0 (three such runs in the sixth session)
    proc = subprocess.Popen([sys.executable, "-m", "model", *args], cwd=tmp_path, env=ENV,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_default_sigint)
    try:
        def some_shards() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"the batch ended before Ctrl-C:\n{proc.stderr.read()}")
            return shards.is_dir() and any(shards.glob("part-*.parquet"))

        wait_for(some_shards, 180, "a finished chunk", interval=0.01)
        kill_group(proc, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            kill_group(proc)
            proc.wait(timeout=30)
    assert proc.returncode == 130, err[-3000:]
    lines = err.splitlines()
    assert len(lines) == 1, err[-5000:]
    m = re.fullmatch(r"emigsim: interrupted after (\d+) of 24 runs; the finished runs are "
                     r"kept in (.+): run the same command again to resume", lines[0])
    assert m, lines[0]
    kept = int(m.group(1))
    store = ResultStore(tmp_path / "o" / "store")
    assert tmp_path / m.group(2) == tmp_path / "o" / "store"
    assert 1 <= kept < 24 and kept == len(store.done_ids())
    wait_for(lambda: not live_group_members(proc.pid), 30, "the workers to end", interval=0.05)

    again = emigsim(args, tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"({kept} of 24 runs reused)" in again.stdout


# --- item 9: sizes -----------------------------------------------------------------------


def test_a_billion_replicates_is_refused_at_once(tmp_path):
    proc = emigsim(["run", "baseline", "--out", "o", "--replicates", "1000000000"], tmp_path,
                   timeout=30, preexec_fn=at_most_6_gib)
    check_one_line(proc, "key '--replicates'", "1,000,000,000 runs")
    assert not (tmp_path / "o").exists()


def test_too_many_workers_is_refused(work_dir, capsys):
    from model.runs.sizing import max_workers

    n = max_workers() + 1
    check_rejected(*main(["run", "baseline", "--out", "o", *TINY_RUN, "--workers", str(n)],
                         capsys), f"key '--workers' = {n}")
    assert not (work_dir / "o").exists()


def test_a_long_batch_needs_yes(work_dir, capsys, monkeypatch):
    # two runs at scale 4000 take well over 0.1 s by the estimate: "long" at 1e-5 hours
    monkeypatch.setenv("EMIGSIM_LONG_BATCH_HOURS", "0.00001")
    args = ["run", "baseline", "--out", "o", *TINY_RUN, "--workers", "0"]
    check_rejected(*main(args, capsys), "--yes")
    assert not (work_dir / "o").exists()
    code, out, err = main([*args, "--yes"], capsys)
    assert code == 0, err
    assert (work_dir / "o" / "series.csv").is_file()


def test_a_design_too_large_for_memory_is_one_line(tmp_path):
    from test_cli_batch import TINY

    (tmp_path / "huge.toml").write_text(TINY.replace("n = 2", "n = 1000000000"))
    proc = emigsim(["sensitivity", "huge.toml", "--out", "o", "--quiet"], tmp_path, timeout=30,
                   preexec_fn=at_most_6_gib)
    check_one_line(proc, "huge.toml: key 'n'", "3,000,000,000 runs")
    assert not (tmp_path / "o").exists()


def test_a_cluster_too_small_for_a_run_is_refused(tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, memory_limit="300MB",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        proc = emigsim(["run", "baseline", "--out", "o", *TINY_RUN, "--scheduler",
                        cluster.scheduler_address], tmp_path, timeout=60)
    # a run at scale 4000 needs ~660 MiB in a worker (imports, cache, the run): too much
    check_one_line(proc, "key '--scale' = 4000", "per worker", "memory limit of 286 MiB")
    assert not (tmp_path / "o").exists()


@pytest.fixture
def work_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- item 12: two batches on one scheduler ----------------------------------------------


def test_two_batches_on_one_scheduler_each_get_all_their_runs(tmp_path):
    scenario = Scenario(scale=4000, end=2013)
    batches = {"a": replicate_specs(scenario, 5, 24), "b": replicate_specs(scenario, 5, 12)}
    assert batches["a"][0].run_id == batches["b"][0].run_id  # the same first run
    with dask_cluster(tmp_path / "dask") as cl:
        reports, errors = {}, {}

        def batch(name: str) -> None:
            try:
                store = ResultStore(tmp_path / name)
                # different chunk sizes: chunk i of one batch is another set of runs than
                # chunk i of the other
                size = 3 if name == "a" else 2
                reports[name] = execute(batches[name], store, scheduler=cl.address,
                                        chunk_size=size, progress=False)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors[name] = exc

        threads = [threading.Thread(target=batch, args=(n,), daemon=True) for n in batches]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not errors, errors
    for name, specs in batches.items():
        rep = reports[name]
        store = ResultStore(tmp_path / name)
        assert store.done_ids() == {s.run_id for s in specs}, name
        assert (rep.total, rep.done, rep.failed) == (len(specs), len(specs), 0), name


def test_a_batch_missing_runs_is_not_complete_and_says_so(tmp_path, monkeypatch, capsys):
    import model.runs.execution as execution

    real = execution.work_chunk

    def loses_the_last_run(chunk):  # a result that silently lacks a run
        out = real(chunk)
        last = chunk[-1].run_id
        keep = out.rows["run_id"] != last
        out.rows = out.rows[keep].reset_index(drop=True)
        out.row_runs, out.row_counts = out.row_runs[:-1], out.row_counts[:-1]
        return out

    monkeypatch.setattr(execution, "work_chunk", loses_the_last_run)
    specs = replicate_specs(Scenario(scale=4000, end=2012), 2, 4)
    rep = execute(specs, ResultStore(tmp_path / "s"), workers=0, chunk_size=2,
                  progress=False)
    assert not rep.complete
    assert (rep.total, rep.done, rep.failed, rep.missing) == (4, 2, 0, 2)

    from model.ui.console import report_failures

    report_failures(rep, tmp_path / "s", "nothing was written")
    err = capsys.readouterr().err
    assert "0 of 4 runs failed" not in err
    assert "2 of 4 runs are missing" in err


def test_executor_keys_differ_per_call():
    """Two calls (two batches) never share a task key, whatever their specs."""
    specs = replicate_specs(Scenario(scale=4000, end=2012), 1, 2)
    with Executor(workers=1, progress=False) as ex:
        from dask.distributed import get_task_stream

        with get_task_stream(ex.client) as stream:
            ex.run(specs, chunk_size=1)
            ex.run(specs, chunk_size=1)
    keys = [str(t["key"]) for t in stream.data if str(t["key"]).startswith("chunk-")]
    assert len(keys) == 4 and len(set(keys)) == 4


# --- the estimate, against hand-computed figures ------------------------------------------


def test_the_estimate_of_a_batch_by_hand(monkeypatch):
    from model import datasets
    from model.runs import sizing
    from model.runs.batch import RunSpec

    monkeypatch.setenv("EMIGSIM_POPULATION_CACHE_MB", "100")
    monkeypatch.setattr(sizing, "_cache_bytes", lambda: 100 * 2**20)
    spec = RunSpec("x", Scenario(scale=100, start=2012, end=2016), 1, 1)
    est = sizing.estimate_batch(spec, 20, workers=4)
    persons = float(datasets.population_by_region(2012).sum())
    # 5 years: 410 rows in the first, 374 in each further one
    assert est.rows_per_run == 410 + 4 * 374 == 1906
    # 45,000 households x 5 years x 1.2 us + 0.1 s a run, 20 runs on 4 workers
    assert est.seconds == pytest.approx(20 * (0.1 + 45_000 * 5 * 1.2e-6) / 4)
    assert est.run_bytes == int(persons / 100 * 220)
    assert est.worker_bytes == 400 * 2**20 + 100 * 2**20 + est.run_bytes
    assert est.disk_bytes == 20 * (8192 + 1906 * (6 + 90))
    # this process: 20 replicate specs, the 20 x 1906-row result table, its imports
    assert est.driver_bytes == 20 * 1024 + 20 * 1906 * 256 + 400 * 2**20


def test_what_the_checks_refuse(monkeypatch, tmp_path):
    from model.runs import sizing
    from model.runs.batch import RunSpec

    monkeypatch.setattr(sizing, "_cache_bytes", lambda: 0)
    monkeypatch.setattr(sizing, "max_workers", lambda: 8)
    est = sizing.estimate_batch(RunSpec("x", Scenario(scale=50), 1, 1), 100, workers=4)
    gib = 2**30
    sizing.check_batch(est, tmp_path, local_workers=4, memory=64 * gib)  # fits

    def refused(**kw) -> sizing.BatchSizeError:
        with pytest.raises(sizing.BatchSizeError) as info:
            sizing.check_batch(est, kw.pop("out", None), **kw)
        if info.value.resource not in ("env", "workers"):  # a batch's refusal: its estimate
            assert str(est) in str(info.value)
        return info.value

    assert refused(local_workers=9, memory=64 * gib).resource == "workers"
    # 4 workers of ~473 MiB and this process do not fit in 80% of 2 GiB
    assert refused(local_workers=4, memory=2 * gib).resource == "memory"
    assert refused(worker_memory=[8 * gib, 300 * 2**20], memory=64 * gib).resource == "memory"
    monkeypatch.setattr(sizing, "_free_disk", lambda out: est.disk_bytes - 1)
    assert refused(out=tmp_path, memory=64 * gib).resource == "disk"
    monkeypatch.setattr(sizing, "_free_disk", lambda out: est.disk_bytes)
    monkeypatch.setenv("EMIGSIM_LONG_BATCH_HOURS", str(est.seconds / 3600 * 0.99))
    assert refused(memory=64 * gib).resource == "time"
    sizing.check_batch(est, None, memory=64 * gib, accept_long=True)  # --yes
    monkeypatch.setenv("EMIGSIM_LONG_BATCH_HOURS", "soon")
    assert refused(memory=64 * gib).resource == "env"
