"""The simulation engine: statevector simulation of Qiskit circuits, ideal or noisy.

Lower once, run many: ``lower(circuit)`` lowers and fuses a circuit into a
``Program`` that is reused for shots and parameter sets. The module functions
``statevector``, ``sample`` and ``expectation`` accept a circuit or a program; a
noisy program samples Monte-Carlo trajectories. ``openqpu.sim.methods`` adds the
other methods for noisy circuits (density matrix, stabilizer, matrix product
states) and the choice among them.
Bit order is Qiskit's: qubit 0 is the least significant bit of a statevector
index, and classical bit 0 is the rightmost character of a counts key.
"""

from __future__ import annotations

from openqpu.sim.api import compile, expectation, lower, sample, statevector
from openqpu.sim.program import Program

# ``compile`` is the deprecated name of ``lower`` (kept one release).
__all__ = ["Program", "compile", "expectation", "lower", "sample", "statevector"]
