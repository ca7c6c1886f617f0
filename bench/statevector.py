"""Statevector benchmark: openqpu against qiskit-aer, qulacs and qsim on identical gate lists.

Usage (from the repository root)::

    .venv/bin/python bench/statevector.py                   # n = 16, 20, 24, 26, 28, every mode
    .venv/bin/python bench/statevector.py --quick           # n = 16, 20, one timed run each
    .venv/bin/python bench/statevector.py --qubits 20,24 --threads 2 --modes user,sample \\
        --reps 5 --json results.json
    .venv/bin/python bench/statevector.py --check           # correctness of every engine
    .venv/bin/python bench/statevector.py --preparation     # openqpu's planning vs kernels

Modes (one table section each, the user's path first)
------------------------------------------------------
* ``user``: the user's path. Every timed call gets the circuit itself, as a job does: each
  engine's own translation, planning and fusion are inside the timed call. openqpu:
  ``openqpu.sim.statevector(circuit)`` (lowering, fusion planning and block building every
  call); aer: ``AerSimulator.run(circuit)`` (its conversion and fusion every call); qsim:
  ``QSimSimulator(circuit_memoization_size=0)``, so the cirq->qsim translation and qsim's
  fusion run every call; qulacs has no planning step (its ``QuantumCircuit`` is what the user
  builds, untimed, like the ``QuantumCircuit`` given to the others).
* ``reuse``: compile once, run many. openqpu runs ``statevector(program)`` on
  ``program = openqpu.sim.lower(circuit)`` made untimed (its blocks are bound once, in the
  warm-up); qsim memoises its translation (``circuit_memoization_size=1``); aer and qulacs
  have nothing to reuse and run as in ``user``.
* ``sample``: the user's path with 1,000 shots of a final measurement of every qubit
  (openqpu ``sim.sample(circuit, 1000)``, aer ``run(shots=1000)``, qulacs ``state.sampling``,
  qsim ``run(repetitions=1000)``).
* ``expect``: the user's path to the expectation value of ``sum_i Z_i Z_i+1 + sum_i X_i``
  (openqpu ``sim.expectation``, aer ``save_expectation_value``, qulacs
  ``Observable.get_expectation_value``, qsim ``simulate_expectation_values``).

Method
------
* Circuits: QFT(n), QuantumVolume(n, depth=10), GHZ(n), EfficientSU2(n, reps=3) with seeded
  random parameters. Each is unrolled once by qiskit (no optimisation, no routing) into the
  basis ``_circuits.BASIS``; every engine executes that identical gate list, and a hash of it
  is compared across engines. QuantumVolume's blocks stay 2-qubit ``unitary`` gates.
* Every (mode, circuit, n, precision, threads, engine) is measured in a fresh subprocess (this
  script re-run with ``--worker``) whose thread count is fixed through OPENQPU_NUM_THREADS,
  OMP_NUM_THREADS, NUMBA_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS, plus the
  engine's own option. The engines of one configuration run back to back, and the engine that
  goes first rotates from one configuration to the next.
* Inside the subprocess the circuit is built and translated untimed, then ONE untimed warm-up
  call runs (JIT compilation and loading of compiled kernels: one-time costs of a process,
  excluded for every engine alike; process-wide caches, such as openqpu's table of
  parameterless gate matrices, stay warm as in a long-running worker), then ``--reps`` timed
  calls; the median is reported.
* aer: ``AerSimulator(method="statevector", precision="double"|"single",
  max_parallel_threads=threads)`` with default fusion, on the already unrolled circuit plus a
  final ``save_statevector``; no qiskit transpilation is timed. qulacs (complex128 only):
  ``QuantumState(n)`` allocation plus ``circuit.update_quantum_state(state)``, without qulacs'
  optional circuit optimiser. qsim (complex64 only): ``QSimSimulator(qsim_options={"t":
  threads})`` with default fusion, ``simulate_into_1d_array`` (``simulate()`` without cirq's
  result wrapper).
* Memory bandwidth: one in-place read+write pass over a 2^n array of the benchmark precision
  (numba ``prange``, same thread count; numpy if numba is missing), moving 2 * itemsize * 2^n
  bytes. "passes" = openqpu time / one-pass time for that n, precision and thread count: how many
  full sweeps over the state the engine's time is worth. Small n fit in cache, so "passes" only
  means something once the state is well beyond the last-level cache (n >= 22 or so).
* "ratio" = openqpu time / fastest peer of the same precision and mode (complex128: aer,
  qulacs; complex64: aer single, qsim); below 1 means openqpu is faster.
* Configurations whose state vector would exceed 40% of physical RAM are skipped.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ENGINES: tuple[str, ...] = ("openqpu", "aer", "qulacs", "qsim")
#: What one timed call does; see the module docstring. The user's path first.
MODES: tuple[str, ...] = ("user", "reuse", "sample", "expect")
#: Shots of the ``sample`` mode.
SHOTS = 1000
PRECISIONS: tuple[str, ...] = ("complex128", "complex64")
SHORT_PRECISION = {"complex128": "c128", "complex64": "c64"}
DTYPES: dict[str, type[np.complexfloating[Any, Any]]] = {
    "complex128": np.complex128,
    "complex64": np.complex64,
}

#: Precisions each engine supports.
SUPPORTED: dict[str, tuple[str, ...]] = {
    "openqpu": PRECISIONS,
    "aer": PRECISIONS,
    "qulacs": ("complex128",),
    "qsim": ("complex64",),
}

#: Modules an engine needs; a missing one makes its column 'n/a'.
REQUIRES: dict[str, tuple[str, ...]] = {
    "openqpu": ("openqpu.sim",),
    "aer": ("qiskit_aer",),
    "qulacs": ("qulacs",),
    "qsim": ("qsimcirq", "cirq"),
}

#: The peers openqpu's ratio is taken against, per precision.
PEERS: dict[str, tuple[str, ...]] = {
    "complex128": ("aer", "qulacs"),
    "complex64": ("aer", "qsim"),
}

#: Distributions whose versions the header reports.
DISTRIBUTIONS: tuple[str, ...] = (
    "openqpu",
    "numpy",
    "numba",
    "qiskit",
    "qiskit-aer",
    "qulacs",
    "qsimcirq",
    "cirq-core",
)

MEMORY_FRACTION = 0.4
MEMBW = "membw"
CELL = 11


# --------------------------------------------------------------------------------------------
# Worker side: one engine, one configuration, in a fresh process.
# --------------------------------------------------------------------------------------------

Runner = tuple[Callable[[], Any], Callable[[Any], np.ndarray]]
"""A zero-argument callable doing one execution, and a function turning its result into the
final state vector as a numpy array (used by ``--check`` only, never timed)."""


def observable_terms(n: int) -> list[tuple[str, list[int]]]:
    """The ``expect`` mode's observable: Z_i Z_i+1 on the chain plus X_i on every qubit."""
    return [("ZZ", [q, q + 1]) for q in range(n - 1)] + [("X", [q]) for q in range(n)]


