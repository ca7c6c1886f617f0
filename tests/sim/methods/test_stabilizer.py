"""The stabilizer method against qiskit-aer's stabilizer simulator, the engine's exact
trajectories and exact formulas.

aer's model is written here from the calibration snapshot alone, with thermal
relaxation replaced by the same Pauli twirl (aer's ``pauli_error``), so both sides
simulate the same channels. Against the engine, which applies relaxation exactly, the
distance allows for the twirl (see ``_twirl_allowance``).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from functools import cache

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit.circuit.library import U1Gate
from qiskit.quantum_info import Statevector, random_clifford

from openqpu import sim
from openqpu.device import generate_snapshot, load_device_specs
from openqpu.sim.methods import stabilizer
from openqpu.sim.methods.base import STABILIZER, MethodUnsupported
from openqpu.sim.noise import (
    Depolarizing,
    NoiseModel,
    Placed,
    ReadoutError,
    ThermalRelaxation,
)
from openqpu.transpile import noise_model_for, transpile_for_device
from tests.conftest import aer_chip_noise, total_variation, tvd_bound, with_explicit_idling
from tests.sim.methods.conftest import (
    assert_statistics_agree,
    feedback,
    ghz,
    random_clifford_layers,
    repetition_code,
    statistics,
)

SIGMAS = 5.0


# Circuits ----------------------------------------------------------------------------


# Chip, compilation and models --------------------------------------------------------

_SPEC = load_device_specs()["lattice72"]
_SNAPSHOT = generate_snapshot(_SPEC, seed=7, taken_at=datetime(2026, 1, 1, tzinfo=UTC))


@cache
def _compiled(name: str):
    """A circuit compiled for lattice72 (cached: compilation dominates small tests)."""
    makers = {
        "ghz24": lambda: ghz(24),
        "clifford20": lambda: random_clifford_layers(20, 3, seed=3),
        "repetition21": lambda: repetition_code(11, 2),
        "ghz8": lambda: ghz(8),
        "clifford8": lambda: random_clifford_layers(8, 3, seed=5),
        "repetition7": lambda: repetition_code(4, 2),
        "feedback6": lambda: feedback(6),
    }
    # Level 1: higher levels resynthesise two-qubit blocks, whose single-qubit angles
    # need not be multiples of pi/2 even when the block is Clifford.
    return transpile_for_device(makers[name](), _SPEC, _SNAPSHOT, seed=1, optimization_level=1)


def _chip_noise(compiled) -> NoiseModel:
    return noise_model_for(compiled, _SPEC, _SNAPSHOT)


def _without(noise: NoiseModel, kind: type) -> NoiseModel:
    """``noise`` with every channel of type ``kind`` dropped (and no idling if relaxation)."""
    gate_errors = {
        key: tuple(p for p in placed if not isinstance(p.channel, kind))
        for key, placed in noise.gate_errors.items()
    }
    relaxation = {} if kind is ThermalRelaxation else noise.relaxation
    return dataclasses.replace(noise, gate_errors=gate_errors, relaxation=relaxation)


def _aer_twirled_noise(compiled):
    """aer's model from the snapshot, relaxation as its Pauli twirl; and the idle twirl."""
    from qiskit_aer import noise as aer_noise

    def twirl(t1: float, t2: float, ns: float):
        px = (1 - math.exp(-ns / 1e3 / t1)) / 4
        pz = max(0.0, (1 - math.exp(-ns / 1e3 / t2)) / 2 - px)
        return aer_noise.pauli_error([("X", px), ("Y", px), ("Z", pz), ("I", 1 - 2 * px - pz)])

    return aer_chip_noise(compiled, _SPEC, _SNAPSHOT, relaxation=twirl)


