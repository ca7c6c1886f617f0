"""Devices, their queues, and the chips' calibration and maintenance calendar."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from openqpu.device import Device
from openqpu.service.api.deps import CurrentUser, DatabaseDep
from openqpu.service.api.errors import InvalidRequest
from openqpu.service.clock import aware, utcnow
from openqpu.service.schemas import DevicePublic, MaintenanceWindow
from openqpu.service.store.accounts import NotFound
from openqpu.service.store.calibrations import Calibrations, NoCalibration
from openqpu.service.store.jobs import queue_lengths

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


def _public(device: Device, queue_length: int, calibrations: Calibrations) -> DevicePublic:
    public = DevicePublic(
        name=device.name,
        num_qubits=device.num_qubits,
        native_gates=list(device.native_gates),
        status="online",
        queue_length=queue_length,
        simulator=device.simulator,
        description=device.description,
    )
    spec = device.spec
    if spec is not None:  # device.is_chip, in a form that narrows spec
        now = utcnow()
        public.topology = {
            "kind": "grid",
            "rows": spec.rows,
            "cols": spec.cols,
            "couplers": [list(pair) for pair in spec.couplers],
        }
        public.timing = {
            "dt_ns": spec.dt_ns,
            "measure_ns": spec.durations.measure_ns,
            "reset_ns": spec.durations.reset_ns,
        }
        public.calibration = calibrations.in_force(device.name, now).summary()
        public.maintenance_until = calibrations.maintenance_until(device.name, now)
        if public.maintenance_until is not None:
            public.status = "maintenance"
        start, end = calibrations.schedule(device.name).next_window(now)
        public.next_maintenance = MaintenanceWindow(start=start, end=end)
    return public


def _device(request: Request, name: str) -> Device:
    device = request.app.state.devices.get(name)
    if device is None:
        raise NotFound(f"no device {name!r}")
    return device


@router.get("", response_model=list[DevicePublic])
def list_devices(request: Request, db: DatabaseDep, _user: CurrentUser) -> list[DevicePublic]:
    """Every device with its status and queue length."""
    with db.read() as session:
        queues = queue_lengths(session)
    calibrations = request.app.state.calibrations
    devices = request.app.state.devices
    return [_public(d, queues.get(d.name, 0), calibrations) for d in devices.values()]


@router.get("/{name}", response_model=DevicePublic)
def get_device(name: str, request: Request, db: DatabaseDep, _user: CurrentUser) -> DevicePublic:
    """One device; a chip with its calibration summary and maintenance calendar."""
    device = _device(request, name)
    with db.read() as session:
        queued = queue_lengths(session).get(name, 0)
    return _public(device, queued, request.app.state.calibrations)


@router.get("/{name}/calibrations")
def list_calibrations(
    name: str,
    request: Request,
    _user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    """Summaries of the last ``limit`` snapshots, newest first: the calibration time line."""
    device = _device(request, name)
    if not device.is_chip:
        raise NotFound(f"{name} is an ideal simulator: it has no calibration")
    return [snapshot.summary() for snapshot in request.app.state.calibrations.history(name, limit)]


@router.get("/{name}/calibration")
def get_calibration(
    name: str,
    request: Request,
    _user: CurrentUser,
    at: Annotated[datetime | None, Query(description="ISO 8601 time; default now")] = None,
) -> dict[str, Any]:
    """The calibration snapshot in force now, or at time ``at`` (history)."""
    device = _device(request, name)
    if not device.is_chip:
        raise NotFound(f"{name} is an ideal simulator: it has no calibration")
    moment = aware(at) if at is not None else utcnow()
    if moment > utcnow():
        raise InvalidRequest("query.at", f"{moment.isoformat()} is in the future")
    try:
        snapshot = request.app.state.calibrations.in_force(name, moment)
    except NoCalibration as exc:
        raise NotFound(f"no calibration in force at {moment.isoformat()}: {exc}") from None
    return snapshot.to_dict()
