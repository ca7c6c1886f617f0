"""The Qiskit ``Target`` of a chip under one calibration, and its usable qubits.

Disabled qubits and couplers simply get no instructions. Qiskit 2.x's preset
pass managers accept such a Target as it is: the coupling map comes out with
the dead qubits isolated, layout (``disjoint_utils``) maps each connected part
of the circuit into one connected component of working qubits, and the padding
passes leave qubits without ``delay`` alone. So we compile onto the whole chip,
keeping chip qubit numbers, rather than onto a relabelled block. The one case
Qiskit refuses with an obscure TranspilerError, a circuit wider than every
component, is caught first by ``openqpu.transpile`` with ``largest_working_block``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qiskit.circuit import Delay, IfElseOp, Measure, Parameter, Reset
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.providers import QubitProperties
from qiskit.transpiler import InstructionProperties, Target

from openqpu.device.calibration import CalibrationSnapshot
from openqpu.device.spec import DeviceSpec

_NS = 1e-9
_US = 1e-6
# Gates the chips apply in software, as a frame change: free and instant.
_VIRTUAL = frozenset({"rz"})
# Instructions every chip has, added apart from the native gates.
_DIRECTIVES = frozenset({"measure", "reset", "delay"})


@dataclass(frozen=True)
class Timing:
    """The durations a Target needs besides the snapshot's (None where unknown).

    Attributes:
        dt_ns: the device's sample time ``dt``.
        measure_ns: duration of ``measure``.
        reset_ns: duration of ``reset``.
    """

    dt_ns: float | None = None
    measure_ns: float | None = None
    reset_ns: float | None = None


def build_target(spec: DeviceSpec, snapshot: CalibrationSnapshot) -> Target:
    """The transpiler target for ``spec`` calibrated as in ``snapshot``.

    See ``calibrated_target``; the native gates and durations come from ``spec``.

    Args:
        spec: the device.
        snapshot: a calibration of it.

    Returns:
        A Target over all chip qubits in which disabled ones have no instruction.

    Raises:
        ValueError: the snapshot is of another device.
    """
    _check_matches(spec, snapshot)
    timing = Timing(spec.dt_ns, spec.durations.measure_ns, spec.durations.reset_ns)
    return calibrated_target(snapshot, spec.native_gates, timing, name=spec.name)


def calibrated_target(
    snapshot: CalibrationSnapshot,
    native_gates: Sequence[str],
    timing: Timing,
    *,
    name: str = "",
) -> Target:
    """The one builder of a chip's Target, for the compiler and the Qiskit front end.

    Each working qubit gets the 1q native gates (``rz`` virtual: error 0, duration 0;
    others the snapshot's 1q error and duration), ``measure`` (error: mean of the two
    readout errors), ``reset`` when native, and ``delay``; each working coupler gets
    the 2q native gate in both directions; ``if_else`` is allowed everywhere; each
    qubit's T1, T2 and frequency are its ``qubit_properties``. Durations are seconds.
    Native gate names Qiskit has no standard gate for are left out.

    Args:
        snapshot: the calibration.
        native_gates: the chip's native gate names.
        timing: ``dt`` and the measure and reset durations.
        name: the device name, for the description.

    Returns:
        A Target over all chip qubits in which disabled ones have no instruction.
    """
    qubits = snapshot.working_qubits()
    target = Target(
        description=f"{name} calibrated {snapshot.id}",
        num_qubits=snapshot.num_qubits,
        dt=None if timing.dt_ns is None else timing.dt_ns * _NS,
        qubit_properties=[
            QubitProperties(
                t1=snapshot.t1_us[q] * _US,
                t2=snapshot.t2_us[q] * _US,
                frequency=snapshot.frequency_ghz[q] * 1e9,
            )
            for q in range(snapshot.num_qubits)
        ],
    )
    standard = get_standard_gate_name_mapping()
    for gate_name in native_gates:
        if gate_name in _DIRECTIVES or gate_name not in standard:
            continue
        gate = standard[gate_name]
        if gate.num_qubits == 1:
            target.add_instruction(gate, {(q,): _one_qubit(snapshot, gate_name, q) for q in qubits})
        elif gate.num_qubits == 2:
            props: dict[tuple[int, ...], InstructionProperties] = {}
            for i in snapshot.working_couplers():
                a, b = snapshot.couplers[i]
                entry = InstructionProperties(
                    duration=snapshot.cz_duration_ns[i] * _NS, error=snapshot.cz_error[i]
                )
                props[(a, b)] = props[(b, a)] = entry
            target.add_instruction(gate, props)
    target.add_instruction(
        Measure(),
        {
            (q,): InstructionProperties(
                duration=_seconds(timing.measure_ns),
                error=(snapshot.readout_error_0to1[q] + snapshot.readout_error_1to0[q]) / 2,
            )
            for q in qubits
        },
    )
    if "reset" in native_gates:
        reset = InstructionProperties(duration=_seconds(timing.reset_ns))
        target.add_instruction(Reset(), {(q,): reset for q in qubits})
    target.add_instruction(Delay(Parameter("t")), {(q,): None for q in qubits})
    target.add_instruction(IfElseOp, name="if_else")
    return target


def _seconds(ns: float | None) -> float | None:
    return None if ns is None else ns * _NS


def _one_qubit(snapshot: CalibrationSnapshot, name: str, qubit: int) -> InstructionProperties:
    if name in _VIRTUAL:
        return InstructionProperties(duration=0.0, error=0.0)
    return InstructionProperties(
        duration=snapshot.gate_duration_1q_ns[qubit] * _NS, error=snapshot.gate_error_1q[qubit]
    )


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