def _without_idling_in_zero(circuit: QuantumCircuit) -> QuantumCircuit:
    """``circuit`` without the delays of qubits certainly in |0> (before their first gate
    that moves them, after a reset), where relaxation is the identity and is dropped."""
    out = circuit.copy_empty_like()
    zero = set(circuit.qubits)
    for item in circuit.data:
        name = item.operation.name
        if name == "delay" and item.qubits[0] in zero:
            continue
        if name == "reset":
            zero.update(item.qubits)
        elif name not in ("delay", "barrier", "measure", "rz", "cz"):
            zero.difference_update(item.qubits)
        elif name == "cz":  # its depolarising channel may move both
            zero.difference_update(item.qubits)
        out.append(item)
    return out


# Statistics --------------------------------------------------------------------------


def _bits(counts: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(distinct outcomes as bool rows, clbit j in column j; their counts)."""
    keys = list(counts)
    rows = np.array([[c == "1" for c in reversed(key)] for key in keys], dtype=bool)
    return rows, np.array([counts[k] for k in keys], dtype=float)


def _significantly_different(a: dict[str, int], b: dict[str, int]) -> bool:
    n1, n2 = sum(a.values()), sum(b.values())
    p1, p2 = statistics(a), statistics(b)
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    sigma = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) + 0.25 / min(n1, n2)
    return bool(np.any(np.abs(p1 - p2) > SIGMAS * sigma))


# Against qiskit-aer's stabilizer method ----------------------------------------------


# aer's stabilizer method runs noisy shots one at a time (about 3 ms each here), so the
# default run uses few of its shots; the slow variant narrows the bounds.
@pytest.mark.parametrize(
    ("name", "aer_shots"),
    [
        ("ghz24", 1_000),
        ("clifford20", 1_000),
        ("repetition21", 1_000),
        pytest.param("ghz24", 8_000, marks=pytest.mark.slow),
        pytest.param("clifford20", 8_000, marks=pytest.mark.slow),
        pytest.param("repetition21", 8_000, marks=pytest.mark.slow),
    ],
)
def test_run_matches_aer_stabilizer_with_twirled_chip_noise(name: str, aer_shots: int) -> None:
    aer = pytest.importorskip("qiskit_aer")
    compiled = _compiled(name)
    assert 20 <= compiled.num_qubits <= 40
    noise = _chip_noise(compiled)
    ours = stabilizer.run(compiled.circuit, noise, 40_000, seed=2, variant="twirled").counts
    model, twirl = _aer_twirled_noise(compiled)
    reference = with_explicit_idling(_without_idling_in_zero(compiled.circuit), twirl, _SPEC.dt_ns)
    backend = aer.AerSimulator(
        method="stabilizer", noise_model=model, seed_simulator=5, max_parallel_threads=1
    )
    result = backend.run(reference, shots=aer_shots).result().get_counts()
    theirs = {key.replace(" ", ""): count for key, count in result.items()}
    assert_statistics_agree(ours, theirs)


# Against the engine's exact trajectories ---------------------------------------------

ENGINE_SHOTS = 4_000
STIM_SHOTS = 200_000


def _twirl_allowance(circuit: QuantumCircuit, noise: NoiseModel) -> float:
    """How far twirling every relaxation can move the distribution, in total variation.

    A relaxation's Pauli transfer matrix differs from its twirl's only in the entry that
    maps the identity to Z (the drift towards |0>, of size gamma = 1 - exp(-t / T1)), so
    their difference is rho -> gamma tr(rho) Z / 2, of diamond norm gamma. Replacing the
    channels one at a time, the outcome distribution moves by at most half the sum of
    those norms.
    """
    total = 0.0
    for item in circuit.data:
        qubits = tuple(circuit.find_bit(q).index for q in item.qubits)
        operation = item.operation
        placed: list[Placed | None] = []
        if operation.name == "delay":
            placed = [noise.idle(q, float(operation.duration), operation.unit) for q in qubits]
        elif operation.name == "if_else":
            # Bodies: their gates' channels, as an upper bound on what may run.
            for body in operation.blocks:
                inner = dict(zip(body.qubits, qubits, strict=True))
                for gate in body.data:
                    placed += noise.after_gate(gate.name, tuple(inner[q] for q in gate.qubits))
        else:
            placed = list(noise.after_gate(operation.name, qubits))
        for channel in placed:
            if channel is not None and isinstance(channel.channel, ThermalRelaxation):
                total += channel.channel.damping
    return total / 2


def _distance_to_engine(
    circuit: QuantumCircuit, noise: NoiseModel, variant: str = "auto"
) -> tuple[float, float]:
    """(total variation between the engine's and our samples, its sampling bound)."""
    engine = sim.sample(circuit, ENGINE_SHOTS, seed=3, noise=noise)
    ours = stabilizer.run(circuit, noise, STIM_SHOTS, seed=4, variant=variant).counts
    distribution = {key: count / STIM_SHOTS for key, count in ours.items()}
    bound = tvd_bound(distribution, ENGINE_SHOTS) + tvd_bound(distribution, STIM_SHOTS)
    return total_variation(engine, distribution), bound


def _exact_feedback_model(noise: NoiseModel) -> NoiseModel:
    """``noise`` without what the method approximates in dynamic circuits: relaxation,
    asymmetric readout of fed-back bits and noise on the gates of if_else bodies."""
    plain = _without(noise, ThermalRelaxation)
    readout = {
        q: ReadoutError(*(2 * [(e.readout_error_0to1 + e.readout_error_1to0) / 2]))
        for q, e in plain.readout.items()
    }
    gate_errors = {key: value for key, value in plain.gate_errors.items() if key[0] != "x"}
    return dataclasses.replace(plain, readout=readout, gate_errors=gate_errors)


@pytest.mark.parametrize("name", ["ghz8", "clifford8", "repetition7", "feedback6"])
def test_run_matches_engine_exactly_without_relaxation(name: str) -> None:
    compiled = _compiled(name)
    noise = _without(_chip_noise(compiled), ThermalRelaxation)
    if name.startswith("feedback"):
        noise = _exact_feedback_model(noise)
    result = stabilizer.run(compiled.circuit, noise, 10, seed=0)
    assert result.approximations == ()
    distance, bound = _distance_to_engine(compiled.circuit, noise)
    assert distance < bound, (distance, bound)


@pytest.mark.parametrize("name", ["ghz8", "clifford8", "repetition7", "feedback6"])
def test_run_matches_engine_within_the_twirl_allowance(name: str) -> None:
    compiled = _compiled(name)
    noise = _chip_noise(compiled)
    distance, bound = _distance_to_engine(compiled.circuit, noise, "twirled")
    allowance = _twirl_allowance(compiled.circuit, noise)
    assert distance < bound + allowance, (distance, bound, allowance)


def test_run_dynamic_circuit_matches_engine() -> None:
    """Conditions on 1 and on 0, an else body, and a bit never written (reads 0)."""
    qc = QuantumCircuit(4, 4)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 0)) as otherwise:
        qc.x(2)
        qc.z(1)
    with otherwise:
        qc.y(3)
    with qc.if_test((qc.clbits[3], 1)):
        qc.x(1)
    with qc.if_test((qc.clbits[3], 0)):
        qc.x(0)
    qc.h(1)
    qc.measure([1, 2, 3], [1, 2, 3])
    noise = NoiseModel(
        gate_errors={
            ("h", (0,)): (Placed(Depolarizing(0.2), (0,)),),
            ("cx", (0, 1)): (Placed(Depolarizing(0.3, 2), (0, 1)),),
            # Branches on the unwritten bit are decided statically: their noise is exact.
            ("x", (0,)): (Placed(Depolarizing(0.5), (0,)),),
            ("x", (1,)): (Placed(Depolarizing(0.5), (1,)),),
        },
        readout={q: ReadoutError(0.05, 0.05) for q in range(4)},
    )
    assert stabilizer.why_not(qc, noise) is None
    assert stabilizer.run(qc, noise, 10, seed=0).approximations == ()
    distance, bound = _distance_to_engine(qc, noise)
    assert distance < bound, (distance, bound)


