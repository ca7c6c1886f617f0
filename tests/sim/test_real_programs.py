"""The engine against reference simulators on a corpus of realistic OpenQASM programs.

The programs live in ``tests/data/qasm2`` and ``tests/data/qasm3``. Each is loaded
through ``openqpu.formats.qasm.loads`` and run on ``openqpu.sim``. The references
come from qiskit's own parsers (``qiskit.qasm2`` with the legacy ``qelib1.inc``
gate classes, ``qiskit.qasm3``) so a loader bug shows up as a mismatch too.

* Programs whose only measurements are final ones are compared exactly: the
  statevector (measurements removed) against ``qiskit.quantum_info.Statevector``,
  and sampled counts against the exact distribution of the classical bits.
* Programs with mid-circuit measurement, reset or classical control are compared
  with qiskit-aer by sampling both and bounding the distance between the two
  empirical distributions.

All seeds are fixed, so these tests are deterministic. The distance bounds are
nonetheless chosen to hold for a correct engine with probability at least
1 - 1e-9 per program for *any* seed, so that they stay sound when seeds,
shot counts or the engine's sampler change.
"""

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qiskit.qasm2
import qiskit.qasm3
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ControlFlowOp, Qubit
from qiskit.quantum_info import Statevector

from openqpu import sim
from openqpu.formats.qasm import loads

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
QASM2_PROGRAMS = sorted((DATA_DIR / "qasm2").glob("*.qasm"))
QASM3_PROGRAMS = sorted((DATA_DIR / "qasm3").glob("*.qasm"))
PROGRAMS = [*QASM2_PROGRAMS, *QASM3_PROGRAMS]

MAX_QUBITS = 14

# Shot counts and seeds named in the test plan.
EXACT_SHOTS = 4000
EXACT_SEED = 1
DYNAMIC_SHOTS = 20000
DYNAMIC_SEED = 7
AER_SEED = 11

# Allowed probability that a correct engine fails one distance check (see _tvd_bound_*).
FAILURE_PROBABILITY = 1e-9

# Outcomes whose exact probability is below this are treated as impossible. The total
# probability of all of them is at most 2**14 * 1e-12 < 2e-8, so a correct engine hits
# one in 4000 shots with probability below 1e-4 (and never with these fixed seeds).
IMPOSSIBLE = 1e-12


def _reference_load(path: Path) -> QuantumCircuit:
    """Parse a program with qiskit's own loaders, independently of openqpu."""
    text = path.read_text()
    if path.parent.name == "qasm3":
        return qiskit.qasm3.loads(text)
    return qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)


def _has_mid_circuit_operations(circuit: QuantumCircuit) -> bool:
    """True if the circuit resets, branches on classical bits, or acts after a measurement."""
    measured: set[Qubit] = set()
    for instruction in circuit.data:
        operation = instruction.operation
        if isinstance(operation, ControlFlowOp) or operation.name == "reset":
            return True
        if operation.name == "barrier":
            continue
        if measured.intersection(instruction.qubits):
            return True
        if operation.name == "measure":
            measured.update(instruction.qubits)
    return False


REFERENCE_CIRCUITS = {path: _reference_load(path) for path in PROGRAMS}
STATIC_PROGRAMS = [p for p in PROGRAMS if not _has_mid_circuit_operations(REFERENCE_CIRCUITS[p])]
DYNAMIC_PROGRAMS = [p for p in PROGRAMS if _has_mid_circuit_operations(REFERENCE_CIRCUITS[p])]


def _program_id(path: Path) -> str:
    return path.name


def _load(path: Path) -> QuantumCircuit:
    return loads(path.read_text())


def _exact_distribution(circuit: QuantumCircuit) -> dict[str, float]:
    """Exact distribution of the classical bits of a circuit whose measurements are final.

    Keys follow the counts convention: all classical bits, clbit 0 rightmost.
    Classical bits that are never measured read 0.
    """
    probabilities = Statevector(circuit.remove_final_measurements(inplace=False)).probabilities()
    basis_states = np.arange(probabilities.size)
    outcome = np.zeros(probabilities.size, dtype=np.int64)
    writer: dict[int, int] = {}  # clbit index -> qubit index of the last measurement into it
    for instruction in circuit.data:
        if instruction.operation.name == "measure":
            qubit = circuit.find_bit(instruction.qubits[0]).index
            writer[circuit.find_bit(instruction.clbits[0]).index] = qubit
    for clbit, qubit in writer.items():
        outcome |= ((basis_states >> qubit) & 1) << clbit
    totals = np.bincount(outcome, weights=probabilities, minlength=2**circuit.num_clbits)
    width = circuit.num_clbits
    return {format(k, f"0{width}b"): float(p) for k, p in enumerate(totals) if p > 0.0}


