"""Running a bound program: a final statevector, or shots as grouped trajectories.

Shots that reach a random event (mid-circuit measurement, reset, noise channel)
are shared among its outcomes by one multinomial draw, so each distinct branch
is simulated once with the number of shots that took it. At the end of a branch
its shots are sampled from the final state for the measurements deferred there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from openqpu.errors import OpenQPUError
from openqpu.sim import channels
from openqpu.sim.lowering import Jump, JumpUnless, Measure, Noise, Reset
from openqpu.sim.memory import check_fits, memory_limit_bytes, state_bytes
from openqpu.sim.noise import ReadoutError
from openqpu.sim.ops import (
    DenseOp,
    DiagonalOp,
    GateOp,
    GroupOp,
    collapse,
    kernels,
    probability_of_one,
    state_kernels,
)
from openqpu.sim.program import BoundStep
from openqpu.sim.solo import SoloRunner, encode
from openqpu.sim.threads import threads_for


def zero_state(num_qubits: int, dtype: np.dtype) -> np.ndarray:
    """|0...0> as a new array, after checking it fits the memory limit."""
    check_fits(num_qubits, dtype)
    state = np.zeros(1 << num_qubits, dtype=dtype)
    state[0] = 1
    return state


# A dense first op on at most this many qubits is applied to |0...0> by writing its
# first column, without a pass over the state.
MAX_PREPARED_QUBITS = 10


def run_unitary(steps: list[BoundStep], num_qubits: int, dtype: np.dtype) -> np.ndarray:
    """Apply a program of gates only to |0...0> and return the state."""
    state = zero_state(num_qubits, dtype)
    with threads_for(num_qubits):
        for number, step in enumerate(steps):
            if not isinstance(step, list):
                raise OpenQPUError(
                    "the statevector is defined only for circuits without mid-circuit "
                    "measurement, reset or classical control; use sample()"
                )
            if number == 0:
                apply_from_zero(state, step, num_qubits)
            else:
                for op in step:
                    op.apply(state)
    return state


def apply_from_zero(state: np.ndarray, ops: list[GateOp], num_qubits: int) -> None:
    """Apply ``ops`` to ``state``, which holds |0...0>, sparing the work on amplitudes
    that are still zero."""
    remaining = iter(ops)
    nonzero: set[int] = set()
    if ops and _prepare_from_zero(state, ops[0]):
        next(remaining)  # the first op was written straight into |0...0>
        nonzero.update(ops[0].qubits)
    # Qubits no op has touched yet are |0>: blocked groups skip the sub-states that hold
    # only zeros (a first layer costs a fraction of a pass).
    for op in remaining:
        if isinstance(op, GroupOp) and len(nonzero) < num_qubits:
            op.apply(state, op.groups_touching(num_qubits, nonzero))
        else:
            op.apply(state)
        nonzero.update(op.qubits)


def _prepare_from_zero(state: np.ndarray, op: object) -> bool:
    """Write ``op`` applied to |0...0> into ``state`` (which holds |0...0>) without a
    pass over the state; False when ``op`` is not of a structure that allows it."""
    if isinstance(op, DenseOp) and len(op.qubits) <= MAX_PREPARED_QUBITS:
        offsets = np.zeros(1 << len(op.qubits), dtype=np.int64)
        for j, q in enumerate(op.qubits):
            offsets |= ((np.arange(offsets.size) >> j) & 1) << q
        state[0] = 0
        state[offsets] = op.matrix[:, 0]  # the image of |0> is the matrix's first column
        return True
    if isinstance(op, DiagonalOp):
        state[0] = op.diagonal[0]
        return True
    return False


class _Pending:
    """Branches waiting to run, and how many state copies they may hold.

    ``budget`` is how many states fit in memory: siblings keep a copy of the state
    while they fit; beyond that a sibling is replayed from the start later, its
    outcomes forced.
    """

    def __init__(self, budget: int) -> None:
        self.branches: list[_Branch] = []
        self.budget = budget
        self.held = 0

    def can_hold_another(self) -> bool:
        """True when one more copy fits beside the running state and those held."""
        return self.held + 2 <= self.budget

    def push(self, branch: _Branch) -> None:
        self.branches.append(branch)
        self.held += branch.state is not None

    def pop(self) -> _Branch:
        branch = self.branches.pop()
        self.held -= branch.state is not None
        return branch


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
    final_readout: list[tuple[int, ReadoutError]] | None = None,
    *,
    solo: bool = True,
) -> Counter[int]:
    """Run ``shots`` shots; return counts keyed by the packed classical bits.

    ``final_readout`` lists the classical bits of deferred measurements whose
    reading errs, with their error; it is applied to every shot at the end.
    ``solo=False`` keeps every branch on the grouped path (fused and blocked).
    """
    counts: Counter[int] = Counter()
    pending = _Pending(memory_limit_bytes() // state_bytes(num_qubits, dtype))
    pending.push(_Branch(0, zero_state(num_qubits, dtype), 0, shots))
    runner = _solo_runner(steps, num_qubits, final_measures, dtype, rng, counts) if solo else None
    solo_shots = shots if num_qubits >= SOLO_ALL_FROM_QUBITS else SOLO_AMPLITUDES >> num_qubits
    with threads_for(num_qubits):
        while pending.branches:
            branch = pending.pop()
            state = branch.state if branch.state is not None else zero_state(num_qubits, dtype)
            if not _run_branch(steps, branch, state, pending, rng, runner, solo_shots):
                sample_final(state, branch, final_measures, rng, counts)
        if runner is not None:
            runner.flush()
    if final_readout:
        counts = misread(counts, final_readout, rng)
    return counts


# A branch goes solo when its shots times its amplitudes are at most this: walking
# steps in Python costs ~10 us each, so small states share a branch only among many
# shots, large ones as soon as they run alone (measured: bench/noise.py, 8 qubits).
SOLO_AMPLITUDES = 1 << 17
# From this size on every shot runs solo: a shared branch pays a pass over the state
# per relaxation event for its probabilities, which solo shots mostly skip
# (measured on noisy GHZ at 16 qubits: 2.6x faster than a threshold of 2 shots).
SOLO_ALL_FROM_QUBITS = 12


def _solo_runner(
    steps: list[BoundStep],
    num_qubits: int,
    final_measures: list[tuple[int, int]],
    dtype: np.dtype,
    rng: np.random.Generator,
    counts: Counter[int],
) -> SoloRunner | None:
    """A runner for solo trajectories when the program is noisy.

    Without noise channels, mid-circuit measurements make few distinct branches,
    which the grouped path simulates once each.
    """
    if not any(isinstance(step, Noise) for step in steps):
        return None
    program = encode(steps, num_qubits, final_measures, dtype)
    return None if program is None else SoloRunner(program, rng, counts)


def _run_branch(
    steps: list[BoundStep],
    branch: _Branch,
    state: np.ndarray,
    pending: _Pending,
    rng: np.random.Generator,
    solo: SoloRunner | None = None,
    solo_shots: int = 0,
) -> bool:
    """Run one branch to the end, splitting off siblings at random events.

    Events are measurements, resets and noise channels: the branch's shots are
    shared among the outcomes by one multinomial draw. Returns True when the
    branch was handed to ``solo`` to finish.
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
        if (
            solo is not None
            and branch.shots <= solo_shots
            and event >= len(forced)
            and solo.accepts(step_index)
        ):
            solo.add(state, step_index, branch.clbits, branch.shots)
            return True
        step = steps[step_index]
        step_index += 1
        if isinstance(step, list) and step_index == 1:
            # Every branch that starts at the first step starts from |0...0>.
            apply_from_zero(state, step, state.size.bit_length() - 1)
        elif isinstance(step, list):
            for op in step:
                op.apply(state)
        elif isinstance(step, Measure | Reset | Noise):
            probs = _event_probabilities(step, state)
            if event < len(forced):
                outcome = forced[event]
            else:
                outcome = _split(
                    step_index, step, branch, history, state, probs, pending, rng, solo, solo_shots
                )
            event += 1
            history.append(outcome)
            branch.clbits = _settle(step, state, outcome, probs, branch.clbits)
        elif isinstance(step, JumpUnless):
            if not step.condition(branch.clbits):
                step_index = step.target
        elif isinstance(step, Jump):
            step_index = step.target
    return False


