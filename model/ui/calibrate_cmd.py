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

from model.ui.options import int_at_least, positive_number

__all__ = ["add_parser", "cmd_calibrate"]



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


def _recovery_count(text: str | None) -> int | None:
    """``--recovery``'s N: None when not given (or given without N), else an int >= 1."""
    return int_at_least(text or None, "--recovery", 1,
                        "a number of datasets >= 1, or nothing")


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Run ``emigsim calibrate``; bad input raises (the CLI prints one line, exit 2)."""
    from pathlib import Path

    import model.analysis.calibration as cal
    from model.analysis.calibration.calibrate import _Folder
    from model.analysis.calibration.recovery import add_recovery

    workers = int_at_least(args.workers, "--workers", 0)
    n_datasets = _recovery_count(getattr(args, "recovery", None))
    max_sims = int_at_least(getattr(args, "max_simulations", None), "--max-simulations", 1)
    max_wall = positive_number(getattr(args, "max_walltime", None), "--max-walltime",
                               "seconds > 0")
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
