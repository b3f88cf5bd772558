"""``emigsim calibrate STUDY --out DIR [--quick] [--recovery [N]] [--workers N]``.

Reads and checks the study file (:mod:`model.analysis.calibration.study`) before anything
is written, then runs :func:`model.analysis.calibration.calibrate` into ``--out``: a
killed calibration continues from its ``abc.db`` when the same command is run again, and
a finished one only says where its results are.

``--recovery [N]`` then (also on a finished calibration, which is not redone) calibrates N
synthetic datasets drawn from the prior into ``OUT/recovery`` with the study's
``[recovery]`` budget (N: default its ``datasets``, 3 with ``--quick``; resumable per
dataset) and rewrites the dossier with the recovery coverage and the combined
identifiability verdict (:func:`model.analysis.calibration.recovery.add_recovery`).

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(prog="emigsim")
>>> sub = p.add_subparsers(dest="command")
>>> _ = add_parser(sub)
>>> a = p.parse_args(["calibrate", "calibration/kz_2012_2018.toml", "--out", "o", "--quick"])
>>> (a.command, a.study, a.out, a.quick, a.workers, a.recovery)
('calibrate', 'calibration/kz_2012_2018.toml', 'o', True, None, None)
>>> p.parse_args(["calibrate", "s.toml", "--out", "o", "--recovery"]).recovery
''
>>> _recovery_count(p.parse_args(["calibrate", "s.toml", "--out", "o", "--recovery", "4"]
...                              ).recovery)
4
"""

from __future__ import annotations

import argparse
import sys

from model.ui.options import CliError

__all__ = ["add_parser", "cmd_calibrate"]

_CLI = "command line"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``calibrate`` sub-command to an ``argparse`` sub-parsers object."""
    p = subparsers.add_parser(
        "calibrate", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="Bayesian calibration (ABC-SMC) of a study's behaviour parameters",
        description="Calibrate the free parameters of a study file by ABC-SMC (pyABC), with "
                    "the targets' observation errors as the acceptance kernel. Writes the "
                    "pyABC history (abc.db, for resuming), generations.csv, "
                    "population.csv, posterior.csv and the dossier/ into --out.",
        epilog="examples:\n"
               "  emigsim calibrate calibration/kz_2012_2018.toml --out runs/calibration\n"
               "  emigsim calibrate calibration/kz_2012_2018.toml --out runs/cal-quick "
               "--quick\n"
               "  emigsim calibrate calibration/kz_2012_2018.toml --out runs/calibration "
               "--recovery")
    p.add_argument("study", metavar="STUDY", help="a calibration study TOML file")
    p.add_argument("--out", metavar="DIR", required=True,
                   help="out folder (new or empty; or the folder of an earlier run of the "
                        "same calibration, which is resumed)")
    p.add_argument("--quick", action="store_true",
                   help="tiny population and few generations: a first look in about a "
                        "minute (the study's [quick] settings)")
    p.add_argument("--recovery", metavar="N", nargs="?", const="", default=None,
                   help="after the calibration (or on a finished one), calibrate N "
                        "synthetic datasets from the prior with the study's [recovery] "
                        "budget into OUT/recovery and add their coverage and the "
                        "identifiability verdict to the dossier (N: default the study's "
                        "[recovery] datasets, 3 with --quick)")
    p.add_argument("--workers", metavar="N", type=str, default=None,
                   help="worker processes (default: one per core; 0: in this process)")
    p.add_argument("--max-simulations", metavar="N", default=None,
                   help="replace the study's [budget] max_total_simulations (a calibration "
                        "that stopped by its budget before temperature 1 goes on when re-run "
                        "with a larger budget)")
    p.add_argument("--max-walltime", metavar="S", default=None,
                   help="replace the study's [budget] max_walltime, in seconds")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(handler=cmd_calibrate)
    return p


def _workers(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        n = int(text)
    except ValueError:
        raise CliError(f"{_CLI}: key '--workers' = {text!r} is not a whole number; "
                       "allowed: an integer >= 0") from None
    if n < 0:
        raise CliError(f"{_CLI}: key '--workers' = {n} is below 0; allowed: an integer >= 0")
    return n


def _recovery_count(text: str | None) -> int | None:
    """``--recovery``'s N: None when not given (or given without N), else an int >= 1."""
    if not text:
        return None
    try:
        n = int(text)
    except ValueError:
        raise CliError(f"{_CLI}: key '--recovery' = {text!r} is not a whole number; "
                       "allowed: a number of datasets >= 1, or nothing") from None
    if n < 1:
        raise CliError(f"{_CLI}: key '--recovery' = {n} is below 1; allowed: a number of "
                       "datasets >= 1, or nothing")
    return n


def _positive(text: str | None, key: str, kind: type) -> float | int | None:
    """A budget option's value: None when not given, else a number > 0 of ``kind``."""
    if text is None:
        return None
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise CliError(f"{_CLI}: key '{key}' = {text!r} is not allowed; allowed: a "
                       f"{'whole ' if kind is int else ''}number > 0")
    return value


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Run ``emigsim calibrate``; bad input raises (the CLI prints one line, exit 2)."""
    from pathlib import Path

    import model.analysis.calibration as cal
    from model.analysis.calibration.calibrate import _Folder
    from model.analysis.calibration.recovery import add_recovery

    workers = _workers(args.workers)
    n_datasets = _recovery_count(getattr(args, "recovery", None))
    max_sims = _positive(getattr(args, "max_simulations", None), "--max-simulations", int)
    max_wall = _positive(getattr(args, "max_walltime", None), "--max-walltime", float)
    study = cal.load_study(args.study)
    budget = {k: v for k, v in (("max_total_simulations", max_sims),
                                ("max_walltime", max_wall)) if v is not None}
    if budget:
        import dataclasses

        study = dataclasses.replace(study, **budget)
    _Folder(Path(args.out))  # refuses a folder that is not ours before anything runs
    progress = not args.quiet
    try:
        # looked up on the package at call time, so a test can put a toy calibrate there
        result = cal.calibrate(study, args.out, quick=args.quick, workers=workers,
                               progress=progress)
        if getattr(args, "recovery", None) is not None:
            add_recovery(study, result, n_datasets=n_datasets, quick=args.quick,
                         workers=workers, progress=progress,
                         echo=print if progress else (lambda s: None))
    except cal.CalibrationError as exc:
        print(f"emigsim: calibration stopped: {exc}", file=sys.stderr)
        return 1
    return 0
