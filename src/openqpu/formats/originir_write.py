"""Writing a ``QuantumCircuit`` as OriginIR text.

Gates with an OriginIR equivalent are written directly; a circuit holding any
other gate is first transpiled to gates that have one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from qiskit import QuantumCircuit
from qiskit.circuit import CircuitInstruction, ControlFlowOp, ControlledGate, Instruction

from openqpu.errors import OpenQPUError, UnsupportedInstruction

# Qiskit name -> (OriginIR name, parameters in OriginIR order from Qiskit's params).
_Params = Callable[[Sequence[float]], list[float]]
_SAME: _Params = list


def _cu_params(p: Sequence[float]) -> list[float]:
    # Qiskit CU(theta, phi, lam, gamma) = e^{i gamma} U(theta, phi, lam) on the target;
    # QPanda CU(alpha, beta, gamma, delta) = e^{i alpha} RZ(beta) RY(gamma) RZ(delta).
    theta, phi, lam, gamma = p
    return [gamma + (phi + lam) / 2, phi, theta, lam]


DIRECT: dict[str, tuple[str, _Params]] = {
    "h": ("H", _SAME),
    "x": ("X", _SAME),
    "y": ("Y", _SAME),
    "z": ("Z", _SAME),
    "s": ("S", _SAME),
    "t": ("T", _SAME),
    "id": ("I", _SAME),
    "sx": ("SX", _SAME),
    "sdg": ("U1", lambda _: [-math.pi / 2]),
    "tdg": ("U1", lambda _: [-math.pi / 4]),
    "rx": ("RX", _SAME),
    "ry": ("RY", _SAME),
    "rz": ("RZ", _SAME),
    "p": ("U1", _SAME),
    "u1": ("U1", _SAME),
    "u2": ("U2", _SAME),
    "u3": ("U3", _SAME),
    "u": ("U3", _SAME),
    "r": ("RPHI", _SAME),
    "cx": ("CNOT", _SAME),
    "cz": ("CZ", _SAME),
    "swap": ("SWAP", _SAME),
    "cp": ("CR", _SAME),
    "cu1": ("CR", _SAME),
    "rxx": ("RXX", _SAME),
    "ryy": ("RYY", _SAME),
    "rzz": ("RZZ", _SAME),
    "rzx": ("RZX", _SAME),
    "cu": ("CU", _cu_params),
    "ccx": ("TOFFOLI", _SAME),
    "cswap": ("CSWAP", _SAME),
}

# What the fallback transpilation aims at: all written directly.
BASIS = [*DIRECT, "iswap"]  # barrier, measure and reset pass through


def dumps(circuit: QuantumCircuit) -> str:
    """Write ``circuit`` as OriginIR (see :mod:`openqpu.formats.originir`)."""
    for instruction in circuit.data:
        operation = instruction.operation
        if isinstance(operation, ControlFlowOp) or getattr(operation, "condition", None):
            raise UnsupportedInstruction(
                operation.name, "OriginIR output has no classically controlled instructions"
            )
    if circuit.parameters:
        names = ", ".join(sorted(p.name for p in circuit.parameters))
        raise OpenQPUError(f"bind the circuit's parameters ({names}) before writing OriginIR")
    lines = [f"QINIT {circuit.num_qubits}", f"CREG {circuit.num_clbits}"]
    for instruction in circuit.data:
        if _writable(instruction.operation):
            lines.extend(_statements(circuit, instruction))
            continue
        for inner in _transpiled(instruction):
            lines.extend(_statements(circuit, inner))
    return "\n".join(lines) + "\n"


def _transpiled(instruction: CircuitInstruction) -> list[CircuitInstruction]:
    """One instruction rewritten into gates OriginIR has, on the same bits."""
    from qiskit import transpile

    operation = instruction.operation
    sub = QuantumCircuit(list(instruction.qubits), list(instruction.clbits))
    sub.append(operation, instruction.qubits, instruction.clbits)
    try:
        lowered = transpile(sub, basis_gates=BASIS, optimization_level=0)
    except Exception as exc:
        raise UnsupportedInstruction(operation.name, f"no OriginIR equivalent ({exc})") from None
    rewritten = []
    for inner in lowered.data:
        if not _writable(inner.operation):
            raise UnsupportedInstruction(operation.name, "it has no OriginIR equivalent")
        # Without a coupling map transpile keeps the layout: bit i of ``sub`` stays bit i.
        qubits = [instruction.qubits[lowered.find_bit(q).index] for q in inner.qubits]
        clbits = [instruction.clbits[lowered.find_bit(c).index] for c in inner.clbits]
        rewritten.append(inner.replace(qubits=qubits, clbits=clbits))
    return rewritten


def _writable(operation: Instruction) -> bool:
    if operation.name in DIRECT or operation.name in ("iswap", "barrier", "measure", "reset"):
        return True
    return _controlled_base(operation) is not None


def _controlled_base(operation: Instruction) -> Instruction | None:
    """The base gate of a plainly controlled gate (all controls on |1>) OriginIR can write."""
    if not isinstance(operation, ControlledGate):
        return None
    if operation.ctrl_state != 2**operation.num_ctrl_qubits - 1:
        return None
    base = operation.base_gate
    return base if base.name in DIRECT or base.name == "iswap" else None


def _statements(circuit: QuantumCircuit, instruction: CircuitInstruction) -> list[str]:
    operation = instruction.operation
    qubits = [f"q[{circuit.find_bit(q).index}]" for q in instruction.qubits]
    name = operation.name
    if name == "measure":
        clbit = circuit.find_bit(instruction.clbits[0]).index
        return [f"MEASURE {qubits[0]},c[{clbit}]"]
    if name == "reset":
        return [f"RESET {qubits[0]}"]
    if name == "barrier":
        return [f"BARRIER {','.join(qubits)}"]
    if name == "iswap":
        return [f"ISWAP {','.join(qubits)}"]
    if name in DIRECT:
        return [_gate_line(name, operation.params, qubits)]
    base = _controlled_base(operation)
    assert base is not None
    count = operation.num_ctrl_qubits
    controls = ",".join(qubits[:count])
    inner = _statements_for(base, qubits[count:])
    return [f"CONTROL {controls}", *inner, "ENDCONTROL"]


def _statements_for(base: Instruction, qubits: list[str]) -> list[str]:
    if base.name == "iswap":
        return [f"ISWAP {','.join(qubits)}"]
    return [_gate_line(base.name, base.params, qubits)]


def _gate_line(name: str, params: Sequence[Any], qubits: list[str]) -> str:
    keyword, convert = DIRECT[name]
    values = convert([float(p) for p in params])
    text = f"{keyword} {','.join(qubits)}"
    if values:
        text += ",(" + ",".join(repr(float(v)) for v in values) + ")"
    return text
