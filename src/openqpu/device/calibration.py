"""Calibration snapshots: the measured state of a chip at one moment.

A snapshot is plain data that round-trips through JSON, so the service can keep
the history in a database; ``generation`` makes and drifts them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

Coupler = tuple[int, int]

_QUBIT_FIELDS = (
    "t1_us",
    "t2_us",
    "frequency_ghz",
    "readout_error_0to1",
    "readout_error_1to0",
    "gate_error_1q",
    "gate_duration_1q_ns",
)
_COUPLER_FIELDS = ("cz_error", "cz_duration_ns")
_PROBABILITIES = ("readout_error_0to1", "readout_error_1to0", "gate_error_1q", "cz_error")


@dataclass(frozen=True)
class CalibrationSnapshot:
    """One calibration of a device.

    Per-qubit tuples are indexed by chip qubit; per-coupler tuples follow
    ``couplers``, whose pairs ``(a, b)`` have ``a < b``.

    Attributes:
        id: unique name, ``<device>-<YYYYmmddTHHMMSSZ>-<suffix>``.
        device: the device's name.
        taken_at: when it was taken (aware, UTC).
        t1_us, t2_us: relaxation and dephasing times per qubit (T2 <= 2 T1).
        frequency_ghz: qubit frequency.
        readout_error_0to1: P(read 1 | prepared 0) per qubit.
        readout_error_1to0: P(read 0 | prepared 1) per qubit.
        gate_error_1q: average gate error (1 - fidelity) of ``sx`` and ``x``.
        gate_duration_1q_ns: duration of ``sx`` and ``x``.
        couplers: every coupler of the chip, disabled ones included.
        cz_error, cz_duration_ns: per coupler.
        disabled_qubits: qubits out of service (sorted).
        disabled_couplers: couplers out of service by themselves (sorted); a
            coupler touching a disabled qubit is unusable too without being listed.
    """

    id: str
    device: str
    taken_at: datetime
    t1_us: tuple[float, ...]
    t2_us: tuple[float, ...]
    frequency_ghz: tuple[float, ...]
    readout_error_0to1: tuple[float, ...]
    readout_error_1to0: tuple[float, ...]
    gate_error_1q: tuple[float, ...]
    gate_duration_1q_ns: tuple[float, ...]
    couplers: tuple[Coupler, ...]
    cz_error: tuple[float, ...]
    cz_duration_ns: tuple[float, ...]
    disabled_qubits: tuple[int, ...] = ()
    disabled_couplers: tuple[Coupler, ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("id: must not be empty")
        if self.taken_at.tzinfo is None or self.taken_at.utcoffset() is None:
            raise ValueError(f"taken_at: must be timezone-aware, got {self.taken_at!r}")
        object.__setattr__(self, "taken_at", self.taken_at.astimezone(UTC))
        for name in _QUBIT_FIELDS:
            if len(getattr(self, name)) != self.num_qubits:
                raise ValueError(f"{name}: has {len(getattr(self, name))} values for "
                                 f"{self.num_qubits} qubits")  # fmt: skip
        for name in _COUPLER_FIELDS:
            if len(getattr(self, name)) != len(self.couplers):
                raise ValueError(f"{name}: has {len(getattr(self, name))} values for "
                                 f"{len(self.couplers)} couplers")  # fmt: skip
        for name in _PROBABILITIES:
            if not all(0.0 <= value <= 1.0 for value in getattr(self, name)):
                raise ValueError(f"{name}: values must be in [0, 1]")
        for name in ("t1_us", "t2_us", "gate_duration_1q_ns", "cz_duration_ns"):
            if not all(value > 0 for value in getattr(self, name)):
                raise ValueError(f"{name}: values must be positive")
        for q, (t1, t2) in enumerate(zip(self.t1_us, self.t2_us, strict=True)):
            if t2 > 2 * t1 * (1 + 1e-12):
                raise ValueError(f"t2_us: qubit {q} has T2 {t2} > 2 T1 = {2 * t1}")
        if any(a >= b or b >= self.num_qubits for a, b in self.couplers):
            raise ValueError("couplers: each must be (a, b) with a < b < num_qubits")
        if any(not 0 <= q < self.num_qubits for q in self.disabled_qubits):
            raise ValueError(f"disabled_qubits: {self.disabled_qubits} has unknown qubits")
        unknown = set(self.disabled_couplers) - set(self.couplers)
        if unknown:
            raise ValueError(f"disabled_couplers: {sorted(unknown)} are not couplers")

    @property
    def num_qubits(self) -> int:
        """Number of qubits on the chip."""
        return len(self.t1_us)

    def working_qubits(self) -> tuple[int, ...]:
        """Qubits in service, ascending."""
        disabled = set(self.disabled_qubits)
        return tuple(q for q in range(self.num_qubits) if q not in disabled)

    def working_couplers(self) -> tuple[int, ...]:
        """Indices into ``couplers`` of those usable: enabled, between working qubits."""
        disabled_qubits = set(self.disabled_qubits)
        disabled = set(self.disabled_couplers)
        return tuple(
            i
            for i, (a, b) in enumerate(self.couplers)
            if (a, b) not in disabled and a not in disabled_qubits and b not in disabled_qubits
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists, ISO 8601 time); ``from_dict`` reverses it."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, datetime):
                data[item.name] = value.isoformat()
            elif isinstance(value, tuple):
                data[item.name] = [list(v) if isinstance(v, tuple) else v for v in value]
            else:
                data[item.name] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CalibrationSnapshot:
        """Rebuild a snapshot from ``to_dict`` output.

        Raises:
            ValueError: a field is missing or invalid (named in the message).
        """
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in data:
                raise ValueError(f"{item.name}: missing")
            value = data[item.name]
            if item.name == "taken_at":
                value = datetime.fromisoformat(value)
            elif item.name in ("couplers", "disabled_couplers"):
                value = tuple((int(a), int(b)) for a, b in value)
            elif item.name == "disabled_qubits":
                value = tuple(int(q) for q in value)
            elif isinstance(value, list):
                value = tuple(float(v) for v in value)
            values[item.name] = value
        return cls(**values)

    def summary(self) -> dict[str, Any]:
        """Medians over working qubits and couplers, and counts, for the API.

        ``num_couplers_disabled`` counts every unusable coupler, including those
        of disabled qubits, so working + disabled = all couplers.
        """
        qubits = self.working_qubits()
        couplers = self.working_couplers()

        def median(values: tuple[float, ...], keep: tuple[int, ...]) -> float | None:
            return statistics.median(values[i] for i in keep) if keep else None

        readout = tuple(
            1 - (e01 + e10) / 2
            for e01, e10 in zip(self.readout_error_0to1, self.readout_error_1to0, strict=True)
        )
        cz_error = median(self.cz_error, couplers)
        gate_error = median(self.gate_error_1q, qubits)
        return {
            "id": self.id,
            "device": self.device,
            "taken_at": self.taken_at.astimezone(UTC).isoformat(),
            "median_t1_us": median(self.t1_us, qubits),
            "median_t2_us": median(self.t2_us, qubits),
            "median_readout_fidelity": median(readout, qubits),
            "median_gate_fidelity_1q": None if gate_error is None else 1 - gate_error,
            "median_cz_fidelity": None if cz_error is None else 1 - cz_error,
            "num_qubits_working": len(qubits),
            "num_qubits_disabled": self.num_qubits - len(qubits),
            "num_couplers_working": len(couplers),
            "num_couplers_disabled": len(self.couplers) - len(couplers),
        }
