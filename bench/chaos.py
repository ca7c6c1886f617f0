"""Fault campaign of the openqpu service: no accepted job is lost, run twice or mixed up.

The script starts ``openqpu serve`` (2 workers) on a fresh SQLite file or PostgreSQL
database and keeps ``--clients`` async clients submitting small jobs (a 5-qubit GHZ state
plus five qubits set to the job's number mod 32; 100-1000 shots; a seed of its own), each
submit with an idempotency key and retried with the same key on a connection error, a 5xx
or a 429 until it is answered. Meanwhile, for ``--rounds`` rounds, it injects one fault
chosen at random and waits a moment (0.5-2 s):

- ``kill_worker``: SIGKILL a random worker process (a child of the server process);
- ``kill_api``: SIGKILL the server's whole process group (API and workers) and start it
  again on the same database and port;
- ``restart_postgres`` (PostgreSQL only): an immediate (crash) stop and start of the
  private cluster the campaign runs on (``--postgres system`` restarts the machine's
  shared server instead, with ``pg_ctlcluster``/``systemctl``/``service``).

Then it stops submitting, leaves a healthy server to drain the queue (bounded wait) and
checks the database directly: every job whose submit got a 2xx is ``done``, with exactly
one result row and one ``done`` event; nothing is left queued or running; each stored
result is its own job's (counts only on the two outcomes the job's circuit allows, the
job's shots and seed). The server runs with a 2 s lease and ``OPENQPU_MAX_ATTEMPTS=1000``,
since the campaign kills the same job's worker more often than a real fault would, and
without the per-key rate limit.

Run: ``python bench/chaos.py [--db sqlite|postgres] [--rounds 100] [--clients 16]
[--rate 40] [--seed N]``; exit status 1 when a must-be-zero figure is not zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _http import TransportError
from _servers import PrivatePostgres, ReconnectingClient, ServerProcess, restart_system_postgres
from _service_client import add_users, fresh_database

TAG_QUBITS = 5  # the job's number mod 2**5 is written on qubits 5..9
SERVER_ENV = {
    "OPENQPU_LEASE_SECONDS": "2",
    "OPENQPU_POLL_SECONDS": "0.1",
    "OPENQPU_MAX_ATTEMPTS": "1000",
    "OPENQPU_RATE_LIMIT_PER_SECOND": "0",
    "OPENQPU_MAX_QUEUED_JOBS_PER_USER": "1000000",
    "OPENQPU_MAX_SHOTS_PER_DAY": str(10**15),
}
RETRY_PAUSE_S = 0.1
REQUEST_TIMEOUT_S = 10.0
SUBMIT_GIVE_UP_S = 300.0
DRAIN_TIMEOUT_S = 180.0


def circuit(number: int) -> str:
    """GHZ on qubits 0-4; qubits 5-9 hold ``number mod 32`` (X gates): two outcomes."""
    lines = [
        "OPENQASM 2.0;",
        'include "qelib1.inc";',
        f"qreg q[{5 + TAG_QUBITS}];",
        f"creg c[{5 + TAG_QUBITS}];",
        "h q[0];",
        *(f"cx q[{i}], q[{i + 1}];" for i in range(4)),
        *(f"x q[{5 + bit}];" for bit in range(TAG_QUBITS) if number >> bit & 1),
        "measure q -> c;",
    ]
    return "\n".join(lines) + "\n"


def expected_outcomes(number: int) -> set[str]:
    """The two bit strings (qubit 0 rightmost) that job ``number``'s circuit can give."""
    tag = format(number % (1 << TAG_QUBITS), f"0{TAG_QUBITS}b")
    return {tag + "00000", tag + "11111"}


@dataclass
class Submission:
    """One job as its client saw it."""

    number: int
    key: str
    shots: int
    seed: int
    job_id: str | None = None
    status_code: int | None = None


