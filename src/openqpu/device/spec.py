"""Device specifications: what an emulated chip is, read from one TOML file per device.

A spec holds the fixed facts (grid, native gates, durations) and the ranges that
calibration snapshots are drawn from; snapshots themselves live in ``calibration``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

# Gates a spec may list: the Target builder knows each of them.
KNOWN_GATES = frozenset({"rz", "sx", "x", "cz", "measure", "reset"})
# Without these a chip is not universal or cannot be read out.
REQUIRED_GATES = frozenset({"rz", "sx", "cz", "measure"})

Range = tuple[float, float]


def is_device_name(name: str) -> bool:
    """True for a name a device (or an alias) may have: letters, digits, ``_`` and ``-``."""
    return bool(name) and name.replace("_", "").replace("-", "").isalnum()


def _check_range(name: str, value: Range, low: float, high: float) -> None:
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ValueError(
            f"{name}: must be [low, high] with {low} <= low <= high <= {high}, got {value}"
        )


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name}: must be positive, got {value}")


@dataclass(frozen=True)
class Durations:
    """Nominal instruction durations in nanoseconds."""

    gate_1q_ns: float
    cz_ns: float
    measure_ns: float
    reset_ns: float

    def __post_init__(self) -> None:
        for item in fields(self):
            _check_positive(f"durations.{item.name}", getattr(self, item.name))


@dataclass(frozen=True)
class CalibrationRanges:
    """The ranges calibrated values are drawn from and drift within.

    Fidelities are 1 - error. ``readout_0to1_share`` is P(1|0) / (P(1|0) + P(0|1)),
    below one half because decay during readout makes P(0|1) the larger error.
    ``disabled_qubits`` and ``disabled_couplers`` count how many are out of service.
    """

    t1_us: Range
    t2_us: Range
    frequency_ghz: Range
    gate_fidelity_1q: Range
    cz_fidelity: Range
    readout_fidelity: Range
    readout_0to1_share: Range
    disabled_qubits: int
    disabled_couplers: int

    def __post_init__(self) -> None:
        for name in ("t1_us", "t2_us", "frequency_ghz"):
            _check_range(f"calibration.{name}", getattr(self, name), 1e-9, float("inf"))
        for name in ("gate_fidelity_1q", "cz_fidelity", "readout_fidelity"):
            _check_range(f"calibration.{name}", getattr(self, name), 0.5, 1.0)
        _check_range("calibration.readout_0to1_share", self.readout_0to1_share, 0.0, 0.5)
        for name in ("disabled_qubits", "disabled_couplers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"calibration.{name}: must be a count >= 0, got {value!r}")


@dataclass(frozen=True)
class DriftSettings:
    """How calibration wanders between recalibrations, and how often it is redone."""

    relative_step_per_sqrt_hour: float
    disabled_changes_per_day: float
    recalibration_period_h: float
    maintenance_min: float

    def __post_init__(self) -> None:
        if not 0 <= self.relative_step_per_sqrt_hour < 1:
            raise ValueError(
                "drift.relative_step_per_sqrt_hour: must be in [0, 1), "
                f"got {self.relative_step_per_sqrt_hour}"
            )
        if self.disabled_changes_per_day < 0:
            raise ValueError(
                f"drift.disabled_changes_per_day: must be >= 0, got {self.disabled_changes_per_day}"
            )
        _check_positive("drift.recalibration_period_h", self.recalibration_period_h)
        _check_positive("drift.maintenance_min", self.maintenance_min)


@dataclass(frozen=True)
class DeviceSpec:
    """An emulated superconducting chip: a rows x cols grid with nearest-neighbour couplers.

    Qubit ``row * cols + col`` sits at (row, col); every horizontal and vertical
    neighbour pair shares a coupler. ``aliases`` are other names the device answers
    to (optional in the file): the published names of the chip it emulates, which
    programs written for that chip's cloud pass as the backend name.
    """

    name: str
    description: str
    rows: int
    cols: int
    native_gates: tuple[str, ...]
    dt_ns: float
    durations: Durations
    calibration: CalibrationRanges
    drift: DriftSettings
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not is_device_name(self.name):
            raise ValueError(f"name: {self.name!r} is not a valid device name")
        for alias in self.aliases:
            if not isinstance(alias, str) or not is_device_name(alias):
                raise ValueError(f"aliases: {alias!r} is not a valid device name")
            if alias == self.name:
                raise ValueError(f"aliases: {alias!r} is the device's own name")
        if len(set(self.aliases)) != len(self.aliases):
            raise ValueError(f"aliases: {list(self.aliases)} names one alias twice")
        for name in ("rows", "cols"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: must be a positive integer, got {value!r}")
        unknown = set(self.native_gates) - KNOWN_GATES
        if unknown:
            raise ValueError(f"native_gates: unknown gates {sorted(unknown)}")
        missing = REQUIRED_GATES - set(self.native_gates)
        if missing:
            raise ValueError(f"native_gates: missing required gates {sorted(missing)}")
        _check_positive("dt_ns", self.dt_ns)
        if self.calibration.disabled_qubits >= self.num_qubits:
            raise ValueError(
                f"calibration.disabled_qubits: {self.calibration.disabled_qubits} leaves "
                f"no working qubit out of {self.num_qubits}"
            )
        if self.calibration.disabled_couplers > self.num_couplers:
            raise ValueError(
                f"calibration.disabled_couplers: {self.calibration.disabled_couplers} is more "
                f"than the {self.num_couplers} couplers"
            )

    @property
    def num_qubits(self) -> int:
        """Number of qubits on the chip."""
        return self.rows * self.cols

    @property
    def couplers(self) -> tuple[tuple[int, int], ...]:
        """Every coupler as a pair ``(a, b)`` with ``a < b``, in index order."""
        pairs = []
        for q in range(self.num_qubits):
            if (q % self.cols) + 1 < self.cols:
                pairs.append((q, q + 1))
            if q + self.cols < self.num_qubits:
                pairs.append((q, q + self.cols))
        return tuple(pairs)

    @property
    def num_couplers(self) -> int:
        """Number of couplers: rows (cols - 1) + cols (rows - 1)."""
        return self.rows * (self.cols - 1) + self.cols * (self.rows - 1)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceSpec:
        """Build a spec from a parsed TOML document.

        Raises:
            ValueError: a field is missing, unknown or out of range; the message names it.
        """
        return _build(cls, data, "")

    @classmethod
    def from_file(cls, path: str | Path) -> DeviceSpec:
        """Read a device spec from a TOML file.

        Raises:
            ValueError: the file is not valid TOML or a field is wrong (named in the message).
        """
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: {error}") from error
        try:
            return cls.from_dict(data)
        except ValueError as error:
            raise ValueError(f"{path.name}: {error}") from error


# Fields a device file may leave out, and their values then.
_OPTIONAL: dict[str, Any] = {"aliases": ()}

_NESTED: dict[str, type] = {
    "durations": Durations,
    "calibration": CalibrationRanges,
    "drift": DriftSettings,
}


def _build(kind: type, data: dict[str, Any], prefix: str) -> Any:
    names = [item.name for item in fields(kind)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ValueError(f"{prefix}{unknown[0]}: unknown field")
    values: dict[str, Any] = {}
    for name in names:
        if name not in data:
            if kind is DeviceSpec and name in _OPTIONAL:
                continue
            raise ValueError(f"{prefix}{name}: missing")
        value = data[name]
        if name in _NESTED and kind is DeviceSpec:
            if not isinstance(value, dict):
                raise ValueError(f"{name}: must be a table")
            value = _build(_NESTED[name], value, f"{name}.")
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    try:
        return kind(**values)
    except TypeError as error:  # a wrong type met a comparison
        raise ValueError(f"{prefix.rstrip('.') or kind.__name__}: {error}") from error


def load_device_specs(directory: str | Path | None = None) -> dict[str, DeviceSpec]:
    """Load the shipped device specs, then those in an operator's ``directory``.

    A file in ``directory`` replaces a shipped device of the same name.

    Args:
        directory: a folder of ``*.toml`` device files, or None for the shipped ones only.

    Returns:
        Specs keyed by device name.

    Raises:
        ValueError: a file is invalid, two files in one place name the same device,
            or a name or alias is taken by another device.
    """
    specs: dict[str, DeviceSpec] = {}
    shipped = resources.files("openqpu.device") / "data"
    paths = [Path(str(entry)) for entry in shipped.iterdir() if entry.name.endswith(".toml")]
    for group in (sorted(paths), sorted(Path(directory).glob("*.toml")) if directory else []):
        seen: set[str] = set()
        for path in group:
            spec = DeviceSpec.from_file(path)
            if spec.name in seen:
                raise ValueError(f"{path.name}: device {spec.name!r} is defined twice")
            seen.add(spec.name)
            specs[spec.name] = spec
    _check_unique_names(specs.values())
    return specs


def _check_unique_names(specs: Iterable[DeviceSpec]) -> None:
    """Every name and alias picks one device."""
    owner: dict[str, str] = {}
    for spec in specs:
        for name in (spec.name, *spec.aliases):
            if owner.setdefault(name, spec.name) != spec.name:
                raise ValueError(
                    f"{spec.name}: name or alias {name!r} is already taken by device "
                    f"{owner[name]!r}"
                )
