"""``emigsim params``: the parameter registry as a text or Markdown table.

Examples
--------
>>> format_params_table().splitlines()[0].split()[:2]
['name', 'default']
"""

from __future__ import annotations

import argparse

from model.params import REGISTRY, Param

__all__ = ["cmd_params", "format_params_table"]


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
