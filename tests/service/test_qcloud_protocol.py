"""The pyqpanda3 protocol's building blocks without a server or the SDK: noise dilations
against qiskit-aer's channels, the estimate-job reductions against exact states, qubit
blocks against brute force, instruction streams, and task routing."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import DensityMatrix, Kraus, Statevector, partial_trace
from qiskit_aer.noise import (
    QuantumError,
    amplitude_damping_error,
    depolarizing_error,
    pauli_error,
    phase_damping_error,
    thermal_relaxation_error,
)

from openqpu import sim
from openqpu.device import default_catalog, generate_snapshot, load_device_specs
from openqpu.formats import originir
from openqpu.service.circuits import InvalidRequest, decode_circuit, decode_observable
from openqpu.service.protocols import (
    qcloud,
    qcloud_chip,
    qcloud_instructions,
    qcloud_noise,
    qcloud_tasks,
)
from openqpu.transpile.pipeline import active_qubits, without_idle_qubits

PROGRAM = originir.loads(
    "QINIT 3\nCREG 3\nH q[0]\nCNOT q[0],q[1]\nRY q[2],(0.7)\nU4 q[1],(0.3,0.2,0.5,0.9)\n"
    "T q[2]\nCZ q[1],q[2]\nMEASURE q[0],c[0]\n"
)
SNAPSHOT = generate_snapshot(
    load_device_specs()["lattice72"], seed=7, taken_at=datetime(2026, 1, 1, tzinfo=UTC)
)


@pytest.mark.parametrize(
    ("kind", "params", "reference"),
    [
        ("BITFLIP_KRAUS_OPERATOR", [0.1], pauli_error([("X", 0.1), ("I", 0.9)])),
        ("BIT_PHASE_FLIP_OPRATOR", [0.1], pauli_error([("Y", 0.1), ("I", 0.9)])),
        ("DEPHASING_KRAUS_OPERATOR", [0.1], pauli_error([("Z", 0.1), ("I", 0.9)])),
        ("DEPOLARIZING_KRAUS_OPERATOR", [0.2], depolarizing_error(0.2, 1)),
        ("DAMPING_KRAUS_OPERATOR", [0.3], amplitude_damping_error(0.3)),
        ("PHASE_DAMPING_OPRATOR", [0.3], phase_damping_error(0.3)),
        ("DECOHERENCE_KRAUS_OPERATOR", [5.0, 3.0, 1.0], thermal_relaxation_error(5.0, 3.0, 1.0)),
    ],
)
def test_qcloud_noise_dilation_is_the_channel(
    kind: str, params: list[float], reference: QuantumError
) -> None:
    chosen = qcloud_noise.channel([kind, *params], "single_gate")
    circuit = QuantumCircuit(1)
    circuit.id(0)
    noisy = qcloud_noise.with_noise(circuit, chosen, None)
    rng = np.random.default_rng(1)
    for _ in range(4):
        psi = rng.normal(size=2) + 1j * rng.normal(size=2)
        psi /= np.linalg.norm(psi)
        prepare = QuantumCircuit(noisy.num_qubits)
        prepare.initialize(psi, 0)
        out = partial_trace(DensityMatrix(prepare.compose(noisy)), range(1, noisy.num_qubits))
        expected = DensityMatrix(psi).evolve(Kraus(reference.to_quantumchannel()))
        assert np.allclose(out.data, expected.data, atol=1e-12)


def test_qcloud_noise_goes_after_every_gate_and_refuses_bad_parameters() -> None:
    single = qcloud_noise.channel(["BITFLIP_KRAUS_OPERATOR", 0.1], "s")
    double = qcloud_noise.channel(["BITFLIP_KRAUS_OPERATOR", 0.2], "d")
    noisy = qcloud_noise.with_noise(PROGRAM, single, double)
    # One ancilla; per channel ry, cx, reset: 4 one-qubit gates, 2 two-qubit gates (2 qubits each).
    assert noisy.num_qubits == 4 and noisy.count_ops()["reset"] == 4 + 2 * 2
    assert noisy.num_clbits == PROGRAM.num_clbits
    with pytest.raises(InvalidRequest, match=r"T2 = 11 is more than 2 T1 = 10"):
        qcloud_noise.channel(["DECOHERENCE_KRAUS_OPERATOR", 5.0, 11.0, 1.0], "x")
    with pytest.raises(InvalidRequest, match=r"probability 1.5 is not in \[0, 1\]"):
        qcloud_noise.channel(["DAMPING_KRAUS_OPERATOR", 1.5], "x")
    with pytest.raises(InvalidRequest, match="unknown noise model 'SPIN_FLIP'"):
        qcloud_noise.channel(["SPIN_FLIP", 0.1], "x")
    assert qcloud_noise.channel([], "x") is None


def _expectations(source: str, observables: list) -> list[float]:
    circuit = decode_circuit(source, "auto", "c")
    ops = [decode_observable(o, circuit.num_qubits, "o") for o in observables]
    return [float(v) for v in sim.expectation(circuit, ops)]


def test_qcloud_probabilities_amplitudes_and_tomography_are_exact() -> None:
    state = Statevector(PROGRAM.remove_final_measurements(inplace=False)).data
    source, observables = qcloud_tasks.probabilities_job(PROGRAM, [2, 0], 1000)
    probabilities = qcloud_tasks.probabilities_from(_expectations(source, observables), 2)
    for key, p in probabilities.items():
        bits = int(key, 16)
        assert p == pytest.approx(
            sum(abs(a) ** 2 for i, a in enumerate(state)
                if (i >> 2 & 1) == (bits & 1) and (i & 1) == (bits >> 1 & 1)),
            abs=1e-12,
        )  # fmt: skip
    sources, observables = qcloud_tasks.amplitude_circuits(PROGRAM, ["0", "3", "6"])
    for key, text in zip(["0", "3", "6"], sources, strict=True):
        x, y = _expectations(text, observables)
        assert complex(x, y) == pytest.approx(state[int(key)], abs=1e-9)
        assert qcloud_tasks.note_of(text) == {"task": "amplitudes", "key": key, "single": False}
    body = PROGRAM.remove_final_measurements(inplace=False)
    source, observables = qcloud_tasks.tomography_job(body, 1000)
    density, fidelity = qcloud_tasks.tomography_result(
        _expectations(source, observables), qcloud_tasks.note_of(source) or {}
    )
    assert float(fidelity) == pytest.approx(1.0)
    assert len(density) == 1


def test_qcloud_task_limits_are_named() -> None:
    with pytest.raises(InvalidRequest, match=r"10 qubits are 1,023 Z strings, over the limit"):
        qcloud_tasks.probabilities_job(QuantumCircuit(10), list(range(10)), 1000)
    with pytest.raises(InvalidRequest, match="tomography of 5 qubits needs 1,023 Pauli"):
        qcloud_tasks.tomography_job(QuantumCircuit(5), 1000)
    with pytest.raises(InvalidRequest, match="read as a decimal basis-state index"):
        qcloud_tasks.amplitude_circuits(QuantumCircuit(2), ["0101"])
    mid = QuantumCircuit(1, 1)
    mid.measure(0, 0)
    mid.h(0)
    with pytest.raises(InvalidRequest, match="without mid-circuit measurement"):
        qcloud_tasks.probabilities_job(mid, [0], 1000)


def test_qcloud_best_blocks_are_the_best_of_all_connected_blocks() -> None:
    ranked = qcloud_chip.best_blocks(SNAPSHOT, 3, 3)
    working = set(SNAPSHOT.working_qubits())
    couplers = {SNAPSHOT.couplers[i] for i in SNAPSHOT.working_couplers()}

    def fidelity(block: tuple[int, ...]) -> float:
        qubits = math.prod(
            (1 - SNAPSHOT.gate_error_1q[q]) * qcloud_chip.readout_fidelity(SNAPSHOT, q)
            for q in block
        )
        edges = sorted(
            (1 - SNAPSHOT.cz_error[SNAPSHOT.couplers.index(pair)]
             for pair in itertools.combinations(block, 2) if pair in couplers),
            reverse=True,
        )  # fmt: skip
        return qubits * math.prod(edges[:2]) if len(edges) >= 2 else 0.0

    best = max(fidelity(trio) for trio in itertools.combinations(sorted(working), 3))
    assert ranked[0][1] == pytest.approx(best)
    assert [f for _, f in ranked] == sorted((f for _, f in ranked), reverse=True)
    assert all(fidelity(tuple(block)) == pytest.approx(f) for block, f in ranked)
    wide = qcloud_chip.best_blocks(SNAPSHOT, 20, 1)[0][0]
    assert len(wide) == 20 and set(wide) <= working


def test_qcloud_specified_block_runs_there_or_names_the_qubit() -> None:
    spec = load_device_specs()["lattice72"]
    dead = SNAPSHOT.disabled_qubits[0]
    with pytest.raises(InvalidRequest, match=f"qubit {dead} is disabled in calibration"):
        qcloud_chip.check_block([dead], SNAPSHOT)
    with pytest.raises(InvalidRequest, match="is not connected to qubit"):
        qcloud_chip.check_block(
            [SNAPSHOT.working_qubits()[0], SNAPSHOT.working_qubits()[-1]], SNAPSHOT
        )
    block = qcloud_chip.best_blocks(SNAPSHOT, 3, 1)[0][0]
    ghz = QuantumCircuit(3, 3)
    ghz.h(0)
    ghz.cx(0, 1)
    ghz.cx(0, 2)  # not a chain: routing stays inside the block
    ghz.measure(range(3), range(3))
    chip, mapping = qcloud_chip.laid_out_on_block(ghz, block, spec, SNAPSHOT, 2)
    assert chip.num_qubits == 72 and sorted(mapping) == sorted(block)
    touched = {chip.find_bit(q).index for inst in chip.data for q in inst.qubits}
    assert touched <= set(block)
    counts = sim.sample(without_idle_qubits(chip, active_qubits(chip)), 200, seed=1)
    assert set(counts) <= {"000", "111"}


def test_qcloud_instruction_streams_read_as_the_sdk_writes_them() -> None:
    # pyqpanda3's to_instruction of H(0); CNOT(0, 1); measure([0, 1], [0, 1]) on qubits 1, 2.
    stream = [
        {"RPhi": [1, 270.0, 90.0, 0]}, {"RPhi": [2, 270.0, 90.0, 0]}, {"CZ": [1, 2, 30]},
        {"RPhi": [2, 90.0, 90.0, 90]}, {"Measure": [[2, 1], 120]},
    ]  # fmt: skip
    (program,) = qcloud_instructions.programs_of([stream], 6)
    circuit = originir.loads(program)
    assert circuit.num_qubits == 6
    counts = sim.sample(circuit, 500, seed=2)
    assert set(counts) == {"00", "11"}  # a Bell pair: classical bit 0 is the last qubit listed
    with pytest.raises(InvalidRequest, match=r"Inst\[0\]\[0\]: instruction 'MS' is not served"):
        qcloud_instructions.programs_of([[{"MS": [1, 2, 0]}]], 6)
    with pytest.raises(InvalidRequest, match="instruction qubits are numbered 1 to 6"):
        qcloud_instructions.programs_of([[{"CZ": [0, 1, 0]}, {"Measure": [[1], 1]}]], 6)


def test_qcloud_submit_routes_each_machine_type() -> None:
    devices = default_catalog()
    bell = "QINIT 2\nCREG 2\nH q[0]\nCNOT q[0],q[1]\nMEASURE q[0],c[0]\nMEASURE q[1],c[1]\n"
    chip = qcloud.job_create(
        {"QProg": [bell], "QMachineType": "5", "ChipID": "72", "Configuration": {"shot": 10}},
        devices,
    )
    assert (chip.device, chip.kind, chip.format) == ("lattice72", "sample", "originir")
    probabilities = qcloud.job_create(
        {"QProg": [bell], "QMachineType": "0",
         "Configuration": {"qubits": [0, 1], "measure_type": 2}}, devices,
    )  # fmt: skip
    assert (probabilities.device, probabilities.kind) == ("statevector", "estimate")
    noisy = qcloud.job_create(
        {"QProg": [bell], "QMachineType": "1", "Configuration": {
            "shot": 10, "noisemodel": {"single_gate": ["DEPOLARIZING_KRAUS_OPERATOR", 0.1]}}},
        devices,
    )  # fmt: skip
    assert noisy.kind == "sample" and "reset" in noisy.circuits[0]
    single = qcloud.job_create(
        {"QProg": [bell.replace("MEASURE q[0],c[0]\nMEASURE q[1],c[1]\n", "")],
         "QMachineType": "3", "Configuration": {"Amplitude": "3"}}, devices,
    )  # fmt: skip
    assert single.kind == "estimate" and len(single.circuits) == 1
    with pytest.raises(InvalidRequest, match="QProgBytes: binary-encoded programs"):
        qcloud.job_create({"QProgBytes": [1, 2], "QMachineType": "5", "ChipID": "72"}, devices)
    with pytest.raises(InvalidRequest, match="machine type 9 is not served"):
        qcloud.job_create({"QProg": [bell], "QMachineType": "9"}, devices)
    with pytest.raises(InvalidRequest, match=r"ChipID: no backend 'nowhere' \(backends: "):
        qcloud.job_create({"QProg": [bell], "ChipID": "nowhere"}, devices)
