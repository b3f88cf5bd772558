"""What the commands print: the program name, written paths, failed runs.

Results go to stdout (one ``label: path`` line per output, so scripts can read them);
progress, start messages and failures go to stderr.

Examples
--------
>>> PROG
'emigsim'
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

__all__ = ["PROG", "report_failures", "print_written"]

PROG = "emigsim"


def report_failures(report: Any, store_path: Path, what: str,
                    set_aside: Path | None = None) -> None:
    """List the failed runs of a batch (the first ten) on stderr, and how to retry.

    Runs neither failed nor in the store (a result that lacked them) are counted as
    missing: a batch is complete only when its store holds every run. ``set_aside``:
    where ``--fresh`` moved the earlier store, which is still whole.
    """
    missing = getattr(report, "missing", 0)
    if missing:
        print(f"{PROG}: {missing} of {report.total} runs are missing from the store after the "
              f"batch ({report.failed} failed); {what}", file=sys.stderr)
    if report.failed or not missing:
        print(f"{PROG}: {report.failed} of {report.total} runs failed; {what}. The failed "
              "runs:", file=sys.stderr)
    for err in report.errors[:10]:
        print(f"  {err['run_id']} (point {err.get('point', 0)}, seed {err['seed']}): "
              f"{err['error']}", file=sys.stderr)
    if len(report.errors) > 10:
        print(f"  ... and {len(report.errors) - 10} more (tracebacks in {store_path}/errors/)",
              file=sys.stderr)
    print(f"{PROG}: run the same command again to retry them; finished runs are kept in "
          f"{store_path}", file=sys.stderr)
    if set_aside is not None:
        print(f"{PROG}: the earlier batch's runs (--fresh) are kept whole in {set_aside} until "
              f"a batch into this folder completes; to restore them, rename it back to "
              f"{store_path}", file=sys.stderr)


def print_written(outcome: Any, reference: str) -> None:
    """The paths a ``run`` or ``compare`` wrote (a :class:`model.runs.batches.BatchOutcome`)."""
    written = outcome.written
    print(f"series:   {written.series} ({written.rows} rows)")
    print(f"manifest: {written.manifest}")
    print(f"figures:  {written.out / 'figures'} ({len(written.figures)} files)")
    if written.differences is not None:
        print(f"differences: {written.differences} (paired, vs {reference})")
    if outcome.report is not None:
        report = outcome.report
        print(f"store:    {outcome.store_path} ({report.skipped} of {report.total} runs "
              "reused)")
