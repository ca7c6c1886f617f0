"""Noisy sampling benchmark: openqpu's trajectories against qiskit-aer's, on the chip lattice72.

Usage (from the repository root)::

    .venv/bin/python bench/noise.py                          # GHZ and QFT on 10, 16, 20 qubits
    .venv/bin/python bench/noise.py --qubits 10 --circuits qft --shots 1000 --reps 3

Method
------
* Circuits: GHZ(n) (h, cx chain) and QFT(n) (``QFTGate``), measured on all qubits, compiled
  once for ``lattice72`` against one seeded calibration snapshot
  (``openqpu.transpile.transpile_for_device``): native ``rz``/``sx``/``x``/``cz``, routed, ALAP
  scheduled with delays, compacted to the chip qubits it touches (QFT needs a few more than
  n after routing: see the ``used`` column).
* Noise, from that snapshot: after ``sx``/``x``, depolarising with the qubit's gate error and
  thermal relaxation for the gate's duration; after ``cz``, two-qubit depolarising with the
  coupler's error and relaxation of both qubits; delays relax each idle qubit; every
  measurement has the qubit's readout error.

  - openqpu: ``noise_model_for(compiled, spec, snapshot)``, then
    ``openqpu.sim.sample(compiled.circuit, shots, seed=..., noise=model)`` (lowering included
    in the time).
  - aer: a ``qiskit_aer.noise.NoiseModel`` built here from the same snapshot, independently
    of openqpu's (``depolarizing_error(p).compose(thermal_relaxation_error(...))`` per gate
    and qubits, ``ReadoutError`` per qubit); each delay of the circuit is replaced by an
    explicit ``thermal_relaxation_error(...).to_instruction()`` for its duration. Run with
    ``AerSimulator(method="statevector", noise_model=...)``: aer's Monte-Carlo trajectories,
    its own per-run work (conversion, noise sampling, fusion) included.
* One process; both engines first run untimed with ``PROBE_SHOTS`` shots (JIT compilation,
  caches), which also estimates their time per shot. Every shot of a noisy run is its own
  trajectory in aer, and in openqpu every distinct pattern of noise events (drawn before
  simulation, ``openqpu.sim.presampled``) is, so time grows with shots: an engine whose
  estimate for ``--shots`` exceeds ``--budget`` seconds runs the shots that fit instead and
  its time is scaled linearly to ``--shots`` (marked ``*``; the shots column says how many
  each engine ran). Then each engine runs ``--reps`` times (fewer once its runs took
  ``--budget`` seconds); the best time is reported.
* ratio = openqpu / aer (best times for ``--shots`` shots, scaled where marked); PASS when
  ratio <= 1.
* Sanity check that both sample the same distribution: ``tvd`` is the total variation
  distance between the two count distributions over bitstrings (with few shots and many
  outcomes it is large for any two samples), ``tvd(w)`` the same over the Hamming weight of
  the bitstrings, with ``exp(w)`` the mean that sampling alone gives there (two samples of
  these sizes drawn from the pooled weights).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

SEED = 1
PROBE_SHOTS = 2


def build(name: str, n: int) -> Any:
    """GHZ or QFT on ``n`` qubits, measured on all of them."""
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import QFTGate

    qc = QuantumCircuit(n)
    if name == "ghz":
        qc.h(0)
        for q in range(n - 1):
            qc.cx(q, q + 1)
    else:
        qc.append(QFTGate(n), range(n))
    qc.measure_all()
    return qc


def aer_model(compiled: Any, snapshot: Any) -> tuple[Any, Callable[[int, float], Any]]:
    """Aer's noise model for the compact circuit, and the relaxation error of a delay."""
    from qiskit_aer.noise import (
        NoiseModel,
        ReadoutError,
        depolarizing_error,
        thermal_relaxation_error,
    )

    chips = compiled.physical_qubits
    compact = {chip: i for i, chip in enumerate(chips)}
    model = NoiseModel(basis_gates=["rz", "sx", "x", "cz"])

    def relax(chip: int, ns: float) -> Any:
        return thermal_relaxation_error(snapshot.t1_us[chip], snapshot.t2_us[chip], ns / 1e3)

    def depolarizing(error: float, qubits: int) -> Any:
        dim = 2**qubits
        return depolarizing_error(error * dim / (dim - 1), qubits)

    for i, chip in enumerate(chips):
        one = depolarizing(snapshot.gate_error_1q[chip], 1).compose(
            relax(chip, snapshot.gate_duration_1q_ns[chip])
        )
        model.add_quantum_error(one, ["sx", "x"], [i])
        e01, e10 = snapshot.readout_error_0to1[chip], snapshot.readout_error_1to0[chip]
        model.add_readout_error(ReadoutError([[1 - e01, e01], [e10, 1 - e10]]), [i])
    for k, (a, b) in enumerate(snapshot.couplers):
        if a not in compact or b not in compact or k not in snapshot.working_couplers():
            continue
        ns = snapshot.cz_duration_ns[k]
        for first, second in ((a, b), (b, a)):
            # An aer error's qubit 0 is the instruction's first qubit: tensor puts it right.
            thermal = relax(second, ns).tensor(relax(first, ns))
            error = depolarizing(snapshot.cz_error[k], 2).compose(thermal)
            model.add_quantum_error(error, ["cz"], [compact[first], compact[second]])

    def delay(qubit: int, ns: float) -> Any:
        return relax(chips[qubit], ns).to_instruction()

    return model, delay


