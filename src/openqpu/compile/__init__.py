"""Compilation of user circuits for a device: layout, routing, native gates, schedule."""

from __future__ import annotations

from openqpu.compile.compiled import CompiledCircuit, noise_model_for
from openqpu.compile.transpile import active_qubits, compile_for_device

__all__ = ["CompiledCircuit", "active_qubits", "compile_for_device", "noise_model_for"]
