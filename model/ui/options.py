"""Command-line values: read, checked and turned into paths, scenarios and numbers.

Every check raises :class:`CliError` with one line naming the argument, the key and what
is allowed, before anything runs or is written. Nothing here imports pandas or the
simulation, so bad input is answered at once.

Examples
--------
>>> _at_least(3, "--seed", 0, "an integer >= 0")
3
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from model.analysis.experiment import shipped_experiments_dir
from model.params import suggest
from model.runs.scheduler import SchedulerError, check_address
from model.scenario import (
    FIRST_YEAR,
    LAST_YEAR,
    Scenario,
    check_intervention_windows,
    check_scale,
    check_window,
    check_year,
    shipped_scenarios_dir,
)

__all__ = ["CliError", "CLI", "resolve_scenario_path", "resolve_experiment_path",
           "apply_run_options", "batch_values", "workers_option", "scheduler_option",
           "check_out", "store_conflict", "scheduler_refusal", "size_refusal", "float_option",
           "summary_metrics", "summary_quantiles", "posterior_option"]

CLI = "command line"
"""What an error names when the bad value came from the command line."""
_WORKERS_ALLOWED = "an integer >= 0 (0 = run in this process)"


class CliError(ValueError):
    """Bad command-line input; the message is one line naming the argument and key.

    Examples
    --------
    >>> str(CliError("command line: key '--seed' = -1 is below 0; allowed: an integer >= 0"))
    "command line: key '--seed' = -1 is below 0; allowed: an integer >= 0"
    """


# ---------------------------------------------------------------------- files
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


def check_out(out: Path, kind: str | None = None) -> None:
    """Refuse, as ``--out``, folders that :mod:`model.runs.outputs` must not write.

    ``kind`` is the command (``run``, ``compare``, ``sensitivity``): the names it writes.
    """
    from model.runs.outputs import OutputFolderError, check_output_folder

    try:
        check_output_folder(out, shown=f"{CLI}: key '--out' = '{out}'", kind=kind)
    except OutputFolderError as exc:
        raise CliError(str(exc)) from None


def store_conflict(out: Path, exc: Exception, key: str = "--out") -> CliError:
    """The error for a store that holds only another batch's runs."""
    return CliError(f"{CLI}: key '{key}' = '{out}': {exc}; allowed: --fresh to delete those "
                    f"runs and start again, or another {key}")


