"""Hostile input: fuzzed requests and circuit sources never get a 5xx, and the server stays up.

Schemathesis generates requests for every operation of the OpenAPI schema; Hypothesis
mutates real OpenQASM 2/3 and OriginIR sources character by character.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.formats.conftest import large_declarations, nested_definitions
from tests.service.conftest import Server, new_user, start_server

schemathesis = pytest.importorskip("schemathesis")

DATA = Path(__file__).parents[1] / "data"
SOURCES = [
    (DATA / "originir" / "bell.ir").read_text(),
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nh q[0];\ncx q[0],q[1];\n'
    "u3(0.1,0.2,0.3) q[2];\nmeasure q -> c;\n",
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\n'
    "cx q[0], q[1];\nif (c[0]) x q[1];\nc = measure q;\n",
]
_state: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server without workers (accepted jobs stay queued) and without rate limits."""
    folder = tmp_path_factory.mktemp("fuzz")
    running = start_server(
        f"sqlite:///{folder / 'fuzz.db'}",
        folder / "server.log",
        workers=0,
        extra_env={
            "OPENQPU_RATE_LIMIT_PER_SECOND": "0",
            "OPENQPU_MAX_QUEUED_JOBS_PER_USER": "5000",
        },
    )
    _state["key"] = new_user(running)
    try:
        yield running
    finally:
        running.stop()


def test_no_operation_answers_5xx(fuzz_server: Server) -> None:
    """Every operation of the OpenAPI schema, with requests Schemathesis generates."""
    api = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {_state['key']}"}
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            derandomize=True,  # the same requests every run: CI must not be a lottery
            suppress_health_check=list(HealthCheck),
        )
        def never_5xx(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=headers, timeout=30)
            assert response.status_code < 500, (case.method, case.path, response.text[:300])

        never_5xx()


_mutation = st.tuples(
    st.sampled_from(["insert", "delete", "replace"]),
    st.floats(0, 1),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=6),
)


def _mutated(source: str, edits: list[tuple[str, float, str]]) -> str:
    for kind, where, text in edits:
        at = int(where * len(source))
        if kind == "insert":
            source = source[:at] + text + source[at:]
        elif kind == "delete":
            source = source[:at] + source[at + len(text) :]
        else:
            source = source[:at] + text + source[at + len(text) :]
    return source


@given(
    source=st.sampled_from(SOURCES),
    edits=st.lists(_mutation, min_size=1, max_size=4),
    fmt=st.sampled_from(["auto", "qasm2", "qasm3", "originir"]),
    device=st.sampled_from(["statevector", "lattice12"]),
)
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same mutations every run; raise max_examples to explore more
    suppress_health_check=list(HealthCheck),
)
def test_mutated_circuits_are_accepted_or_refused_with_4xx(
    fuzz_server: Server, source: str, edits: list[tuple[str, float, str]], fmt: str, device: str
) -> None:
    body = {"device": device, "circuits": [_mutated(source, edits)], "format": fmt, "shots": 10}
    with httpx.Client(base_url=fuzz_server.url, timeout=30) as client:
        answer = client.post(
            "/api/v1/jobs", json=body, headers={"Authorization": f"Bearer {_state['key']}"}
        )
    assert answer.status_code in (201, 400, 422), answer.text[:300]
    if answer.status_code != 201:
        assert answer.json()["detail"]


@given(case=st.one_of(nested_definitions(), large_declarations(max_qubits=72)))
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_nested_definitions_and_large_declarations_are_answered_quickly_with_4xx_or_201(
    fuzz_server: Server, case: tuple[str, str, str | None]
) -> None:
    source, fmt, expected = case
    body = {"device": "lattice72", "circuits": [source], "format": fmt, "shots": 10}
    with httpx.Client(base_url=fuzz_server.url, timeout=30) as client:
        answer = client.post(
            "/api/v1/jobs", json=body, headers={"Authorization": f"Bearer {_state['key']}"}
        )
    assert answer.status_code in (201, 400), answer.text[:300]
    if expected is not None:
        assert answer.status_code == 400
        detail = answer.json()["detail"]
        assert "limit" in detail or "more than device" in detail, detail
    # The server's own sandbox limit bounds the rest; nothing waits on it for long.
    assert answer.elapsed.total_seconds() < 12


def test_the_server_is_still_up_after_fuzzing(fuzz_server: Server) -> None:
    assert fuzz_server.process.poll() is None
    assert httpx.get(f"{fuzz_server.url}/healthz", timeout=5).status_code == 200
