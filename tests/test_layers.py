"""The import direction of ARCHITECTURE.md: a module imports only its own or lower layers."""

from __future__ import annotations

import ast
from pathlib import Path

import openqpu

PACKAGE_ROOT = Path(openqpu.__file__).parent


def _layer_of(module: str) -> int | None:
    for level, names in enumerate(openqpu.LAYERS):
        if any(module == name or module.startswith(name + ".") for name in names):
            return level
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def test_layers_every_module_belongs_to_a_layer() -> None:
    for path in PACKAGE_ROOT.rglob("*.py"):
        name = _module_name(path)
        if name == "openqpu":
            continue
        assert _layer_of(name) is not None, f"{name} is in no layer of openqpu.LAYERS"


def test_layers_imports_point_down() -> None:
    violations = []
    for path in PACKAGE_ROOT.rglob("*.py"):
        name = _module_name(path)
        own = _layer_of(name)
        if own is None:
            continue
        for imported, line in _imports(path):
            if imported == "openqpu" or not imported.startswith("openqpu."):
                continue
            target = _layer_of(imported)
            if target is not None and target > own:
                violations.append(f"{path.name}:{line}: {name} imports {imported}")
    assert not violations, "upward imports:\n" + "\n".join(violations)


def test_layers_check_detects_an_upward_import() -> None:
    assert _layer_of("openqpu.cli") > _layer_of("openqpu.sim.kernels")
    assert _layer_of("openqpu.sim") > _layer_of("openqpu.formats.qasm")