# Each noise component, against exact formulas -----------------------------------------


def _frequencies_of_one(counts: dict[str, int]) -> np.ndarray:
    rows, weights = _bits(counts)
    return weights @ rows / weights.sum()


def _assert_rates(measured: np.ndarray, expected: np.ndarray, shots: int) -> None:
    sigma = np.sqrt(expected * (1 - expected) / shots) + 1 / shots
    assert np.all(np.abs(measured - expected) < SIGMAS * sigma), (measured, expected)


def test_run_readout_flips_with_each_qubits_own_probabilities() -> None:
    shots = 100_000
    qc = QuantumCircuit(6, 6)
    qc.x([0, 2, 4])
    qc.measure(range(6), range(6))
    readout = {q: ReadoutError(0.01 * (q + 1), 0.03 + 0.02 * q) for q in range(6)}
    result = stabilizer.run(qc, NoiseModel(readout=readout), shots, seed=9)
    expected = np.array(
        [
            readout[q].readout_error_1to0 if q % 2 == 0 else readout[q].readout_error_0to1
            for q in range(6)
        ]
    )
    ones = _frequencies_of_one(result.counts)
    flipped = np.where(np.arange(6) % 2 == 0, 1 - ones, ones)
    _assert_rates(flipped, expected, shots)
    assert result.approximations == ()
    assert result.figures == {"variant": "twirled", "relaxation": "none", "twirled_channels": 0}


