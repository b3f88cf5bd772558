"""Two recovery studies side by side: coverage and error per parameter, as a Markdown table.

Usage::

    python calibration/compare_recovery.py NAME_A DIR_A NAME_B DIR_B

``DIR_*`` is a recovery folder (``recovery_summary.csv`` and ``truths.csv`` of
``emigsim calibrate ... --recovery``). The two must share their truths (the same study seed
and priors draw the same true values), so the comparison is on the same synthetic datasets;
the script refuses otherwise.

Examples
--------
>>> a = pd.DataFrame({"param": ["x"], "n_datasets": [10], "covered_50": [0.5],
...                   "covered_90": [0.9], "median_width_ratio": [0.4],
...                   "mean_abs_error": [0.2]})
>>> print(side_by_side({"A": a, "B": a}).splitlines()[2])
| x | 0.5 / 0.9 | 0.40 | 0.2 | 0.5 / 0.9 | 0.40 | 0.2 |
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def side_by_side(summaries: dict[str, pd.DataFrame]) -> str:
    """A Markdown table: per parameter, each study's 50%/90% coverage, width ratio, error."""
    names = list(summaries)
    head = "| parameter | " + " | ".join(
        f"{n}: covered 50% / 90% | {n}: width ratio | {n}: mean abs error" for n in names) + " |"
    lines = [head, "|" + "---|" * (1 + 3 * len(names))]
    first = summaries[names[0]]
    for param in first["param"]:
        cells = []
        for n in names:
            r = summaries[n].set_index("param").loc[param]
            cells += [f"{r['covered_50']:.1f} / {r['covered_90']:.1f}",
                      f"{r['median_width_ratio']:.2f}", f"{r['mean_abs_error']:.3g}"]
        lines.append(f"| {param} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print the table of two recovery folders; 2 (with one line) for bad arguments."""
    if len(argv) != 4:
        print("usage: python calibration/compare_recovery.py NAME_A DIR_A NAME_B DIR_B",
              file=sys.stderr)
        return 2
    dirs = {argv[0]: Path(argv[1]), argv[2]: Path(argv[3])}
    for d in dirs.values():
        for f in ("recovery_summary.csv", "truths.csv"):
            if not (d / f).exists():
                print(f"{d}: no {f}; allowed: a recovery folder of 'emigsim calibrate "
                      "--recovery'", file=sys.stderr)
                return 2
    truths = [pd.read_csv(d / "truths.csv") for d in dirs.values()]
    n = min(len(t) for t in truths)
    if not truths[0].iloc[:n].equals(truths[1].iloc[:n]):
        print(f"{argv[3]}: truths.csv differs from {argv[1]}'s; allowed: recoveries of the "
              "same study seed and priors", file=sys.stderr)
        return 2
    print(side_by_side({name: pd.read_csv(d / "recovery_summary.csv")
                        for name, d in dirs.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
