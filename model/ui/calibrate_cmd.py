"""``emigsim calibrate STUDY --out DIR [--quick] [--workers N]``: ABC-SMC calibration.

Reads and checks the study file (:mod:`model.analysis.calibration.study`) before anything
is written, then runs :func:`model.analysis.calibration.calibrate` into ``--out``: a
killed calibration continues from its ``abc.db`` when the same command is run again, and
a finished one only says where its results are.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(prog="emigsim")
>>> sub = p.add_subparsers(dest="command")
>>> _ = add_parser(sub)
>>> a = p.parse_args(["calibrate", "calibration/kz_2012_2018.toml", "--out", "o", "--quick"])
>>> (a.command, a.study, a.out, a.quick, a.workers)
('calibrate', 'calibration/kz_2012_2018.toml', 'o', True, None)
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
               "--quick")
    p.add_argument("study", metavar="STUDY", help="a calibration study TOML file")
    p.add_argument("--out", metavar="DIR", required=True,
                   help="out folder (new or empty; or the folder of an earlier run of the "
                        "same calibration, which is resumed)")
    p.add_argument("--quick", action="store_true",
                   help="tiny population and few generations: a first look in about a "
                        "minute (the study's [quick] settings)")
    p.add_argument("--workers", metavar="N", type=str, default=None,
                   help="worker processes (default: one per core; 0: in this process)")
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


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Run ``emigsim calibrate``; bad input raises (the CLI prints one line, exit 2)."""
    from pathlib import Path

    from model.analysis.calibration import CalibrationError, calibrate, load_study
    from model.analysis.calibration.calibrate import _Folder

    workers = _workers(args.workers)
    study = load_study(args.study)
    _Folder(Path(args.out))  # refuses a folder that is not ours before anything runs
    try:
        calibrate(study, args.out, quick=args.quick, workers=workers,
                  progress=not args.quiet)
    except CalibrationError as exc:
        print(f"emigsim: calibration stopped: {exc}", file=sys.stderr)
        return 1
    return 0
