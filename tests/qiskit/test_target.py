"""Targets built from device descriptions and calibration snapshots, without a server."""

from __future__ import annotations

from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile

from openqpu.qiskit import chip_target, simulator_target

# A 2 x 2 grid: couplers 0-1, 0-2, 1-3, 2-3; qubit 3 is off, coupler 0-2 too.
DEVICE: dict[str, Any] = {
    "name": "tiny",
    "num_qubits": 4,
    "native_gates": ["rz", "sx", "x", "cz", "measure", "reset"],
    "topology": {
        "kind": "grid",
        "rows": 2,
        "cols": 2,
        "couplers": [[0, 1], [0, 2], [1, 3], [2, 3]],
    },
}
CALIBRATION: dict[str, Any] = {
    "id": "tiny-1",
    "t1_us": [20.0, 25.0, 30.0, 10.0],
    "t2_us": [10.0, 5.0, 15.0, 2.0],
    "frequency_ghz": [5.0, 5.1, 4.9, 5.2],
    "readout_error_0to1": [0.02, 0.03, 0.04, 0.05],
    "readout_error_1to0": [0.06, 0.07, 0.08, 0.09],
    "gate_error_1q": [0.001, 0.002, 0.003, 0.004],
    "gate_duration_1q_ns": [30.0, 30.0, 40.0, 30.0],
    "couplers": [[0, 1], [0, 2], [1, 3], [2, 3]],
    "cz_error": [0.01, 0.02, 0.03, 0.04],
    "cz_duration_ns": [60.0, 70.0, 80.0, 90.0],
    "disabled_qubits": [3],
    "disabled_couplers": [[2, 0]],
}


def test_chip_target_cz_on_both_orders_of_working_couplers_only() -> None:
    target = chip_target(DEVICE, CALIBRATION)
    # 0-2 is disabled, 1-3 and 2-3 touch the disabled qubit 3.
    assert set(target["cz"]) == {(0, 1), (1, 0)}
    assert target["cz"][(1, 0)].error == pytest.approx(0.01)
    assert target["cz"][(0, 1)].duration == pytest.approx(60e-9)


def test_chip_target_no_instruction_on_a_disabled_qubit() -> None:
    target = chip_target(DEVICE, CALIBRATION)
    for name in ("rz", "sx", "x", "measure", "reset", "delay"):
        assert set(target[name]) == {(0,), (1,), (2,)}, name
    assert target.operation_names_for_qargs((3,)) == {"if_else"}  # global control flow only


def test_chip_target_errors_durations_and_qubit_properties_in_si_units() -> None:
    target = chip_target(DEVICE, CALIBRATION)
    assert target["sx"][(2,)].duration == pytest.approx(40e-9)
    assert target["sx"][(2,)].error == pytest.approx(0.003)
    assert target["rz"][(2,)].duration == 0.0 and target["rz"][(2,)].error == 0.0
    assert target["measure"][(1,)].error == pytest.approx((0.03 + 0.07) / 2)
    assert target.qubit_properties[1].t1 == pytest.approx(25e-6)
    assert target.qubit_properties[1].t2 == pytest.approx(5e-6)
    assert target.qubit_properties[1].frequency == pytest.approx(5.1e9)
    assert target.dt is None  # this device document has no timing


def test_chip_target_takes_dt_and_measure_reset_durations_from_the_device_timing() -> None:
    timed = {**DEVICE, "timing": {"dt_ns": 0.5, "measure_ns": 1500.0, "reset_ns": 1000.0}}
    target = chip_target(timed, CALIBRATION)
    assert target.dt == pytest.approx(0.5e-9)
    assert target["measure"][(0,)].duration == pytest.approx(1.5e-6)
    assert target["reset"][(2,)].duration == pytest.approx(1e-6)


def test_chip_target_rejects_a_snapshot_of_another_size() -> None:
    wrong = {**CALIBRATION, "t1_us": [20.0, 25.0]}
    with pytest.raises(ValueError, match="calibration t1_us: 2 values for 4 qubits"):
        chip_target(DEVICE, wrong)


def test_chip_target_transpile_stays_on_working_qubits() -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    compiled = transpile(circuit, target=chip_target(DEVICE, CALIBRATION), seed_transpiler=1)
    used = {compiled.find_bit(q).index for item in compiled.data for q in item.qubits}
    assert used == {0, 1}
    assert set(compiled.count_ops()) <= {"rz", "sx", "x", "cz", "measure"}


def test_simulator_target_global_gates_and_no_coupling_map() -> None:
    device = {"name": "sv", "num_qubits": 5, "native_gates": ["h", "cx", "ccx", "unitary"]}
    target = simulator_target(device)
    assert {"h", "cx", "ccx", "measure", "reset", "delay", "if_else"} == target.operation_names
    assert target.build_coupling_map() is None
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.ccx(0, 1, 2)
    circuit.swap(1, 2)
    compiled = transpile(circuit, target=target)
    assert compiled.num_qubits == 3  # no layout onto the device's width
    assert set(compiled.count_ops()) <= {"h", "cx", "ccx"}


def test_chip_target_from_json_equals_the_compilers_target() -> None:
    """The Qiskit front end and the server's compiler build one Target from one snapshot."""
    from datetime import UTC, datetime

    from openqpu.device import build_target, generate_snapshot, load_device_specs

    spec = load_device_specs()["lattice12"]
    snapshot = generate_snapshot(spec, seed=5, taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    device = {
        "name": spec.name,
        "num_qubits": spec.num_qubits,
        "native_gates": list(spec.native_gates),
        "timing": {
            "dt_ns": spec.dt_ns,
            "measure_ns": spec.durations.measure_ns,
            "reset_ns": spec.durations.reset_ns,
        },
    }
    ours, theirs = chip_target(device, snapshot.to_dict()), build_target(spec, snapshot)
    assert ours.operation_names == theirs.operation_names
    assert ours.dt == theirs.dt

    def properties(target: Any) -> list[tuple[float, float, float]]:
        return [(p.t1, p.t2, p.frequency) for p in target.qubit_properties]

    assert properties(ours) == properties(theirs)

    def table(target: Any, name: str) -> dict[Any, Any]:
        return {
            qargs: None if props is None else (props.duration, props.error)
            for qargs, props in target[name].items()
        }

    for name in theirs.operation_names - {"if_else"}:
        assert table(ours, name) == table(theirs, name), name
