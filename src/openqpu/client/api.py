"""``Client``: the devices, jobs and statistics of one openqpu server."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from openqpu.client.config import resolve_server
from openqpu.client.job import RemoteJob
from openqpu.client.payload import (
    CircuitLike,
    ObservableLike,
    encode_circuits,
    encode_observables,
    encode_parameter_values,
)
from openqpu.client.transport import Transport


class JobList(list[RemoteJob]):
    """A page of jobs, newest first.

    Attributes:
        total: how many jobs match the filters in all pages.
        next: the cursor of the next (older) page, for ``Client.jobs(before=...)``;
            None on the last page.
    """

    def __init__(self, jobs: Iterable[RemoteJob], total: int, next: str | None = None) -> None:
        super().__init__(jobs)
        self.total = total
        self.next = next


class Client:
    """A connection to an openqpu server.

    Args:
        url: the server, e.g. ``http://127.0.0.1:8000``.
        token: an API key, ``oqk_<id>_<secret>``.
        timeout: seconds to wait for each HTTP answer.
        retries: how often a request is repeated after a network error or a
            502, 503 or 504; waits start at ``backoff_s`` and double.
        backoff_s: the first wait between tries, in seconds.
        transport: an httpx transport to use instead of the network (tests).

    Raises:
        ValueError: the URL is not http(s), or ``retries`` is negative.

    >>> client = Client("http://127.0.0.1:8000", "oqk_...")  # doctest: +SKIP
    >>> job = client.submit(bell, "statevector", shots=1000, seed=7)  # doctest: +SKIP
    >>> job.counts()  # doctest: +SKIP
    [{'00': 491, '11': 509}]
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._transport = Transport(
            url, token, timeout=timeout, retries=retries, backoff_s=backoff_s, transport=transport
        )

    @classmethod
    def from_config(
        cls, url: str | None = None, token: str | None = None, **options: Any
    ) -> Client:
        """A client for the server saved by ``openqpu login`` or named by the environment.

        Args:
            url: overrides ``OPENQPU_URL`` and the config file.
            token: overrides ``OPENQPU_TOKEN`` and the config file.
            options: ``timeout``, ``retries``, ``backoff_s`` as for ``Client``.

        Raises:
            NotConfigured: no server URL or no key for it was found.
        """
        chosen_url, chosen_token = resolve_server(url, token)
        return cls(chosen_url, chosen_token, **options)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._transport.url

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._transport.close()

    def devices(self) -> list[dict[str, Any]]:
        """Every device: ``name``, ``num_qubits``, ``native_gates``, ``status``,
        ``queue_length``, ``simulator`` and ``description``."""
        return list(self._transport.get("/api/v1/devices"))

    def device(self, name: str) -> dict[str, Any]:
        """One device, as in ``devices``.

        Raises:
            NotFound: there is no such device.
        """
        return dict(self._transport.get(f"/api/v1/devices/{quote(name, safe='')}"))

    def calibration(self, device: str, at: datetime | str | None = None) -> dict[str, Any]:
        """A chip's calibration snapshot in force now, or at time ``at`` (ISO 8601 or datetime).

        Per-qubit lists (``t1_us``, ``t2_us``, ``readout_error_0to1``, ...) are indexed
        by chip qubit; per-coupler lists follow ``couplers``.

        Raises:
            NotFound: no such chip, or no calibration at that time.
        """
        params = {}
        if at is not None:
            params["at"] = at.isoformat() if isinstance(at, datetime) else str(at)
        path = f"/api/v1/devices/{quote(device, safe='')}/calibration"
        return dict(self._transport.get(path, params=params or None))

    def stats(self) -> dict[str, Any]:
        """The server's public usage statistics (tasks, visits, users, queues)."""
        return dict(self._transport.get("/api/v1/stats"))

    def submit(
        self,
        circuits: CircuitLike | Iterable[CircuitLike],
        device: str,
        *,
        shots: int = 1024,
        seed: int | None = None,
        kind: str = "sample",
        observables: ObservableLike | Iterable[ObservableLike] | None = None,
        parameter_values: Iterable[Iterable[float]] | None = None,
        name: str | None = None,
        priority: int = 0,
        idempotency_key: str | None = None,
        optimization_level: int | None = None,
        mitigation: str | None = None,
        method: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RemoteJob:
        """Queue a job.

        Every submission carries an idempotency key (a random one when none is
        given), so a retried request never queues the job twice; submitting
        again with the same key returns the first job.

        Args:
            circuits: one or several circuits: ``QuantumCircuit`` objects,
                OpenQASM 2/3 or OriginIR text, or paths to .qasm, .ir or .qpy files.
            device: the device's name, e.g. ``statevector``.
            shots: shots per circuit (sample jobs).
            seed: circuit ``i`` runs with seed ``seed + i``; None lets the server pick.
            kind: ``sample`` (counts) or ``estimate`` (expectation values).
            observables: for estimate jobs: ``SparsePauliOp`` objects or
                ``{label: coefficient}`` mappings, each measured on every circuit.
            parameter_values: one list of values per circuit, for parametrised circuits.
            name: a label for people.
            priority: 0 to 9; higher runs first.
            idempotency_key: the key that makes a repeated submission return the first job.
            optimization_level: on a chip, Qiskit's transpiler level 0-3; None: the
                server's default (2, or 1 for Clifford and wide circuits).
            mitigation: on a chip, ``"readout"`` adds counts corrected for readout errors
                (``mitigated_probabilities``; estimate jobs correct their parities).
            method: how a chip simulates the noisy circuits: ``"auto"`` (the server's
                choice, also when None), ``"density_matrix"``, ``"stabilizer"``,
                ``"mps"`` or ``"statevector"``; ideal simulators take only ``"auto"``
                and ``"statevector"``. Each result entry says which method ran.
            options: estimate jobs on a chip: error mitigation and suppression, nested
                as ``qiskit_ibm_runtime.EstimatorOptions`` (``{"resilience_level": 2,
                "twirling": {"num_randomizations": 16}}``); the server refuses unknown
                names. Entries then carry ``standard_errors`` and ``resilience``.

        Returns:
            The queued job.

        Raises:
            InvalidRequest: the server rejected a field; ``field`` names it,
                and ``line`` and ``column`` point into the circuit source. A chip
                refuses a method that cannot run a circuit, or a job whose estimated
                run time is over the limit (the message names circuit, method,
                estimate and limit).
            QuotaExceeded: a per-user limit is reached.
            TypeError, ValueError, OSError: a circuit or observable could not be encoded.
        """
        body = _job_body(
            circuits, device, shots=shots, seed=seed, kind=kind, observables=observables,
            parameter_values=parameter_values, name=name, priority=priority,
            optimization_level=optimization_level, mitigation=mitigation, method=method,
            options=options,
        )  # fmt: skip
        body["idempotency_key"] = idempotency_key or str(uuid.uuid4())
        info = self._transport.request("POST", "/api/v1/jobs", json=body)
        for warning in info.get("warnings") or []:  # how the server read a source
            warnings.warn(warning, UserWarning, stacklevel=2)
        return RemoteJob(self._transport, info["id"], info)

    def estimate(
        self,
        circuits: CircuitLike | Iterable[CircuitLike],
        device: str,
        *,
        shots: int = 1024,
        seed: int | None = None,
        kind: str = "sample",
        observables: ObservableLike | Iterable[ObservableLike] | None = None,
        parameter_values: Iterable[Iterable[float]] | None = None,
        name: str | None = None,
        priority: int = 0,
        optimization_level: int | None = None,
        mitigation: str | None = None,
        method: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """What ``submit`` with the same arguments would do, without queueing anything.

        The server checks the job as a submit would (so a refusal raises the same
        error), compiles each circuit for a chip, chooses its method and estimates
        the run time.

        Args:
            circuits, device, shots, seed, kind, observables, parameter_values, name,
                priority, optimization_level, mitigation, method, options: as for
                ``submit``.

        Returns:
            The dry-run document: ``{"dry_run": True, "device", "shots", "circuits",
            "estimated_seconds", "queue_position", "eta_seconds"}``. ``circuits[i]``
            holds ``index``, ``method``, ``estimated_seconds`` and
            ``estimated_memory_bytes``; on a chip also ``estimated_success_probability``,
            ``num_two_qubit_gates``, ``depth``, ``physical_qubits``,
            ``optimization_level``, ``measurement_bases`` and ``methods_rejected``
            (``{method: reason}``); on an ideal simulator ``num_qubits``.
            ``queue_position`` counts the jobs that would run first; ``eta_seconds``
            (None when the device has no recent run times to go by) is when the job
            would finish.

        Raises:
            InvalidRequest: the job would be refused; the message says why.
            QuotaExceeded: a per-user limit is reached.
            TypeError, ValueError, OSError: a circuit or observable could not be encoded.

        >>> plan = client.estimate(ghz_40, "lattice72", shots=1000)  # doctest: +SKIP
        >>> plan["circuits"][0]["method"], plan["estimated_seconds"]  # doctest: +SKIP
        ('stabilizer', 0.006)
        """
        body = _job_body(
            circuits, device, shots=shots, seed=seed, kind=kind, observables=observables,
            parameter_values=parameter_values, name=name, priority=priority,
            optimization_level=optimization_level, mitigation=mitigation, method=method,
            options=options,
        )  # fmt: skip
        body["dry_run"] = True
        return dict(self._transport.request("POST", "/api/v1/jobs", json=body))

    def job(self, job_id: str) -> RemoteJob:
        """The job with this id, its description fetched.

        Raises:
            NotFound: there is no such job, or it belongs to someone else.
        """
        job = RemoteJob(self._transport, job_id)
        job.info()
        return job

    def jobs(
        self,
        status: str | None = None,
        device: str | None = None,
        limit: int = 50,
        offset: int = 0,
        before: str | None = None,
    ) -> JobList:
        """The caller's jobs (every job, for an administrator), newest first.

        Args:
            status: only jobs in this status (queued, running, done, failed, cancelled).
            device: only jobs on this device.
            limit: at most this many jobs (1 to 500).
            offset: skip this many jobs first (small offsets only: at most 10,000).
            before: the ``next`` cursor of a previous page: the page after it.

        Returns:
            The jobs, each with ``last_info`` set; ``total`` counts all matches and
            ``next`` is the cursor of the following page (None on the last).

        >>> page = client.jobs(status="done")  # doctest: +SKIP
        >>> while page.next:  # doctest: +SKIP
        ...     page = client.jobs(status="done", before=page.next)
        """
        params: dict[str, Any] = {"status": status, "device": device, "limit": limit}
        if offset:
            params["offset"] = offset
        if before:
            params["before"] = before
        page = self._transport.get("/api/v1/jobs", params=params)
        jobs = (RemoteJob(self._transport, info["id"], info) for info in page["data"])
        return JobList(jobs, int(page["count"]), page.get("next"))


def _job_body(
    circuits: CircuitLike | Iterable[CircuitLike],
    device: str,
    *,
    shots: int,
    seed: int | None,
    kind: str,
    observables: ObservableLike | Iterable[ObservableLike] | None,
    parameter_values: Iterable[Iterable[float]] | None,
    name: str | None,
    priority: int,
    optimization_level: int | None,
    mitigation: str | None,
    method: str | None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``POST /api/v1/jobs`` body of a submit or an estimate; None options are left out
    so that the server's defaults apply."""
    body: dict[str, Any] = {
        "device": device,
        "circuits": encode_circuits(circuits),
        "format": "auto",
        "kind": kind,
        "shots": shots,
        "priority": priority,
    }
    optional = {
        "seed": seed,
        "name": name,
        "observables": encode_observables(observables),
        "parameter_values": encode_parameter_values(parameter_values),
        "optimization_level": optimization_level,
        "mitigation": mitigation,
        "method": method,
        "options": None if options is None else dict(options),
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body
