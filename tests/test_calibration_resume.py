"""A calibration killed after its first generation continues on re-run; then it is done."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY = f'''
scenario = "baseline"
targets_file = "{ROOT / "calibration" / "targets" / "kz_2012_2018.csv"}"
seed = 5
[window]
end = 2014
[simulation]
scale = 2000
noise_runs = 2
prior_predictive_draws = 4
posterior_predictive_draws = 4
[abc]
population_size = 8
posterior_draws = 50
max_generations = 3
[budget]
max_total_simulations = 2000
max_walltime = 600
[parameters]
asc_emigrate = "registry"
[targets]
include = ["new_emigrants.count.all.201[34]"]
'''


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db) as con:
            t = con.execute("select max(t) from populations").fetchone()[0]
    except sqlite3.Error:
        return -1
    return -1 if t is None else int(t)


def _cmd(study, out):
    return [sys.executable, "-m", "model", "calibrate", str(study), "--out", str(out),
            "--workers", "0"]


def test_killed_calibration_resumes_and_finished_one_is_not_redone(tmp_path):
    study = tmp_path / "tiny.toml"
    study.write_text(STUDY, encoding="utf-8")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_cmd(study, out), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        for line in proc.stdout:
            if line.strip().startswith("generation 0:"):
                break
        # the line comes just before pyABC stores the generation: wait until it is stored
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _stored(out / "abc.db") < 0:
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert _stored(out / "abc.db") >= 0 and not (out / "result.json").exists()
    again = subprocess.run(_cmd(study, out), cwd=ROOT, capture_output=True, text=True,
                           env=env, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "continuing the calibration" in again.stdout
    assert "generation 0:" not in again.stdout  # the kept generation is not redone
    assert (out / "result.json").exists() and (out / "posterior.csv").exists()
    third = subprocess.run(_cmd(study, out), cwd=ROOT, capture_output=True, text=True,
                           env=env, timeout=120)
    assert third.returncode == 0 and "already finished" in third.stdout