# ---------------------------------------------------------------------- numbers
def _int_option(text: str | None, key: str, allowed: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise CliError(f"{CLI}: key '{key}' = {text!r} must be a whole number; "
                       f"allowed: {allowed}") from None


def float_option(text: str | None, key: str, allowed: str) -> float | None:
    """``text`` as a float (None stays None), else a :class:`CliError` naming ``key``.

    Examples
    --------
    >>> float_option("0.5", "--scale", "a number")
    0.5
    """
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise CliError(f"{CLI}: key '{key}' = {text!r} must be a number; "
                       f"allowed: {allowed}") from None


def _at_least(value: int, key: str, low: int, allowed: str) -> int:
    if value < low:
        raise CliError(f"{CLI}: key '{key}' = {value} is below {low}; allowed: {allowed}")
    return value


def int_at_least(text: str | None, key: str, low: int, allowed: str | None = None
                 ) -> int | None:
    """``text`` as a whole number >= ``low`` (None stays None), else a :class:`CliError`.

    Examples
    --------
    >>> int_at_least("4", "--draws", 1), int_at_least(None, "--workers", 0)
    (4, None)
    """
    allowed = allowed or f"a whole number >= {low}"
    value = _int_option(text, key, allowed)
    return None if value is None else _at_least(value, key, low, allowed)


def positive_number(text: str | None, key: str, allowed: str) -> float | None:
    """``text`` as a finite number > 0 (None stays None), else a :class:`CliError`.

    Examples
    --------
    >>> positive_number("90", "--max-walltime", "seconds > 0")
    90.0
    """
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise CliError(f"{CLI}: key '{key}' = {text!r} is not a positive number; "
                       f"allowed: {allowed}")
    return value


def apply_run_options(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """Validate --start/--end/--scale with the scenario-file rules and apply them."""
    years = f"an integer year from {FIRST_YEAR} to {LAST_YEAR}"
    start = _int_option(args.start, "--start", years)
    end = _int_option(args.end, "--end", years)
    scale = float_option(args.scale, "--scale", "a number > 0 (1 = full population)")
    if start is not None:
        check_year(start, "--start", CLI)
    if end is not None:
        check_year(end, "--end", CLI)
    if scale is not None:
        check_scale(scale, "--scale", CLI)
    new = scenario.with_run(start=start, end=end, scale=scale)
    # Blame the option the user typed; the other year may come from the file.
    if start is not None:
        key, other = "--start", "--end" if end is not None else f"{scenario.name}'s run.end"
    else:
        key, other = "--end", f"{scenario.name}'s run.start"
    if start is not None or end is not None:
        check_window(new.start, new.end, CLI, key, other)
        check_intervention_windows(new, CLI, key)
    return new


def batch_values(args: argparse.Namespace) -> tuple[int, int, int | None, str | None]:
    """--seed, --replicates, --workers and --scheduler of run and compare, validated."""
    seed = _at_least(_int_option(args.seed, "--seed", "an integer >= 0"), "--seed", 0,
                     "an integer >= 0")
    replicates = _at_least(_int_option(args.replicates, "--replicates", "an integer >= 1"),
                           "--replicates", 1, "an integer >= 1")
    return seed, replicates, workers_option(args), scheduler_option(args)


def posterior_option(args: argparse.Namespace) -> str | Path | None:
    """--posterior FILE / --no-posterior: a path, None (registry defaults) or "default".

    The file itself is read and checked by :func:`model.posterior.load_posterior` before
    anything runs (a bad one is a one-line error naming it).

    Examples
    --------
    >>> posterior_option(argparse.Namespace(posterior=None, no_posterior=True)) is None
    True
    >>> posterior_option(argparse.Namespace(posterior=None, no_posterior=False))
    'default'
    """
    if args.no_posterior:
        return None
    if args.posterior is not None:
        return Path(args.posterior)
    return "default"


def workers_option(args: argparse.Namespace) -> int | None:
    """--workers: None (not given) or an integer >= 0."""
    workers = _int_option(args.workers, "--workers", _WORKERS_ALLOWED)
    return None if workers is None else _at_least(workers, "--workers", 0, _WORKERS_ALLOWED)


def scheduler_option(args: argparse.Namespace) -> str | None:
    """--scheduler: None or a ``tcp://HOST:PORT`` address (other protocols are refused).

    Examples
    --------
    >>> scheduler_option(argparse.Namespace(scheduler="tcp://10.0.0.5:8786"))
    'tcp://10.0.0.5:8786'
    """
    address = args.scheduler
    if address is None:
        return None
    try:
        check_address(address)
    except SchedulerError as exc:
        raise scheduler_refusal(exc) from None
    return address


def scheduler_refusal(exc: SchedulerError) -> CliError:
    """The one line for a scheduler that cannot be used (or a bad connection bound)."""
    if exc.key == "scheduler":
        return CliError(f"{CLI}: key '--scheduler' = '{exc.address}': {exc.problem}; "
                        f"allowed: {exc.allowed}")
    return CliError(f"environment: key '{exc.key}' {exc.problem}; allowed: {exc.allowed}")


def size_refusal(exc: Exception, keys: dict[str, tuple[str, str, object]]) -> CliError:
    """The one line for a batch that does not fit (a :class:`model.runs.sizing.BatchSizeError`).

    ``keys`` names, for each resource (``runs``, ``time``, ``memory``, ``workers``,
    ``disk``), where the value came from, the key to blame and its value.
    """
    from model.runs.sizing import LONG_ENV_VAR

    resource = exc.resource  # type: ignore[attr-defined]
    if resource == "env":
        return CliError(f"environment: key '{LONG_ENV_VAR}' {exc.problem}; "  # type: ignore[attr-defined]
                        f"allowed: {exc.allowed}")  # type: ignore[attr-defined]
    where, key, value = keys[resource]
    allowed = exc.allowed  # type: ignore[attr-defined]
    if resource == "time":
        allowed = (f"--yes to start it anyway, or fewer runs ({LONG_ENV_VAR} sets the limit "
                   "in hours)")
    return CliError(f"{where}: key '{key}' = {value}: {exc.problem}; "  # type: ignore[attr-defined]
                    f"allowed: {allowed}")


# ---------------------------------------------------------------------- summarize
def summary_metrics(names: list[str] | None) -> list[str]:
    """--metric of summarize: recorded metric names (default: three headline ones)."""
    from model.core.recorder import METRICS

    metrics = names or ["new_emigrants", "net_migration", "population"]
    for m in metrics:
        if m not in METRICS:
            raise CliError(f"{CLI}: key '--metric' = {m!r} is not a metric; allowed: "
                           f"{', '.join(METRICS)}" + suggest(m, METRICS))
    return metrics


def summary_quantiles(texts: list[str] | None) -> list[float]:
    """--quantiles of summarize: numbers from 0 to 1 (default 0.05 0.5 0.95)."""
    qs = []
    for text in texts or ["0.05", "0.5", "0.95"]:
        q = float_option(text, "--quantiles", "numbers from 0 to 1")
        if not 0.0 <= q <= 1.0:
            raise CliError(f"{CLI}: key '--quantiles' = {text} is outside 0..1; allowed: "
                           "numbers from 0 to 1, e.g. 0.05 0.5 0.95")
        qs.append(q)
    return qs
