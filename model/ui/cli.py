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

Examples
--------
>>> from model.ui.cli import main
>>> main(["params", "--role", "context"])  # doctest: +ELLIPSIS
context: dates and switches (4)
...
0
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import model
from model.analysis.experiment import shipped_experiments_dir
from model.params import ROLES, suggest
from model.scenario import (
    FIRST_YEAR,
    LAST_YEAR,
    Scenario,
    ScenarioError,
    check_scale,
    check_window,
    check_year,
    load_scenario,
    shipped_scenarios_dir,
)
from model.ui.params_table import format_params_table

__all__ = ["main", "build_parser", "CliError", "resolve_scenario_path", "shipped_scenarios_dir",
           "resolve_experiment_path", "shipped_experiments_dir", "cmd_run", "cmd_params",
           "cmd_sensitivity", "cmd_summarize", "format_params_table"]

PROG = "emigsim"
_CLI = "command line"
_OUT_ALLOWED = "a new folder, an empty one, or an earlier emigsim output folder"
_WORKERS_ALLOWED = "an integer >= 0 (0 = run in this process)"
_RUN_COLUMNS = ["scenario", "replicate", "seed", "year", "metric", "group", "value"]
"""Columns of series.csv, as model.runs.runner.COLUMNS (not imported: it loads the simulation)."""
_AUTO_LOCAL_SECONDS = 20.0
"""Batches estimated to take less than this run in-process when --workers is not given:
starting a local Dask cluster would cost more than it saves."""


class CliError(ValueError):
    """Bad command-line input; the message is one line naming the argument and key.

    Examples
    --------
    >>> str(CliError("command line: key '--seed' = -1 is below 0; allowed: an integer >= 0"))
    "command line: key '--seed' = -1 is below 0; allowed: an integer >= 0"
    """


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line, like every other input error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{PROG}: error: {message}; see '{self.prog} --help'\n")


def _resolve_named(arg: str, folder: str, shipped: Path, what: str) -> Path:
    """An existing path as it is; a bare name as ``<folder>/<name>.toml``, else shipped.

    The user's own folder wins over the shipped one, so a project can shadow a name.
    """
    path = Path(arg)
    if path.exists() or path.parent != Path("."):
        return path
    file_name = path.name if path.suffix == ".toml" else f"{path.name}.toml"
    folders = [Path(folder), shipped]
    for candidate in folders:
        if (candidate / file_name).is_file():
            return candidate / file_name
    names = sorted({f.stem for candidate in folders if candidate.is_dir()
                    for f in candidate.glob("*.toml")})
    raise CliError(f"{arg}: file not found, nor {folder}/{file_name}; allowed: {what} "
                   f"file path or a name from {folder}/ ({', '.join(names) or 'none found'})"
                   + suggest(path.stem, names))


def resolve_scenario_path(arg: str) -> Path:
    """Turn the SCENARIO argument into a file path.

    An existing path is used as it is. A bare name (no folder part), with or without
    ``.toml``, is looked up as ``scenarios/<name>.toml`` in the working directory, then
    among the scenarios shipped with the package.

    Raises
    ------
    CliError
        For a bare name found nowhere, with the names available and a "did you mean".
        Other missing paths are returned unchanged; loading them reports the error.

    Examples
    --------
    >>> resolve_scenario_path("baseline").name
    'baseline.toml'
    """
    return _resolve_named(arg, "scenarios", shipped_scenarios_dir(), "a scenario")