def test_run_depolarising_flips_exactly_its_paulis() -> None:
    shots = 100_000
    qc = QuantumCircuit(3, 3)
    qc.x(0)
    qc.cz(1, 2)
    qc.measure(range(3), range(3))
    noise = NoiseModel(
        gate_errors={
            ("x", (0,)): (Placed(Depolarizing(0.2), (0,)),),
            ("cz", (1, 2)): (Placed(Depolarizing(0.4, 2), (1, 2)),),
        }
    )
    counts = stabilizer.run(qc, noise, shots, seed=10).counts
    rows, weights = _bits(counts)
    # X or Y flip a bit: 2 of the 4 one-qubit Paulis, 8 of the 16 two-qubit ones, and
    # both bits of the pair for 4 of the 16.
    both = weights @ (rows[:, 1] & rows[:, 2]) / shots
    measured = np.array(
        [1 - _frequencies_of_one(counts)[0], *_frequencies_of_one(counts)[1:], both]
    )
    _assert_rates(measured, np.array([0.1, 0.2, 0.2, 0.1]), shots)


def test_run_relaxation_is_its_pauli_twirl() -> None:
    shots = 100_000
    t1_us, t2_us, delay_ns = 20.0, 15.0, 4_000.0
    qc = QuantumCircuit(4, 4)
    qc.x(0)
    qc.h(2)
    qc.x(3)
    qc.x(3)  # back in |0>, but not known to be: its relaxation is twirled
    qc.delay(delay_ns, range(4), unit="ns")
    qc.h(2)
    qc.measure(range(4), range(4))
    noise = NoiseModel(relaxation={q: (t1_us, t2_us) for q in range(4)})
    result = stabilizer.run(qc, noise, shots, seed=11, variant="twirled")
    gamma = 1 - math.exp(-delay_ns / 1e3 / t1_us)
    dephased = (1 - math.exp(-delay_ns / 1e3 / t2_us)) / 2
    # The twirl decays |1> and excites |0> alike, with X or Y: probability gamma / 2;
    # coherences decay exactly as exp(-t / T2). Qubit 1 idles in |0> from the start:
    # its relaxation is the identity, dropped, and it never flips.
    ones = _frequencies_of_one(result.counts)
    assert ones[1] == 0
    _assert_rates(
        np.array([1 - ones[0], ones[2], ones[3]]), np.array([gamma / 2, dephased, gamma / 2]), shots
    )
    assert result.figures == {"variant": "twirled", "relaxation": "twirled", "twirled_channels": 3}
    assert result.approximations == (
        "thermal relaxation (T1, T2) applied as its Pauli twirl on 3 channels: decay "
        "towards |0> becomes symmetric bit and phase flips",
    )


