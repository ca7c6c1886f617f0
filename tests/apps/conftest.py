"""One local server (``openqpu.apps.common.LocalServer``) for every application test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openqpu.apps.common import LocalServer
from openqpu.qiskit import OpenQPUBackend, OpenQPUProvider


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    """``openqpu serve`` with one worker on a throw-away SQLite file."""
    with LocalServer() as server:
        yield server


@pytest.fixture(scope="session")
def statevector(local_server: LocalServer) -> Iterator[OpenQPUBackend]:
    """The ideal simulator on the local server, as its admin."""
    provider = OpenQPUProvider(local_server.url, local_server.token)
    yield provider.backend("statevector")
    provider.client.close()
