"""Hostile requests of issue 20: each is refused with a 4xx within a second, /healthz stays
fast meanwhile (against its idle latency in the same run), and the API's memory stays put.
"""

from __future__ import annotations

import os
import signal
import stat
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.formats.conftest import declaration_source, nested_source
from tests.service.conftest import Server, new_user, start_server

ROWS = {
    "qasm2 definitions 40 deep": ("qasm2", nested_source("qasm2", 40, 2)),
    "qasm3 definitions 16 deep": ("qasm3", nested_source("qasm3", 16, 2)),
    "qreg q[10000000]": ("qasm2", declaration_source("qasm2", True, 10_000_000)),
    "qubit[1000000000] q": ("qasm3", declaration_source("qasm3", True, 1_000_000_000)),
    "creg c[100000000]": ("qasm2", declaration_source("qasm2", False, 100_000_000)),
    "QINIT 1000000000": ("originir", declaration_source("originir", True, 1_000_000_000)),
    "CREG 1000000000": ("originir", declaration_source("originir", False, 1_000_000_000)),
    "CREG 10000000": ("originir", declaration_source("originir", False, 10_000_000)),
    "39 nested CONTROL": ("originir", nested_source("originir", 39, 1)),
}
# Passes every pre-scan cap (depth 8, 3^7 gates) but takes Qiskit seconds to compile.
# 4**8 = 65,536 expanded gates: under the pre-scan's 100,000, but some 15 s of parsing on
# the reference machine, far over the 2 s sandbox limit whatever the load (3**8 took
# 2.1 s: an idle machine finished it within the limit).
SLOW = nested_source("qasm2", 8, 4)
_state: dict[str, str] = {}


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server without workers or rate limits, whose sandbox gives a task 2 s."""
    folder = tmp_path_factory.mktemp("hostile")
    running = start_server(
        f"sqlite:///{folder / 'data' / 'hostile.db'}",
        folder / "server.log",
        workers=0,
        extra_env={"OPENQPU_RATE_LIMIT_PER_SECOND": "0", "OPENQPU_SANDBOX_SECONDS": "2"},
    )
    _state["key"] = new_user(running)
    try:
        yield running
    finally:
        running.stop()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _post(server: Server, body: dict) -> tuple[httpx.Response, float]:
    headers = {"Authorization": f"Bearer {_state['key']}"}
    start = time.perf_counter()
    answer = httpx.post(f"{server.url}/api/v1/jobs", json=body, headers=headers, timeout=60)
    return answer, time.perf_counter() - start


def _healthz_during(server: Server, busy: threading.Event) -> list[float]:
    times = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        while busy.is_set():
            start = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            times.append(time.perf_counter() - start)
            time.sleep(0.01)
    return times


def _idle_healthz(server: Server) -> float:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        client.get("/healthz")
        times = []
        for _ in range(30):
            start = time.perf_counter()
            client.get("/healthz")
            times.append(time.perf_counter() - start)
    return statistics.median(times)


@pytest.mark.parametrize("row", list(ROWS))
def test_hostile_source_is_refused_with_4xx_within_a_second(
    hostile_server: Server, row: str
) -> None:
    fmt, source = ROWS[row]
    body = {"device": "lattice72" if "CONTROL" in row else "statevector", "format": fmt,
            "circuits": [source], "shots": 10}  # fmt: skip
    answer, seconds = _post(hostile_server, body)
    assert answer.status_code == 400, answer.text
    assert seconds < 1.0
    detail = answer.json()["detail"]
    assert "over the limit" in detail or "more than device" in detail, detail


def test_estimate_with_100000_observables_is_refused_within_a_second(
    hostile_server: Server,
) -> None:
    bell = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0],q[1];\n'
    body = {"device": "statevector", "kind": "estimate", "circuits": [bell] * 10,
            "observables": [{"ZZ": 1.0}] * 100_000}  # fmt: skip
    answer, seconds = _post(hostile_server, body)
    assert answer.status_code == 400, answer.text[:300]
    assert (
        "100,000 observables is over the limit of 1,000 (OPENQPU_MAX_OBSERVABLES)"
        in (answer.json()["detail"])
    )
    assert seconds < 1.5  # the body is 1.1 MB of JSON


def test_slow_source_costs_one_sandbox_child_and_never_the_event_loop(
    hostile_server: Server,
) -> None:
    idle = _idle_healthz(hostile_server)
    rss_before = _rss_mb(hostile_server.process.pid)
    busy = threading.Event()
    busy.set()
    result: dict[str, list[float]] = {}
    watcher = threading.Thread(
        target=lambda: result.setdefault("times", _healthz_during(hostile_server, busy))
    )
    watcher.start()
    try:
        answer, seconds = _post(hostile_server, {"device": "statevector", "circuits": [SLOW]})
    finally:
        busy.clear()
        watcher.join()
    assert answer.status_code == 400, answer.text
    assert "longer than the limit of 2 s (OPENQPU_SANDBOX_SECONDS)" in answer.json()["detail"]
    assert seconds < 4
    during = result["times"]
    assert len(during) > 20
    # Measured against its own idle latency in this run: no request waited on the parse.
    assert statistics.median(during) < 5 * idle + 0.002, (idle, statistics.median(during))
    assert max(during) < 50 * idle + 0.05, (idle, max(during))
    for row in ROWS.values():
        _post(hostile_server, {"device": "statevector", "format": row[0], "circuits": [row[1]]})
    assert _rss_mb(hostile_server.process.pid) - rss_before < 100
    # The pool replaced the killed child: a new circuit is summarised again.
    fine = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\nrz(0.123) q[1];\n'
    answer, _ = _post(hostile_server, {"device": "statevector", "circuits": [fine]})
    assert answer.status_code == 201, answer.text


def test_dashboard_api_and_docs_send_security_headers_and_no_cdn(hostile_server: Server) -> None:
    for path in ("/web/", "/web/app.js", "/healthz", "/docs"):
        answer = httpx.get(f"{hostile_server.url}{path}", timeout=10)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
    page = httpx.get(f"{hostile_server.url}/docs", timeout=10).text
    assert "cdn" not in page.lower() and "<script>" not in page
    bundle = httpx.get(f"{hostile_server.url}/docs/assets/swagger-ui-bundle.js", timeout=10)
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    index = httpx.get(f"{hostile_server.url}/web/", timeout=10).text
    assert "<style" not in index and "<script>" not in index  # nothing inline to allow


def test_data_directory_database_and_admin_key_are_owner_only(hostile_server: Server) -> None:
    database = Path(hostile_server.database_url.split("///", 1)[1])
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    key_file = hostile_server.log_path.parent / "admin-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == hostile_server.admin_key
    assert hostile_server.admin_key not in hostile_server.log_path.read_text()


def test_quafu_protocol_is_rate_limited(tmp_path: Path) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 'q.db'}",
        tmp_path / "server.log",
        workers=0,
        extra_env={"OPENQPU_RATE_LIMIT_PER_SECOND": "1", "OPENQPU_RATE_LIMIT_BURST": "2"},
    )
    try:
        headers = {"api_token": server.admin_key}
        answers = [
            httpx.post(f"{server.url}/qbackend/get_backends/", headers=headers, timeout=10).json()
            for _ in range(4)
        ]
        assert any("rate limit" in str(answer.get("message", "")) for answer in answers), answers
    finally:
        server.stop()


def test_sigterm_stops_the_server_within_seconds_while_it_parses(tmp_path: Path) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 's.db'}",
        tmp_path / "server.log",
        workers=0,
        extra_env={"OPENQPU_SANDBOX_SECONDS": "60"},
    )
    body = {"device": "statevector", "circuits": [nested_source("qasm2", 8, 4)]}
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    sender = threading.Thread(
        target=lambda: _ignore(lambda: httpx.post(
            f"{server.url}/api/v1/jobs", json=body, headers=headers, timeout=60
        ))
    )  # fmt: skip
    sender.start()
    time.sleep(1.0)  # the sandbox child is busy compiling
    start = time.perf_counter()
    os.killpg(server.process.pid, signal.SIGTERM)
    server.process.wait(timeout=15)
    assert time.perf_counter() - start < 8
    sender.join(timeout=30)


def _ignore(call: object) -> None:
    try:
        call()  # type: ignore[operator]
    except httpx.HTTPError:
        pass