def _split(
    step_index: int,
    step: Measure | Reset | Noise,
    branch: _Branch,
    history: list[int],
    state: np.ndarray,
    probs: np.ndarray,
    pending: _Pending,
    rng: np.random.Generator,
    solo: SoloRunner | None = None,
    solo_shots: int = 0,
) -> int:
    """Share the branch's shots among the outcomes; return the one this branch follows.

    Every other outcome drawn becomes a pending sibling starting after this step,
    or goes to ``solo`` at once when it has few shots.
    """
    drawn = rng.multinomial(branch.shots, probs / probs.sum())
    outcomes = np.flatnonzero(drawn)
    followed = int(outcomes[np.argmax(drawn[outcomes])])
    for outcome in outcomes.tolist():
        if outcome == followed:
            continue
        sibling = _Branch(step_index, None, branch.clbits, int(drawn[outcome]), [*history, outcome])
        if solo is not None and sibling.shots <= solo_shots and solo.accepts(step_index):
            moved = state.copy()
            clbits = _settle(step, moved, outcome, probs, branch.clbits)
            solo.add(moved, step_index, clbits, sibling.shots)
            continue
        if pending.can_hold_another():
            sibling.state = state.copy()
            sibling.clbits = _settle(step, sibling.state, outcome, probs, branch.clbits)
        pending.push(sibling)
    branch.shots = int(drawn[followed])
    return followed