@pytest.mark.parametrize("dropped", [Depolarizing, ThermalRelaxation])
def test_run_dropping_a_noise_component_changes_the_counts(dropped: type) -> None:
    compiled = _compiled("ghz8")
    noise = _chip_noise(compiled)
    full = stabilizer.run(compiled.circuit, noise, 50_000, seed=12).counts
    again = stabilizer.run(compiled.circuit, noise, 50_000, seed=13).counts
    lacking = stabilizer.run(compiled.circuit, _without(noise, dropped), 50_000, seed=12).counts
    assert not _significantly_different(full, again)
    assert _significantly_different(full, lacking)


def test_run_states_the_approximations_of_feedback() -> None:
    compiled = _compiled("feedback6")
    noise = _without(_chip_noise(compiled), ThermalRelaxation)
    result = stabilizer.run(compiled.circuit, noise, 10, seed=0, variant="twirled")
    assert result.approximations == (
        "readout error of the 1 measurements that feed if_else conditions applied as a "
        "symmetric flip with the mean of P(1|0) and P(0|1)",
        f"noise after the {compiled.num_qubits - 1} gates inside if_else bodies applied "
        "whether or not their branch runs",
    )


# Plain Qiskit Clifford circuits, counts format, seeds ---------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_run_matches_statevector_on_standard_clifford_gates(seed: int) -> None:
    shots = 20_000
    qc = QuantumCircuit(5)
    qc.compose(random_clifford(5, seed=seed).to_circuit(), inplace=True)
    qc.id(0)
    qc.y(1)
    qc.z(2)
    qc.sx(3)
    qc.sxdg(4)
    qc.cy(0, 1)
    qc.swap(2, 3)
    qc.rz(math.pi / 2, 0)
    qc.p(math.pi, 1)
    qc.append(U1Gate(-math.pi / 2), [2])
    qc.rz(2 * math.pi + 1e-12, 3)
    qc.h(range(5))
    qc.s(4)
    qc.sdg(3)
    qc.cx(4, 0)
    qc.cz(1, 3)
    qc.h([0, 2])
    exact = Statevector(qc).probabilities_dict()
    qc.measure_all()
    counts = stabilizer.run(qc, None, shots, seed=seed).counts
    assert total_variation(counts, exact) < tvd_bound(exact, shots)


def test_run_counts_keep_the_last_write_of_each_clbit_and_zero_for_unwritten() -> None:
    a, b = ClassicalRegister(2, "a"), ClassicalRegister(3, "b")
    qc = QuantumCircuit(QuantumRegister(2), a, b)
    qc.x(0)
    qc.measure(0, a[0])
    qc.measure(1, b[2])
    qc.x(0)
    qc.x(1)
    qc.measure(0, a[0])  # overwrites 1 with 0; a[1] and b[1] stay unwritten
    qc.measure(1, b[0])
    expected = sim.sample(qc, 5, seed=0)
    assert stabilizer.run(qc, None, 5, seed=0).counts == expected == {"00100": 5}
    empty = QuantumCircuit(1)
    empty.x(0)
    assert stabilizer.run(empty, None, 3).counts == {"": 3}


def test_run_same_seed_same_counts() -> None:
    compiled = _compiled("ghz8")
    noise = _chip_noise(compiled)
    first = stabilizer.run(compiled.circuit, noise, 2_000, seed=21)
    assert stabilizer.run(compiled.circuit, noise, 2_000, seed=21) == first
    assert stabilizer.run(compiled.circuit, noise, 2_000, seed=22).counts != first.counts
    generator = stabilizer.run(compiled.circuit, noise, 2_000, seed=np.random.default_rng(21))
    assert generator == first
    assert first.method == STABILIZER


# why_not, run's refusal, cost ---------------------------------------------------------


def _conditioned_on_register() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2)
    qc.measure([0, 1], [0, 1])
    with qc.if_test((qc.cregs[0], 3)):
        qc.x(0)
    return qc


def _hadamard_in_body() -> QuantumCircuit:
    qc = QuantumCircuit(2, 1)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.h(1)
    return qc


