"""Load test of the openqpu service with thousands of clients: where is the knee?

For each database (a fresh SQLite file, a fresh PostgreSQL database) the script starts
``openqpu serve`` (``--workers`` worker processes) and ``--clients`` asyncio clients in this
process, each with its own keep-alive connection (``_servers.ReconnectingClient``, a lean
client: httpx would cost the load generator as much CPU as the server), sharing ``--users``
API keys. First every client asks ``/healthz`` at once (a connection storm). Then, for each
offered load in ``--steps`` (jobs/s), jobs arrive on a fixed schedule for ``--step-seconds``;
each arrival goes to the client that has been idle longest, which submits a small job
(5-qubit GHZ, 1,000 shots), waits for it with a long poll (``GET /api/v1/jobs/{id}?wait=10``)
and fetches its result. Every client is used in turn, so a client's connection is often
closed by the server's keep-alive timeout (5 s) before its next job and opened again: the
``reconnects`` column counts them.

A step meets the target when every offered job completed (jobs/s done >= 170 at an offered
170 or more, the queue drained within ``DRAIN_OK_S`` after the arrivals stopped), the submit
p99 is under 50 ms and no request failed. The knee is the highest offered load at which a
step keeps up (all jobs done, drained in time, no errors).

The server runs without the per-key rate limit (``OPENQPU_RATE_LIMIT_PER_SECOND=0``) and
with per-user quotas far above what a run uses. On a small machine the load generator and
anything else running compete with the server for the cores: read the CPU columns.

Run: ``python bench/load.py [--db sqlite,postgres] [--clients 2000] [--users 200]
[--steps 50,100,170,250,350] [--step-seconds 15] [--workers 2] [--json FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import resource
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _http import TransportError
from _servers import ReconnectingClient
from _service_client import (
    JOB_BODY,
    Server,
    add_users,
    cpu_percent,
    cpu_sample,
    fresh_database,
    start_server,
)

SERVER_ENV = {
    "OPENQPU_RATE_LIMIT_PER_SECOND": "0",
    "OPENQPU_MAX_QUEUED_JOBS_PER_USER": "1000000",
    "OPENQPU_MAX_SHOTS_PER_DAY": str(10**15),
}
LONG_POLL_S = 10.0
JOB_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0
DRAIN_OK_S = 2.0  # in-flight jobs finishing later than this after the last arrival: behind
STORM_CHUNK = 500  # connections opened at once in the storm

TARGET_JOBS_PER_S = 170.0
TARGET_SUBMIT_P99_MS = 50.0


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100, nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(max(1, math.ceil(q / 100 * len(ordered))), len(ordered)) - 1]


@dataclass
class Step:
    """What one offered load measured."""

    offered_per_s: float
    submit_s: list[float] = field(default_factory=list)
    turnaround_s: list[float] = field(default_factory=list)
    arrivals: int = 0
    completed: int = 0
    requests: int = 0
    no_idle_client: int = 0
    late_arrivals: int = 0
    errors: Counter[str] = field(default_factory=Counter)


async def one_job(client: ReconnectingClient, step: Step) -> None:
    """Submit, long-poll until done, fetch the result; record latencies and errors."""
    started = time.perf_counter()
    step.requests += 1
    try:
        response = await client.post("/api/v1/jobs", json=JOB_BODY)
    except TransportError as exc:
        step.errors[f"submit {str(exc).split(':')[0]}"] += 1
        return
    if response.status_code != 201:
        step.errors[f"submit HTTP {response.status_code}"] += 1
        return
    step.submit_s.append(time.perf_counter() - started)
    job_id = response.json()["id"]
    give_up = time.monotonic() + JOB_TIMEOUT_S
    while True:
        if time.monotonic() > give_up:
            step.errors[f"job not done in {JOB_TIMEOUT_S:g} s"] += 1
            return
        step.requests += 1
        try:
            response = await client.get(f"/api/v1/jobs/{job_id}", {"wait": LONG_POLL_S})
        except TransportError as exc:
            step.errors[f"poll {str(exc).split(':')[0]}"] += 1
            return
        status = response.json().get("status") if response.status_code == 200 else None
        if status == "done":
            break
        if status not in ("queued", "running"):
            step.errors[f"poll HTTP {response.status_code} {status}"] += 1
            return
    step.requests += 1
    try:
        response = await client.get(f"/api/v1/jobs/{job_id}/result")
    except TransportError as exc:
        step.errors[f"result {str(exc).split(':')[0]}"] += 1
        return
    if response.status_code != 200:
        step.errors[f"result HTTP {response.status_code}"] += 1
        return
    step.turnaround_s.append(time.perf_counter() - started)
    step.completed += 1


async def run_step(
    clients: list[ReconnectingClient], rate: float, seconds: float, server: Server
) -> dict[str, Any]:
    """Offer ``rate`` jobs/s for ``seconds``; the longest idle client takes each arrival."""
    step = Step(rate)
    idle = collections.deque(clients)
    in_flight: set[asyncio.Task[None]] = set()
    reconnects = ReconnectingClient.reconnects

    async def job(client: ReconnectingClient) -> None:
        try:
            await one_job(client, step)
        finally:
            idle.append(client)

    before = cpu_sample(server)
    start = time.monotonic()
    count = int(rate * seconds)
    for index in range(count):
        due = start + index / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.01:
            step.late_arrivals += 1  # the load generator fell behind its schedule
        step.arrivals += 1
        if not idle:
            step.no_idle_client += 1
            continue
        task = asyncio.create_task(job(idle.popleft()))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    window_end = time.monotonic()
    if in_flight:
        await asyncio.wait(set(in_flight), timeout=JOB_TIMEOUT_S + REQUEST_TIMEOUT_S)
    drain = time.monotonic() - window_end
    window = max(count / rate, window_end - start)  # the schedule's length, or longer if late
    cpu = cpu_percent(before, cpu_sample(server))
    submit_ms = [1000 * v for v in step.submit_s]
    turnaround_ms = [1000 * v for v in step.turnaround_s]
    errors = sum(step.errors.values()) + step.no_idle_client
    done_per_s = step.completed / max(window, 1e-9)
    kept_up = step.completed == step.arrivals and drain <= DRAIN_OK_S and errors == 0
    return {
        "offered_per_s": rate,
        "arrivals": step.arrivals,
        "completed": step.completed,
        "done_per_s": round(done_per_s, 1),
        "drain_s": round(drain, 2),
        "submit_p50_ms": round(percentile(submit_ms, 50), 2),
        "submit_p99_ms": round(percentile(submit_ms, 99), 2),
        "turnaround_p50_ms": round(percentile(turnaround_ms, 50), 2),
        "turnaround_p99_ms": round(percentile(turnaround_ms, 99), 2),
        "requests": step.requests,
        "errors": errors,
        "error_rate": round(errors / max(step.arrivals, 1), 4),
        "errors_by_kind": dict(step.errors)
        | ({"no idle client": step.no_idle_client} if step.no_idle_client else {}),
        "late_arrivals": step.late_arrivals,
        "reconnects": ReconnectingClient.reconnects - reconnects,
        "kept_up": kept_up,
        "meets_target": kept_up
        and rate >= TARGET_JOBS_PER_S
        and done_per_s >= TARGET_JOBS_PER_S * 0.99  # the schedule's own rounding
        and percentile(submit_ms, 99) < TARGET_SUBMIT_P99_MS,
        "cpu_percent_of_one_core": {k: round(v, 1) for k, v in cpu.items()},
    }


async def storm(clients: list[ReconnectingClient]) -> dict[str, Any]:
    """Every client opens its connection and asks ``/healthz``, ``STORM_CHUNK`` at a time."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()

    async def ask(client: ReconnectingClient) -> None:
        started = time.perf_counter()
        try:
            response = await client.get("/healthz")
        except TransportError as exc:
            errors[str(exc).split(":")[0]] += 1
            return
        if response.status_code != 200:
            errors[f"HTTP {response.status_code}"] += 1
            return
        latencies.append(1000 * (time.perf_counter() - started))

    started = time.perf_counter()
    for first in range(0, len(clients), STORM_CHUNK):
        await asyncio.gather(*(ask(c) for c in clients[first : first + STORM_CHUNK]))
    return {
        "connections": len(clients),
        "seconds": round(time.perf_counter() - started, 2),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "errors": dict(errors),
    }


