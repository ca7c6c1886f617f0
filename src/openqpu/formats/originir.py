"""OriginIR, the native circuit language of the reference superconducting cloud.

openqpu reads and writes it itself: :func:`loads` gives a ``QuantumCircuit`` with
one qubit register ``q`` and one classical register ``c`` (``q[i]`` is Qiskit
qubit ``i``, ``c[j]`` classical bit ``j``, so counts keys keep Qiskit's order),
and :func:`dumps` writes a circuit back.

Gate conventions, taken from QPanda 2's gate definitions (``QuantumGate.cpp``,
``QProgToOriginIR.cpp`` in OriginQ/QPanda-2) and the OriginIR chapter of the
pyQPanda tutorial:

- ``X1``, ``Y1``, ``Z1`` are ``RX(pi/2)``, ``RY(pi/2)``, ``RZ(pi/2)``; ``U1`` and
  ``P`` are Qiskit's ``p``; ``U2``/``U3`` are Qiskit's ``u2``/``u3``.
- ``U4 q,(alpha,beta,gamma,delta)`` is ``exp(i alpha) RZ(beta) RY(gamma) RZ(delta)``,
  i.e. Qiskit ``u(gamma, beta, delta)`` times the global phase
  ``exp(i(alpha - (beta + delta)/2))``. The phase is kept (it matters under CONTROL).
- ``CU q[c],q[t],(alpha,beta,gamma,delta)`` is ``U4(alpha,beta,gamma,delta)`` on
  ``q[t]`` controlled by ``q[c]``: Qiskit ``cu(gamma, beta, delta, alpha - (beta+delta)/2)``.
- ``RPHI q,(theta,phi)`` is ``exp(-i theta/2 (cos(phi) X + sin(phi) Y))``: Qiskit ``r``.
- ``CR`` and ``CP`` are the controlled phase ``diag(1, 1, 1, exp(i theta))``: ``cp``.
- ``ISWAP`` is Qiskit's ``iswap`` (``|01> -> i|10>``), as pyqpanda3's converter
  reads it (checked in tests/compat/test_originir_reference.py; QPanda 2's C++
  source had ``-i``, the inverse).
- ``RXX``, ``RYY``, ``RZZ`` are ``exp(-i theta/2 P(x)P)``; ``RZX q[a],q[b]`` puts Z on
  ``q[a]`` and X on ``q[b]`` (Qiskit ``rzx(theta, a, b)``).
- ``TOFFOLI a,b,t`` and ``CSWAP c,a,b`` list their controls first.

``QIF``, ``QWHILE`` and ``QGATE`` are not supported. A circuit's global phase is
not written (OriginIR has no statement for it).
"""

from __future__ import annotations

import re

from qiskit import QuantumCircuit

from openqpu.formats import originir_parse, originir_write

_FIRST_STATEMENT = re.compile(r"\A(?:\s*(?://|#)[^\n]*\n|\s*\n)*\s*QINIT\b", re.IGNORECASE)


def loads(text: str) -> QuantumCircuit:
    """Parse an OriginIR program.

    Args:
        text: the program source, one statement a line.

    Returns:
        The circuit, with a register ``q`` of ``QINIT`` qubits and ``c`` of ``CREG`` bits.

    Raises:
        CircuitSyntaxError: the program cannot be read; ``line`` and ``column``
            (1-based) point at the problem.

    >>> loads("QINIT 2\\nCREG 2\\nH q[0]\\nCNOT q[0],q[1]\\nMEASURE q,c\\n").count_ops()["h"]
    1
    """
    return originir_parse.loads(text)


def dumps(circuit: QuantumCircuit) -> str:
    """Write ``circuit`` as OriginIR.

    Qubits and classical bits are numbered in the circuit's order across all its
    registers. Gates with no OriginIR equivalent are transpiled away first.

    Raises:
        UnsupportedInstruction: the circuit has classically controlled instructions.
        OpenQPUError: the circuit has unbound parameters.

    >>> from qiskit import QuantumCircuit
    >>> circuit = QuantumCircuit(2)
    >>> _ = circuit.h(0)
    >>> print(dumps(circuit), end="")
    QINIT 2
    CREG 0
    H q[0]
    """
    return originir_write.dumps(circuit)


def is_originir(text: str) -> bool:
    """True when the first statement of ``text`` (after comments) is ``QINIT``."""
    return _FIRST_STATEMENT.match(text[:4096]) is not None
