"""The Python SDK: against real servers on SQLite and PostgreSQL, and against fakes for retries."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp

from openqpu import sim
from openqpu.client import (
    AuthenticationFailed,
    Client,
    ClientError,
    Conflict,
    InvalidRequest,
    JobFailed,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    ServerError,
    ServerUnreachable,
)
from openqpu.client import job as job_module
from openqpu.client.payload import encode_circuits, encode_observables
from openqpu.formats import loads
from tests.client.conftest import BELL_QASM, DATABASES, ghz_qasm, running_server
from tests.service.conftest import Server, add_user


def bell_circuit() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


@dataclass
class Remote:
    """A server with a worker, and its user's and administrator's clients."""

    server: Server
    user: Client
    admin: Client


@pytest.fixture(scope="module", params=DATABASES)
def remote(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Remote]:
    kind = str(request.param)
    with running_server(kind, tmp_path_factory.mktemp(kind), workers=1) as server:
        key = add_user(server, "alice")
        with Client(server.url, key) as user, Client(server.url, server.admin_key) as admin:
            yield Remote(server, user, admin)


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """The administrator's client of a server without workers, where jobs stay queued.

    What these tests check happens in the client, so SQLite alone is enough.
    """
    with running_server("sqlite", tmp_path_factory.mktemp("idle"), workers=0) as server:
        with Client(server.url, server.admin_key) as admin:
            yield admin


# End to end.


def test_client_sample_counts_equal_engine_per_circuit_seed(remote: Remote) -> None:
    bell = bell_circuit()
    job = remote.user.submit([bell, BELL_QASM], "statevector", shots=300, seed=17)
    assert job.last_info["status"] == "queued"
    result = job.result(timeout=60)
    assert result["seed"] == 17 and result["job_id"] == job.id
    # The server runs circuit i with seed + i.
    assert job.counts() == [
        sim.sample(bell, 300, seed=17),
        sim.sample(loads(BELL_QASM), 300, seed=18),
    ]


def test_client_submits_files_and_parameter_values(remote: Remote, tmp_path: Path) -> None:
    source = tmp_path / "bell.qasm"
    source.write_text(BELL_QASM)
    theta = Parameter("theta")
    rotation = QuantumCircuit(1, 1)
    rotation.rx(theta, 0)
    rotation.measure(0, 0)
    job = remote.user.submit(
        [source, rotation], "statevector", shots=50, seed=3, parameter_values=[[], [math.pi]]
    )
    counts = job.counts(timeout=60)
    assert counts == [sim.sample(loads(BELL_QASM), 50, seed=3), {"1": 50}]


def test_client_estimate_equals_engine(remote: Remote) -> None:
    circuit = QuantumCircuit(2)
    circuit.ry(0.7, 0)
    circuit.cx(0, 1)
    observables = [SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.3)]), SparsePauliOp("XX")]
    job = remote.user.submit(circuit, "statevector", kind="estimate", observables=observables)
    values = job.expectation_values(timeout=60)
    expected = sim.expectation(circuit, observables)
    # The server rebuilds each operator from its labels, so sums may differ in the last bit.
    assert values[0] == pytest.approx(expected.tolist(), rel=1e-12, abs=1e-12)
    with pytest.raises(ValueError, match="estimate job; it has no counts"):
        job.counts()


def test_client_resubmit_with_same_key_returns_same_job(remote: Remote) -> None:
    key = f"test-{uuid.uuid4()}"
    first = remote.user.submit(BELL_QASM, "statevector", shots=10, idempotency_key=key)
    second = remote.user.submit(BELL_QASM, "statevector", shots=10, idempotency_key=key)
    assert second.id == first.id and second == first
    assert remote.user.submit(BELL_QASM, "statevector", shots=10).id != first.id


def test_client_bad_key_is_authentication_error(remote: Remote) -> None:
    with Client(remote.server.url, "oqk_0000000000000000_nope") as stranger:
        with pytest.raises(AuthenticationFailed) as caught:
            stranger.devices()
    assert caught.value.status_code == 401
    assert "key" in str(caught.value).lower()


def test_client_unknown_device_names_the_field(remote: Remote) -> None:
    with pytest.raises(InvalidRequest, match="no device 'nope'") as caught:
        remote.user.submit(BELL_QASM, "nope")
    assert caught.value.field == "device" and caught.value.status_code == 400


def test_client_syntax_error_has_line_and_column(remote: Remote) -> None:
    broken = BELL_QASM.replace("h q[0];", "h q[0]")
    with pytest.raises(InvalidRequest, match="circuits\\[1\\]: 6:1: ") as caught:
        remote.user.submit([BELL_QASM, broken], "statevector")
    assert (caught.value.field, caught.value.line, caught.value.column) == ("circuits[1]", 6, 1)


def test_client_schema_error_is_invalid_request(remote: Remote) -> None:
    with pytest.raises(InvalidRequest, match="shots: Input should be greater") as caught:
        remote.user.submit(BELL_QASM, "statevector", shots=0)
    assert caught.value.field == "shots" and caught.value.status_code == 422


def test_client_other_users_job_is_not_found(remote: Remote) -> None:
    theirs = remote.admin.submit(BELL_QASM, "statevector", shots=10)
    with pytest.raises(NotFound, match=f"no job '{theirs.id}'") as caught:
        remote.user.job(theirs.id)
    assert caught.value.status_code == 404
    assert remote.admin.job(theirs.id).id == theirs.id


def test_client_lists_own_jobs_with_filters(remote: Remote) -> None:
    job = remote.user.submit(BELL_QASM, "statevector", shots=10, name="listed")
    job.result(timeout=60)
    done = remote.user.jobs(status="done", device="statevector", limit=500)
    assert job in done and done.total >= len(done) >= 1
    assert all(other.last_info["status"] == "done" for other in done)
    assert job.id not in {other.id for other in remote.user.jobs(status="queued")}
    assert job.last_info["name"] == "listed"


def test_client_devices_and_stats(remote: Remote) -> None:
    names = [device["name"] for device in remote.user.devices()]
    assert "statevector" in names
    assert remote.user.device("statevector")["num_qubits"] >= 20
    with pytest.raises(NotFound, match="no device 'nope'"):
        remote.user.device("nope")
    assert "tasks_completed" in remote.user.stats()


def test_client_runs_on_a_chip_with_mitigation_and_reads_calibration(remote: Remote) -> None:
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    job = remote.user.submit(
        bell, "lattice12", shots=2000, seed=4, optimization_level=1, mitigation="readout"
    )
    entry = job.result(timeout=60)["results"][0]
    assert entry["compiled"]["optimization_level"] == 1
    assert sum(entry["counts"].values()) == 2000
    assert sum(entry["mitigated_probabilities"].values()) == pytest.approx(1)
    calibration = remote.user.calibration("lattice12")
    assert calibration["id"] == entry["calibration_id"]
    assert (
        remote.user.calibration("lattice12", at=calibration["taken_at"])["id"]
        == entry["calibration_id"]
    )
    with pytest.raises(NotFound, match="no calibration"):
        remote.user.calibration("statevector")


def test_client_estimate_says_method_seconds_and_queue_without_queueing(remote: Remote) -> None:
    before = remote.user.jobs(limit=1).total
    plan = remote.user.estimate([BELL_QASM, BELL_QASM], "lattice12", shots=1000, seed=3)
    assert plan["dry_run"] is True and plan["device"] == "lattice12" and plan["shots"] == 1000
    assert [entry["index"] for entry in plan["circuits"]] == [0, 1]
    entry = plan["circuits"][0]
    assert entry["method"] == "density_matrix"  # 2 qubits, terminal measurements
    assert entry["num_two_qubit_gates"] >= 1 and entry["depth"] >= 2
    assert len(entry["physical_qubits"]) == 2 and 0 < entry["estimated_success_probability"] < 1
    assert plan["estimated_seconds"] == pytest.approx(
        sum(e["estimated_seconds"] for e in plan["circuits"]), abs=2e-3
    )
    assert isinstance(plan["queue_position"], int) and plan["queue_position"] >= 0
    ideal = remote.user.estimate(BELL_QASM, "statevector", shots=10)
    assert ideal["circuits"][0]["method"] == "statevector"
    assert ideal["circuits"][0]["num_qubits"] == 2
    assert remote.user.jobs(limit=1).total == before  # nothing queued


def test_client_estimate_of_a_wide_clifford_circuit_picks_stabilizer(remote: Remote) -> None:
    plan = remote.user.estimate(ghz_qasm(40), "lattice72", shots=1000)
    entry = plan["circuits"][0]
    assert entry["method"] == "stabilizer"
    assert len(entry["physical_qubits"]) == 40 and entry["num_two_qubit_gates"] >= 39
    assert set(entry["methods_rejected"]) >= {"density_matrix", "statevector"}
    assert plan["estimated_seconds"] < 60
    with pytest.raises(InvalidRequest, match="'density_matrix' cannot run") as refused:
        remote.user.estimate(ghz_qasm(40), "lattice72", shots=1000, method="density_matrix")
    assert refused.value.field == "method"


def test_client_submit_with_a_method_reports_it_in_the_result(remote: Remote) -> None:
    job = remote.user.submit(BELL_QASM, "lattice12", shots=200, seed=4, method="statevector")
    entry = job.result(timeout=60)["results"][0]
    assert entry["method"] == "statevector"
    assert isinstance(entry["approximations"], list)
    assert isinstance(entry["method_figures"], dict)
    assert sum(entry["counts"].values()) == 200


def test_client_cancel_of_finished_job_is_conflict(remote: Remote) -> None:
    job = remote.user.submit(BELL_QASM, "statevector", shots=10)
    job.result(timeout=60)
    with pytest.raises(Conflict, match="is already done") as caught:
        job.cancel()
    assert caught.value.status_code == 409


def test_client_result_times_out_on_a_job_that_cannot_run(idle: Client) -> None:
    job = idle.submit(BELL_QASM, "statevector", shots=10)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=f"job {job.id} is still queued after 0.3 s"):
        job.result(timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 3


def test_client_progress_line_on_stderr(idle: Client, capsys: pytest.CaptureFixture[str]) -> None:
    job = idle.submit(BELL_QASM, "statevector", shots=10)
    position = job.last_info["queue_position"]
    with pytest.raises(TimeoutError):
        job.result(timeout=0.2, progress=True)
    ahead = f"{position} job{'' if position == 1 else 's'} ahead in the queue"
    assert capsys.readouterr().err == f"job {job.id}: queued, {ahead}\n"


def test_client_cancelled_job_result_raises_job_failed(idle: Client) -> None:
    job = idle.submit(BELL_QASM, "statevector", shots=10)
    job.cancel()
    assert job.last_info["status"] == "cancelled" and job.status() == "cancelled"
    with pytest.raises(JobFailed, match=f"job {job.id} was cancelled") as caught:
        job.result(timeout=5)
    assert caught.value.status == "cancelled" and caught.value.job_id == job.id


# Retries, errors and encoding, against in-process fakes.


Handler = Callable[[httpx.Request], httpx.Response]


def fake_client(handler: Handler, **options: Any) -> Client:
    """A client whose requests go to ``handler``, with no waits between tries."""
    options.setdefault("backoff_s", 0.0)
    return Client("http://fake.test", "oqk_a_b", transport=httpx.MockTransport(handler), **options)


def test_client_retries_503_then_succeeds() -> None:
    answers = [httpx.Response(503), httpx.Response(502), httpx.Response(200, json=[])]
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return answers[len(calls) - 1]

    assert fake_client(handler).devices() == []
    assert len(calls) == 3
    assert calls[0].headers["Authorization"] == "Bearer oqk_a_b"


def test_client_gives_up_after_retries_with_server_unreachable() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ServerUnreachable, match=r"cannot reach http://fake.test: .*\(3 tries\)"):
        fake_client(handler, retries=2).devices()
    assert len(calls) == 3


def test_client_waits_longer_between_each_try(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr("openqpu.client.transport.time.sleep", waits.append)
    with pytest.raises(ServerError, match="HTTP 504"):
        fake_client(lambda _request: httpx.Response(504), backoff_s=0.5, retries=5).devices()
    # Doubling waits, each with up to 25 % of random jitter, never over 10 s.
    for wait, base in zip(waits, [0.5, 1.0, 2.0, 4.0, 8.0], strict=True):
        assert base <= wait <= min(1.25 * base, 10.0)


def _rate_limited(retry_after: str | None = "1") -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"detail": "rate limit of 5 requests/s per API key reached; retry in 1 s",
            "error": "RateLimited"}  # fmt: skip
    return httpx.Response(429, json=body, headers=headers)


def test_client_retries_429_honouring_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr("openqpu.client.transport.time.sleep", waits.append)
    answers = iter([_rate_limited("2"), _rate_limited(None), httpx.Response(201, json={
        "id": "j1", "status": "queued"})])  # fmt: skip
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return next(answers)

    job = fake_client(handler, backoff_s=0.1).submit(BELL_QASM, "statevector")
    assert job.id == "j1" and calls == ["POST"] * 3
    assert 2.0 <= waits[0] <= 2.5  # Retry-After: 2, with jitter
    assert 0.2 <= waits[1] <= 0.25  # no Retry-After: the back-off (0.1 s doubled once)


def test_client_raises_quota_error_only_when_retries_are_spent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    monkeypatch.setattr("openqpu.client.transport.time.sleep", waits.append)
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return _rate_limited("1")

    with pytest.raises(QuotaExceeded, match=r"retry in 1 s \(gave up after 4 tries\)$") as caught:
        fake_client(handler, retries=3, backoff_s=0.1).job("j1").cancel()  # not repeatable
    assert len(calls) == 4 and len(waits) == 3  # a 429 did nothing: even a cancel is retried
    assert all(1.0 <= wait <= 1.25 for wait in waits)
    assert caught.value.retry_after == 1


def test_client_does_not_wait_out_a_long_retry_after() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return _rate_limited("3600")  # a daily quota: waiting is no use

    with pytest.raises(QuotaExceeded) as caught:
        fake_client(handler, retries=3).devices()
    assert len(calls) == 1 and caught.value.retry_after == 3600


def test_client_submit_retry_sends_the_same_idempotency_key() -> None:
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(201, json={"id": "j1", "status": "queued"})

    job = fake_client(handler).submit(BELL_QASM, "statevector", shots=5)
    assert job.id == "j1" and len(bodies) == 2
    assert bodies[0] == bodies[1]
    assert uuid.UUID(bodies[0]["idempotency_key"])
    assert bodies[0]["circuits"] == [BELL_QASM] and "seed" not in bodies[0]


def test_client_cancel_is_not_repeated_after_a_timeout() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/cancel"):
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, json={"id": "j1", "status": "queued"})

    with pytest.raises(ServerUnreachable, match="timed out"):
        fake_client(handler).job("j1").cancel()
    assert calls == ["/api/v1/jobs/j1", "/api/v1/jobs/j1/cancel"]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, InvalidRequest),
        (401, AuthenticationFailed),
        (403, PermissionDenied),
        (404, NotFound),
        (409, Conflict),
        (413, InvalidRequest),
        (422, InvalidRequest),
        (429, QuotaExceeded),
        (500, ServerError),
        (503, ServerError),
        (418, ClientError),
    ],
)
def test_client_error_status_becomes_typed_error(status: int, kind: type[ClientError]) -> None:
    body = {"detail": "what went wrong", "error": "Something", "field": "shots"}
    client = fake_client(lambda _request: httpx.Response(status, json=body), retries=0)
    with pytest.raises(kind, match=r"^what went wrong$") as caught:
        client.stats()
    assert type(caught.value) is kind
    assert (caught.value.status_code, caught.value.error) == (status, "Something")
    assert caught.value.field == "shots"


def test_client_quota_error_carries_retry_after() -> None:
    answer = httpx.Response(
        429, json={"detail": "daily shot limit reached", "error": "QuotaExceeded"},
        headers={"Retry-After": "120"},
    )  # fmt: skip
    with pytest.raises(QuotaExceeded, match="daily shot limit") as caught:
        fake_client(lambda _request: answer).submit(BELL_QASM, "statevector")
    assert caught.value.retry_after == 120


def test_client_proxy_error_page_is_server_error() -> None:
    page = httpx.Response(502, text="<html><body>Bad Gateway</body></html>")
    with pytest.raises(ServerError, match=r"^HTTP 502 Bad Gateway from http://fake\.test/api/v1/"):
        fake_client(lambda _request: page, retries=1).devices()


def test_client_result_polls_with_growing_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(job_module.time, "sleep", waits.append)
    statuses = iter(["queued"] * 12 + ["running", "done"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/result"):
            return httpx.Response(200, json={"kind": "sample", "results": [{"counts": {"0": 1}}]})
        return httpx.Response(200, json={"id": "j1", "status": next(statuses)})

    job = fake_client(handler).job("j1")
    assert job.counts() == [{"0": 1}]
    assert waits[:3] == pytest.approx([0.05, 0.075, 0.1125])
    assert max(waits) == 2.0 and len(waits) == 12


def test_client_rejects_a_url_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="url: expected http"):
        Client("ftp://example.org", "oqk_a_b")


def test_client_encodes_circuits_of_every_kind(tmp_path: Path) -> None:
    path = tmp_path / "bell.qasm"
    path.write_text(BELL_QASM)
    encoded = encode_circuits([bell_circuit(), BELL_QASM, path, str(path)])
    assert encoded[1:] == [BELL_QASM] * 3
    assert "OPENQASM" not in encoded[0]  # base64 QPY
    assert encode_circuits(BELL_QASM) == [BELL_QASM]
    with pytest.raises(TypeError, match=r"circuits\[0\]: expected a QuantumCircuit"):
        encode_circuits([42])
    with pytest.raises(ValueError, match="at least one circuit"):
        encode_circuits([])


def test_client_encodes_observables_as_real_label_maps() -> None:
    repeated = SparsePauliOp(["ZZ", "XI", "ZZ"], [1.0, 0.5, 2.0])
    assert encode_observables(repeated) == [{"ZZ": 3.0, "XI": 0.5}]
    assert encode_observables([{"ZI": 1}, "XX"]) == [{"ZI": 1.0}, {"XX": 1.0}]
    assert encode_observables(None) is None
    with pytest.raises(ValueError, match="observables\\[0\\]: term ZZ has the complex"):
        encode_observables([SparsePauliOp(["ZZ"], [1j])])


def test_import_openqpu_does_not_import_httpx() -> None:
    code = (
        "import sys, openqpu\n"
        "assert 'httpx' not in sys.modules, 'httpx imported early'\n"
        "assert openqpu.Client.__name__ == 'Client' and 'httpx' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
