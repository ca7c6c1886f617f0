"""The stabilizer method: noisy Clifford circuits sampled with Stim's Pauli-frame simulator.

Depolarising noise and readout error are exact; thermal relaxation becomes its Pauli
twirl, which the result states. Width is not the limit (a 70-qubit GHZ takes
milliseconds); only Clifford gates and Pauli-only ``if_else`` bodies run.
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit

from openqpu.sim.methods.base import STABILIZER, Cost, MethodRun, MethodUnsupported
from openqpu.sim.methods.stabilizer_circuit import StimProgram, Translator, Unsupported
from openqpu.sim.noise import NoiseModel
from openqpu.sim.rng import make_rng

# Cost model, fitted by least squares (relative error) on this machine (2 shared cores,
# stim 1.16) to runs of GHZ circuits of 10-70 qubits and rotated surface-code memory
# circuits of distance 3 and 5 with 1-10 rounds, compiled for lattice72 and run with
# its noise, at 100-20,000 shots:
#   seconds = A + B * instructions + C * instructions * shots + D * clbits * shots
# with ``instructions`` the circuit's top-level instructions. B is the translation to
# Stim, C Stim's sampling, D turning records into counts. The fit is within a factor
# 0.4-1.5 of every measurement (GHZ-70 at 1,000 shots: 8 ms; surface code d=5, 10
# rounds at 10,000 shots: 0.2 s).
_A = 4.4e-4
_B = 4.3e-6
_C = 3.1e-10
_D = 1.5e-8


def why_not(circuit: QuantumCircuit, noise: NoiseModel | None) -> str | None:
    """Why the stabilizer method cannot run ``circuit`` with ``noise``, or None if it can.

    One pass over ``circuit.data``; the reason names the first offending instruction.

    Args:
        circuit: a circuit with bound parameters.
        noise: the engine's noise model, or None.

    Returns:
        None, or a plain reason such as ``"rz(0.3) on qubit 4 is not a multiple of pi/2"``.

    >>> qc = QuantumCircuit(1); _ = qc.rz(0.3, 0)
    >>> why_not(qc, None)
    'rz(0.3) on qubit 0 is not a multiple of pi/2'
    """
    try:
        Translator(circuit, noise, emit=False).run()
    except Unsupported as error:
        return str(error)
    return None


def cost(circuit: QuantumCircuit, noise: NoiseModel | None, shots: int) -> Cost:
    """Estimated wall time and peak memory of ``run`` on this machine.

    Args:
        circuit: the circuit (not checked; see ``why_not``).
        noise: the noise model (noise channels scale with the instructions).
        shots: number of shots.

    Returns:
        The estimate.
    """
    instructions = len(circuit.data)
    measurements = circuit.count_ops().get("measure", 0)
    clbits = circuit.num_clbits
    seconds = _A + _B * instructions + _C * instructions * shots + _D * clbits * shots
    # Per shot: Stim's frames (2 bits per qubit) and record (1 bit per measurement),
    # the record as bytes, and per clbit its byte, two float32 for the readout draws and
    # the key's text. Per instruction: its Stim text and instruction.
    memory = (
        shots * (2 * circuit.num_qubits + measurements) // 8
        + shots * measurements
        + shots * clbits * 12
        + 300 * instructions
        + circuit.num_qubits**2
    )
    return Cost(seconds=seconds, memory_bytes=int(memory) + 1_000_000)


def run(
    circuit: QuantumCircuit,
    noise: NoiseModel | None,
    shots: int,
    *,
    seed: int | np.random.Generator | None = None,
) -> MethodRun:
    """Sample ``shots`` shots of a noisy Clifford circuit.

    Args:
        circuit: a circuit with bound parameters, of Clifford gates, measure, reset,
            delay, barrier and single-bit ``if_else`` with Pauli bodies.
        noise: the engine's noise model, or None for an ideal run.
        shots: number of shots, at least 1.
        seed: seed or generator; the same seed gives the same counts.

    Returns:
        Counts in ``openqpu.sim.sample``'s format, with the approximations made and
        ``figures["twirled_channels"]``.

    Raises:
        MethodUnsupported: the circuit is not one this method runs (see ``why_not``).
        ValueError: ``shots`` is not a positive integer.

    >>> qc = QuantumCircuit(2, 2); _ = qc.h(0); _ = qc.cx(0, 1)
    >>> _ = qc.measure([0, 1], [0, 1])
    >>> sorted(run(qc, None, 100, seed=1).counts)
    ['00', '11']
    """
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
        raise ValueError(f"shots must be a positive integer, not {shots!r}")
    try:
        program = Translator(circuit, noise, emit=True).run()
    except Unsupported as error:
        raise MethodUnsupported(STABILIZER, str(error)) from None
    rng = make_rng(seed)
    sampler = program.circuit.compile_sampler(seed=int(rng.integers(2**63)))
    record = sampler.sample(int(shots))
    bits = _clbits(program, record, noise, rng)
    return MethodRun(
        counts=_counts(bits),
        method=STABILIZER,
        approximations=_approximations(program),
        figures={"twirled_channels": program.twirled_channels},
    )


def _clbits(
    program: StimProgram,
    record: np.ndarray,
    noise: NoiseModel | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """bool, shape (shots, num_clbits): each clbit's last written measurement, misread."""
    shots = record.shape[0]
    bits = np.zeros((shots, program.num_clbits), dtype=np.bool_)
    written = np.flatnonzero(program.final_measurement >= 0)
    bits[:, written] = record[:, program.final_measurement[written]]
    if noise is None or not noise.readout:
        return bits
    p10 = np.zeros(program.num_clbits, dtype=np.float32)
    p01 = np.zeros(program.num_clbits, dtype=np.float32)
    for clbit in written:
        index = int(program.final_measurement[clbit])
        error = noise.readout.get(program.measured_qubit[index])
        if error is not None and index not in program.flipped_in_stim:
            p10[clbit], p01[clbit] = error.prob_1_given_0, error.prob_0_given_1
    if p10.any() or p01.any():
        # A bit flips when a uniform draw falls under its threshold: P(1|0) where it
        # reads 0, P(0|1) where it reads 1 (zero for bits without readout error).
        # float32 halves the memory traffic; the probabilities need no more resolution.
        draws = rng.random(bits.shape, dtype=np.float32)
        draws -= p10
        draws -= bits * (p01 - p10)
        bits ^= draws < 0
    return bits


