"""Noise drawn before simulation: shots grouped by their pattern of noise events.

Depolarising channels (Paulis), thermal relaxation with T2 <= T1 (nothing, Z or
reset) and with T2 > T1 (nothing, or rarely a strong amplitude damping: see
``ThermalRelaxation.rare_damping``) choose among their outcomes with fixed
probabilities. So every shot's outcomes are drawn at once, and shots with the
same non-trivial outcomes share one simulation: Paulis become gates that fuse
into the neighbouring blocks, resets and damping events stay steps whose own
randomness the grouped executor draws from the state. Almost all outcomes are
"nothing", so a pattern costs about one fused, cache-blocked pass over the
circuit instead of one pass per gate and channel.
"""

from __future__ import annotations

import weakref
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from openqpu.sim.channels import pauli_matrix
from openqpu.sim.executor import misread, run_shots
from openqpu.sim.lowering import GateLeaf, Jump, JumpUnless, Noise, Reset
from openqpu.sim.noise import Depolarizing, ThermalRelaxation
from openqpu.sim.ops import GateOp
from openqpu.sim.program import BoundStep, ParameterValues, Program, Segment, Step, bind_segment
from openqpu.sim.structure import Structure

# Presample when (gates + channels) x amplitudes reaches this: solo shots cost about
# 0.26 ns per gate and amplitude, a pattern ~12 ms of Python and fused passes
# (measured on lattice72's noisy GHZ: 16 qubits, 2^24, solo 4 ms/shot against 12;
# 20 qubits, 2^28, 270 against 36; QFT on 19 qubits, 2^31.3, 1.4 s against 0.2).
PRESAMPLE_FROM_WORK = 1 << 26
# Uniforms drawn per chunk of shots.
DRAW_CHUNK = 1 << 22

Replacement = list[GateLeaf] | Reset | Noise


@dataclass
class EventTable:
    """Every noise step of a program with its non-trivial outcomes.

    ``steps[e]`` is the step index of event ``e``; ``thresholds[e, j]`` the
    probability of outcomes 1 .. j + 1 (padded with infinity); outcome 0 is
    "nothing" and ``effects[e][j]`` what outcome j + 1 inserts.
    """

    steps: np.ndarray
    thresholds: np.ndarray
    effects: list[list[Replacement]]


def _pauli_leaves(index: int, qubits: tuple[int, ...]) -> list[GateLeaf]:
    leaves = []
    for j, qubit in enumerate(qubits):
        digit = (index >> (2 * j)) & 3
        if digit:
            structure = Structure.DIAGONAL if digit == 3 else Structure.MONOMIAL
            leaves.append(GateLeaf((qubit,), pauli_matrix(digit, 1), structure))
    return leaves


def _outcomes(step: Noise) -> tuple[np.ndarray, list[Replacement]]:
    """Probabilities and effects of the non-trivial outcomes of one channel."""
    channel = step.channel
    if isinstance(channel, Depolarizing):
        probs = channel.pauli_probabilities()[1:]
        return probs, [_pauli_leaves(k, step.qubits) for k in range(1, probs.size + 1)]
    assert isinstance(channel, ThermalRelaxation)
    mixture = channel.mixture()
    if mixture is not None:
        reset, flip = mixture
        z = _pauli_leaves(3, step.qubits)
        return np.array([flip, reset]), [z, Reset(step.qubits[0])]
    q, gamma = channel.rare_damping()
    return np.array([q]), [Noise(ThermalRelaxation.amplitude_damping(gamma), step.qubits)]


def event_table(program: Program) -> EventTable:
    """The events of ``program`` (cached per program)."""
    table = _TABLES.get(program)
    if table is None:
        positions, probs, effects = [], [], []
        for index, step in enumerate(program.steps):
            if isinstance(step, Noise):
                p, effect = _outcomes(step)
                positions.append(index)
                probs.append(np.cumsum(p))
                effects.append(effect)
        width = max((p.size for p in probs), default=0)
        thresholds = np.full((len(probs), width), np.inf)
        for e, p in enumerate(probs):
            thresholds[e, : p.size] = p
        table = EventTable(np.array(positions, dtype=np.int64), thresholds, effects)
        _TABLES[program] = table
    return table


