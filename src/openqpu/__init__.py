"""openqpu: an open, self-hostable quantum computing cloud.

The package is layered; a module imports only from its own layer or the layers
listed before it (checked by ``tests/test_layers.py``):

1. ``openqpu.errors``: the exception hierarchy.
2. ``openqpu.formats``: circuit source formats (OpenQASM 2 and 3, OriginIR).
3. ``openqpu.sim``: the simulation engine (statevector, and for noisy circuits the
   methods of ``openqpu.sim.methods``: density matrix, stabilizer, MPS, trajectories).
4. ``openqpu.device``: the devices a server hosts (chips, calibration, noise, Target).
5. ``openqpu.transpile``: transpiling a circuit for a chip (layout, routing, schedule).
6. ``openqpu.service``: the cloud, itself layered (``LAYERS`` below): shared request
   shapes, ``store`` (persistence), ``run`` (execution), ``admission``, ``protocols``
   (other clouds' wire formats), ``api`` (HTTP).
7. Front ends: ``openqpu.client`` (SDK), ``openqpu.qiskit`` (Qiskit provider and
   primitives), ``openqpu.cli``, ``openqpu.web`` (dashboard) and ``openqpu.apps``.
"""

from __future__ import annotations

from typing import Any

from openqpu.errors import (
    CircuitSyntaxError,
    CircuitTooLarge,
    OpenQPUError,
    UnsupportedInstruction,
)

__version__ = "0.1.0"

# Lower layers first; a module may import from its own layer and those before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("openqpu.errors",),
    ("openqpu.formats",),
    ("openqpu.sim",),
    ("openqpu.device",),
    ("openqpu.transpile", "openqpu.compile"),  # compile: deprecated name of transpile
    # The service, bottom to top: shared request shapes, persistence, execution,
    # admission of new jobs, other clouds' wire formats, HTTP.
    (
        "openqpu.service.settings",
        "openqpu.service.clock",
        "openqpu.service.lru",
        "openqpu.service.heap",
        "openqpu.service.sandbox",
        "openqpu.service.circuits",
        "openqpu.service.schemas",
        "openqpu.service.estimator_options",
        "openqpu.service.metrics",
    ),
    ("openqpu.service.store",),
    ("openqpu.service.run",),
    ("openqpu.service.admission",),
    ("openqpu.service.protocols",),
    ("openqpu.service.api", "openqpu.service"),
    ("openqpu.client", "openqpu.qiskit", "openqpu.cli", "openqpu.web", "openqpu.apps"),
)

# Exported on first use, so that ``import openqpu`` does not import httpx.
_LAZY = {"Client": "openqpu.client"}

__all__ = [
    "LAYERS",
    "CircuitSyntaxError",
    "CircuitTooLarge",
    "Client",
    "OpenQPUError",
    "UnsupportedInstruction",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """Import a lazily exported name (``openqpu.Client``) on first access."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'openqpu' has no attribute {name!r}")
