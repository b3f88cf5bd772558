"""The ``emigsim`` command line; each verb wraps one public function.

``emigsim run`` runs a scenario file and writes ``series.csv``, ``manifest.json`` and
``figures/`` into an output folder; ``emigsim params`` prints the parameter registry.
``python -m model ...`` is the same program.

Bad input (a scenario error, a bad option value, a missing file) prints one line
``emigsim: error: <file-or-arg>: key '<key>' <problem>; allowed: ...`` to stderr and
exits with status 2 before anything is written.

Examples
--------
>>> from model.cli import main
>>> main(["params"])  # doctest: +ELLIPSIS
name ...
0
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import model
from model.params import REGISTRY, Param, suggest
from model.scenario import (
    FIRST_YEAR,
    LAST_YEAR,
    Scenario,
    ScenarioError,
    check_scale,
    check_window,
    check_year,
    load_scenario,
)

__all__ = ["main", "build_parser", "CliError", "resolve_scenario_path", "shipped_scenarios_dir",
           "cmd_run", "cmd_params", "format_params_table"]

PROG = "emigsim"
_CLI = "command line"
_OUT_ALLOWED = "a new folder, an empty one, or an earlier emigsim output folder"


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


def shipped_scenarios_dir() -> Path:
    """Return the ``scenarios/`` folder shipped next to the ``model`` package.

    Examples
    --------
    >>> shipped_scenarios_dir().name
    'scenarios'
    """
    return Path(model.__file__).resolve().parent.parent / "scenarios"


def _scenario_folders() -> list[Path]:
    # The user's own scenarios/ wins over the shipped one, so a project can shadow a name.
    return [Path("scenarios"), shipped_scenarios_dir()]


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
    path = Path(arg)
    if path.exists() or path.parent != Path("."):
        return path
    file_name = path.name if path.suffix == ".toml" else f"{path.name}.toml"
    for folder in _scenario_folders():
        if (folder / file_name).is_file():
            return folder / file_name
    names = sorted({f.stem for folder in _scenario_folders() if folder.is_dir()
                    for f in folder.glob("*.toml")})
    raise CliError(f"{arg}: file not found, nor scenarios/{file_name}; allowed: a scenario "
                   f"file path or a name from scenarios/ ({', '.join(names) or 'none found'})"
                   + suggest(path.stem, names))


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
        if any(out.iterdir()) and not (out / "manifest.json").is_file():
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
    from model.manifest import build_manifest, write_json_atomic
    from model.plots import write_run_figures

    out.parent.mkdir(parents=True, exist_ok=True)
    # A sibling, not /tmp: the final rename must stay on one file system to be atomic.
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
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


def cmd_run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run ``emigsim run``: load, validate, run, write atomically, report paths.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options of the ``run`` verb (see ``emigsim run --help``).
    argv : sequence of str
        The command line, recorded in the manifest.

    Returns
    -------
    int
        0 on success. Bad input raises :class:`CliError` or
        :class:`~model.scenario.ScenarioError` before anything is written.

    Examples
    --------
    >>> args = build_parser().parse_args(["run", "baseline", "--out", "runs/b"])
    >>> (args.command, args.seed, args.quiet)
    ('run', '1', False)
    """
    seed = _at_least(_int_option(args.seed, "--seed", "an integer >= 0"), "--seed", 0,
                     "an integer >= 0")
    replicates = _at_least(_int_option(args.replicates, "--replicates", "an integer >= 1"),
                           "--replicates", 1, "an integer >= 1")
    scenario = _apply_run_options(load_scenario(resolve_scenario_path(args.scenario)), args)
    out = Path(args.out)
    _check_out(out)

    from model.runner import run

    if not args.quiet:
        print(f"{PROG}: running {scenario.name} {scenario.start}-{scenario.end}, scale "
              f"{scenario.scale:g}, {replicates} replicate(s), seed {seed}", file=sys.stderr)
    started = datetime.now(UTC)
    results = run(scenario, seed=seed, replicates=replicates, progress=not args.quiet)
    ended = datetime.now(UTC)
    written = _write_outputs(out, scenario, results, seed=seed, argv=argv, started=started,
                             ended=ended)
    print(f"series:   {written['series']} ({written['rows']} rows)")
    print(f"manifest: {written['manifest']}")
    print(f"figures:  {out / 'figures'} ({len(written['figures'])} files)")
    return 0


