"""Worker processes: claim jobs, run them on the engine, store results.

A worker renews its job's lease from a heartbeat thread. If a job runs past
``max_run_seconds`` the heartbeat fails the job with a message naming the limit
and ends the worker process (the only way to stop a running simulation); the
server's supervisor starts a new worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from sqlalchemy.exc import SQLAlchemyError

from openqpu.device import default_catalog
from openqpu.errors import OpenQPUError
from openqpu.service import heap
from openqpu.service.metrics import process_metrics
from openqpu.service.run.chip import (
    ChipRun,
    method_settings,
    run_on_chip,
    transpile_cache_folder,
)
from openqpu.service.run.fanout import Fanout, fanout_for
from openqpu.service.run.runner import run_payload
from openqpu.service.settings import Settings
from openqpu.service.store import aggregates, queue
from openqpu.service.store.calibrations import Calibrations, calibrations_for
from openqpu.service.store.database import Database
from openqpu.service.store.wakeup import Wakeup

log = logging.getLogger("openqpu.worker")

REAP_EVERY_SECONDS = 2.0
IDLE_FIRST_SECONDS = 0.002
# The fallback poll of a worker that LISTENs for new jobs (PostgreSQL).
LISTENING_POLL_SECONDS = 1.0
EXIT_RUN_TIME_LIMIT = 3


def new_worker_id(name: str = "") -> str:
    """A worker id naming the host (or ``name``) and process."""
    return f"{(name or socket.gethostname())[:24]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Heartbeat(threading.Thread):
    """Renews the leases of a worker's claimed jobs and enforces the run-time limit.

    ``outcomes`` is the list the worker appends finished jobs to: when the limit
    strikes, they are stored together with the failure before the process ends.
    """

    def __init__(
        self,
        db: Database,
        job_ids: list[str],
        worker_id: str,
        settings: Settings,
        outcomes: list[queue.Outcome],
    ) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{job_ids[0][:8]}")
        self.db, self.job_ids, self.worker_id, self.settings = db, job_ids, worker_id, settings
        self.outcomes = outcomes
        self.done = threading.Event()
        self.current = job_ids[0]
        self.started = time.monotonic()

    def running(self, job_id: str) -> None:
        """Job ``job_id`` starts now: its run time counts from here."""
        self.current, self.started = job_id, time.monotonic()

    def run(self) -> None:
        """Renew every third of a lease until the jobs end."""
        interval = max(0.05, self.settings.lease_seconds / 3)
        while not self.done.wait(interval):
            finished = {outcome.job_id for outcome in self.outcomes}
            if (
                time.monotonic() - self.started > self.settings.max_run_seconds
                and self.current not in finished
            ):
                message = (
                    f"run time limit exceeded: the job ran longer than "
                    f"{self.settings.max_run_seconds:g} s (max_run_seconds)"
                )
                failure = queue.Outcome(self.current, error=message)
                unstarted = self.job_ids[self.job_ids.index(self.current) + 1 :]
                log.error("job %s: %s; restarting the worker", self.current, message)
                try:
                    queue.stop_batch(self.db, self.worker_id, [*self.outcomes, failure], unstarted)
                finally:
                    # Even when the database cannot take the failure now: the lease
                    # runs out and the reaper counts the attempt.
                    os._exit(EXIT_RUN_TIME_LIMIT)
            try:
                if not queue.renew(
                    self.db, self.job_ids, self.worker_id, self.settings.lease_seconds
                ):
                    return  # cancelled or reaped: the results will be discarded
            except Exception:  # a database hiccup: try again next beat
                log.exception("lease renewal of %s failed", self.job_ids)


def run_claimed(
    db: Database,
    settings: Settings,
    worker_id: str,
    claimed: list[queue.ClaimedJob],
    calibrations: Calibrations,
    fanout: Fanout | None = None,
) -> list[queue.Outcome]:
    """Run claimed jobs one after another under one heartbeat; return their outcomes.

    The units of each job (circuits, shot chunks) run on ``fanout`` (default: here).
    """
    outcomes: list[queue.Outcome] = []
    heartbeat = Heartbeat(db, [job.id for job in claimed], worker_id, settings, outcomes)
    heartbeat.start()
    try:
        for job in claimed:
            heartbeat.running(job.id)
            outcomes.append(_run(job, calibrations, settings, fanout))
    finally:
        heartbeat.done.set()
    return outcomes


def _run(
    job: queue.ClaimedJob,
    calibrations: Calibrations,
    settings: Settings,
    fanout: Fanout | None,
) -> queue.Outcome:
    started = time.perf_counter()
    device = job.payload.get("device", "statevector")
    try:
        if device in calibrations.specs:
            # The snapshot in force when the job runs; the result records its id.
            chip = ChipRun(
                calibrations.specs[device],
                calibrations.in_force(device),
                method_settings(settings),
                transpile_cache_folder(settings),
            )
            result = run_on_chip(job.payload, job.seed, chip, fanout)
        else:
            result = run_payload(job.payload, job.seed, fanout)
    except (OpenQPUError, ValueError) as exc:
        return queue.Outcome(job.id, error=str(exc))
    except Exception as exc:  # a bug in the engine must not take the queue down
        log.exception("job %s failed", job.id)
        return queue.Outcome(job.id, error=f"internal error: {type(exc).__name__}: {exc}")
    return queue.Outcome(job.id, result, run_seconds=time.perf_counter() - started)


def warm_up() -> None:
    """Load the engine's kernels once so that the first job does not pay for it: the
    ideal statevector path and each noisy method on a tiny circuit with every kind of
    channel (numba's on-disk cache makes this quick after the first start)."""
    from qiskit import QuantumCircuit

    from openqpu import sim
    from openqpu.sim.methods.base import METHODS
    from openqpu.sim.methods.choose import run_method
    from openqpu.sim.noise import Depolarizing, NoiseModel, Placed, ReadoutError, ThermalRelaxation

    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    sim.sample(circuit, 10, seed=0)
    noisy = QuantumCircuit(2, 2)
    noisy.sx(0)
    noisy.cz(0, 1)
    noisy.measure([0, 1], [0, 1])
    noise = NoiseModel()
    for name, qubits in (("sx", (0,)), ("cz", (0, 1))):
        noise.gate_errors[(name, qubits)] = (
            Placed(Depolarizing(0.01, len(qubits)), qubits),
            Placed(ThermalRelaxation(20.0, 10.0, 30.0), (0,)),
            Placed(ThermalRelaxation(10.0, 15.0, 30.0), (0,)),
        )
    for q in (0, 1):
        noise.readout[q] = ReadoutError(0.02, 0.03)
    for method in METHODS:
        run_method(method, noisy, noise, 10, seed=0)


def run_worker(
    settings: Settings, stop: threading.Event | None = None, *, parent_pid: int | None = None
) -> None:
    """Work until ``stop`` is set (forever when None) or the parent process is gone.

    Each turn stores the outcomes of the last batch and claims the next one in a single
    transaction. An idle worker looks for work with a read (no write lock), first after
    ``IDLE_FIRST_SECONDS`` and then twice as long each time, up to ``poll_seconds``.
    """
    db = Database(settings.database_url)
    calibrations = calibrations_for(db, default_catalog(settings.device_dir or None), settings)
    worker_id = new_worker_id(settings.worker_name)
    fanout = fanout_for(settings.ray_address, chunk_shots=settings.ray_chunk_shots)
    wakeup = Wakeup(settings.database_url)
    # Notifications wake a listening worker at once, so its fallback poll can be slow.
    longest_idle = max(settings.poll_seconds, LISTENING_POLL_SECONDS if wakeup.listening else 0)
    warm_up()
    heap.settle()
    log.info("worker %s started on %s", worker_id, db.dialect)
    idle = IDLE_FIRST_SECONDS
    last_reap = 0.0
    stop = stop or threading.Event()
    pending: list[queue.Outcome] = []  # finished, not yet stored
    limit = max(1, settings.claim_batch)
    counted = process_metrics()
    while not stop.is_set():
        if parent_pid is not None and os.getppid() != parent_pid:
            log.info("worker %s: the server process is gone; stopping", worker_id)
            break
        try:
            if time.monotonic() - last_reap > REAP_EVERY_SECONDS:
                queue.reap_expired(db, settings.max_attempts)
                # The statistics' pending deltas, folded while they are few.
                aggregates.rollup_all(db)
                last_reap = time.monotonic()
            _, claimed = queue.finish_and_claim(
                db,
                worker_id,
                pending,
                settings.lease_seconds,
                limit=limit,
                paused=calibrations.in_maintenance(),
            )
            pending = []
            if claimed:
                busy = time.perf_counter()
                pending = run_claimed(db, settings, worker_id, claimed, calibrations, fanout)
                counted.worker_busy.inc(time.perf_counter() - busy)
                idle = IDLE_FIRST_SECONDS
                continue
        except Exception as exc:  # database restarting, for example: back off and retry
            if isinstance(exc, SQLAlchemyError):
                counted.database_errors.labels("worker").inc()
            log.exception("worker %s: error in the work loop", worker_id)
        wakeup.wait(idle, stop)
        idle = min(longest_idle, idle * 2)
    if pending:
        try:
            queue.finish_many(db, worker_id, pending)
        except Exception:  # their leases run out and the jobs run again elsewhere
            log.exception("worker %s: storing the last results failed", worker_id)
    wakeup.close()
    db.dispose()
