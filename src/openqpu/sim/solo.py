"""Solo trajectories: a bound program's tail as a ``TrajectoryProgram`` for the kernels.

When a branch is down to a few shots, walking its remaining steps in Python costs
more than the state work. The tail of the program from the last classical jump
on is encoded once per run (gates as dense, diagonal or monomial tables, noise
channels by their parameters) and branches that reach it with few shots are
handed to ``SoloRunner``, which runs each of their shots alone inside one kernel
call, with uniforms drawn from the run's generator.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from openqpu.sim import trajectory_kernels as tk
from openqpu.sim.affine import AffinePermutationOp
from openqpu.sim.lowering import Measure, Noise, Reset
from openqpu.sim.ops import ControlledOp, DenseOp, GateOp, GroupOp
from openqpu.sim.program import BoundStep
from openqpu.sim.trajectory_program import (
    EncodedGate,
    TrajectoryProgram,
    TrajectoryProgramBuilder,
)

# The kernel packs classical bits into an int64.
MAX_CLBITS = 63
# Dense matrices wider than this are left to the grouped path.
MAX_DENSE_QUBITS = 5


def _members(op: GateOp) -> list[EncodedGate] | None:
    """The ops to encode for ``op``; None when one of them cannot be encoded."""
    if isinstance(op, GroupOp):
        return list(op.members)
    if isinstance(op, AffinePermutationOp):
        return None  # the kernel has no whole-state permutation: the grouped path runs it
    if isinstance(op, DenseOp) and len(op.qubits) > MAX_DENSE_QUBITS:
        return None
    if isinstance(op, ControlledOp) and len(op.targets) > MAX_DENSE_QUBITS:
        return None
    return [op]


def _encodable(step: BoundStep) -> bool:
    if isinstance(step, list):
        return all(_members(op) is not None for op in step)
    return isinstance(step, Measure | Reset | Noise)


@dataclass
class SoloProgram:
    """The kernel's program for ``steps[first_step:]`` of a bound program.

    ``op_of_step[k]`` is the first operation of step ``first_step + k`` (one entry
    more, for the end).
    """

    first_step: int
    op_of_step: list[int]
    trajectory_program: TrajectoryProgram

    @property
    def num_draws(self) -> int:
        """Uniforms per shot, the last for the final sampling."""
        return self.trajectory_program.num_draws


def encode(
    steps: list[BoundStep],
    num_qubits: int,
    final_measures: list[tuple[int, int]],
    dtype: np.dtype,
) -> SoloProgram | None:
    """Encode the longest tail of ``steps`` the kernel runs; None when there is none."""
    clbits = [c for _, c in final_measures] + [s.clbit for s in steps if isinstance(s, Measure)]
    if clbits and max(clbits) >= MAX_CLBITS:
        return None
    first = len(steps)
    while first > 0 and _encodable(steps[first - 1]):
        first -= 1
    builder = TrajectoryProgramBuilder(num_qubits, dtype)
    op_of_step = []
    for step in steps[first:]:
        op_of_step.append(builder.num_ops)
        if isinstance(step, list):
            for op in step:
                for member in _members(op) or ():
                    builder.gate(member)
        else:
            assert isinstance(step, Measure | Reset | Noise)  # what _encodable lets through
            builder.event(step)
    op_of_step.append(builder.num_ops)
    return SoloProgram(first, op_of_step, builder.build(final_measures))


# A kernel call holds about this many bytes of start states and of uniforms: enough
# for several shots of a large state, so that both cores get work.
BATCH_BYTES = 256 << 20


class SoloRunner:
    """Collects branches to run solo and runs them in batches, adding to ``counts``."""

    def __init__(
        self, program: SoloProgram, rng: np.random.Generator, counts: Counter[int]
    ) -> None:
        self.program = program
        self.rng = rng
        self.counts = counts
        self.jobs: list[tuple[np.ndarray, int, int, int]] = []
        self.held = 0

    def accepts(self, step_index: int) -> bool:
        """True when a branch about to run ``steps[step_index]`` can go solo."""
        return step_index >= self.program.first_step

    def add(self, state: np.ndarray, step_index: int, clbits: int, shots: int) -> None:
        """Run ``shots`` shots solo from ``state`` (kept, not copied) at ``step_index``."""
        first_op = self.program.op_of_step[step_index - self.program.first_step]
        self.jobs.append((state, first_op, clbits, shots))
        self.held += state.nbytes + shots * self.program.num_draws * 8
        if self.held >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Run every collected job."""
        if not self.jobs:
            return
        jobs, self.jobs, self.held = self.jobs, [], 0
        starts = np.stack([state for state, _, _, _ in jobs])
        job_first = np.array([first for _, first, _, _ in jobs], dtype=np.int64)
        job_clbits = np.array([clbits for _, _, clbits, _ in jobs], dtype=np.int64)
        shot_job = np.repeat(np.arange(len(jobs)), [shots for _, _, _, shots in jobs])
        program = self.program
        per_call = max(1, BATCH_BYTES // (8 * program.num_draws))
        for start in range(0, shot_job.size, per_call):
            chunk = np.ascontiguousarray(shot_job[start : start + per_call])
            draws = self.rng.random((chunk.size, program.num_draws))
            out = np.empty(chunk.size, dtype=np.int64)
            tk.run_solo(
                starts, job_first, job_clbits, chunk, draws, program.trajectory_program, out
            )
            values, times = np.unique(out, return_counts=True)
            for value, count in zip(values.tolist(), times.tolist(), strict=True):
                self.counts[value] += count
