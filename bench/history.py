"""A year of traffic: the service's reads and submits with millions of finished jobs stored.

For each database (SQLite, PostgreSQL) and size, a fresh database is made at the
schema a wave-1 server left (revision 0003) and filled in bulk, not through the API,
with finished jobs spread over a year (a mix of devices, users, sizes, outcomes; each
with its status events and, when done, its result). The server's migration then
brings it to the newest schema, building the aggregates from the rows (timed). With
``openqpu serve`` running (one worker, the public statistics' cache off so that every
call does the work) it measures the median and p90 of: ``/api/v1/stats``, ``/metrics``,
the dashboard overview (statistics and devices), the first page and a deep page of
the admin's job list, GET of an old job and of its result; then submit latency paced
at ``--rate`` jobs/s (p50, p99, from each request's scheduled time), and again while
retention archives every result older than 30 days. Database bytes per job are
reported after the fill.

Run: ``python bench/history.py --sizes 1000000,3000000,10000000 --databases
sqlite,postgres`` (the issue's table; hours and tens of GB); ``--sizes 100000`` for a
check. Only loopback addresses are used; every loop has a bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _http import LeanClient
from _service_client import GHZ5, fresh_database, start_server
from openqpu.service import heap

DEVICES = (("statevector", 0.5), ("lattice12", 0.3), ("lattice72", 0.2))
OUTCOMES = (("done", 0.90), ("failed", 0.07), ("cancelled", 0.03))
COUNTRIES = ("CN", "US", "DE", "FR", "JP", "GB", "IN", "BR", "KR", "CA", "IT", "ES", "NL")
CHUNK = 20_000
READ_CALLS = 15


@dataclass
class Row:
    """One line of the results table."""

    database: str
    jobs: int
    figures: dict[str, Any] = field(default_factory=dict)


def _qasm(num_qubits: int) -> str:
    body = "".join(f"cx q[{i}], q[{i + 1}];\n" for i in range(num_qubits - 1))
    return (
        f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{num_qubits}];\ncreg c[{num_qubits}];\n'
        f"h q[0];\n{body}measure q -> c;\n"
    )


def _jobs(n: int, users: int, rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    """``n`` finished jobs over the last year, oldest first, in chunks."""
    end = datetime.now(UTC) - timedelta(hours=1)
    start = end - timedelta(days=365)
    step = (end - start) / n
    devices, device_weights = zip(*DEVICES, strict=True)
    outcomes, outcome_weights = zip(*OUTCOMES, strict=True)
    chunk: list[dict[str, Any]] = []
    for index in range(n):
        created = start + step * index
        qubits = rng.choice((2, 3, 5, 5, 8, 12, 16, 20))
        shots = rng.choice((100, 1000, 1000, 4000, 10000))
        status = rng.choices(outcomes, outcome_weights)[0]
        run = rng.lognormvariate(-3.0, 1.5)
        counts = {format(rng.getrandbits(qubits), f"0{qubits}b"): rng.randint(1, shots)
                  for _ in range(min(16, 2**qubits))}  # fmt: skip
        chunk.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "owner_id": 1 + int(rng.paretovariate(1.2)) % users,
            "device": rng.choices(devices, device_weights)[0],
            "status": status, "shots": shots, "num_qubits": qubits, "seed": index,
            "payload": json.dumps({"device": "statevector", "kind": "sample", "format": "auto",
                                   "circuits": [_qasm(qubits)], "shots": shots}),
            "created_at": created, "started_at": created + timedelta(seconds=0.5),
            "finished_at": created + timedelta(seconds=0.5 + run),
            "run_seconds": run if status == "done" else None,
            "error": "bench: a failure" if status == "failed" else None,
            "result": json.dumps({"results": [{"counts": counts, "seconds": run}],
                                  "seed": index, "execution_seconds": run})
            if status == "done" else None,
        })  # fmt: skip
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


JOB_COLUMNS = (
    "id", "owner_id", "device", "kind", "status", "priority", "fair_seq", "shots", "seed",
    "num_circuits", "num_qubits", "payload", "name", "idempotency_key", "created_at",
    "started_at", "finished_at", "worker_id", "lease_expires_at", "attempts", "error",
    "run_seconds",
)  # fmt: skip


def _job_tuple(job: dict[str, Any], when: Any) -> tuple[Any, ...]:
    values = {**job, "kind": "sample", "priority": 0, "fair_seq": 0, "num_circuits": 1,
              "name": None, "idempotency_key": None, "worker_id": "bench",
              "lease_expires_at": None, "attempts": 1}  # fmt: skip
    return tuple(when(values[c]) if c.endswith("_at") else values[c] for c in JOB_COLUMNS)


def _events(job: dict[str, Any], when: Any) -> list[tuple[Any, ...]]:
    return [
        (job["id"], "queued", when(job["created_at"]), None),
        (job["id"], "running", when(job["started_at"]), "bench"),
        (job["id"], job["status"], when(job["finished_at"]), job["error"]),
    ]


def _users(n_users: int, rng: random.Random) -> list[tuple[Any, ...]]:
    made = datetime.now(UTC) - timedelta(days=400)
    return [
        (i, "admin" if i == 1 else f"user-{i}", rng.choice(COUNTRIES),
         "admin" if i == 1 else "user", made + timedelta(hours=i))
        for i in range(1, n_users + 1)
    ]  # fmt: skip


def _sqlite_time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _fill_sqlite(path: str, n: int, n_users: int, rng: random.Random) -> None:
    import sqlite3

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")  # a bulk load; the server runs with FULL
    cursor = connection.cursor()
    users = [(*u[:4], _sqlite_time(u[4])) for u in _users(n_users, rng)]
    cursor.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?)", users)
    marks = ", ".join("?" * len(JOB_COLUMNS))
    for chunk in _jobs(n, n_users, rng):
        cursor.executemany(
            f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) VALUES ({marks})",
            [_job_tuple(job, _sqlite_time) for job in chunk],
        )
        cursor.executemany(
            "INSERT INTO job_events (job_id, status, at, detail) VALUES (?, ?, ?, ?)",
            [event for job in chunk for event in _events(job, _sqlite_time)],
        )
        cursor.executemany(
            "INSERT INTO results (job_id, data, created_at) VALUES (?, ?, ?)",
            [(j["id"], j["result"], _sqlite_time(j["finished_at"])) for j in chunk if j["result"]],
        )
        connection.commit()
    _visits(cursor, rng, lambda d: d.isoformat())
    connection.commit()
    connection.close()


def _visits(cursor: Any, rng: random.Random, day: Any, mark: str = "?") -> None:
    today = datetime.now(UTC).date()
    rows = [
        (day(today - timedelta(days=d)), uuid.UUID(int=rng.getrandbits(128)).hex)
        for d in range(365)
        for _ in range(rng.randint(20, 80))
    ]
    cursor.executemany(f"INSERT INTO visits VALUES ({mark}, {mark})", rows)


def _fill_postgres(url: str, n: int, n_users: int, rng: random.Random) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        cursor = connection.cursor()
        cursor.executemany("INSERT INTO users VALUES (%s, %s, %s, %s, %s)", _users(n_users, rng))
        for chunk in _jobs(n, n_users, rng):
            with cursor.copy(f"COPY jobs ({', '.join(JOB_COLUMNS)}) FROM STDIN") as copy:
                for job in chunk:
                    copy.write_row(_job_tuple(job, lambda m: m))
            with cursor.copy("COPY job_events (job_id, status, at, detail) FROM STDIN") as copy:
                for job in chunk:
                    for event in _events(job, lambda m: m):
                        copy.write_row(event)
            with cursor.copy("COPY results (job_id, data, created_at) FROM STDIN") as copy:
                for job in chunk:
                    if job["result"]:
                        copy.write_row((job["id"], job["result"], job["finished_at"]))
            connection.commit()
        cursor.execute("SELECT setval('users_id_seq', %s)", (n_users,))
        _visits(cursor, rng, lambda d: d, "%s")
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")


def _migrate_to(url: str, revision: str) -> float:
    from alembic import command
    from alembic.config import Config

    from openqpu.service.store.database import MIGRATIONS, make_engine

    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    started = time.perf_counter()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()
    return time.perf_counter() - started


def _database_bytes(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0


def _admin_key(url: str) -> tuple[str, str, str]:
    """A key for the filled admin (user 1), and an old job and a deep cursor of the list."""
    from sqlalchemy import select

    from openqpu.service.store import accounts, jobs, listing
    from openqpu.service.store.database import Database

    database = Database(url)
    try:
        with database.write() as session:
            token = accounts.issue_key(session, accounts.find_user(session, "admin"))
        with database.connect() as conn:
            # The deep page starts half a year back: the job list's cursor at that job.
            middle = conn.execute(
                select(jobs.JOBS.c.created_at, jobs.JOBS.c.id)
                .where(jobs.JOBS.c.created_at >= datetime.now(UTC) - timedelta(days=182))
                .order_by(jobs.JOBS.c.created_at)
                .limit(1)
            ).one()
            old = conn.execute(
                select(jobs.JOBS.c.id)
                .where(jobs.JOBS.c.status == "done")
                .order_by(jobs.JOBS.c.created_at)
                .limit(1)
            ).scalar_one()
        return token, old, listing.encode_cursor(middle[0], middle[1])
    finally:
        database.dispose()


async def _reads(url: str, token: str, old_job: str, deep: str) -> dict[str, Any]:
    """Median and p90 (ms) of each read, ``READ_CALLS`` calls after one warm-up."""
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {}
    async with LeanClient(url, headers, timeout=120) as client:
        catalog = await client.get("/api/v1/catalog")
        overview = "/api/v1/catalog" if catalog.status_code == 200 else "/api/v1/devices"
        paths = {
            "stats": ["/api/v1/stats"],
            "metrics": ["/metrics"],
            "overview": ["/api/v1/stats", overview],
            "list first": ["/api/v1/jobs?limit=50"],
            "list deep": [f"/api/v1/jobs?limit=50&before={deep}"],
            "old job": [f"/api/v1/jobs/{old_job}"],
            "old result": [f"/api/v1/jobs/{old_job}/result"],
        }
        for name, calls in paths.items():
            times = []
            for attempt in range(READ_CALLS + 1):
                started = time.perf_counter()
                for path in calls:
                    answer = await client.get(path)
                    assert answer.status_code == 200, (path, answer.content[:300])
                if attempt:
                    times.append((time.perf_counter() - started) * 1000)
            out[name] = (statistics.median(times), _quantile(times, 0.9))
    return out


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _paced_submits(url: str, token: str, rate: float, seconds: float) -> list[float]:
    """Submit latencies (ms) at ``rate`` jobs/s for ``seconds``, from each scheduled time."""
    headers = {"Authorization": f"Bearer {token}"}
    clients = [LeanClient(url, headers, timeout=60) for _ in range(16)]
    free: asyncio.Queue[LeanClient] = asyncio.Queue()
    for client in clients:
        free.put_nowait(client)
    body = {"device": "statevector", "circuits": [GHZ5], "shots": 100}
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(due: float) -> None:
        client = await free.get()
        try:
            answer = await client.post("/api/v1/jobs", json=body)
            assert answer.status_code == 201, answer.content[:300]
            latencies.append((loop.time() - due) * 1000)
        finally:
            free.put_nowait(client)

    tasks = []
    for index in range(int(rate * seconds)):
        due = start + index / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    for client in clients:
        await client.aclose()
    return latencies


def _during_retention(url: str, database_url: str, folder: Path, args: Any, token: str) -> dict:
    """Paced submits while ``openqpu maintenance`` (its own process, as an operator runs
    it) archives every result older than 30 days.

    The paced phase lasts at most ``--retention-seconds``; a maintenance run still busy
    then is stopped (SIGTERM: retention is crash-safe, a batch cut short is archived again
    by the next run) and the jobs archived so far are counted: at 10 million stored jobs,
    archiving a year's results takes hours, and its effect on submits is steady from the
    first minute.
    """
    import subprocess

    command = [
        sys.executable, "-m", "openqpu.cli", "maintenance", "--db", database_url,
        "--retention-days", "30", "--archive-dir", str(folder / "archive"),
    ]  # fmt: skip
    started = time.monotonic()
    upkeep = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    latencies: list[float] = []
    deadline = started + args.retention_seconds
    while upkeep.poll() is None and time.monotonic() < deadline:
        latencies += asyncio.run(_paced_submits(url, token, args.rate, 5.0))
    finished = upkeep.poll() is not None
    if not finished:
        upkeep.terminate()
    output, _ = upkeep.communicate(timeout=60)
    seconds = time.monotonic() - started
    assert upkeep.returncode == 0 or not finished, output
    return {
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": _quantile(latencies, 0.99) if latencies else float("nan"),
        "archived": _archived_jobs(database_url),
        "seconds": seconds,
        "finished": finished,
    }


def _archived_jobs(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = text("SELECT count(*) FROM jobs WHERE archived_at IS NOT NULL")
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def run_one(kind: str, size: int, args: Any) -> Row:
    """Fill, migrate, serve and measure one database of ``size`` jobs."""
    row = Row(kind, size)
    rng = random.Random(size)
    n_users = max(50, size // 2_000)
    with (
        tempfile.TemporaryDirectory(dir=args.folder) as name,
        fresh_database(kind, Path(name)) as url,
    ):
        folder = Path(name)
        _migrate_to(url, "0003")
        started = time.perf_counter()
        if kind == "sqlite":
            _fill_sqlite(url.split("///", 1)[1], size, n_users, rng)
        else:
            _fill_postgres(url, size, n_users, rng)
        row.figures["fill s"] = time.perf_counter() - started
        row.figures["migrate s"] = _migrate_to(url, "head")
        row.figures["bytes/job"] = _database_bytes(url) / size
        token, old_job, deep = _admin_key(url)
        env = {
            "OPENQPU_STATS_CACHE_SECONDS": "0",
            "OPENQPU_RATE_LIMIT_PER_SECOND": "0",
            "OPENQPU_MAX_QUEUED_JOBS_PER_USER": "10000000",
            "OPENQPU_MAX_SHOTS_PER_DAY": "100000000000",
        }
        server = start_server(url, folder / "server.log", workers=1, env=env)
        heap.settle()  # the load generator's own full collections would count as latency
        try:
            row.figures["reads"] = asyncio.run(_reads(server.url, token, old_job, deep))
            latencies = asyncio.run(
                _paced_submits(server.url, token, args.rate, args.submit_seconds)
            )
            row.figures["submit p50"] = statistics.median(latencies)
            row.figures["submit p99"] = _quantile(latencies, 0.99)
            if args.retention_seconds > 0:
                row.figures["retention"] = _during_retention(server.url, url, folder, args, token)
        finally:
            server.stop()
    return row


def _print(rows: list[Row], rate: float) -> None:
    reads = ("stats", "metrics", "overview", "list first", "list deep", "old job", "old result")
    head = ["database", "stored jobs", "bytes/job", *reads, f"submit p50/p99 @{rate:g}/s",
            "during retention p50/p99", "archived (s)", "migration s"]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        f = row.figures
        cells = [row.database, f"{row.jobs:,}", f"{f['bytes/job']:,.0f}"]
        cells += [f"{f['reads'][name][0]:.1f} ms" for name in reads]
        cells.append(f"{f['submit p50']:.1f} / {f['submit p99']:.1f} ms")
        kept = f.get("retention")
        if kept:
            cells.append(f"{kept['p50']:.1f} / {kept['p99']:.1f} ms")
            stopped = "" if kept["finished"] else ", stopped"
            cells.append(f"{kept['archived']:,} ({kept['seconds']:.0f} s{stopped})")
        else:
            cells += ["-", "-"]
        cells.append(f"{f['migrate s']:.1f}")
        print("| " + " | ".join(cells) + " |")
    print("(medians of", READ_CALLS, "calls; p90s in the JSON line of each run above)")


def main() -> int:
    """Parse the options, run every database and size, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000000,3000000,10000000",
                        help="finished jobs to store, comma-separated")  # fmt: skip
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--rate", type=float, default=170.0, help="paced submits per second")
    parser.add_argument("--submit-seconds", type=float, default=20.0)
    parser.add_argument(
        "--retention-seconds",
        type=float,
        default=120.0,
        help="longest paced phase during retention (0: skip retention)",
    )
    parser.add_argument("--folder", default=None, help="where the SQLite files go (default: tmp)")
    args = parser.parse_args()
    rows = []
    for kind in args.databases.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            print(f"{kind}: {size:,} jobs ...", file=sys.stderr, flush=True)
            row = run_one(kind, size, args)
            print(json.dumps({"database": kind, "jobs": size, **row.figures}, default=str),
                  file=sys.stderr, flush=True)  # fmt: skip
            rows.append(row)
    _print(rows, args.rate)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