def _counts(bits: np.ndarray) -> dict[str, int]:
    """Counts keyed as ``openqpu.sim.sample`` keys them (clbit 0 rightmost), sorted."""
    shots, width = bits.shape
    if width == 0:
        return {"": shots}
    text = np.ascontiguousarray(bits[:, ::-1], dtype=np.uint8) + np.uint8(ord("0"))
    keys, counts = np.unique(text.view(f"S{width}").ravel(), return_counts=True)
    return {key.decode(): int(count) for key, count in zip(keys, counts, strict=True)}


def _approximations(program: StimProgram) -> tuple[str, ...]:
    sentences = []
    if program.twirled_channels:
        sentences.append(
            f"thermal relaxation (T1, T2) applied as its Pauli twirl on "
            f"{program.twirled_channels} channels: decay towards |0> becomes symmetric "
            "bit and phase flips"
        )
    if program.asymmetric_feedback_readouts:
        sentences.append(
            f"readout error of the {program.asymmetric_feedback_readouts} measurements "
            "that feed if_else conditions applied as a symmetric flip with the mean of "
            "P(1|0) and P(0|1)"
        )
    if program.conditional_noisy_gates:
        sentences.append(
            f"noise after the {program.conditional_noisy_gates} gates inside if_else "
            "bodies applied whether or not their branch runs"
        )
    return tuple(sentences)