def qiskit_observable(n: int) -> Any:
    """The observable as a qiskit ``SparsePauliOp``."""
    from qiskit.quantum_info import SparsePauliOp

    return SparsePauliOp.from_sparse_list(
        [(label, qubits, 1.0) for label, qubits in observable_terms(n)], num_qubits=n
    )


def measured(circuit: Any) -> Any:
    """``circuit`` followed by a measurement of every qubit."""
    out = circuit.copy()
    out.measure_all()
    return out


def prepare_openqpu(case: Any, precision: str, threads: int, mode: str) -> Runner:
    """openqpu.sim on the unrolled circuit (threads come from the env)."""
    from openqpu import sim

    circuit = case.circuit
    if mode == "reuse":
        program = sim.lower(circuit)
        return (lambda: sim.statevector(program, dtype=precision)), np.asarray
    if mode == "sample":
        with_measure = measured(circuit)
        return (lambda: sim.sample(with_measure, SHOTS, seed=1, dtype=precision)), np.asarray
    if mode == "expect":
        observable = qiskit_observable(case.num_qubits)
        return (lambda: sim.expectation(circuit, observable, dtype=precision)), np.asarray
    return (lambda: sim.statevector(circuit, dtype=precision)), np.asarray


def prepare_aer(case: Any, precision: str, threads: int, mode: str) -> Runner:
    """AerSimulator statevector method, default fusion, ``max_parallel_threads=threads``."""
    from qiskit_aer import AerSimulator
    from qiskit_aer.library import SaveExpectationValue, SaveStatevector

    simulator = AerSimulator(
        method="statevector",
        precision="double" if precision == "complex128" else "single",
        max_parallel_threads=threads,
    )
    shots: int | None = None
    if mode == "sample":
        circuit = measured(case.circuit)
        shots = SHOTS
    elif mode == "expect":
        circuit = case.circuit.copy()
        circuit.append(
            SaveExpectationValue(qiskit_observable(case.num_qubits), label="expval"),
            circuit.qubits,
        )
    else:
        circuit = case.circuit.copy()
        circuit.append(SaveStatevector(case.num_qubits), circuit.qubits)

    def run() -> Any:
        result = simulator.run(circuit, shots=shots).result()
        if not result.success:
            raise RuntimeError(f"aer failed: {result.status}")
        return result

    def to_array(result: Any) -> np.ndarray:
        if mode == "expect":
            return np.asarray([result.data(0)["expval"]])
        return np.asarray(result.get_statevector(0))

    return run, to_array


