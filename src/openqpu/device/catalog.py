"""The catalogue of devices a server hosts: the ideal simulator and the emulated chips.

Chips are data: one file per device (see ``openqpu.device.spec``); an operator
adds one by putting a file in a directory the server is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from openqpu.device.spec import DeviceSpec, is_device_name, load_device_specs
from openqpu.sim.memory import memory_limit_bytes

# Gates the ideal simulators execute natively: every standard Qiskit gate.
_SIMULATOR_GATES = (
    "h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg", "rx", "ry", "rz", "p", "u",
    "cx", "cy", "cz", "ch", "cp", "crx", "cry", "crz", "cu", "swap", "iswap", "ecr",
    "rxx", "ryy", "rzz", "rzx", "ccx", "cswap", "mcx", "unitary", "measure", "reset",
)  # fmt: skip


@dataclass(frozen=True)
class Device:
    """A device users submit jobs to.

    Attributes:
        name: identifier used in the API (``statevector``).
        num_qubits: the widest circuit it accepts.
        native_gates: gate names it runs without translation.
        description: one line for people.
        simulator: True for ideal simulators.
        spec: the chip's description (topology, durations, calibration ranges);
            None for simulators.
        aliases: other names it answers to (``resolve``); the API shows ``name``.
    """

    name: str
    num_qubits: int
    native_gates: tuple[str, ...]
    description: str
    simulator: bool = True
    spec: DeviceSpec | None = None
    aliases: tuple[str, ...] = ()

    @property
    def is_chip(self) -> bool:
        """True for an emulated chip (it has a spec, calibrations and noise)."""
        return self.spec is not None

    @classmethod
    def from_spec(cls, spec: DeviceSpec) -> Device:
        """The catalogue entry of an emulated chip."""
        return cls(
            spec.name,
            spec.num_qubits,
            spec.native_gates,
            spec.description,
            False,
            spec,
            spec.aliases,
        )

    def __post_init__(self) -> None:
        if not is_device_name(self.name):
            raise ValueError(f"name: {self.name!r} is not a valid device name")
        if self.num_qubits < 1:
            raise ValueError(f"num_qubits: must be at least 1, got {self.num_qubits}")


def _widest_statevector(itemsize: int) -> int:
    """The most qubits whose state fits the engine's memory limit."""
    return max(1, (memory_limit_bytes() // itemsize).bit_length() - 1)


def default_catalog(device_dir: str | Path | None = None) -> dict[str, Device]:
    """The devices a server hosts: the ideal statevector simulator and the chips.

    Args:
        device_dir: a directory of extra device files (``*.toml``); a file there
            replaces a shipped device of the same name.
    """
    statevector = Device(
        name="statevector",
        num_qubits=min(32, _widest_statevector(16)),
        native_gates=_SIMULATOR_GATES,
        description="Ideal statevector simulator (openqpu.sim, complex128), exact results",
    )
    catalog = {statevector.name: statevector}
    for name, spec in load_device_specs(device_dir).items():
        catalog[name] = Device.from_spec(spec)
    return catalog


def resolve(devices: Mapping[str, Device], name: str) -> str | None:
    """The canonical name of the device called ``name`` (its name or an alias), or None.

    >>> catalog = default_catalog()
    >>> resolve(catalog, "origin_wukong"), resolve(catalog, "lattice72"), resolve(catalog, "x")
    ('lattice72', 'lattice72', None)
    """
    if name in devices:
        return name
    return next((device.name for device in devices.values() if name in device.aliases), None)