def _int_option(text: str | None, key: str, allowed: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise CliError(f"{_CLI}: key '{key}' = {text!r} must be a whole number; "
                       f"allowed: {allowed}") from None


def _float_option(text: str | None, key: str, allowed: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise CliError(f"{_CLI}: key '{key}' = {text!r} must be a number; "
                       f"allowed: {allowed}") from None


def _at_least(value: int, key: str, low: int, allowed: str) -> int:
    if value < low:
        raise CliError(f"{_CLI}: key '{key}' = {value} is below {low}; allowed: {allowed}")
    return value


def _apply_run_options(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """Validate --start/--end/--scale with the scenario-file rules and apply them."""
    years = f"an integer year from {FIRST_YEAR} to {LAST_YEAR}"
    start = _int_option(args.start, "--start", years)
    end = _int_option(args.end, "--end", years)
    scale = _float_option(args.scale, "--scale", "a number > 0 (1 = full population)")
    if start is not None:
        check_year(start, "--start", _CLI)
    if end is not None:
        check_year(end, "--end", _CLI)
    if scale is not None:
        check_scale(scale, "--scale", _CLI)
    new = scenario.with_run(start=start, end=end, scale=scale)
    # Blame the option the user typed; the other year may come from the file.
    if start is not None:
        key, other = "--start", "--end" if end is not None else f"{scenario.name}'s run.end"
    else:
        key, other = "--end", f"{scenario.name}'s run.start"
    if start is not None or end is not None:
        check_window(new.start, new.end, _CLI, key, other)
    return new


def _check_out(out: Path) -> None:
    """Refuse output folders we could not write or must not replace, before any work."""
    shown = f"{_CLI}: key '--out' = '{out}'"
    if out.exists() and not out.is_dir():
        raise CliError(f"{shown} exists and is not a folder; allowed: {_OUT_ALLOWED}")
    if out.is_dir():
        resolved, cwd = out.resolve(), Path.cwd().resolve()
        # Replacing a folder renames it away: never do that to where the user stands.
        if resolved == cwd or resolved in cwd.parents:
            raise CliError(f"{shown} contains the working directory; allowed: {_OUT_ALLOWED}")
        # store/ without manifest.json is a batch that was interrupted: resumable, ours.
        if any(out.iterdir()) and not (out / "manifest.json").is_file() \
                and not (out / "store" / "shards").is_dir():
            raise CliError(f"{shown} is a non-empty folder without manifest.json, so not an "
                           f"emigsim output; allowed: {_OUT_ALLOWED}")
    existing = out.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise CliError(f"{shown} cannot be created: {existing} is not a writable folder; "
                       f"allowed: a path under a writable folder")


def _swap_in(tmp: Path, out: Path) -> None:
    """Put the finished ``tmp`` folder in place of ``out``; restore ``out`` if that fails."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_outputs(out: Path, scenario: Scenario, results: Any, *, seed: int,
                   argv: Sequence[str], started: datetime, ended: datetime) -> dict[str, Any]:
    """Write everything into a temporary sibling of ``out``, then swap it in."""
    from model.datasets import observed
    from model.runs.manifest import build_manifest, output_temp_dir, write_json_atomic
    from model.runs.plots import write_run_figures

    out.parent.mkdir(parents=True, exist_ok=True)
    # A sibling, not /tmp: the final rename must stay on one file system to be atomic.
    tmp = output_temp_dir(out)
    try:
        results.series.to_csv(tmp / "series.csv", index=False)
        (tmp / "figures").mkdir()
        figures = [Path(f).resolve().relative_to(tmp.resolve())
                   for f in write_run_figures(results.series, tmp / "figures",
                                              observed=observed())]
        files = ["series.csv", *(f.as_posix() for f in figures)]
        manifest = build_manifest(scenario, results, argv, started, ended, seed=seed,
                                  extra={"files": files})
        # Written last: a folder with manifest.json is a complete emigsim output.
        write_json_atomic(tmp / "manifest.json", manifest)
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"series": out / "series.csv", "rows": len(results.series),
            "manifest": out / "manifest.json", "figures": [out / f for f in figures]}


def _batch_values(args: argparse.Namespace) -> tuple[int, int, int | None, str | None]:
    """--seed, --replicates, --workers and --scheduler of run and compare, validated."""
    seed = _at_least(_int_option(args.seed, "--seed", "an integer >= 0"), "--seed", 0,
                     "an integer >= 0")
    replicates = _at_least(_int_option(args.replicates, "--replicates", "an integer >= 1"),
                           "--replicates", 1, "an integer >= 1")
    return seed, replicates, _workers_option(args), _scheduler_option(args)


def _workers_option(args: argparse.Namespace) -> int | None:
    workers = _int_option(args.workers, "--workers", _WORKERS_ALLOWED)
    return None if workers is None else _at_least(workers, "--workers", 0, _WORKERS_ALLOWED)


def _scheduler_option(args: argparse.Namespace) -> str | None:
    address = args.scheduler
    if address is None:
        return None
    scheme, sep, rest = address.partition("://")
    if not sep or scheme not in ("tcp", "tls", "inproc", "ucx", "ws", "wss") or not rest:
        raise CliError(f"{_CLI}: key '--scheduler' = {address!r} is not a scheduler address; "
                       "allowed: tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    return address


def _auto_workers(workers: int | None, scheduler: str | None, n_runs: int,
                  example: Any) -> int | None:
    """Workers to use: as given; else in-process for batches under _AUTO_LOCAL_SECONDS."""
    if workers is not None or scheduler:
        return workers
    from model.runs.execution import estimate_run_seconds

    return 0 if n_runs * estimate_run_seconds(example) < _AUTO_LOCAL_SECONDS else None


def _store_conflict(out: Path, exc: Exception, key: str = "--out") -> CliError:
    return CliError(f"{_CLI}: key '{key}' = '{out}': {exc}; allowed: --fresh to delete those "
                    f"runs and start again, or another {key}")


def _report_failures(report: Any, store_path: Path, what: str) -> None:
    print(f"{PROG}: {report.failed} of {report.total} runs failed; {what}. The failed runs:",
          file=sys.stderr)
    for err in report.errors[:10]:
        print(f"  {err['run_id']} (point {err.get('point', 0)}, seed {err['seed']}): "
              f"{err['error']}", file=sys.stderr)
    if len(report.errors) > 10:
        print(f"  ... and {len(report.errors) - 10} more (tracebacks in {store_path}/errors/)",
              file=sys.stderr)
    print(f"{PROG}: run the same command again to retry them; finished runs are kept in "
          f"{store_path}", file=sys.stderr)


def _population_size(scenario: Scenario, seed: int) -> tuple[int, int]:
    """Households and persons simulated on 1 January 2012 for one seed (for the manifest).

    A batch's runs happen in workers that return only tidy rows, so the driver rebuilds
    the first replicate's synthetic population (a fraction of one run's time).
    """
    from model.core.population import synthesize

    households, persons = synthesize(scenario.params, scale=scenario.scale, seed=seed)
    return int(households.n), int(persons.n)


def _run_batch(args: argparse.Namespace, argv: Sequence[str], scenarios: list[Scenario], *,
               seed: int, replicates: int, workers: int | None,
               scheduler: str | None) -> int:
    """``emigsim run`` and ``compare`` through the executor: store in OUT/store, then outputs.

    Replicate ``r`` of every scenario has the same seed (common random numbers), so the
    differences between scenarios are paired run by run.
    """
    from model.analysis.sensitivity import StoreConflictError, open_store
    from model.datasets import observed
    from model.runs.batch import replicate_specs
    from model.runs.execution import execute
    from model.runs.manifest import build_manifest, output_temp_dir, write_json_atomic
    from model.runs.plots import write_run_figures

    out = Path(args.out)
    started = datetime.now(UTC)
    scenario = scenarios[0]
    specs = [s for i, sc in enumerate(scenarios) for s in replicate_specs(sc, seed, replicates, i)]
    kind = "run" if len(scenarios) == 1 else "compare"
    try:
        store = open_store(out / "store", specs, fresh=args.fresh,
                           batch={"kind": kind, "scenario": scenario.resolved(),
                                  "scenarios": [sc.name for sc in scenarios], "seed": seed,
                                  "replicates": replicates, "created": started.isoformat()})
    except StoreConflictError as exc:
        raise _store_conflict(out, exc) from None
    workers = _auto_workers(workers, scheduler, len(specs), specs[0])
    report = execute(specs, store, workers=workers, scheduler=scheduler,
                     progress=not args.quiet,
                     label=" vs ".join(sc.name for sc in scenarios)[:40])
    if not report.complete:
        _report_failures(report, store.path, "series.csv, manifest.json and figures/ were "
                         "not updated")
        return 1
    ids = [s.run_id for s in specs]
    rows = store.load(columns=["run_id", *_RUN_COLUMNS], run_id=ids)
    # A run written twice (two processes on one store) must appear once.
    rows = rows.drop_duplicates(subset=["run_id", "year", "metric", "group"])
    # Run ids leave out a scenario's name (a renamed scenario reuses its runs), so the
    # labels come from this batch's specs, not from the stored rows.
    rows["scenario"] = rows["run_id"].map({s.run_id: s.scenario.name for s in specs})
    order = {sc.name: i for i, sc in enumerate(scenarios)}
    rows["_order"] = rows["scenario"].map(order)
    series = (rows.sort_values(["_order", "replicate"], kind="stable")
              .reset_index(drop=True)[_RUN_COLUMNS])
    # Outputs of an earlier state of the folder are replaced piece by piece; without
    # manifest.json the folder reads as unfinished until the new manifest lands.
    (out / "manifest.json").unlink(missing_ok=True)
    tmp_csv = out / f".series.csv.{uuid.uuid4().hex[:8]}.tmp"
    series.to_csv(tmp_csv, index=False)
    os.replace(tmp_csv, out / "series.csv")
    tmp = output_temp_dir(out / "figures")
    try:
        figures = [Path(f).name for f in write_run_figures(series, tmp, observed=observed())]
        _swap_in(tmp, out / "figures")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    n_households, n_persons = _population_size(scenario, specs[0].seed)
    ended = datetime.now(UTC)
    info = {"n_households": n_households, "n_persons": n_persons, "scale": scenario.scale,
            "replicate_seeds": [s.seed for s in specs],
            "runtime_s": round((ended - started).total_seconds(), 3)}
    files = ["series.csv", *(f"figures/{f}" for f in figures)]
    if len(scenarios) > 1:
        paired_differences(series, scenario.name).to_csv(out / "differences.csv", index=False)
        files.append("differences.csv")
    manifest = build_manifest(scenario, SimpleNamespace(info=info), argv, started, ended,
                              seed=seed, extra={"files": files, "store": "store",
                                                "scenarios": [sc.resolved() for sc in scenarios],
                                                "batch": {"total": report.total,
                                                          "done": report.done,
                                                          "skipped": report.skipped,
                                                          "failed": report.failed}})
    write_json_atomic(out / "manifest.json", manifest)
    print(f"series:   {out / 'series.csv'} ({len(series)} rows)")
    print(f"manifest: {out / 'manifest.json'}")
    print(f"figures:  {out / 'figures'} ({len(figures)} files)")
    if len(scenarios) > 1:
        print(f"differences: {out / 'differences.csv'} (paired, vs {scenario.name})")
    print(f"store:    {out / 'store'} ({report.skipped} of {report.total} runs reused)")
    return 0


def paired_differences(series: Any, reference: str) -> Any:
    """Each scenario minus the reference, replicate by replicate, summarised by year.

    Replicates share seeds across scenarios (common random numbers), so the difference of
    replicate r isolates the scenario's effect from the draw's.

    Parameters
    ----------
    series : pandas.DataFrame
        Tidy table of several scenarios (columns as ``series.csv``).
    reference : str
        Name of the scenario to subtract.

    Returns
    -------
    pandas.DataFrame
        ``scenario, year, metric, group, mean, q05, q50, q95`` of the differences.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"scenario": ["a", "b"], "replicate": [1, 1], "seed": [9, 9],
    ...                   "year": [2012, 2012], "metric": ["births"] * 2,
    ...                   "group": ["all"] * 2, "value": [10.0, 12.5]})
    >>> float(paired_differences(s, "a")["mean"].iloc[0])
    2.5
    """
    keys = ["replicate", "year", "metric", "group"]
    ref = series[series["scenario"] == reference].set_index(keys)["value"]
    others = series[series["scenario"] != reference]
    diff = others.join(ref.rename("ref"), on=keys)
    diff["d"] = diff["value"] - diff["ref"]
    g = diff.groupby(["scenario", "year", "metric", "group"], sort=False)["d"]
    out = g.mean().rename("mean").to_frame()
    for q in (0.05, 0.5, 0.95):
        out[f"q{round(q * 100):02d}"] = g.quantile(q)
    return out.reset_index()


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
        :class:`CliError` or :class:`~model.scenario.ScenarioError` before anything is
        written.

    Examples
    --------
    >>> args = build_parser().parse_args(["run", "baseline", "--out", "runs/b"])
    >>> (args.command, args.seed, args.quiet, args.fresh)
    ('run', '1', False, False)
    """
    seed, replicates, workers, scheduler = _batch_values(args)
    scenario = _apply_run_options(load_scenario(resolve_scenario_path(args.scenario)), args)
    out = Path(args.out)
    _check_out(out)
    has_store = (out / "store" / "shards").is_dir()

    if not args.quiet:
        print(f"{PROG}: running {scenario.name} {scenario.start}-{scenario.end}, scale "
              f"{scenario.scale:g}, {replicates} replicate(s), seed {seed}", file=sys.stderr)
    if replicates > 1 or scheduler or (has_store and not args.fresh):
        return _run_batch(args, argv, [scenario], seed=seed, replicates=replicates,
                          workers=workers, scheduler=scheduler)
    if has_store:  # --fresh: the single run replaces the folder, store included
        shutil.rmtree(out / "store")

    from model.runs.runner import run

    started = datetime.now(UTC)
    results = run(scenario, seed=seed, replicates=replicates, progress=not args.quiet)
    ended = datetime.now(UTC)
    written = _write_outputs(out, scenario, results, seed=seed, argv=argv, started=started,
                             ended=ended)
    print(f"series:   {written['series']} ({written['rows']} rows)")
    print(f"manifest: {written['manifest']}")
    print(f"figures:  {out / 'figures'} ({len(written['figures'])} files)")
    return 0