def _frequencies(counts: Mapping[str, int]) -> dict[str, float]:
    shots = sum(counts.values())
    return {key: value / shots for key, value in counts.items()}


def _tvd(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    return 0.5 * sum(abs(p.get(key, 0.0) - q.get(key, 0.0)) for key in p.keys() | q.keys())


def _tvd_bound_against_exact(exact: Mapping[str, float], shots: int) -> float:
    """Bound on TVD(empirical, exact) for ``shots`` i.i.d. samples from ``exact``.

    Mean: E|f_i - p_i| <= sqrt(p_i (1 - p_i) / shots) (Jensen), so
    E[TVD] <= 0.5 * sum_i sqrt(p_i (1 - p_i) / shots); for k equally likely outcomes
    this is about 0.5 * sqrt(k / shots).
    Deviation: changing one sample moves the TVD by at most 1/shots, so McDiarmid gives
    P(TVD >= E[TVD] + t) <= exp(-2 shots t^2); t = sqrt(ln(1/delta) / (2 shots)) is
    0.051 for delta = 1e-9 and 4000 shots.
    """
    mean = 0.5 * sum(math.sqrt(p * (1.0 - p) / shots) for p in exact.values())
    deviation = math.sqrt(math.log(1.0 / FAILURE_PROBABILITY) / (2.0 * shots))
    return mean + deviation


def _tvd_bound_two_samples(num_clbits: int, shots_a: int, shots_b: int) -> float:
    """Bound on TVD between two independent empirical distributions of the same law.

    The law is unknown, so use its largest possible support, k = 2**num_clbits.
    Mean: by the triangle inequality through the true law p and the estimate above,
    E[TVD] <= 0.5 * sum_i sqrt(p_i) * (1/sqrt(a) + 1/sqrt(b)), and by Cauchy-Schwarz
    sum_i sqrt(p_i) <= sqrt(k).
    Deviation: a sample of either run moves the TVD by at most 1/a or 1/b, so McDiarmid
    gives P(TVD >= E[TVD] + t) <= exp(-2 t^2 / (1/a + 1/b)).
    With a = b = 20000 and delta = 1e-9: 0.0071 * sqrt(k) + 0.032 (0.052 for 3 bits,
    0.072 for 5 bits).
    """
    k = 2**num_clbits
    mean = 0.5 * math.sqrt(k) * (1.0 / math.sqrt(shots_a) + 1.0 / math.sqrt(shots_b))
    variance_proxy = 1.0 / shots_a + 1.0 / shots_b
    deviation = math.sqrt(math.log(1.0 / FAILURE_PROBABILITY) * variance_proxy / 2.0)
    return mean + deviation


def _check_counts_shape(counts: Mapping[str, int], num_clbits: int, shots: int) -> None:
    assert sum(counts.values()) == shots
    for key, value in counts.items():
        assert len(key) == num_clbits, key
        assert set(key) <= {"0", "1"}, key
        assert value > 0, key


def _describe(observed: Mapping[str, float], expected: Mapping[str, float]) -> str:
    keys = sorted(observed.keys() | expected.keys(), key=lambda k: -expected.get(k, 0.0))[:8]
    rows = [f"{k}: got {observed.get(k, 0.0):.4f}, want {expected.get(k, 0.0):.4f}" for k in keys]
    return "; ".join(rows)


@pytest.fixture(scope="module")
def aer_simulator() -> Any:
    aer = pytest.importorskip(
        "qiskit_aer",
        reason="qiskit-aer is the reference for programs with mid-circuit measurement; "
        "install the dev extra",
    )
    return aer.AerSimulator(method="statevector")


def test_corpus_has_the_intended_shape() -> None:
    assert 15 <= len(QASM2_PROGRAMS) <= 25
    assert 4 <= len(QASM3_PROGRAMS) <= 6
    names = [path.name for path in PROGRAMS]
    assert len(set(names)) == len(names), "test ids are file names, so they must be unique"
    assert STATIC_PROGRAMS
    assert DYNAMIC_PROGRAMS
    for path, circuit in REFERENCE_CIRCUITS.items():
        assert circuit.num_qubits <= MAX_QUBITS, path.name
        assert circuit.num_clbits > 0, path.name
        # qiskit-aer leaves classical bits outside registers out of its counts keys.
        for clbit in circuit.clbits:
            assert circuit.find_bit(clbit).registers, f"{path.name}: clbit outside a register"


@pytest.mark.parametrize("path", PROGRAMS, ids=_program_id)
def test_loads_agrees_with_qiskit_parser_on_registers(path: Path) -> None:
    circuit = _load(path)
    reference = REFERENCE_CIRCUITS[path]
    assert isinstance(circuit, QuantumCircuit)
    assert circuit.num_qubits == reference.num_qubits
    assert circuit.num_clbits == reference.num_clbits
    assert [(r.name, r.size) for r in circuit.cregs] == [(r.name, r.size) for r in reference.cregs]


@pytest.mark.parametrize("path", STATIC_PROGRAMS, ids=_program_id)
def test_statevector_matches_qiskit_on_real_program(path: Path) -> None:
    circuit = _load(path).remove_final_measurements(inplace=False)
    reference = Statevector(REFERENCE_CIRCUITS[path].remove_final_measurements(inplace=False))

    state = np.asarray(sim.statevector(circuit), dtype=complex).reshape(-1)

    assert state.shape == (2**circuit.num_qubits,)
    assert abs(np.linalg.norm(state) - 1.0) < 1e-9
    fidelity = abs(np.vdot(reference.data, state)) ** 2
    assert fidelity > 1.0 - 1e-10, f"fidelity {fidelity!r}"


@pytest.mark.parametrize("path", STATIC_PROGRAMS, ids=_program_id)
def test_sample_matches_exact_distribution_on_real_program(path: Path) -> None:
    circuit = _load(path)
    exact = _exact_distribution(REFERENCE_CIRCUITS[path])

    counts = sim.sample(circuit, shots=EXACT_SHOTS, seed=EXACT_SEED)

    _check_counts_shape(counts, circuit.num_clbits, EXACT_SHOTS)
    impossible = [key for key in counts if exact.get(key, 0.0) < IMPOSSIBLE]
    assert not impossible, f"sampled outcomes with zero probability: {impossible[:8]}"
    observed = _frequencies(counts)
    distance = _tvd(observed, exact)
    bound = _tvd_bound_against_exact(exact, EXACT_SHOTS)
    assert distance < bound, f"TVD {distance:.4f} >= {bound:.4f}: {_describe(observed, exact)}"


@pytest.mark.parametrize("path", DYNAMIC_PROGRAMS, ids=_program_id)
def test_sample_matches_aer_on_dynamic_program(path: Path, aer_simulator: Any) -> None:
    circuit = _load(path)
    reference = REFERENCE_CIRCUITS[path]
    compiled = transpile(reference, aer_simulator, optimization_level=0)
    result = aer_simulator.run(compiled, shots=DYNAMIC_SHOTS, seed_simulator=AER_SEED).result()
    # Aer separates classical registers with spaces, last register leftmost.
    aer_counts: dict[str, int] = {}
    for key, value in result.get_counts().items():
        bits = key.replace(" ", "")
        aer_counts[bits] = aer_counts.get(bits, 0) + value
    _check_counts_shape(aer_counts, reference.num_clbits, DYNAMIC_SHOTS)

    counts = sim.sample(circuit, shots=DYNAMIC_SHOTS, seed=DYNAMIC_SEED)

    _check_counts_shape(counts, circuit.num_clbits, DYNAMIC_SHOTS)
    observed = _frequencies(counts)
    expected = _frequencies(aer_counts)
    distance = _tvd(observed, expected)
    bound = _tvd_bound_two_samples(circuit.num_clbits, DYNAMIC_SHOTS, DYNAMIC_SHOTS)
    assert distance < bound, f"TVD {distance:.4f} >= {bound:.4f}: {_describe(observed, expected)}"


@pytest.mark.parametrize("path", PROGRAMS, ids=_program_id)
def test_sample_is_reproducible_for_a_fixed_seed(path: Path) -> None:
    circuit = _load(path)

    first = sim.sample(circuit, shots=1000, seed=1234)
    second = sim.sample(circuit, shots=1000, seed=1234)

    assert first == second