def prepare_qulacs(case: Any, precision: str, threads: int, mode: str) -> Runner:
    """qulacs circuit built from the gate list; threads come from OMP_NUM_THREADS."""
    if precision != "complex128":
        raise ValueError("qulacs (CPU build) is complex128 only")
    from qulacs import Observable, QuantumState

    from _circuits import to_qulacs

    circuit = to_qulacs(case.ops, case.num_qubits)
    n = case.num_qubits
    observable = Observable(n)
    for label, qubits in observable_terms(n):
        term = " ".join(f"{p} {q}" for p, q in zip(label, qubits, strict=True))
        observable.add_operator(1.0, term)

    def run() -> Any:
        state = QuantumState(n)
        circuit.update_quantum_state(state)
        if mode == "sample":
            return state.sampling(SHOTS)
        if mode == "expect":
            return np.asarray([observable.get_expectation_value(state)])
        return state

    def to_array(state: Any) -> np.ndarray:
        if mode == "expect":
            return np.asarray(state)
        return np.asarray(state.get_vector())

    return run, to_array


def prepare_qsim(case: Any, precision: str, threads: int, mode: str) -> Runner:
    """qsim through qsimcirq with ``t=threads``, default fusion."""
    if precision != "complex64":
        raise ValueError("qsim is complex64 only")
    import cirq
    import qsimcirq

    from _circuits import to_cirq

    circuit, qubits = to_cirq(case.ops, case.num_qubits)
    # The user's path translates the circuit on every call; ``reuse`` memoises it.
    simulator = qsimcirq.QSimSimulator(
        qsim_options={"t": threads}, circuit_memoization_size=1 if mode == "reuse" else 0
    )
    n = case.num_qubits
    if mode == "sample":
        with_measure = circuit + cirq.Circuit(cirq.measure(*qubits, key="m"))
        return (lambda: simulator.run(with_measure, repetitions=SHOTS)), np.asarray
    if mode == "expect":
        at = {q: qubits[n - 1 - q] for q in range(n)}
        paulis = {"X": cirq.X, "Z": cirq.Z}
        observable = sum(
            (
                cirq.PauliString({at[q]: paulis[p] for p, q in zip(label, where, strict=True)})
                for label, where in observable_terms(n)
            ),
            cirq.PauliSum(),
        )

        def expect() -> Any:
            return np.asarray(
                simulator.simulate_expectation_values(circuit, [observable], qubit_order=qubits)
            )

        return expect, np.asarray

    def run() -> Any:
        _, state, _ = simulator.simulate_into_1d_array(circuit, qubit_order=qubits)
        return state

    return run, np.asarray


PREPARE: dict[str, Callable[[Any, str, int, str], Runner]] = {
    "openqpu": prepare_openqpu,
    "aer": prepare_aer,
    "qulacs": prepare_qulacs,
    "qsim": prepare_qsim,
}


