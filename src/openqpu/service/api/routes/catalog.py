"""The device catalogue as public facts (no key needed): names, qubits, kind, native gates.

The dashboard's overview shows these to anonymous visitors; queues, status and
calibrations stay behind ``/api/v1/devices`` and ``/api/v1/stats``. The answer comes from
the app's catalogue in memory: the same cost whatever is stored.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

router = APIRouter(prefix="/api/v1", tags=["devices"])


class CatalogEntry(BaseModel):
    """One device, as anyone may know it."""

    name: str
    num_qubits: int
    simulator: bool
    native_gates: list[str]


@router.get("/catalog", response_model=list[CatalogEntry])
async def catalog(request: Request) -> list[CatalogEntry]:
    """Every device's name, qubit count, kind (simulator or chip) and native gates."""
    return [
        CatalogEntry(
            name=device.name,
            num_qubits=device.num_qubits,
            simulator=device.simulator,
            native_gates=list(device.native_gates),
        )
        for device in request.app.state.devices.values()
    ]
