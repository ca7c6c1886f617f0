"""Noise drawn before simulation: agrees with the trajectory paths and exact math."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Delay

from openqpu import sim
from openqpu.sim import presampled
from openqpu.sim.noise import Depolarizing, NoiseModel, Placed, ReadoutError, ThermalRelaxation
from tests.sim.conftest import distance_and_bound, dynamic_circuit

SHOTS = 20_000


def _model(num_qubits: int) -> NoiseModel:
    # Qubit 0 has T2 > T1 (rare damping form), the others T2 <= T1 (mixture).
    model = NoiseModel(dt_ns=1.0)
    for q in range(num_qubits):
        model.relaxation[q] = (10.0, 15.0) if q == 0 else (12.0, 6.0)
        model.readout[q] = ReadoutError(0.03, 0.06)
        model.gate_errors[("h", (q,))] = (Placed(Depolarizing(0.05, 1), (q,)),)
        for b in range(num_qubits):
            pair = (q, b)
            model.gate_errors[("cx", pair)] = (
                Placed(Depolarizing(0.08, 2), pair),
                Placed(ThermalRelaxation(*model.relaxation[q], 300.0), (q,)),
            )
    return model


_mid_circuit = dynamic_circuit


def _conditional() -> QuantumCircuit:
    """Noise inside both branches of an if_else and after it."""
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)) as orelse:
        qc.h(2)
        qc.append(Delay(4_000.0, unit="ns"), [1])
    with orelse:
        qc.cx(1, 2)
    qc.h(1)
    qc.cx(2, 0)
    qc.measure([1, 2], [1, 2])
    return qc


def _ghz_with_idling() -> QuantumCircuit:
    qc = QuantumCircuit(4)
    qc.h(0)
    for q in range(3):
        qc.cx(q, q + 1)
        qc.append(Delay(2_500.0, unit="ns"), [q])
    qc.measure_all()
    return qc


_distance_and_bound = distance_and_bound


def _presample_from(monkeypatch: pytest.MonkeyPatch, work: int) -> None:
    monkeypatch.setattr(presampled, "PRESAMPLE_FROM_WORK", work)


@pytest.mark.parametrize("build", [_mid_circuit, _conditional, _ghz_with_idling])
def test_presampled_path_matches_trajectory_path(
    monkeypatch: pytest.MonkeyPatch, build: object
) -> None:
    qc = build()  # type: ignore[operator]
    model = _model(qc.num_qubits)
    _presample_from(monkeypatch, 1 << 60)
    trajectories = sim.sample(qc, SHOTS, seed=1, noise=model)
    _presample_from(monkeypatch, 0)
    drawn = sim.sample(qc, SHOTS, seed=2, noise=model)
    distance, bound = _distance_and_bound(trajectories, drawn)
    assert distance < bound, (distance, bound)


@pytest.mark.parametrize("times_us", [(20.0, 10.0), (20.0, 35.0)], ids=["mixture", "rare"])
def test_presampled_relaxation_follows_t1_and_t2(
    monkeypatch: pytest.MonkeyPatch, times_us: tuple[float, float]
) -> None:
    """Populations decay as exp(-t / T1), coherences as exp(-t / T2), in either form."""
    _presample_from(monkeypatch, 0)
    t1, t2 = times_us
    model = NoiseModel(relaxation={0: times_us, 1: times_us})
    qc = QuantumCircuit(2, 2)
    qc.x(0)
    qc.h(1)
    for _ in range(3):
        qc.append(Delay(5_000.0, unit="ns"), [0])
        qc.append(Delay(5_000.0, unit="ns"), [1])
    qc.h(1)
    qc.measure([0, 1], [0, 1])
    counts = sim.sample(qc, SHOTS, seed=3, noise=model)
    one = sum(c for k, c in counts.items() if k[1] == "1") / SHOTS
    plus = sum(c for k, c in counts.items() if k[0] == "0") / SHOTS
    # Binomial standard deviation at 20,000 shots is under 0.0036: 0.015 is > 4 sigma.
    assert one == pytest.approx(math.exp(-15 / t1), abs=0.015)
    assert plus == pytest.approx((1 + math.exp(-15 / t2)) / 2, abs=0.015)


@pytest.mark.parametrize("t2_us", [20.5, 30.0, 39.9])
def test_rare_damping_is_the_thermal_channel(t2_us: float) -> None:
    """(1 - q) identity + q damping(gamma) has T1 decay and T2 coherence exactly."""
    channel = ThermalRelaxation(20.0, t2_us, 700.0)
    q, gamma = channel.rare_damping()
    assert channel.damping <= q <= 1.0
    assert q * gamma == pytest.approx(channel.damping, rel=1e-12)
    coherence = 1 - q + q * math.sqrt(1 - gamma)
    assert coherence == pytest.approx(math.exp(-0.7 / t2_us), rel=1e-12)
    # The damping the executor applies for the rare outcome.
    damping = ThermalRelaxation.amplitude_damping(gamma)
    assert damping.damping == pytest.approx(gamma, rel=1e-12)
    assert damping.dephasing == 0.0


def test_presampled_same_seed_same_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    _presample_from(monkeypatch, 0)
    qc, model = _mid_circuit(), _model(5)
    first = sim.sample(qc, 500, seed=4, noise=model)
    assert first == sim.sample(qc, 500, seed=4, noise=model)
    assert first != sim.sample(qc, 500, seed=5, noise=model)


def test_shared_blocks_bind_as_fresh_ones_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patterns reuse the blocks they share (by their leaves): the counts are those of
    binding every block afresh, and blocks are in fact shared."""
    from openqpu.sim import program as program_module

    _presample_from(monkeypatch, 0)
    qc, model = _ghz_with_idling(), _model(6)
    binds: list[int] = []
    bind = program_module._bind_block

    def counted(block, leaves, values, dtype):  # type: ignore[no-untyped-def]
        binds.append(1)
        return bind(block, leaves, values, dtype)

    monkeypatch.setattr(program_module, "_bind_block", counted)
    shared = sim.sample(qc, 400, seed=8, noise=model)
    shared_binds = len(binds)
    binds.clear()
    monkeypatch.setattr(
        program_module,
        "_shared_block",
        lambda block, leaves, values, dtype, blocks: counted(block, leaves, values, dtype),
    )
    assert sim.sample(qc, 400, seed=8, noise=model) == shared
    assert 0 < shared_binds < len(binds) / 2


def test_patterns_share_shots_at_the_rate_of_no_event() -> None:
    """The empty pattern takes the product of the channels' "nothing" probabilities."""
    qc = _ghz_with_idling()
    program = sim.lower(qc, noise=_model(4))
    table = presampled.event_table(program)
    nothing = 1.0 - np.nanmax(np.where(np.isfinite(table.thresholds), table.thresholds, 0), axis=1)
    patterns = presampled.draw_patterns(table, SHOTS, np.random.default_rng(6))
    assert sum(patterns.values()) == SHOTS
    # Binomial: 5 sigma of the frequency of the empty pattern.
    expected = float(np.prod(nothing))
    assert patterns[b""] / SHOTS == pytest.approx(
        expected, abs=5 * math.sqrt(expected * (1 - expected) / SHOTS)
    )
