"""Compilation for an emulated chip: Qiskit's transpiler with the chip's Target.

Layout is noise-aware because the Target carries the snapshot's errors. The
scheduled circuit is then compacted to the chip qubits it uses, so the engine
simulates a handful of qubits instead of the whole chip.
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit, QuantumRegister, qasm3
from qiskit.circuit import Barrier, CircuitInstruction, Qubit
from qiskit.transpiler import Target
from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager

from openqpu.device.calibration import CalibrationSnapshot
from openqpu.device.spec import DeviceSpec
from openqpu.device.target import build_target, largest_working_block
from openqpu.errors import DoesNotFit
from openqpu.sim.rng import make_rng
from openqpu.transpile.transpiled import TranspiledCircuit

# Instructions that do not make a qubit part of the computation.
_PASSIVE = frozenset({"delay", "barrier"})


def transpile_for_device(
    circuit: QuantumCircuit,
    spec: DeviceSpec,
    snapshot: CalibrationSnapshot,
    *,
    optimization_level: int = 2,
    seed: int | np.random.Generator | None = 0,
) -> TranspiledCircuit:
    """Lay out, route, translate to native gates and schedule ``circuit`` for a chip.

    Scheduling is ALAP with the Target's durations; idle time becomes explicit
    ``delay`` instructions in units of ``dt`` (whole numbers: scheduling in
    seconds leaves float residue such as ``delay[6.6e-23s]``). Qiskit cannot
    schedule control flow, so a circuit with ``if_else`` is transpiled without
    delays and its idle qubits do not relax in simulation.

    Args:
        circuit: the user's circuit, in any gates Qiskit can translate.
        spec: the device.
        snapshot: the calibration in force; its errors steer the layout.
        optimization_level: Qiskit's preset level, 0 to 3.
        seed: seed or generator for the transpiler's randomised passes; the same
            seed gives the same transpiled circuit.

    Returns:
        The transpiled circuit, compacted to the chip qubits it uses.

    Raises:
        DoesNotFit: the circuit is wider than the largest connected block of
            working qubits.

    >>> from datetime import UTC, datetime
    >>> from openqpu.device import generate_snapshot, load_device_specs
    >>> spec = load_device_specs()["lattice72"]
    >>> snapshot = generate_snapshot(spec, seed=1, taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    >>> bell = QuantumCircuit(2, 2); _ = bell.h(0); _ = bell.cx(0, 1)
    >>> _ = bell.measure([0, 1], [0, 1])
    >>> transpile_for_device(bell, spec, snapshot).num_two_qubit_gates
    1
    """
    block = largest_working_block(spec, snapshot)
    active = active_qubits(circuit)
    if len(active) > len(block):
        raise DoesNotFit(len(active), spec.name, len(block))
    initial_layout = None
    if circuit.num_qubits > len(block):
        # Transpiled for the chip by the user (qubit i is chip qubit i) and still valid
        # for this calibration: keep that layout. Otherwise drop the idle qubits and
        # let layout choose again.
        if _laid_out_for(circuit, spec, snapshot):
            initial_layout = list(range(circuit.num_qubits))
        else:
            circuit = without_idle_qubits(circuit, active)
    target = build_target(spec, snapshot)
    manager = generate_preset_pass_manager(
        optimization_level,
        target=target,
        initial_layout=initial_layout,
        seed_transpiler=int(make_rng(seed).integers(2**31)),
        # Qiskit 2.x refuses any scheduling stage when control flow is present.
        scheduling_method=None if circuit.has_control_flow_op() else "alap",
    )
    scheduled = manager.run(circuit)
    dynamic = circuit.has_control_flow_op()
    physical, chip_qubits = _trimmed(scheduled)
    compact = _compacted(physical, chip_qubits)
    layout = scheduled.layout
    initial = layout.initial_index_layout(filter_ancillas=True) if layout else []
    return TranspiledCircuit(
        circuit=compact,
        physical_qubits=tuple(chip_qubits),
        initial_layout=tuple(initial),
        num_two_qubit_gates=sum(
            1 for inst in compact.data if len(inst.qubits) == 2 and inst.name not in _PASSIVE
        ),
        depth=compact.depth(filter_function=lambda inst: inst.name not in _PASSIVE),
        duration_ns=None if dynamic else physical.estimate_duration(target, unit="s") * 1e9,
        calibration_id=snapshot.id,
        estimated_success_probability=_success_probability(compact, chip_qubits, target),
        qasm3=qasm3.dumps(physical),
    )


def active_qubits(circuit: QuantumCircuit) -> list[int]:
    """Indices of the qubits some instruction other than a delay or barrier acts on."""
    return sorted(
        {
            circuit.find_bit(qubit).index
            for inst in circuit.data
            if inst.name not in _PASSIVE
            for qubit in inst.qubits
        }
    )


def without_idle_qubits(circuit: QuantumCircuit, active: list[int]) -> QuantumCircuit:
    """``circuit`` on its active qubits only (renumbered in order), classical bits kept."""
    return _compacted(_trimmed(circuit)[0], active)


def _laid_out_for(circuit: QuantumCircuit, spec: DeviceSpec, snapshot: CalibrationSnapshot) -> bool:
    """True when ``circuit`` is already on the chip: its qubit i is chip qubit i, every
    active qubit works and every two-qubit gate sits on a working coupler."""
    if circuit.num_qubits != spec.num_qubits or circuit.has_control_flow_op():
        return False
    working = set(snapshot.working_qubits())
    couplers = {snapshot.couplers[k] for k in snapshot.working_couplers()}
    for inst in circuit.data:
        if inst.name in _PASSIVE:
            continue
        qubits = [circuit.find_bit(q).index for q in inst.qubits]
        if not working.issuperset(qubits) or len(qubits) > 2:
            return False
        if len(qubits) == 2 and (min(qubits), max(qubits)) not in couplers:
            return False
    return True


def _trimmed(scheduled: QuantumCircuit) -> tuple[QuantumCircuit, list[int]]:
    """The scheduled circuit without the delays that pad chip qubits it never uses."""
    used = active_qubits(scheduled)
    keep = {scheduled.qubits[q] for q in used}
    trimmed = scheduled.copy_empty_like()
    for inst in scheduled.data:
        if inst.name == "barrier":
            qubits = tuple(q for q in inst.qubits if q in keep)
            if qubits:
                trimmed.append(inst.replace(operation=Barrier(len(qubits)), qubits=qubits))
        elif keep.issuperset(inst.qubits):
            trimmed.append(inst)
    return trimmed, used


def _compacted(physical: QuantumCircuit, chip_qubits: list[int]) -> QuantumCircuit:
    """``physical`` on qubits 0..m-1 (chip qubit ``chip_qubits[i]`` becomes ``i``)."""
    register = QuantumRegister(len(chip_qubits), "q")
    compact = QuantumCircuit(register, name=physical.name, global_phase=physical.global_phase)
    # Same classical bits, registers and order as the user's circuit: counts keys match.
    compact.add_bits([bit for bit in physical.clbits])
    for creg in physical.cregs:
        compact.add_register(creg)
    to_compact: dict[Qubit, Qubit] = {
        physical.qubits[chip]: register[i] for i, chip in enumerate(chip_qubits)
    }
    for inst in physical.data:
        qubits = tuple(to_compact[q] for q in inst.qubits)
        compact._append(CircuitInstruction(inst.operation, qubits, inst.clbits))
    return compact


def _success_probability(compact: QuantumCircuit, chip_qubits: list[int], target: Target) -> float:
    """Product of (1 - error) over every gate and measurement, from the Target's errors."""
    probability = 1.0
    for inst in compact.data:
        if inst.name in _PASSIVE:
            continue
        qargs = tuple(chip_qubits[compact.find_bit(q).index] for q in inst.qubits)
        props = target[inst.name].get(qargs) if inst.name in target else None
        if props is not None and props.error is not None:
            probability *= 1.0 - props.error
    return probability
