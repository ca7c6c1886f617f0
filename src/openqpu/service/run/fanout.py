"""Running the units of one job (circuits, parameter sets, shot chunks): in this
process, or as Ray tasks on a cluster when the worker is given a Ray address.

The runners describe a job as a list of units and one ``fn(context, unit)``; an
executor returns the values in unit order, so the result document is assembled by
the same code whichever executor ran the units.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from openqpu.errors import OpenQPUError

log = logging.getLogger("openqpu.fanout")

C = TypeVar("C")
U = TypeVar("U")
R = TypeVar("R")

# Ray tasks reserve one CPU each: a task runs one simulation, whose kernels may use
# more threads; a cluster's --num-cpus says how many run at once per node.
RAY_TASK_CPUS = 1


@dataclass
class Gathered(Generic[R]):
    """The values of a job's units, in unit order, and where they ran."""

    values: list[R]
    backend: str = "local"
    # One id per unit: the Ray worker that ran it (empty when run in this process).
    workers: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, Any] | None:
        """What a result document records about a fan-out; None for in-process runs."""
        if self.backend == "local":
            return None
        return {
            "backend": self.backend,
            "tasks": len(self.values),
            "workers": sorted(set(self.workers)),
        }


class Fanout(Protocol):
    """Runs ``fn(context, unit)`` for every unit and returns the values in order."""

    # Shots per chunk that a noisy circuit is split into (None: never split).
    chunk_shots: int | None

    def map(self, fn: Callable[[C, U], R], context: C, units: Sequence[U]) -> Gathered[R]:
        """Run every unit; ``context`` is shared by all of them."""
        ...


class LocalFanout:
    """Runs the units one after another in this process."""

    def __init__(self, *, chunk_shots: int | None = None) -> None:
        self.chunk_shots = chunk_shots

    def map(self, fn: Callable[[C, U], R], context: C, units: Sequence[U]) -> Gathered[R]:
        """Run every unit here, in order."""
        return Gathered([fn(context, unit) for unit in units])


class UnitFailed(OpenQPUError):
    """A unit failed on a Ray worker because of the job (a bad circuit, say).

    Carries the original message: the exception itself may not survive the trip
    back (Ray cannot rebuild exceptions whose constructors take other arguments).
    """


class UnitCrashed(RuntimeError):
    """A unit failed on a Ray worker because of a bug; the message names the cause."""


def _ray_unit(
    fn: Callable[[Any, Any], Any], context: Any, unit: Any
) -> tuple[str, Any, tuple[bool, str] | None]:
    """The body of a Ray task: run one unit, say which Ray worker ran it, and return
    a failure as ``(the job's fault, message)`` instead of raising it."""
    import ray

    where = ray.get_runtime_context().get_worker_id() or f"pid-{os.getpid()}"
    try:
        return where, fn(context, unit), None
    except (OpenQPUError, ValueError) as exc:
        return where, None, (True, str(exc))
    except Exception as exc:
        return where, None, (False, f"{type(exc).__name__}: {exc}")


class RayFanout:
    """Submits each unit of a job with two or more units as a Ray task.

    The cluster must run the same openqpu as the worker (tasks import the runner
    functions by name). A job of one unit runs in this process: a task would only
    add a round trip.
    """

    def __init__(self, address: str, *, chunk_shots: int | None = None) -> None:
        import ray

        self.chunk_shots = chunk_shots
        self.address = address
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        self._remote = ray.remote(num_cpus=RAY_TASK_CPUS, max_retries=1)(_ray_unit)

    def map(self, fn: Callable[[C, U], R], context: C, units: Sequence[U]) -> Gathered[R]:
        """Run the units as Ray tasks (two or more) and gather their values in order."""
        import ray

        if len(units) < 2:
            return LocalFanout().map(fn, context, units)
        shared = ray.put(context)  # sent to the object store once, not once per unit
        done = ray.get([self._remote.remote(fn, shared, unit) for unit in units])
        for _, _, failure in done:
            if failure is not None:
                own_fault, message = failure
                raise UnitFailed(message) if own_fault else UnitCrashed(message)
        return Gathered([value for _, value, _ in done], "ray", [where for where, _, _ in done])


def fanout_for(ray_address: str, *, chunk_shots: int | None = None) -> Fanout:
    """The executor a worker runs its jobs with: Ray when an address is given.

    A worker that cannot reach the cluster logs why and runs its jobs itself, so a
    Ray outage slows the queue down instead of stopping it.
    """
    if not ray_address:
        return LocalFanout()
    try:
        fanout = RayFanout(ray_address, chunk_shots=chunk_shots)
    except Exception:
        log.exception("cannot use the Ray cluster at %s; running jobs in-process", ray_address)
        return LocalFanout()
    log.info("fanning jobs out to the Ray cluster at %s", ray_address)
    return fanout


def chunk_seed(seed: int, chunk: int) -> int:
    """The seed of shot chunk ``chunk`` of a circuit that runs with ``seed``.

    Chunk 0 keeps the circuit's seed; the others draw independent streams from
    ``numpy.random.SeedSequence`` of the seed and the chunk number.

    >>> chunk_seed(7, 0)
    7
    """
    if chunk == 0:
        return seed
    state = np.random.SeedSequence([seed, chunk]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31 | int(state[1]) >> 1) % (1 << 63)


def shot_chunks(shots: int, chunk_shots: int | None) -> list[int]:
    """How many shots each chunk of a circuit's ``shots`` runs.

    >>> shot_chunks(25_000, 10_000)
    [10000, 10000, 5000]
    >>> shot_chunks(25_000, None)
    [25000]
    """
    if not chunk_shots or shots <= chunk_shots:
        return [shots]
    full, rest = divmod(shots, chunk_shots)
    return [chunk_shots] * full + ([rest] if rest else [])
