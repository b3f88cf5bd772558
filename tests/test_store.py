"""The result store: atomic shards, finished-run ids, filtered loads, errors, batch.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from model.runs.batch import design_specs
from model.runs.execution import execute
from model.runs.store import ResultStore, StoreError
from model.scenario import Scenario


def rows(run_id: str, value: float = 1.0, years=(2012, 2013), metrics=("births", "deaths"),
         **extra) -> pd.DataFrame:
    """Tidy rows of one fake run: every year x metric, group "all"."""
    recs = [{"run_id": run_id, "scenario": "baseline", "replicate": np.int64(1),
             "seed": np.int64(3), "year": np.int64(y), "metric": m, "group": "all",
             "value": value + i}
            for i, (y, m) in enumerate((y, m) for y in years for m in metrics)]
    df = pd.DataFrame(recs)
    for k, v in extra.items():
        df[k] = v
    return df


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    keys = [k for k in ("run_id", "year", "metric", "group") if k in df.columns]
    return df.sort_values(keys).reset_index(drop=True)


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path) -> ResultStore:
    return ResultStore(tmp_path / "store")


# --- layout and atomic shards ------------------------------------------------------------


def test_new_store_is_empty_and_creates_its_folders(tmp_path):
    st = ResultStore(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b" / "shards").is_dir()
    assert (tmp_path / "a" / "b" / "errors").is_dir()
    assert st.done_ids() == set()
    assert st.shard_paths() == []
    assert st.load().empty
    assert list(st.load(columns=["run_id", "value"]).columns) == ["run_id", "value"]
    assert st.read_errors() == []
    assert st.read_batch() is None


def test_write_shard_leaves_one_final_file_and_no_temporary(store):
    path = store.write_shard(rows("a"))
    assert path.exists() and path.parent == store.shards
    assert path.name.startswith("part-") and path.suffix == ".parquet"
    assert store.shard_paths() == [path]
    assert files(store.shards) == [path.name]


def test_shard_round_trips_values_and_dtypes(store):
    df = rows("a", value=0.1)
    store.write_shard(df)
    pd.testing.assert_frame_equal(tidy(store.load()), tidy(df), check_dtype=False)
    got = store.load()
    assert got["year"].dtype == np.int64 and got["value"].dtype == np.float64
    assert got["seed"].dtype == np.int64


def test_temporary_leftover_of_a_killed_write_is_ignored(store):
    """A writer killed before its rename leaves ``part-*.parquet.tmp``; it is not a result."""
    store.write_shard(rows("done"))
    # a complete but never renamed shard, and a truncated one, as a kill would leave them
    pq.write_table(pa.Table.from_pandas(rows("ghost"), preserve_index=False),
                   store.shards / "part-0000.parquet.tmp")
    (store.shards / "part-0001.parquet.tmp").write_bytes(b"PAR1\x00\x01truncated")
    assert store.done_ids() == {"done"}
    assert [p.suffix for p in store.shard_paths()] == [".parquet"]
    assert set(store.load()["run_id"]) == {"done"}
    assert set(store.load(metric="births")["run_id"]) == {"done"}


def test_crash_between_write_and_rename_leaves_no_result(store, monkeypatch):
    """The rename is the commit point: before it, the run is not done."""
    store.write_shard(rows("a"))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed before the rename")

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.write_shard(rows("b"))
    monkeypatch.undo()
    assert store.done_ids() == {"a"}
    assert set(store.load()["run_id"]) == {"a"}
    assert len(store.shard_paths()) == 1


def test_resume_skips_exactly_the_finished_runs_despite_a_leftover(tmp_path):
    pts = [{"x1": 0.1 * i, "x2": 0.2, "x3": 0.3} for i in range(6)]
    specs = design_specs(Scenario(), pts, seed=1, replicates=1, model="ishigami")
    st = ResultStore(tmp_path / "s")
    execute(specs[:2], st, workers=0, chunk_size=1, progress=False)
    # a killed write of run 3 left a temporary file behind
    pq.write_table(pa.Table.from_pandas(st.load(), preserve_index=False),
                   st.shards / "part-ffff.parquet.tmp")
    rep = execute(specs, st, workers=0, chunk_size=1, progress=False)
    assert (rep.total, rep.skipped, rep.done, rep.failed) == (6, 2, 6, 0)
    assert st.done_ids() == {s.run_id for s in specs}
    assert len(st.load()) == 6  # one row per Ishigami run, none twice


# --- done ids -----------------------------------------------------------------------------


def test_done_ids_is_the_union_over_shards(store):
    store.write_shard(pd.concat([rows("a"), rows("b")], ignore_index=True))
    store.write_shard(rows("c"))
    assert store.done_ids() == {"a", "b", "c"}
    assert len(store.shard_paths()) == 2


def test_a_reopened_store_sees_the_same_results(store):
    store.write_shard(rows("a"))
    store.write_error("b", {"run_id": "b", "error": "ValueError: x"})
    again = ResultStore(store.path)
    assert again.done_ids() == {"a"}
    assert [e["run_id"] for e in again.read_errors()] == ["b"]
    pd.testing.assert_frame_equal(tidy(again.load()), tidy(store.load()))


# --- load with filters --------------------------------------------------------------------


@pytest.fixture
def filled(store) -> ResultStore:
    store.write_shard(pd.concat([rows("a", 1.0), rows("b", 10.0)], ignore_index=True))
    store.write_shard(rows("c", 100.0, years=(2012, 2013, 2014)))
    return store


def test_load_without_filters_returns_every_row(filled):
    want = pd.concat([rows("a", 1.0), rows("b", 10.0),
                      rows("c", 100.0, years=(2012, 2013, 2014))], ignore_index=True)
    pd.testing.assert_frame_equal(tidy(filled.load()), tidy(want), check_dtype=False)


def test_load_filters_by_one_value(filled):
    got = filled.load(metric="births")
    assert set(got["metric"]) == {"births"}
    assert len(got) == 2 + 2 + 3


def test_load_filters_by_a_list_or_tuple_and_combines_filters(filled):
    assert set(filled.load(run_id=["a", "c"])["run_id"]) == {"a", "c"}
    assert set(filled.load(run_id=("b",))["run_id"]) == {"b"}
    got = filled.load(run_id=["a", "c"], year=2013, metric="deaths")
    assert sorted(got["value"]) == [1.0 + 3, 100.0 + 3]


def test_load_columns_and_a_filter_on_an_unselected_column(filled):
    got = filled.load(columns=["run_id", "value"], year=2014)
    assert list(got.columns) == ["run_id", "value"]
    assert set(got["run_id"]) == {"c"} and len(got) == 2


def test_load_with_no_match_is_empty_with_the_columns(filled):
    got = filled.load(columns=["run_id", "value"], metric="no_such_metric")
    assert got.empty and list(got.columns) == ["run_id", "value"]


def test_load_single_shard_filters_like_many(store):
    store.write_shard(rows("a"))
    assert len(store.load(metric="births", year=[2013])) == 1


def test_load_keeps_columns_that_only_some_shards_have(store):
    # shard names are random; name them so that a shard without x1 sorts first
    store.write_shard(rows("a")).rename(store.shards / "part-0.parquet")
    store.write_shard(rows("b", x1=0.5)).rename(store.shards / "part-1.parquet")
    got = store.load()
    assert "x1" in got.columns
    assert len(store.load(x1=0.5)) == len(rows("b"))


# --- errors -------------------------------------------------------------------------------


def test_errors_are_kept_until_the_run_succeeds(store):
    err = {"run_id": "bad", "error": "KeyError: 'x3'", "traceback": "...", "design": {"x1": 1}}
    store.write_error("bad", err)
    store.write_error("other", {"run_id": "other", "error": "ValueError: y"})
    assert sorted(e["run_id"] for e in store.read_errors()) == ["bad", "other"]
    assert store.read_errors()[0] == err
    store.write_shard(rows("unrelated"))  # another run's success clears nothing
    assert sorted(e["run_id"] for e in store.read_errors()) == ["bad", "other"]
    store.write_error("bad", {**err, "error": "KeyError: 'x2'"})  # a second failure replaces
    assert [e["error"] for e in store.read_errors() if e["run_id"] == "bad"] == ["KeyError: 'x2'"]
    store.write_shard(rows("bad"))  # the run succeeds on a later attempt
    assert [e["run_id"] for e in store.read_errors()] == ["other"]
    assert not (store.errors / "bad.json").exists()
    assert store.done_ids() == {"unrelated", "bad"}


def test_an_error_of_a_run_that_is_done_is_not_reported(store):
    """Killed after the shard's rename but before the error file was removed."""
    store.write_shard(rows("a"))
    store.write_error("a", {"run_id": "a", "error": "old failure"})
    assert store.read_errors() == []


