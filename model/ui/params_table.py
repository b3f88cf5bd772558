"""The parameter registry as text for people (``emigsim params``) or Markdown for the docs.

The text form is grouped by role (behaviour, structural, context): one aligned line per
parameter with its default, bounds, unit and prior, then its description and source
wrapped to the terminal width. The Markdown form is ``docs/parameters.md``.

Examples
--------
>>> text = format_params_table(width=60, role="context")
>>> max(len(line) for line in text.splitlines()) <= 60
True
>>> text.splitlines()[0]
'context: dates and switches (8)'
"""

from __future__ import annotations

import argparse
import shutil
import textwrap

from model.params import REGISTRY, ROLES, Param

__all__ = ["format_params_table", "ROLE_TITLES", "MARKDOWN_COLUMNS"]

ROLE_TITLES = {"behaviour": "calibrated coefficients and rates of the choices",
               "structural": "modelling constants, fixed by default",
               "context": "dates and switches"}
"""What each role means, as the heading of its block."""

MARKDOWN_COLUMNS = ["name", "default", "bounds", "unit", "source", "role", "prior", "group",
                    "description", "reference"]
"""Columns of the Markdown table (``docs/parameters.md``), in order."""

_LINE_COLUMNS = ["name", "default", "bounds", "unit", "prior"]
_INDENT = "    "


def _fmt(value: float, param: Param) -> str:
    return str(int(value)) if param.kind in ("int", "year") else f"{value:g}"


def _row(p: Param) -> dict[str, str]:
    return {"name": p.name, "default": _fmt(p.default, p),
            "bounds": f"[{_fmt(p.bounds[0], p)}, {_fmt(p.bounds[1], p)}]", "unit": p.unit,
            "source": "assumption" if p.is_assumption else "data", "role": p.role,
            "prior": p.prior_dist().describe(), "group": p.group, "description": p.doc,
            "reference": p.source}


def _markdown(rows: list[dict[str, str]]) -> str:
    cols = MARKDOWN_COLUMNS
    esc = [{c: r[c].replace("|", "\\|") for c in cols} for r in rows]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(f"`{r[c]}`" if c == "name" else r[c] for c in cols) + " |"
              for r in esc]
    return "\n".join(lines)


def _wrap(text: str, width: int, first: str = _INDENT) -> list[str]:
    # break_on_hyphens=False: keeps file names such as kz_x_2000-2018.csv in one piece
    return textwrap.wrap(text, width=max(width, 20), initial_indent=first,
                         subsequent_indent=_INDENT + "  ", break_on_hyphens=False)


def _text(rows: list[dict[str, str]], width: int) -> str:
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in _LINE_COLUMNS}
    aligned = sum(widths.values()) + 2 * (len(widths) - 1) <= width
    lines: list[str] = []
    for role in ROLES:
        block = [r for r in rows if r["role"] == role]
        if not block:
            continue
        if lines:
            lines.append("")
        lines += _wrap(f"{role}: {ROLE_TITLES[role]} ({len(block)})", width, first="")
        if aligned:
            lines.append("  ".join(c.ljust(widths[c]) for c in _LINE_COLUMNS).rstrip())
        for r in block:
            if aligned:
                lines.append("  ".join(r[c].ljust(widths[c]) for c in _LINE_COLUMNS).rstrip())
            else:  # too narrow for columns: the same fields, wrapped
                lines += _wrap(f"{r['name']} = {r['default']}  {r['bounds']}  {r['unit']}  "
                               f"prior {r['prior']}", width, first="")
            lines += _wrap(r["description"], width)
            lines += _wrap(f"source: {r['reference']}", width)
    return "\n".join(lines)


def format_params_table(markdown: bool = False, *, role: str | None = None,
                        width: int | None = None) -> str:
    """Return the parameter registry as wrapped text (grouped by role) or a Markdown table.

    Parameters
    ----------
    markdown : bool
        A Markdown table with the columns :data:`MARKDOWN_COLUMNS` (the docs format),
        instead of text.
    role : str, optional
        Only the parameters of this role (one of :data:`model.params.ROLES`).
    width : int, optional
        Width to wrap the text to (default: the terminal's, from ``COLUMNS`` or the
        terminal, else 100). Ignored for Markdown.

    Examples
    --------
    >>> print(format_params_table(role="context", width=100).splitlines()[1])
    ... # doctest: +NORMALIZE_WHITESPACE
    name default bounds unit prior
    >>> format_params_table(markdown=True).splitlines()[1].startswith("|---")
    True
    """
    params = [p for p in REGISTRY.values() if role is None or p.role == role]
    rows = [_row(p) for p in params]
    if markdown:
        return _markdown(rows)
    if width is None:
        width = shutil.get_terminal_size((100, 24)).columns
    return _text(rows, width)


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter registry (``emigsim params [--markdown] [--role ROLE]``).

    Examples
    --------
    >>> import argparse
    >>> cmd_params(argparse.Namespace(markdown=True, role=None))  # doctest: +ELLIPSIS
    | name | default | ...
    0
    """
    print(format_params_table(markdown=args.markdown, role=getattr(args, "role", None)))
    return 0
