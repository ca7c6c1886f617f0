"""Qiskit ``Target`` objects built from what the server says about a device.

A chip's target comes from ``GET /api/v1/devices/{name}`` (native gates, timing)
and its calibration snapshot in force, built by the same builder the server's
compiler uses (``openqpu.device.target.calibrated_target``): disabled qubits and
couplers get no instruction at all, so that ``qiskit.transpile`` keeps away from them. A
simulator's target has its gates on every qubit and no connectivity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qiskit.circuit import IfElseOp
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.transpiler import Target

from openqpu.device.calibration import CalibrationSnapshot
from openqpu.device.target import Timing, calibrated_target

# What a snapshot's time reads as when a server leaves it out (the Target has no use for it).
_UNKNOWN_TIME = "1970-01-01T00:00:00+00:00"
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
    timing = device.get("timing") or {}
    # The snapshot as the server keeps it; couplers named in either order.
    data = {"device": device.get("name", ""), "taken_at": _UNKNOWN_TIME, **calibration}
    data["disabled_couplers"] = [sorted(pair) for pair in data.get("disabled_couplers", [])]
    data.setdefault("disabled_qubits", [])
    return calibrated_target(
        CalibrationSnapshot.from_dict(data),
        device["native_gates"],
        Timing(timing.get("dt_ns"), timing.get("measure_ns"), timing.get("reset_ns")),
        name=str(device.get("name", "")),
    )
