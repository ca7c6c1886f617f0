"""The import direction of ARCHITECTURE.md: a module imports only its own or lower layers.

The checker sees ``import openqpu.x``, ``from openqpu.x import y``, ``from openqpu import
sim`` (a sub-package imported by name) and relative imports, and proves itself on a
module written with an upward import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import openqpu

PACKAGE_ROOT = Path(openqpu.__file__).parent

# Pairs the layer order alone allows but the design forbids: the HTTP routes reach
# execution only through the job store (a worker runs the job), never directly.
FORBIDDEN = (("openqpu.service.api", "openqpu.service.run"),)


def _layer_of(module: str) -> int | None:
    for level, names in enumerate(openqpu.LAYERS):
        if any(module == name or module.startswith(name + ".") for name in names):
            return level
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str, module: str, is_package: bool) -> list[tuple[str, int]]:
    """Every openqpu module ``source`` imports, with its line; relative imports resolved."""
    found = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            # `from openqpu import sim` imports the sub-package openqpu.sim.
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _violations(source: str, module: str, is_package: bool = False) -> list[str]:
    own = _layer_of(module)
    if own is None:
        return []
    found = []
    for imported, line in _imports(source, module, is_package):
        if not imported.startswith("openqpu."):
            continue
        target = _layer_of(imported)
        if target is not None and target > own:
            found.append(f"{module}:{line} imports {imported} (a higher layer)")
        for low, high in FORBIDDEN:
            if module.startswith(low) and imported.startswith(high):
                found.append(f"{module}:{line} imports {imported} (forbidden: {low} -> {high})")
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
        violations += _violations(path.read_text(), name, path.name == "__init__.py")
    assert not violations, "upward imports:\n" + "\n".join(violations)


def test_layers_check_detects_an_upward_import() -> None:
    assert _layer_of("openqpu.cli") > _layer_of("openqpu.sim.kernels")
    assert _layer_of("openqpu.sim") > _layer_of("openqpu.formats.qasm")
    assert _layer_of("openqpu.service.api.app") > _layer_of("openqpu.service.store.jobs")


def test_layers_checker_catches_each_import_form() -> None:
    module = "openqpu.sim.kernels"
    assert _violations("from openqpu import device\n", module)
    assert _violations("import openqpu.service.api.app\n", module)
    assert _violations("from openqpu.transpile.transpiled import TranspiledCircuit\n", module)
    assert _violations("from ..service import admission\n", module)
    assert not _violations("from . import ops\nfrom openqpu import errors\n", module)
    store = "openqpu.service.store.jobs"
    assert _violations("from ..run import worker\n", store)
    assert _violations(
        "from openqpu.service.run.chip import run_on_chip\n", "openqpu.service.api.app"
    )
