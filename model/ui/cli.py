"""The ``emigsim`` command line; each verb wraps one public function.

``emigsim run`` runs a scenario file and writes ``series.csv``, ``manifest.json`` and
``figures/`` into an output folder (batches of replicates through the resumable store in
``OUT/store``); ``emigsim sensitivity`` runs an experiment file (:mod:`model.analysis.experiment`)
and writes its sensitivity indices (:mod:`model.analysis.sensitivity`); ``emigsim summarize``
prints per-year quantiles across the runs of an output folder; ``emigsim params`` prints
the parameter registry. ``python -m model ...`` is the same program.

Bad input (a scenario or experiment error, a bad option value, a missing file, an output
folder holding another batch's runs) prints one line
``emigsim: error: <file-or-arg>: key '<key>' <problem>; allowed: ...`` to stderr and
exits with status 2 before anything is written. Runs that fail inside a batch are listed
on stderr with their run ids and the exit status is 1.

This module is the parser and the dispatch only. Each verb lives in its own module:
:mod:`~model.ui.run_cmd` (``run``, ``compare``), :mod:`~model.ui.sensitivity_cmd`,
:mod:`~model.ui.summarize_cmd` and :mod:`~model.ui.params_table`; option values are checked
in :mod:`~model.ui.options` and printed messages are in :mod:`~model.ui.console`. The work
itself is below the UI: :mod:`model.runs.batches` (the same path as ``em.run``),
:mod:`model.runs.outputs` (output folders) and :mod:`model.runs.results` (reading them).

Examples
--------
>>> from model.ui.cli import main
>>> main(["params", "--role", "context"])  # doctest: +ELLIPSIS
context: dates and switches (8)
...
0
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import model
from model.analysis.experiment import shipped_experiments_dir
from model.params import ROLES
from model.scenario import FIRST_YEAR, LAST_YEAR, Scenario, ScenarioError, shipped_scenarios_dir
from model.ui import calibrate_cmd, fit_command, validate_cmd
from model.ui.console import PROG
from model.ui.options import CliError, resolve_experiment_path, resolve_scenario_path
from model.ui.params_table import cmd_params, format_params_table
from model.ui.run_cmd import cmd_compare, cmd_run
from model.ui.sensitivity_cmd import cmd_sensitivity
from model.ui.summarize_cmd import cmd_summarize

__all__ = ["main", "build_parser", "CliError", "resolve_scenario_path", "shipped_scenarios_dir",
           "resolve_experiment_path", "shipped_experiments_dir", "cmd_run", "cmd_compare",
           "cmd_params", "cmd_sensitivity", "cmd_summarize", "format_params_table"]


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line, like every other input error.

    Abbreviated long options are refused (``--replicate`` is not ``--replicates``): a
    prefix that happens to be unique today would change meaning when an option is added.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{PROG}: error: {message}; see '{self.prog} --help'\n")


def _shipped_names(folder: Path) -> str:
    names = sorted(f.stem for f in folder.glob("*.toml")) if folder.is_dir() else []
    return ", ".join(names) or "none"


def _batch_options(parser: argparse.ArgumentParser, what: str) -> None:
    """--workers, --scheduler and --fresh, shared by run and sensitivity."""
    parser.add_argument("--workers", metavar="N",
                        help=f"local worker processes for the {what} (default: one per core, "
                             "or this process alone for batches under about 20 s); 0 = run "
                             "in this process; at most the number of cores")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="submit to a running Dask scheduler instead of local workers "
                             "(tcp:// only; given up after EMIGSIM_CONNECT_TIMEOUT seconds, "
                             "default 10). The cluster must be trusted: Dask sends pickled "
                             "code and data to it and back (see experiments/README.md)")
    parser.add_argument("--yes", action="store_true",
                        help="start a batch estimated to take more than "
                             "EMIGSIM_LONG_BATCH_HOURS (default 24) hours; batches that "
                             "cannot fit in memory or on disk are refused anyway")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the batch in the output folder's store, skipping "
                            "finished runs (the default when the store exists)")
    again.add_argument("--fresh", action="store_true",
                       help="delete the results store in the output folder first instead "
                            "of resuming it")


def _posterior_options(parser: argparse.ArgumentParser) -> None:
    """--posterior and --no-posterior, shared by run and compare."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--posterior", metavar="FILE",
                       help="posterior CSV whose draw r replicate r takes (default: the "
                            "shipped calibration/posterior/kz_2012_2018.csv, or the registry "
                            "defaults while it does not exist); parameters the scenario sets "
                            "win over the draw")
    which.add_argument("--no-posterior", action="store_true",
                       help="run the registry defaults (and the scenario's own values) "
                            "instead of posterior draws")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``emigsim`` (run, sensitivity, summarize, params).

    Examples
    --------
    >>> build_parser().parse_args(["params", "--markdown"]).markdown
    True
    """
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG, formatter_class=fmt,
        description="emigsim: agent-based model of emigration from Kazakhstan. Households "
                    "choose each year to stay, emigrate, send a member abroad for work, or "
                    "send one abroad to study.",
        epilog="examples:\n"
               "  emigsim run baseline --out runs/baseline\n"
               "  emigsim run scenarios/pessimism_shock.toml --out runs/pess --replicates 5\n"
               "  emigsim sensitivity morris_screening --out runs/morris\n"
               "  emigsim summarize runs/pess --metric new_emigrants\n"
               "  emigsim params --markdown > docs/parameters.md\n\n"
               "Run 'emigsim COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"{PROG} {model.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=_Parser)

    run = sub.add_parser(
        "run", formatter_class=fmt, help="run one scenario and write its results",
        description="Run one scenario and write series.csv (tidy table, values in persons), "
                    "manifest.json (resolved scenario, seeds, versions, git commit, command "
                    "line) and figures/ into the output folder. A single replicate runs in "
                    "this process and the folder is replaced only when everything "
                    "succeeded. Several replicates run as a batch (local Dask workers or "
                    "--scheduler) into OUT/store: an interrupted batch resumes where it "
                    "stopped when the same command is run again; a store holding another "
                    "batch's runs (other scenario, options, seed or model code) is refused "
                    "unless --fresh.",
        epilog="examples:\n"
               "  emigsim run baseline --out runs/baseline\n"
               "  emigsim run no_compatriot_programme --out runs/nocp --end 2030 "
               "--replicates 10\n"
               "  emigsim run my_scenarios/test.toml --out runs/test --scale 1 --seed 7\n\n"
               f"scenarios shipped with emigsim: {_shipped_names(shipped_scenarios_dir())}\n"
               "A bare name is looked up as scenarios/NAME.toml in the working directory, "
               "then among the shipped ones.")
    run.add_argument("scenario", metavar="SCENARIO",
                     help="scenario TOML file, or a bare name such as 'baseline'")
    run.add_argument("--out", metavar="DIR", required=True,
                     help="output folder (created; an existing one must be empty or an "
                          "earlier emigsim output; a single run replaces it only on success, "
                          "a batch resumes the runs in its store/)")
    run.add_argument("--seed", metavar="N", default="1",
                     help="integer seed >= 0; replicate seeds derive from it "
                          "(default: %(default)s)")
    run.add_argument("--replicates", metavar="N", default="1",
                     help="number of replicates (default: %(default)s)")
    run.add_argument("--start", metavar="YEAR",
                     help=f"first recorded year, {FIRST_YEAR}-{LAST_YEAR} (default: the "
                          f"scenario's [run] start, else {Scenario.start})")
    run.add_argument("--end", metavar="YEAR",
                     help=f"last simulated year, {FIRST_YEAR}-{LAST_YEAR} (default: the "
                          f"scenario's [run] end, else {Scenario.end})")
    run.add_argument("--scale", metavar="K",
                     help="real households per simulated household, > 0; 1 = full "
                          f"population (default: the scenario's, else {Scenario.scale:g})")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar, start message or notices (result paths are "
                          "still printed)")
    _posterior_options(run)
    _batch_options(run, "replicates")

    comp = sub.add_parser(
        "compare", formatter_class=fmt,
        help="run several scenarios with paired replicates and their differences",
        description="Run several scenarios as one batch (local Dask workers or --scheduler, "
                    "resumable in OUT/store). Replicate r of every scenario uses the same "
                    "seed, so differences are paired; differences.csv gives each scenario "
                    "minus the first by year, metric and group (mean and 5/50/95% across "
                    "replicates). series.csv, manifest.json and figures/ as for run.",
        epilog="example:\n"
               "  emigsim compare baseline no_compatriot_programme --out runs/cmp "
               "--replicates 10 --end 2025")
    comp.add_argument("scenarios", metavar="SCENARIO", nargs="+",
                      help="scenario files or bare names; the first is the reference")
    comp.add_argument("--out", metavar="DIR", required=True, help="output folder")
    comp.add_argument("--seed", metavar="N", default="1",
                      help="integer seed >= 0 (default: %(default)s)")
    comp.add_argument("--replicates", metavar="N", default="5",
                      help="paired replicates per scenario (default: %(default)s)")
    for opt in ("--start", "--end"):
        comp.add_argument(opt, metavar="YEAR", help=f"{opt[2:]} year for every scenario")
    comp.add_argument("--scale", metavar="K",
                      help="real households per simulated one, for every scenario")
    comp.add_argument("--quiet", action="store_true",
                      help="no progress bar, start message or notices")
    _posterior_options(comp)
    _batch_options(comp, "comparison")

    sens = sub.add_parser(
        "sensitivity", formatter_class=fmt, help="run a sensitivity experiment (Sobol, Morris, "
        "FAST, delta, PAWN) and write its indices",
        description="Run the batch of an experiment file (design points x replicates) into "
                    "OUT/store, resuming if it was interrupted, then write design.csv, "
                    "outcomes.csv (one row per run), indices.csv, noise.csv (replicate noise "
                    "share per outcome), series.csv, figures/ and manifest.json. If runs "
                    "fail they are listed, nothing is analysed, and the exit status is 1; "
                    "run the same command again to retry them.",
        epilog="examples:\n"
               "  emigsim sensitivity morris_screening --out runs/morris\n"
               "  emigsim sensitivity experiments/sobol_baseline.toml --out runs/sobol "
               "--workers 8\n"
               "  emigsim sensitivity sobol_baseline --out runs/sobol "
               "--scheduler tcp://10.0.0.5:8786\n\n"
               f"experiments shipped with emigsim: {_shipped_names(shipped_experiments_dir())}\n"
               "A bare name is looked up as experiments/NAME.toml in the working directory, "
               "then among the shipped ones. File format: experiments/README.md.")
    sens.add_argument("experiment", metavar="EXPERIMENT",
                      help="experiment TOML file, or a bare name such as 'sobol_baseline'")
    sens.add_argument("--out", metavar="DIR", required=True,
                      help="output folder (an earlier output of the same experiment is "
                           "resumed and updated)")
    sens.add_argument("--quiet", action="store_true",
                      help="no progress bar or start message")
    _batch_options(sens, "runs")
    sens.add_argument("--store", metavar="DIR",
                      help="use this result store instead of OUT/store, e.g. another "
                           "experiment's, to reuse its runs (delta or PAWN with sampling = "
                           "\"sobol\" over a Sobol experiment)")

    summ = sub.add_parser(
        "summarize", formatter_class=fmt, help="print per-year quantiles across runs",
        description="Print, for each scenario and metric, the number of runs, the mean and "
                    "quantiles across runs for every year. Reads only the chosen metrics "
                    "from the store of a batch output (or series.csv of a single run).",
        epilog="examples:\n"
               "  emigsim summarize runs/baseline\n"
               "  emigsim summarize runs/sobol --metric new_emigrants --group "
               "ethnicity=Russian --quantiles 0.1 0.9")
    summ.add_argument("path", metavar="STORE_OR_OUTDIR",
                      help="an output folder of emigsim run/sensitivity, or its store/")
    summ.add_argument("--metric", metavar="M", nargs="+",
                      help="metrics to summarise (default: new_emigrants net_migration "
                           "population)")
    summ.add_argument("--group", metavar="G", default="all",
                      help="group, e.g. all, age=16-62, region=Karaganda "
                           "(default: %(default)s)")
    summ.add_argument("--quantiles", metavar="Q", nargs="+",
                      help="quantiles across runs (default: 0.05 0.5 0.95)")

    fit_command.add_parser(sub)
    calibrate_cmd.add_parser(sub)
    validate_cmd.add_parser(sub)

    params = sub.add_parser(
        "params", formatter_class=fmt, help="print the parameter registry",
        description="Print every model parameter, grouped by role (behaviour: calibrated; "
                    "structural: modelling constants, fixed by default; context: dates and "
                    "switches): default, bounds, unit and prior, then its description and "
                    "source wrapped to the terminal width.",
        epilog="examples:\n  emigsim params --role structural\n"
               "  emigsim params --markdown > docs/parameters.md")
    params.add_argument("--markdown", action="store_true",
                        help="print the Markdown table of docs/parameters.md instead")
    params.add_argument("--role", choices=ROLES,
                        help="only the parameters of this role")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``emigsim`` and ``python -m model``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 success, 2 bad input (one line on stderr, nothing written),
        130 interrupted.

    Examples
    --------
    >>> main(["run", "baseline", "--out", "x", "--start", "1999"])
    2
    """
    recorded = list(sys.argv) if argv is None else [PROG, *argv]
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        if args.command == "run":
            return cmd_run(args, recorded)
        if args.command == "compare":
            return cmd_compare(args, recorded)
        if args.command == "sensitivity":
            return cmd_sensitivity(args, recorded)
        if args.command == "summarize":
            return cmd_summarize(args)
        if args.command == "fit":
            return fit_command.cmd_fit(args)
        if args.command == "calibrate":
            return calibrate_cmd.cmd_calibrate(args)
        if args.command == "validate":
            return validate_cmd.cmd_validate(args)
        return cmd_params(args)
    except (ScenarioError, CliError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        if getattr(exc, "store_path", None) is not None:  # a batch: what it kept, and where
            print(f"{PROG}: {exc}: run the same command again to resume", file=sys.stderr)
        else:
            print(f"{PROG}: interrupted; earlier output left as it was, finished runs of a "
                  "batch kept in its store (run the same command again to resume)",
                  file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `emigsim params | head`: the reader left; silence the flush at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
