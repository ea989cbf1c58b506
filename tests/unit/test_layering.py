"""The layout's rules, read from the source's import statements (docs/architecture.md "Layers").

Only the engine's door (`sfumato.engine`) is public: code outside `engine/` that reached an engine
internal would tie the rest of the product to how the engine is built today.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sfumato

PACKAGE = Path(sfumato.__file__).parent


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (function-level imports too), as absolute dotted names."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names if node.module == "sfumato"]
    return found


def _sources(under: str = "") -> list[Path]:
    return sorted((PACKAGE / under).rglob("*.py"))


def _layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


# Layer -> packages it must never import (besides the engine rule, which holds everywhere).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "catalog": ("engine", "domain", "store", "wire", "service", "jobs", "api", "webhooks", "cli", "container"),
    "domain": ("engine", "store", "wire", "service", "jobs", "api", "webhooks", "cli", "container"),
    "engine": ("domain", "store", "wire", "service", "jobs", "api", "webhooks", "cli", "container"),
    "wire": ("engine", "store", "service", "jobs", "api", "webhooks", "cli", "container"),
}


def test_only_the_engine_door_is_imported_from_outside_the_engine() -> None:
    breaches = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path in _sources()
        if _layer(path) != "engine"
        for line, module in _imports(path)
        if module.startswith("sfumato.engine.")
    ]
    assert breaches == [], "import `sfumato.engine` (the door) instead:\n" + "\n".join(breaches)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_does_not_import_the_layers_above_it(layer: str) -> None:
    breaches = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path in _sources(layer)
        for line, module in _imports(path)
        if module.startswith("sfumato.") and module.split(".")[1] in FORBIDDEN[layer]
    ]
    assert breaches == [], "\n".join(breaches)


def test_the_rule_sees_a_breach(tmp_path: Path) -> None:
    """The reader finds imports inside functions too, where lazy imports hide."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from sfumato.engine.renderer import Renderer\n    import sfumato.store.tables\n")
    assert [module for _, module in _imports(sample)] == ["sfumato.engine.renderer", "sfumato.store.tables"]
