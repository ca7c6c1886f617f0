"""Seeded calibration: fresh snapshots drawn from a spec, and drift between them."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from openqpu.device.calibration import CalibrationSnapshot, Coupler
from openqpu.device.spec import DeviceSpec, Range
from openqpu.sim.rng import make_rng

Seed = int | np.random.Generator | None

# Qubit frequencies are far steadier than coherence times or error rates: they
# drift by kHz to MHz, not percent, so their relative step is scaled down.
_FREQUENCY_DRIFT_SCALE = 1e-3


def _draw(rng: np.random.Generator, bounds: Range, size: int) -> np.ndarray:
    # Beta(2, 2) is bell-shaped yet bounded: most values mid-range, none outside.
    low, high = bounds
    return low + (high - low) * rng.beta(2.0, 2.0, size)


def _error_bounds(fidelity: Range) -> Range:
    return (1.0 - fidelity[1], 1.0 - fidelity[0])


def _snapshot_id(device: str, taken_at: datetime, rng: np.random.Generator) -> str:
    return f"{device}-{taken_at:%Y%m%dT%H%M%SZ}-{int(rng.integers(2**32)):08x}"


def _readout(mean_error: np.ndarray, share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return 2 * mean_error * share, 2 * mean_error * (1 - share)


def generate_snapshot(spec: DeviceSpec, *, seed: Seed, taken_at: datetime) -> CalibrationSnapshot:
    """Draw a fresh calibration of ``spec`` (what a full recalibration yields).

    Every value lies in the spec's range; T2 is clamped to 2 T1; the spec's
    number of qubits and couplers is disabled, couplers among working qubits.

    Args:
        spec: the device.
        seed: seed or generator; the same seed and time give the same snapshot.
        taken_at: timezone-aware time of the calibration.

    Returns:
        The snapshot, id ``<device>-<YYYYmmddTHHMMSSZ>-<8 hex digits from the seed>``.
    """
    rng = make_rng(seed)
    ranges = spec.calibration
    n, couplers = spec.num_qubits, spec.couplers
    t1 = _draw(rng, ranges.t1_us, n)
    t2 = np.minimum(_draw(rng, ranges.t2_us, n), 2 * t1)
    frequency = _draw(rng, ranges.frequency_ghz, n)
    readout_error = _draw(rng, _error_bounds(ranges.readout_fidelity), n)
    e01, e10 = _readout(readout_error, _draw(rng, ranges.readout_0to1_share, n))
    gate_error = _draw(rng, _error_bounds(ranges.gate_fidelity_1q), n)
    cz_error = _draw(rng, _error_bounds(ranges.cz_fidelity), len(couplers))
    disabled = {int(q) for q in rng.choice(n, ranges.disabled_qubits, replace=False)}
    candidates = [c for c in couplers if disabled.isdisjoint(c)]
    count = min(ranges.disabled_couplers, len(candidates))
    picked = rng.choice(len(candidates), count, replace=False)
    return CalibrationSnapshot(
        id=_snapshot_id(spec.name, _utc(taken_at), rng),
        device=spec.name,
        taken_at=taken_at,
        t1_us=_floats(t1),
        t2_us=_floats(t2),
        frequency_ghz=_floats(frequency),
        readout_error_0to1=_floats(e01),
        readout_error_1to0=_floats(e10),
        gate_error_1q=_floats(gate_error),
        gate_duration_1q_ns=(spec.durations.gate_1q_ns,) * n,
        couplers=couplers,
        cz_error=_floats(cz_error),
        cz_duration_ns=(spec.durations.cz_ns,) * len(couplers),
        disabled_qubits=tuple(sorted(disabled)),
        disabled_couplers=tuple(sorted(candidates[int(i)] for i in picked)),
    )


def drifted(
    snapshot: CalibrationSnapshot,
    spec: DeviceSpec,
    *,
    hours: float,
    seed: Seed,
    taken_at: datetime,
) -> CalibrationSnapshot:
    """The calibration ``hours`` after ``snapshot``, without recalibrating.

    Each value takes a log-normal step, ``value * exp(s * sqrt(hours) * N(0, 1))``
    with ``s = spec.drift.relative_step_per_sqrt_hour`` (frequencies a thousand
    times smaller), clipped to the spec's range, with T2 <= 2 T1. The readout
    error's mean and its 0->1 share walk separately, so P(1|0) < P(0|1) holds. On
    average ``disabled_changes_per_day * hours / 24`` times, a disabled qubit or
    coupler comes back and another one fails.

    Args:
        snapshot: the previous calibration of this device.
        spec: the device.
        hours: time since ``snapshot``, >= 0.
        seed: seed or generator; the same arguments give the same snapshot.
        taken_at: timezone-aware time of the new snapshot.

    Raises:
        ValueError: ``hours`` is negative or the snapshot is of another device.
    """
    if hours < 0:
        raise ValueError(f"hours: must not be negative, got {hours}")
    if snapshot.device != spec.name or snapshot.num_qubits != spec.num_qubits:
        raise ValueError(f"snapshot: is of {snapshot.device!r}, not {spec.name!r}")
    rng = make_rng(seed)
    ranges = spec.calibration
    step = spec.drift.relative_step_per_sqrt_hour * math.sqrt(hours)

    def walk(values: tuple[float, ...], bounds: Range, scale: float = 1.0) -> np.ndarray:
        noise = rng.standard_normal(len(values))
        return np.clip(np.asarray(values) * np.exp(scale * step * noise), *bounds)

    t1 = walk(snapshot.t1_us, ranges.t1_us)
    t2 = np.minimum(walk(snapshot.t2_us, ranges.t2_us), 2 * t1)
    e01, e10 = np.asarray(snapshot.readout_error_0to1), np.asarray(snapshot.readout_error_1to0)
    mean = walk(tuple((e01 + e10) / 2), _error_bounds(ranges.readout_fidelity))
    share = walk(tuple(e01 / np.maximum(e01 + e10, 1e-300)), ranges.readout_0to1_share)
    e01, e10 = _readout(mean, share)
    changes = int(rng.poisson(spec.drift.disabled_changes_per_day * hours / 24))
    qubits, couplers = _swap_disabled(snapshot, rng, changes)
    return CalibrationSnapshot(
        id=_snapshot_id(spec.name, _utc(taken_at), rng),
        device=spec.name,
        taken_at=taken_at,
        t1_us=_floats(t1),
        t2_us=_floats(t2),
        frequency_ghz=_floats(
            walk(snapshot.frequency_ghz, ranges.frequency_ghz, _FREQUENCY_DRIFT_SCALE)
        ),
        readout_error_0to1=_floats(e01),
        readout_error_1to0=_floats(e10),
        gate_error_1q=_floats(walk(snapshot.gate_error_1q, _error_bounds(ranges.gate_fidelity_1q))),
        gate_duration_1q_ns=snapshot.gate_duration_1q_ns,
        couplers=snapshot.couplers,
        cz_error=_floats(walk(snapshot.cz_error, _error_bounds(ranges.cz_fidelity))),
        cz_duration_ns=snapshot.cz_duration_ns,
        disabled_qubits=qubits,
        disabled_couplers=couplers,
    )


def _swap_disabled(
    snapshot: CalibrationSnapshot, rng: np.random.Generator, changes: int
) -> tuple[tuple[int, ...], tuple[Coupler, ...]]:
    """Apply ``changes`` swaps: one disabled item recovers, one working item of its kind fails."""
    qubits, couplers = list(snapshot.disabled_qubits), list(snapshot.disabled_couplers)
    for _ in range(changes):
        total = len(qubits) + len(couplers)
        if total == 0:
            break
        if rng.random() < len(qubits) / total:
            spare = [q for q in range(snapshot.num_qubits) if q not in qubits]
            qubits[int(rng.integers(len(qubits)))] = spare[int(rng.integers(len(spare)))]
        else:
            spare_c = [c for c in snapshot.couplers if c not in couplers]
            couplers[int(rng.integers(len(couplers)))] = spare_c[int(rng.integers(len(spare_c)))]
    return tuple(sorted(qubits)), tuple(sorted(couplers))


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"taken_at: must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)
