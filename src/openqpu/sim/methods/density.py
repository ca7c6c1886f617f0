"""The density_matrix method: one exact run of a noisy circuit, every shot sampled from it.

For circuits of few qubits (about 12 at most) with only terminal measurements
the final density matrix gives the exact noisy distribution, for every channel
of the noise model (depolarising, thermal relaxation with any T2 <= 2 T1,
reset, readout confusion). vec(rho) of n qubits is a 2n-qubit vector; the
engine's statevector ops act on it (see ``density_plan``).
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit

from openqpu.errors import OpenQPUError
from openqpu.sim.methods.base import DENSITY_MATRIX, Cost, MethodRun, MethodUnsupported
from openqpu.sim.methods.density_plan import DensityPlan, NotTerminal, build_plan
from openqpu.sim.noise import NoiseModel, ReadoutError
from openqpu.sim.rng import make_rng
from openqpu.sim.threads import threads_for

# Widest compact distribution over written classical bits that we sample from.
MAX_WRITTEN_CLBITS = 24
# ``probabilities`` returns all 2^num_clbits entries; refuse absurd sizes.
MAX_CLBITS_DENSE = 26


def why_not(
    circuit: QuantumCircuit, noise: NoiseModel | None, *, max_qubits: int = 12
) -> str | None:
    """Why the density_matrix method cannot run ``circuit``, or None when it can.

    Args:
        circuit: the circuit (for a chip: the transpiled, compacted circuit).
        noise: its noise model, or None.
        max_qubits: the widest circuit accepted (memory 16 * 4^n bytes).

    Returns:
        None, or a plain sentence: too many qubits, a measurement that is not
        terminal, classical control, unbound parameters, an unsupported instruction.

    >>> from qiskit import QuantumCircuit
    >>> qc = QuantumCircuit(1, 1); _ = qc.measure(0, 0); _ = qc.x(0)
    >>> why_not(qc, None)
    'qubit 0 is measured and then acted on by a gate: only terminal measurements are supported'
    """
    if circuit.num_qubits > max_qubits:
        return f"the circuit has {circuit.num_qubits} qubits, more than {max_qubits}"
    try:
        _plan(circuit, noise)
    except MethodUnsupported as error:
        return error.reason
    return None


def cost(circuit: QuantumCircuit, noise: NoiseModel | None, shots: int) -> Cost:
    """Estimated time and memory of ``run`` on this machine.

    Args:
        circuit: the circuit.
        noise: its noise model, or None.
        shots: the number of shots.

    Returns:
        Memory of the state (16 * 4^n bytes, complex128) and seconds from the
        cost model below.
    """
    n = circuit.num_qubits
    amplitudes = 4**n
    ops = sum(1 for item in circuit.data if item.operation.name not in ("barrier", "measure"))
    seconds = _SETUP_S + ops * (_PER_OP_S + _NS_PER_OP_AMPLITUDE * 1e-9 * amplitudes)
    seconds += _NS_PER_AMPLITUDE * 1e-9 * amplitudes + _NS_PER_OUTCOME * 1e-9 * 2**n
    return Cost(seconds=seconds, memory_bytes=16 * amplitudes)


# Cost model, fitted to ``run`` on transpiled efficient_su2 circuits (lattice72 noise,
# n = 4..12, 47..331 instructions) on the 2-vCPU Zen 3 machine:
#   seconds = 1e-3 + g * (7e-5 + 0.45e-9 * 4^n) + 1e-9 * 4^n + 50e-9 * 2^n
# g: instructions other than barrier and measure (delays count: they are channels).
# 7e-5 s per instruction is lowering and building superoperators; 0.45 ns per
# instruction and amplitude is the evolution (single-qubit runs fused, the ops
# cache-blocked, so well under one pass per instruction); 4^n for allocating and
# reading the diagonal; 2^n for the distribution and the one multinomial draw
# (independent of the number of shots).
_SETUP_S = 1e-3
_PER_OP_S = 7e-5
_NS_PER_OP_AMPLITUDE = 0.45
_NS_PER_AMPLITUDE = 1.0
_NS_PER_OUTCOME = 50.0


def probabilities(circuit: QuantumCircuit, noise: NoiseModel | None) -> np.ndarray:
    """The exact distribution over the circuit's classical bits, readout error included.

    Args:
        circuit: a circuit with bound parameters and only terminal measurements.
        noise: its noise model, or None.

    Returns:
        A float64 array of ``2**num_clbits`` probabilities; bit j of an index is
        clbit j (bits never measured are 0).

    Raises:
        MethodUnsupported: the method cannot run the circuit (see ``why_not``).

    >>> from qiskit import QuantumCircuit
    >>> qc = QuantumCircuit(1, 1); _ = qc.x(0); _ = qc.measure(0, 0)
    >>> probabilities(qc, None).round(12).tolist()
    [0.0, 1.0]
    """
    plan = _plan(circuit, noise)
    if plan.num_clbits > MAX_CLBITS_DENSE:
        raise MethodUnsupported(
            DENSITY_MATRIX,
            f"{plan.num_clbits} classical bits: too many for a dense distribution",
        )
    compact, clbits = _clbit_distribution(plan)
    full = np.zeros(1 << plan.num_clbits)
    full[_spread(np.arange(compact.size, dtype=np.int64), clbits)] = compact
    return full


def run(
    circuit: QuantumCircuit,
    noise: NoiseModel | None,
    shots: int,
    *,
    seed: int | np.random.Generator | None = None,
) -> MethodRun:
    """Run ``shots`` shots: one exact density-matrix run, then one multinomial draw.

    Args:
        circuit: a circuit with bound parameters and only terminal measurements.
        noise: its noise model, or None.
        shots: number of shots, at least 1.
        seed: seed or generator; the same seed gives the same counts.

    Returns:
        Counts keyed as ``openqpu.sim.sample`` keys them (all classical bits,
        clbit 0 rightmost), method ``"density_matrix"``, no approximations.

    Raises:
        MethodUnsupported: the method cannot run the circuit (see ``why_not``).
        ValueError: ``shots`` is not a positive integer.
    """
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
        raise ValueError(f"shots must be a positive integer, not {shots!r}")
    plan = _plan(circuit, noise)
    compact, clbits = _clbit_distribution(plan)
    draws = make_rng(seed).multinomial(int(shots), compact)
    hits = np.flatnonzero(draws)
    values = _spread(hits.astype(np.int64), clbits)
    width = plan.num_clbits
    counts = {
        format(int(value), f"0{width}b") if width else "": int(draws[hit])
        for value, hit in sorted(zip(values, hits, strict=True))
    }
    figures = {"num_qubits": plan.num_qubits, "num_ops": len(plan.ops)}
    return MethodRun(counts=counts, method=DENSITY_MATRIX, figures=figures)


def _plan(circuit: QuantumCircuit, noise: NoiseModel | None) -> DensityPlan:
    try:
        plan = build_plan(circuit, noise)
    except (NotTerminal, OpenQPUError) as error:
        raise MethodUnsupported(DENSITY_MATRIX, str(error)) from error
    if len(plan.written) > MAX_WRITTEN_CLBITS:
        reason = f"{len(plan.written)} classical bits are written, more than {MAX_WRITTEN_CLBITS}"
        raise MethodUnsupported(DENSITY_MATRIX, reason)
    return plan


def final_diagonal(plan: DensityPlan) -> np.ndarray:
    """Run ``plan`` from |0><0| and return the diagonal of the final rho (float64, 2^n)."""
    n = plan.num_qubits
    state = np.zeros(1 << (2 * n), dtype=np.complex128)
    state[0] = 1.0
    with threads_for(2 * n):
        for op in plan.ops:
            op.apply(state)
    # rho[x, x] sits at x + 2^n x.
    return np.ascontiguousarray(state[:: (1 << n) + 1].real)


def _clbit_distribution(plan: DensityPlan) -> tuple[np.ndarray, list[int]]:
    """The distribution over the written clbits (ascending; bit j of an index is clbits[j])."""
    diagonal = np.clip(final_diagonal(plan), 0.0, None)
    clbits = sorted(plan.written)
    qubits = sorted({plan.written[c][0] for c in clbits})
    n = plan.num_qubits
    # Marginal over the measured qubits; axis i of the reshaped array is qubit n-1-i.
    tensor = diagonal.reshape((2,) * n) if n else diagonal.reshape(())
    unmeasured = tuple(n - 1 - q for q in range(n) if q not in qubits)
    marginal = tensor.sum(axis=unmeasured).reshape(-1) if n else tensor.reshape(1)
    position = {q: i for i, q in enumerate(qubits)}
    index = np.arange(1 << len(clbits), dtype=np.int64)
    source = np.zeros_like(index)
    consistent = np.ones(index.size, dtype=bool)
    first: dict[int, int] = {}
    for j, c in enumerate(clbits):
        q = plan.written[c][0]
        bit = (index >> j) & 1
        if q in first:
            # Two clbits record the same qubit outcome (before readout error).
            consistent &= bit == ((index >> first[q]) & 1)
        else:
            first[q] = j
            source |= bit << position[q]
    compact = np.where(consistent, marginal[source], 0.0)
    for j, c in enumerate(clbits):
        readout = plan.written[c][1]
        if readout is not None:
            compact = _confuse(compact, j, readout)
    total = compact.sum()
    return compact / total, clbits


def _confuse(probs: np.ndarray, bit: int, readout: ReadoutError) -> np.ndarray:
    """Apply one bit's readout confusion to a distribution (one vectorised pass)."""
    view = probs.reshape(-1, 2, 1 << bit)
    zero, one = view[:, 0, :], view[:, 1, :]
    out = np.empty_like(view)
    e10, e01 = readout.readout_error_0to1, readout.readout_error_1to0
    out[:, 0, :] = (1 - e10) * zero + e01 * one
    out[:, 1, :] = e10 * zero + (1 - e01) * one
    return out.reshape(-1)


def _spread(index: np.ndarray, positions: list[int]) -> np.ndarray:
    """Move bit j of each index to bit ``positions[j]``."""
    out = np.zeros_like(index)
    for j, position in enumerate(positions):
        out |= ((index >> j) & 1) << position
    return out
