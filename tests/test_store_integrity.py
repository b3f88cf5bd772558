"""A store can never report a run twice, and a damaged shard is quarantined and redone
(issue 10, items 3 and 4)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _cli_helpers import check_rejected
from _cli_helpers import main_inprocess as main

from model.runs.store import ResultStore, StoreLockedError

ROOT = Path(__file__).resolve().parent.parent


def rows(run_id: str, n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"run_id": [run_id] * n, "year": list(range(2012, 2012 + n)),
                         "metric": ["m"] * n, "group": ["all"] * n,
                         "value": [float(i) for i in range(n)]})


def test_a_run_written_twice_is_loaded_once(tmp_path):
    st = ResultStore(tmp_path / "s")
    st.write_shard(rows("a"))
    st.write_shard(pd.concat([rows("a"), rows("b")]))  # a second writer redid run a
    df = st.load()
    assert len(df) == 6 and sorted(df["run_id"].unique()) == ["a", "b"]
    assert len(st.load(run_id=["a"])) == 3
    assert len(st.load(metric="m")) == 6


@pytest.mark.parametrize("damage", ["truncate", "empty", "flip", "partial"])
def test_a_damaged_shard_is_quarantined_and_its_runs_are_not_done(tmp_path, damage):
    messages = []
    st = ResultStore(tmp_path / "s", report=messages.append)
    good = st.write_shard(rows("a"))
    bad = st.write_shard(rows("b", n=2000))
    data = bad.read_bytes()
    if damage == "truncate":
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        bad.write_bytes(b"")
    elif damage == "flip":
        b = bytearray(data)
        b[len(b) // 3] ^= 0xFF
        bad.write_bytes(bytes(b))
    else:  # a valid Parquet file holding fewer rows than its runs had
        table = pq.read_table(bad)
        meta = table.schema.metadata
        part = table.slice(0, 1000).replace_schema_metadata(meta)
        pq.write_table(part, bad)
    assert st.done_ids() == {"a"}
    assert not bad.exists() and (tmp_path / "s" / "quarantine" / bad.name).exists()
    assert len(messages) == 1 and bad.name in messages[0] and "run again" in messages[0]
    assert "\n" not in messages[0]
    assert good.exists() and sorted(st.load()["run_id"].unique()) == ["a"]


def test_resume_redoes_the_runs_of_a_damaged_shard(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["run", "baseline", "--out", "r", "--replicates", "3", "--end", "2012",
            "--scale", "4000", "--quiet", "--workers", "0"]
    assert main(args, capsys)[0] == 0
    first = pd.read_csv(tmp_path / "r" / "series.csv")
    shards = sorted((tmp_path / "r" / "store" / "shards").glob("part-*.parquet"))
    victim = shards[0]
    victim.write_bytes(victim.read_bytes()[:100])
    code, out, err = main(args, capsys)
    assert code == 0, err
    assert "is damaged" in err and "moved to" in err
    reused = int(out.split("(")[-1].split(" of ")[0])
    assert reused < 3  # the runs of the damaged shard ran again
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "r" / "series.csv"), first)
    # summarize works on the repaired store
    assert main(["summarize", "r", "--metric", "births"], capsys)[0] == 0


def test_a_shard_without_row_counts_is_not_trusted(tmp_path):
    st = ResultStore(tmp_path / "s", report=lambda m: None)
    pq.write_table(pa.Table.from_pandas(rows("x")), st.shards / "part-foreign.parquet")
    assert st.done_ids() == set()


def test_the_lock_is_exclusive_and_released(tmp_path):
    a = ResultStore(tmp_path / "s")
    a.lock()
    b = ResultStore(tmp_path / "s")
    with pytest.raises(StoreLockedError, match=r"emigsim pid \d+"):
        b.lock()
    a.unlock()
    b.lock()
    b.unlock()


HOLD = """
import sys, time
from model.runs.store import ResultStore
st = ResultStore(sys.argv[1]); st.lock(); print("locked", flush=True); time.sleep(60)
"""


def test_a_second_batch_on_a_locked_store_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["run", "baseline", "--out", "r", "--replicates", "2", "--end", "2012",
            "--scale", "4000", "--quiet", "--workers", "0"]
    assert main(args, capsys)[0] == 0
    before = (tmp_path / "r" / "series.csv").read_bytes()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "r" / "store")],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        check_rejected(*main(args, capsys), "is being written by emigsim pid")
        check_rejected(*main([*args, "--fresh"], capsys), "is being written by emigsim pid")
        assert (tmp_path / "r" / "series.csv").read_bytes() == before
        assert len(list((tmp_path / "r" / "store" / "shards").glob("*.parquet"))) == 2
    finally:
        holder.kill()
        holder.wait()
    # a killed holder leaves no stale lock
    time.sleep(0.1)
    code, out, err = main(args, capsys)
    assert code == 0 and "(2 of 2 runs reused)" in out, err
    m = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert m["batch"]["total"] == 2
