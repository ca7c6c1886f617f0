"""Power: split the IEEE 14-bus system into two balanced areas cutting the fewest lines.

Bus ``b`` (1-based) is in area 1 when its bit is set; bus 1 stays in area 0 (the
two labelings of a partition are the same partition), so ``n`` buses need
``n - 1`` qubits. The QUBO counts cut lines plus ``penalty * (size of area 1 -
n // 2)^2`` and is solved with QAOA through ``SamplerV2``; the exact optimum comes
from enumerating every partition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from openqpu.apps.common import Progress, new_figure
from openqpu.apps.qubo import Qubo, bits_key, counts_probability, solve_qaoa, top_outcomes
from openqpu.qiskit import OpenQPUBackend

# The IEEE 14-bus test case's 20 branches (from bus, to bus), as in MATPOWER's
# case14.m (from the Power Systems Test Case Archive, University of Washington,
# https://labs.ece.uw.edu/pstca/pf14/pg_tca14bus.htm); 4-7, 4-9 and 5-6 are transformers.
IEEE14_BRANCHES: tuple[tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (2, 4), (2, 5), (3, 4), (4, 5), (4, 7), (4, 9), (5, 6),
    (6, 11), (6, 12), (6, 13), (7, 8), (7, 9), (9, 10), (9, 14), (10, 11), (12, 13), (13, 14),
)  # fmt: skip


def grid_lines(num_buses: int) -> list[tuple[int, int]]:
    """The branches between buses 1..``num_buses`` (14: the whole system).

    Raises:
        ValueError: fewer than 4 or more than 14 buses.
    """
    if not 4 <= num_buses <= 14:
        raise ValueError(f"num_buses: expected 4 to 14, got {num_buses}")
    return [(a, b) for a, b in IEEE14_BRANCHES if a <= num_buses and b <= num_buses]


def partition_qubo(num_buses: int, penalty: float = 1.0) -> Qubo:
    """Cut lines plus ``penalty`` times the squared imbalance; bit ``i`` is bus ``i + 2``."""
    n = num_buses - 1
    matrix = np.zeros((n, n))
    linear = np.zeros(n)
    for a, b in grid_lines(num_buses):
        # cut(a, b) = x_a + x_b - 2 x_a x_b, with x for bus 1 fixed at 0.
        for bus in (a, b):
            if bus > 1:
                linear[bus - 2] += 1
        if a > 1 and b > 1:
            matrix[a - 2, b - 2] -= 1
            matrix[b - 2, a - 2] -= 1
    half = num_buses // 2
    matrix += penalty * (np.ones((n, n)) - 2 * half * np.eye(n))
    return Qubo(matrix + np.diag(linear), penalty * half**2)


def cut_lines(num_buses: int, bits: np.ndarray) -> np.ndarray:
    """The number of lines between the two areas, per row of ``bits`` (shape (m, n - 1))."""
    areas = np.concatenate([np.zeros((len(bits), 1), dtype=int), np.asarray(bits)], axis=1)
    lines = np.array(grid_lines(num_buses)) - 1
    return (areas[:, lines[:, 0]] != areas[:, lines[:, 1]]).sum(axis=1)


def run(
    backend: OpenQPUBackend,
    *,
    num_buses: int = 14,
    layers: int = 1,
    shots: int = 2000,
    maxiter: int = 30,
    seed: int = 7,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Partition the first ``num_buses`` buses with QAOA and compare with the exact optimum.

    Returns:
        A JSON-ready summary: the lines, the QAOA partition and an optimal one
        (areas as bus lists), their cut lines, whether QAOA found an optimum,
        the probability of an optimal partition in the final distribution, the
        objective history and the top outcomes.
    """
    half = num_buses // 2
    qubo = partition_qubo(num_buses)
    every = qubo.all_bits()
    balanced = every[every.sum(axis=1) == half]
    cuts = cut_lines(num_buses, balanced)
    optimum = balanced[int(np.argmin(cuts))]
    fewest = int(cuts.min())

    qaoa = solve_qaoa(
        qubo, backend, layers=layers, shots=shots, maxiter=maxiter, seed=seed, progress=progress
    )
    found = np.array(qaoa.best_bits)
    found_cut = int(cut_lines(num_buses, found[None])[0])
    is_balanced = int(found.sum()) == half

    def optimal(bits: list[int]) -> bool:
        return sum(bits) == half and int(cut_lines(num_buses, np.array([bits]))[0]) == fewest

    def areas(bits: np.ndarray) -> list[list[int]]:
        buses = np.arange(2, num_buses + 1)
        return [[1, *buses[bits == 0].tolist()], buses[bits == 1].tolist()]

    return {
        "app": "power",
        "device": backend.name,
        "num_buses": num_buses,
        "num_lines": len(grid_lines(num_buses)),
        "num_qubits": qubo.num_qubits,
        "layers": layers,
        "shots": shots,
        "seed": seed,
        "optimum": {"bits": bits_key(optimum), "areas": areas(optimum), "cut_lines": fewest},
        "qaoa": {"bits": bits_key(found), "areas": areas(found), "cut_lines": found_cut,
                 "balanced": is_balanced, "parameters": qaoa.parameters},
        "is_optimum": bool(is_balanced and found_cut == fewest),
        "approximation_ratio": fewest / found_cut if found_cut else 1.0,
        "optimal_partitions": int((cuts == fewest).sum()),
        "balanced_partitions": len(balanced),
        "probability_optimum": counts_probability(qaoa.final_counts, optimal),
        "probability_balanced": counts_probability(qaoa.final_counts, lambda b: sum(b) == half),
        "num_jobs": qaoa.num_jobs,
        "history": qaoa.history,
        "top_outcomes": top_outcomes(qaoa.final_counts),
    }  # fmt: skip


def plot(summary: dict[str, Any]) -> Any:
    """The grid with the QAOA areas coloured (cut lines dashed), and the convergence."""
    figure, (left, right) = new_figure()
    area_of = {bus: k for k, buses in enumerate(summary["qaoa"]["areas"]) for bus in buses}
    for a, b in grid_lines(summary["num_buses"]):
        (xa, ya), (xb, yb) = BUS_XY[a], BUS_XY[b]
        cut = area_of[a] != area_of[b]
        left.plot([xa, xb], [ya, yb], "r--" if cut else "k-", linewidth=1)
    for bus, area in area_of.items():
        x, y = BUS_XY[bus]
        left.scatter(x, y, s=220, color="tab:orange" if area else "tab:blue", zorder=3)
        left.annotate(str(bus), (x, y), ha="center", va="center", fontsize=8, zorder=4)
    left.set_axis_off()
    left.set_title(f"IEEE {summary['num_buses']}-bus: {summary['qaoa']['cut_lines']} lines cut "
                   f"(optimum {summary['optimum']['cut_lines']})")  # fmt: skip
    right.plot(summary["history"], marker=".")
    right.set(xlabel="COBYLA call", ylabel="CVaR of QUBO energy", title="QAOA convergence")
    return figure


# Where each bus is drawn, after the usual one-line diagram of the 14-bus system.
BUS_XY: dict[int, tuple[float, float]] = {
    1: (0.0, 3.0), 2: (0.5, 1.0), 3: (2.0, 0.0), 4: (2.5, 1.5), 5: (1.2, 2.5), 6: (1.5, 4.0),
    7: (3.5, 2.2), 8: (4.5, 2.2), 9: (3.3, 3.2), 10: (2.6, 3.7), 11: (2.0, 4.4), 12: (0.9, 5.3),
    13: (2.0, 5.5), 14: (3.3, 4.8),
}  # fmt: skip
