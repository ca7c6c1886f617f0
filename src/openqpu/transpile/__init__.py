"""Compilation of user circuits for a device: layout, routing, native gates, schedule."""

from __future__ import annotations

from openqpu.transpile.pipeline import active_qubits, transpile_for_device
from openqpu.transpile.transpiled import TranspiledCircuit, noise_model_for

__all__ = ["TranspiledCircuit", "active_qubits", "noise_model_for", "transpile_for_device"]
