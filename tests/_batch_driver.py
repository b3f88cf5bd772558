"""A batch of real emigsim runs into a store, for the kill-and-resume tests.

Usage::

    python tests/_batch_driver.py STORE N_RUNS [WORKERS]

Runs the first ``N_RUNS`` specs of :func:`batch_specs` with :func:`model.runs.execution.execute`
(one run per chunk, so one shard per finished run) into the store folder ``STORE``, in
this process (``WORKERS`` = 0, the default) or on a LocalCluster of ``WORKERS`` worker
processes. Prints the batch report as one JSON line and exits 0 when every run is in the
store. The tests kill it with SIGKILL part way through and start it again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the repository's `model` importable
    sys.path.insert(0, str(ROOT))

from model.runs.batch import RunSpec, replicate_specs  # noqa: E402
from model.scenario import Scenario  # noqa: E402

SCENARIO = Scenario(scale=1000, end=2016)
"""Big enough that a run takes a noticeable fraction of a second, small enough for tests."""
SEED = 7


def batch_specs(n_runs: int) -> list[RunSpec]:
    """The specs of the driver's batch (the tests build the same list)."""
    return replicate_specs(SCENARIO, seed=SEED, replicates=n_runs)


def main(argv: list[str]) -> int:
    from model.runs.execution import execute
    from model.runs.store import ResultStore

    store, n_runs = argv[0], int(argv[1])
    workers = int(argv[2]) if len(argv) > 2 else 0
    rep = execute(batch_specs(n_runs), ResultStore(store), workers=workers, chunk_size=1,
                  progress=False)
    print(json.dumps({"total": rep.total, "done": rep.done, "skipped": rep.skipped,
                      "failed": rep.failed}), flush=True)
    return 0 if rep.complete else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
