"""The SDK's manners under load, and how it and the server read published OpenQASM 2 files,
against a real server whose rate limit is small."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openqpu import Client
from tests.client.conftest import BELL_QASM, FAST_QUEUE
from tests.service.conftest import Server, add_user, start_server

# A Bell pair as published benchmark suites write it: no OPENQASM line.
HEADERLESS_BELL = BELL_QASM.replace("OPENQASM 2.0;\n", "")


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server without workers (jobs stay queued) that takes 20 requests/s per key."""
    folder = tmp_path_factory.mktemp("limited")
    env = {**FAST_QUEUE, "OPENQPU_RATE_LIMIT_PER_SECOND": "20", "OPENQPU_RATE_LIMIT_BURST": "5"}
    server = start_server(f"sqlite:///{folder / 'openqpu.db'}", folder / "server.log",
                          workers=0, extra_env=env)  # fmt: skip
    try:
        yield server
    finally:
        server.stop()


def test_server_sends_retry_after_in_whole_seconds(limited: Server) -> None:
    key = add_user(limited, "flooder")
    with httpx.Client(base_url=limited.url, headers={"Authorization": f"Bearer {key}"}) as http:
        answers = [http.get("/api/v1/devices") for _ in range(30)]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused, "30 requests in a burst of 5 at 20/s: some must be refused"
    for answer in refused:
        assert answer.headers["Retry-After"].isdigit()
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.json()["detail"].endswith(f"retry in {answer.headers['Retry-After']} s")


def test_client_32_threads_submitting_through_one_client_all_succeed(limited: Server) -> None:
    key = add_user(limited, "busy")
    ids: list[str] = []
    errors: list[Exception] = []
    with Client(limited.url, key) as client:

        def submit() -> None:
            try:
                ids.append(client.submit(BELL_QASM, "statevector", shots=10).id)
            except Exception as exc:  # collected: the test says which
                errors.append(exc)

        threads = [threading.Thread(target=submit) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    assert len(set(ids)) == 32


def test_client_submit_of_a_headerless_qasm2_file_warns(limited: Server, tmp_path: Path) -> None:
    path = tmp_path / "bell.qasm"
    path.write_text(HEADERLESS_BELL)
    with Client(limited.url, add_user(limited, "reader")) as client:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            job = client.submit(path, "statevector", shots=10)
        said = job.last_info["warnings"]  # in the answer to the submit
        assert job.status() == "queued"  # read, checked and stored as OpenQASM 2
    assert said == [
        "circuits[0]: no 'OPENQASM 2.0;' header: read as OpenQASM 2 because it includes "
        '"qelib1.inc"'
    ]
    assert [str(w.message) for w in caught] == said
