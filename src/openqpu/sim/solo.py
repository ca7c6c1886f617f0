"""Solo trajectories: a bound program's tail as flat tables for ``trajectory_kernels``.

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
from numpy.typing import ArrayLike

from openqpu.sim import trajectory_kernels as tk
from openqpu.sim.lowering import Measure, Noise, Reset
from openqpu.sim.noise import Depolarizing, ThermalRelaxation
from openqpu.sim.ops import ControlledOp, DenseOp, DiagonalOp, GateOp, GroupOp, MonomialOp
from openqpu.sim.program import BoundStep

# The kernel packs classical bits into an int64.
MAX_CLBITS = 63
# Dense matrices wider than this are left to the grouped path.
MAX_DENSE_QUBITS = 5
# Uniforms each operation code consumes.
DRAWS = {tk.DEPOLARIZING: 1, tk.THERMAL_MIXTURE: 2, tk.THERMAL_KRAUS: 2, tk.MEASURE: 2, tk.RESET: 1}


def _offsets(qubits: tuple[int, ...]) -> np.ndarray:
    local = np.arange(1 << len(qubits), dtype=np.int64)
    offsets = np.zeros_like(local)
    for j, q in enumerate(qubits):
        offsets |= ((local >> j) & 1) << q
    return offsets


def _members(op: GateOp) -> list[GateOp] | None:
    """The ops to encode for ``op``; None when one of them cannot be encoded."""
    if isinstance(op, GroupOp):
        return list(op.members)
    if isinstance(op, DenseOp) and len(op.qubits) > MAX_DENSE_QUBITS:
        return None
    if isinstance(op, ControlledOp) and len(op.targets) > MAX_DENSE_QUBITS:
        return None
    return [op]


def _encodable(step: BoundStep) -> bool:
    if isinstance(step, list):
        return all(_members(op) is not None for op in step)
    return isinstance(step, Measure | Reset | Noise)


class _Tables:
    """The growing tables of one encoded program."""

    def __init__(self, num_qubits: int, dtype: np.dtype) -> None:
        self.size = 1 << num_qubits
        self.dtype = dtype
        self.codes: list[int] = []
        self.parts: dict[str, list[np.ndarray]] = {"q": [], "c": [], "i": [], "f": []}
        self.draws = 0
        self.draw_start: list[int] = []

    def add(
        self,
        code: int,
        qubits: ArrayLike = (),
        c: ArrayLike = (),
        i: ArrayLike = (),
        f: ArrayLike = (),
    ) -> None:
        """Append one operation: its qubit, complex, integer and float entries."""
        self.codes.append(code)
        self.parts["q"].append(np.asarray(qubits, dtype=np.int64))
        self.parts["c"].append(np.asarray(c, dtype=self.dtype).ravel())
        self.parts["i"].append(np.asarray(i, dtype=np.int64))
        self.parts["f"].append(np.asarray(f, dtype=np.float64))
        self.draw_start.append(self.draws)
        self.draws += DRAWS.get(code, 0)

    def gate(self, op: GateOp) -> None:
        if isinstance(op, DenseOp) and len(op.qubits) <= 2:
            self.add(tk.DENSE1 if len(op.qubits) == 1 else tk.DENSE2, op.qubits, op.matrix)
        elif isinstance(op, DenseOp | ControlledOp):
            controlled = isinstance(op, ControlledOp)
            controls = op.controls if controlled else ()
            targets = op.targets if controlled else op.qubits
            ctrl_state = op.ctrl_state if controlled else 0
            fixed = sum(1 << q for j, q in enumerate(controls) if ctrl_state >> j & 1)
            bits = sorted(op.qubits)
            self.add(tk.DENSE, bits, op.matrix, [fixed, *_offsets(targets)])
        elif isinstance(op, DiagonalOp):
            qubits = np.array(op.qubits, dtype=np.int64)
            self.add(tk.DIAGONAL, qubits, op.diagonal, op.low_table(self.size, qubits))
        else:
            assert isinstance(op, MonomialOp)
            sources, targets = op.offsets(op.qubits)
            self.add(tk.MONOMIAL, sorted(op.qubits), op.phases, np.concatenate([sources, targets]))

    def event(self, step: Measure | Reset | Noise) -> None:
        if isinstance(step, Measure):
            error = step.readout
            flips = (0.0, 0.0) if error is None else (error.prob_1_given_0, error.prob_0_given_1)
            self.add(tk.MEASURE, (step.qubit, step.clbit), f=flips)
        elif isinstance(step, Reset):
            self.add(tk.RESET, (step.qubit,))
        elif isinstance(step.channel, Depolarizing):
            self.add(tk.DEPOLARIZING, step.qubits, f=np.cumsum(step.channel.pauli_probabilities()))
        else:
            self._relaxation(step.channel, step.qubits)

    def _relaxation(self, channel: ThermalRelaxation, qubits: tuple[int, ...]) -> None:
        # With T2 <= T1 the channel is a state-independent mixture of reset to |0>, Z
        # and nothing (qiskit-aer's decomposition): no pass over the state mostly.
        mixture = channel.mixture()
        if mixture is not None:
            self.add(tk.THERMAL_MIXTURE, qubits, f=mixture)
        else:
            self.add(tk.THERMAL_KRAUS, qubits, f=(channel.damping, channel.dephasing))


def _starts(parts: list[np.ndarray]) -> np.ndarray:
    return np.cumsum([0, *(p.size for p in parts)]).astype(np.int64)


def _flat(parts: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate([np.zeros(0, dtype=dtype), *parts]).astype(dtype))


@dataclass
class SoloProgram:
    """The kernel's tables for ``steps[first_step:]`` of a bound program.

    ``op_of_step[k]`` is the first operation of step ``first_step + k`` (one entry
    more, for the end); ``num_draws`` uniforms per shot, the last for the final
    sampling.
    """

    first_step: int
    op_of_step: list[int]
    tables: tuple[np.ndarray, ...]
    num_draws: int
    final_qubits: np.ndarray
    final_clbits: np.ndarray


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
    tables = _Tables(num_qubits, dtype)
    op_of_step = []
    for step in steps[first:]:
        op_of_step.append(len(tables.codes))
        if isinstance(step, list):
            for op in step:
                for member in _members(op) or ():
                    tables.gate(member)
        else:
            tables.event(step)  # type: ignore[arg-type]
    op_of_step.append(len(tables.codes))
    parts = tables.parts
    encoded = (
        np.array(tables.codes, dtype=np.int64),
        _starts(parts["q"]),
        _flat(parts["q"], np.dtype(np.int64)),
        _starts(parts["c"]),
        _flat(parts["c"], dtype),
        _starts(parts["i"]),
        _flat(parts["i"], np.dtype(np.int64)),
        _starts(parts["f"]),
        _flat(parts["f"], np.dtype(np.float64)),
        np.array([*tables.draw_start, tables.draws], dtype=np.int64),
    )
    finals = np.array(final_measures, dtype=np.int64).reshape(-1, 2)
    return SoloProgram(
        first, op_of_step, encoded, tables.draws + 1, finals[:, 0].copy(), finals[:, 1].copy()
    )


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
                starts, job_first, job_clbits, chunk, draws, *program.tables,
                program.final_qubits, program.final_clbits, out,
            )  # fmt: skip
            values, times = np.unique(out, return_counts=True)
            for value, count in zip(values.tolist(), times.tolist(), strict=True):
                self.counts[value] += count
