"""Workloads of ``bench/chip_methods.py``: full-width circuits for ``lattice72`` (issue 14's
table) and, for each, a per-shot observable that both engines' counts are compared on.

Every circuit is logical (the user's view): ``openqpu.transpile.transpile_for_device`` lays it out
and routes it onto the chip. Circuits whose interaction graph is a subgraph of the working
chip (the GHZ tree, the distance-3 surface code, the Ising chain) compile without swaps when
the layout pass finds the embedding.

An observable maps a counts key (all classical bits, clbit 0 rightmost, no spaces) to one
number per shot; the bench compares the engines' means with their standard errors.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# Seeds and "generic" angles: fixed so that every run builds the same circuits.
GRAPH_SEED = 7
RANDOM_CIRCUIT_SEED = 11
ISING_QUBITS = 66
ISING_STEPS = 10
ISING_ZZ_ANGLE = 0.37  # rzz angle per Trotter step (2 J dt)
ISING_X_ANGLE = 0.53  # rx angle per Trotter step (2 h dt)
QAOA_GAMMAS = (0.41, 0.67)
QAOA_BETAS = (0.29, 0.18)
QFT_BASIS_STATE = 0x5A5A5A  # the k of |k>, truncated to n bits
SURFACE_ROUNDS = 10

Observable = Callable[[str], float]


@dataclass(frozen=True)
class Workload:
    """One row of the table.

    Attributes:
        name: what ``--workloads`` selects it by.
        description: what the circuit is, for the table.
        shots: shots at ``--shots-scale 1``.
        target_s: the issue's end-to-end target in seconds (None: report only).
        build: (spec, snapshot) -> (logical circuit, observable name, observable).
    """

    name: str
    description: str
    shots: int
    target_s: float | None
    build: Callable[[Any, Any], tuple[Any, str, Observable]]


# --- GHZ over every working qubit -----------------------------------------------------------


def working_tree(snapshot: Any) -> list[tuple[int, int]]:
    """Edges (parent, child) of a breadth-first spanning tree of the largest connected block of
    working qubits, rooted at its most central qubit, in breadth-first order (chip indices)."""
    working = set(snapshot.working_qubits())
    neighbours: dict[int, list[int]] = {q: [] for q in working}
    for k in snapshot.working_couplers():
        a, b = snapshot.couplers[k]
        if a in working and b in working:
            neighbours[a].append(b)
            neighbours[b].append(a)

    def bfs(root: int) -> tuple[list[tuple[int, int]], int]:
        seen, edges, depth = {root: 0}, [], 0
        queue = deque([root])
        while queue:
            q = queue.popleft()
            for n in sorted(neighbours[q]):
                if n not in seen:
                    seen[n] = seen[q] + 1
                    depth = max(depth, seen[n])
                    edges.append((q, n))
                    queue.append(n)
        return edges, depth

    trees = [bfs(q) for q in sorted(working)]
    widest = max(len(edges) for edges, _ in trees)
    # Largest block first, then the shallowest tree (fewest CNOT layers).
    edges, _ = min(
        (t for t in trees if len(t[0]) == widest), key=lambda t: (t[1], t[0][0][0] if t[0] else 0)
    )
    return edges


def ghz_all(_spec: Any, snapshot: Any) -> tuple[Any, str, Observable]:
    """GHZ over the largest block of working qubits, CNOTs along a breadth-first tree; the
    observable is the number of tree edges whose two qubits read differently (0 ideally)."""
    from qiskit import QuantumCircuit

    edges = working_tree(snapshot)
    order = [edges[0][0], *(child for _, child in edges)]
    index = {chip: i for i, chip in enumerate(order)}
    qc = QuantumCircuit(len(order), name=f"ghz{len(order)}")
    qc.h(0)
    for parent, child in edges:
        qc.cx(index[parent], index[child])
    qc.measure_all(add_bits=True)

    ends = np.array([(index[parent], index[child]) for parent, child in edges])

    def domain_walls(key: str) -> float:
        bits = np.frombuffer(key[::-1].encode(), dtype=np.uint8) - ord("0")
        return float((bits[ends[:, 0]] != bits[ends[:, 1]]).sum())

    return qc, "domain walls", domain_walls


# --- Rotated surface-code memory experiment -------------------------------------------------


@dataclass(frozen=True)
class SurfaceCode:
    """A distance-d rotated surface code on a (2d+1) x (2d+1) coordinate grid: data qubits at
    odd (x, y), ancillas at even (x, y); X-type ancillas on the top and bottom boundaries,
    Z-type on the left and right."""

    distance: int
    data: tuple[tuple[int, int], ...]
    ancillas: tuple[tuple[int, int, str], ...]  # (x, y, "X" or "Z")

    @classmethod
    def make(cls, d: int) -> SurfaceCode:
        """The code of distance ``d`` (odd)."""
        data = tuple((x, y) for y in range(1, 2 * d, 2) for x in range(1, 2 * d, 2))
        ancillas = []
        for y in range(0, 2 * d + 1, 2):
            for x in range(0, 2 * d + 1, 2):
                kind = "X" if (x // 2 + y // 2) % 2 == 0 else "Z"
                interior = 0 < x < 2 * d and 0 < y < 2 * d
                top_bottom = y in (0, 2 * d) and 0 < x < 2 * d and kind == "X"
                sides = x in (0, 2 * d) and 0 < y < 2 * d and kind == "Z"
                if interior or top_bottom or sides:
                    ancillas.append((x, y, kind))
        return cls(d, data, tuple(ancillas))

    def support(self, x: int, y: int, order: tuple[tuple[int, int], ...]) -> list[int | None]:
        """Data indices the ancilla at (x, y) couples to, in CNOT order (None: no qubit)."""
        where = {xy: i for i, xy in enumerate(self.data)}
        return [where.get((x + dx, y + dy)) for dx, dy in order]


# Standard hook-safe CNOT orders: X-type "Z"-shaped, Z-type "N"-shaped (dx, dy).
X_ORDER = ((-1, -1), (1, -1), (-1, 1), (1, 1))
Z_ORDER = ((-1, -1), (-1, 1), (1, -1), (1, 1))


def surface_code_memory(d: int, rounds: int = SURFACE_ROUNDS) -> tuple[Any, SurfaceCode]:
    """Memory-Z experiment: data in |0>, ``rounds`` rounds of stabiliser measurement (ancillas
    measured into register ``r<k>`` and reset), then every data qubit measured (``data``).

    Logical qubits: data first (row by row), then ancillas (row by row); the interaction graph
    is the code's, a subgraph of a square grid rotated by 45 degrees.
    """
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

    code = SurfaceCode.make(d)
    n_data, n_anc = len(code.data), len(code.ancillas)
    data, anc = QuantumRegister(n_data, "d"), QuantumRegister(n_anc, "a")
    qc = QuantumCircuit(data, anc, name=f"surface_d{d}_r{rounds}")
    supports = [
        code.support(x, y, X_ORDER if kind == "X" else Z_ORDER) for x, y, kind in code.ancillas
    ]
    x_ancillas = [i for i, (_, _, kind) in enumerate(code.ancillas) if kind == "X"]
    for r in range(rounds):
        register = ClassicalRegister(n_anc, f"r{r}")
        qc.add_register(register)
        for i in x_ancillas:
            qc.h(anc[i])
        for step in range(4):
            for i, (_, _, kind) in enumerate(code.ancillas):
                q = supports[i][step]
                if q is None:
                    continue
                if kind == "X":
                    qc.cx(anc[i], data[q])
                else:
                    qc.cx(data[q], anc[i])
        for i in x_ancillas:
            qc.h(anc[i])
        qc.measure(anc, register)
        qc.reset(anc)
    final = ClassicalRegister(n_data, "data")
    qc.add_register(final)
    qc.measure(data, final)
    return qc, code


def detection_fraction(code: SurfaceCode, rounds: int) -> Observable:
    """Per shot: the fraction of detectors that fired. Detectors: each Z stabiliser in round 0
    (against 0), each stabiliser between consecutive rounds, and each Z stabiliser's last
    round against its value from the final data measurement."""
    n_anc, n_data = len(code.ancillas), len(code.data)
    z = [i for i, (_, _, kind) in enumerate(code.ancillas) if kind == "Z"]
    z_data = [
        [q for q in code.support(x, y, Z_ORDER) if q is not None]
        for x, y, kind in code.ancillas
        if kind == "Z"
    ]
    detectors = len(z) + (rounds - 1) * n_anc + len(z)

    def fraction(key: str) -> float:
        bits = np.frombuffer(key[::-1].encode(), dtype=np.uint8) - ord("0")
        syndromes = bits[: rounds * n_anc].reshape(rounds, n_anc)
        final = bits[rounds * n_anc : rounds * n_anc + n_data]
        fired = int(syndromes[0, z].sum()) + int((syndromes[1:] ^ syndromes[:-1]).sum())
        for j, i in enumerate(z):
            fired += int(final[z_data[j]].sum() % 2 != syndromes[-1, i])
        return fired / detectors

    return fraction


def surface(d: int) -> Callable[[Any, Any], tuple[Any, str, Observable]]:
    """The builder of the distance-``d`` memory experiment."""

    def build(_spec: Any, _snapshot: Any) -> tuple[Any, str, Observable]:
        qc, code = surface_code_memory(d)
        return qc, "detection rate", detection_fraction(code, SURFACE_ROUNDS)

    return build


# --- QFT of a basis state -------------------------------------------------------------------


def qft_basis(n: int) -> Callable[[Any, Any], tuple[Any, str, Observable]]:
    """QFT of |k> (a product state with phase 2 pi k 2^j / 2^n on qubit j), then each qubit
    rotated back to |0> (``p``, ``h``): the ideal outcome is 0...0, whose probability is the
    observable."""

    def build(_spec: Any, _snapshot: Any) -> tuple[Any, str, Observable]:
        from qiskit import QuantumCircuit
        from qiskit.circuit.library import QFTGate

        k = QFT_BASIS_STATE % (1 << n)
        qc = QuantumCircuit(n, name=f"qft{n}")
        for j in range(n):
            if k >> j & 1:
                qc.x(j)
        qc.append(QFTGate(n), range(n))
        for j in range(n):
            qc.p(-2 * math.pi * ((k << j) % (1 << n)) / (1 << n), j)
            qc.h(j)
        qc.measure_all(add_bits=True)

        def peak(key: str) -> float:
            return float("1" not in key)

        return qc, "P(0...0)", peak

    return build


# --- Trotterised transverse-field Ising chain -----------------------------------------------


def ising_chain(_spec: Any, _snapshot: Any) -> tuple[Any, str, Observable]:
    """``ISING_STEPS`` first-order Trotter steps of H = J sum Z Z + h sum X on an open chain of
    ``ISING_QUBITS`` qubits from |0...0>: rzz on even bonds, odd bonds, then rx on all."""
    from qiskit import QuantumCircuit

    n = ISING_QUBITS
    qc = QuantumCircuit(n, name=f"ising{n}")
    for _ in range(ISING_STEPS):
        for start in (0, 1):
            for q in range(start, n - 1, 2):
                qc.rzz(ISING_ZZ_ANGLE, q, q + 1)
        for q in range(n):
            qc.rx(ISING_X_ANGLE, q)
    qc.measure_all(add_bits=True)

    def magnetisation(key: str) -> float:
        return 1 - 2 * key.count("1") / len(key)

    return qc, "<Z> mean", magnetisation


# --- QAOA MaxCut ----------------------------------------------------------------------------


def qaoa(graph: str, p: int) -> Callable[[Any, Any], tuple[Any, str, Observable]]:
    """QAOA depth ``p`` for MaxCut on ``graph`` ("regular3_20": a random 3-regular graph of 20
    nodes; "grid10x6": the 10 x 6 grid graph), fixed angles; the observable is the cut."""

    def build(_spec: Any, _snapshot: Any) -> tuple[Any, str, Observable]:
        import networkx as nx
        from qiskit import QuantumCircuit

        if graph == "regular3_20":
            g = nx.random_regular_graph(3, 20, seed=GRAPH_SEED)
        else:
            g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(10, 6), ordering="sorted")
        edges = sorted(tuple(sorted(e)) for e in g.edges)
        n = g.number_of_nodes()
        qc = QuantumCircuit(n, name=f"qaoa_{graph}_p{p}")
        qc.h(range(n))
        for layer in range(p):
            for a, b in edges:
                qc.rzz(2 * QAOA_GAMMAS[layer], a, b)
            qc.rx(2 * QAOA_BETAS[layer], range(n))
        qc.measure_all(add_bits=True)
        ends = np.array(edges)

        def cut(key: str) -> float:
            bits = np.frombuffer(key[::-1].encode(), dtype=np.uint8) - ord("0")
            return float((bits[ends[:, 0]] != bits[ends[:, 1]]).sum())

        return qc, "mean cut", cut

    return build


# --- Random 2D circuit ----------------------------------------------------------------------


def random_2d(rows: int = 4, cols: int = 5, depth: int = 8) -> Any:
    """A Sycamore-style random circuit on a ``rows`` x ``cols`` grid: ``depth`` cycles of a
    random single-qubit gate per qubit (sqrt X, sqrt Y or sqrt W, never the same twice in a
    row) then CZ on one of four coupler patterns (ABCDCDAB), and a final single-qubit layer."""
    from qiskit import QuantumCircuit

    rng = np.random.default_rng(RANDOM_CIRCUIT_SEED)
    n = rows * cols
    qc = QuantumCircuit(n, name=f"random2d_{n}_{depth}")
    last = [-1] * n

    def single_layer() -> None:
        for q in range(n):
            choice = int(rng.choice([g for g in range(3) if g != last[q]]))
            last[q] = choice
            if choice == 0:
                qc.sx(q)
            elif choice == 1:
                qc.ry(math.pi / 2, q)
            else:  # sqrt(W), W = (X + Y) / sqrt 2
                qc.rz(-math.pi / 4, q)
                qc.sx(q)
                qc.rz(math.pi / 4, q)

    def pattern(which: int) -> list[tuple[int, int]]:
        pairs = []
        horizontal, offset = which < 2, which % 2
        for r in range(rows):
            for c in range(cols):
                if horizontal and c + 1 < cols and (c + r) % 2 == offset:
                    pairs.append((r * cols + c, r * cols + c + 1))
                if not horizontal and r + 1 < rows and (r + c) % 2 == offset:
                    pairs.append((r * cols + c, (r + 1) * cols + c))
        return pairs

    for cycle in range(depth):
        single_layer()
        for a, b in pattern((0, 1, 2, 3, 2, 3, 0, 1)[cycle % 8]):
            qc.cz(a, b)
    single_layer()
    return qc


def random_circuit(_spec: Any, _snapshot: Any) -> tuple[Any, str, Observable]:
    """The 20-qubit depth-8 random circuit; the observable is linear cross-entropy:
    2^n p_ideal(x) - 1 per shot, whose mean is the XEB fidelity."""
    from qiskit.quantum_info import Statevector

    qc = random_2d()
    ideal = Statevector(qc).probabilities()
    scale = float(1 << qc.num_qubits)
    qc.measure_all(add_bits=True)

    def xeb(key: str) -> float:
        return scale * float(ideal[int(key, 2)]) - 1

    return qc, "linear XEB", xeb


WORKLOADS: tuple[Workload, ...] = (
    Workload("ghz", "GHZ over all working qubits", 1000, 1.0, ghz_all),
    Workload("surface3", "rotated surface code d=3, 10 rounds", 10_000, 5.0, surface(3)),
    Workload("surface5", "rotated surface code d=5, 10 rounds", 10_000, 5.0, surface(5)),
    Workload("qft20", "QFT-20 of a basis state", 1000, 10.0, qft_basis(20)),
    Workload("qft24", "QFT-24 of a basis state", 1000, 10.0, qft_basis(24)),
    Workload("ising", f"TFIM chain {ISING_QUBITS}q, {ISING_STEPS} steps", 1000, 60.0, ising_chain),
    Workload("qaoa20p1", "QAOA p=1, 3-regular 20 nodes", 1000, 120.0, qaoa("regular3_20", 1)),
    Workload("qaoa20p2", "QAOA p=2, 3-regular 20 nodes", 1000, 120.0, qaoa("regular3_20", 2)),
    Workload("qaoa60p1", "QAOA p=1, 10x6 grid graph", 1000, 60.0, qaoa("grid10x6", 1)),
    Workload("qaoa60p2", "QAOA p=2, 10x6 grid graph", 1000, 60.0, qaoa("grid10x6", 2)),
    Workload("random20", "random 2D circuit 20q, depth 8", 1000, None, random_circuit),
)
