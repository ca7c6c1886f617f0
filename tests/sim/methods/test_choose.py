"""The choice of a method for a compiled noisy chip circuit, and what a run then says."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from qiskit import QuantumCircuit

from openqpu.device import generate_snapshot, load_device_specs
from openqpu.sim.methods.base import MethodUnsupported
from openqpu.sim.methods.choose import choose, run_method
from openqpu.transpile import noise_model_for, transpile_for_device

SPEC = load_device_specs()["lattice72"]
SNAPSHOT = generate_snapshot(SPEC, seed=1, taken_at=datetime(2026, 1, 1, tzinfo=UTC))


def _ghz(num_qubits: int) -> QuantumCircuit:
    circuit = QuantumCircuit(num_qubits, num_qubits)
    circuit.h(0)
    for q in range(num_qubits - 1):
        circuit.cx(q, q + 1)
    circuit.measure(range(num_qubits), range(num_qubits))
    return circuit


def _chain_rotations(num_qubits: int) -> QuantumCircuit:
    """A non-Clifford chain: little entanglement, any width."""
    circuit = QuantumCircuit(num_qubits)
    circuit.ry(0.3, range(num_qubits))
    for q in range(num_qubits - 1):
        circuit.cx(q, q + 1)
        circuit.rz(0.2 + 0.01 * q, q + 1)
    circuit.measure_all()
    return circuit


def _compiled(circuit: QuantumCircuit) -> tuple[QuantumCircuit, object]:
    compiled = transpile_for_device(circuit, SPEC, SNAPSHOT, optimization_level=1)
    return compiled.circuit, noise_model_for(compiled, SPEC, SNAPSHOT)


@pytest.mark.parametrize(
    ("circuit", "expected"),
    [
        (_ghz(5), "density_matrix"),
        (_chain_rotations(6), "density_matrix"),
        (_ghz(40), "stabilizer"),
        (_chain_rotations(30), "mps"),
    ],
    ids=["ghz5", "chain6", "ghz40", "chain30"],
)
def test_choose_picks_the_cheapest_method_that_can_run_it(
    circuit: QuantumCircuit, expected: str
) -> None:
    compiled, noise = _compiled(circuit)
    choice = choose(compiled, noise, 1000)
    assert choice.method == expected, (choice.rejected, choice.costs)
    assert choice.cost == choice.costs[expected]


def test_choose_rejections_name_why() -> None:
    compiled, noise = _compiled(_chain_rotations(30))
    choice = choose(compiled, noise, 1000)
    assert "more than 12" in choice.rejected["density_matrix"]
    assert "not a multiple of pi/2" in choice.rejected["stabilizer"]
    assert "memory limit" in choice.rejected["statevector"]


def test_choose_forced_method_that_cannot_run_raises_naming_it() -> None:
    compiled, noise = _compiled(_chain_rotations(6))
    with pytest.raises(MethodUnsupported, match=r"method 'stabilizer' cannot run.*pi/2"):
        choose(compiled, noise, 100, method="stabilizer")
    with pytest.raises(ValueError, match="not one of"):
        choose(compiled, noise, 100, method="magic")


def test_choose_counts_memory_against_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, noise = _compiled(_chain_rotations(10))
    monkeypatch.setenv("OPENQPU_MEMORY_LIMIT", "1000")
    with pytest.raises(MethodUnsupported, match=r"no method can run it.*memory limit"):
        choose(compiled, noise, 100)


@pytest.mark.parametrize(
    "circuit",
    [_ghz(5), _ghz(24), _chain_rotations(6), _chain_rotations(20)],
    ids=["ghz5", "ghz24", "chain6", "chain20"],
)
def test_chosen_method_says_when_it_approximates(circuit: QuantumCircuit) -> None:
    """No silent approximation: an approximate run names what it approximated."""
    compiled, noise = _compiled(circuit)
    choice = choose(compiled, noise, 200)
    outcome = run_method(choice.method, compiled, noise, 200, seed=1)
    assert outcome.method == choice.method
    assert sum(outcome.counts.values()) == 200
    if choice.method == "stabilizer":
        twirled = outcome.figures["twirled_channels"]
        assert bool(twirled) == bool(outcome.approximations)
    if choice.method == "mps":
        truncated = outcome.figures["truncation_fidelity"] < 1.0
        assert truncated == bool(outcome.approximations)
    if choice.method in ("density_matrix", "statevector"):
        assert outcome.approximations == ()


def test_a_long_statevector_estimate_is_checked_against_real_shots(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The linear model is only an upper guess: a probe's pace caps it, and the probe
    itself runs real shots of the circuit."""
    from openqpu.sim.methods import trajectories

    compiled, noise = _compiled(_chain_rotations(8))
    model = trajectories.cost(compiled, noise, 1000).seconds
    assert model < trajectories.PROBE_ABOVE_S  # short: no probe

    pace = trajectories._probe(compiled, noise)
    assert 0 < pace < 1.0  # seconds a shot of 8 qubits

    monkeypatch.setattr(trajectories, "PROBE_ABOVE_S", 0.0)
    monkeypatch.setattr(trajectories, "_probe", lambda circuit, noise: 1e-6)
    probed = trajectories.cost(compiled, noise, 1000).seconds
    assert probed == pytest.approx(
        trajectories.SECONDS_FIXED + 1000 * trajectories.PROBE_SAFETY * 1e-6
    )
    monkeypatch.setattr(trajectories, "_probe", lambda circuit, noise: float("inf"))
    assert trajectories.cost(compiled, noise, 1000).seconds == pytest.approx(model)


def test_wide_trajectories_run_in_single_precision_and_agree_with_double() -> None:
    """From SINGLE_PRECISION_FROM_QUBITS qubits the statevector method runs complex64 and
    says so; its samples agree with double precision's within sampling error (the mean
    Hamming weight, a z-test between the two samples)."""
    from openqpu.sim import sample
    from openqpu.sim.methods import trajectories
    from openqpu.sim.program import Program

    width = trajectories.SINGLE_PRECISION_FROM_QUBITS
    program = Program(*_compiled(_chain_rotations(width)))
    single = trajectories.run(program, 120, seed=11)
    assert single.figures == {"precision": "complex64"}
    double = sample(program, 120, seed=12, dtype="complex128")

    def weights(counts: dict[str, int]) -> np.ndarray:
        return np.repeat([k.count("1") for k in counts], list(counts.values()))

    a, b = weights(single.counts), weights(double)
    z = (a.mean() - b.mean()) / np.sqrt(a.var() / a.size + b.var() / b.size)
    assert abs(z) < 4.5
    narrow = trajectories.run(Program(*_compiled(_chain_rotations(6))), 10, seed=1)
    assert narrow.figures == {"precision": "complex128"}


def test_a_planned_method_is_checked_not_estimated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``estimate`` a forced method is only checked (the worker runs what
    admission estimated: no second probe), and one that cannot run is still refused."""
    import math

    from openqpu.sim.methods import choose as choose_module

    def no_estimate(*args: object, **kwargs: object) -> None:
        raise AssertionError("estimated")

    monkeypatch.setattr(choose_module, "cost", no_estimate)
    compiled, noise = _compiled(_chain_rotations(20))
    choice = choose(compiled, noise, 100, method="mps", estimate=False)
    assert choice.method == "mps" and math.isnan(choice.cost.seconds)
    with pytest.raises(MethodUnsupported, match="stabilizer"):
        choose(compiled, noise, 100, method="stabilizer", estimate=False)
    with pytest.raises(AssertionError, match="estimated"):
        choose(compiled, noise, 100, method="mps")