def _event_probabilities(step: Measure | Reset | Noise, state: np.ndarray) -> np.ndarray:
    """Outcome probabilities; a measurement with readout error has outcome 2 * true + flipped."""
    if isinstance(step, Noise):
        return channels.probabilities(step, state)
    p1 = probability_of_one(state, step.qubit)
    if isinstance(step, Measure) and step.readout is not None:
        e10, e01 = step.readout.readout_error_0to1, step.readout.readout_error_1to0
        return np.array([(1 - p1) * (1 - e10), (1 - p1) * e10, p1 * (1 - e01), p1 * e01])
    return np.array([1.0 - p1, p1])


def _settle(
    step: Measure | Reset | Noise, state: np.ndarray, outcome: int, probs: np.ndarray, clbits: int
) -> int:
    """Put ``state`` in its post-event form for ``outcome``; return the classical bits after."""
    if isinstance(step, Noise):
        channels.settle(step, state, outcome, probs)
        return clbits
    recorded = value = outcome
    if isinstance(step, Measure) and step.readout is not None:
        value = outcome >> 1
        recorded = value ^ (outcome & 1)
        p1 = float(probs[2] + probs[3])
    else:
        p1 = float(probs[1])
    probability = p1 if value else 1.0 - p1
    collapse(state, step.qubit, value, 1.0 / np.sqrt(probability), to_zero=isinstance(step, Reset))
    if isinstance(step, Reset):
        return clbits
    return (clbits & ~(1 << step.clbit)) | (recorded << step.clbit)


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


def misread(
    counts: Counter[int], readout: list[tuple[int, ReadoutError]], rng: np.random.Generator
) -> Counter[int]:
    """Flip each listed classical bit of every shot with its readout error's probability."""
    if not counts:
        return counts
    # Object arrays hold Python ints, so any number of classical bits works.
    packed = np.array(list(counts), dtype=object)
    shots = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
    for clbit, error in readout:
        bit = ((packed >> clbit) & 1).astype(bool)
        flipped = rng.binomial(
            shots, np.where(bit, error.readout_error_1to0, error.readout_error_0to1)
        )
        packed = np.concatenate([packed, packed ^ (1 << clbit)])
        shots = np.concatenate([shots - flipped, flipped])
        # Drop values no shot has: kept, they would double with every bit.
        packed, shots = packed[shots > 0], shots[shots > 0]
        packed, where = np.unique(packed, return_inverse=True)
        shots = np.bincount(where.ravel(), weights=shots).astype(np.int64)
    return Counter({int(v): int(c) for v, c in zip(packed, shots, strict=True) if c})
