"""Running a bound program: a final statevector, or shots as grouped trajectories.

Shots that reach a mid-circuit measurement or reset are split between the two
outcomes by one binomial draw, so each distinct branch is simulated once with
the number of shots that took it. At the end of a branch its shots are sampled
from the final state for the measurements deferred there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from openqpu.errors import OpenQPUError
from openqpu.sim.lowering import Jump, JumpUnless, Measure, Reset
from openqpu.sim.memory import check_fits, memory_limit_bytes, state_bytes
from openqpu.sim.ops import DenseOp, kernels, state_kernels
from openqpu.sim.program import BoundStep
from openqpu.sim.threads import threads_for

_X = np.array([[0, 1], [1, 0]])


def zero_state(num_qubits: int, dtype: np.dtype) -> np.ndarray:
    """|0...0> as a new array, after checking it fits the memory limit."""
    check_fits(num_qubits, dtype)
    state = np.zeros(1 << num_qubits, dtype=dtype)
    state[0] = 1
    return state


def run_unitary(steps: list[BoundStep], num_qubits: int, dtype: np.dtype) -> np.ndarray:
    """Apply a program of gates only to |0...0> and return the state."""
    state = zero_state(num_qubits, dtype)
    with threads_for(num_qubits):
        for step in steps:
            if not isinstance(step, list):
                raise OpenQPUError(
                    "the statevector is defined only for circuits without mid-circuit "
                    "measurement, reset or classical control; use sample()"
                )
            for op in step:
                op.apply(state)
    return state


@dataclass
class _Branch:
    """Shots that share every outcome so far."""

    step: int
    state: np.ndarray | None
    clbits: int
    shots: int
    outcomes: list[int] = field(default_factory=list)  # forced when state is None


def run_shots(
    steps: list[BoundStep],
    num_qubits: int,
    final_measures: list[tuple[int, int]],
    shots: int,
    rng: np.random.Generator,
    dtype: np.dtype,
) -> Counter[int]:
    """Run ``shots`` shots; return counts keyed by the packed classical bits."""
    counts: Counter[int] = Counter()
    budget = memory_limit_bytes() // state_bytes(num_qubits, dtype)
    pending = [_Branch(0, zero_state(num_qubits, dtype), 0, shots)]
    with threads_for(num_qubits):
        while pending:
            branch = pending.pop()
            state = branch.state if branch.state is not None else zero_state(num_qubits, dtype)
            _run_branch(steps, branch, state, pending, rng, budget)
            sample_final(state, branch, final_measures, rng, counts)
    return counts


def _run_branch(
    steps: list[BoundStep],
    branch: _Branch,
    state: np.ndarray,
    pending: list[_Branch],
    rng: np.random.Generator,
    budget: int,
) -> None:
    """Run one branch to the end, splitting off siblings at measurements.

    ``budget`` is how many states fit in memory: copies of pending siblings are
    kept while they fit; beyond that a sibling is replayed from the start later,
    with its outcomes forced.
    """
    replay = branch.state is None
    # A replayed branch starts over and follows its recorded outcomes.
    forced = branch.outcomes if replay else []
    history = [] if replay else list(branch.outcomes)
    step_index = 0 if replay else branch.step
    if replay:
        branch.clbits = 0
    event = 0
    while step_index < len(steps):
        step = steps[step_index]
        step_index += 1
        if isinstance(step, list):
            for op in step:
                op.apply(state)
        elif isinstance(step, Measure | Reset):
            p1 = state_kernels(state).probability_of_one(state, step.qubit)
            p1 = min(1.0, max(0.0, p1))
            if event < len(forced):
                outcome = forced[event]
            else:
                ones = int(rng.binomial(branch.shots, p1))
                outcome = 1 if ones == branch.shots else 0
                if 0 < ones < branch.shots:
                    sibling = _Branch(step_index, None, branch.clbits, ones, [*history, 1])
                    held = sum(1 for other in pending if other.state is not None)
                    if held + 2 <= budget:
                        sibling.state = state.copy()
                        _settle(sibling.state, step, 1, p1)
                        if isinstance(step, Measure):
                            sibling.clbits |= 1 << step.clbit
                    pending.append(sibling)
                    branch.shots -= ones
            event += 1
            history.append(outcome)
            _settle(state, step, outcome, p1)
            if isinstance(step, Measure):
                branch.clbits = (branch.clbits & ~(1 << step.clbit)) | (outcome << step.clbit)
        elif isinstance(step, JumpUnless):
            if not step.condition(branch.clbits):
                step_index = step.target
        elif isinstance(step, Jump):
            step_index = step.target


def _settle(state: np.ndarray, step: Measure | Reset, outcome: int, p1: float) -> None:
    """Collapse onto ``outcome``; a reset then flips a 1 back to 0."""
    probability = p1 if outcome else 1.0 - p1
    state_kernels(state).collapse(state, step.qubit, outcome, 1.0 / np.sqrt(probability))
    if isinstance(step, Reset) and outcome:
        DenseOp((step.qubit,), _X.astype(state.dtype)).apply(state)


# Basis states are sampled chunk by chunk so that no array of 2^n probabilities is
# ever needed: shots are first shared among chunks by their total probability.
SAMPLING_CHUNK = 1 << 16


def sample_final(
    state: np.ndarray,
    branch: _Branch,
    final_measures: list[tuple[int, int]],
    rng: np.random.Generator,
    counts: Counter[int],
) -> None:
    """Sample the branch's shots for the deferred measurements and add them to ``counts``."""
    if not final_measures:
        counts[branch.clbits] += branch.shots
        return
    chunk = min(SAMPLING_CHUNK, state.size)
    totals = np.empty((state.size + chunk - 1) // chunk, dtype=np.float64)
    if totals.size > 1:
        kernels().chunk_probabilities(state, chunk, totals)
    else:
        _serial_chunk_totals(state, chunk, totals)
    per_chunk = rng.multinomial(branch.shots, totals / totals.sum())
    probs = np.empty(chunk, dtype=np.float64)
    for index in np.flatnonzero(per_chunk):
        start = int(index) * chunk
        piece = state[start : start + chunk]
        state_kernels(piece).probabilities(piece, probs[: piece.size])
        cumulative = np.cumsum(probs[: piece.size])
        draws = rng.random(int(per_chunk[index])) * cumulative[-1]
        found = np.searchsorted(cumulative, draws, side="right")
        found = np.minimum(found, piece.size - 1) + start
        unique, frequency = np.unique(found, return_counts=True)
        for basis, times in zip(unique.tolist(), frequency.tolist(), strict=True):
            value = branch.clbits
            for qubit, clbit in final_measures:
                value = (value & ~(1 << clbit)) | (((basis >> qubit) & 1) << clbit)
            counts[value] += times


def _serial_chunk_totals(state: np.ndarray, chunk: int, totals: np.ndarray) -> None:
    for c in range(totals.size):
        piece = state[c * chunk : (c + 1) * chunk]
        totals[c] = float(np.vdot(piece, piece).real)