# ---------------------------------------------------------------------- compare
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
    >>> args = build_parser().parse_args(["compare", "baseline", "pessimism_shock",
    ...                                   "--out", "runs/c"])
    >>> args.scenarios
    ['baseline', 'pessimism_shock']
    """
    seed, replicates, workers, scheduler = _batch_values(args)
    if len(args.scenarios) < 2:
        raise CliError(f"{_CLI}: key 'SCENARIO' needs at least two scenarios; allowed: "
                       "emigsim compare BASE OTHER [MORE ...] --out DIR")
    scenarios = [_apply_run_options(load_scenario(resolve_scenario_path(name)), args)
                 for name in args.scenarios]
    names = [sc.name for sc in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise CliError(f"{_CLI}: key 'SCENARIO' names {dup[0]!r} twice; allowed: scenarios "
                       "with different names (set name = ... in a file)")
    windows = {(sc.start, sc.end, sc.scale) for sc in scenarios}
    if len(windows) > 1:
        raise CliError(f"{_CLI}: key 'SCENARIO' the scenarios differ in [run] start, end or "
                       "scale; allowed: the same window and scale (set --start, --end, "
                       "--scale)")
    out = Path(args.out)
    _check_out(out)
    if not args.quiet:
        print(f"{PROG}: comparing {', '.join(names)} {scenarios[0].start}-{scenarios[0].end}, "
              f"scale {scenarios[0].scale:g}, {replicates} paired replicate(s), seed {seed}",
              file=sys.stderr)
    return _run_batch(args, argv, scenarios, seed=seed, replicates=replicates,
                      workers=workers, scheduler=scheduler)


# ---------------------------------------------------------------------- sensitivity
def resolve_experiment_path(arg: str) -> Path:
    """Turn the EXPERIMENT argument into a file path (as :func:`resolve_scenario_path`).

    A bare name is looked up as ``experiments/<name>.toml`` in the working directory,
    then among the experiments shipped with the package.

    Examples
    --------
    >>> resolve_experiment_path("morris_screening").name
    'morris_screening.toml'
    """
    return _resolve_named(arg, "experiments", shipped_experiments_dir(), "an experiment")


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
    >>> a = build_parser().parse_args(["sensitivity", "sobol_baseline", "--out", "o"])
    >>> (a.command, a.workers, a.fresh)
    ('sensitivity', None, False)
    """
    from model.analysis.experiment import load_experiment
    from model.runs.execution import default_workers

    workers = _workers_option(args)
    scheduler = _scheduler_option(args)
    exp = load_experiment(resolve_experiment_path(args.experiment))
    out = Path(args.out)
    _check_out(out)
    store_dir = None
    if args.store is not None:
        if args.fresh:
            raise CliError(f"{_CLI}: key '--fresh' cannot be combined with --store (it would "
                           "delete another experiment's runs); allowed: one of them")
        store_dir = Path(args.store)
        if store_dir.exists() and not (store_dir / "shards").is_dir():
            raise CliError(f"{_CLI}: key '--store' = '{store_dir}' is not a result store; "
                           "allowed: the store/ folder of an earlier emigsim batch, or a new "
                           "folder")

    from model.analysis.sensitivity import StoreConflictError, run_experiment, summary_text
    from model.runs.batch import RunSpec

    workers = _auto_workers(workers, scheduler, exp.n_runs,
                            RunSpec("estimate", exp.scenario, 1, 1, model=exp.model))
    if not args.quiet:
        where = scheduler or ("this process" if workers == 0 else
                              f"{workers or default_workers()} local workers")
        sc = exp.scenario
        print(f"{PROG}: {exp.name}: {exp.method}, {len(exp.parameters)} parameters, "
              f"{exp.n_points} design points x {exp.replicates} replicate(s) = {exp.n_runs} "
              f"runs of {sc.name} {sc.start}-{sc.end} at scale {sc.scale:g}, on {where}",
              file=sys.stderr)
    try:
        result = run_experiment(exp, out, workers=workers, scheduler=scheduler,
                                progress=not args.quiet, fresh=args.fresh,
                                store_dir=store_dir, argv=argv)
    except StoreConflictError as exc:
        raise (_store_conflict(out, exc) if store_dir is None
               else _store_conflict(store_dir, exc, "--store")) from None
    store_path = store_dir or out / "store"
    if not result.report.complete:
        _report_failures(result.report, store_path, "the partial design was not analysed")
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


