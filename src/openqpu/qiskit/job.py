"""``OpenQPUJob``: one openqpu job as a Qiskit ``JobV1``, its counts as a Qiskit ``Result``.

The server writes counts as one bitstring over all classical bits, bit 0 on the
right and no spaces. Qiskit's ``Result.get_counts`` puts a space between
classical registers when the experiment header has ``creg_sizes`` and
``memory_slots``, so each experiment carries that header and its counts as hex.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qiskit import QuantumCircuit
from qiskit.providers import JobStatus, JobV1
from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData

from openqpu.client import RemoteJob

if TYPE_CHECKING:
    from openqpu.qiskit.backend import OpenQPUBackend

#: openqpu's job statuses as Qiskit's.
STATUS: dict[str, JobStatus] = {
    "queued": JobStatus.QUEUED,
    "running": JobStatus.RUNNING,
    "done": JobStatus.DONE,
    "failed": JobStatus.ERROR,
    "cancelled": JobStatus.CANCELLED,
}


class OpenQPUJob(JobV1):
    """A job submitted by ``OpenQPUBackend.run``.

    Args:
        backend: the backend that ran it.
        remote: the SDK's handle on the server's job.
        circuits: the submitted circuits, for the result's experiment headers.
    """

    def __init__(
        self, backend: OpenQPUBackend, remote: RemoteJob, circuits: Sequence[QuantumCircuit]
    ) -> None:
        super().__init__(backend, remote.id)
        self._remote = remote
        self._headers = [experiment_header(circuit) for circuit in circuits]
        self._result: Result | None = None

    @property
    def remote(self) -> RemoteJob:
        """The SDK's handle on the job (its ``info()``, raw ``result()``)."""
        return self._remote

    def submit(self) -> None:
        """Not needed: ``OpenQPUBackend.run`` has already queued the job.

        Raises:
            RuntimeError: always.
        """
        raise RuntimeError(f"job {self.job_id()} was submitted by OpenQPUBackend.run")

    def status(self) -> JobStatus:
        """The job's status, fetched from the server."""
        return STATUS[self._remote.status()]

    def cancel(self) -> bool:
        """Cancel the job if it is queued or running.

        Returns:
            True when the server cancelled it, False when it had already finished.
        """
        from openqpu.client import Conflict

        try:
            self._remote.cancel()
        except Conflict:
            return False
        return True

    def result(self, timeout: float | None = None) -> Result:
        """Wait for the job and return its counts as a Qiskit ``Result``.

        Args:
            timeout: the most seconds to wait; None waits as long as it takes.

        Returns:
            One experiment per circuit; ``get_counts(i)`` gives Qiskit's keys.

        Raises:
            TimeoutError: the job had not finished in time.
            JobFailed: the job failed or was cancelled (``job_error`` says why).
        """
        if self._result is None:
            raw = self._remote.result(timeout)
            self._result = to_result(raw, self._headers, self.backend().name)
        return self._result


def experiment_header(circuit: QuantumCircuit) -> dict[str, Any]:
    """The header Qiskit's ``Result.get_counts`` reads for ``circuit``.

    ``creg_sizes`` is only given when the registers hold every classical bit once,
    in order; otherwise counts keys stay one unspaced bitstring.
    """
    header: dict[str, Any] = {
        "name": circuit.name,
        "memory_slots": circuit.num_clbits,
        "metadata": dict(circuit.metadata or {}),
    }
    in_registers = [bit for register in circuit.cregs for bit in register]
    if circuit.cregs and in_registers == list(circuit.clbits):
        header["creg_sizes"] = [[register.name, register.size] for register in circuit.cregs]
    return header


def to_result(raw: dict[str, Any], headers: Sequence[dict[str, Any]], backend_name: str) -> Result:
    """A server's sample-job result as a Qiskit ``Result``.

    Args:
        raw: ``RemoteJob.result()``: ``{"job_id", "results": [{"counts", "shots", ...}]}``.
        headers: one ``experiment_header`` per circuit.
        backend_name: the device's name.
    """
    experiments = []
    for entry, header in zip(raw["results"], headers, strict=True):
        counts = {hex(int(key, 2) if key else 0): n for key, n in entry["counts"].items()}
        # How a chip simulated the circuit travels with it: result.results[i].method, ...
        kept = ("compiled", "calibration_id", "method", "approximations", "method_figures")
        extra = {k: entry[k] for k in kept if k in entry}
        experiments.append(
            ExperimentResult(
                shots=int(entry["shots"]),
                success=True,
                data=ExperimentResultData(counts=counts),
                header=header,
                status="DONE",
                seed_simulator=raw.get("seed"),
                time_taken=entry.get("seconds"),
                **extra,
            )
        )
    return Result(
        backend_name=backend_name,
        backend_version="1",
        job_id=raw.get("job_id"),
        success=True,
        results=experiments,
        time_taken=raw.get("execution_seconds"),
    )
