"""A real openqpu server for the Qiskit front end's tests, one per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openqpu.qiskit import OpenQPUProvider
from tests.service.conftest import new_user, start_server

# Workers look for jobs often, so that tests wait little.
FAST_QUEUE = {"OPENQPU_POLL_SECONDS": "0.05", "OPENQPU_LEASE_SECONDS": "3"}


def _provider(directory: Path, *, workers: int) -> Iterator[OpenQPUProvider]:
    server = start_server(
        f"sqlite:///{directory / 'openqpu.db'}",
        directory / "server.log",
        workers=workers,
        extra_env=FAST_QUEUE,
    )
    try:
        provider = OpenQPUProvider(server.url, new_user(server))
        yield provider
        provider.client.close()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenQPUProvider]:
    """A provider on a server with one worker (SQLite), as a new user."""
    yield from _provider(tmp_path_factory.mktemp("qiskit"), workers=1)


@pytest.fixture(scope="module")
def idle_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenQPUProvider]:
    """A provider on a server without workers, where jobs stay queued."""
    yield from _provider(tmp_path_factory.mktemp("qiskit-idle"), workers=0)
