"""Solo trajectories: the numba path agrees with the grouped Python path and exact math."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Delay

from openqpu import sim
from openqpu.sim import executor
from openqpu.sim.affine import AffinePermutationOp
from openqpu.sim.lowering import Jump, JumpUnless
from openqpu.sim.noise import Depolarizing, NoiseModel, Placed, ReadoutError
from openqpu.sim.solo import SoloRunner, encode
from tests.sim.conftest import distance_and_bound, dynamic_circuit

SHOTS = 20_000


def _all_solo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor, "SOLO_AMPLITUDES", 1 << 40)


def _model(num_qubits: int) -> NoiseModel:
    # Qubit 0 has T2 > T1 (state-dependent jumps), the others T2 <= T1 (mixture).
    model = NoiseModel(dt_ns=1.0)
    for q in range(num_qubits):
        model.relaxation[q] = (10.0, 15.0) if q == 0 else (12.0, 6.0)
        model.readout[q] = ReadoutError(0.03, 0.06)
        model.gate_errors[("h", (q,))] = (Placed(Depolarizing(0.05, 1), (q,)),)
        for b in range(num_qubits):
            pair = (q, b)
            model.gate_errors[("cx", pair)] = (Placed(Depolarizing(0.08, 2), pair),)
    return model


_dynamic_circuit = dynamic_circuit


_distance_and_bound = distance_and_bound


def test_solo_path_matches_grouped_path(monkeypatch: pytest.MonkeyPatch) -> None:
    qc, model = _dynamic_circuit(), _model(5)
    with monkeypatch.context() as patch:
        patch.setattr(executor, "_solo_runner", lambda *args: None)
        grouped = sim.sample(qc, SHOTS, seed=1, noise=model)
    _all_solo(monkeypatch)
    added: list[int] = []
    add = SoloRunner.add
    monkeypatch.setattr(SoloRunner, "add", lambda self, *a: (added.append(a[-1]), add(self, *a)))
    solo = sim.sample(qc, SHOTS, seed=2, noise=model)
    assert sum(added) == SHOTS
    distance, bound = _distance_and_bound(grouped, solo)
    assert distance < bound, (distance, bound)


@pytest.mark.parametrize("times_us", [(20.0, 10.0), (20.0, 35.0)], ids=["mixture", "kraus"])
def test_solo_relaxation_follows_t1_and_t2(
    monkeypatch: pytest.MonkeyPatch, times_us: tuple[float, float]
) -> None:
    """Populations decay as exp(-t / T1), coherences as exp(-t / T2), in either form."""
    _all_solo(monkeypatch)
    t1, t2 = times_us
    model = NoiseModel(relaxation={0: times_us, 1: times_us})
    qc = QuantumCircuit(2, 2)
    qc.x(0)
    qc.h(1)
    qc.append(Delay(15_000.0, unit="ns"), [0])
    qc.append(Delay(15_000.0, unit="ns"), [1])
    qc.h(1)
    qc.measure([0, 1], [0, 1])
    counts = sim.sample(qc, SHOTS, seed=3, noise=model)
    one = sum(c for k, c in counts.items() if k[1] == "1") / SHOTS
    plus = sum(c for k, c in counts.items() if k[0] == "0") / SHOTS
    # Binomial standard deviation at 20,000 shots is under 0.0036: 0.015 is > 4 sigma.
    assert one == pytest.approx(math.exp(-15 / t1), abs=0.015)
    assert plus == pytest.approx((1 + math.exp(-15 / t2)) / 2, abs=0.015)


def test_solo_same_seed_same_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    _all_solo(monkeypatch)
    qc, model = _dynamic_circuit(), _model(5)
    assert sim.sample(qc, 300, seed=4, noise=model) == sim.sample(qc, 300, seed=4, noise=model)


def test_solo_tail_starts_after_the_last_classical_jump() -> None:
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.h(1)
    qc.measure(1, 1)
    program = sim.lower(qc, noise=_model(2))
    steps, _ = program.bind(None, np.dtype(np.complex128))
    encoded = encode(steps, 2, program.final_measures, np.dtype(np.complex128))
    assert encoded is not None
    assert 0 < encoded.first_step < len(steps)
    assert not any(isinstance(s, Jump | JumpUnless) for s in steps[encoded.first_step :])
    assert isinstance(steps[encoded.first_step - 1], Jump | JumpUnless)
    counts = sim.sample(qc, 4_000, seed=5, noise=_model(2))
    # Measured 1 (misread or not) sets qubit 1 before its own h: both branches mix.
    assert sum(counts.values()) == 4_000
    assert len(counts) == 4


def test_more_than_63_classical_bits_fall_back_to_grouped_path() -> None:
    qc = QuantumCircuit(2, 70)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure(0, 69)
    qc.measure(1, 0)
    model = _model(2)
    program = sim.lower(qc, noise=model)
    steps, _ = program.bind(None, np.dtype(np.complex128))
    assert encode(steps, 2, program.final_measures, np.dtype(np.complex128)) is None
    counts = sim.sample(program, 4_000, seed=6)
    assert sum(counts.values()) == 4_000
    agree = sum(c for k, c in counts.items() if k[0] == k[-1]) / 4_000
    # Depolarising and readout errors spoil the correlation by about 15%.
    assert 0.75 < agree < 0.95


def test_complex64_runs_solo(monkeypatch: pytest.MonkeyPatch) -> None:
    _all_solo(monkeypatch)
    qc, model = _dynamic_circuit(), _model(5)
    counts = sim.sample(qc, 2_000, seed=7, noise=model, dtype="complex64")
    assert sum(counts.values()) == 2_000


def test_whole_state_permutation_runs_on_the_grouped_path() -> None:
    # On 15 qubits (below the cache-blocked sizes) these x, cx and swap gates fuse into
    # several monomial blocks that merge into one AffinePermutationOp; the solo kernel
    # has no table for it (it used to fail an assertion while encoding the tail).
    n = 15
    qc = QuantumCircuit(n, n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    for q in range(0, n, 2):
        qc.x(q)
        qc.swap(q, (q + 3) % n)
    for q in range(n - 1, 0, -1):
        qc.cx(q, q - 1)
    qc.measure(range(n), range(n))
    model = NoiseModel(gate_errors={("h", (0,)): (Placed(Depolarizing(0.1), (0,)),)})
    steps, _ = sim.lower(qc, noise=model).bind(None, np.dtype(np.complex128))
    ops = [op for step in steps if isinstance(step, list) for op in step]
    assert any(isinstance(op, AffinePermutationOp) for op in ops)
    # A Pauli after h on |0> leaves the GHZ-like outcomes as they are.
    counts = sim.sample(qc, 200, seed=1, noise=model)
    assert set(counts) == set(sim.sample(qc, 200, seed=1))
    assert sum(counts.values()) == 200
