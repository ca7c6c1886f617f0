"""The Qiskit Target of a calibrated chip, its working block and its noise model."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from openqpu.device import (
    CalibrationSnapshot,
    DeviceSpec,
    build_noise_model,
    build_target,
    generate_snapshot,
    largest_working_block,
    load_device_specs,
)
from openqpu.sim.noise import Depolarizing, ThermalRelaxation

T0 = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def spec() -> DeviceSpec:
    return load_device_specs()["lattice72"]


@pytest.fixture(scope="module")
def snapshot(spec: DeviceSpec) -> CalibrationSnapshot:
    return generate_snapshot(spec, seed=11, taken_at=T0)


def test_target_has_no_instruction_on_disabled_qubits_or_couplers(
    spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    target = build_target(spec, snapshot)
    assert target.num_qubits == 72
    native = {"rz", "sx", "x", "cz", "measure", "reset", "delay"}
    assert set(target.operation_names) == native | {"if_else"}
    for name in ("rz", "sx", "x", "measure", "reset", "delay"):
        used = {qargs[0] for qargs in target.qargs_for_operation_name(name)}
        assert used == set(snapshot.working_qubits()), name
    cz_pairs = {tuple(sorted(qargs)) for qargs in target.qargs_for_operation_name("cz")}
    working = {snapshot.couplers[i] for i in snapshot.working_couplers()}
    assert cz_pairs == working
    assert not cz_pairs & set(snapshot.disabled_couplers)
    assert len(working) == 126 - 3 - sum(
        1 for c in spec.couplers if set(c) & set(snapshot.disabled_qubits)
    )


def test_target_properties_come_from_the_snapshot(
    spec: DeviceSpec, snapshot: CalibrationSnapshot
) -> None:
    target = build_target(spec, snapshot)
    q = snapshot.working_qubits()[0]
    assert target["rz"][(q,)].error == 0.0 and target["rz"][(q,)].duration == 0.0
    assert target["sx"][(q,)].error == snapshot.gate_error_1q[q]
    assert target["sx"][(q,)].duration == pytest.approx(30e-9)
    mean_readout = (snapshot.readout_error_0to1[q] + snapshot.readout_error_1to0[q]) / 2
    assert target["measure"][(q,)].error == pytest.approx(mean_readout)
    i = snapshot.working_couplers()[0]
    a, b = snapshot.couplers[i]
    assert target["cz"][(a, b)].error == target["cz"][(b, a)].error == snapshot.cz_error[i]
    assert target.dt == pytest.approx(0.5e-9)


def test_target_largest_block_after_a_cut(spec: DeviceSpec, snapshot: CalibrationSnapshot) -> None:
    assert len(largest_working_block(spec, snapshot)) >= 70 - 2  # at most a corner cut off
    # Disabling row 2 splits the chip into rows 0-1 (12 qubits) and rows 3-11 (54).
    cut = dataclasses.replace(snapshot, disabled_qubits=tuple(range(12, 18)))
    assert largest_working_block(spec, cut) == list(range(18, 72))


def test_noise_model_over_compact_qubits(snapshot: CalibrationSnapshot) -> None:
    working = snapshot.working_qubits()
    i = snapshot.working_couplers()[0]
    a, b = snapshot.couplers[i]
    chip = [b, a, next(q for q in working if q not in (a, b))]
    model = build_noise_model(snapshot, chip, dt_ns=0.5)
    depolarizing, relaxation = model.after_gate("sx", (0,))
    assert depolarizing.channel == Depolarizing.from_error(snapshot.gate_error_1q[b], 1)
    assert relaxation.channel == ThermalRelaxation(snapshot.t1_us[b], snapshot.t2_us[b], 30.0)
    for pair in ((0, 1), (1, 0)):
        channels = model.after_gate("cz", pair)
        assert channels[0].channel == Depolarizing.from_error(snapshot.cz_error[i], 2)
        assert channels[0].qubits == pair
        assert {p.qubits for p in channels[1:]} == {(0,), (1,)}
    assert model.after_gate("rz", (0,)) == ()
    assert model.readout[2].readout_error_0to1 == snapshot.readout_error_0to1[chip[2]]
    assert model.readout[2].readout_error_1to0 == snapshot.readout_error_1to0[chip[2]]
    assert model.relaxation[1] == (snapshot.t1_us[a], snapshot.t2_us[a])
    assert model.duration_ns(200, "dt") == 100.0


def test_noise_model_refuses_disabled_qubits(snapshot: CalibrationSnapshot) -> None:
    dead = snapshot.disabled_qubits[0]
    with pytest.raises(ValueError, match=rf"physical_qubits: \[{dead}\] are disabled"):
        build_noise_model(snapshot, [dead])
