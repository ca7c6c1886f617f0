"""The server side of ``bench/service.py``: fresh databases, an ``openqpu serve`` subprocess
(``openqpu.cli.spawn``), benchmark users, and CPU accounting of the server, PostgreSQL and
this process from /proc.

Only loopback addresses are used. Everything that waits has a deadline.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from openqpu.cli import spawn
from openqpu.cli.spawn import Server as Server
from openqpu.cli.spawn import free_port as free_port

POSTGRES_ADMIN_URL = os.environ.get(
    "OPENQPU_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
KEY_PATTERN = re.compile(r"(oqk_[A-Za-z0-9]+_[A-Za-z0-9_-]+)")

# The benchmarks' small job: 5-qubit GHZ, 1,000 shots, on the ideal simulator.
GHZ5 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[5];
creg c[5];
h q[0];
cx q[0], q[1];
cx q[1], q[2];
cx q[2], q[3];
cx q[3], q[4];
measure q -> c;
"""
JOB_BODY = {"device": "statevector", "circuits": [GHZ5], "shots": 1000}


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """Yield the URL of a new, empty database of ``kind`` (``sqlite`` or ``postgres``).

    A PostgreSQL database is created on the admin URL's server and dropped afterwards.

    Raises:
        ValueError: ``kind`` is neither ``sqlite`` nor ``postgres``.
    """
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    if kind != "postgres":
        raise ValueError(f"database kind: expected 'sqlite' or 'postgres', got {kind!r}")
    import psycopg

    name = f"openqpu_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_server(database_url: str, log_path: Path, *, workers: int, env: dict[str, str]) -> Server:
    """Start ``openqpu serve`` on a free loopback port and wait until ``/healthz`` answers.

    The benchmarks' name for :func:`openqpu.cli.spawn.start_server`.

    Args:
        database_url: the (empty) database the server creates its schema in.
        log_path: where the server's stdout and stderr go.
        workers: worker processes (``--workers``).
        env: extra ``OPENQPU_*`` variables.

    Raises:
        RuntimeError: the server exited or did not answer within ``spawn.START_TIMEOUT_S``.
    """
    return spawn.start_server(database_url, log_path, workers=workers, env=env)


def add_users(database_url: str, count: int) -> list[str]:
    """Create ``count`` users directly in the database; return one API key each."""
    from openqpu.service.store import accounts
    from openqpu.service.store.database import Database

    database = Database(database_url)
    try:
        with database.write() as session:
            tokens = []
            for _ in range(count):
                user = accounts.add_user(session, f"bench-{uuid.uuid4().hex[:8]}", "ZZ")
                tokens.append(accounts.issue_key(session, user))
            return tokens
    finally:
        database.dispose()


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far by each group of processes, and the machine's CPU time."""

    wall_s: float
    seconds: dict[str, float]
    machine_busy_s: float
    machine_total_s: float


def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    """``(command name, process group, user + system CPU seconds)`` of ``pid``, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime and stime
    return name, int(fields[2]), ticks / os.sysconf("SC_CLK_TCK")


def cpu_sample(server: Server) -> CpuSample:
    """Read /proc: the server's API process, its workers, PostgreSQL and this process.

    On systems without /proc the per-process figures are empty.
    """
    seconds = {"server api": 0.0, "server workers": 0.0, "postgres": 0.0}
    machine_busy = machine_total = 0.0
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            stat = _proc_stat(int(entry.name))
            if stat is None:
                continue
            name, group, used = stat
            if int(entry.name) == server.process.pid:
                seconds["server api"] += used
            elif group == server.process.pid:
                seconds["server workers"] += used
            elif name == "postgres":
                seconds["postgres"] += used
        ticks = [int(v) for v in (proc / "stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = ticks[3] + ticks[4]  # idle and iowait
        machine_total = sum(ticks[:8]) / os.sysconf("SC_CLK_TCK")
        machine_busy = machine_total - idle / os.sysconf("SC_CLK_TCK")
    times = os.times()
    seconds["load generator"] = times.user + times.system
    return CpuSample(time.monotonic(), seconds, machine_busy, machine_total)


def cpu_percent(before: CpuSample, after: CpuSample) -> dict[str, float]:
    """Per group, percent of one core used between two samples; plus the machine's busy share.

    ``other processes`` is the machine's busy time not accounted to any group.
    """
    wall = max(after.wall_s - before.wall_s, 1e-9)
    usage = {
        name: 100 * (after.seconds[name] - before.seconds.get(name, 0.0)) / wall
        for name in after.seconds
    }
    busy = after.machine_busy_s - before.machine_busy_s
    total = after.machine_total_s - before.machine_total_s
    if total > 0:
        # Whatever else runs on the machine competes for the same cores: show it.
        usage["other processes"] = max(0.0, 100 * busy / wall - sum(usage.values()))
        usage["machine busy (% of all cores)"] = 100 * busy / total
    return usage
