"""``emigsim sensitivity``: an experiment file's batch (resumable), then its analysis.

Examples
--------
>>> from model.ui.cli import build_parser
>>> build_parser().parse_args(["sensitivity", "sobol_baseline", "--out", "o"]).store is None
True
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from model.ui.console import PROG, report_failures
from model.ui.options import (
    CLI,
    CliError,
    check_out,
    resolve_experiment_path,
    scheduler_option,
    scheduler_refusal,
    size_refusal,
    store_conflict,
    workers_option,
)

__all__ = ["cmd_sensitivity"]


def cmd_sensitivity(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run ``emigsim sensitivity``: the experiment's batch (resumable), then the analysis.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options of the ``sensitivity`` verb.
    argv : sequence of str
        The command line, recorded in the manifest.

    Returns
    -------
    int
        0 when every run finished and the outputs were written; 1 when runs failed (they
        are listed, nothing is analysed, and a re-run retries them).

    Examples
    --------
    >>> from model.ui.cli import build_parser
    >>> a = build_parser().parse_args(["sensitivity", "sobol_baseline", "--out", "o"])
    >>> (a.command, a.workers, a.fresh)
    ('sensitivity', None, False)
    """
    from model.analysis.experiment import load_experiment
    from model.runs.execution import default_workers

    workers = workers_option(args)
    scheduler = scheduler_option(args)
    exp = load_experiment(resolve_experiment_path(args.experiment))
    out = Path(args.out)
    check_out(out, "sensitivity")
    store_dir = None
    if args.store is not None:
        if args.fresh:
            raise CliError(f"{CLI}: key '--fresh' cannot be combined with --store (it would "
                           "delete another experiment's runs); allowed: one of them")
        store_dir = Path(args.store)
        if store_dir.exists() and not (store_dir / "shards").is_dir():
            raise CliError(f"{CLI}: key '--store' = '{store_dir}' is not a result store; "
                           "allowed: the store/ folder of an earlier emigsim batch, or a new "
                           "folder")

    from model.analysis.sensitivity import run_experiment, summary_text
    from model.runs.batch import RunSpec
    from model.runs.batches import auto_workers
    from model.runs.scheduler import SchedulerError
    from model.runs.sizing import BatchSizeError
    from model.runs.store import StoreConflictError
    from model.ui.run_cmd import announce

    given_workers = workers
    workers = auto_workers(workers, scheduler, exp.n_runs,
                           RunSpec("estimate", exp.scenario, 1, 1, model=exp.model))

    def on_start(estimate) -> None:
        # once the scheduler answered and the batch fits: a refusal stays one line
        if args.quiet:
            return
        where = scheduler or ("this process" if workers == 0 else
                              f"{workers or default_workers()} local workers")
        sc = exp.scenario
        print(f"{PROG}: {exp.name}: {exp.method}, {len(exp.parameters)} parameters, "
              f"{exp.n_points} design points x {exp.replicates} replicate(s) = {exp.n_runs} "
              f"runs of {sc.name} {sc.start}-{sc.end} at scale {sc.scale:g}, on {where}",
              file=sys.stderr)
        announce(estimate)

    try:
        result = run_experiment(exp, out, workers=workers, scheduler=scheduler,
                                progress=not args.quiet, fresh=args.fresh,
                                store_dir=store_dir, argv=argv, accept_long=args.yes,
                                on_start=on_start)
    except StoreConflictError as exc:
        raise (store_conflict(out, exc) if store_dir is None
               else store_conflict(store_dir, exc, "--store")) from None
    except SchedulerError as exc:
        raise scheduler_refusal(exc) from None
    except BatchSizeError as exc:
        source = exp.source or args.experiment
        design = (source, "n", exp.n)
        memory = ((CLI, "--workers", given_workers) if given_workers is not None
                  and not scheduler else (source, "run.scale", f"{exp.scenario.scale:g}"))
        disk = (CLI, "--out", f"'{out}'") if store_dir is None else \
            (CLI, "--store", f"'{store_dir}'")
        raise size_refusal(exc, {"runs": design, "time": design, "memory": memory,
                                 "workers": (CLI, "--workers", given_workers),
                                 "disk": disk}) from None
    store_path = store_dir or out / "store"
    if not result.report.complete:
        report_failures(result.report, store_path, "the partial design was not analysed")
        return 1
    print(summary_text(result))
    print(f"indices:  {out / 'indices.csv'}")
    print(f"noise:    {out / 'noise.csv'}")
    print(f"outcomes: {out / 'outcomes.csv'} (one row per run)")
    print(f"figures:  {out / 'figures'}")
    print(f"manifest: {out / 'manifest.json'}")
    print(f"store:    {store_path} ({result.report.skipped} of {result.report.total} runs "
          "reused)")
    return 0
