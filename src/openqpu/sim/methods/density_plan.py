"""A circuit and its noise as engine ops on the 2n-bit vectorised density matrix.

The circuit is lowered by the engine's own ``lowering.lower`` (so channels are
placed exactly where trajectories place them). Single-qubit gates and channels
on a qubit are multiplied into one pending 4x4 superoperator on bits
``(q, q + n)``, applied only when a wider operation needs the qubit: a run of
``rz sx rz`` with its depolarising and relaxation channels costs one pass.

A Clifford gate followed by a depolarising channel on its qubits (a chip's
``cz``) is applied in the Pauli basis of those qubits, where both together are
one signed permutation (``MonomialOp``). The basis changes are folded into the
pending superoperators, so they cost nothing extra.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from qiskit import QuantumCircuit

from openqpu.sim.blocking import plan_groups
from openqpu.sim.lowering import GateLeaf, Jump, JumpUnless, Measure, Noise, Reset, lower
from openqpu.sim.methods import density_superops as so
from openqpu.sim.noise import Depolarizing, NoiseModel, ReadoutError, ThermalRelaxation
from openqpu.sim.ops import ControlledOp, DenseOp, DiagonalOp, GateOp, MonomialOp
from openqpu.sim.structure import monomial_parts


class NotTerminal(Exception):
    """The circuit cannot be run as one density matrix; the message says why."""


@dataclass
class DensityPlan:
    """What ``density.probabilities`` runs.

    Attributes:
        num_qubits: n; the state has 2n bits (row bits 0..n-1, column bits n..2n-1).
        num_clbits: classical bits of the circuit.
        ops: engine ops to apply in order to vec(rho), |0..0><0..0| at the start.
        written: ``clbit -> (qubit, readout)`` of the last measurement into each
            clbit (``readout`` None when the qubit has no readout error).
    """

    num_qubits: int
    num_clbits: int
    ops: list[GateOp] = field(default_factory=list)
    written: dict[int, tuple[int, ReadoutError | None]] = field(default_factory=dict)


class _Builder:
    """Turns lowered instructions into ops, keeping one pending superoperator per qubit."""

    def __init__(self, num_qubits: int, fuse: bool) -> None:
        self.n = num_qubits
        self.fuse = fuse
        self.ops: list[GateOp] = []
        self.pending: list[np.ndarray | None] = [None] * num_qubits  # None: identity
        self.basis, self.basis_inv = so.pauli_basis()

    def compose(self, qubit: int, superop: np.ndarray) -> None:
        """Apply the 4x4 ``superop`` to ``qubit`` after what is pending there."""
        current = self.pending[qubit]
        self.pending[qubit] = superop if current is None else superop @ current
        if not self.fuse:
            self.flush(qubit)

    def flush(self, qubit: int, *, to_pauli: bool = False) -> None:
        """Apply the pending superoperator (then the change to the Pauli basis)."""
        matrix = self.pending[qubit]
        if to_pauli:
            matrix = self.basis if matrix is None else self.basis @ matrix
        self.pending[qubit] = self.basis_inv if to_pauli else None
        if matrix is None:
            return
        bits = (qubit, qubit + self.n)
        if so.is_diagonal(matrix):
            diagonal = np.ascontiguousarray(np.diag(matrix))
            if np.any(np.abs(diagonal - 1) > so.ZERO):
                self.ops.append(DiagonalOp(bits, diagonal))
        else:
            self.ops.append(DenseOp(bits, np.ascontiguousarray(matrix)))

    def pauli_op(self, qubits: tuple[int, ...], transfer: np.ndarray) -> None:
        """Apply ``transfer`` (in the Pauli basis of ``qubits``, digit j = qubits[j])."""
        for q in qubits:
            self.flush(q, to_pauli=True)
        bits = tuple(b for q in qubits for b in (q, q + self.n))
        if so.is_diagonal(transfer):
            self.ops.append(DiagonalOp(bits, np.ascontiguousarray(np.diag(transfer))))
        else:
            rows, phases = monomial_parts(transfer)
            self.ops.append(MonomialOp(bits, rows, np.ascontiguousarray(phases)))

    def gate(self, leaf: GateLeaf, follower: Noise | None) -> bool:
        """Apply a gate; returns True when it also consumed ``follower`` (its depolarising)."""
        assert leaf.matrix is not None
        matrix = leaf.matrix
        if not leaf.controls and len(leaf.qubits) == 1:
            self.compose(leaf.qubits[0], so.of_unitary(matrix))
            return False
        if (
            not leaf.controls
            and follower is not None
            and isinstance(follower.channel, Depolarizing)
            and sorted(follower.qubits) == sorted(leaf.qubits)
        ):
            transfer = so.pauli_transfer(matrix)
            if so.is_monomial(transfer):
                # Express the channel on the gate's qubit order (digit j = leaf.qubits[j]).
                depol = so.depolarizing_pauli_diagonal(follower.channel)
                self.pauli_op(leaf.qubits, depol[:, None] * transfer)
                return True
        involved = leaf.controls + leaf.qubits
        for q in involved:
            self.flush(q)
        shift = tuple(q + self.n for q in leaf.qubits)
        if leaf.controls:
            shifted = tuple(q + self.n for q in leaf.controls)
            self.ops.append(ControlledOp(leaf.controls, leaf.ctrl_state, leaf.qubits, matrix))
            conj = np.ascontiguousarray(np.conj(matrix))
            self.ops.append(ControlledOp(shifted, leaf.ctrl_state, shift, conj))
        elif so.is_diagonal(matrix):
            d = np.diag(matrix)
            self.ops.append(DiagonalOp(leaf.qubits + shift, np.kron(np.conj(d), d)))
        else:
            self.ops.append(DenseOp(leaf.qubits, np.ascontiguousarray(matrix)))
            self.ops.append(DenseOp(shift, np.ascontiguousarray(np.conj(matrix))))
        return False

    def channel(self, step: Noise) -> None:
        """Apply a noise channel."""
        channel = step.channel
        if isinstance(channel, ThermalRelaxation):
            self.compose(step.qubits[0], so.thermal(channel))
        elif len(step.qubits) == 1:
            self.compose(step.qubits[0], so.depolarizing(channel))
        else:
            self.pauli_op(step.qubits, np.diag(so.depolarizing_pauli_diagonal(channel)))


def build_plan(
    circuit: QuantumCircuit, noise: NoiseModel | None, *, fuse: bool = True
) -> DensityPlan:
    """Lower ``circuit`` with ``noise`` into a ``DensityPlan``.

    Args:
        circuit: a circuit with bound parameters and only terminal measurements.
        noise: the noise model, or None.
        fuse: multiply single-qubit superoperators together (False: one op each,
            for measuring what fusion gains).

    Raises:
        NotTerminal: a measurement is followed by an operation on its qubit, or the
            circuit has classical control.
        UnsupportedInstruction: an instruction the engine cannot lower.
    """
    if circuit.parameters:
        names = ", ".join(p.name for p in circuit.parameters)
        raise NotTerminal(f"the circuit has unbound parameters ({names})")
    lowered = lower(circuit, noise)
    n = circuit.num_qubits
    builder = _Builder(n, fuse)
    plan = DensityPlan(n, circuit.num_clbits)
    measured: set[int] = set()
    relaxed: set[int] = set()  # measured qubits that noise acted on afterwards
    instructions = lowered.instructions
    skip = False
    for position, ins in enumerate(instructions):
        if skip:
            skip = False
            continue
        if isinstance(ins, JumpUnless | Jump):
            raise NotTerminal("classical control (if_else) needs mid-circuit outcomes")
        if isinstance(ins, Measure):
            if ins.qubit in relaxed:
                raise NotTerminal(
                    f"qubit {ins.qubit} is measured again after noise acted on it: "
                    "only terminal measurements are supported"
                )
            measured.add(ins.qubit)
            plan.written[ins.clbit] = (ins.qubit, ins.readout)
            continue
        qubits = _touched(ins)
        late = measured.intersection(qubits)
        if late and isinstance(ins, Noise) and len(qubits) == 1:
            # Relaxation after a qubit's last measurement changes no outcome.
            relaxed.add(qubits[0])
            continue
        if late:
            what = "a gate" if isinstance(ins, GateLeaf) else type(ins).__name__.lower()
            raise NotTerminal(
                f"qubit {min(late)} is measured and then acted on by {what}: "
                "only terminal measurements are supported"
            )
        if isinstance(ins, GateLeaf):
            follower = instructions[position + 1] if position + 1 < len(instructions) else None
            skip = builder.gate(ins, follower if isinstance(follower, Noise) else None)
        elif isinstance(ins, Reset):
            builder.compose(ins.qubit, so.RESET)
        else:
            builder.channel(ins)
    for q in range(n):
        builder.flush(q)
    plan.ops = plan_groups(builder.ops, 2 * n, np.dtype(np.complex128))
    return plan


def _touched(ins: GateLeaf | Reset | Noise) -> tuple[int, ...]:
    if isinstance(ins, GateLeaf):
        return ins.controls + ins.qubits
    if isinstance(ins, Reset):
        return (ins.qubit,)
    return ins.qubits
