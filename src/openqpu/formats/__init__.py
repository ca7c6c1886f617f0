"""Circuit source formats: OpenQASM 2 and 3, and OriginIR (``openqpu.formats.originir``)."""

from __future__ import annotations

from openqpu.formats import originir
from openqpu.formats.qasm import detect_qasm_version, loads

__all__ = ["detect_qasm_version", "loads", "originir"]
