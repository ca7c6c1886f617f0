"""A user's first call: lowering, planning and binding must cost little next to the kernels.

Every circuit a user sends is new to the engine, so the work before the kernels
(lowering, the fusion plan, building the fused blocks) is paid on every job. This
check measures both parts in one run, on the same machine at the same moment, and
fails when the preparation of GHZ-20 or QFT-20 is more than a small multiple of
their kernel time (it was 100x and 7x when permutation blocks were built as dense
products). A ratio, not a wall-clock limit: a busy or slow machine slows both.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import QFTGate

from openqpu.sim.executor import run_unitary
from openqpu.sim.program import Program

# Preparation (lowering + planning + binding) may take at most this fraction of the
# kernel time. Measured on a quiet 2-core machine: GHZ-20 ~0.05-0.1, QFT-20 ~0.05.
MAX_RATIO = 1.0
REPEATS = 5
DTYPE = np.dtype(np.complex128)


def _ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    return circuit


def _qft(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.append(QFTGate(n), range(n))
    return transpile(circuit, basis_gates=["h", "cp", "swap"], optimization_level=0)


def _best(measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(REPEATS))


@pytest.mark.parametrize("name", ["ghz", "qft"])
def test_preparation_costs_a_fraction_of_the_kernels(name: str) -> None:
    circuit = {"ghz": _ghz, "qft": _qft}[name](20)
    Program(circuit).bind(None, DTYPE)  # first use: imports and JIT, not measured

    def prepare() -> float:
        # The preparation is single-threaded Python: its CPU time is what it costs,
        # whatever else the machine runs.
        start = time.thread_time()
        Program(circuit).bind(None, DTYPE)
        return time.thread_time() - start

    steps, _ = Program(circuit).bind(None, DTYPE)

    def kernels() -> float:
        start = time.perf_counter()
        run_unitary(steps, circuit.num_qubits, DTYPE)
        return time.perf_counter() - start

    kernels()
    preparation, kernel = _best(prepare), _best(kernels)
    assert preparation <= MAX_RATIO * kernel, (
        f"{name}-20: lowering + planning + binding {preparation * 1e3:.2f} ms, "
        f"kernels {kernel * 1e3:.2f} ms (ratio {preparation / kernel:.2f} > {MAX_RATIO})"
    )
