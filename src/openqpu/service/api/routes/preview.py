"""The composer's live state: the exact final state of a small circuit, with no job record.

``POST /api/v1/preview`` reads OpenQASM 2, OpenQASM 3 or OriginIR text and answers the
probability and amplitude of every basis state of its final state (final measurements
left out) for circuits of up to 12 qubits (``_preview_state.MAX_QUBITS``), from the
exact statevector engine (:func:`openqpu.sim.statevector`). Nothing is queued or
stored: the dashboard's composer asks after each edit. The source meets the admission
of a submit: the body is read up to :data:`MAX_BODY_BYTES`, the pre-scan
(:func:`openqpu.service.circuits.scan_circuit`) bounds declarations and expanded gates
before any parse, and the parse and the simulation run in the sandbox under its time
and memory limits. A source the server cannot read is a 400 naming its line and column,
like a submit's; a readable one without a live state (wider than the limit, measuring
mid-circuit) is a 200 with ``reason``. Callers need a key; each call spends one token of
the key's rate limit (:func:`openqpu.service.api.ratelimit.admit`, through ``CurrentUser``).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openqpu.formats.prescan import ScanLimits
from openqpu.service.api.deps import CurrentUser
from openqpu.service.api.errors import PayloadTooLarge
from openqpu.service.api.responses import FastJSONResponse
from openqpu.service.api.routes._preview_state import preview_source
from openqpu.service.circuits import InvalidRequest
from openqpu.service.sandbox import SandboxLimit

router = APIRouter(prefix="/api/v1", tags=["composer"])

MAX_SOURCE_CHARS = 65_536
MAX_BODY_BYTES = 2 * MAX_SOURCE_CHARS + 1_024  # the source JSON-escaped, and the envelope


class PreviewRequest(BaseModel):
    """A circuit to preview."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        max_length=MAX_SOURCE_CHARS, description="OpenQASM 2 or 3, or OriginIR, text"
    )
    format: Literal["auto", "qasm2", "qasm3", "originir"] = Field(
        "auto", description="the source's language; 'auto' reads its header"
    )


class PreviewPublic(BaseModel):
    """The final state of a circuit, final measurements left out."""

    num_qubits: int
    num_clbits: int
    probabilities: list[float] | None = Field(
        None,
        description="per basis state, index i: bit q of i is qubit q (Qiskit's order); "
        "null with a reason",
    )
    amplitudes: list[tuple[float, float]] | None = Field(
        None, description="[real, imaginary] per basis state, same order; null with a reason"
    )
    reason: str | None = Field(None, description="why there is no state, when there is none")


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the source cannot be read (detail, field, line, column) or is over "
          "a limit of a submit"},
    413: {"description": f"the body is over {MAX_BODY_BYTES:,} bytes"},
    422: {"description": "the body is not a PreviewRequest"},
    429: {"description": "the key's rate limit is reached (Retry-After)"},
}  # fmt: skip


@router.post(
    "/preview",
    response_model=PreviewPublic,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PreviewRequest.model_json_schema()}},
        }
    },
)
async def preview(request: Request, _user: CurrentUser) -> FastJSONResponse:
    """The exact final state of a circuit of up to 12 qubits: probabilities and amplitudes.

    No job is made. The composer of the dashboard calls this after each edit. A source
    that cannot be read is refused as a submit would refuse it (400 with the line and
    column); a readable circuit without a live state (more than 12 qubits, a measurement
    or reset before the end, free parameters) is answered with ``reason`` instead.
    """
    body = await _read_body(request)
    try:
        asked = PreviewRequest.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    state = request.app.state
    settings = state.settings
    # A source is read as the widest device would read it: what a submit there accepts.
    widest = max(state.devices.values(), key=lambda device: device.num_qubits)
    limits = ScanLimits(
        max_qubits=widest.num_qubits,
        max_clbits=settings.max_clbits,
        max_gates=settings.max_expanded_gates,
        max_nesting=settings.max_gate_nesting,
        max_controls=settings.max_controls,
        device=widest.name,
    )
    try:
        document = await state.sandbox.run_async(
            preview_source,
            asked.source,
            asked.format,
            limits,
            settings.max_circuit_gates,
        )  # under the sandbox's limits, as a submit's source is read
    except SandboxLimit as exc:
        raise InvalidRequest("source", f"reading and simulating the circuit {exc}") from None
    return FastJSONResponse(document)


async def _read_body(request: Request) -> bytes:
    """The body, refused past :data:`MAX_BODY_BYTES` whether declared or streamed."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise PayloadTooLarge(
            f"request body of {declared} bytes is over the preview's limit of "
            f"{MAX_BODY_BYTES:,} bytes"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"request body is over the preview's limit of {MAX_BODY_BYTES:,} bytes"
            )
    return bytes(body)