async def load(server: Server, keys: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The connection storm, a warm-up job, then each step of offered load."""
    clients = [
        ReconnectingClient(
            server.url, {"Authorization": f"Bearer {keys[i % len(keys)]}"}, REQUEST_TIMEOUT_S
        )
        for i in range(args.clients)
    ]
    try:
        result: dict[str, Any] = {"storm": await storm(clients)}
        await one_job(clients[0], Step(0))  # the API process's first compile is slow
        result["steps"] = []
        for rate in args.steps:
            outcome = await run_step(clients, rate, args.step_seconds, server)
            result["steps"].append(outcome)
            print(
                f"  {rate:5g} jobs/s offered: {outcome['done_per_s']:6.1f} done/s, submit p99 "
                f"{outcome['submit_p99_ms']:.1f} ms, errors {outcome['errors']}",
                flush=True,
            )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    kept = [s["offered_per_s"] for s in result["steps"] if s["kept_up"]]
    result["knee_jobs_per_s"] = max(kept) if kept else None
    result["pass"] = any(s["meets_target"] for s in result["steps"])
    return result


def raise_open_files(wanted: int) -> int:
    """Raise this process's open-file limit to ``wanted`` (at most the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def loop_factory() -> Any:
    """uvloop's event loop when installed: less load-generator CPU per request."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Fresh database and server, the load, then the server stopped and the database dropped."""
    with tempfile.TemporaryDirectory(prefix="openqpu-load-") as folder:
        log = Path(folder) / "server.log"
        with fresh_database(kind, Path(folder)) as url:
            server = start_server(url, log, workers=args.workers, env=SERVER_ENV)
            try:
                keys = add_users(url, args.users)
                print(f"{kind}: server {server.url}, {args.clients} clients, {len(keys)} users")
                with asyncio.Runner(loop_factory=loop_factory()) as runner:
                    return runner.run(load(server, keys, args))
            finally:
                server.stop()


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    """One table row per database and offered load, with PASS/FAIL against the target."""
    header = ["db", "offered/s", "done/s", "submit p50", "submit p99", "result p50",
              "result p99", "errors", "err rate", "drain s", "reconn", "kept up", "target",
              "CPU% api/workers/pg/loadgen/other"]  # fmt: skip
    table = [header]
    for kind, result in results.items():
        for s in result["steps"]:
            cpu = s["cpu_percent_of_one_core"]
            shares = "/".join(
                f"{cpu.get(name, 0):.0f}"
                for name in ("server api", "server workers", "postgres", "load generator",
                             "other processes")
            )  # fmt: skip
            target = "PASS" if s["meets_target"] else "FAIL"
            if s["offered_per_s"] < TARGET_JOBS_PER_S:
                target = "-"
            table.append([
                kind, f"{s['offered_per_s']:g}", f"{s['done_per_s']:.1f}",
                f"{s['submit_p50_ms']:.1f} ms", f"{s['submit_p99_ms']:.1f} ms",
                f"{s['turnaround_p50_ms']:.0f} ms", f"{s['turnaround_p99_ms']:.0f} ms",
                str(s["errors"]), f"{100 * s['error_rate']:.2f}%", f"{s['drain_s']:.1f}",
                str(s["reconnects"]), "yes" if s["kept_up"] else "no", target, shares,
            ])  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    for kind, result in results.items():
        st = result["storm"]
        lines.append(
            f"{kind}: {st['connections']} connections opened at once in {st['seconds']} s "
            f"(healthz p50 {st['p50_ms']} ms, p99 {st['p99_ms']} ms, errors {st['errors'] or 0}); "
            f"knee: {result['knee_jobs_per_s'] or 'below the lowest step'} jobs/s; target "
            f"(>= {TARGET_JOBS_PER_S:g} jobs/s, submit p99 < {TARGET_SUBMIT_P99_MS:g} ms, "
            f"no errors): {'PASS' if result['pass'] else 'FAIL'}"
        )
        for step in result["steps"]:
            if step["errors_by_kind"]:
                lines.append(f"  {step['offered_per_s']:g}/s errors: {step['errors_by_kind']}")
    return "\n".join(line.rstrip() for line in lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    parser.add_argument("--clients", type=int, default=2000, help="clients (2000)")
    parser.add_argument("--users", type=int, default=200, help="API keys they share (200)")
    parser.add_argument("--steps", default="50,100,170,250,350", help="offered jobs/s per step")
    parser.add_argument("--step-seconds", type=float, default=15.0, help="seconds per step (15)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--json", type=Path, default=None, help="write the results to FILE")
    args = parser.parse_args(argv)
    args.db = [kind.strip() for kind in args.db.split(",") if kind.strip()]
    try:
        args.steps = [float(v) for v in args.steps.split(",") if v.strip()]
    except ValueError:
        parser.error(f"--steps: expected numbers separated by commas, got {args.steps!r}")
    if any(kind not in ("sqlite", "postgres") for kind in args.db):
        parser.error(f"--db: expected sqlite and/or postgres, got {args.db}")
    if args.clients < 1 or args.users < 1 or args.step_seconds <= 0 or not args.steps \
            or min(args.steps) <= 0 or args.workers < 0:  # fmt: skip
        parser.error("--clients, --users >= 1; --step-seconds and --steps > 0; --workers >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run every database, print the table, optionally write JSON."""
    args = parse_args(argv)
    limit = raise_open_files(args.clients + 1024)
    if limit < args.clients + 100:
        print(f"note: open-file limit {limit} is low for {args.clients} clients")
    results = {kind: bench_database(kind, args) for kind in args.db}
    print()
    print(
        f"openqpu load: {args.clients} clients, {args.users} users, {args.workers} workers, "
        f"{args.step_seconds:g} s per step, 5-qubit GHZ x 1000 shots, rate limit off"
    )
    print(report(results, args))
    if args.json:
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        args.json.write_text(json.dumps({"config": config, "results": results}, indent=2) + "\n")
        print(f"\nwritten {args.json}")


if __name__ == "__main__":
    main()