def prepare_membw(n: int, precision: str, threads: int) -> tuple[Callable[[], None], str]:
    """One in-place read+write pass over a 2^n array; returns the pass and how it is done."""
    data = np.ones(2**n, dtype=DTYPES[precision])
    factor = data.real.dtype.type(1.0000001)
    try:
        import numba
    except ImportError:

        def numpy_pass() -> None:
            data.__imul__(factor)

        return numpy_pass, "numpy a *= f, threads=1"

    numba.set_num_threads(threads)

    @numba.njit(parallel=True, cache=False)
    def scale(a: np.ndarray, f: Any) -> None:
        for i in numba.prange(a.size):
            a[i] *= f

    def numba_pass() -> None:
        scale(data, factor)

    return numba_pass, f"numba prange a[i] *= f, threads={threads}"


def worker(spec: list[str], reps: int) -> int:
    """Measure one engine on one configuration and print the result as one JSON line."""
    engine, circuit_name, n_text, precision, threads_text, mode = spec
    n, threads = int(n_text), int(threads_text)
    record: dict[str, Any] = {"engine": engine}
    try:
        if engine == MEMBW:
            run, record["method"] = prepare_membw(n, precision, threads)
        else:
            from _circuits import build

            case = build(circuit_name, n)
            record["fingerprint"] = case.fingerprint
            run, _ = PREPARE[engine](case, precision, threads, mode)
        result = run()  # warm-up: JIT compilation and kernel loading are one-time costs
        del result
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - start)
            del result
        record["times"] = times
    except Exception as error:
        traceback.print_exc()
        record["error"] = f"{type(error).__name__}: {error}"
    print(json.dumps(record), flush=True)
    return 0 if "times" in record else 1


# --------------------------------------------------------------------------------------------
# Driver side.
# --------------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One engine's figures for one configuration."""

    status: str  # "ok", "error", "n/a" (package missing), "-" (not applicable), "skip"
    times: list[float] = field(default_factory=list)
    message: str = ""

    @property
    def median(self) -> float | None:
        """Median of the timed executions, or None without a measurement."""
        return statistics.median(self.times) if self.status == "ok" and self.times else None


@dataclass
class Row:
    """All engines on one (mode, circuit, n, precision, threads) configuration."""

    mode: str
    circuit: str
    n: int
    precision: str
    threads: int
    gates: int
    fingerprint: str
    cells: dict[str, Cell]
    membw: Cell

    def ratio(self) -> float | None:
        """openqpu median over the fastest peer median of the same precision."""
        mine = self.cells["openqpu"].median
        peers = [self.cells[p].median for p in PEERS[self.precision] if p in self.cells]
        best = min((t for t in peers if t is not None), default=None)
        return mine / best if mine is not None and best is not None else None

    def passes(self) -> float | None:
        """openqpu median over one memory pass of the state."""
        mine, one_pass = self.cells["openqpu"].median, self.membw.median
        return mine / one_pass if mine is not None and one_pass is not None else None


def int_list(text: str) -> list[int]:
    """Parse a comma-separated list of integers."""
    return [int(item) for item in text.split(",") if item.strip()]


