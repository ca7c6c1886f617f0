"""Measure the per-amplitude cost of each kernel shape, the input of the fusion cost model.

Every kernel runs serially on an in-cache state of 2^14 amplitudes (the size of a
cache-blocked sub-state), so the figures are compute costs, not memory traffic.
Run: ``python bench/fusion_costs.py``; the printed tables are what
``openqpu/sim/fusion.py`` holds (nanoseconds per amplitude, one thread).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from openqpu.sim.ops import DenseOp, DiagonalOp, MonomialOp

SIZE_BITS = 14
REPEATS = 200


def _time_per_amplitude(apply: Callable[[], None]) -> float:
    apply()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(REPEATS):
            apply()
        best = min(best, (time.perf_counter() - start) / REPEATS)
    return best / (1 << SIZE_BITS) * 1e9


def measure(dtype: np.dtype) -> dict[str, list[float]]:
    """ns per amplitude of dense (1-4 qubits), diagonal (1-10) and monomial (1-10) ops."""
    rng = np.random.default_rng(0)
    state = rng.normal(size=1 << SIZE_BITS) + 1j * rng.normal(size=1 << SIZE_BITS)
    state = (state / np.linalg.norm(state)).astype(dtype)
    qubits = [3, 9, 5, 12, 6, 2, 10, 4, 13, 7]
    figures: dict[str, list[float]] = {"dense": [], "diagonal": [], "monomial": []}
    for width in range(1, 5):
        matrix = np.linalg.qr(rng.normal(size=(1 << width, 1 << width)) + 0j)[0].astype(dtype)
        op = DenseOp(tuple(qubits[:width]), np.ascontiguousarray(matrix))
        figures["dense"].append(_time_per_amplitude(lambda op=op: op.apply(state)))
    for width in range(1, 11):
        diagonal = np.exp(1j * rng.uniform(0, 6, 1 << width)).astype(dtype)
        op = DiagonalOp(tuple(qubits[:width]), diagonal)
        figures["diagonal"].append(_time_per_amplitude(lambda op=op: op.apply(state)))
    for width in range(1, 11):
        rows = rng.permutation(1 << width).astype(np.int64)
        phases = np.exp(1j * rng.uniform(0, 6, 1 << width)).astype(dtype)
        op = MonomialOp(tuple(qubits[:width]), rows, phases)
        figures["monomial"].append(_time_per_amplitude(lambda op=op: op.apply(state)))
    return figures


def main() -> None:
    """Print the cost tables for complex128 and complex64."""
    for dtype in (np.complex128, np.complex64):
        figures = measure(np.dtype(dtype))
        print(np.dtype(dtype).name)
        for kind, values in figures.items():
            print(f"  {kind:<9}", " ".join(f"{v:5.2f}" for v in values))


if __name__ == "__main__":
    main()
