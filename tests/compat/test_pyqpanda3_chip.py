"""pyqpanda3's chip calls against a live openqpu server: the reference chip's names,
``chip_info`` and ``chip_backend`` from the calibration in force, ``best_qubit_blocks``,
``set_specified_block``, ``run_instruction``, state tomography and the result accessors
real programs print; and the calls openqpu refuses, with a message naming them.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from openqpu.formats import originir
from tests.compat.test_pyqpanda3 import run_client
from tests.service.conftest import Server, new_user


def _mapping(text: str) -> dict[str, list[int]]:
    """``{SrcQubits:[0,1],TargetCbits:[0,1],MappingQubits:[38,44]}`` (the reference's spelling)."""
    return {
        name: [int(v) for v in values.split(",") if v]
        for name, values in re.findall(r"(\w+):\[([^\]]*)\]", text)
    }


def _calibration(server: Server, key: str) -> dict[str, Any]:
    with server.client(key) as client:
        return dict(client.get("/api/v1/devices/lattice72/calibration").json())


def test_pyqpanda3_reference_chip_names_reach_lattice72(
    qpanda_python: Path, server: Server
) -> None:
    key = new_user(server)
    listed, names, job_ids = run_client(
        qpanda_python,
        server,
        key,
        """
        jobs = [service.backend(name).run(x0, 10, qcloud.QCloudOptions())
                for name in ("origin_wukong", "72")]
        show([service.backends(), [service.backend(n).name() for n in ("origin_wukong", "72")],
              [job.job_id() for job in jobs]])
        """,
    )
    assert {"72": True, "origin_wukong": True, "lattice72": True}.items() <= listed.items()
    assert names == ["72", "72"]  # the SDK sends origin_wukong as ChipID "72"
    with server.client(key) as client:
        for job_id in job_ids:
            assert client.get(f"/api/v1/jobs/{job_id}").json()["device"] == "lattice72"
        # The REST API takes an alias on submit and answers with the canonical name.
        x0 = "QINIT 1\nCREG 1\nX q[0]\nMEASURE q[0],c[0]\n"
        answer = client.post(
            "/api/v1/jobs", json={"device": "origin_wukong", "circuits": [x0], "shots": 10}
        )
    assert answer.status_code == 201 and answer.json()["device"] == "lattice72"


def test_pyqpanda3_chip_info_is_the_calibration_in_force(
    qpanda_python: Path, server: Server
) -> None:
    key = new_user(server)
    info = run_client(
        qpanda_python,
        server,
        key,
        """
        info = service.backend("origin_wukong").chip_info()
        show({
            "chip_id": info.chip_id(), "qubits_num": info.qubits_num(),
            "available": info.available_qubits(), "high": info.high_frequency_qubits(),
            "gates": info.get_basic_gates(), "topology": info.get_chip_topology(),
            "sub_topology": info.get_chip_topology([0, 1, 6, 7]),
            "single": [[s.get_qubit_id(), s.get_t1(), s.get_t2(), s.get_frequency(),
                        s.get_single_gate_fidelity(), s.get_readout_fidelity()]
                       for s in info.single_qubit_info()],
            "double": [[d.get_qubits(), d.get_fidelity()] for d in info.double_qubits_info()],
            "timing": [info.get_single_gate_timing(), info.get_double_gate_timing()],
            "backend_edges": len(service.backend("72").chip_backend().chip_topology_edges),
        })
        """,
    )
    snapshot = _calibration(server, key)
    disabled = set(snapshot["disabled_qubits"])
    working = [q for q in range(72) if q not in disabled]
    couplers = [tuple(c) for c in snapshot["couplers"]]
    usable = {
        c: 1 - snapshot["cz_error"][i]
        for i, c in enumerate(couplers)
        if c not in {tuple(d) for d in snapshot["disabled_couplers"]} and not set(c) & disabled
    }
    assert (info["chip_id"], info["qubits_num"], info["available"]) == ("72", 72, working)
    assert info["gates"] == ["RZ", "X1", "X", "CZ"]
    assert {tuple(edge) for edge in info["topology"]} == set(usable)
    assert {tuple(pair) for pair, _ in info["double"]} == set(usable)  # one per coupler
    for pair, fidelity in info["double"]:
        assert fidelity == pytest.approx(usable[tuple(pair)])
    assert info["backend_edges"] == len(usable)
    for qubit_id, t1, t2, frequency, gate, readout in info["single"]:
        q = int(qubit_id)
        assert (t1, t2) == pytest.approx((snapshot["t1_us"][q], snapshot["t2_us"][q]))
        assert frequency == pytest.approx(snapshot["frequency_ghz"][q] * 1e9)  # Hz
        assert gate == pytest.approx(1 - snapshot["gate_error_1q"][q])
        errors = snapshot["readout_error_0to1"][q] + snapshot["readout_error_1to0"][q]
        assert readout == pytest.approx(1 - errors / 2)
    assert [int(s[0]) for s in info["single"]] == working
    median = float(np.median([snapshot["frequency_ghz"][q] for q in working]))
    assert info["high"] == [q for q in working if snapshot["frequency_ghz"][q] > median]
    assert info["timing"] == [30, 60]  # lattice72's nominal 1q and CZ durations, in ns


def _score(block: list[int], info: dict[str, Any]) -> float:
    """Log estimated fidelity of a block, computed here from the SDK's ChipInfo values:
    qubit 1q-gate x readout fidelities times the best spanning tree of its couplers."""
    single = {int(s[0]): s[4] * s[5] for s in info["single"]}
    edges = {tuple(sorted(pair)): fid for pair, fid in info["double"]}
    total = sum(math.log(single[q]) for q in block)
    reached, rest = {block[0]}, set(block[1:])
    while rest:  # Prim
        best = max(
            ((edges[(min(a, b), max(a, b))], b) for a in reached for b in rest
             if (min(a, b), max(a, b)) in edges),
            default=None,
        )  # fmt: skip
        if best is None:
            return -math.inf
        total += math.log(best[0])
        reached.add(best[1])
        rest.discard(best[1])
    return total


def test_pyqpanda3_best_qubit_blocks_are_the_best_connected_blocks(
    qpanda_python: Path, server: Server
) -> None:
    got = run_client(
        qpanda_python,
        server,
        new_user(server),
        """
        backend = service.backend("origin_wukong")
        info = backend.chip_info()
        blocks = backend.best_qubit_blocks(3, 1, 5)
        wide = service.best_qubit_blocks("72", 12)
        show({"blocks": blocks.qubit_blocks, "num": [blocks.qubit_num, blocks.qubit_block_num],
              "wide": wide.qubit_blocks,
              "single": [[s.get_qubit_id(), 0, 0, 0, s.get_single_gate_fidelity(),
                          s.get_readout_fidelity()] for s in info.single_qubit_info()],
              "double": [[d.get_qubits(), d.get_fidelity()] for d in info.double_qubits_info()]})
        """,
    )
    assert got["num"] == [3, 5]
    scores = [_score(block, got) for block in got["blocks"]]
    assert len(got["blocks"]) == 5 and scores == sorted(scores, reverse=True)
    # Independently: no connected block of 3 working qubits scores better than the first.
    qubits = sorted(int(s[0]) for s in got["single"])
    edges = {tuple(sorted(pair)) for pair, _ in got["double"]}
    neighbours = {
        q: {b for a, b in edges if a == q} | {a for a, b in edges if b == q} for q in qubits
    }
    best = max(
        _score(list(trio), got)
        for trio in itertools.combinations(qubits, 3)
        if sum(1 for a, b in itertools.combinations(trio, 2) if b in neighbours[a]) >= 2
    )
    assert scores[0] == pytest.approx(best)
    (wide,) = got["wide"]
    assert len(wide) == 12 and _score(wide, got) > -math.inf  # connected, working


def test_pyqpanda3_specified_block_runs_there_or_is_refused_naming_the_qubit(
    qpanda_python: Path, server: Server
) -> None:
    key = new_user(server)
    snapshot = _calibration(server, key)
    dead = snapshot["disabled_qubits"][0]
    got = run_client(
        qpanda_python,
        server,
        key,
        f"""
        backend = service.backend("origin_wukong")
        block = backend.best_qubit_blocks(3).block(0)
        ghz = core.QProg()
        ghz << core.H(0) << core.CNOT(0, 1) << core.CNOT(1, 2) << core.measure([0, 1, 2], [0, 1, 2])
        options = qcloud.QCloudOptions()
        options.set_specified_block(block)
        result = backend.run(ghz, 1000, options).result()
        refusals = []
        for bad in ([{dead}, block[0]], [block[0], 71 if block[0] < 30 else 0]):
            options = qcloud.QCloudOptions()
            options.set_specified_block(bad)
            try:
                backend.run(ghz, 10, options)
                refusals.append("accepted")
            except RuntimeError as exc:
                refusals.append(str(exc))
        show([block, result.mapping_qubit(), result.mapping_qprog(), result.get_counts(),
              refusals])
        """,
    )
    block, mapping, programs, counts, refusals = got
    fields = _mapping(json.loads(mapping)[0])
    assert fields["SrcQubits"] == fields["TargetCbits"] == [0, 1, 2]
    assert sorted(fields["MappingQubits"]) == sorted(block)  # exactly those qubits
    compiled = originir.loads(json.loads(programs)[0])
    touched = {compiled.find_bit(q).index for inst in compiled.data for q in inst.qubits}
    assert touched <= set(block)
    assert counts.get("000", 0) + counts.get("111", 0) > 700  # a GHZ state, with noise
    assert refusals[0].startswith("Configuration.specified_block: qubit ")
    assert f"qubit {dead} is disabled" in refusals[0]
    assert "is not connected to qubit" in refusals[1] and "through working couplers" in refusals[1]


def test_pyqpanda3_transpiled_with_chip_backend_runs_as_instructions(
    qpanda_python: Path, server: Server
) -> None:
    got = run_client(
        qpanda_python,
        server,
        new_user(server),
        """
        from pyqpanda3 import transpilation
        backend = service.backend("origin_wukong")
        chip = backend.chip_backend()
        block = backend.best_qubit_blocks(3).block(0)
        prog = core.QProg()
        prog << core.H(0) << core.CNOT(0, 1) << core.X(2) << core.measure([0, 1, 2], [0, 1, 2])
        compiled = transpilation.Transpiler().transpile(
            prog, chip, {0: block[0], 1: block[1], 2: block[2]}, 2)
        options = qcloud.QCloudOptions(0, False, False, False)  # mapping off: as compiled
        as_program = backend.run(compiled, 2000, options).result().get_counts()
        as_instructions = backend.run_instruction(
            compiled.to_instruction(chip), 2000, qcloud.QCloudOptions()).result().get_counts()
        try:
            backend.run_instruction('[{"ECHO":[1,0.0,0]},{"Measure":[[1],10]}]', 10,
                                    qcloud.QCloudOptions())
            echo = "accepted"
        except RuntimeError as exc:
            echo = str(exc)
        show([as_program, as_instructions, echo])
        """,
    )
    as_program, as_instructions, echo = got
    for counts in (as_program, as_instructions):
        # X on qubit 2 (bit 2 set) and a Bell pair on bits 0 and 1, with the chip's noise.
        assert counts.get("100", 0) + counts.get("111", 0) > 0.75 * 2000
    assert (
        echo
        == "Inst[0][0]: instruction 'ECHO' is not served by openqpu (served: RPhi, CZ, Measure)"
    )


def test_pyqpanda3_state_tomography_on_the_chip_and_exact_on_statevector(
    qpanda_python: Path, server: Server
) -> None:
    got = run_client(
        qpanda_python,
        server,
        new_user(server),
        """
        from pyqpanda3 import hamiltonian as ham
        prog = core.QProg()
        prog << core.H(0) << core.CNOT(0, 1)
        out = []
        for name in ("origin_wukong", "statevector"):
            result = service.backend(name).run_quantum_state_tomography(prog, 2000).result()
            density = result.get_state_tomography_density()
            out.append([[[v.real, v.imag] for v in row] for row in density])
            out.append(result.get_state_fidelity())
        # expval on the chip: one batch of programs, measured with the chip's noise.
        h = ham.Hamiltonian({"Z0 Z1": 1.0, "X0 X1": 0.5, "Z0": 0.3})
        chip = service.backend("origin_wukong")
        out.append([chip.expval_hamiltonian(prog, h, qcloud.QCloudOptions()),
                    chip.expval_pauli_operator(prog, ham.PauliOperator({"Z0 Z1": 1.0}),
                                               qcloud.QCloudOptions()),
                    core.expval_hamiltonian(prog, h)])
        show(out)
        """,
    )
    chip_rho, chip_fidelity, ideal_rho, ideal_fidelity, expvals = got
    measured_h, measured_zz, exact_h = expvals
    assert exact_h == pytest.approx(1.5)  # <ZZ> = <XX> = 1, <Z0> = 0
    assert 1.0 < measured_h < 1.5 and 0.7 < measured_zz < 1.0  # noisy, but the right state
    bell = np.array([1, 0, 0, 1]) / np.sqrt(2)
    ideal = np.array([[complex(*v) for v in row] for row in ideal_rho])
    assert ideal == pytest.approx(np.outer(bell, bell), abs=1e-9)
    assert ideal_fidelity == pytest.approx(1.0, abs=1e-9)
    noisy = np.array([[complex(*v) for v in row] for row in chip_rho])
    assert noisy.shape == (4, 4) and np.trace(noisy) == pytest.approx(1.0)
    assert noisy == pytest.approx(noisy.conj().T)
    assert chip_fidelity == pytest.approx(float(np.real(bell @ noisy @ bell)))
    assert 0.6 < chip_fidelity < 0.99  # measured on the chip, noise included


def test_pyqpanda3_result_accessors_real_programs_print(
    qpanda_python: Path, server: Server
) -> None:
    key = new_user(server)
    got = run_client(
        qpanda_python,
        server,
        key,
        """
        ghz = core.QProg()
        ghz << core.H(0) << core.CNOT(0, 1) << core.CNOT(1, 2) << core.measure([0, 1, 2], [0, 1, 2])
        job = service.backend("origin_wukong").run([bell, ghz], 500, qcloud.QCloudOptions())
        result = job.result()
        show({"id": job.job_id(), "probs": result.get_probs_list(),
              "counts": result.get_counts_list(),
              "hex": result.get_counts_list(qcloud.DataBase.Hex),
              "origin": result.origin_data(), "mapping": result.mapping_qubit(),
              "programs": result.mapping_qprog(), "measured": result.measure_qubits()})
        """,
    )
    assert [set(c) <= {"00", "01", "10", "11"} for c in got["counts"][:1]] == [True]
    assert all(len(key) == 3 for key in got["counts"][1])
    for binary, hexadecimal in zip(got["counts"], got["hex"], strict=True):
        assert {hex(int(k, 2)): v for k, v in binary.items()} == hexadecimal
        assert sum(binary.values()) == 500
    for probs in got["probs"]:
        assert sum(probs.values()) == pytest.approx(1.0)
    origin = json.loads(got["origin"])
    assert origin["success"] is True and origin["obj"]["taskId"] == got["id"]
    with server.client(key) as client:
        result = client.get(f"/api/v1/jobs/{got['id']}/result").json()["results"]
    for index, entry in enumerate(result):
        layout = entry["compiled"]["initial_layout"]
        assert _mapping(json.loads(got["mapping"])[index])["MappingQubits"] == layout
        program = originir.loads(json.loads(got["programs"])[index])  # OriginIR, chip qubits
        touched = {program.find_bit(q).index for inst in program.data for q in inst.qubits}
        assert touched <= set(entry["compiled"]["physical_qubits"])
        measured = json.loads(json.loads(got["measured"])[index])
        assert sorted(measured) == sorted(layout)


def test_pyqpanda3_calls_not_served_are_refused_by_name(
    qpanda_python: Path, server: Server
) -> None:
    key = new_user(server)
    message = run_client(
        qpanda_python,
        server,
        key,
        """
        try:
            service.backend("origin_wukong").run(bell, 10, qcloud.QCloudOptions(), True)
            show("accepted")
        except RuntimeError as exc:
            show(str(exc))
        """,
    )
    assert message.startswith("QProgBytes: binary-encoded programs (enable_binary_encoding=True)")
    assert "not served" in message
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.post(
            "/oqcs/task/origin/somethingElse.json",
            json={}, headers={"Authorization": f"oqcs_auth={key}"},
        )  # fmt: skip
    assert answer.status_code == 200
    assert answer.json() == {
        "success": False,
        "code": 404,
        "message": "/oqcs/task/origin/somethingElse.json is not served by openqpu: the "
        "pyqpanda3 calls served are listed in openqpu's README (pyqpanda3 section)",
        "obj": None,
    }