@dataclass
class Campaign:
    """What the clients and the fault injector record."""

    tag: str
    submissions: dict[str, Submission] = field(default_factory=dict)
    retries: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    gave_up: int = 0
    key_mismatches: int = 0
    stopping: bool = False
    next_number: int = 0

    def new_submission(self, rng: random.Random) -> Submission:
        """The next job number, with its key, shots and seed."""
        number = self.next_number
        self.next_number += 1
        key = f"chaos-{self.tag}-{number}"
        submission = Submission(number, key, rng.randint(100, 1000), rng.getrandbits(48))
        self.submissions[key] = submission
        return submission


async def submit(client: ReconnectingClient, campaign: Campaign, item: Submission) -> None:
    """Submit until answered: the same idempotency key on every retry."""
    body = {
        "device": "statevector",
        "circuits": [circuit(item.number)],
        "shots": item.shots,
        "seed": item.seed,
        "idempotency_key": item.key,
    }
    give_up = time.monotonic() + SUBMIT_GIVE_UP_S
    while time.monotonic() < give_up:
        try:
            response = await client.post("/api/v1/jobs", json=body)
        except TransportError as exc:
            campaign.retries[f"connection ({str(exc).split(':')[0]})"] += 1
            await asyncio.sleep(RETRY_PAUSE_S)
            continue
        if response.status_code in (200, 201):
            job_id = response.json()["id"]
            if item.job_id is not None and item.job_id != job_id:
                campaign.key_mismatches += 1
            item.job_id, item.status_code = job_id, response.status_code
            return
        if response.status_code >= 500 or response.status_code == 429:
            campaign.retries[f"HTTP {response.status_code}"] += 1
            await asyncio.sleep(RETRY_PAUSE_S)
            continue
        campaign.rejected[f"HTTP {response.status_code}: {response.content[:200]!r}"] += 1
        return
    campaign.gave_up += 1


async def client_loop(url: str, key: str, campaign: Campaign, rate: float, seed: int) -> None:
    """Submit jobs at about ``rate`` per second (exponential gaps) until the campaign stops."""
    rng = random.Random(seed)
    client = ReconnectingClient(url, {"Authorization": f"Bearer {key}"}, REQUEST_TIMEOUT_S)
    try:
        while not campaign.stopping:
            await submit(client, campaign, campaign.new_submission(rng))
            await asyncio.sleep(rng.expovariate(rate))
    finally:
        await client.aclose()


class Faults:
    """Injects the faults; each method blocks until the system is back (or skips)."""

    def __init__(
        self,
        server: ServerProcess,
        campaign: Campaign,
        rng: random.Random,
        restart_postgres: Any = None,
    ) -> None:
        self.server, self.campaign, self.rng = server, campaign, rng
        self.restart_postgres_fn = restart_postgres

    def kinds(self) -> list[str]:
        """The faults this setup can inject."""
        kinds = ["kill_worker", "kill_api"]
        if self.restart_postgres_fn is not None:
            kinds.append("restart_postgres")
        return kinds

    def inject(self, kind: str) -> str:
        """Inject one fault of ``kind``; return what was done."""
        return str(getattr(self, kind)())

    def kill_worker(self) -> str:
        """SIGKILL a worker picked at random, among those running a job when any is."""
        pids = self.server.worker_pids()
        busy = [pid for pid in pids if pid in busy_worker_pids(self.server.database_url)]
        pids = busy or pids
        if not pids:
            self.campaign.faults["kill_worker skipped (no worker up)"] += 1
            return "no worker running (restarting): skipped"
        pid = self.rng.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            self.campaign.faults["kill_worker skipped (no worker up)"] += 1
            return f"worker {pid} already gone: skipped"
        self.campaign.faults["kill_worker"] += 1
        return f"killed {'busy' if busy else 'idle'} worker {pid}"

    def kill_api(self) -> str:
        """SIGKILL the server's process group, wait a little, start it again."""
        pid = self.server.pid
        self.server.kill()
        self.campaign.faults["kill_api"] += 1
        time.sleep(self.rng.uniform(0.0, 0.5))
        self.ensure_server()
        return f"killed server group {pid}, restarted as {self.server.pid}"

    def restart_postgres(self) -> str:
        """Restart PostgreSQL under the running server."""
        how = self.restart_postgres_fn()
        self.campaign.faults["restart_postgres"] += 1
        return how

    def ensure_server(self) -> None:
        """Start the server if it is not running (a few tries)."""
        for attempt in range(3):
            if self.server.pid is not None:
                return
            try:
                self.server.start()
                return
            except RuntimeError as exc:
                self.campaign.notes.append(f"server start {attempt + 1} failed: {exc}")
                time.sleep(1.0)
        raise RuntimeError("the server did not come back after 3 starts")


