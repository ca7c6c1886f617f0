"""Server settings from ``OPENQPU_*`` environment variables, overridable by CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


def default_database_url() -> str:
    """The embedded default: a SQLite file under ``./var``."""
    return f"sqlite:///{Path('var') / 'openqpu.db'}"


@dataclass(frozen=True)
class Settings:
    """Everything a server or worker process needs to know.

    Each field can be set by the environment variable ``OPENQPU_<FIELD>``.
    """

    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    api_processes: int = 1
    lease_seconds: float = 30.0
    poll_seconds: float = 0.1
    max_attempts: int = 3
    claim_batch: int = 8
    max_run_seconds: float = 600.0
    max_shots: int = 1_000_000
    max_circuits: int = 100
    max_circuit_bytes: int = 1_000_000
    max_circuit_gates: int = 20_000
    # Admission bounds the work of a source before parsing it (openqpu.formats.prescan):
    # declared classical bits; gate applications with every definition, loop and
    # register broadcast expanded; gate definitions nested within definitions (OriginIR:
    # nested CONTROL/DAGGER blocks); control qubits of one gate.
    max_clbits: int = 4_096
    max_expanded_gates: int = 100_000
    max_gate_nesting: int = 8
    max_controls: int = 16
    # Per job: observables of an estimate job, Pauli terms evaluated (circuits x terms
    # of all observables), and parameter values of all circuits together.
    max_observables: int = 1_000
    max_pauli_terms: int = 100_000
    max_parameter_values: int = 100_000
    # Untrusted sources are parsed, summarised and compiled in a pool of child processes
    # (openqpu.service.sandbox): how many, and each task's time and memory limit (MB on
    # top of a fresh child's own; 0: none). A task over a limit costs its child only.
    sandbox_processes: int = 2
    sandbox_seconds: float = 10.0
    sandbox_memory_mb: int = 1_024
    # The time limit of compiling a chip job's circuits and estimating their run at submit.
    sandbox_compile_seconds: float = 60.0
    # Where the server keeps its files (the first admin key; the SQLite file by default);
    # "": the SQLite file's folder, else ./var. Created owner-only (0700).
    data_dir: str = ""
    max_body_bytes: int = 5_000_000
    max_queued_jobs_per_user: int = 1_000
    max_shots_per_day: int = 100_000_000
    # How long an idle HTTP keep-alive connection stays open.
    keep_alive_seconds: float = 75.0
    # Requests per second per API key (0: unlimited), and the burst allowed.
    rate_limit_per_second: float = 100.0
    rate_limit_burst: float = 200.0
    # Emulated chips: extra device files, and calendar overrides (0 / negative: the files').
    device_dir: str = ""
    calibration_period_s: float = 0.0
    maintenance_s: float = -1.0
    # Scale-out: the Ray cluster that jobs of several circuits fan out to ("": none),
    # and the shots per chunk that a chip circuit's noisy trajectories split into there.
    ray_address: str = ""
    ray_chunk_shots: int = 10_000
    # The name worker ids start with (default: the host name); distinguishes hosts
    # that share a host name, such as containers or network namespaces.
    worker_name: str = ""
    # Noisy chip simulation: the widest circuit the density-matrix method takes, and the
    # matrix-product-state method's bond-dimension cap and truncation threshold.
    density_max_qubits: int = 12
    mps_max_bond: int = 256
    mps_truncation_threshold: float = 1e-10
    # History: results and status histories of jobs finished more than this many days
    # ago leave the database (0: kept forever), as JSON Lines files in retention_archive_dir
    # ("": <data dir>/archive), or deleted when retention_delete is 1.
    result_retention_days: float = 0.0
    retention_archive_dir: str = ""
    retention_delete: int = 0
    # The public statistics are computed at most this often (seconds), the same for all.
    stats_cache_seconds: float = 5.0
    # `openqpu worker`: serve its processes' Prometheus metrics on this port (0: none).
    metrics_port: int = 0

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", default_database_url())
        for name in (
            "port",
            "max_shots",
            "max_circuits",
            "max_attempts",
            "claim_batch",
            "api_processes",
            "ray_chunk_shots",
            "mps_max_bond",
            "max_expanded_gates",
            "max_gate_nesting",
            "max_observables",
            "max_pauli_terms",
            "sandbox_processes",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.workers < 0:
            raise ValueError(f"workers: must not be negative, got {self.workers}")

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from ``OPENQPU_*`` variables, then ``overrides`` that are not None."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = os.environ.get(f"OPENQPU_{field.name.upper()}")
            if raw is not None:
                values[field.name] = _parse(raw, field.type, field.name)
        settings = cls(**values)
        chosen = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **chosen) if chosen else settings


def _parse(raw: str, kind: Any, name: str) -> Any:
    kind = kind if isinstance(kind, str) else kind.__name__
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"OPENQPU_{name.upper()}: expected a {kind}, got {raw!r}") from None
    return raw
