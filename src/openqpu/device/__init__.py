"""Devices: what hardware (or simulator) a job runs on.

An emulated chip is data: a ``DeviceSpec`` read from a TOML file, calibration
snapshots drawn from it and drifting over time, and, from a snapshot, the
Qiskit ``Target`` the transpiler compiles for and the engine's noise model.
"""

from __future__ import annotations

from openqpu.device.calibration import CalibrationSnapshot
from openqpu.device.catalog import Device, default_catalog, resolve
from openqpu.device.generation import drifted, generate_snapshot
from openqpu.device.noise_model import build_noise_model
from openqpu.device.spec import DeviceSpec, load_device_specs
from openqpu.device.target import build_target, largest_working_block

__all__ = [
    "CalibrationSnapshot",
    "Device",
    "DeviceSpec",
    "build_noise_model",
    "build_target",
    "default_catalog",
    "drifted",
    "generate_snapshot",
    "largest_working_block",
    "load_device_specs",
    "resolve",
]
