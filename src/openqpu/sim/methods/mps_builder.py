"""From the engine's flat instructions to the MPS operation table: fusion of
one-qubit runs, swap networks for distant gates, noise as sampled operations,
``if_else`` as jumps and the terminal measurements set apart."""

from __future__ import annotations

import numpy as np

from openqpu.sim.lowering import GateLeaf, Instruction, Jump, JumpUnless, Measure, Noise, Reset
from openqpu.sim.methods import mps_kernels as k
from openqpu.sim.noise import Depolarizing, ThermalRelaxation

_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.complex128)
# Index (2 * left + right) of a two-site matrix -> Qiskit index (bit 0 = first qubit).
_FLIP = np.array([0, 2, 1, 3])
# Operations that need the orthogonality centre on their site.
_CENTERED = (k.GATE2, k.MEASURE, k.RESET)
# Operations on one or both qubits of a pair that fold into a deferred two-site step.
_FOLDING = (k.GATE1, k.PAULI1, k.PAULI2, k.RELAX_MIX, k.RELAX_JUMP)

Op = tuple[int, int, int, int, float, float]


class OpsBuilder:
    """Accumulates the operation table for one circuit on a fixed site order."""

    def __init__(self, order: list[int]) -> None:
        self.site = {q: s for s, q in enumerate(order)}
        self.order = list(order)
        self.ints: list[tuple[int, int, int, int]] = []
        self.reals: list[tuple[float, float]] = []
        self.mats1: list[np.ndarray] = [np.eye(2, dtype=np.complex128)]
        self.mats2: list[np.ndarray] = [_SWAP]
        self.pending: dict[int, np.ndarray] = {}
        self.gates: list[tuple[int, int, int]] = []
        self.terminal: list[tuple[int, int, float, float]] = []
        # Open blocks: a two-qubit gate and what follows on its pair alone, held back so
        # that the pair's operations come out consecutively (the kernels fold them into
        # one two-site step); both qubits of the pair map to the same list.
        self.blocks: dict[int, list[Op]] = {}

    def emit(
        self,
        kind: int,
        a: int = 0,
        b: int = 0,
        index: int = 0,
        p1: float = 0.0,
        p2: float = 0.0,
        *,
        qubits: tuple[int, ...] | None = None,
        opens: bool = False,
    ) -> None:
        """Append one operation on ``qubits`` (None: all of them, as a jump does).

        An operation that folds (a one-qubit gate, a noise draw, a gate on the same
        pair) joins the open block of its qubits; anything else first lets out the
        blocks it touches. ``opens``: the operation (a two-qubit gate) opens a block.
        """
        op = (kind, a, b, index, float(p1), float(p2))
        if qubits is None:
            self.release(list(self.blocks))
            self._out(op)
            return
        block = self.blocks.get(qubits[0])
        if (
            block is not None
            and (kind in _FOLDING or opens)
            and all(self.blocks.get(q) is block for q in qubits)
        ):
            block.append(op)
            return
        self.release(qubits)
        if opens:
            block = [op]
            for q in qubits:
                self.blocks[q] = block
        else:
            self._out(op)

    def release(self, qubits) -> None:
        """Let out the open blocks of ``qubits``."""
        for q in qubits:
            block = self.blocks.pop(q, None)
            if block is None:
                continue
            for other in [x for x, held in self.blocks.items() if held is block]:
                del self.blocks[other]
            for op in block:
                self._out(op)

    def _out(self, op: Op) -> None:
        self.ints.append(op[:4])
        self.reals.append(op[4:])

    def flush(self, qubits) -> None:
        """Apply the fused one-qubit gates waiting on ``qubits``."""
        for q in qubits:
            matrix = self.pending.pop(q, None)
            if matrix is not None:
                self.mats1.append(matrix)
                self.emit(k.GATE1, self.site[q], index=len(self.mats1) - 1, qubits=(q,))

    def gate(self, leaf: GateLeaf, log2_rank: int) -> None:
        """A one-qubit gate waits to be fused; a two-qubit gate absorbs what waits."""
        if len(leaf.qubits) == 1:
            q = leaf.qubits[0]
            self.pending[q] = leaf.matrix @ self.pending.get(q, np.eye(2))
            return
        q0, q1 = leaf.qubits
        eye = np.eye(2)
        matrix = leaf.matrix @ np.kron(self.pending.pop(q1, eye), self.pending.pop(q0, eye))
        s0, s1 = self.site[q0], self.site[q1]
        if s0 < s1:
            matrix = matrix[np.ix_(_FLIP, _FLIP)]
        lo, hi = min(s0, s1), max(s0, s1)
        self.gates.append((lo, hi, log2_rank))
        for s in range(hi - 1, lo, -1):
            self.emit(k.GATE2, s, index=0, qubits=(self.order[s], self.order[s + 1]))
        self.mats2.append(np.ascontiguousarray(matrix, dtype=np.complex128))
        self.emit(
            k.GATE2, lo, index=len(self.mats2) - 1, qubits=(self.order[lo], self.order[lo + 1]),
            opens=True,
        )  # fmt: skip
        for s in range(lo + 1, hi):
            self.emit(k.GATE2, s, index=0, qubits=(self.order[s], self.order[s + 1]))

    def noise(self, item: Noise) -> None:
        """A channel as a sampled operation (nothing when it cannot happen)."""
        self.flush(item.qubits)
        channel = item.channel
        sites = [self.site[q] for q in item.qubits]
        if isinstance(channel, Depolarizing):
            count = 4**channel.num_qubits
            p = channel.probability * (count - 1) / count
            if p > 0:
                kind = k.PAULI1 if channel.num_qubits == 1 else k.PAULI2
                self.emit(kind, sites[0], sites[-1], p1=p, qubits=tuple(item.qubits))
            return
        assert isinstance(channel, ThermalRelaxation)
        mixture = channel.mixture()
        if mixture is not None:
            if mixture[0] + mixture[1] > 0:
                self.emit(
                    k.RELAX_MIX, sites[0], p1=mixture[0], p2=mixture[1], qubits=tuple(item.qubits)
                )
            return
        q, gamma = channel.rare_damping()
        if q > 0:
            self.emit(k.RELAX_JUMP, sites[0], p1=q, p2=gamma, qubits=tuple(item.qubits))

    def build(self, items: list[Instruction], log2_ranks: dict[int, int]) -> None:
        """Lower all instructions (``log2_ranks``: instruction index -> rank of a 2q gate)."""
        jumps = [
            (i, item.target) for i, item in enumerate(items) if isinstance(item, Jump | JumpUnless)
        ]
        targets = {t for _, t in jumps}
        fence = max((max(i, t - 1) for i, t in jumps), default=-1)
        terminal = _terminal(items, fence)
        done: set[int] = set()
        op_at: dict[int, int] = {}
        fixups: list[tuple[int, int]] = []
        for i in range(len(items) + 1):
            if i in targets:
                self.flush(list(self.pending))
                self.release(list(self.blocks))
            op_at[i] = len(self.ints)
            if i == len(items):
                break
            item = items[i]
            if isinstance(item, GateLeaf):
                self.gate(item, log2_ranks.get(i, 0))
            elif isinstance(item, Measure):
                readout = item.readout
                p10, p01 = (
                    (readout.readout_error_0to1, readout.readout_error_1to0) if readout else (0, 0)
                )
                if i in terminal:
                    self.terminal.append((self.site[item.qubit], item.clbit, p10, p01))
                    done.add(item.qubit)
                else:
                    self.flush([item.qubit])
                    self.emit(
                        k.MEASURE, self.site[item.qubit], index=item.clbit, p1=p10, p2=p01,
                        qubits=(item.qubit,),
                    )  # fmt: skip
            elif isinstance(item, Reset):
                self.flush([item.qubit])
                self.emit(k.RESET, self.site[item.qubit], qubits=(item.qubit,))
            elif isinstance(item, Noise):
                if not done.intersection(item.qubits):
                    self.noise(item)
            else:
                self.flush(list(self.pending))
                self.release(list(self.blocks))
                fixups.append((len(self.ints), item.target))
                cond = item_index = 0
                if isinstance(item, JumpUnless):
                    cond = sum(isinstance(x, JumpUnless) for x in items[:i])
                    item_index = cond
                self.emit(
                    k.JUMP_UNLESS if isinstance(item, JumpUnless) else k.JUMP, index=item_index
                )
        self.flush(list(self.pending))
        self.release(list(self.blocks))
        for op, target in fixups:
            kind, a, _, index = self.ints[op]
            self.ints[op] = (kind, a, op_at[target], index)
        self._hint_centre()

    def _deferred(self, n: int) -> bool:
        """Whether the two-site step ``n`` is followed, through operations that fold into
        it, by another two-site step on the same pair."""
        pair = (self.ints[n][1], self.ints[n][1] + 1)
        for kind, a, b, _ in self.ints[n + 1 :]:
            if kind == k.GATE2:
                return a == pair[0]
            if kind not in _FOLDING or a not in pair or (kind == k.PAULI2 and b not in pair):
                return False
        return False

    def _hint_centre(self) -> None:
        """Flag the two-site steps: DEFER (see ``_deferred``) and LEFT_CENTRE when the
        next centred operation lies to the left."""
        following = 1 << 30
        for n in range(len(self.ints) - 1, -1, -1):
            kind, a, _b, index = self.ints[n]
            if kind == k.GATE2:
                flags = k.LEFT_CENTRE if following <= a else 0
                if self._deferred(n):
                    flags |= k.DEFER
                self.ints[n] = (kind, a, flags, index)
            if kind in _CENTERED:
                following = a
            elif kind in (k.JUMP, k.JUMP_UNLESS):
                following = 1 << 30


def _terminal(items: list[Instruction], fence: int) -> set[int]:
    """Indices of measurements after which their qubit only meets noise, past all jumps."""
    touched: set[int] = set()
    terminal: set[int] = set()
    for i in range(len(items) - 1, fence, -1):
        item = items[i]
        if isinstance(item, Measure):
            if item.qubit not in touched:
                terminal.add(i)
            touched.add(item.qubit)
        elif isinstance(item, GateLeaf):
            touched.update(item.qubits)
            touched.update(item.controls)
        elif isinstance(item, Reset):
            touched.add(item.qubit)
    return terminal
