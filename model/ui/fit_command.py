"""``emigsim fit RUN_OR_STORE``: how well a run or batch fits the calibration targets.

Prints one line per target (observed, model median and 90% band across runs, z in units
of the target's observation error, inside the band or not) and the total, and writes
``fit.csv`` (:func:`model.analysis.fit.with_total`) and ``fit.png``
(:func:`model.analysis.fit.fit_figure`) into the folder, or into ``--out``. After the
targets it reports the residual terms the runs used (:mod:`model.analysis.residuals`: each
``residual_*`` parameter's value and what it means), printed, in ``fit_residuals.csv`` and
under the figure's title, so a reader sees how much the named drivers leave unexplained.

To wire it into the ``emigsim`` parser: ``fit_command.add_parser(sub)`` in the parser and
``args.handler(args)`` (or ``fit_command.cmd_fit(args)``) for ``args.command == "fit"``.
It also runs on its own: ``python -m model.ui.fit_command RUN_FOLDER``.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser(prog="emigsim")
>>> sub = p.add_subparsers(dest="command")
>>> _ = add_parser(sub)
>>> a = p.parse_args(["fit", "runs/baseline", "--out", "runs/fit"])
>>> (a.command, a.path, a.out, a.targets)
('fit', 'runs/baseline', 'runs/fit', None)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path

from model.scenario import ScenarioError


class _Lazy:
    """A module imported on first use.

    Every emigsim command builds the parser this module adds to, and ``--help`` or a bad
    argument must not wait for pandas and matplotlib.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(import_module(self._name), attr)


pd = _Lazy("pandas")
_fit = _Lazy("model.analysis.fit")
_residuals = _Lazy("model.analysis.residuals")
_targets = _Lazy("model.analysis.targets")

__all__ = ["add_parser", "add_arguments", "cmd_fit", "format_report", "main"]

PROG = "emigsim"
_CLI = "command line"
_PATH_ALLOWED = ("an emigsim output folder (with series.csv or store/) or a store/ folder")