def busy_worker_pids(database_url: str) -> set[int]:
    """Process ids of the workers that hold a running job (empty when the database is down).

    A worker id is ``<host>-<pid>-<random>``.
    """
    from sqlalchemy import text

    from openqpu.service.store.database import Database

    db = Database(database_url)
    try:
        with db.connect() as conn:
            rows = conn.execute(text("SELECT worker_id FROM jobs WHERE status = 'running'"))
            return {int(worker.rsplit("-", 2)[1]) for (worker,) in rows if worker}
    except Exception:  # PostgreSQL restarting: pick any worker
        return set()
    finally:
        db.dispose()


async def inject_faults(faults: Faults, rounds: int, started: float) -> None:
    """``rounds`` rounds: one random fault, then a pause of 0.5-2 s."""
    kinds = faults.kinds()
    for index in range(rounds):
        kind = faults.rng.choice(kinds)
        what = await asyncio.to_thread(faults.inject, kind)
        accepted = sum(1 for s in faults.campaign.submissions.values() if s.job_id)
        print(
            f"  round {index + 1:3d}/{rounds} t={time.monotonic() - started:6.1f}s "
            f"{kind:16s} {what}  (accepted so far: {accepted})",
            flush=True,
        )
        await asyncio.sleep(faults.rng.uniform(0.5, 2.0))


