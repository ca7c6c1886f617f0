"""What the SDK's and the remote commands' tests share: real servers on fresh databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.service.conftest import (
    POSTGRES_ADMIN_URL,
    Server,
    create_postgres_database,
    drop_postgres_database,
    start_server,
)

BELL_QASM = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# Workers look for jobs often, so that tests wait little.
FAST_QUEUE = {"OPENQPU_POLL_SECONDS": "0.05", "OPENQPU_LEASE_SECONDS": "3"}


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """A new database of the kind; PostgreSQL skips the tests, saying why, when unreachable."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'openqpu.db'}"
        return
    try:
        url = create_postgres_database()
    except Exception as exc:
        pytest.skip(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {exc}")
    try:
        yield url
    finally:
        drop_postgres_database(url)


@contextmanager
def running_server(kind: str, directory: Path, *, workers: int) -> Iterator[Server]:
    """An ``openqpu serve`` on a fresh database, stopped on exit."""
    with fresh_database(kind, directory) as url:
        server = start_server(url, directory / "server.log", workers=workers, extra_env=FAST_QUEUE)
        try:
            yield server
        finally:
            server.stop()
            # While the server shuts down its pool may replace a worker that SIGTERM
            # killed; the new one would outlive the test and poll a dropped database.
            server.kill()


def ghz_qasm(n: int) -> str:
    """An n-qubit GHZ chain (Clifford) in OpenQASM 2."""
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];", "h q[0];"]
    lines += [f"cx q[{i}],q[{i + 1}];" for i in range(n - 1)]
    return "\n".join([*lines, "measure q -> c;", ""])
