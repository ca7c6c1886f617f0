"""Devices: what hardware (or simulator) a job runs on."""

from __future__ import annotations

from openqpu.device.catalog import Device, default_catalog

__all__ = ["Device", "default_catalog"]
