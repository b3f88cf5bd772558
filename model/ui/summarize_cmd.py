"""``emigsim summarize``: per-year mean and quantiles across the runs of an output folder.

The folder is read through :class:`model.runs.results.ResultSet`, which reads only the
chosen metrics' rows from a batch's store.

Examples
--------
>>> _number(1234567.8), _number(0.0125)
('1,234,568', '0.0125')
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model.params import suggest
from model.ui.options import CLI, CliError, summary_metrics, summary_quantiles

__all__ = ["cmd_summarize"]

_HOLDS_RESULTS = ("an emigsim output folder (with store/ or series.csv) or a store/ "
                  "folder")


def _number(value: float) -> str:
    # Persons read best as whole numbers with separators; shares need their decimals.
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def cmd_summarize(args: argparse.Namespace) -> int:
    """Print per-year quantiles across runs of chosen metrics (``emigsim summarize``).

    Only the chosen metrics' rows are read from the store.

    Examples
    --------
    >>> from model.ui.cli import build_parser
    >>> a = build_parser().parse_args(["summarize", "runs/b", "--metric", "births"])
    >>> (a.metric, a.group, a.quantiles)
    (['births'], 'all', None)
    """
    metrics = summary_metrics(args.metric)
    qs = summary_quantiles(args.quantiles)
    path = Path(args.path)
    if not path.is_dir():
        raise CliError(f"{CLI}: key 'STORE_OR_OUTDIR' = '{path}' is not a folder; allowed: "
                       f"{_HOLDS_RESULTS}")
    from model.runs.results import ResultsError, ResultSet

    try:
        chosen = ResultSet.load(path).select(metric=metrics)
    except ResultsError:
        raise CliError(f"{CLI}: key 'STORE_OR_OUTDIR' = '{path}' holds no results; allowed: "
                       f"{_HOLDS_RESULTS}") from None
    sel = chosen.select(group=args.group).series
    if sel.empty:
        known = chosen.groups
        raise CliError(f"{CLI}: key '--group' = {args.group!r} has no rows for "
                       f"{', '.join(metrics)}; allowed: a group in the results (e.g. "
                       f"{', '.join(known[:4])}, ...)" + suggest(args.group, known))
    for (scenario, metric), part in sel.groupby(["scenario", "metric"], sort=True):
        results = ResultSet(part)
        summary = results.summary(metric, args.group, quantiles=qs).set_index("year")
        table = summary[["runs", "mean", *summary.columns[1:-1]]]
        print(f"{scenario} / {metric} / {args.group} ({results.n_runs()} runs)")
        print(table.to_string(float_format=_number))
        print()
    return 0
