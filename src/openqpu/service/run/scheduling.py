"""Scheduling a changed compiled circuit again, and dynamical decoupling.

Mitigation adds gates to a compiled circuit (folded CZs, twirling Paulis, flips
before measurements). Its qubits stay the chip qubits the compiler chose, but the
idle times change, and idle qubits relax only during explicit ``delay``
instructions; so the changed circuit is scheduled again (ALAP, the calibration's
durations, delays in ``dt``) as the compiler schedules. Dynamical decoupling then
fills the idle windows with a pulse sequence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qiskit import QuantumCircuit
from qiskit.circuit import Gate
from qiskit.circuit.library import RZGate, XGate, YGate
from qiskit.transpiler import InstructionDurations, PassManager
from qiskit.transpiler.passes import ALAPScheduleAnalysis, PadDelay, PadDynamicalDecoupling

from openqpu.device import CalibrationSnapshot, DeviceSpec
from openqpu.device.target import build_target
from openqpu.service.lru import LruCache

_SEQUENCES: dict[str, list[Gate]] = {
    "XX": [XGate(), XGate()],
    # X then -X: the same operator up to phase; the emulation models no pulse
    # errors that would tell them apart.
    "XpXm": [XGate(), XGate()],
    "XY4": [XGate(), YGate(), XGate(), YGate()],
}


def compact_durations(
    spec: DeviceSpec, snapshot: CalibrationSnapshot, physical_qubits: Sequence[int]
) -> InstructionDurations:
    """Durations in ``dt`` of the calibration's instructions on a compiled circuit's
    compact qubits (qubit ``i`` is chip qubit ``physical_qubits[i]``); ``y`` lasts as
    long as ``x`` (it is ``x`` between virtual ``rz``)."""
    target = build_target(spec, snapshot)
    dt = spec.dt_ns * 1e-9
    compact = {chip: i for i, chip in enumerate(physical_qubits)}
    entries: list[tuple[str, tuple[int, ...], int]] = []
    for name in target.operation_names:
        if name in ("delay", "if_else", "barrier"):
            continue
        for qargs, props in target[name].items():
            if qargs is None or props is None or props.duration is None:
                continue
            if all(q in compact for q in qargs):
                qubits = tuple(compact[q] for q in qargs)
                ticks = round(props.duration / dt)
                entries.append((name, qubits, ticks))
                if name == "x":
                    entries.append(("y", qubits, ticks))
    return InstructionDurations(entries, dt=dt)


def rescheduled(
    circuit: QuantumCircuit, durations: InstructionDurations, *, dd_sequence: str | None = None
) -> QuantumCircuit:
    """``circuit`` without its delays, scheduled ALAP with ``durations``; with
    ``dd_sequence`` ("XX", "XpXm", "XY4") the idle windows long enough for it are
    filled with that sequence (``y`` written as ``rz(-pi/2) x rz(pi/2)``)."""
    bare = circuit.copy_empty_like()
    for item in circuit.data:
        if item.operation.name != "delay":
            bare.append(item)
    passes = [ALAPScheduleAnalysis(durations)]
    if dd_sequence is None:
        passes.append(PadDelay(durations=durations))
    else:
        passes.append(PadDynamicalDecoupling(durations, _SEQUENCES[dd_sequence]))
        passes.append(PadDelay(durations=durations))
    scheduled = PassManager(passes).run(bare)
    return _y_as_native(scheduled) if dd_sequence == "XY4" else scheduled


def _y_as_native(circuit: QuantumCircuit) -> QuantumCircuit:
    """``y`` gates as ``rz(-pi/2) x rz(pi/2)`` (the same operator up to phase)."""
    out = circuit.copy_empty_like()
    for item in circuit.data:
        if item.operation.name == "y":
            out.append(RZGate(-math.pi / 2), item.qubits)
            out.append(XGate(), item.qubits)
            out.append(RZGate(math.pi / 2), item.qubits)
        else:
            out.append(item)
    return out


def idle_ticks(circuit: QuantumCircuit) -> int:
    """Total ``delay`` time of ``circuit``, in its delays' units (``dt``)."""
    return int(sum(item.operation.duration for item in circuit.data if item.name == "delay"))


_durations: LruCache[tuple[str, str, tuple[int, ...]], InstructionDurations] = LruCache(64)


def durations_for(
    spec: DeviceSpec, snapshot: CalibrationSnapshot, physical_qubits: Sequence[int]
) -> InstructionDurations:
    """``compact_durations``, cached by chip, calibration and qubits."""
    key = (spec.name, snapshot.id, tuple(physical_qubits))
    return _durations.get_or_make(key, lambda: compact_durations(spec, snapshot, physical_qubits))
