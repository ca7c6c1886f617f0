"""pyqpanda3's simulator backends against a live openqpu server: probabilities on qubits,
partial and single amplitudes, expectation values, and every ``QCloudNoiseModel`` kind.

Exact answers are compared with pyqpanda3's own local simulator (``core.CPUQVM``,
``core.expval_hamiltonian``) in the SDK's process; noisy counts with a qiskit-aer
noise model built independently here with the SDK's parameter meaning.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer import AerSimulator
from qiskit_aer.noise import (
    NoiseModel,
    QuantumError,
    amplitude_damping_error,
    depolarizing_error,
    pauli_error,
    phase_damping_error,
    thermal_relaxation_error,
)

from tests.compat.test_pyqpanda3 import run_client
from tests.service.conftest import Server, new_user

# A three-qubit program with one- and two-qubit gates and no symmetry to hide mistakes.
PROGRAM = """
prog = core.QProg()
prog << core.H(0) << core.CNOT(0, 1) << core.RY(2, 0.7) << core.CNOT(1, 2) << core.RX(0, 0.4)
prog << core.U3(1, 0.3, 0.5, 0.9) << core.T(2)
"""


def test_pyqpanda3_probabilities_amplitudes_and_expval_are_exact(
    qpanda_python: Path, server: Server
) -> None:
    got = run_client(
        qpanda_python,
        server,
        new_user(server),
        PROGRAM
        + dedent(
            """
        from pyqpanda3 import hamiltonian as ham
        machine = core.CPUQVM(); machine.run(prog, 1)
        state = machine.result().get_state_vector()
        fa = service.backend("full_amplitude")
        probs = fa.run(prog, [2, 0]).result().get_probs()
        partial = service.backend("partial_amplitude").run(prog, ["0", "3", "5", "6"]).result()
        single = service.backend("single_amplitude").run(prog, "5").result()
        hamiltonian = ham.Hamiltonian({"Z0 Z1": 1.0, "X0 X1": 0.5, "Y2": -0.7, "Z2 X0": 0.3})
        pauli = ham.PauliOperator({"Z0 Z2": 0.8, "X1": -0.4, "Y0 Y1 Z2": 0.6})
        show({
            "state": [[a.real, a.imag] for a in state],
            "probs": probs,
            "partial": {k: [v.real, v.imag] for k, v in partial.get_amplitudes().items()},
            "single": {k: [v.real, v.imag] for k, v in single.get_amplitudes().items()},
            "expval_h": fa.expval_hamiltonian(prog, hamiltonian),
            "expval_h_shots": fa.expval_hamiltonian(prog, hamiltonian, 100),
            "expval_p": fa.expval_pauli_operator(prog, pauli),
            "local_h": core.expval_hamiltonian(prog, hamiltonian),
            "local_p": core.expval_pauli_operator(prog, pauli),
        })
        """
        ),
    )
    state = np.array([complex(re_, im) for re_, im in got["state"]])
    # run(prog, [2, 0]): bit j of a key is qubit j of the list (qubit 2 rightmost).
    expected: dict[str, float] = {}
    for index, amplitude in enumerate(state):
        key = f"{index & 1}{index >> 2 & 1}"
        expected[key] = expected.get(key, 0.0) + abs(amplitude) ** 2
    assert got["probs"] == pytest.approx(expected, abs=1e-12)
    # Amplitudes keyed by the decimal index, with the program's global phase.
    for key, (re_, im) in {**got["partial"], **got["single"]}.items():
        assert complex(re_, im) == pytest.approx(state[int(key)], abs=1e-9)
    assert set(got["partial"]) == {"0", "3", "5", "6"} and set(got["single"]) == {"5"}
    # Exact on full_amplitude, shots or not (as the reference cloud does).
    assert got["expval_h"] == pytest.approx(got["local_h"], abs=1e-9)
    assert got["expval_h_shots"] == pytest.approx(got["local_h"], abs=1e-9)
    assert got["expval_p"] == pytest.approx(got["local_p"], abs=1e-9)


# The SDK's NOISE_MODEL kinds with their parameter meaning, as qiskit-aer errors.
NOISE = {
    "BITFLIP_KRAUS_OPERATOR": ([0.05], [0.1], lambda p: pauli_error([("X", p), ("I", 1 - p)])),
    "BIT_PHASE_FLIP_OPERATOR": ([0.05], [0.1], lambda p: pauli_error([("Y", p), ("I", 1 - p)])),
    "DEPHASING_KRAUS_OPERATOR": ([0.1], [0.2], lambda p: pauli_error([("Z", p), ("I", 1 - p)])),
    "DEPOLARIZING_KRAUS_OPERATOR": ([0.1], [0.2], lambda p: depolarizing_error(p, 1)),
    "DAMPING_KRAUS_OPERATOR": ([0.1], [0.2], amplitude_damping_error),
    "PHASE_DAMPING_OPERATOR": ([0.2], [0.3], phase_damping_error),
    "DECOHERENCE_KRAUS_OPERATOR": ([5.0, 3.0, 0.5], [5.0, 3.0, 1.0], thermal_relaxation_error),
}
NOISY_SHOTS = 4000


def _aer_probabilities(kind: str) -> dict[str, float]:
    """The noisy program's exact distribution from qiskit-aer (density matrix)."""
    single_p, double_p, make = NOISE[kind]
    single: QuantumError = make(*single_p)
    double: QuantumError = make(*double_p)
    model = NoiseModel()
    model.add_all_qubit_quantum_error(single, ["h", "ry", "rx", "u", "t"])
    model.add_all_qubit_quantum_error(double.tensor(double), ["cx"])  # each qubit of the gate
    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.ry(0.7, 2)
    circuit.cx(1, 2)
    circuit.rx(0.4, 0)
    circuit.u(0.3, 0.5, 0.9, 1)
    circuit.t(2)
    circuit.save_probabilities_dict()
    simulator = AerSimulator(method="density_matrix", noise_model=model)
    result = simulator.run(circuit, basis_gates=[*model.basis_gates, "save_probabilities_dict"])
    raw: dict[Any, float] = result.result().data()["probabilities"]
    return {format(int(k, 16) if isinstance(k, str) else int(k), "03b"): v for k, v in raw.items()}


