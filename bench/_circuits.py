"""Benchmark circuits and their translation into each engine's native circuit form.

Every circuit is unrolled once by qiskit into the fixed gate basis :data:`BASIS` (no optimisation,
no routing) and read out as a flat list of :class:`Op`. All engines execute exactly that list:
openqpu and qiskit-aer take the unrolled ``qiskit.QuantumCircuit`` itself, qulacs and qsim get a
gate-by-gate translation of the :class:`Op` list. QuantumVolume's random SU(4) blocks stay
2-qubit ``unitary`` gates for every engine.

Qubit ordering: qiskit and qulacs are little-endian (qubit 0 is the least significant bit of the
state index). Cirq/qsim order qubits most-significant first, so qiskit qubit ``q`` becomes
``cirq.LineQubit(n - 1 - q)`` and every engine produces the same state vector layout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

#: Gates the circuits are unrolled into; every engine implements each of them.
BASIS: tuple[str, ...] = ("h", "x", "sx", "rx", "ry", "rz", "u", "cx", "cp", "swap", "unitary")

#: Seed for QuantumVolume's random unitaries and EfficientSU2's random parameters.
SEED = 1234

#: Layers of QuantumVolume.
QV_DEPTH = 10

#: Repetitions of EfficientSU2.
SU2_REPS = 3


@dataclass(frozen=True, eq=False)
class Op:
    """One gate of an unrolled circuit.

    Attributes:
        name: gate name, one of :data:`BASIS`.
        qubits: qiskit qubit indices, in the gate's argument order (control first for ``cx``).
        params: the gate's real parameters (empty for ``unitary``).
        matrix: the gate's unitary in qiskit's convention (``qubits[0]`` is the least
            significant bit of the matrix index).
    """

    name: str
    qubits: tuple[int, ...]
    params: tuple[float, ...]
    matrix: np.ndarray


@dataclass(frozen=True, eq=False)
class Case:
    """A benchmark circuit at one size, unrolled, with the fingerprint of its gate list."""

    name: str
    num_qubits: int
    circuit: QuantumCircuit
    ops: list[Op]
    fingerprint: str


def _qft(n: int) -> QuantumCircuit:
    """QFT on ``n`` qubits, including the final qubit-reversal swaps."""
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import QFTGate

    qc = QuantumCircuit(n)
    qc.append(QFTGate(n), range(n))
    return qc


def _quantum_volume(n: int) -> QuantumCircuit:
    """Quantum-volume model circuit: QV_DEPTH layers of random SU(4) on random qubit pairs."""
    from qiskit.circuit.library import quantum_volume

    return quantum_volume(n, depth=QV_DEPTH, seed=SEED)


def _ghz(n: int) -> QuantumCircuit:
    """GHZ preparation: one Hadamard and a chain of CNOTs."""
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return qc


def _efficient_su2(n: int) -> QuantumCircuit:
    """EfficientSU2 ansatz (RY/RZ layers, reverse-linear CX) with seeded random parameters."""
    from qiskit.circuit.library import efficient_su2

    ansatz = efficient_su2(n, reps=SU2_REPS)
    rng = np.random.default_rng(SEED)
    return ansatz.assign_parameters(rng.uniform(0.0, 2.0 * np.pi, ansatz.num_parameters))


#: Benchmark circuits by their command-line name.
CIRCUITS: dict[str, Callable[[int], QuantumCircuit]] = {
    "qft": _qft,
    "qv": _quantum_volume,
    "ghz": _ghz,
    "su2": _efficient_su2,
}


def unroll(qc: QuantumCircuit) -> QuantumCircuit:
    """Unroll ``qc`` into :data:`BASIS` with qiskit, without any optimisation or routing.

    ``transpile(basis_gates=...)`` rejects ``unitary`` as a basis name in qiskit 2, so the two
    passes that do the unrolling at ``optimization_level=0`` are run directly.
    """
    from qiskit.circuit.equivalence_library import SessionEquivalenceLibrary
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.passes import BasisTranslator, HighLevelSynthesis

    basis = list(BASIS)
    manager = PassManager(
        [
            HighLevelSynthesis(basis_gates=basis),
            BasisTranslator(SessionEquivalenceLibrary, basis),
        ]
    )
    out = manager.run(qc)
    stray = set(out.count_ops()) - set(BASIS)
    if stray:
        raise ValueError(f"unrolling left gates outside the basis: {sorted(stray)}")
    return out


def ops_of(qc: QuantumCircuit) -> list[Op]:
    """Read an unrolled circuit out as a list of :class:`Op`."""
    ops: list[Op] = []
    for instruction in qc.data:
        gate = instruction.operation
        if gate.name not in BASIS:
            raise ValueError(f"gate {gate.name!r} is not in the benchmark basis")
        qubits = tuple(qc.find_bit(q).index for q in instruction.qubits)
        params = () if gate.name == "unitary" else tuple(float(p) for p in gate.params)
        matrix = np.asarray(gate.to_matrix(), dtype=np.complex128)
        ops.append(Op(gate.name, qubits, params, matrix))
    return ops


def fingerprint(ops: list[Op]) -> str:
    """Short hash of a gate list, used to check that every engine ran the same gates."""
    digest = hashlib.sha256()
    for op in ops:
        digest.update(f"{op.name}{op.qubits}{op.params}".encode())
        digest.update(np.ascontiguousarray(op.matrix).tobytes())
    return digest.hexdigest()[:12]


def build(name: str, n: int) -> Case:
    """Build, unroll and fingerprint benchmark circuit ``name`` on ``n`` qubits."""
    circuit = unroll(CIRCUITS[name](n))
    ops = ops_of(circuit)
    return Case(name, n, circuit, ops, fingerprint(ops))


def to_qulacs(ops: list[Op], n: int) -> Any:
    """Translate a gate list into a ``qulacs.QuantumCircuit`` (qulacs is little-endian too).

    Named qulacs gates are used where qulacs has them, so qulacs runs its specialised kernels;
    ``u`` and ``unitary`` become dense-matrix gates and ``cp`` a controlled phase gate.
    """
    import qulacs
    from qulacs import gate

    circuit = qulacs.QuantumCircuit(n)
    for op in ops:
        q = op.qubits
        match op.name:
            case "h":
                circuit.add_H_gate(q[0])
            case "x":
                circuit.add_X_gate(q[0])
            case "sx":
                circuit.add_sqrtX_gate(q[0])
            case "rx":
                circuit.add_RotX_gate(q[0], op.params[0])
            case "ry":
                circuit.add_RotY_gate(q[0], op.params[0])
            case "rz":
                circuit.add_RotZ_gate(q[0], op.params[0])
            case "u":
                circuit.add_dense_matrix_gate(q[0], op.matrix)
            case "cx":
                circuit.add_CNOT_gate(q[0], q[1])
            case "cp":
                phase = gate.DenseMatrix(q[1], np.diag([1.0, np.exp(1j * op.params[0])]))
                phase.add_control_qubit(q[0], 1)
                circuit.add_gate(phase)
            case "swap":
                circuit.add_SWAP_gate(q[0], q[1])
            case "unitary":
                # qulacs' dense-matrix index has target_list[0] as its least significant bit,
                # which is qiskit's convention for the gate's qubit list.
                circuit.add_dense_matrix_gate(list(q), op.matrix)
            case _:
                raise ValueError(f"no qulacs translation for {op.name!r}")
    return circuit


def to_cirq(ops: list[Op], n: int) -> tuple[Any, list[Any]]:
    """Translate a gate list into a ``cirq.Circuit`` plus the qubit order to simulate it with.

    Native cirq gates are used where their matrices equal qiskit's (qsim has kernels for them);
    ``u`` and ``unitary`` become ``cirq.MatrixGate``.
    """
    import cirq

    qubits = cirq.LineQubit.range(n)

    def at(*indices: int) -> list[Any]:
        """cirq qubits for qiskit qubit indices."""
        return [qubits[n - 1 - i] for i in indices]

    out: list[Any] = []
    for op in ops:
        q = op.qubits
        match op.name:
            case "h":
                out.append(cirq.H.on(*at(*q)))
            case "x":
                out.append(cirq.X.on(*at(*q)))
            case "sx":
                out.append(cirq.XPowGate(exponent=0.5).on(*at(*q)))
            case "rx":
                out.append(cirq.rx(op.params[0]).on(*at(*q)))
            case "ry":
                out.append(cirq.ry(op.params[0]).on(*at(*q)))
            case "rz":
                out.append(cirq.rz(op.params[0]).on(*at(*q)))
            case "cx":
                out.append(cirq.CNOT.on(*at(*q)))
            case "cp":
                out.append(cirq.CZPowGate(exponent=op.params[0] / np.pi).on(*at(*q)))
            case "swap":
                out.append(cirq.SWAP.on(*at(*q)))
            case "u" | "unitary":
                # A cirq matrix's first qubit is its most significant bit: reverse qiskit's list.
                out.append(cirq.MatrixGate(op.matrix).on(*at(*reversed(q))))
            case _:
                raise ValueError(f"no cirq translation for {op.name!r}")
    return cirq.Circuit(out), qubits