_TABLES: weakref.WeakKeyDictionary[Program, EventTable] = weakref.WeakKeyDictionary()


def draw_patterns(table: EventTable, shots: int, rng: np.random.Generator) -> Counter[bytes]:
    """Draw every shot's outcomes; count shots per pattern.

    A pattern is the bytes of the int64 pairs (event, outcome) of its non-trivial
    outcomes, in event order.
    """
    patterns: Counter[bytes] = Counter()
    num_events = table.steps.size
    if num_events == 0:
        patterns[b""] = shots
        return patterns
    any_event = table.thresholds.max(axis=1, where=np.isfinite(table.thresholds), initial=0.0)
    per_chunk = max(1, DRAW_CHUNK // num_events)
    for start in range(0, shots, per_chunk):
        count = min(per_chunk, shots - start)
        draws = rng.random((count, num_events))
        rows, events = np.nonzero(draws < any_event)
        passed = draws[rows, events][:, None] >= table.thresholds[events]
        outcomes = 1 + np.count_nonzero(passed, axis=1)
        pairs = np.stack([events, outcomes], axis=1).astype(np.int64)
        bounds = np.searchsorted(rows, np.arange(count + 1))
        for shot in range(count):
            patterns[pairs[bounds[shot] : bounds[shot + 1]].tobytes()] += 1
    return patterns


def pattern_steps(steps: list[Step], inserted: dict[int, Replacement]) -> list[Step]:
    """``steps`` with each noise step replaced by its inserted effect, or by nothing.

    Gate runs separated only by removed or Pauli events merge into one segment
    (cut at jump targets); jump targets are renumbered.
    """
    targets = {s.target for s in steps if isinstance(s, JumpUnless | Jump)}
    out: list[Step] = []
    new_index: dict[int, int] = {}
    run: list[GateLeaf] = []
    for index, step in enumerate(steps):
        if index in targets and run:
            out.append(Segment(run, {}))
            run = []
        new_index[index] = len(out)
        effect = inserted.get(index) if isinstance(step, Noise) else step
        if effect is None:
            continue
        if isinstance(effect, Segment):
            run.extend(effect.leaves)
        elif isinstance(effect, list):
            run.extend(effect)
        else:
            if run:
                out.append(Segment(run, {}))
                run = []
            # Jumps are copied: their targets are renumbered below.
            out.append(replace(effect) if isinstance(effect, JumpUnless | Jump) else effect)
    if run:
        out.append(Segment(run, {}))
    for step in out:
        if isinstance(step, JumpUnless | Jump):
            step.target = new_index.get(step.target, len(out))
    return out


def applies(program: Program) -> bool:
    """True when ``program``'s noisy shots should be drawn before simulation."""
    noisy = sum(isinstance(step, Noise) for step in program.steps)
    if not noisy:
        return False
    gates = sum(len(step.leaves) for step in program.steps if isinstance(step, Segment))
    return (gates + noisy) << program.num_qubits >= PRESAMPLE_FROM_WORK


def run_presampled(
    program: Program,
    shots: int,
    rng: np.random.Generator,
    dtype: np.dtype,
    values: ParameterValues = None,
) -> Counter[int]:
    """Run ``shots`` noisy shots, one simulation per pattern of noise events.

    Returns counts keyed by the packed classical bits, readout errors included.
    """
    table = event_table(program)
    mapping = program.parameter_mapping(values)
    counts: Counter[int] = Counter()
    blocks: dict[tuple, GateOp] = {}  # bound blocks shared between patterns
    for key, times in draw_patterns(table, shots, rng).items():
        pairs = np.frombuffer(key, dtype=np.int64).reshape(-1, 2)
        inserted = {int(table.steps[e]): table.effects[e][o - 1] for e, o in pairs.tolist()}
        bound: list[BoundStep] = []
        for step in pattern_steps(program.steps, inserted):
            if isinstance(step, Segment):
                bound.append(bind_segment(step, mapping, dtype, program.num_qubits, blocks))
            else:
                bound.append(step)
        finals = program.final_measures
        counts.update(run_shots(bound, program.num_qubits, finals, times, rng, dtype, solo=False))
    if program.final_readout:
        counts = misread(counts, program.final_readout, rng)
    return counts
