"""A job on a server, seen from the client: its status, waiting for its result, cancelling it."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO
from urllib.parse import quote

from openqpu.client.errors import JobFailed
from openqpu.client.transport import Transport

FINAL_STATUSES = ("done", "failed", "cancelled")
# The server holds a status request until the job finishes or this many seconds pass.
LONG_POLL_S = 10.0
PROGRESS_POLL_S = 1.0  # shorter holds while a progress line is shown
# Against a server that answers at once (no long poll), polling backs off like this.
POLL_START_S = 0.05
POLL_FACTOR = 1.5
POLL_MAX_S = 2.0


class RemoteJob:
    """A handle on one job; made by ``Client.submit``, ``Client.job`` and ``Client.jobs``.

    Attributes:
        last_info: the job's description as last seen from the server (see ``info``).
    """

    def __init__(self, transport: Transport, job_id: str, info: dict[str, Any] | None = None):
        self._transport = transport
        self._id = job_id
        self._path = f"/api/v1/jobs/{quote(job_id, safe='')}"
        self._result: dict[str, Any] | None = None
        self.last_info: dict[str, Any] = info or {"id": job_id}

    @property
    def id(self) -> str:
        """The job's id (a UUID)."""
        return self._id

    def __repr__(self) -> str:
        status = self.last_info.get("status", "?")
        return f"<RemoteJob {self._id} {status}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemoteJob) and (other._transport.url, other.id) == (
            self._transport.url,
            self.id,
        )

    def __hash__(self) -> int:
        return hash((self._transport.url, self._id))

    def info(self) -> dict[str, Any]:
        """Fetch the job's full description.

        Returns:
            The server's ``JobPublic``: ``id``, ``status`` (queued, running, done,
            failed or cancelled), ``queue_position`` (while queued), ``error``,
            ``events`` (each status change with its time), shots, times and more.
        """
        return self._wait_info(0.0)

    def _wait_info(self, seconds: float) -> dict[str, Any]:
        """The job's description once it is finished or after ``seconds`` (long poll)."""
        params = {"wait": f"{seconds:.3f}"} if seconds > 0 else None
        self.last_info = self._transport.get(self._path, params=params)
        return self.last_info

    def status(self) -> str:
        """Fetch the job's status: queued, running, done, failed or cancelled."""
        return str(self.info()["status"])

    def cancel(self) -> None:
        """Cancel the job if it is queued or running.

        Raises:
            Conflict: the job had already finished.
        """
        # Not repeated after a timeout: a second cancel of a cancelled job is a conflict.
        self.last_info = self._transport.request("POST", f"{self._path}/cancel", repeatable=False)

    def result(self, timeout: float | None = None, *, progress: bool = False) -> dict[str, Any]:
        """Wait for the job to finish and return its result.

        Each status request is a long poll: the server answers when the job finishes
        or after up to 10 s (1 s with ``progress``). A server that answers at once is
        polled first every 0.05 s and then 1.5 times less often, up to every 2 s.

        Args:
            timeout: the most seconds to wait; None waits as long as it takes.
            progress: print the status and queue position, on one line, to stderr.

        Returns:
            ``{"kind", "results", "seed", "execution_seconds", "job_id"}``, where
            ``results`` holds one entry per circuit: ``{"counts", "shots",
            "num_qubits", "seconds"}`` for sample jobs and
            ``{"expectation_values", "num_qubits", "seconds"}`` for estimate jobs.
            A chip's entries also say how they were simulated: ``method``,
            ``approximations`` (plain sentences; empty when exact up to sampling)
            and ``method_figures`` (e.g. ``max_bond_dimension``,
            ``truncation_fidelity``, ``twirled_channels``).

        Raises:
            TimeoutError: the job had not finished after ``timeout`` seconds.
            JobFailed: the job failed or was cancelled.
        """
        if self._result is not None:
            return self._result
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = POLL_START_S
        line = _ProgressLine(sys.stderr, self._id) if progress else None
        hold_max = min(PROGRESS_POLL_S if progress else LONG_POLL_S, self._transport.timeout / 2)
        try:
            while True:
                hold = hold_max if deadline is None else min(hold_max, deadline - time.monotonic())
                asked = time.monotonic()
                info = self._wait_info(max(0.0, hold))
                held = time.monotonic() - asked
                status = info["status"]
                if line is not None:
                    line.show(info)
                if status == "done":
                    self._result = self._transport.get(f"{self._path}/result")
                    return self._result
                if status in FINAL_STATUSES:
                    raise JobFailed(self._id, status, info.get("error"))
                if deadline is not None and deadline - time.monotonic() <= 0:
                    raise TimeoutError(f"job {self._id} is still {status} after {timeout:g} s")
                if held < hold / 2:  # the server did not hold the request: back off here
                    wait = delay
                    if deadline is not None:
                        wait = min(delay, deadline - time.monotonic())
                    time.sleep(max(0.0, wait))
                    delay = min(delay * POLL_FACTOR, POLL_MAX_S)
        finally:
            if line is not None:
                line.close()

    def counts(self, timeout: float | None = None) -> list[dict[str, int]]:
        """Wait for a sample job and return its counts, one dict per circuit.

        Raises:
            ValueError: the job is an estimate job.
            TimeoutError, JobFailed: as ``result``.
        """
        result = self.result(timeout)
        if result["kind"] != "sample":
            raise ValueError(f"job {self._id} is a {result['kind']} job; it has no counts")
        return [entry["counts"] for entry in result["results"]]

    def expectation_values(self, timeout: float | None = None) -> list[list[float]]:
        """Wait for an estimate job and return, per circuit, one value per observable.

        Raises:
            ValueError: the job is a sample job.
            TimeoutError, JobFailed: as ``result``.
        """
        result = self.result(timeout)
        if result["kind"] != "estimate":
            raise ValueError(
                f"job {self._id} is a {result['kind']} job; it has no expectation values"
            )
        return [entry["expectation_values"] for entry in result["results"]]


class _ProgressLine:
    """One status line, redrawn in place on a terminal, one line per change otherwise."""

    def __init__(self, stream: TextIO, job_id: str) -> None:
        self.stream = stream
        self.job_id = job_id
        self.tty = stream.isatty()
        self.last = ""

    def show(self, info: dict[str, Any]) -> None:
        text = f"job {self.job_id}: {info['status']}"
        if info.get("queue_position") is not None:
            ahead = int(info["queue_position"])
            text += f", {ahead} job{'' if ahead == 1 else 's'} ahead in the queue"
        if text == self.last:
            return
        if self.tty:
            self.stream.write("\r" + text.ljust(len(self.last)))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.last = text

    def close(self) -> None:
        if self.tty and self.last:
            self.stream.write("\n")
            self.stream.flush()
