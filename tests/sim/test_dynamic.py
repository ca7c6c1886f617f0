"""Mid-circuit measurement, reset and classical control against qiskit-aer."""

from __future__ import annotations

import math

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

from openqpu import sim
from openqpu.sim import executor
from tests.conftest import total_variation

aer = pytest.importorskip("qiskit_aer", reason="qiskit-aer is the reference for dynamic circuits")

SHOTS = 20_000


def _aer_distribution(circuit: QuantumCircuit) -> dict[str, float]:
    result = aer.AerSimulator(method="statevector").run(circuit, shots=SHOTS, seed_simulator=17)
    counts = result.result().get_counts()
    return {key.replace(" ", ""): value / SHOTS for key, value in counts.items()}


def _assert_close_to_aer(circuit: QuantumCircuit) -> None:
    ours = sim.sample(circuit, SHOTS, seed=23)
    reference = _aer_distribution(circuit)
    # Both sides are samples: E[TVD] <= sqrt(k / shots) for k outcomes; 3x that bound is
    # safe with fixed seeds and still catches a wrong branch probability of >= 0.05.
    bound = 3 * math.sqrt(max(len(reference), 2) / SHOTS)
    assert total_variation(ours, reference) < bound


def _teleport(theta: float) -> QuantumCircuit:
    q = QuantumRegister(3, "q")
    m0, m1, out = ClassicalRegister(1, "m0"), ClassicalRegister(1, "m1"), ClassicalRegister(1)
    circuit = QuantumCircuit(q, m0, m1, out)
    circuit.ry(theta, 0)
    circuit.h(1)
    circuit.cx(1, 2)
    circuit.cx(0, 1)
    circuit.h(0)
    circuit.measure(0, m0[0])
    circuit.measure(1, m1[0])
    with circuit.if_test((m1[0], 1)):
        circuit.x(2)
    with circuit.if_test((m0, 1)):
        circuit.z(2)
    circuit.measure(2, out[0])
    return circuit


def test_dynamic_teleportation_matches_aer() -> None:
    _assert_close_to_aer(_teleport(1.2))


def test_dynamic_teleportation_delivers_the_state() -> None:
    counts = sim.sample(_teleport(1.2), SHOTS, seed=4)
    ones = sum(v for k, v in counts.items() if k[0] == "1")
    p1 = math.sin(0.6) ** 2
    assert abs(ones / SHOTS - p1) < 5 * math.sqrt(p1 * (1 - p1) / SHOTS)


def test_dynamic_reset_and_remeasure_matches_aer() -> None:
    circuit = QuantumCircuit(3, 4)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure(0, 0)
    circuit.reset(0)
    circuit.ry(0.8, 0)
    circuit.cx(1, 2)
    circuit.reset(1)
    circuit.measure([0, 1, 2], [1, 2, 3])
    _assert_close_to_aer(circuit)


def test_dynamic_if_else_with_register_value_matches_aer() -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.h([0, 1])
    circuit.measure([0, 1], [0, 1])
    with circuit.if_test((circuit.cregs[0], 3)) as otherwise:
        circuit.x(2)
    with otherwise:
        circuit.ry(0.7, 2)
    circuit.measure(2, 2)
    _assert_close_to_aer(circuit)


def test_dynamic_expression_condition_matches_aer() -> None:
    from qiskit.circuit.classical import expr

    circuit = QuantumCircuit(3, 3)
    circuit.h([0, 1])
    circuit.measure([0, 1], [0, 1])
    condition = expr.logic_and(expr.lift(circuit.clbits[0]), expr.logic_not(circuit.clbits[1]))
    with circuit.if_test(condition):
        circuit.x(2)
    circuit.measure(2, 2)
    _assert_close_to_aer(circuit)


def test_dynamic_shots_sharing_a_branch_are_simulated_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    original = executor._run_branch

    def counting(*args: object, **kwargs: object) -> None:
        calls.append(1)
        original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(executor, "_run_branch", counting)
    counts = sim.sample(_teleport(0.3), 1000, seed=1)
    assert sum(counts.values()) == 1000
    # two mid-circuit measurements: at most four branches, not 1000 simulations
    assert 1 <= len(calls) <= 4


def test_dynamic_replay_without_copies_gives_same_distribution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With no room for a second state, branches are replayed with forced outcomes.
    monkeypatch.setenv("OPENQPU_MEMORY_LIMIT", str(16 * 8))
    circuit = _teleport(2.0)
    _assert_close_to_aer(circuit)
