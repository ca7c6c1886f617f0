"""The Quafu documents built from openqpu's devices, calibrations and jobs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from qiskit import qasm2

from openqpu.device import default_catalog
from openqpu.device.generation import generate_snapshot
from openqpu.service.protocols import quafu as quafu

BELL_ON_3 = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg meas[3];\n'
    "h q[0];\ncx q[0],q[2];\nmeasure q[0] -> meas[0];\nmeasure q[2] -> meas[2];\n"
)


def test_quafu_protocol_counts_keep_measured_bits_with_bit_0_leftmost() -> None:
    measured = quafu.measurements_of(BELL_ON_3, "qasm2")
    assert measured.clbits == [0, 2]
    assert measured.qubit_to_clbit == {0: 0, 2: 2}
    # openqpu's "001": classical bit 0 is 1 (rightmost); Quafu's key starts with bit 0.
    assert measured.quafu_counts({"001": 7, "100": 3, "101": 5}) == {"10": 7, "01": 3, "11": 5}


def test_quafu_protocol_task_document_res_is_json_of_counts_only() -> None:
    job = {"id": "j1", "name": "{'x': __import__('os')}", "status": "done", "error": None}
    document = quafu.task_document(job, BELL_ON_3, "qasm2", {"000": 4, "101": 6})
    assert json.loads(document["res"]) == {"00": 4, "11": 6}
    assert document["res"] == document["raw"]
    assert (document["status"], document["task_id"], document["measure"]) == (
        2,
        "j1",
        "{0: 0, 2: 2}",
    )
    # Sent back as OpenQASM 2 that pyquafu reads: the same circuit, re-written.
    assert document["openqasm"] == qasm2.dumps(qasm2.loads(BELL_ON_3))
    queued = quafu.task_document({**job, "status": "queued"}, BELL_ON_3, "qasm2", None)
    assert (queued["status"], queued["res"]) == (0, "{}")
    failed = {**job, "status": "failed", "error": "over the time limit"}
    assert quafu.task_document(failed, BELL_ON_3, "qasm2", None)["msg"] == "over the time limit"


def test_quafu_protocol_status_numbers_cover_every_job_status() -> None:
    assert quafu.TASK_STATUS == {
        "queued": 0,
        "running": 1,
        "done": 2,
        "cancelled": 3,
        "failed": 4,
    }


def test_quafu_protocol_system_ids_are_stable_and_distinct() -> None:
    names = list(default_catalog())
    ids = [quafu.system_id(name) for name in names]
    assert len(set(ids)) == len(ids)
    assert quafu.system_id("lattice72") == 1677117562  # crc32: the same in every process


def test_quafu_protocol_chip_info_lists_working_couplers_only() -> None:
    device = default_catalog()["lattice12"]
    assert device.spec is not None
    snapshot = generate_snapshot(device.spec, seed=3, taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    info = quafu.chip_info(device, snapshot)
    structure = info["topological_structure"]
    assert len(structure) == len(snapshot.working_couplers())
    for index in snapshot.working_couplers():
        a, b = snapshot.couplers[index]
        cz = structure[f"Q{a}_Q{b}"]["cz"]
        assert cz["fidelity"] == round(1 - snapshot.cz_error[index], 6)
    assert set(info["qubits_info"]) == {f"Q{q}" for q in snapshot.working_qubits()}
    simulator = quafu.chip_info(default_catalog()["statevector"], None)
    assert simulator["topological_structure"] == {}


def test_quafu_protocol_errors_carry_both_message_fields() -> None:
    assert quafu.error(quafu.CIRCUIT_ERROR, "qtasm: 5:1: bad") == {
        "status": 5001,
        "message": "qtasm: 5:1: bad",
        "msg": "qtasm: 5:1: bad",
        "ok": False,
    }
