"""Many machines on one PostgreSQL: workers on separate "hosts" drain one queue.

Each host but the local one is a Linux network namespace (``ip netns``) joined to this
one by a veth pair: its workers cannot reach 127.0.0.1:5432 and talk to PostgreSQL over
the veth address, as another machine would over the network. PostgreSQL itself is left
as it is (it listens on 127.0.0.1 only): a small TCP forwarder in this namespace listens
on each veth address and passes connections on to 127.0.0.1:5432.

The run: a fresh database, ``openqpu serve --workers 0`` (the API alone), one
``openqpu worker --name host-<x>`` per host (two namespaces plus this one), N jobs
submitted over HTTP; then every job must be done exactly once (one result, one ``done``
event, one attempt) and every host's workers must have run some. Needs root (or
CAP_NET_ADMIN and CAP_SYS_ADMIN); namespaces, links and processes are removed even when
the run fails.

    python bench/hosts.py [--jobs 200] [--namespaces 2] [--db postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ADMIN_URL = os.environ.get("OPENQPU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
START_TIMEOUT_S = 120.0
# Moderate jobs, so that no single worker drains the queue before the others wake.
JOB_QASM = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[12];\ncreg c[12];\n'
    + "".join(f"h q[{i}];\nrz({0.1 * (i + 1)}) q[{i}];\n" for i in range(12))
    + "".join(f"cx q[{i}],q[{i + 1}];\n" for i in range(11))
    + "measure q -> c;\n"
)


@dataclass(frozen=True)
class Host:
    """A network namespace joined to this one by a veth pair."""

    name: str  # the worker name, e.g. host-a
    netns: str
    outside: str  # the veth address in this namespace (where the forwarder listens)
    inside: str  # the veth address in the namespace


def netns_reason() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    probe = f"oqprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add is not permitted here: {made.stderr.strip() or made.returncode}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str, netns: str | None = None) -> None:
    command = ["ip", *args] if netns is None else ["ip", "netns", "exec", netns, "ip", *args]
    subprocess.run(command, check=True, capture_output=True, text=True)


@contextlib.contextmanager
def namespaces(count: int) -> Iterator[list[Host]]:
    """``count`` namespaces, each with a veth link to this one; removed afterwards."""
    tag = f"{os.getpid() % 100000}"
    octet = random.randint(100, 250)  # a /16 of 10.0.0.0/8 unlikely to be in use
    hosts: list[Host] = []
    links: list[str] = []
    try:
        for k in range(count):
            letter = chr(ord("a") + k)
            netns, outer, inner = f"oq{tag}{letter}", f"oq{tag}{letter}h", f"oq{tag}{letter}n"
            host = Host(f"host-{letter}", netns, f"10.{octet}.{k}.1", f"10.{octet}.{k}.2")
            _ip("netns", "add", netns)
            hosts.append(host)
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            links.append(outer)
            _ip("link", "set", inner, "netns", netns)
            _ip("addr", "add", f"{host.outside}/30", "dev", outer)
            _ip("link", "set", outer, "up")
            _ip("addr", "add", f"{host.inside}/30", "dev", inner, netns=netns)
            _ip("link", "set", inner, "up", netns=netns)
            _ip("link", "set", "lo", "up", netns=netns)
        yield hosts
    finally:
        for host in hosts:  # deleting a namespace deletes its end of the veth pair
            subprocess.run(["ip", "netns", "del", host.netns], capture_output=True)
        for link in links:  # and with it the other end; this is for a half-made pair
            subprocess.run(["ip", "link", "del", link], capture_output=True)


class Forwarder:
    """TCP from ``(address, port)`` for each listen address to one target, in a thread."""

    def __init__(self, addresses: list[str], target: tuple[str, int]) -> None:
        self.addresses, self.target = addresses, target
        self.port = 0
        self.servers: list[asyncio.Server] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="pg-forwarder")

    def __enter__(self) -> Forwarder:
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the forwarder did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def _close(self) -> None:
        for server in self.servers:
            server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._listen())
        self.ready.set()
        self.loop.run_forever()

    async def _listen(self) -> None:
        first = await asyncio.start_server(self._handle, self.addresses[0], 0)
        self.port = first.sockets[0].getsockname()[1]
        self.servers = [first]
        for address in self.addresses[1:]:
            self.servers.append(await asyncio.start_server(self._handle, address, self.port))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        except asyncio.CancelledError:  # the forwarder is closing: end quietly
            writer.close()
            up_writer.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _with_host(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}:{port}"))


def _create_database() -> str:
    import psycopg

    name = f"openqpu_hosts_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def _wait_for(predicate: object, what: str, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _unreachable_inside(netns: str, port: int) -> bool:
    """Whether 127.0.0.1:``port`` (PostgreSQL here) is out of reach from ``netns``."""
    probe = (
        "import socket,sys\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), 2)\n"
        "except OSError:\n"
        "    sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    command = ["ip", "netns", "exec", netns, sys.executable, "-c", probe]
    return subprocess.run(command, capture_output=True).returncode == 0


def run(num_jobs: int = 200, num_namespaces: int = 2, *, log_dir: Path | None = None) -> dict:
    """Run the demonstration; return its figures (raises AssertionError when it fails)."""
    from openqpu.service.store import accounts
    from openqpu.service.store.database import Database

    folder = log_dir or Path(tempfile.mkdtemp(prefix="openqpu-hosts-"))
    admin = urlsplit(ADMIN_URL)
    pg_port = admin.port or 5432
    database_url = _create_database()
    processes: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "OPENQPU_CLAIM_BATCH": "1",  # one job per claim, so that every worker gets some
        "OPENQPU_LEASE_SECONDS": "10",
        "PYTHONUNBUFFERED": "1",
    }
    cli = [sys.executable, "-m", "openqpu.cli"]
    try:
        with (
            namespaces(num_namespaces) as hosts,
            Forwarder([h.outside for h in hosts], (admin.hostname or "127.0.0.1", pg_port)) as fwd,
        ):
            isolated = all(_unreachable_inside(h.netns, pg_port) for h in hosts)
            api_port = _free_port()
            api = _start(
                [*cli, "serve", "--workers", "0", "--port", str(api_port), "--db", database_url],
                folder / "api.log",
                env,
            )
            processes.append(api)
            url = f"http://127.0.0.1:{api_port}"

            def answers() -> bool:
                if api.poll() is not None:
                    raise RuntimeError(f"the API exited: {(folder / 'api.log').read_text()}")
                try:
                    return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
                except httpx.HTTPError:
                    return False

            _wait_for(answers, "the API")
            workers: dict[str, Path] = {}
            for host in hosts:
                remote_url = _with_host(database_url, host.outside, fwd.port)
                log = folder / f"worker-{host.name}.log"
                command = ["ip", "netns", "exec", host.netns, *cli, "worker"]
                command += ["--db", remote_url, "--name", host.name]
                processes.append(_start(command, log, env))
                workers[host.name] = log
            log = folder / "worker-host-local.log"
            command = [*cli, "worker", "--db", database_url, "--name", "host-local"]
            processes.append(_start(command, log, env))
            workers["host-local"] = log
            for name, log in workers.items():
                pattern = re.compile(rf"worker {name}-\d+-\w+ started")
                _wait_for(lambda log=log, p=pattern: bool(p.search(log.read_text())), name)

            database = Database(database_url)
            try:
                with database.write() as session:
                    key = accounts.issue_key(session, accounts.add_user(session, "hosts", "CN"))
                started = time.monotonic()
                ids = []
                with httpx.Client(
                    base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
                ) as client:
                    for number in range(num_jobs):
                        job = {
                            "device": "statevector",
                            "circuits": [JOB_QASM],
                            "shots": 2000,
                            "seed": number,
                        }
                        created = client.post("/api/v1/jobs", json=job)
                        assert created.status_code == 201, created.text
                        ids.append(created.json()["id"])

                def drained() -> bool:
                    with database.connect() as conn:
                        left = conn.exec_driver_sql(
                            "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')"
                        ).scalar()
                    return left == 0

                _wait_for(drained, "the queue to drain", timeout=60 + num_jobs)
                elapsed = time.monotonic() - started
                with database.connect() as conn:
                    rows = conn.exec_driver_sql(
                        "SELECT j.id, j.status, j.worker_id, j.attempts,"
                        " (SELECT count(*) FROM results r WHERE r.job_id = j.id),"
                        " (SELECT count(*) FROM job_events e"
                        "   WHERE e.job_id = j.id AND e.status = 'done')"
                        " FROM jobs j"
                    ).all()
            finally:
                database.dispose()
                for process in reversed(processes):  # before their network goes
                    _stop(process)
    finally:
        for process in reversed(processes):
            _stop(process)
        _drop_database(database_url)

    by_host = Counter(worker_id.rsplit("-", 2)[0] for _, _, worker_id, *_ in rows)
    figures = {
        "jobs": len(rows),
        "done": sum(status == "done" for _, status, *_ in rows),
        "done_once": sum(r[1] == "done" and r[3] == 1 and r[4] == 1 and r[5] == 1 for r in rows),
        "by_host": dict(sorted(by_host.items())),
        "namespaces_isolated": isolated,
        "seconds": round(elapsed, 2),
        "logs": str(folder),
    }
    assert sorted(r[0] for r in rows) == sorted(ids), "jobs missing or foreign"
    assert figures["done_once"] == num_jobs, figures
    expected = {h.name for h in hosts} | {"host-local"}
    assert set(by_host) == expected and all(by_host.values()), figures
    assert isolated, "a namespace reaches 127.0.0.1:5432: it is not a separate host"
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--namespaces", type=int, default=2)
    args = parser.parse_args()
    reason = netns_reason()
    if reason:
        print(f"hosts: {reason}", file=sys.stderr)
        return 2
    figures = run(args.jobs, args.namespaces)
    for name, value in figures.items():
        print(f"{name}: {value}")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