def _fmt(value: float, param: Param) -> str:
    return str(int(value)) if param.kind in ("int", "year") else f"{value:g}"


def _param_rows() -> list[dict[str, str]]:
    return [{"name": p.name, "default": _fmt(p.default, p),
             "bounds": f"[{_fmt(p.bounds[0], p)}, {_fmt(p.bounds[1], p)}]", "unit": p.unit,
             "source": "assumption" if p.is_assumption else "data", "group": p.group,
             "description": p.doc, "reference": p.source} for p in REGISTRY.values()]


def format_params_table(markdown: bool = False) -> str:
    """Return the parameter registry as an aligned text table or a Markdown table.

    The text table has name, default, bounds, unit and source flag (data or assumption);
    the Markdown one adds the group, the description and the full source, for the docs.

    Examples
    --------
    >>> print(format_params_table().splitlines()[0])  # doctest: +NORMALIZE_WHITESPACE
    name default bounds unit source
    >>> format_params_table(markdown=True).splitlines()[1].startswith("|---")
    True
    """
    rows = _param_rows()
    if markdown:
        cols = ["name", "default", "bounds", "unit", "source", "group", "description",
                "reference"]
        esc = [{c: r[c].replace("|", "\\|") for c in cols} for r in rows]
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
        lines += ["| " + " | ".join(f"`{r[c]}`" if c == "name" else r[c] for c in cols) + " |"
                  for r in esc]
        return "\n".join(lines)
    cols = ["name", "default", "bounds", "unit", "source"]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in cols).rstrip() for r in rows]
    return "\n".join(lines)


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter registry (``emigsim params [--markdown]``).

    Examples
    --------
    >>> cmd_params(argparse.Namespace(markdown=True))  # doctest: +ELLIPSIS
    | name | default | ...
    0
    """
    print(format_params_table(markdown=args.markdown))
    return 0


def _shipped_names() -> str:
    folder = shipped_scenarios_dir()
    names = sorted(f.stem for f in folder.glob("*.toml")) if folder.is_dir() else []
    return ", ".join(names) or "none"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``emigsim`` (verbs ``run`` and ``params``).

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
               "  emigsim params --markdown > docs/params.md\n\n"
               "Run 'emigsim COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"{PROG} {model.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=_Parser)

    run = sub.add_parser(
        "run", formatter_class=fmt, help="run one scenario and write its results",
        description="Run one scenario and write series.csv (tidy table, values in persons), "
                    "manifest.json (resolved scenario, seeds, versions, git commit, command "
                    "line) and figures/ into the output folder. The folder is replaced only "
                    "when everything succeeded.",
        epilog="examples:\n"
               "  emigsim run baseline --out runs/baseline\n"
               "  emigsim run no_compatriot_programme --out runs/nocp --end 2030 "
               "--replicates 10\n"
               "  emigsim run my_scenarios/test.toml --out runs/test --scale 1 --seed 7\n\n"
               f"scenarios shipped with emigsim: {_shipped_names()}\n"
               "A bare name is looked up as scenarios/NAME.toml in the working directory, "
               "then among the shipped ones.")
    run.add_argument("scenario", metavar="SCENARIO",
                     help="scenario TOML file, or a bare name such as 'baseline'")
    run.add_argument("--out", metavar="DIR", required=True,
                     help="output folder (created; an existing one must be empty or an "
                          "earlier emigsim output, and is replaced only on success)")
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

    params = sub.add_parser(
        "params", formatter_class=fmt, help="print the parameter registry",
        description="Print every model parameter: default, bounds, unit and whether the "
                    "default comes from data or is an assumption.",
        epilog="example:\n  emigsim params --markdown > docs/params.md")
    params.add_argument("--markdown", action="store_true",
                        help="print a Markdown table with descriptions and sources")
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
        return cmd_params(args)
    except (ScenarioError, CliError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; earlier output left as it was", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `emigsim params | head`: the reader left; silence the flush at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