# ---------------------------------------------------------------------- summarize
def _read_summary_rows(path: Path, metrics: list[str], group: str) -> Any:
    import pandas as pd

    from model.runs.store import ResultStore

    store = path if (path / "shards").is_dir() else path / "store"
    if (store / "shards").is_dir():
        rows = ResultStore(store).load(columns=["run_id", "scenario", "year", "metric",
                                                "group", "value"], metric=metrics)
        return rows, (lambda: sorted(rows["group"].unique()))
    if (path / "series.csv").is_file():
        # A single-replicate `emigsim run` folder has no store; its series.csv will do.
        cols = ["scenario", "replicate", "seed", "year", "metric", "group", "value"]
        rows = pd.read_csv(path / "series.csv", usecols=cols)
        rows = rows[rows["metric"].isin(metrics)]
        rows["run_id"] = rows["scenario"] + ":" + rows["replicate"].astype(str)
        return rows, (lambda: sorted(rows["group"].unique()))
    raise CliError(f"{_CLI}: key 'STORE_OR_OUTDIR' = '{path}' holds no results; allowed: an "
                   "emigsim output folder (with store/ or series.csv) or a store/ folder")


def _number(value: float) -> str:
    # Persons read best as whole numbers with separators; shares need their decimals.
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def cmd_summarize(args: argparse.Namespace) -> int:
    """Print per-year quantiles across runs of chosen metrics (``emigsim summarize``).

    Only the chosen metrics' rows are read from the store.

    Examples
    --------
    >>> a = build_parser().parse_args(["summarize", "runs/b", "--metric", "births"])
    >>> (a.metric, a.group, a.quantiles)
    (['births'], 'all', None)
    """
    from model.core.recorder import METRICS

    metrics = args.metric or ["new_emigrants", "net_migration", "population"]
    for m in metrics:
        if m not in METRICS:
            raise CliError(f"{_CLI}: key '--metric' = {m!r} is not a metric; allowed: "
                           f"{', '.join(METRICS)}" + suggest(m, METRICS))
    qs = []
    for text in args.quantiles or ["0.05", "0.5", "0.95"]:
        q = _float_option(text, "--quantiles", "numbers from 0 to 1")
        if not 0.0 <= q <= 1.0:
            raise CliError(f"{_CLI}: key '--quantiles' = {text} is outside 0..1; allowed: "
                           "numbers from 0 to 1, e.g. 0.05 0.5 0.95")
        qs.append(q)
    path = Path(args.path)
    if not path.is_dir():
        raise CliError(f"{_CLI}: key 'STORE_OR_OUTDIR' = '{path}' is not a folder; allowed: "
                       "an emigsim output folder (with store/ or series.csv) or a store/ "
                       "folder")
    rows, groups = _read_summary_rows(path, metrics, args.group)
    sel = rows[rows["group"] == args.group]
    if sel.empty:
        known = groups()
        raise CliError(f"{_CLI}: key '--group' = {args.group!r} has no rows for "
                       f"{', '.join(metrics)}; allowed: a group in the results (e.g. "
                       f"{', '.join(known[:4])}, ...)" + suggest(args.group, known))
    import pandas as pd

    for (scenario, metric), part in sel.groupby(["scenario", "metric"], sort=True):
        g = part.groupby("year")["value"]
        table = pd.DataFrame({"runs": g.size(), "mean": g.mean()})
        for q in qs:
            table[f"q{q * 100:g}"] = g.quantile(q)
        print(f"{scenario} / {metric} / {args.group} ({part['run_id'].nunique()} runs)")
        print(table.to_string(float_format=_number))
        print()
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter registry (``emigsim params [--markdown] [--role ROLE]``).

    Examples
    --------
    >>> cmd_params(argparse.Namespace(markdown=True))  # doctest: +ELLIPSIS
    | name | default | ...
    0
    """
    print(format_params_table(markdown=args.markdown, role=getattr(args, "role", None)))
    return 0


def _shipped_names(folder: Path) -> str:
    names = sorted(f.stem for f in folder.glob("*.toml")) if folder.is_dir() else []
    return ", ".join(names) or "none"


def _batch_options(parser: argparse.ArgumentParser, what: str) -> None:
    """--workers, --scheduler and --fresh, shared by run and sensitivity."""
    parser.add_argument("--workers", metavar="N",
                        help=f"local worker processes for the {what} (default: one per core, "
                             "or this process alone for batches under about 20 s); 0 = run "
                             "in this process")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="submit to a running Dask scheduler instead of local workers "
                             "(see experiments/README.md)")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the batch in the output folder's store, skipping "
                            "finished runs (the default when the store exists)")
    again.add_argument("--fresh", action="store_true",
                       help="delete the results store in the output folder first instead "
                            "of resuming it")


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
                     help="no progress bar or start message (result paths are still printed)")
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
    comp.add_argument("--quiet", action="store_true", help="no progress bar")
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
        return cmd_params(args)
    except (ScenarioError, CliError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; earlier output left as it was, finished runs of a batch "
              "kept in its store (run the same command again to resume)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `emigsim params | head`: the reader left; silence the flush at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
