"""The package's layers import downward only.

inputs (params, scenario, datasets, drivers, interventions) <- core <- simulation <- runs
<- analysis <- ui. Every import of a ``model`` module, at the top of a file or inside a
function, is read from the source; one that points up a layer fails the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "model"

LAYERS = ["inputs", "core", "simulation", "runs", "analysis", "ui"]


def layer_of(module: str) -> str | None:
    """The layer of a dotted ``model`` module name; None for the package facade itself."""
    parts = module.split(".")
    if parts[0] != "model":
        return None
    if len(parts) == 1 or parts[1] in ("__init__", "__main__"):
        return None  # the facade (lazy attributes) and ``python -m model``: outside the layers
    head = parts[1]
    if head in ("core", "runs", "analysis", "ui", "simulation"):
        return head
    return "inputs"  # params, scenario, datasets, drivers, interventions, data helpers


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every ``model`` import in a file (submodules resolved)."""
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("model")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("model"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                is_module = (ROOT.parent / Path(*sub.split("."))).with_suffix(".py").exists() \
                    or (ROOT.parent / Path(*sub.split("."))).is_dir()
                out.append((node.lineno, sub if is_module else node.module))
    return out


SOURCES = sorted(p for p in ROOT.rglob("*.py"))


def test_every_module_has_a_layer():
    for path in SOURCES:
        name = module_name(path)
        if name in ("model", "model.__main__"):
            continue
        assert layer_of(name) in LAYERS, name


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path):
    source = module_name(path)
    here = layer_of(source)
    if here is None:
        return
    upward = [f"{path.relative_to(ROOT.parent)}:{line} imports {target} ({layer_of(target)})"
              for line, target in imported_modules(path)
              if layer_of(target) is not None
              and LAYERS.index(layer_of(target)) > LAYERS.index(here)]
    assert not upward, f"{source} is in layer {here!r}; upward imports:\n" + "\n".join(upward)


def test_checker_catches_an_upward_import(tmp_path: Path):
    # the checker itself can fail: a core module importing the CLI is reported
    fake = ROOT / "core" / "states.py"
    lines = imported_modules(fake)
    assert all(layer_of(t) in ("inputs", "core") for _, t in lines)
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from model.ui import cli\n")
    found = imported_modules(bad)
    assert found == [(2, "model.ui.cli")]
    assert LAYERS.index(layer_of(found[0][1])) > LAYERS.index("core")