def aer_circuit(circuit: Any, delay: Callable[[int, float], Any], dt_ns: float) -> Any:
    """``circuit`` with every delay replaced by its relaxation as an explicit instruction."""
    explicit = circuit.copy_empty_like()
    for item in circuit.data:
        operation = item.operation
        if operation.name != "delay":
            explicit.append(item)
            continue
        assert operation.unit == "dt", operation.unit
        ns = float(operation.duration) * dt_ns
        if ns > 0:
            explicit.append(delay(circuit.find_bit(item.qubits[0]).index, ns), item.qubits)
    return explicit


def best_time(run: Callable[[], Any], reps: int, budget: float) -> tuple[float, Any, int]:
    """Best of ``reps`` timed runs, fewer when one run exceeds ``budget`` seconds."""
    times: list[float] = []
    result = None
    while len(times) < reps:
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        if sum(times) > budget:
            break
    return min(times), result, len(times)


def time_of(run: Callable[[int], Any], shots: int) -> float:
    """Seconds of one run."""
    start = time.perf_counter()
    run(shots)
    return time.perf_counter() - start


def per_shot(run: Callable[[int], Any], budget: float) -> float:
    """Seconds per extra shot: the slope between two probes, or one probe when slow."""
    small = time_of(run, PROBE_SHOTS)
    if small > budget / 8:
        return small / PROBE_SHOTS
    large = time_of(run, 10 * PROBE_SHOTS)
    return max((large - small) / (9 * PROBE_SHOTS), 1e-6)


def tvd(a: dict[str, int], b: dict[str, int]) -> float:
    """Total variation distance between two count distributions."""
    keys = sorted(set(a) | set(b))
    pa = np.array([a.get(k, 0) for k in keys], dtype=float)
    pb = np.array([b.get(k, 0) for k in keys], dtype=float)
    return 0.5 * float(np.abs(pa / pa.sum() - pb / pb.sum()).sum())


def weight_tvd(a: dict[str, int], b: dict[str, int]) -> tuple[float, float]:
    """TVD of the Hamming-weight histograms, and its mean under sampling alone."""
    width = len(next(iter(a)))
    wa, wb = np.zeros(width + 1), np.zeros(width + 1)
    for counts, weights in ((a, wa), (b, wb)):
        for key, count in counts.items():
            weights[key.count("1")] += count
    na, nb = int(wa.sum()), int(wb.sum())
    pooled = (wa + wb) / (na + nb)
    rng = np.random.default_rng(0)
    chance = [
        0.5 * np.abs(rng.multinomial(na, pooled) / na - rng.multinomial(nb, pooled) / nb).sum()
        for _ in range(200)
    ]
    return 0.5 * float(np.abs(wa / na - wb / nb).sum()), float(np.mean(chance))


