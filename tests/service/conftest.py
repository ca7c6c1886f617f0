"""Real servers for service tests: uvicorn on a free port, on SQLite and PostgreSQL.

PostgreSQL tests use the server on 127.0.0.1:5432 (trust auth) and skip, saying
why, when none is reachable. Each test session gets its own fresh database.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from openqpu.cli import spawn
from openqpu.cli.spawn import Server as Server  # re-exported for the tests
from openqpu.cli.spawn import free_port as free_port

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from openqpu.service.store.accounts import Principal
    from openqpu.service.store.database import Database

POSTGRES_ADMIN_URL = os.environ.get(
    "OPENQPU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
KEY_PATTERN = re.compile(r"(oqk_[A-Za-z0-9]+_[A-Za-z0-9_-]+)")


def _postgres_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {exc}"


def create_postgres_database() -> str:
    """A new, empty database; returns its URL."""
    import psycopg

    name = f"openqpu_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    """Drop a database made by ``create_postgres_database``."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


DATABASE_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'openqpu.db'}"
        return
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each kind."""
    yield from _database(request.param, tmp_path)


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database of each kind, shared by a test module."""
    yield from _database(request.param, tmp_path_factory.mktemp("db"))


def start_server(
    database_url: str, log_path: Path, *, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Server:
    """``openqpu serve`` in its own process group, answering (``openqpu.cli.spawn``)."""
    return spawn.start_server(database_url, log_path, workers=workers, env=extra_env)


FAST_LEASES = {"OPENQPU_LEASE_SECONDS": "3", "OPENQPU_POLL_SECONDS": "0.1"}

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)
GHZ3 = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[3] c;\n'
    "h q[0];\ncx q[0], q[1];\ncx q[1], q[2];\nc = measure q;\n"
)


def slow_circuit(num_qubits: int = 20, layers: int = 30) -> str:
    """OpenQASM 2 of a circuit that keeps a worker busy for seconds."""
    from qiskit import QuantumCircuit, qasm2

    circuit = QuantumCircuit(num_qubits, num_qubits)
    for layer in range(layers):
        for q in range(num_qubits):
            circuit.ry(0.1 + 0.01 * (layer + q), q)
        for q in range(num_qubits - 1):
            circuit.cx(q, q + 1)
    circuit.measure(range(num_qubits), range(num_qubits))
    return qasm2.dumps(circuit)


def wait_done(client: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll until the job is final; its document."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def without_timings(result: dict[str, Any]) -> dict[str, Any]:
    """A result document without its wall-clock figures (they differ run to run)."""
    out = {k: v for k, v in result.items() if k != "execution_seconds"}
    out["results"] = [{k: v for k, v in e.items() if k != "seconds"} for e in result["results"]]
    return out


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated, empty database of each kind, opened in this process."""
    from openqpu.service.store.database import Database

    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """A server with one worker on a fresh database of each kind."""
    running = start_server(database_url, tmp_path / "server.log", extra_env=FAST_LEASES)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def shared_server(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server per test module and database kind; tests isolate by using new users."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    running = start_server(module_database_url, log, extra_env=FAST_LEASES)
    try:
        yield running
    finally:
        running.stop()


def new_user(server: Server, name: str | None = None, country: str = "CN") -> str:
    """Create a user directly in the server's database and return their key."""
    from openqpu.service.store import accounts
    from openqpu.service.store.database import Database

    database = Database(server.database_url)
    try:
        with database.write() as session:
            user = accounts.add_user(session, name or f"user-{uuid.uuid4().hex[:8]}", country)
            return accounts.issue_key(session, user)
    finally:
        database.dispose()


def add_user(server: Server, name: str, country: str = "CN") -> str:
    """Create a user through the CLI (as an operator would) and return their key."""
    result = subprocess.run(
        [sys.executable, "-m", "openqpu.cli", "user", "add", name, "--country", country,
         "--db", server.database_url],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    match = KEY_PATTERN.search(result.stdout)
    assert match, result.stdout + result.stderr
    return match.group(1)


def principal(db: Database, name: str, country: str = "CN") -> Principal:
    """A new user ``name`` in ``db``, as an API key of theirs authenticates."""
    from openqpu.service.store import accounts

    with db.write() as session:
        user = accounts.add_user(session, name, country)
        token = accounts.issue_key(session, user)
    with db.read() as session:
        return accounts.authenticate(session, token)


def engine_at_revision(database_url: str, revision: str) -> Engine:
    """An engine on ``database_url``, its (empty) schema brought to Alembic ``revision``:
    a database as an older server left it, for testing the migrations after it."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from openqpu.service.store.database import MIGRATIONS, Database

    engine = create_engine(Database(database_url).url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return engine
