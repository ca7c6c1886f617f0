"""Time ``openqpu.sim.compile`` plus the first parameter binding of the benchmark circuits.

``bench/statevector.py`` times runs of a compiled program; this script prints what
compiling costs once per circuit (lowering, fusion planning, matrices, blocking).
Run: ``python bench/compile_time.py [--qubits 16,20,24]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from _circuits import CIRCUITS, build
from openqpu import sim


def compile_seconds(circuit: object, repeats: int = 3) -> float:
    """Median seconds of compile + bind for complex128."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        program = sim.lower(circuit)  # type: ignore[arg-type]
        program.bind(None, np.dtype(np.complex128))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print compile seconds per circuit and size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qubits", default="16,20,24")
    sizes = [int(n) for n in parser.parse_args().qubits.split(",")]
    print(f"{'circuit':>8} {'n':>3} {'gates':>6} {'compile s':>10}")
    for name in CIRCUITS:
        for n in sizes:
            case = build(name, n)
            seconds = compile_seconds(case.circuit)
            print(f"{name:>8} {n:>3} {len(case.circuit.data):>6} {seconds:>10.4f}")


if __name__ == "__main__":
    main()