def row(name: str, n: int, args: argparse.Namespace, device: tuple[Any, Any]) -> bool:
    """Measure one circuit and print its line; return True when the ratio is <= 1."""
    from qiskit_aer import AerSimulator

    from openqpu import sim
    from openqpu.transpile import noise_model_for, transpile_for_device

    spec, snapshot = device
    compiled = transpile_for_device(build(name, n), spec, snapshot)
    noise = noise_model_for(compiled, spec, snapshot)
    model, delay = aer_model(compiled, snapshot)
    theirs = aer_circuit(compiled.circuit, delay, spec.dt_ns)
    backend = AerSimulator(method="statevector", noise_model=model)

    def ours(shots: int) -> dict[str, int]:
        return sim.sample(compiled.circuit, shots, seed=SEED, noise=noise)

    def aer(shots: int) -> dict[str, int]:
        result = backend.run(theirs, shots=shots, seed_simulator=SEED).result()
        return dict(result.get_counts())

    ours(PROBE_SHOTS)  # warm-up: JIT compilation and caches
    runs = {}
    for engine, run in (("ours", ours), ("aer", aer)):
        fits = int(args.budget / per_shot(run, args.budget))
        shots = max(PROBE_SHOTS, min(args.shots, fits))
        best, counts, reps = best_time(
            lambda run=run, shots=shots: run(shots), args.reps, args.budget
        )
        runs[engine] = (best * args.shots / shots, counts, reps, shots)
    t_ours, counts_ours, r_ours, s_ours = runs["ours"]
    t_aer, counts_aer, r_aer, s_aer = runs["aer"]
    ratio = t_ours / t_aer
    distance = tvd(counts_ours, counts_aer)
    weights, expected = weight_tvd(counts_ours, counts_aer)
    gates = sum(v for k, v in compiled.circuit.count_ops().items() if k not in ("delay", "barrier"))
    verdict = "PASS" if ratio <= 1.0 else "FAIL"
    mark = {True: "*", False: " "}
    shots_run = f"{s_ours}/{s_aer}"
    print(
        f"{name:>7} {n:>3} {compiled.num_qubits:>4} {gates:>6} {shots_run:>9} "
        f"{t_ours:>9.2f}{mark[s_ours < args.shots]} {t_aer:>9.2f}{mark[s_aer < args.shots]} "
        f"{r_ours:>2}/{r_aer:<2} {ratio:>6.2f} "
        f"{distance:>6.3f} {weights:>6.3f} {expected:>6.3f}  {verdict}",
        flush=True,
    )
    return ratio <= 1.0


def main() -> int:
    """Run the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", default="10,16,20", help="comma-separated (default 10,16,20)")
    parser.add_argument("--circuits", default="ghz,qft", help="ghz, qft or both")
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3, help="timed runs per engine (best taken)")
    parser.add_argument(
        "--budget",
        type=float,
        default=120.0,
        help="seconds per engine and row: fewer shots (time scaled) and repetitions beyond it "
        "(default 120)",
    )
    args = parser.parse_args()

    from openqpu.device import generate_snapshot, load_device_specs

    spec = load_device_specs()["lattice72"]
    snapshot = generate_snapshot(spec, seed=1, taken_at=datetime.now(UTC))
    print(
        f"Noisy sampling on lattice72, {args.shots} shots: seconds per run, best of up to "
        f"{args.reps} (reps column: openqpu/aer)"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        "ratio = openqpu / aer; tvd = distance between the engines' counts (bitstrings, Hamming"
        " weights) and exp(w) = its mean from sampling alone"
    )
    print(
        f"* = the engine ran the shots given in the shots column (openqpu/aer) and its time "
        f"is scaled linearly to {args.shots} shots"
    )
    print()
    print(
        f"{'circuit':>7} {'n':>3} {'used':>4} {'gates':>6} {'shots':>9} {'openqpu':>10} "
        f"{'aer':>10} {'reps':>5} {'ratio':>6} {'tvd':>6} {'tvd(w)':>6} {'exp(w)':>6}"
    )
    passed = True
    for n in (int(x) for x in args.qubits.split(",")):
        for name in args.circuits.split(","):
            passed &= row(name, n, args, (spec, snapshot))
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