def _measure_in_body() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 0)):
        qc.measure(1, 1)
    return qc


def _non_clifford_rz() -> QuantumCircuit:
    qc = QuantumCircuit(5)
    qc.rz(0.3, 4)
    return qc


def _unbound() -> QuantumCircuit:
    qc = QuantumCircuit(3)
    qc.rz(Parameter("theta"), 1)
    return qc


def _t_gate() -> QuantumCircuit:
    qc = QuantumCircuit(3)
    qc.h(2)
    qc.t(2)
    return qc


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_non_clifford_rz, "rz(0.3) on qubit 4 is not a multiple of pi/2"),
        (_unbound, "rz on qubit 1 has an unbound parameter (theta)"),
        (_t_gate, "t on qubit 2 is not a Clifford gate the stabilizer method runs"),
        (_hadamard_in_body, "h on qubit 1 inside if_else: bodies may hold only Pauli gates"),
        (_conditioned_on_register, "is not a single classical bit equal to 0 or 1"),
        (_measure_in_body, "measure on qubit 1 inside if_else: bodies may hold only Pauli"),
    ],
)
def test_why_not_names_the_offending_instruction(make, reason: str) -> None:
    circuit = make()
    assert reason in stabilizer.why_not(circuit, None)
    with pytest.raises(MethodUnsupported, match="method 'stabilizer' cannot run"):
        stabilizer.run(circuit, None, 10)


def test_why_not_accepts_compiled_chip_circuits() -> None:
    for name in ("ghz24", "repetition21", "feedback6"):
        compiled = _compiled(name)
        assert stabilizer.why_not(compiled.circuit, _chip_noise(compiled)) is None


def test_why_not_needs_dt_for_delays_that_relax() -> None:
    compiled = _compiled("ghz8")
    noise = dataclasses.replace(_chip_noise(compiled), dt_ns=None)
    assert "delay on qubit" in stabilizer.why_not(compiled.circuit, noise)
    assert "no dt_ns" in stabilizer.why_not(compiled.circuit, noise)


def test_cost_grows_with_shots_and_size() -> None:
    small, large = _compiled("ghz8"), _compiled("ghz24")
    few = stabilizer.cost(small.circuit, _chip_noise(small), 100)
    many = stabilizer.cost(small.circuit, _chip_noise(small), 100_000)
    wide = stabilizer.cost(large.circuit, _chip_noise(large), 100_000)
    assert 0 < few.seconds < many.seconds < wide.seconds
    assert 0 < few.memory_bytes < many.memory_bytes < wide.memory_bytes


def test_run_rejects_bad_shots() -> None:
    with pytest.raises(ValueError, match="shots must be a positive integer"):
        stabilizer.run(ghz(2), None, 0)


def test_relaxation_of_qubits_certainly_in_zero_is_dropped() -> None:
    """Long delays before a qubit's first gate and after a reset give no flips (exact at
    zero temperature); a delay after a gate that moves the qubit is twirled."""
    shots = 20_000
    qc = QuantumCircuit(3, 4)
    qc.delay(50_000, range(3), unit="ns")  # all in |0>: dropped
    qc.rz(math.pi / 2, 0)  # diagonal: qubit 0 stays in |0>
    qc.delay(50_000, 0, unit="ns")
    qc.cx(1, 2)  # control |0>: nothing moves, but cx is not diagonal: 1 and 2 leave
    qc.delay(50_000, [1, 2], unit="ns")  # twirled (2 channels)
    qc.measure(0, 0)
    qc.reset(1)
    qc.delay(50_000, 1, unit="ns")  # after a reset: dropped
    qc.measure([1, 2], [1, 2])
    noise = NoiseModel(relaxation={q: (10.0, 8.0) for q in range(3)})
    result = stabilizer.run(qc, noise, shots, seed=3, variant="twirled")
    ones = _frequencies_of_one(result.counts)
    assert ones[0] == 0 and ones[1] == 0 and ones[2] > 0.2
    assert result.figures["twirled_channels"] == 2
