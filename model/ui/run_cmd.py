"""``emigsim run`` and ``emigsim compare``: scenarios in, an output folder out.

Both validate their arguments here and then call :func:`model.runs.batches.run_scenarios`,
the function behind ``em.run`` and ``em.compare``, so the commands and the Python API
write the same tables.

Examples
--------
>>> from model.ui.cli import build_parser
>>> build_parser().parse_args(["run", "baseline", "--out", "o"]).replicates
'1'
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from model.scenario import Scenario, load_scenario
from model.ui.console import PROG, print_written, report_failures
from model.ui.options import (
    CLI,
    CliError,
    apply_run_options,
    batch_values,
    check_out,
    posterior_option,
    resolve_scenario_path,
    scheduler_refusal,
    size_refusal,
    store_conflict,
)

__all__ = ["cmd_run", "cmd_compare", "announce"]


def cmd_run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run ``emigsim run``: load, validate, run, write, report paths.

    One replicate runs in this process and the output folder is replaced atomically.
    Several replicates (or ``--scheduler``, or a folder that already holds a batch store)
    go through :func:`model.runs.execution.execute` into ``OUT/store``, which an interrupted
    batch resumes from; a store holding only another batch's runs is refused unless
    ``--fresh``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options of the ``run`` verb (see ``emigsim run --help``).
    argv : sequence of str
        The command line, recorded in the manifest.

    Returns
    -------
    int
        0 on success, 1 when runs of a batch failed (listed on stderr). Bad input raises
        :class:`~model.ui.options.CliError` or :class:`~model.scenario.ScenarioError`
        before anything is written.

    Examples
    --------
    >>> from model.ui.cli import build_parser
    >>> args = build_parser().parse_args(["run", "baseline", "--out", "runs/b"])
    >>> (args.command, args.seed, args.quiet, args.fresh)
    ('run', '1', False, False)
    """
    seed, replicates, workers, scheduler = batch_values(args)
    scenario = apply_run_options(load_scenario(resolve_scenario_path(args.scenario)), args)
    check_out(Path(args.out), "run")
    start = (f"{PROG}: running {scenario.name} {scenario.start}-{scenario.end}, scale "
             f"{scenario.scale:g}, {replicates} replicate(s), seed {seed}")
    return _run(args, argv, [scenario], seed, replicates, workers, scheduler, start)


def cmd_compare(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run ``emigsim compare``: several scenarios, paired replicates, one batch.

    Every scenario runs ``--replicates`` times with the same seeds (common random numbers)
    through the executor into ``OUT/store``; the folder then holds ``series.csv`` (all
    scenarios), ``differences.csv`` (each scenario minus the first, paired by replicate),
    ``manifest.json`` and ``figures/`` with the scenarios side by side.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options of the ``compare`` verb.
    argv : sequence of str
        The command line, recorded in the manifest.

    Returns
    -------
    int
        0 on success, 1 when runs failed (listed on stderr).

    Examples
    --------
    >>> from model.ui.cli import build_parser
    >>> args = build_parser().parse_args(["compare", "baseline", "pessimism_shock",
    ...                                   "--out", "runs/c"])
    >>> args.scenarios
    ['baseline', 'pessimism_shock']
    """
    seed, replicates, workers, scheduler = batch_values(args)
    if len(args.scenarios) < 2:
        raise CliError(f"{CLI}: key 'SCENARIO' needs at least two scenarios; allowed: "
                       "emigsim compare BASE OTHER [MORE ...] --out DIR")
    scenarios = [apply_run_options(load_scenario(resolve_scenario_path(name)), args)
                 for name in args.scenarios]
    names = [sc.name for sc in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CliError(f"{CLI}: key 'SCENARIO' names {dup[0]!r} twice; allowed: scenarios "
                       "with different names (set name = ... in a file)")
    windows = {(sc.start, sc.end, sc.scale) for sc in scenarios}
    if len(windows) > 1:
        raise CliError(f"{CLI}: key 'SCENARIO' the scenarios differ in [run] start, end or "
                       "scale; allowed: the same window and scale (set --start, --end, "
                       "--scale)")
    check_out(Path(args.out), "compare")
    start = (f"{PROG}: comparing {', '.join(names)} {scenarios[0].start}-{scenarios[0].end}, "
             f"scale {scenarios[0].scale:g}, {replicates} paired replicate(s), seed {seed}")
    return _run(args, argv, scenarios, seed, replicates, workers, scheduler, start)


def _run(args: argparse.Namespace, argv: Sequence[str], scenarios: list[Scenario],
         seed: int, replicates: int, workers: int | None, scheduler: str | None,
         start: str) -> int:
    from model.runs.batches import run_scenarios
    from model.runs.scheduler import SchedulerError
    from model.runs.sizing import BatchSizeError
    from model.runs.store import StoreConflictError

    out = Path(args.out)
    notices: list[str] = []

    def on_start(estimate) -> None:
        # once the scheduler answered and the batch fits: a refusal stays one line
        if not args.quiet:
            print(start, file=sys.stderr)
            for text in notices:  # no posterior file yet, or draws that wrap around
                print(f"{PROG}: notice: {text}", file=sys.stderr)
            announce(estimate)

    try:
        outcome = run_scenarios(scenarios, seed=seed, replicates=replicates, workers=workers,
                                scheduler=scheduler, out=out, fresh=args.fresh,
                                progress=not args.quiet, argv=argv, accept_long=args.yes,
                                on_start=on_start, posterior=posterior_option(args),
                                on_notice=notices.append)
    except StoreConflictError as exc:
        raise store_conflict(out, exc) from None
    except SchedulerError as exc:
        raise scheduler_refusal(exc) from None
    except BatchSizeError as exc:
        scale = scenarios[0].scale
        blame_workers = workers is not None and exc.resource == "memory" and not scheduler
        raise size_refusal(exc, {
            "runs": (CLI, "--replicates", replicates), "time": (CLI, "--replicates", replicates),
            "workers": (CLI, "--workers", workers),
            "memory": (CLI, "--workers", workers) if blame_workers else (CLI, "--scale", scale),
            "disk": (CLI, "--out", f"'{out}'")}) from None
    if not outcome.complete:
        report_failures(outcome.report, outcome.store_path, "series.csv, manifest.json and "
                        "figures/ were not updated", set_aside=outcome.set_aside)
        return 1
    print_written(outcome, scenarios[0].name)
    return 0


ANNOUNCE_SECONDS = 60.0
"""Batches estimated to take at least this long print their estimate before they start."""


def announce(estimate) -> None:
    """Print a large batch's estimate (runs, time, memory, disk) on stderr."""
    if estimate is not None and estimate.seconds >= ANNOUNCE_SECONDS:
        print(f"{PROG}: estimate: {estimate}", file=sys.stderr)
