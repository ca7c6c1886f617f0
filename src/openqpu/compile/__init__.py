"""Deprecated name of ``openqpu.transpile`` (kept one release).

"compile" meant four things; it is now "transpile" for a device (``openqpu.transpile``),
"lower" for the engine (``openqpu.sim.lower``) and "program" for what lowering makes.
"""

from __future__ import annotations

import warnings

from openqpu.transpile import (
    TranspiledCircuit,
    active_qubits,
    noise_model_for,
    transpile_for_device,
)

warnings.warn(
    "openqpu.compile is deprecated: use openqpu.transpile (transpile_for_device, "
    "TranspiledCircuit)",
    DeprecationWarning,
    stacklevel=2,
)

# The old names.
compile_for_device = transpile_for_device
CompiledCircuit = TranspiledCircuit

__all__ = [
    "CompiledCircuit",
    "TranspiledCircuit",
    "active_qubits",
    "compile_for_device",
    "noise_model_for",
    "transpile_for_device",
]