def name_list(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    """argparse type: a comma-separated subset of ``allowed``."""

    def parse(text: str) -> list[str]:
        names = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [name for name in names if name not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {list(allowed)}")
        return names

    return parse


def physical_memory() -> int:
    """Physical RAM in bytes."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def missing_requirement(engine: str) -> str | None:
    """Why ``engine`` cannot run here, or None if its packages import."""
    for module in REQUIRES[engine]:
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = False
        if not found:
            return f"package {module!r} not installed"
    return None


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables pinning every thread pool the engines use to ``threads``."""
    names = (
        "OPENQPU_NUM_THREADS",
        "OMP_NUM_THREADS",
        "NUMBA_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
    )
    return {name: str(threads) for name in names}


def run_worker(
    engine: str,
    circuit: str,
    n: int,
    precision: str,
    threads: int,
    reps: int,
    timeout: float,
    mode: str = "user",
) -> dict[str, Any]:
    """Run one measurement in a fresh subprocess and return its JSON record."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        engine,
        circuit,
        str(n),
        precision,
        str(threads),
        mode,
        "--reps",
        str(reps),
    ]
    env = os.environ | thread_env(threads)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    last = done.stderr.strip().splitlines()[-1:] or ["no output"]
    return {"error": f"worker exited with code {done.returncode}: {last[0]}"}


def to_cell(record: dict[str, Any], expected_fingerprint: str | None) -> Cell:
    """Turn a worker record into a table cell, checking the gate-list fingerprint."""
    if "error" in record:
        return Cell("error", message=str(record["error"]))
    if expected_fingerprint is not None and record.get("fingerprint") != expected_fingerprint:
        return Cell("error", message="gate list differs from the driver's")
    return Cell("ok", times=[float(t) for t in record["times"]])


def format_seconds(seconds: float) -> str:
    """Seconds with about four significant digits."""
    if seconds < 1:
        return f"{seconds:.5f}"
    if seconds < 100:
        return f"{seconds:.3f}"
    return f"{seconds:.1f}"


class Table:
    """Prints rows as they complete, and collects error notes for the footer."""

    HEAD = ("mode", "circuit", "n", "prec", "thr", "gates", *ENGINES, "ratio", "passes")
    WIDTHS = (6, 7, 3, 5, 4, 6, *(CELL,) * len(ENGINES), 7, 8)

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.numbers: dict[str, int] = {}
        self.bandwidth: list[str] = []

    def line(self, values: tuple[str, ...]) -> str:
        """Format one table line."""
        return " ".join(v.rjust(w) for v, w in zip(values, self.WIDTHS, strict=True))

    def header(self) -> None:
        """Print the column titles."""
        print(self.line(self.HEAD))
        print(self.line(tuple("-" * w for w in self.WIDTHS)))

    def cell_text(self, cell: Cell, where: str) -> str:
        """Text of one engine cell; errors get a numbered note in the footer."""
        if cell.status == "ok":
            return format_seconds(statistics.median(cell.times))
        if cell.status == "error":
            return f"error: #{self.note(where, cell.message)}"
        return cell.status

    def note(self, where: str, message: str) -> int:
        """Number of the footer note for ``message``; repeated messages share one note."""
        engine = where.split()[0]
        key = f"{engine}: {message}"
        if key not in self.numbers:
            self.numbers[key] = len(self.numbers) + 1
            self.notes.append(f"#{self.numbers[key]} {where} (first seen): {message}")
        return self.numbers[key]

    def row(self, row: Row) -> None:
        """Print one configuration."""
        where = (
            f"{row.mode} {row.circuit} n={row.n} {SHORT_PRECISION[row.precision]} t={row.threads}"
        )
        cells = tuple(self.cell_text(row.cells[e], f"{e} {where}") for e in ENGINES)
        if row.membw.status == "error":
            self.note(f"membw {where}", row.membw.message)
        ratio, passes = row.ratio(), row.passes()
        print(
            self.line(
                (
                    row.mode,
                    row.circuit,
                    str(row.n),
                    SHORT_PRECISION[row.precision],
                    str(row.threads),
                    str(row.gates),
                    *cells,
                    "-" if ratio is None else f"{ratio:.2f}",
                    "-" if passes is None else f"{passes:.1f}",
                )
            ),
            flush=True,
        )


def versions() -> str:
    """Installed versions of the benchmarked packages."""
    found = []
    for name in DISTRIBUTIONS:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} -")
    return ", ".join(found)


def print_header(args: argparse.Namespace, unavailable: dict[str, str]) -> None:
    """Describe the machine, the packages and the method before the table."""
    print(
        "Statevector benchmark: seconds per call, median of "
        f"{args.reps} timed call(s) after 1 untimed warm-up call in a fresh process per engine"
    )
    print("(the warm-up excludes one-time costs of a process: JIT compilation, kernel loading).")
    print(
        "modes: user = the circuit itself every call (each engine's translation, planning and"
        " fusion timed); reuse = openqpu's program lowered once, qsim's translation memoised;"
        f" sample = user's path + {SHOTS} shots; expect = user's path + <sum ZZ + sum X>."
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{physical_memory() / 2**30:.1f} GiB RAM; python {platform.python_version()}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        " (other load on the machine skews the timings)"
    )
    print(f"packages: {versions()}")
    print(
        "ratio = openqpu / fastest peer of the same precision and mode (c128: aer, qulacs; "
        "c64: aer, qsim); passes = openqpu / one memory pass over the state."
    )
    print("'-' = engine does not support that precision.")
    for engine, reason in unavailable.items():
        print(f"{engine}: n/a ({reason})")
    print()


def measure_membw(
    n: int,
    precision: str,
    threads: int,
    args: argparse.Namespace,
    cache: dict[str, Cell],
    table: Table,
) -> Cell:
    """One-pass time over a 2^n state, measured once per (n, precision, threads)."""
    key = f"{n}/{precision}/{threads}"
    if key not in cache:
        record = run_worker(MEMBW, "-", n, precision, threads, max(args.reps, 3), args.timeout)
        cell = to_cell(record, None)
        cell.message = cell.message or str(record.get("method", ""))
        cache[key] = cell
        if cell.median is not None:
            nbytes = 2 * np.dtype(DTYPES[precision]).itemsize * 2**n
            table.bandwidth.append(
                f"n={n} {SHORT_PRECISION[precision]} t={threads}: {cell.median * 1e3:.3f} ms"
                f" = {nbytes / cell.median / 1e9:.1f} GB/s ({cell.message})"
            )
    return cache[key]


def benchmark(args: argparse.Namespace) -> int:
    """Run the whole benchmark and print (and optionally save) the table."""
    from _circuits import build

    unavailable = {
        engine: reason
        for engine in args.engines
        if (reason := missing_requirement(engine)) is not None
    }
    print_header(args, unavailable)
    table = Table()
    table.header()
    rows: list[Row] = []
    bandwidth: dict[str, Cell] = {}
    limit = MEMORY_FRACTION * physical_memory()
    turn = 0
    cases = {}
    for mode, n, circuit in (
        (mode, n, circuit) for mode in args.modes for n in args.qubits for circuit in args.circuits
    ):
        if (circuit, n) not in cases:
            cases[circuit, n] = build(circuit, n)
        case = cases[circuit, n]
        for precision in args.precisions:
            for threads in args.threads:
                state_bytes = np.dtype(DTYPES[precision]).itemsize * 2**n
                if state_bytes > limit:
                    skipped = (
                        f"skipped n={n} {precision}: state {state_bytes / 2**30:.1f} GiB"
                        f" > {MEMORY_FRACTION:.0%} of RAM"
                    )
                    if skipped not in table.notes:
                        table.notes.append(skipped)
                    continue
                membw = measure_membw(n, precision, threads, args, bandwidth, table)
                cells: dict[str, Cell] = {}
                order = ENGINES[turn % len(ENGINES) :] + ENGINES[: turn % len(ENGINES)]
                turn += 1
                for engine in order:
                    if engine not in args.engines:
                        cells[engine] = Cell("-", message="not selected")
                    elif precision not in SUPPORTED[engine]:
                        cells[engine] = Cell("-", message="precision not supported")
                    elif engine in unavailable:
                        cells[engine] = Cell("n/a", message=unavailable[engine])
                    else:
                        record = run_worker(
                            engine,
                            circuit,
                            n,
                            precision,
                            threads,
                            args.reps,
                            args.timeout,
                            mode,
                        )
                        cells[engine] = to_cell(record, case.fingerprint)
                row = Row(
                    mode,
                    circuit,
                    n,
                    precision,
                    threads,
                    len(case.ops),
                    case.fingerprint,
                    cells,
                    membw,
                )
                rows.append(row)
                table.row(row)
    if table.bandwidth:
        print("\nmemory bandwidth, one in-place read+write pass over the state:")
        print("\n".join(f"  {line}" for line in table.bandwidth))
    if table.notes:
        print()
        print("\n".join(table.notes))
    if args.json:
        save_json(args, rows, unavailable)
    return 0


def save_json(args: argparse.Namespace, rows: list[Row], unavailable: dict[str, str]) -> None:
    """Write the raw figures (every timed run) to ``args.json``."""
    payload = {
        "machine": {
            "cpus": os.cpu_count(),
            "ram_bytes": physical_memory(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg(),
        },
        "packages": versions(),
        "settings": {
            "reps": args.reps,
            "warmup_runs": 1,
            "qubits": args.qubits,
            "threads": args.threads,
            "precisions": args.precisions,
            "circuits": args.circuits,
            "modes": args.modes,
            "engines": args.engines,
        },
        "unavailable": unavailable,
        "rows": [
            asdict(row)
            | {
                "ratio": row.ratio(),
                "passes": row.passes(),
                "medians": {e: c.median for e, c in row.cells.items()},
                "membw_median": row.membw.median,
            }
            for row in rows
        ],
    }
    Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nraw figures written to {args.json}")


def check(args: argparse.Namespace, n: int = 6) -> int:
    """Compare every engine with qiskit's reference on small circuits: the final state in
    modes ``user`` and ``reuse``, the observable's value in ``expect``, the counts' support
    in ``sample``."""
    from qiskit.quantum_info import Statevector

    from _circuits import build

    failures = 0
    for circuit in args.circuits:
        case = build(circuit, n)
        reference = Statevector(case.circuit)
        expected = float(np.real(reference.expectation_value(qiskit_observable(n))))
        for mode in args.modes:
            for precision in args.precisions:
                for engine in args.engines:
                    if precision not in SUPPORTED[engine]:
                        continue
                    where = f"{circuit:5} {mode:6} {precision:10} {engine:8}"
                    if (reason := missing_requirement(engine)) is not None:
                        print(f"{where} n/a ({reason})")
                        continue
                    tolerance = 1e-5 if precision == "complex64" else 1e-10
                    try:
                        run, to_array = PREPARE[engine](case, precision, 1, mode)
                        result = run()
                        if mode == "sample":
                            good, verdict = True, "ran"
                        elif mode == "expect":
                            value = float(np.real(to_array(result)[0]))
                            good = abs(value - expected) < 1e3 * tolerance
                            verdict = f"<O> {value:.9f} vs {expected:.9f}"
                        else:
                            state = to_array(result).astype(np.complex128)
                            fidelity = abs(np.vdot(reference.data, state)) ** 2
                            good = fidelity > 1 - tolerance
                            verdict = f"fidelity {fidelity:.12f}"
                        verdict += " ok" if good else " WRONG"
                    except Exception as error:
                        good, verdict = False, f"error: {type(error).__name__}: {error}"
                    failures += not good
                    print(f"{where} {verdict}")
    return 1 if failures else 0


def random_circuit(n: int, gates: int, seed: int = 7) -> Any:
    """A random mix of one- and two-qubit gates (h, x, sx, s, t, rz, ry, cx, cz, swap, cp,
    rzz) on random qubits: the ``--preparation`` check's 1,000-gate circuit."""
    from qiskit import QuantumCircuit

    rng = np.random.default_rng(seed)
    circuit = QuantumCircuit(n)
    names = ("h", "x", "sx", "s", "t", "rz", "ry", "cx", "cz", "swap", "cp", "rzz")
    for _ in range(gates):
        name = names[int(rng.integers(len(names)))]
        a, b = (int(q) for q in rng.choice(n, 2, replace=False))
        angle = float(rng.uniform(0, 2 * np.pi))
        if name in ("h", "x", "sx", "s", "t"):
            getattr(circuit, name)(a)
        elif name in ("rz", "ry"):
            getattr(circuit, name)(angle, a)
        elif name in ("cx", "cz", "swap"):
            getattr(circuit, name)(a, b)
        else:
            getattr(circuit, name)(angle, a, b)
    return circuit


def preparation(args: argparse.Namespace) -> int:
    """openqpu's work before the kernels on the user's path, against the kernels' time.

    In this process: lowering (``Program(circuit)``) and planning + binding
    (``program.bind``), as CPU seconds of the calling thread (they are single-threaded
    Python, so the figure holds on a busy machine), and the kernels
    (``run_unitary`` on the bound program) in wall and CPU seconds; minimum of the reps.
    """
    from _circuits import build
    from openqpu.sim.executor import run_unitary
    from openqpu.sim.program import Program

    reps = max(args.reps, 5)
    dtype = np.dtype(DTYPES[args.precisions[0]])
    cases = [
        ("ghz", 20, build("ghz", 20).circuit),
        ("qft", 16, build("qft", 16).circuit),
        ("qft", 20, build("qft", 20).circuit),
        ("random", 16, random_circuit(16, 1000)),
    ]
    print(
        f"openqpu before the kernels, {dtype.name}, threads from OPENQPU_NUM_THREADS; "
        f"min of {reps}; ms"
    )
    head = ("circuit", "n", "gates", "lower", "plan+bind", "kernels", "kernels cpu", "prep/kern")
    print(" ".join(f"{h:>11}" for h in head))
    for name, n, circuit in cases:
        Program(circuit).bind(None, dtype)  # first use: imports, JIT
        lower = bind = kernel = kernel_cpu = float("inf")
        for _ in range(reps):
            start = time.thread_time()
            program = Program(circuit)
            lowered = time.thread_time()
            steps, _ = program.bind(None, dtype)
            bound = time.thread_time()
            lower, bind = min(lower, lowered - start), min(bind, bound - lowered)
            wall, cpu = time.perf_counter(), time.process_time()
            run_unitary(steps, n, dtype)
            kernel = min(kernel, time.perf_counter() - wall)
            kernel_cpu = min(kernel_cpu, time.process_time() - cpu)
        figures = (lower, bind, kernel, kernel_cpu)
        print(
            f"{name:>11} {n:>11} {len(circuit.data):>11} "
            + " ".join(f"{1e3 * f:>11.3f}" for f in figures)
            + f" {(lower + bind) / kernel:>11.3f}",
            flush=True,
        )
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Benchmark openqpu.sim.statevector against qiskit-aer, qulacs and qsim.",
    )
    parser.add_argument(
        "--qubits",
        type=int_list,
        default=[16, 20, 24, 26, 28],
        help="comma-separated qubit counts (default 16,20,24,26,28)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="only n = 16 and 20, one timed call (a smoke run)"
    )
    parser.add_argument(
        "--modes",
        type=name_list(MODES),
        default=list(MODES),
        help="comma-separated subset of user,reuse,sample,expect (default all, in that order)",
    )
    parser.add_argument(
        "--threads",
        type=int_list,
        default=[1, 2],
        help="comma-separated thread counts (default 1,2)",
    )
    parser.add_argument(
        "--precisions",
        type=name_list(PRECISIONS),
        default=list(PRECISIONS),
        help="complex128, complex64 or both (default both)",
    )
    parser.add_argument(
        "--circuits",
        type=name_list(("qft", "qv", "ghz", "su2")),
        default=["qft", "qv", "ghz", "su2"],
        help="comma-separated subset of qft,qv,ghz,su2 (default all)",
    )
    parser.add_argument(
        "--engines",
        type=name_list(ENGINES),
        default=list(ENGINES),
        help="comma-separated subset of openqpu,aer,qulacs,qsim (default all)",
    )
    parser.add_argument("--reps", type=int, default=3, help="timed runs per engine (median)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds allowed to one engine's subprocess (default 3600)",
    )
    parser.add_argument("--json", metavar="FILE", help="also save the raw figures as JSON")
    parser.add_argument(
        "--check",
        action="store_true",
        help="check every engine's final state against qiskit at n=6 and exit",
    )
    parser.add_argument(
        "--preparation",
        action="store_true",
        help="openqpu's lowering and planning + binding against its kernel time (GHZ-20, "
        "QFT-16, QFT-20, a 1,000-gate random circuit at n=16) and exit",
    )
    parser.add_argument(
        "--worker",
        nargs=6,
        metavar=("ENGINE", "CIRCUIT", "N", "PRECISION", "THREADS", "MODE"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.qubits = [16, 20]
        args.reps = 1
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: worker mode, check mode or the benchmark."""
    args = parse_args(argv)
    if args.worker:
        return worker(args.worker, args.reps)
    if args.check:
        return check(args)
    if args.preparation:
        return preparation(args)
    return benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
