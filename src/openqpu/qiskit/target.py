"""Qiskit ``Target`` objects built from what the server says about a device.

A chip's target comes from ``GET /api/v1/devices/{name}`` (native gates,
topology) and its calibration snapshot in force: every working qubit gets the
1q native gates with the snapshot's error and duration, every working coupler
gets the 2q native gate in both directions, and disabled qubits and couplers get
no instruction at all, so that ``qiskit.transpile`` keeps away from them. A
simulator's target has its gates on every qubit and no connectivity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qiskit.circuit import Delay, IfElseOp, Parameter
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.providers import QubitProperties
from qiskit.transpiler import InstructionProperties, Target

_NS = 1e-9
_US = 1e-6
# Gates the chips apply in software, as a frame change: free and instant.
_VIRTUAL = frozenset({"rz"})
# Directives every device accepts without calibration data.
_ALWAYS = ("measure", "reset", "delay")


def simulator_target(device: Mapping[str, Any]) -> Target:
    """The target of an ideal simulator: every native gate on every qubit, no coupling map.

    Args:
        device: the server's description of the device (``num_qubits``, ``native_gates``).

    Returns:
        A Target over ``num_qubits`` qubits whose instructions are global; names
        Qiskit has no fixed gate for (``unitary``, ``mcx``) are left out, so the
        transpiler decomposes them into the others.

    >>> target = simulator_target({"name": "sv", "num_qubits": 3, "native_gates": ["h", "cx"]})
    >>> sorted(target.operation_names)
    ['cx', 'delay', 'h', 'if_else', 'measure', 'reset']
    """
    standard = get_standard_gate_name_mapping()
    target = Target(description=str(device.get("name", "")), num_qubits=int(device["num_qubits"]))
    for name in [*device["native_gates"], *_ALWAYS]:
        if name in standard and name not in target.operation_names:
            target.add_instruction(standard[name], name=name)
    target.add_instruction(IfElseOp, name="if_else")
    return target


def chip_target(device: Mapping[str, Any], calibration: Mapping[str, Any]) -> Target:
    """The target of a chip under one calibration snapshot.

    Durations are converted to seconds and errors kept as probabilities: 1q
    gates take ``gate_error_1q`` and ``gate_duration_1q_ns`` of their qubit
    (``rz`` is virtual: error 0, duration 0), the 2q gate ``cz_error`` and
    ``cz_duration_ns`` of its coupler, ``measure`` the mean of the two readout
    errors; ``dt`` and the measure and reset durations come from the device's
    ``timing`` (left unset by servers that do not publish it).

    Args:
        device: the server's description of the chip, with ``topology``.
        calibration: the snapshot from ``GET /api/v1/devices/{name}/calibration``.

    Returns:
        A Target over all chip qubits; disabled qubits and couplers have no instruction.

    Raises:
        ValueError: the snapshot's lists do not match the chip (``field`` named).
    """
    num_qubits = int(device["num_qubits"])
    for field in ("t1_us", "t2_us", "gate_error_1q", "readout_error_0to1", "readout_error_1to0"):
        if len(calibration[field]) != num_qubits:
            raise ValueError(
                f"calibration {field}: {len(calibration[field])} values for {num_qubits} qubits"
            )
    disabled = {int(q) for q in calibration.get("disabled_qubits", [])}
    qubits = [q for q in range(num_qubits) if q not in disabled]
    timing = device.get("timing") or {}
    measure_s = timing["measure_ns"] * _NS if "measure_ns" in timing else None
    reset_s = timing["reset_ns"] * _NS if "reset_ns" in timing else None
    target = Target(
        description=f"{device.get('name', '')} calibrated {calibration.get('id', '?')}",
        num_qubits=num_qubits,
        dt=timing["dt_ns"] * _NS if "dt_ns" in timing else None,
        qubit_properties=[
            QubitProperties(
                t1=calibration["t1_us"][q] * _US,
                t2=calibration["t2_us"][q] * _US,
                frequency=_frequency_hz(calibration, q),
            )
            for q in range(num_qubits)
        ],
    )
    standard = get_standard_gate_name_mapping()
    couplers = _working_couplers(calibration)
    for name in device["native_gates"]:
        if name in _ALWAYS or name not in standard:
            continue
        gate = standard[name]
        if gate.num_qubits == 1:
            target.add_instruction(gate, {(q,): _one_qubit(calibration, name, q) for q in qubits})
        elif gate.num_qubits == 2:
            props = {}
            for (a, b), (error, duration_ns) in couplers.items():
                if a in disabled or b in disabled:
                    continue
                entry = InstructionProperties(duration=duration_ns * _NS, error=error)
                props[(a, b)] = props[(b, a)] = entry
            target.add_instruction(gate, props)
    target.add_instruction(
        standard["measure"],
        {
            (q,): InstructionProperties(
                duration=measure_s,
                error=(calibration["readout_error_0to1"][q] + calibration["readout_error_1to0"][q])
                / 2,
            )
            for q in qubits
        },
    )
    if "reset" in device["native_gates"]:
        reset = InstructionProperties(duration=reset_s)
        target.add_instruction(standard["reset"], {(q,): reset for q in qubits})
    target.add_instruction(Delay(Parameter("t")), {(q,): None for q in qubits})
    target.add_instruction(IfElseOp, name="if_else")
    return target


def _one_qubit(calibration: Mapping[str, Any], name: str, qubit: int) -> InstructionProperties:
    if name in _VIRTUAL:
        return InstructionProperties(duration=0.0, error=0.0)
    return InstructionProperties(
        duration=calibration["gate_duration_1q_ns"][qubit] * _NS,
        error=calibration["gate_error_1q"][qubit],
    )


def _working_couplers(calibration: Mapping[str, Any]) -> dict[tuple[int, int], tuple[float, float]]:
    """``(a, b) -> (cz_error, cz_duration_ns)`` for every coupler not disabled."""
    off = {_pair(c) for c in calibration.get("disabled_couplers", [])}
    found = {}
    for index, coupler in enumerate(calibration["couplers"]):
        pair = _pair(coupler)
        if pair not in off:
            found[pair] = (
                float(calibration["cz_error"][index]),
                float(calibration["cz_duration_ns"][index]),
            )
    return found


def _pair(coupler: Sequence[int]) -> tuple[int, int]:
    a, b = (int(q) for q in coupler)
    return (a, b) if a < b else (b, a)


def _frequency_hz(calibration: Mapping[str, Any], qubit: int) -> float | None:
    frequencies = calibration.get("frequency_ghz")
    return None if not frequencies else float(frequencies[qubit]) * 1e9