class FitInputError(ValueError):
    """Bad input to ``emigsim fit``; one line naming the argument and what is allowed."""


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the arguments of ``fit`` to ``parser`` (its own or a sub-command's).

    Examples
    --------
    >>> a = add_arguments(argparse.ArgumentParser()).parse_args(["x"])
    >>> a.path, a.out
    ('x', None)
    """
    parser.add_argument("path", metavar="RUN_OR_STORE",
                        help="an output folder of emigsim run/compare/sensitivity, or its "
                             "store/")
    parser.add_argument("--targets", metavar="FILE",
                        help="targets CSV (default: the shipped "
                             "calibration/targets/kz_2012_2018.csv)")
    parser.add_argument("--out", metavar="DIR",
                        help="folder for fit.csv and fit.png (default: RUN_OR_STORE)")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the totals and the files written")
    parser.set_defaults(handler=cmd_fit)
    return parser


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``fit`` sub-command to an ``argparse`` sub-parsers object; returns it."""
    p = subparsers.add_parser(
        "fit", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="compare a run or batch with the calibration targets",
        description="Compare every calibration target with the model: observed value, "
                    "model median and 90% band across runs, z = (median - observed) / "
                    "observation sd, and whether the observed value is inside the band; "
                    "the total is the sum of z^2 over fitted rows not matched by "
                    "construction. Writes fit.csv and fit.png.",
        epilog="examples:\n  emigsim fit runs/baseline\n"
               "  emigsim fit runs/sobol/store --out runs/sobol_fit")
    return add_arguments(p)


def _number(value: float, kind: str) -> str:
    if pd.isna(value):
        return "-"
    if kind in ("share", "proportion"):
        return f"{100 * value:.1f}%"
    return f"{value:,.0f}"


def _table(part: pd.DataFrame) -> str:
    head = ("target", "observed", "median", "90% band", "z", "band", "")
    rows = [head]
    for _, r in part.iterrows():
        k = r["kind"]
        flag = ("by construction" if r["by_construction"] else
                "" if r["fitted"] else "not fitted")
        has = not pd.isna(r["median"])
        rows.append((
            str(r["target_id"]), _number(r["observed"], k), _number(r["median"], k),
            f"{_number(r['q05'], k)} to {_number(r['q95'], k)}" if has else "-",
            f"{r['z']:.2f}" if has else "-",
            ("in" if r["inside"] else "out") if has else "-", flag))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    # the target left-aligned, the numbers right-aligned, the flag left-aligned
    return "\n".join("  ".join([row[0].ljust(widths[0])]
                               + [c.rjust(w) for c, w in zip(row[1:-1], widths[1:-1],
                                                               strict=True)]
                               + [row[-1]]).rstrip() for row in rows)


def format_report(report: pd.DataFrame, quiet: bool = False) -> str:
    """The printed table: one line per target, then each scenario's total.

    Examples
    --------
    >>> r = pd.DataFrame({"scenario": "s", "target_id": ["a"], "kind": "share",
    ...                   "observed": 0.5, "median": 0.6, "q05": 0.55, "q95": 0.65,
    ...                   "z": 2.0, "z2": 4.0, "inside": [0], "counted": [1],
    ...                   "by_construction": False, "fitted": True, "n_runs": 3})
    >>> print(format_report(r))  # doctest: +NORMALIZE_WHITESPACE
    s (3 runs)
    target  observed  median        90% band     z  band
    a          50.0%   60.0%  55.0% to 65.0%  2.00   out
    total: sum z^2 = 4.0 over 1 fitted rows; 1 of them outside and 0 inside their 90% band
    """
    lines: list[str] = []
    totals = _fit.fit_total(report)
    for scenario, part in report.groupby("scenario", sort=False):
        tot = totals[totals["scenario"] == scenario].iloc[0]
        runs = int(tot["n_runs"])
        lines.append(f"{scenario or 'run'} ({runs} run{'' if runs == 1 else 's'})")
        if not quiet:
            lines.append(_table(part))
        n, inside = int(tot["counted"]), int(tot["inside"])
        lines.append(f"total: sum z^2 = {tot['z2']:.1f} over {n} fitted rows; "
                     f"{n - inside} of them outside and {inside} inside their 90% band")
    return "\n".join(lines)


_FIT_FILES = ("fit.csv", "fit.png", "fit_residuals.csv")


def _claim(out: Path) -> None:
    """Refuse to replace a fit.csv or fit.png that emigsim did not write; mark ours.

    An emigsim output folder's marker gets the two names (a re-run into the folder then
    removes them with the rest of the old results, which they describe); a new or empty
    folder gets a marker of kind ``fit``. A file of the user's with one of these names is
    never replaced.
    """
    from model.runs.ownership import clean_stale_temporaries, read_marker, write_marker

    marker = read_marker(out) if out.is_dir() else None
    listed = set(marker["files"]) if marker else set()
    for name in _FIT_FILES:
        if (out / name).exists() and name not in listed:
            raise FitInputError(f"{_CLI}: key '--out' = '{out}' holds {name}, which emigsim "
                                "did not write but would replace; allowed: an emigsim output "
                                "folder, a new or empty folder, or --out elsewhere")
    empty = not out.exists() or not any(out.iterdir())
    out.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(out)
    if marker is not None:
        write_marker(out, marker.get("kind", "run"), [*marker["files"], *_FIT_FILES],
                     marker["folders"])
    elif empty:
        write_marker(out, "fit", _FIT_FILES, [])


def _write_atomic(path: Path, write) -> None:
    # a reader never sees half a file: write beside it (a temporary name of ours, cleaned
    # by a later run if this process dies), then rename into place
    from model.runs.ownership import temp_name

    tmp = temp_name(path.parent, path.name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _run(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.is_dir():
        raise FitInputError(f"{_CLI}: key 'RUN_OR_STORE' = '{path}' is not a folder; "
                            f"allowed: {_PATH_ALLOWED}")
    targets = _targets.load_targets(args.targets or _targets.default_targets_path())
    out = Path(args.out) if args.out else path
    if out.exists() and not out.is_dir():
        raise FitInputError(f"{_CLI}: key '--out' = '{out}' is a file; allowed: a folder "
                            "(created when missing)")
    try:
        series = _fit.load_series(path, _fit.needed_metrics(targets))
    except _fit.SeriesNotFoundError:
        raise FitInputError(f"{_CLI}: key 'RUN_OR_STORE' = '{path}' holds no results (no "
                            f"series.csv, no store/); allowed: {_PATH_ALLOWED}") from None
    if series.empty:
        raise FitInputError(f"{_CLI}: key 'RUN_OR_STORE' = '{path}' has no rows of the "
                            f"targets' metrics; allowed: {_PATH_ALLOWED} of a finished run")
    report = _fit.fit_report(series, targets)
    manifest = _residuals.read_manifest(path)
    residuals = None if manifest is None else _residuals.residual_table(manifest)
    _claim(out)
    table = _fit.with_total(report)
    _write_atomic(out / "fit.csv", lambda p: table.to_csv(p, index=False))
    if residuals is not None:
        _write_atomic(out / "fit_residuals.csv", lambda p: residuals.to_csv(p, index=False))
    residual_text = ("residual terms unknown (no manifest.json beside the results)"
                     if residuals is None else _residuals.format_residuals(residuals))
    fig = _fit.fit_figure(report, note=residual_text)
    _write_atomic(out / "fit.png", lambda p: fig.savefig(p, dpi=120, format="png"))
    print(format_report(report, quiet=getattr(args, "quiet", False)))
    print(residual_text)
    print(f"targets:  {targets.path}")
    print(f"fit:      {out / 'fit.csv'}")
    if residuals is not None:
        print(f"residual: {out / 'fit_residuals.csv'}")
    print(f"figure:   {out / 'fit.png'}")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    """Run ``emigsim fit``; returns the exit status (2 on bad input, one line on stderr).

    Examples
    --------
    >>> import tempfile
    >>> a = argparse.Namespace(path=tempfile.mkdtemp(), targets=None, out=None, quiet=True)
    >>> cmd_fit(a)  # doctest: +ELLIPSIS
    2
    """
    try:
        return _run(args)
    except (FitInputError, ScenarioError) as exc:
        # ScenarioError covers the targets file (TargetsError): one line, exit 2
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `emigsim fit runs/x | head`: the reader left; silence the flush at exit too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m model.ui.fit_command RUN_OR_STORE [--targets F] [--out DIR]``.

    Examples
    --------
    >>> main(["/nonexistent/folder"])
    2
    """
    parser = add_arguments(argparse.ArgumentParser(
        prog=f"{PROG} fit", description="Compare a run or batch with the calibration "
                                         "targets; writes fit.csv and fit.png."))
    return cmd_fit(parser.parse_args(sys.argv[1:] if argv is None else list(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
