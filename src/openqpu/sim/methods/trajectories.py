"""Statevector trajectories as a method: the engine's own noisy path (``sim.sample``),
with its cost model and memory check, for circuits that fit a statevector."""

from __future__ import annotations

import math
import time

import numpy as np
from qiskit import QuantumCircuit

from openqpu.sim.api import sample
from openqpu.sim.memory import memory_limit_bytes, state_bytes
from openqpu.sim.methods.base import STATEVECTOR, Cost, MethodRun
from openqpu.sim.noise import NoiseModel
from openqpu.sim.program import ParameterValues, Program

# Cost model, fitted on lattice72's transpiled GHZ and QFT (8-16 qubits) and a random 2D
# circuit (20 qubits), 2 cores: a trajectory costs about 50 us of overhead plus 0.07-0.8
# ns per operation (gate or channel) and amplitude (fusion and presampling make wide
# circuits cheaper per operation); 0.5 ns sits between, so admission neither waves
# through what overruns the limit by far nor refuses what runs well inside it.
SECONDS_PER_SHOT = 5e-5
SECONDS_PER_OP_AMPLITUDE = 5e-10
SECONDS_FIXED = 0.05
# The linear model cannot see how much fusion and presampling save (a 20-qubit QAOA
# with 3,300 operations: 1.6 s a shot modelled, 0.3-0.5 measured), so a job modelled
# above PROBE_ABOVE_S whose single shot is modelled at most PROBE_SHOT_S runs a few real
# shots for at most PROBE_BUDGET_S (after one that pays the lowering, as the run does
# once), and PROBE_SAFETY times their pace caps the model.
PROBE_ABOVE_S = 30.0
PROBE_SHOT_S = 3.0
PROBE_BUDGET_S = 5.0
PROBE_SHOTS = 4
PROBE_SAFETY = 1.25
# From this many qubits trajectories run in single precision: a trajectory's rounding
# (about 1e-6 of its probabilities after thousands of operations) is far below what a
# sample of any size can resolve (1e-2 at 10,000 shots), and the kernels run 1.3-1.5x
# faster on half the bytes (lattice72's 20-qubit QAOA p=2: 190 -> 130 ms a shot). Small
# states stay in double precision, where the time is overhead, not arithmetic.
SINGLE_PRECISION_FROM_QUBITS = 18
_PASSIVE = frozenset({"barrier"})


def state_dtype(num_qubits: int) -> np.dtype:
    """The precision trajectories of ``num_qubits`` qubits run in."""
    wide = num_qubits >= SINGLE_PRECISION_FROM_QUBITS
    return np.dtype(np.complex64 if wide else np.complex128)


def _num_operations(circuit: QuantumCircuit, noise: NoiseModel | None) -> int:
    """Gates, delays and measurements, plus one per noise channel that follows a gate."""
    count = 0
    for item in circuit.data:
        if item.operation.name in _PASSIVE:
            continue
        count += 1
        if noise is not None:
            qubits = tuple(circuit.find_bit(q).index for q in item.qubits)
            count += len(noise.after_gate(item.operation.name, qubits))
    return count


def why_not(circuit: QuantumCircuit, noise: NoiseModel | None) -> str | None:
    """None when the state fits the memory limit (``OPENQPU_MEMORY_LIMIT``), else why not."""
    needed = state_bytes(circuit.num_qubits, state_dtype(circuit.num_qubits))
    limit = memory_limit_bytes()
    if needed > limit:
        return (
            f"a {circuit.num_qubits}-qubit statevector needs {needed:,} bytes, over the memory "
            f"limit of {limit:,} bytes (OPENQPU_MEMORY_LIMIT)"
        )
    return None


def cost(circuit: QuantumCircuit, noise: NoiseModel | None, shots: int) -> Cost:
    """Estimated seconds and memory of ``shots`` trajectories (see the fit above; a
    long run's estimate is checked against a few real shots)."""
    amplitudes = float(2**circuit.num_qubits)
    per_shot = SECONDS_PER_SHOT + SECONDS_PER_OP_AMPLITUDE * _num_operations(circuit, noise) * (
        amplitudes
    )
    seconds = SECONDS_FIXED + shots * per_shot
    if seconds > PROBE_ABOVE_S and per_shot <= PROBE_SHOT_S and shots > PROBE_SHOTS:
        measured = _probe(circuit, noise)
        seconds = min(seconds, SECONDS_FIXED + shots * PROBE_SAFETY * measured)
    # A second state for the grouped executor's branches.
    memory = 2 * int(amplitudes) * state_dtype(circuit.num_qubits).itemsize
    return Cost(seconds, memory)


def run(
    program: Program,
    shots: int,
    *,
    seed: int | np.random.Generator | None = None,
    parameter_values: ParameterValues = None,
) -> MethodRun:
    """``shots`` noisy trajectories of a lowered noisy ``program``: exact up to sampling.

    Unlike the other methods this one takes the ``Program`` (lowered once, reused for
    every parameter set of a variational loop) and the parameter values. States of
    ``SINGLE_PRECISION_FROM_QUBITS`` qubits or more run in complex64.
    """
    dtype = state_dtype(program.num_qubits)
    counts = sample(program, shots, seed=seed, dtype=dtype.name, parameter_values=parameter_values)
    return MethodRun(counts, STATEVECTOR, figures={"precision": dtype.name})


def _probe(circuit: QuantumCircuit, noise: NoiseModel | None) -> float:
    """Seconds per shot of up to ``PROBE_SHOTS`` seeded shots run one at a time after a
    first one that pays the lowering (once per run), until ``PROBE_BUDGET_S`` is spent;
    infinite when the first shot alone spends it."""
    start = time.perf_counter()
    program = Program(circuit, noise)
    dtype = state_dtype(program.num_qubits).name
    sample(program, 1, seed=0, dtype=dtype)
    timed = time.perf_counter()
    taken = 0
    while taken < PROBE_SHOTS and time.perf_counter() - start < PROBE_BUDGET_S:
        taken += 1
        sample(program, 1, seed=taken, dtype=dtype)
    if taken == 0:
        return math.inf
    return (time.perf_counter() - timed) / taken
