"""No module imports a module of a layer above its own (issue 13): the package's layers, from
the bottom, are listed in LAYERS; a module may import its own layer and those below it,
lazily or not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "searchtrace"
LAYERS = ("errors", "tasks", "traces", "rewards", "solvers", "schemas", "config", "version",
          "pipelines", "flows", "export", "trainer", "gallery", "cli")


def _layer(module: str) -> int:
    """The layer of `searchtrace.<part>...`; the package root (`__version__`) is below all."""
    parts = module.split(".")
    return -1 if len(parts) == 1 else LAYERS.index(parts[1])


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "searchtrace"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_layer() -> None:
    for path in MODULES:
        _layer(_module(path))  # raises ValueError naming a package no layer holds


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module(p))
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    own = _layer(_module(path))
    above = sorted(name for name in _imports(path) if _layer(name) > own)
    assert not above, f"{_module(path)} (layer {LAYERS[own]}) imports {above}"


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "rules.py"
    module.write_text("def f():\n    from searchtrace.solvers.dfs import solve\n")
    assert _imports(module) == {"searchtrace.solvers.dfs"}
    assert _layer("searchtrace.solvers.dfs") > _layer("searchtrace.tasks.countdown.rules")
