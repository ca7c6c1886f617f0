"""What ``SamplerV2`` and ``EstimatorV2`` share: the job handle and parameter sets.

A primitive run queues one server job per PUB at once (so ``run`` does not
block); its ``result`` waits for them in order and turns each raw result into
the PUB's result with the function the primitive gave for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BasePrimitiveJob, PrimitiveResult
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.providers import JobStatus

from openqpu.client import Conflict, RemoteJob
from openqpu.qiskit.job import STATUS

#: Turns a PUB's raw server result (None when it needed no job) into its PubResult.
Finisher = Callable[[dict[str, Any] | None], Any]


class OpenQPUPrimitiveJob(BasePrimitiveJob[PrimitiveResult[Any], JobStatus]):
    """The server jobs of one primitive run, one per PUB.

    Args:
        remotes: per PUB, its server job, or None when it needed none.
        finishers: per PUB, the function that builds its result.
    """

    def __init__(self, remotes: Sequence[RemoteJob | None], finishers: Sequence[Finisher]) -> None:
        ids = [remote.id for remote in remotes if remote is not None]
        super().__init__(ids[0] if len(ids) == 1 else str(uuid.uuid4()), job_ids=ids)
        self._remotes = list(remotes)
        self._finishers = list(finishers)
        self._result: PrimitiveResult[Any] | None = None

    @property
    def remotes(self) -> list[RemoteJob]:
        """The server jobs, in PUB order (PUBs that needed none are left out)."""
        return [remote for remote in self._remotes if remote is not None]

    def result(self, timeout: float | None = None) -> PrimitiveResult[Any]:
        """Wait for every PUB's job and return their results in PUB order.

        Args:
            timeout: the most seconds to wait for each job; None waits as long as it takes.

        Raises:
            TimeoutError: a job had not finished in time.
            JobFailed: a job failed or was cancelled.
        """
        if self._result is None:
            pub_results = [
                finish(None if remote is None else remote.result(timeout))
                for remote, finish in zip(self._remotes, self._finishers, strict=True)
            ]
            self._result = PrimitiveResult(pub_results, metadata={"version": 2})
        return self._result

    def status(self) -> JobStatus:
        """The least advanced status among the PUBs' jobs (an error or cancel wins)."""
        statuses = {STATUS[remote.status()] for remote in self.remotes} or {JobStatus.DONE}
        for status in (JobStatus.ERROR, JobStatus.CANCELLED, JobStatus.QUEUED, JobStatus.RUNNING):
            if status in statuses:
                return status
        return JobStatus.DONE

    def done(self) -> bool:
        """True when every PUB's job finished successfully."""
        return self.status() is JobStatus.DONE

    def running(self) -> bool:
        """True while some job runs."""
        return self.status() is JobStatus.RUNNING

    def cancelled(self) -> bool:
        """True when a job was cancelled."""
        return self.status() is JobStatus.CANCELLED

    def in_final_state(self) -> bool:
        """True when no job will change any more."""
        return self.status() in (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED)

    def cancel(self) -> bool:
        """Cancel every job that has not finished.

        Returns:
            True when at least one job was cancelled.
        """
        cancelled = False
        for remote in self.remotes:
            try:
                remote.cancel()
                cancelled = True
            except Conflict:
                pass  # already finished
        return cancelled


def parameter_rows(
    circuit: QuantumCircuit, bindings: BindingsArray
) -> tuple[list[QuantumCircuit], list[list[float]] | None]:
    """One circuit per parameter set, and the values for ``Client.submit``.

    The sets are the PUB's bindings in C order (index ``np.ravel_multi_index``);
    values follow ``circuit.parameters``, the order the server binds them in.

    Returns:
        ``(circuits, parameter_values)``; ``parameter_values`` is None for a
        circuit without parameters.
    """
    if not circuit.parameters:
        return [circuit] * max(1, int(np.prod(bindings.shape))), None
    values = bindings.as_array(circuit.parameters).reshape(-1, circuit.num_parameters)
    return [circuit] * len(values), values.tolist()


METHOD_FIELDS = ("method", "approximations", "method_figures")


def method_metadata(raw: dict[str, Any] | None) -> dict[str, Any]:
    """How a chip simulated a PUB, for its result's metadata.

    Returns:
        ``{"simulation": [...]}`` with one ``{"method", "approximations",
        "method_figures"}`` dict per parameter set (C order), or ``{}`` when the
        server said nothing about methods (an ideal simulator, or no job).
    """
    if raw is None:
        return {}
    entries = [{k: entry[k] for k in METHOD_FIELDS if k in entry} for entry in raw["results"]]
    return {"simulation": entries} if any(entries) else {}
