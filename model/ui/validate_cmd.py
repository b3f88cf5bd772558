"""``emigsim validate STUDY --origins ... --out DIR``: forecast skill on held-out years.

For each origin year the study is calibrated on its targets up to that year, the later
years are forecast with posterior draws and scored with the naive baselines
(:mod:`model.analysis.validation.validate`). Every argument is checked before anything is
written (one line, exit 2). Re-running the same command resumes: finished origins are not
calibrated again.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(prog="emigsim")
>>> sub = p.add_subparsers(dest="command")
>>> _ = add_parser(sub)
>>> a = p.parse_args(["validate", "s.toml", "--origins", "2014", "2016", "--out", "o"])
>>> (a.command, a.study, a.origins, a.out, a.draws)
('validate', 's.toml', ['2014', '2016'], 'o', '100')
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model.ui.options import CLI, CliError, int_at_least, positive_number

__all__ = ["add_parser", "cmd_validate", "parse_options"]

_BUDGET_KEYS = {"population_size": ("population_size", "--population-size"),
                "first_wave": ("first_wave", "--first-wave"),
                "wave_size": ("wave_size", "--wave-size"),
                "max_total_simulations": ("max_simulations", "--max-simulations"),
                "max_walltime": ("max_walltime", "--max-walltime")}
"""Study field replaced -> (argparse attribute, option) of the reduced-budget options."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``validate`` sub-command to an ``argparse`` sub-parsers object; returns it."""
    p = subparsers.add_parser(
        "validate", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="score forecasts of held-out years against naive baselines",
        description="For each origin year O: calibrate the study on its targets of years <= "
                    "O, forecast O+1 to the last target year with posterior draws, and score "
                    "registered emigrants, the net migration balance and the age and region "
                    "shares of emigrants against the official figures (weighted interval "
                    "score, 50%% and 90%% coverage, absolute percentage error of the median); "
                    "score persistence, drift and ARIMA forecasts made at the same origins. "
                    "Writes skill.csv, relative_skill.csv (model WIS / baseline WIS, below 1: "
                    "model better) and skill.png; one folder per origin (resumable).",
        epilog="examples:\n  emigsim validate calibration/kz_2012_2018.toml --origins 2014 "
               "2015 2016 2017 --out runs/validation\n"
               "  emigsim validate calibration/kz_2012_2018.toml --origins 2016 --quick "
               "--out runs/val-quick")
    p.add_argument("study", metavar="STUDY", help="a calibration study file (TOML)")
    p.add_argument("--origins", metavar="YEAR", nargs="+", required=True,
                   help="origin years: each must leave a year to forecast")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder")
    p.add_argument("--draws", metavar="N", default="100",
                   help="posterior draws per forecast, one run each (default: %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help="calibrate each origin with the study's quick budget")
    p.add_argument("--population-size", metavar="N",
                   help="particles per generation of each origin's ABC-SMC calibration "
                        "(reduced budget; default: the study's)")
    p.add_argument("--first-wave", metavar="N",
                   help="runs of wave 0 of each origin's emulation calibration (default: "
                        "the study's)")
    p.add_argument("--wave-size", metavar="N",
                   help="runs of each later wave of an emulation calibration (default: the "
                        "study's)")
    p.add_argument("--max-simulations", metavar="N",
                   help="simulations per origin's calibration (default: the study's)")
    p.add_argument("--max-walltime", metavar="SECONDS",
                   help="wall time per origin's calibration (default: the study's)")
    p.add_argument("--seed", metavar="N", default="1",
                   help="seed of the forecast runs and their observation noise "
                        "(default: %(default)s)")
    p.add_argument("--workers", metavar="N", help="worker processes of the calibrations")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def parse_options(args: argparse.Namespace) -> dict:
    """Check the options that need no file; return them typed (raises :class:`CliError`).

    Examples
    --------
    >>> a = argparse.Namespace(origins=["2014"], draws="5", seed="1", workers=None,
    ...                        population_size="50", max_simulations=None,
    ...                        max_walltime=None, first_wave=None, wave_size="200", out="o")
    >>> o = parse_options(a)
    >>> o["origins"], o["n_draws"], o["budget"]
    ([2014], 5, {'population_size': 50, 'wave_size': 200})
    """
    origins = []
    for text in args.origins:
        try:
            origins.append(int(text))
        except ValueError:
            raise CliError(f"{CLI}: key '--origins' = {text!r} is not a year; allowed: "
                           "whole years, e.g. 2014 2015 2016 2017") from None
    budget: dict = {}
    for field, (attr, key) in _BUDGET_KEYS.items():
        text = getattr(args, attr)
        if text is None:
            continue
        if field == "max_walltime":
            budget[field] = positive_number(text, key, "seconds > 0")
        else:
            budget[field] = int_at_least(text, key, 1)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"{CLI}: key '--out' = '{out}' is a file; allowed: a folder (new or "
                       "an earlier validation's, to resume)")
    return {"origins": origins, "n_draws": int_at_least(args.draws, "--draws", 1),
            "seed": int_at_least(args.seed, "--seed", 0),
            "workers": int_at_least(args.workers, "--workers", 0),
            "budget": budget, "out": out}


def _load_study(path: Path):
    from model.analysis.calibration import load_study

    return load_study(path)


def cmd_validate(args: argparse.Namespace) -> int:
    """Run ``emigsim validate``; 0 on success (bad input raises, the CLI exits 2).

    Examples
    --------
    >>> from model.ui.cli import main
    >>> main(["validate", "calibration/kz_2012_2018.toml", "--origins", "x", "--out", "o"])
    2
    """
    from model.analysis.validation.validate import check_origins

    opts = parse_options(args)
    path = Path(args.study)
    if not path.is_file():
        raise CliError(f"{CLI}: key 'STUDY' = '{path}' is not a file; allowed: a study "
                       "file, e.g. calibration/kz_2012_2018.toml")
    study = _load_study(path)
    from model.analysis.validation.validate import _study_target_ids, _study_targets

    targets = _study_targets(study)
    years = [targets[i].year for i in _study_target_ids(study) if i in targets]
    check_origins(opts["origins"], years, str(path))  # before anything is written
    from model.analysis.validation.validate import run_validation

    run_validation(study, opts["out"], opts["origins"], n_draws=opts["n_draws"],
                   budget=opts["budget"] or None, quick=args.quick, seed=opts["seed"],
                   workers=opts["workers"], progress=not args.quiet)
    return 0
