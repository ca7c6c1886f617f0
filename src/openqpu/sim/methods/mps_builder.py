"""From the engine's flat instructions to the MPS operation table: fusion of
one-qubit runs, swap networks for distant gates, noise as sampled operations,
``if_else`` as jumps and the terminal measurements set apart."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from openqpu.sim.lowering import GateLeaf, Instruction, Jump, JumpUnless, Measure, Noise, Reset
from openqpu.sim.methods import mps_kernels as k
from openqpu.sim.noise import Depolarizing, ThermalRelaxation

_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.complex128)
# Index (2 * left + right) of a two-site matrix -> Qiskit index (bit 0 = first qubit).
_FLIP = np.array([0, 2, 1, 3])
# Operations that need the orthogonality centre on their site.
_CENTERED = (k.GATE2, k.MEASURE, k.RESET)
# Two-qubit gates looked at when choosing where two distant qubits meet.
_LOOKAHEAD = 8
# Operations on one or both qubits of a pair that fold into a deferred two-site step.
_FOLDING = (k.GATE1, k.PAULI1, k.PAULI2, k.RELAX_MIX, k.RELAX_JUMP)

Op = tuple[int, int, int, int, float, float]


class OpsBuilder:
    """Accumulates the operation table for one circuit on a fixed site order."""

    def __init__(self, order: list[int], *, swap_back: bool = True) -> None:
        """``swap_back``: swap a moved qubit back to its site after each distant gate
        (the default); else the qubits stay where they met (``mps_program._routed``
        chooses)."""
        self.swap_back = swap_back
        # With ``swap_back``: the pair brought together for the last gate, left together
        # until a two-qubit gate on another pair comes (a CZ, its one-qubit gates and the
        # next CZ on the same pair then fold into one two-site step).
        self.together: frozenset[int] | None = None
        self.site = {q: s for s, q in enumerate(order)}
        self.initial = dict(self.site)
        self.order = list(order)  # qubit on each site now
        self.pairs: list[tuple[int, int]] = []  # the circuit's two-qubit gates
        self.upcoming = 0  # index in ``pairs`` of the next two-qubit gate
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

    def release(self, qubits: Iterable[int]) -> None:
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

    def flush(self, qubits: Iterable[int]) -> None:
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
        if self.together is not None and self.together != {q0, q1}:
            self.restore()
        eye = np.eye(2)
        matrix = leaf.matrix @ np.kron(self.pending.pop(q1, eye), self.pending.pop(q0, eye))
        self.upcoming += 1
        lo, hi = sorted((self.site[q0], self.site[q1]))
        # Moving a qubit across a cut for good can double that cut's Schmidt rank.
        moves = 0 if self.swap_back or hi == lo + 1 else 1
        self.gates.append((lo, hi, log2_rank + moves))
        if hi > lo + 1:
            self._bring_together(lo, hi)
            if self.swap_back:
                self.together = frozenset((q0, q1))
        s0, s1 = self.site[q0], self.site[q1]
        if s0 < s1:
            matrix = matrix[np.ix_(_FLIP, _FLIP)]
        lo = min(s0, s1)
        self.mats2.append(np.ascontiguousarray(matrix, dtype=np.complex128))
        self.emit(
            k.GATE2, lo, index=len(self.mats2) - 1, qubits=(self.order[lo], self.order[lo + 1]),
            opens=True,
        )  # fmt: skip

    def _bring_together(self, lo: int, hi: int) -> None:
        """Swap the qubits on sites ``lo`` and ``hi`` next to each other; they stay there.

        Of the ``hi - lo`` places where they can meet (all cost ``hi - lo - 1`` swaps),
        the one that leaves the next few two-qubit gates of the circuit closest wins.
        """
        ahead = [] if self.swap_back else self.pairs[self.upcoming : self.upcoming + _LOOKAHEAD]
        best, best_score = 0, None
        for meet in range(hi - lo):  # the low qubit moves up to lo + meet
            score = 0
            for a, b in ahead:
                score += abs(self._moved(a, lo, hi, meet) - self._moved(b, lo, hi, meet))
            if best_score is None or score < best_score:
                best, best_score = meet, score
        for s in range(lo, lo + best):
            self.swap(s)
        for s in range(hi - 1, lo + best, -1):
            self.swap(s)

    def _moved(self, q: int, lo: int, hi: int, meet: int) -> int:
        """Site of ``q`` after the qubits on ``lo`` and ``hi`` meet at ``lo + meet``."""
        s = self.site[q]
        if s == lo:
            return lo + meet
        if s == hi:
            return lo + meet + 1
        if lo < s <= lo + meet:
            return s - 1
        if lo + meet < s < hi:
            return s + 1
        return s

    def swap(self, s: int) -> None:
        """Swap the qubits on sites ``s`` and ``s + 1`` (the site map follows)."""
        u, v = self.order[s], self.order[s + 1]
        self.emit(k.GATE2, s, index=0, qubits=(u, v))
        self.order[s], self.order[s + 1] = v, u
        self.site[u], self.site[v] = s + 1, s

    def restore(self) -> None:
        """Swap every qubit back to its initial site (before another pair's gate, and
        before and after jumps)."""
        self.together = None
        for _ in range(len(self.order)):
            moved = False
            for s in range(len(self.order) - 1):
                if self.initial[self.order[s]] > self.initial[self.order[s + 1]]:
                    self.swap(s)
                    moved = True
            if not moved:
                return

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
        self.pairs = [
            (item.qubits[0], item.qubits[1])
            for item in items
            if isinstance(item, GateLeaf) and len(item.qubits) == 2
        ]
        done: set[int] = set()
        op_at: dict[int, int] = {}
        fixups: list[tuple[int, int]] = []
        for i in range(len(items) + 1):
            if i in targets:
                self.flush(list(self.pending))
                self.restore()
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
                if i in terminal:  # its qubit's site at the end is set below
                    self.terminal.append((item.qubit, item.clbit, p10, p01))
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
                self.restore()
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
        self.terminal = [(self.site[q], c, p10, p01) for q, c, p10, p01 in self.terminal]
        for op, target in fixups:
            kind, a, _, index = self.ints[op]
            self.ints[op] = (kind, a, op_at[target], index)
        self._hint_centre()

    def _deferred(self, n: int) -> bool:
        """Whether the two-site step ``n`` is followed, through operations that fold into
        it, by another two-site step on the same pair."""
        pair = (self.ints[n][1], self.ints[n][1] + 1)
        for m in range(n + 1, len(self.ints)):  # no slice: that would copy the rest each time
            kind, a, b, _ = self.ints[m]
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
