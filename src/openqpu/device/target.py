"""The Qiskit ``Target`` of a chip under one calibration, and its usable qubits.

Disabled qubits and couplers simply get no instructions. Qiskit 2.x's preset
pass managers accept such a Target as it is: the coupling map comes out with
the dead qubits isolated, layout (``disjoint_utils``) maps each connected part
of the circuit into one connected component of working qubits, and the padding
passes leave qubits without ``delay`` alone. So we compile onto the whole chip,
keeping chip qubit numbers, rather than onto a relabelled block. The one case
Qiskit refuses with an obscure TranspilerError, a circuit wider than every
component, is caught first by ``openqpu.compile`` with ``largest_working_block``.
"""

from __future__ import annotations

from qiskit.circuit import Delay, IfElseOp, Measure, Parameter, Reset
from qiskit.circuit.library import CZGate, RZGate, SXGate, XGate
from qiskit.transpiler import InstructionProperties, Target

from openqpu.device.calibration import CalibrationSnapshot
from openqpu.device.spec import DeviceSpec

_NS = 1e-9


def build_target(spec: DeviceSpec, snapshot: CalibrationSnapshot) -> Target:
    """The transpiler target for ``spec`` calibrated as in ``snapshot``.

    Each working qubit gets ``rz`` (virtual: error 0, duration 0), ``sx`` and ``x``
    (the snapshot's 1q error and duration), ``measure`` (error: mean of the two
    readout errors), ``reset`` and ``delay``; each working coupler gets ``cz`` in
    both directions; ``if_else`` is allowed everywhere. Durations are in
    seconds, ``dt`` is ``spec.dt_ns``.

    Args:
        spec: the device.
        snapshot: a calibration of it.

    Returns:
        A Target over all chip qubits in which disabled ones have no instruction.

    Raises:
        ValueError: the snapshot is of another device.
    """
    _check_matches(spec, snapshot)
    qubits = snapshot.working_qubits()
    target = Target(
        description=f"{spec.name} calibrated {snapshot.id}",
        num_qubits=spec.num_qubits,
        dt=spec.dt_ns * _NS,
    )
    gates = set(spec.native_gates)
    target.add_instruction(
        RZGate(Parameter("theta")),
        {(q,): InstructionProperties(duration=0.0, error=0.0) for q in qubits},
    )
    for gate in (SXGate(), XGate()):
        if gate.name in gates:
            target.add_instruction(
                gate,
                {
                    (q,): InstructionProperties(
                        duration=snapshot.gate_duration_1q_ns[q] * _NS,
                        error=snapshot.gate_error_1q[q],
                    )
                    for q in qubits
                },
            )
    cz: dict[tuple[int, ...], InstructionProperties] = {}
    for i in snapshot.working_couplers():
        a, b = snapshot.couplers[i]
        props = InstructionProperties(
            duration=snapshot.cz_duration_ns[i] * _NS, error=snapshot.cz_error[i]
        )
        cz[(a, b)] = cz[(b, a)] = props
    target.add_instruction(CZGate(), cz)
    target.add_instruction(
        Measure(),
        {
            (q,): InstructionProperties(
                duration=spec.durations.measure_ns * _NS,
                error=(snapshot.readout_error_0to1[q] + snapshot.readout_error_1to0[q]) / 2,
            )
            for q in qubits
        },
    )
    if "reset" in gates:
        target.add_instruction(
            Reset(),
            {(q,): InstructionProperties(duration=spec.durations.reset_ns * _NS) for q in qubits},
        )
    target.add_instruction(Delay(Parameter("t")), {(q,): None for q in qubits})
    # Classical feed-forward (the engine runs ``if_else``); allowed on every qubit.
    target.add_instruction(IfElseOp, name="if_else")
    return target


def largest_working_block(spec: DeviceSpec, snapshot: CalibrationSnapshot) -> list[int]:
    """The largest connected set of working qubits through working couplers.

    Args:
        spec: the device.
        snapshot: a calibration of it.

    Returns:
        Chip qubit numbers, ascending; among equally large blocks, the one with
        the lowest qubit.

    >>> from datetime import UTC, datetime
    >>> from openqpu.device import generate_snapshot, load_device_specs
    >>> spec = load_device_specs()["lattice12"]
    >>> snapshot = generate_snapshot(spec, seed=1, taken_at=datetime.now(UTC))
    >>> len(largest_working_block(spec, snapshot))
    12
    """
    _check_matches(spec, snapshot)
    neighbours: dict[int, list[int]] = {q: [] for q in snapshot.working_qubits()}
    for i in snapshot.working_couplers():
        a, b = snapshot.couplers[i]
        neighbours[a].append(b)
        neighbours[b].append(a)
    best: list[int] = []
    seen: set[int] = set()
    for start in neighbours:
        if start in seen:
            continue
        block, stack = [], [start]
        seen.add(start)
        while stack:
            q = stack.pop()
            block.append(q)
            for other in neighbours[q]:
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        if len(block) > len(best):
            best = block
    return sorted(best)


def _check_matches(spec: DeviceSpec, snapshot: CalibrationSnapshot) -> None:
    if snapshot.device != spec.name or snapshot.num_qubits != spec.num_qubits:
        raise ValueError(f"snapshot: {snapshot.id} is of {snapshot.device!r}, not {spec.name!r}")
