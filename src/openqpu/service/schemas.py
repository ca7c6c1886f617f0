"""Request and response bodies of the REST API, named by role."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from openqpu.service.clock import aware
from openqpu.service.estimator_options import EstimatorOptions

# SQLite returns naive datetimes; every time the API shows is UTC and says so.
UtcDatetime = Annotated[datetime, AfterValidator(aware)]


class JobCreate(BaseModel):
    """``POST /api/v1/jobs``: what to run, where and how."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(min_length=1, max_length=64)
    circuits: list[str] = Field(
        min_length=1, description="OpenQASM 2/3 or OriginIR text, or base64 QPY"
    )
    format: Literal["auto", "qasm2", "qasm3", "qpy", "originir"] = "auto"
    kind: Literal["sample", "estimate"] = "sample"
    shots: int = Field(default=1024, ge=1)
    seed: int | None = Field(default=None, ge=0, lt=1 << 63)
    observables: list[dict[str, float] | list[tuple[str, float]]] | None = None
    parameter_values: list[list[float]] | None = None
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)
    name: str | None = Field(default=None, max_length=128)
    priority: int = Field(default=0, ge=0, le=9)
    optimization_level: int | None = Field(
        default=None,
        ge=0,
        le=3,
        description=(
            "Qiskit transpiler level for chips (0-3); omitted: 2, or 1 for Clifford circuits "
            "and circuits wider than 24 qubits"
        ),
    )
    method: Literal["auto", "density_matrix", "stabilizer", "mps", "statevector"] = Field(
        default="auto",
        description="How a chip simulates the noisy circuit; 'auto' picks the cheapest that "
        "is exact or within stated bounds",
    )
    dry_run: bool = Field(
        default=False,
        description="Answer with the estimate (method, seconds, queue position) without queueing",
    )
    mitigation: Literal["readout"] | None = Field(
        default=None, description="'readout': correct counts with the calibration's readout errors"
    )
    options: EstimatorOptions | None = Field(
        default=None,
        description="estimate jobs on chips: error mitigation and suppression with Qiskit "
        "Runtime's EstimatorOptions names (resilience_level, resilience, twirling, "
        "dynamical_decoupling, default_shots, default_precision, seed_estimator); "
        "default_shots or default_precision set the shots per measurement basis",
    )

    @field_validator("circuits", mode="before")
    @classmethod
    def _one_circuit_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _shots_from_options(self) -> JobCreate:
        shots = self.options.shots() if self.options is not None else None
        if shots is not None:
            self.shots = shots
        return self


class JobEventPublic(BaseModel):
    """One status change."""

    status: str
    at: UtcDatetime
    detail: str | None = None


class JobPublic(BaseModel):
    """A job as its owner sees it."""

    id: str
    name: str | None
    owner: str
    device: str
    kind: str
    status: str
    shots: int
    num_circuits: int
    num_qubits: int
    priority: int
    seed: int | None
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    attempts: int
    error: str | None
    queue_position: int | None = None
    events: list[JobEventPublic] = []
    warnings: list[str] | None = Field(
        default=None,
        description="in the answer to a submit: how a source was read, e.g. an OpenQASM 2 "
        "file without its 'OPENQASM 2.0;' line",
    )


class JobsPublic(BaseModel):
    """A page of jobs, the total that match, and the cursor of the next (older) page."""

    data: list[JobPublic]
    count: int
    next: str | None = None


class MaintenanceWindow(BaseModel):
    """A recalibration: the chip's queue waits from ``start`` to ``end``."""

    start: UtcDatetime
    end: UtcDatetime


class DevicePublic(BaseModel):
    """A device and its queue; chips add their calibration and maintenance calendar."""

    name: str
    num_qubits: int
    native_gates: list[str]
    status: Literal["online", "maintenance", "offline"]
    queue_length: int
    simulator: bool
    description: str
    topology: dict[str, Any] | None = None
    timing: dict[str, float] | None = Field(
        default=None, description="a chip's dt and measure/reset durations, in ns"
    )
    calibration: dict[str, Any] | None = None
    maintenance_until: UtcDatetime | None = None
    next_maintenance: MaintenanceWindow | None = None


class UserPublic(BaseModel):
    """An account (admin view)."""

    id: int
    name: str
    country: str
    role: str
    created_at: UtcDatetime
    active_keys: int
    active_jobs: int = Field(description="queued or running jobs (quota: max_active_jobs)")
    shots_today: int = Field(description="shots submitted today, UTC (quota: max_shots_per_day)")
    max_active_jobs: int
    max_shots_per_day: int