def wait_drained(database_url: str, timeout: float) -> float:
    """Wait until no job is queued or running (or ``timeout``); return the seconds waited."""
    from sqlalchemy import text

    from openqpu.service.store.database import Database

    db = Database(database_url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            with db.connect() as conn:
                active = conn.execute(
                    text("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
                ).scalar()
            if not active:
                break
            time.sleep(0.5)
    finally:
        db.dispose()
    return time.monotonic() - started


def check(database_url: str, campaign: Campaign) -> dict[str, Any]:
    """Compare what the clients were told with what the database holds."""
    from sqlalchemy import text

    from openqpu.service.store.database import Database

    db = Database(database_url)
    try:
        with db.connect() as conn:
            jobs = {
                row.id: row
                for row in conn.execute(
                    text("SELECT id, status, attempts, error, idempotency_key FROM jobs")
                )
            }
            results: dict[str, list[str]] = {}
            for job_id, data in conn.execute(text("SELECT job_id, data FROM results")):
                results.setdefault(job_id, []).append(data)
            done_events = dict(
                conn.execute(
                    text(
                        "SELECT job_id, count(*) FROM job_events WHERE status = 'done' "
                        "GROUP BY job_id"
                    )
                ).all()
            )
            keys_per_job = Counter(row.idempotency_key for row in jobs.values())
    finally:
        db.dispose()
    accepted = [s for s in campaign.submissions.values() if s.job_id is not None]
    by_id = {s.job_id: s for s in accepted}
    figures: Counter[str] = Counter()
    problems: list[str] = []
    for item in accepted:
        row = jobs.get(item.job_id)  # type: ignore[arg-type]
        if row is None:
            figures["lost"] += 1
            problems.append(f"job {item.job_id} (key {item.key}) answered {item.status_code}, "
                            "not in the database")  # fmt: skip
            continue
        if row.status in ("queued", "running"):
            figures["stuck"] += 1
            problems.append(f"job {item.job_id} still {row.status} (attempts {row.attempts})")
        elif row.status != "done":
            figures["failed"] += 1
            problems.append(f"job {item.job_id} {row.status}: {row.error}")
        elif not results.get(row.id):
            figures["lost"] += 1
            problems.append(f"job {item.job_id} is done but has no result")
        elif len(results[row.id]) == 1 and done_events.get(row.id) == 1:
            figures["completed"] += 1
        if row.idempotency_key != item.key:
            figures["wrong"] += 1
            problems.append(f"job {item.job_id}: key {row.idempotency_key}, expected {item.key}")
    for job_id, row in jobs.items():
        stored = results.get(job_id, [])
        if len(stored) > 1 or done_events.get(job_id, 0) > 1:
            figures["duplicated"] += 1
            problems.append(
                f"job {job_id}: {len(stored)} results, {done_events.get(job_id, 0)} done events"
            )
        if stored and row.status != "done":
            figures["wrong"] += 1
            problems.append(f"job {job_id} is {row.status} but has a result")
        item = by_id.get(job_id) or campaign.submissions.get(row.idempotency_key)
        if item is None:
            figures["wrong"] += 1
            problems.append(f"job {job_id} was never submitted by this campaign")
            continue
        if item.job_id is None:
            figures["stored, never acknowledged"] += 1
            if row.status in ("queued", "running"):
                figures["stuck"] += 1
        for data in stored:
            reason = wrong_result(json.loads(data), item)
            if reason:
                figures["wrong"] += 1
                problems.append(f"job {job_id} (number {item.number}): {reason}")
    figures["duplicated"] += sum(1 for count in keys_per_job.values() if count > 1)
    figures["duplicated"] += campaign.key_mismatches
    attempts = [row.attempts for row in jobs.values()]
    return {
        "accepted": len(accepted),
        "answered 201 / 200 (repeat of a lost answer)": (
            f"{sum(1 for s in accepted if s.status_code == 201)} / "
            f"{sum(1 for s in accepted if s.status_code == 200)}"
        ),
        "completed (done, one result, one done event)": figures["completed"],
        "lost (accepted, not in the database or no result)": figures["lost"],
        "failed or cancelled (accepted)": figures["failed"],
        "stuck (queued or running after the drain)": figures["stuck"],
        "duplicated (results, done events or jobs per key > 1)": figures["duplicated"],
        "wrong results": figures["wrong"],
        "stored but never acknowledged (client gave up)": figures["stored, never acknowledged"],
        "submits that gave up": campaign.gave_up,
        "rejected submits (4xx)": sum(campaign.rejected.values()),
        "jobs run more than once (attempts > 1)": sum(1 for a in attempts if a > 1),
        "most attempts of one job": max(attempts, default=0),
        "problems": problems[:20],
    }


def wrong_result(document: dict[str, Any], item: Submission) -> str | None:
    """Why ``document`` is not the result of ``item``'s circuit, or None when it is."""
    entries = document.get("results") or []
    if len(entries) != 1:
        return f"{len(entries)} circuit results, expected 1"
    counts = entries[0].get("counts", {})
    if sum(counts.values()) != item.shots or entries[0].get("shots") != item.shots:
        return f"{sum(counts.values())} shots counted, submitted {item.shots}"
    if not set(counts) <= expected_outcomes(item.number):
        return f"outcomes {sorted(counts)} not in {sorted(expected_outcomes(item.number))}"
    if document.get("seed") != item.seed:
        return f"seed {document.get('seed')}, submitted {item.seed}"
    return None


MUST_BE_ZERO = (
    "lost (accepted, not in the database or no result)",
    "failed or cancelled (accepted)",
    "stuck (queued or running after the drain)",
    "duplicated (results, done events or jobs per key > 1)",
    "wrong results",
)


@contextmanager
def campaign_database(kind: str, postgres: str, folder: Path) -> Iterator[tuple[str, Any]]:
    """Yield the database URL and the function that restarts PostgreSQL (None: none)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'chaos.db'}", None
        return
    if postgres == "system":
        with fresh_database("postgres", folder) as url:
            yield url, restart_system_postgres
        return
    cluster = PrivatePostgres()
    try:
        import psycopg

        with psycopg.connect(cluster.url, autocommit=True) as connection:
            connection.execute('CREATE DATABASE "openqpu_chaos"')
        yield cluster.url.rsplit("/", 1)[0] + "/openqpu_chaos", cluster.restart
    finally:
        cluster.close()


async def run_campaign(args: argparse.Namespace, url: str, restart_pg: Any, folder: Path) -> int:
    """Start the server, run clients and faults, drain, check, print; return the exit code."""
    rng = random.Random(args.seed)
    campaign = Campaign(tag=f"{args.seed}-{rng.getrandbits(24):06x}")
    server = ServerProcess(url, folder, workers=args.workers, env=SERVER_ENV)
    server.start()
    faults = Faults(server, campaign, rng, restart_pg)
    started = time.monotonic()
    try:
        keys = add_users(url, args.clients)
        per_client = args.rate / args.clients
        clients = [
            asyncio.create_task(client_loop(server.url, key, campaign, per_client, args.seed + i))
            for i, key in enumerate(keys)
        ]
        print(f"{args.db}: server {server.url}, {args.clients} clients, {args.rounds} rounds, "
              f"faults: {', '.join(faults.kinds())}", flush=True)  # fmt: skip
        if restart_pg is None and args.db == "postgres":
            print("  note: restart_postgres cannot be done here: skipped")
        await inject_faults(faults, args.rounds, started)
        campaign.stopping = True
        await asyncio.to_thread(faults.ensure_server)
        await asyncio.wait_for(asyncio.gather(*clients), SUBMIT_GIVE_UP_S + 30)
        fault_seconds = time.monotonic() - started
        drained = await asyncio.to_thread(wait_drained, url, DRAIN_TIMEOUT_S)
    finally:
        server.stop()
    figures = check(url, campaign)
    problems = figures.pop("problems")
    print()
    print(f"openqpu chaos: {args.db}, {args.rounds} rounds, seed {args.seed}")
    rows: list[tuple[str, Any]] = [("jobs submitted (keys)", len(campaign.submissions))]
    rows += list(figures.items())
    for kind, count in sorted(campaign.faults.items()):
        rows.append((f"faults: {kind}", count))
    rows += [
        ("server starts (first + restarts)", server.starts),
        ("submit retries", ", ".join(f"{k}: {v}" for k, v in campaign.retries.most_common())),
        ("time with faults, s", f"{fault_seconds:.1f}"),
        ("time to drain the queue afterwards, s", f"{drained:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    failed = False
    for name, value in rows:
        mark = ""
        if name in MUST_BE_ZERO:
            mark = "  (must be 0) " + ("PASS" if value == 0 else "FAIL")
            failed |= value != 0
        print(f"  {name.ljust(width)}  {value}{mark}")
    if not figures["accepted"]:
        failed = True
        print("  FAIL: no job was accepted")
    for line in campaign.notes + problems:
        print(f"  ! {line}")
    for reason, count in campaign.rejected.items():
        print(f"  ! rejected {count}x: {reason}")
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=100, help="faults to inject (100)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--rate", type=float, default=40.0, help="jobs/s offered in all (40)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument(
        "--postgres",
        choices=("private", "system"),
        default="private",
        help="restart a private PostgreSQL cluster (default) or the machine's shared server",
    )
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy server logs here")
    args = parser.parse_args(argv)
    if args.rounds < 0 or args.clients < 1 or args.rate <= 0 or args.workers < 1:
        parser.error("--rounds >= 0, --clients >= 1, --rate > 0, --workers >= 1")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1_000_000)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run one campaign; the exit status says whether every must-be-zero figure was 0."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="openqpu-chaos-") as name:
        folder = Path(name)
        try:
            with campaign_database(args.db, args.postgres, folder) as (url, restart_pg):
                return asyncio.run(run_campaign(args, url, restart_pg, folder))
        finally:
            if args.keep_logs:
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for log in folder.glob("server-*.log"):
                    (args.keep_logs / log.name).write_bytes(log.read_bytes())


if __name__ == "__main__":
    sys.exit(main())