def test_pyqpanda3_every_noise_model_matches_qiskit_aer(
    qpanda_python: Path, server: Server
) -> None:
    counts = run_client(
        qpanda_python,
        server,
        new_user(server),
        PROGRAM
        + dedent(
            f"""
        prog << core.measure([0, 1, 2], [0, 1, 2])
        fa = service.backend("full_amplitude")
        kinds = {list(NOISE)!r}
        params = {[(s, d) for s, d, _ in NOISE.values()]!r}
        jobs = [fa.run(prog, {NOISY_SHOTS}, qcloud.QCloudNoiseModel(
            getattr(qcloud.NOISE_MODEL, kind), single, double)) for kind, (single, double)
            in zip(kinds, params)]
        show([job.result().get_counts() for job in jobs])
        """
        ),
    )
    for kind, measured in zip(NOISE, counts, strict=True):
        expected = _aer_probabilities(kind)
        assert sum(measured.values()) == NOISY_SHOTS
        for key in set(expected) | set(measured):
            p = expected.get(key, 0.0)
            observed = measured.get(key, 0)
            # Binomial(N, p): within 5 standard deviations (and 5 counts for tiny p).
            spread = 5 * np.sqrt(NOISY_SHOTS * p * (1 - p)) + 5
            assert abs(observed - NOISY_SHOTS * p) < spread, (kind, key, observed, p)
    # The kinds differ: a server that ignored or confused them would not pass the above.
    assert counts[0] != counts[1]


def test_pyqpanda3_noisy_expval_is_the_noisy_expectation(
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
        kind = qcloud.NOISE_MODEL.DEPOLARIZING_KRAUS_OPERATOR
        noise = qcloud.QCloudNoiseModel(kind, [0.1], [0.2])
        fa = service.backend("full_amplitude")
        show([fa.expval_hamiltonian(prog, ham.Hamiltonian({"Z0 Z1": 1.0}), 4000, noise),
              fa.expval_pauli_operator(prog, ham.PauliOperator({"Z0 Z1": 1.0}), 4000, noise)])
        """,
    )
    # The exact noisy <ZZ>, from qiskit-aer with the SDK's meaning of the parameters.
    model = NoiseModel()
    model.add_all_qubit_quantum_error(depolarizing_error(0.1, 1), ["h"])
    double = depolarizing_error(0.2, 1)
    model.add_all_qubit_quantum_error(double.tensor(double), ["cx"])
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.save_expectation_value(SparsePauliOp("ZZ"), [0, 1])
    simulator = AerSimulator(method="density_matrix", noise_model=model)
    exact = simulator.run(circuit, basis_gates=[*model.basis_gates, "save_expectation_value"])
    value = exact.result().data()["expectation_value"]
    for measured in got:
        assert measured == pytest.approx(value, abs=0.08)  # 4000 shots: sd < 0.016
        assert measured < 0.9  # and the noise is there
