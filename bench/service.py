"""Load test of the openqpu service: end-to-end job throughput and job-status read rate.

For each database (a fresh SQLite file, a fresh PostgreSQL database) the script starts
``openqpu serve`` in a subprocess, creates benchmark users, and drives it from this process
with ``--clients`` concurrent client loops over loopback (``_http.LeanClient``: one
keep-alive connection each, far cheaper in CPU than httpx, which matters on two cores):

1. jobs: submit a 5-qubit GHZ circuit (1,000 shots), wait for it with a long poll
   (``GET /api/v1/jobs/{id}?wait=10``: the server answers when the job is finished), fetch
   the result; repeat for ``--duration`` seconds (or ``--jobs`` jobs in all): the most
   jobs/s the server does, where latency is mostly queueing (every client flat out);
2. paced: the same jobs, started on a schedule that offers ``--rate`` jobs/s (170, the
   target) across the clients: the latency users see at that rate;
3. reads: ``GET /api/v1/jobs/{id}`` of the client's own jobs for ``--duration`` seconds.

Jobs/s counts results received over the phase's wall time, which includes finishing the jobs
in flight at the deadline. Before the load it times one client alone (sequential jobs and
reads); during each phase it records the CPU use of the server's API process, its workers,
PostgreSQL, this load generator and everything else on the machine, and the HTTP requests
made, so that the table shows where the time goes. On a small machine the load generator
competes with the server for the same cores: read its CPU rows before trusting a FAIL or PASS.

Run: ``python bench/service.py [--db sqlite,postgres] [--clients 32] [--duration 20]
[--workers 2] [--json FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _http import LeanClient, TransportError
from _service_client import (
    JOB_BODY,
    CpuSample,
    Server,
    add_users,
    cpu_percent,
    cpu_sample,
    fresh_database,
    start_server,
)
from openqpu.service import heap

# Quotas far above what a run can use, so that they never turn a submit away.
SERVER_ENV = {
    "OPENQPU_MAX_QUEUED_JOBS_PER_USER": "1000000",
    "OPENQPU_MAX_SHOTS_PER_DAY": str(10**15),
}
LONG_POLL_S = 10.0  # each status request waits on the server for up to this long
JOB_TIMEOUT_S = 60.0  # a job not done by then counts as an error
ERROR_PAUSE_S = 0.05  # after a failed request, so that a dead server does not spin the loop
REQUEST_TIMEOUT_S = 30.0
PROBE_COUNT = 20

TARGET_JOBS_PER_S = 170.0
TARGET_SUBMIT_P99_MS = 50.0
TARGET_READS_PER_S = 700.0


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100, nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(max(1, math.ceil(q / 100 * len(ordered))), len(ordered))
    return ordered[rank - 1]


@dataclass
class Tally:
    """What one phase measured: latencies in seconds, completions, HTTP requests, errors."""

    latencies_s: list[float] = field(default_factory=list)
    turnaround_s: list[float] = field(default_factory=list)
    completed: int = 0
    late_starts: int = 0
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    async def pause_after_error(self, kind: str) -> None:
        """Count an error of ``kind`` and wait a little before the next request."""
        self.errors[kind] += 1
        await asyncio.sleep(ERROR_PAUSE_S)


@dataclass
class JobBudget:
    """Stops the job loops at a deadline or after a total number of jobs, whichever is first."""

    deadline: float
    remaining: int | None

    def take(self) -> bool:
        """True when another job may start."""
        if time.monotonic() >= self.deadline:
            return False
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
        return True


def new_client(url: str, key: str) -> LeanClient:
    """An async client with one keep-alive connection, authenticated with ``key``."""
    return LeanClient(url, {"Authorization": f"Bearer {key}"}, REQUEST_TIMEOUT_S)


async def run_job(client: LeanClient, tally: Tally) -> str | None:
    """Submit one job, wait for it with long polls (``?wait=``) and fetch its result.

    Records the submit latency in ``tally.latencies_s`` and the submit-to-result time in
    ``tally.turnaround_s``. Returns the job id when the result arrived, else None.
    """
    started = time.perf_counter()
    tally.requests += 1
    try:
        response = await client.post("/api/v1/jobs", json=JOB_BODY)
    except TransportError as exc:
        await tally.pause_after_error(f"submit {type(exc).__name__}")
        return None
    if response.status_code != 201:
        await tally.pause_after_error(f"submit HTTP {response.status_code}")
        return None
    tally.latencies_s.append(time.perf_counter() - started)
    job_id = response.json()["id"]
    give_up = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < give_up:
        tally.requests += 1
        try:
            response = await client.get(f"/api/v1/jobs/{job_id}", {"wait": LONG_POLL_S})
        except TransportError as exc:
            await tally.pause_after_error(f"poll {type(exc).__name__}")
            continue
        status = response.json().get("status") if response.status_code == 200 else None
        if status == "done":
            break
        if response.status_code != 200 or status in ("failed", "cancelled"):
            await tally.pause_after_error(f"poll HTTP {response.status_code} {status}")
            return None
    else:
        await tally.pause_after_error(f"job not done in {JOB_TIMEOUT_S:g} s")
        return None
    tally.requests += 1
    try:
        response = await client.get(f"/api/v1/jobs/{job_id}/result")
    except TransportError as exc:
        await tally.pause_after_error(f"result {type(exc).__name__}")
        return None
    if response.status_code != 200 or "results" not in response.json():
        await tally.pause_after_error(f"result HTTP {response.status_code}")
        return None
    tally.turnaround_s.append(time.perf_counter() - started)
    tally.completed += 1
    return job_id


async def job_loop(client: LeanClient, budget: JobBudget, tally: Tally) -> list[str]:
    """Run jobs one after another while the budget allows; return the finished job ids."""
    finished = []
    while budget.take():
        job_id = await run_job(client, tally)
        if job_id is not None:
            finished.append(job_id)
    return finished


async def paced_loop(
    client: LeanClient, index: int, count: int, rate: float, deadline: float, tally: Tally
) -> None:
    """Start jobs on a fixed schedule: ``count`` such loops together offer ``rate`` jobs/s.

    This loop's jobs start every ``count / rate`` seconds, offset by ``index / rate``; a job
    that cannot start on time (the previous one is not back yet) starts late and counts in
    ``tally.late_starts``: its predecessor took longer than ``count / rate`` seconds.
    """
    interval = count / rate
    start = time.monotonic() + index / rate
    while start < deadline:
        delay = start - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -interval / 2:
            tally.late_starts += 1
        await run_job(client, tally)
        start += interval


async def read_loop(client: LeanClient, job_ids: list[str], deadline: float, tally: Tally) -> None:
    """``GET /api/v1/jobs/{id}`` of random ids from ``job_ids`` until the deadline."""
    chooser = random.Random(len(job_ids))
    while time.monotonic() < deadline:
        started = time.perf_counter()
        tally.requests += 1
        try:
            response = await client.get(f"/api/v1/jobs/{chooser.choice(job_ids)}")
        except TransportError as exc:
            await tally.pause_after_error(type(exc).__name__)
            continue
        if response.status_code != 200:
            await tally.pause_after_error(f"HTTP {response.status_code}")
            continue
        tally.latencies_s.append(time.perf_counter() - started)
        tally.completed += 1


async def timed_phase(
    server: Server, duration_s: float, body: Callable[[], Awaitable[Any]]
) -> tuple[Any, float, dict[str, float]]:
    """Run ``body()`` with a hard time limit; return its value, wall seconds and CPU use."""
    before: CpuSample = cpu_sample(server)
    started = time.perf_counter()
    value = await asyncio.wait_for(body(), timeout=duration_s + JOB_TIMEOUT_S + 30)
    wall = time.perf_counter() - started
    return value, wall, cpu_percent(before, cpu_sample(server))


def summary(tally: Tally, wall_s: float, cpu: dict[str, float]) -> dict[str, Any]:
    """Rates, percentiles in milliseconds, errors and CPU use of a phase.

    ``latency_*`` is the submit latency in the job phase and the request latency in the read
    phase; ``turnaround_*`` (job phase only) runs from the submit to the result's arrival.
    """
    ms = [1000 * v for v in tally.latencies_s]
    turnaround = [1000 * v for v in tally.turnaround_s]

    def cpu_ms_per_request(group: str) -> float:
        used_s = cpu.get(group, float("nan")) / 100 * wall_s
        return round(1000 * used_s / tally.requests, 2) if tally.requests else float("nan")

    return {
        "completed": tally.completed,
        "wall_s": round(wall_s, 3),
        "per_s": round(tally.completed / wall_s, 1) if wall_s else 0.0,
        "latency_p50_ms": round(percentile(ms, 50), 2),
        "latency_p99_ms": round(percentile(ms, 99), 2),
        "turnaround_p50_ms": round(percentile(turnaround, 50), 2),
        "turnaround_p99_ms": round(percentile(turnaround, 99), 2),
        "errors": sum(tally.errors.values()),
        "late_starts": tally.late_starts,
        "errors_by_kind": dict(tally.errors),
        "requests": tally.requests,
        "requests_per_s": round(tally.requests / wall_s, 1) if wall_s else 0.0,
        "server_api_cpu_ms_per_request": cpu_ms_per_request("server api"),
        "load_generator_cpu_ms_per_request": cpu_ms_per_request("load generator"),
        "cpu_percent_of_one_core": {k: round(v, 1) for k, v in cpu.items()},
    }


async def probe(server: Server, key: str) -> dict[str, Any]:
    """One client alone: a warm-up job, then ``PROBE_COUNT`` sequential jobs and reads."""
    async with new_client(server.url, key) as client:
        warm = Tally()
        job_id = await run_job(client, warm)  # the API process's first compile is slow
        jobs, reads = Tally(), Tally()
        for _ in range(PROBE_COUNT):
            await run_job(client, jobs)
        if job_id is not None:
            await read_loop(client, [job_id], time.monotonic() + 1.0, reads)
    return {
        "first_job_ms": round(1000 * warm.turnaround_s[0], 1) if warm.turnaround_s else None,
        "submit_p50_ms": round(1000 * percentile(jobs.latencies_s, 50), 2),
        "turnaround_p50_ms": round(1000 * percentile(jobs.turnaround_s, 50), 2),
        "read_p50_ms": round(1000 * percentile(reads.latencies_s, 50), 2),
        "errors": sum(jobs.errors.values()) + sum(reads.errors.values()),
    }


async def load(server: Server, keys: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The probe, then the job phase and the read phase with ``args.clients`` clients."""
    result: dict[str, Any] = {"single_client": await probe(server, keys[0])}
    clients = [new_client(server.url, keys[i % len(keys)]) for i in range(args.clients)]
    try:
        jobs = Tally()
        budget = JobBudget(time.monotonic() + args.duration, args.jobs)

        async def job_phase() -> list[list[str]]:
            return await asyncio.gather(*(job_loop(c, budget, jobs) for c in clients))

        finished, wall, cpu = await timed_phase(server, args.duration, job_phase)
        result["jobs"] = summary(jobs, wall, cpu)

        paced = Tally()
        paced_deadline = time.monotonic() + args.duration

        async def paced_phase() -> None:
            await asyncio.gather(
                *(
                    paced_loop(c, i, len(clients), args.rate, paced_deadline, paced)
                    for i, c in enumerate(clients)
                )
            )

        _, wall, cpu = await timed_phase(server, args.duration, paced_phase)
        result["paced"] = summary(paced, wall, cpu)
        result["paced"]["offered_per_s"] = args.rate

        reads = Tally()
        # Every reader needs a job of its own user; a client that finished none runs one now.
        lacking = [i for i, ids in enumerate(finished) if not ids]
        extra = await asyncio.gather(*(run_job(clients[i], Tally()) for i in lacking))
        for index, job_id in zip(lacking, extra, strict=True):
            finished[index] = [job_id] if job_id else []
        readers = [(c, ids) for c, ids in zip(clients, finished, strict=True) if ids]
        deadline = time.monotonic() + args.duration

        async def read_phase() -> None:
            await asyncio.gather(*(read_loop(c, ids, deadline, reads) for c, ids in readers))

        _, wall, cpu = await timed_phase(server, args.duration, read_phase)
        result["reads"] = summary(reads, wall, cpu)
        result["reads"]["clients"] = len(readers)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return result


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when installed (it comes with ``uvicorn[standard]``): less client CPU."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Fresh database, server, users, load; the server is stopped and the database dropped."""
    with tempfile.TemporaryDirectory(prefix="openqpu-bench-") as folder:
        log = Path(folder) / "server.log"
        with fresh_database(kind, Path(folder)) as url:
            server = start_server(url, log, workers=args.workers, env=SERVER_ENV)
            try:
                keys = add_users(url, args.users or args.clients)
                print(f"{kind}: server {server.url}, {len(keys)} users, load running ...")
                heap.settle()  # the load generator's own full collections would count as latency
                with asyncio.Runner(loop_factory=loop_factory()) as runner:
                    result = runner.run(load(server, keys, args))
            finally:
                server.stop()
                if args.keep_log:
                    Path(args.keep_log).with_suffix(f".{kind}.log").write_text(log.read_text())
    return result


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def rows_for(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(metric, target, value)`` rows of one database's results."""
    jobs, reads, alone = result["jobs"], result["reads"], result["single_client"]
    paced = result["paced"]
    rate = paced["offered_per_s"]
    rows = [
        ("jobs/s end to end (all clients flat out)", f">= {TARGET_JOBS_PER_S:g}",
         f"{jobs['per_s']:.1f}  {verdict(jobs['per_s'] >= TARGET_JOBS_PER_S)}"),
        ("  submit p50 ms", "", f"{jobs['latency_p50_ms']:.1f}"),
        ("  submit p99 ms (queueing at saturation)", "", f"{jobs['latency_p99_ms']:.1f}"),
        ("  submit->result p50 ms", "", f"{jobs['turnaround_p50_ms']:.1f}"),
        ("  submit->result p99 ms", "", f"{jobs['turnaround_p99_ms']:.1f}"),
        ("  jobs completed", "", str(jobs["completed"])),
        ("  job errors", "0", f"{jobs['errors']}  {verdict(jobs['errors'] == 0)}"),
        (f"paced: {rate:g} jobs/s offered, jobs/s done", "", f"{paced['per_s']:.1f}"),
        ("  submit p50 ms", "", f"{paced['latency_p50_ms']:.1f}"),
        ("  submit p99 ms", f"< {TARGET_SUBMIT_P99_MS:g}",
         f"{paced['latency_p99_ms']:.1f}  "
         f"{verdict(paced['latency_p99_ms'] < TARGET_SUBMIT_P99_MS)}"),
        ("  submit->result p50 ms", "", f"{paced['turnaround_p50_ms']:.1f}"),
        ("  submit->result p99 ms", "", f"{paced['turnaround_p99_ms']:.1f}"),
        ("  errors", "0", f"{paced['errors']}  {verdict(paced['errors'] == 0)}"),
        ("  late starts (a job took > clients/rate)", "", str(paced["late_starts"])),
        ("reads/s GET /jobs/{id}", f">= {TARGET_READS_PER_S:g}",
         f"{reads['per_s']:.1f}  {verdict(reads['per_s'] >= TARGET_READS_PER_S)}"),
        ("read p50 ms", "", f"{reads['latency_p50_ms']:.1f}"),
        ("read p99 ms", "", f"{reads['latency_p99_ms']:.1f}"),
        ("read errors", "0", f"{reads['errors']}  {verdict(reads['errors'] == 0)}"),
        ("1 client: submit p50 ms", "", f"{alone['submit_p50_ms']:.1f}"),
        ("1 client: submit->result p50 ms", "", f"{alone['turnaround_p50_ms']:.1f}"),
        ("1 client: read p50 ms", "", f"{alone['read_p50_ms']:.1f}"),
    ]  # fmt: skip
    rows += [
        ("HTTP requests per job", "", f"{jobs['requests'] / max(jobs['completed'], 1):.1f}"),
        ("HTTP requests/s (jobs phase)", "", f"{jobs['requests_per_s']:.0f}"),
    ]
    for phase in ("jobs", "paced", "reads"):
        for group in ("server_api", "load_generator"):
            value = result[phase][f"{group}_cpu_ms_per_request"]
            name = f"CPU ms/request ({phase}): {group.replace('_', ' ')}"
            rows.append((name, "", f"{value:.1f}"))
    for phase in ("jobs", "paced", "reads"):
        for group, percent in result[phase]["cpu_percent_of_one_core"].items():
            rows.append((f"CPU % ({phase} phase): {group}", "", f"{percent:.0f}"))
    return rows


def report(results: dict[str, dict[str, Any]]) -> str:
    """The results of every database side by side, with the targets marked PASS or FAIL."""
    columns = {kind: rows_for(result) for kind, result in results.items()}
    first = next(iter(columns.values()))
    table = [["metric", "target", *columns]]
    for index, (metric, target, _) in enumerate(first):
        table.append([metric, target, *(rows[index][2] for rows in columns.values())])
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--users", type=int, default=0, help="users (default: one per client)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase (20)")
    parser.add_argument("--jobs", type=int, default=None, help="stop the job phase after N jobs")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument(
        "--rate",
        type=float,
        default=TARGET_JOBS_PER_S,
        help=f"jobs/s the paced phase offers ({TARGET_JOBS_PER_S:g})",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results to FILE")
    parser.add_argument("--keep-log", default=None, help="copy server logs to PATH.<db>.log")
    args = parser.parse_args(argv)
    args.db = [kind.strip() for kind in args.db.split(",") if kind.strip()]
    for kind in args.db:
        if kind not in ("sqlite", "postgres"):
            parser.error(f"--db: unknown database {kind!r} (sqlite, postgres)")
    if args.clients < 1 or args.duration <= 0 or args.workers < 0 or (args.jobs or 1) < 1 \
            or args.rate <= 0:  # fmt: skip
        parser.error("--clients and --jobs must be >= 1, --duration > 0, --workers >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    """Benchmark each database in turn, print the table and optionally write JSON."""
    args = parse_args(argv)
    results = {kind: bench_database(kind, args) for kind in args.db}
    print()
    print(
        f"openqpu service: {args.clients} clients, {args.workers} workers, "
        f"{args.duration:g} s per phase, 5-qubit GHZ x 1000 shots"
    )
    print(report(results))
    if args.json:
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        document = {"config": config, "results": results}
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"\nwritten {args.json}")


if __name__ == "__main__":
    main()