def test_error_files_are_written_atomically(store):
    store.write_error("bad", {"run_id": "bad", "error": "E", "when": Path("x")})
    assert files(store.errors) == ["bad.json"]
    assert json.loads((store.errors / "bad.json").read_text())["when"] == "x"


# --- batch description --------------------------------------------------------------------


def test_batch_json_round_trip(store):
    batch = {"command": "sensitivity", "scenario": {"name": "baseline", "scale": 50.0,
                                                    "params": {"age_peak": 32.5}},
             "seed": 1, "replicates": 3, "design": [{"x1": 0.1}, {"x1": -3.14}],
             "run_ids": ["a", "b"], "code": "abc123", "flag": True, "none": None}
    store.write_batch(batch)
    assert store.read_batch() == batch
    assert ResultStore(store.path).read_batch() == batch
    assert files(store.path) == ["batch.json"]  # no temporary left


def test_batch_json_is_replaced_whole_and_non_json_values_become_text(store):
    store.write_batch({"a": 1, "b": [1, 2, 3]})
    store.write_batch({"path": Path("runs/x"), "n": 2})
    assert store.read_batch() == {"path": "runs/x", "n": 2}


def test_unreadable_batch_json_is_a_store_error(store):
    store.batch_file.write_text('{"seed": 1,')
    with pytest.raises(StoreError, match="batch.json"):
        store.read_batch()
