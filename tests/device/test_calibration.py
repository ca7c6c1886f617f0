"""Calibration snapshots: seeded generation, ranges, JSON round trip, drift."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from openqpu.device import (
    CalibrationSnapshot,
    DeviceSpec,
    drifted,
    generate_snapshot,
    load_device_specs,
)

T0 = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def spec() -> DeviceSpec:
    return load_device_specs()["lattice72"]


def _assert_in_ranges(snapshot: CalibrationSnapshot, spec: DeviceSpec) -> None:
    ranges = spec.calibration

    def inside(values: tuple[float, ...], low: float, high: float) -> bool:
        return bool(np.all((np.array(values) >= low - 1e-12) & (np.array(values) <= high + 1e-12)))

    assert inside(snapshot.t1_us, *ranges.t1_us)
    assert inside(snapshot.t2_us, ranges.t2_us[0], ranges.t2_us[1])
    assert all(t2 <= 2 * t1 for t1, t2 in zip(snapshot.t1_us, snapshot.t2_us, strict=True))
    assert inside(snapshot.frequency_ghz, *ranges.frequency_ghz)
    gate_low, gate_high = ranges.gate_fidelity_1q
    assert inside(snapshot.gate_error_1q, 1 - gate_high, 1 - gate_low)
    assert inside(snapshot.cz_error, 1 - ranges.cz_fidelity[1], 1 - ranges.cz_fidelity[0])
    e01, e10 = np.array(snapshot.readout_error_0to1), np.array(snapshot.readout_error_1to0)
    assert np.all(e01 < e10)
    low, high = ranges.readout_fidelity
    assert inside(tuple(1 - (e01 + e10) / 2), low, high)


def test_calibration_generation_is_deterministic_and_in_range(spec: DeviceSpec) -> None:
    first = generate_snapshot(spec, seed=7, taken_at=T0)
    assert first == generate_snapshot(spec, seed=7, taken_at=T0)
    other = generate_snapshot(spec, seed=8, taken_at=T0)
    assert other.t1_us != first.t1_us and other.id != first.id
    assert first.id.startswith("lattice72-20261129T030000Z-")
    _assert_in_ranges(first, spec)
    assert len(first.disabled_qubits) == 2 and len(first.disabled_couplers) == 3
    assert first.couplers == spec.couplers
    assert first.taken_at.tzinfo is not None


def test_calibration_round_trips_through_json(spec: DeviceSpec) -> None:
    snapshot = generate_snapshot(spec, seed=3, taken_at=T0)
    text = json.dumps(snapshot.to_dict())
    assert CalibrationSnapshot.from_dict(json.loads(text)) == snapshot


def test_calibration_summary_counts_and_medians(spec: DeviceSpec) -> None:
    summary = generate_snapshot(spec, seed=3, taken_at=T0).summary()
    assert summary["num_qubits_working"] + summary["num_qubits_disabled"] == 72
    assert summary["num_qubits_disabled"] == 2
    assert summary["num_couplers_working"] + summary["num_couplers_disabled"] == 126
    assert 10 <= summary["median_t1_us"] <= 30
    assert 0.92 <= summary["median_readout_fidelity"] <= 0.97
    assert 0.95 <= summary["median_cz_fidelity"] <= 0.99
    assert summary["taken_at"] == "2026-11-29T03:00:00+00:00"
    json.dumps(summary)


def test_calibration_validation_names_the_field(spec: DeviceSpec) -> None:
    snapshot = generate_snapshot(spec, seed=3, taken_at=T0)
    with pytest.raises(ValueError, match="t2_us: qubit 0 has T2"):
        dataclasses.replace(snapshot, t2_us=(100.0, *snapshot.t2_us[1:]))
    with pytest.raises(ValueError, match="cz_error: has 2 values for 126 couplers"):
        dataclasses.replace(snapshot, cz_error=(0.01, 0.02))
    with pytest.raises(ValueError, match="taken_at: must be timezone-aware"):
        dataclasses.replace(snapshot, taken_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match=r"disabled_couplers: \[\(0, 2\)\] are not couplers"):
        dataclasses.replace(snapshot, disabled_couplers=((0, 2),))


def test_calibration_drift_moves_values_within_ranges(spec: DeviceSpec) -> None:
    start = generate_snapshot(spec, seed=1, taken_at=T0)
    later = drifted(start, spec, hours=12, seed=2, taken_at=T0 + timedelta(hours=12))
    assert later == drifted(start, spec, hours=12, seed=2, taken_at=T0 + timedelta(hours=12))
    assert later.id != start.id and later.taken_at == T0 + timedelta(hours=12)
    _assert_in_ranges(later, spec)
    t1_change = np.abs(np.log(np.array(later.t1_us) / np.array(start.t1_us)))
    # A step of 3 % per sqrt(hour) over 12 h: typical moves ~10 %, not 0, not 100 %.
    assert 0.02 < float(np.median(t1_change)) < 0.3
    assert later.frequency_ghz != start.frequency_ghz
    assert np.allclose(later.frequency_ghz, start.frequency_ghz, rtol=1e-2)


def test_calibration_drift_changes_disabled_sets_over_weeks(spec: DeviceSpec) -> None:
    start = generate_snapshot(spec, seed=1, taken_at=T0)
    later = drifted(start, spec, hours=24 * 30, seed=5, taken_at=T0 + timedelta(days=30))
    assert (later.disabled_qubits, later.disabled_couplers) != (
        start.disabled_qubits,
        start.disabled_couplers,
    )
    assert len(later.disabled_qubits) == 2 and len(later.disabled_couplers) == 3
    _assert_in_ranges(later, spec)


def test_calibration_drift_refuses_negative_hours(spec: DeviceSpec) -> None:
    start = generate_snapshot(spec, seed=1, taken_at=T0)
    with pytest.raises(ValueError, match="hours: must not be negative"):
        drifted(start, spec, hours=-1, seed=2, taken_at=T0)
