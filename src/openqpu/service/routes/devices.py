"""Devices and their queues."""

from __future__ import annotations

from fastapi import APIRouter, Request

from openqpu.device import Device
from openqpu.service.accounts import NotFound
from openqpu.service.deps import CurrentUser, DatabaseDep
from openqpu.service.jobs import queue_lengths
from openqpu.service.schemas import DevicePublic

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


def _public(device: Device, queue_length: int) -> DevicePublic:
    return DevicePublic(
        name=device.name,
        num_qubits=device.num_qubits,
        native_gates=list(device.native_gates),
        status="online",
        queue_length=queue_length,
        simulator=device.simulator,
        description=device.description,
    )


@router.get("", response_model=list[DevicePublic])
def list_devices(request: Request, db: DatabaseDep, _user: CurrentUser) -> list[DevicePublic]:
    """Every device with its status and queue length."""
    with db.read() as session:
        queues = queue_lengths(session)
    devices = request.app.state.devices
    return [_public(d, queues.get(d.name, 0)) for d in devices.values()]


@router.get("/{name}", response_model=DevicePublic)
def get_device(name: str, request: Request, db: DatabaseDep, _user: CurrentUser) -> DevicePublic:
    """One device."""
    device = request.app.state.devices.get(name)
    if device is None:
        raise NotFound(f"no device {name!r}")
    with db.read() as session:
        queued = queue_lengths(session).get(name, 0)
    return _public(device, queued)
