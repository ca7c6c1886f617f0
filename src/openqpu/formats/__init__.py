"""Circuit source formats: reading OpenQASM 2 and 3 into ``qiskit.QuantumCircuit``."""

from __future__ import annotations

from openqpu.formats.qasm import detect_qasm_version, loads

__all__ = ["detect_qasm_version", "loads"]
