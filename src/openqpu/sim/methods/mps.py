"""The MPS method: noisy Monte-Carlo trajectories on a matrix product state.

Each shot is one trajectory (by default) of a pure state kept as an MPS in
mixed-canonical form; noise is sampled exactly as the engine's statevector
trajectories sample it. Circuits of any width run as long as their entanglement
stays low; bonds above ``max_bond`` are truncated and the lost weight reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
from qiskit import QuantumCircuit

from openqpu.errors import UnsupportedInstruction
from openqpu.sim.methods.base import MPS, Cost, MethodRun, MethodUnsupported
from openqpu.sim.methods.mps_order import structural_work
from openqpu.sim.methods.mps_program import MpsProgram, build_program, lowered_for_mps
from openqpu.sim.noise import NoiseModel
from openqpu.sim.rng import make_rng
from openqpu.sim.threads import configured_threads

# Cost model (2 cores; the constants measured on lattice72's benchmark circuits):
#   seconds = START + trajectories / threads * (
#       WORK * work + PER_OP * operations + PER_SAMPLE * sampling work)
# where work is the two-site steps' complex multiply-adds (the kernels count them) and
# sampling work = shots_per_trajectory * sum over sites of chi_left * chi_right.
# ``mps_order.structural_work`` bounds the work before anything runs; the bound ignores
# cancellations (a routed QFT of a basis state stays nearly a product state; it
# overestimates QFT-24 about 100 times), so a bound above PROBE_ABOVE_S is replaced by
# the work of PROBE_TRAJECTORIES seeded trajectories at the run's own bond (counted by
# the kernels, not timed: the estimate does not depend on the machine's load), each
# stopped when its work passes a share of PROBE_LIMIT_S and then extrapolated from the
# fraction of the operations it ran; PROBE_SAFETY covers trajectories the probe did not
# draw.
_START_S = 0.05
_WORK_S = 1.6e-9
_PER_OP_S = 6e-7
_PER_SAMPLE_S = 2e-8
_PROBE_ABOVE_S = 2.0
_PROBE_LIMIT_S = 4.0
_PROBE_TRAJECTORIES = 4
_PROBE_SAFETY = 1.5
# The least a two-site step costs, all included, at bond 1-4 (GHZ-70: 6 us a step).
_FLOOR_STEP_S = 2e-6


def floor_seconds(circuit: QuantumCircuit, shots: int) -> float:
    """A lower bound of the run's time from the circuit's size alone, without building
    its program: every two-qubit gate is at least one two-site step of at least
    ``_FLOOR_STEP_S`` (at bond 1), one trajectory per shot."""
    threads = max(1, min(configured_threads(), shots))
    steps = circuit.num_nonlocal_gates()
    return _START_S + math.ceil(shots / threads) * _FLOOR_STEP_S * steps


def why_not(circuit: QuantumCircuit, noise: NoiseModel | None) -> str | None:
    """Why the MPS method cannot run ``circuit`` with ``noise``, or None when it can.

    >>> from qiskit import QuantumCircuit
    >>> qc = QuantumCircuit(3); _ = qc.ccx(0, 1, 2)
    >>> why_not(qc, None) is None
    True
    """
    try:
        lowered_for_mps(circuit, noise)
    except UnsupportedInstruction as error:
        return str(error)
    return None


def cost(
    circuit: QuantumCircuit,
    noise: NoiseModel | None,
    shots: int,
    *,
    max_bond: int = 256,
    truncation_threshold: float = 1e-10,
    shots_per_trajectory: int = 1,
) -> Cost:
    """Estimate the run's time and memory from the circuit's structure, before running.

    The bond at each cut is bounded by 2^(log2 Schmidt ranks of the gates crossing it,
    swaps included), by 2^min(sites left, sites right) and by ``max_bond``; the work
    sums the contraction and decomposition of every two-site step under that bound
    (an upper bound: circuits that entangle less than their structure allows, such
    as a QFT of a basis state, run much faster). When that bound predicts more than a
    couple of seconds, a few seeded trajectories are run (a few seconds in all) and
    their work, extrapolated where the probe stopped them, replaces it.

    Raises:
        MethodUnsupported: the method cannot run the circuit.
    """
    program = _program(circuit, noise, max_bond)
    work, _, log_chi = structural_work(
        program.num_sites, program.gates, max_bond, swap_back=program.swap_back
    )
    chi = 2.0**log_chi
    chi_max = int(chi.max())
    trajectories = math.ceil(shots / shots_per_trajectory)
    threads = max(1, min(configured_threads(), trajectories))

    def seconds_for(work: float, chi: np.ndarray) -> float:
        sample_work = shots_per_trajectory * float(np.sum(chi[:-1] * chi[1:]))
        per = _WORK_S * work + _PER_OP_S * len(program.ops_int) + _PER_SAMPLE_S * sample_work
        return _START_S + math.ceil(trajectories / threads) * per

    seconds = seconds_for(work, chi)
    if seconds > _PROBE_ABOVE_S:
        probe = _probe(program, max_bond, truncation_threshold)
        probed_chi = np.full(program.num_sites + 1, float(probe.bond))
        seconds = min(seconds, seconds_for(_PROBE_SAFETY * probe.work, probed_chi))
        if probe.complete:
            chi_max = probe.bond
    memory = program.num_sites * chi_max**2 * 4 * 16 * threads
    return Cost(seconds=float(seconds), memory_bytes=int(memory), exact=chi_max < max_bond)


class _Probe(NamedTuple):
    """What a few seeded trajectories showed: mean work per trajectory (extrapolated
    where stopped), the largest bond seen, and whether every trajectory ran to the end."""

    work: float
    bond: int
    complete: bool


def _probe(program: MpsProgram, max_bond: int, threshold: float) -> _Probe:
    """Run ``_PROBE_TRAJECTORIES`` seeded trajectories, each stopped once its work
    passes its share of ``_PROBE_LIMIT_S``."""

    def trajectories(count: int, work_limit: float) -> np.ndarray:
        seeds = np.arange(count, dtype=np.int64)
        with _threads(1):
            return _trajectories(program, seeds, 1, max_bond, threshold, work_limit)[1]

    trajectories(1, 0.0)  # loads the kernels, stopping at once
    stats = trajectories(_PROBE_TRAJECTORIES, _PROBE_LIMIT_S / _PROBE_TRAJECTORIES / _WORK_S)
    fraction = np.maximum(stats[:, 4], 1e-3)
    return _Probe(
        work=float(np.mean(stats[:, 3] / fraction)),
        bond=int(stats[:, 2].max()),
        complete=bool(np.all(stats[:, 4] >= 1.0)),
    )


def run(
    circuit: QuantumCircuit,
    noise: NoiseModel | None,
    shots: int,
    *,
    seed: int | np.random.Generator | None = None,
    max_bond: int = 256,
    truncation_threshold: float = 1e-10,
    shots_per_trajectory: int = 1,
) -> MethodRun:
    """Run ``shots`` shots as noisy MPS trajectories.

    Args:
        circuit: a circuit with bound parameters (typically a chip's transpiled circuit).
        noise: the engine's noise model, or None.
        shots: number of shots, at least 1.
        seed: seed or generator; the same seed gives the same counts.
        max_bond: largest bond dimension kept; larger bonds are truncated.
        truncation_threshold: singular values whose squares add up to at most this
            fraction of the norm are dropped at every two-site step.
        shots_per_trajectory: terminal samples taken from each trajectory (1 is exact;
            more shares noise draws and mid-circuit outcomes between shots).

    Returns:
        Counts as ``openqpu.sim.sample`` gives them, with figures
        ``max_bond_dimension`` (largest over all trajectories),
        ``truncation_fidelity`` (product over a trajectory's steps of 1 - discarded
        weight, the minimum over trajectories), ``mean_truncation_fidelity``,
        ``trajectories``, ``site_order`` (the qubit on each MPS site) and ``swap_back``
        (whether distant qubits went back to their sites after each gate).

    Raises:
        MethodUnsupported: the method cannot run the circuit.
        ValueError: ``shots``, ``max_bond`` or ``shots_per_trajectory`` is not positive.
    """
    for name, value in (
        ("shots", shots),
        ("max_bond", max_bond),
        ("shots_per_trajectory", shots_per_trajectory),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")
    program = _program(circuit, noise, max_bond)
    rng = make_rng(seed)
    trajectories = math.ceil(shots / shots_per_trajectory)
    seeds = rng.integers(0, 2**31 - 1, size=trajectories, dtype=np.int64)
    with _threads(trajectories):
        bits, stats = _trajectories(
            program, seeds, shots_per_trajectory, max_bond, truncation_threshold
        )
    return MethodRun(
        counts=_counts(bits[:shots]),
        method=MPS,
        approximations=_approximations(stats, max_bond, truncation_threshold, shots_per_trajectory),
        figures={
            "max_bond_dimension": int(stats[:, 2].max()),
            "truncation_fidelity": float(stats[:, 0].min()),
            "mean_truncation_fidelity": float(stats[:, 0].mean()),
            "trajectories": trajectories,
            "site_order": list(program.order),
            "swap_back": program.swap_back,
        },
    )


def _trajectories(
    program: MpsProgram,
    seeds: np.ndarray,
    shots_per_trajectory: int,
    max_bond: int,
    threshold: float,
    work_limit: float = math.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """One trajectory of ``program`` per seed (in the caller's thread setting): the
    recorded bits (a row per shot) and the figures (a row per trajectory, see
    ``mps_trajectories.STATS``)."""
    from openqpu.sim.methods.mps_trajectories import STATS, run_many

    count = seeds.shape[0]
    bits = np.zeros((count * shots_per_trajectory, program.num_clbits), dtype=np.uint8)
    stats = np.zeros((count, STATS))
    run_many(
        program.num_sites, program.ops_int, program.ops_real, program.mats1, program.mats2,
        program.conds, program.terminal, program.terminal_real, program.num_clbits, seeds,
        shots_per_trajectory, int(max_bond), float(threshold), bits, stats, float(work_limit),
    )  # fmt: skip
    return bits, stats


def _program(circuit: QuantumCircuit, noise: NoiseModel | None, max_bond: int) -> MpsProgram:
    try:
        return build_program(circuit, noise, max_bond)
    except UnsupportedInstruction as error:
        raise MethodUnsupported(MPS, str(error)) from error


def _counts(bits: np.ndarray) -> dict[str, int]:
    if bits.shape[1] == 0:
        return {"": bits.shape[0]}
    rows, counts = np.unique(bits[:, ::-1], axis=0, return_counts=True)
    return {"".join("01"[b] for b in row): int(c) for row, c in zip(rows, counts, strict=True)}


def _approximations(
    stats: np.ndarray, max_bond: int, threshold: float, shots_per_trajectory: int
) -> tuple[str, ...]:
    notes = []
    capped = int(stats[:, 1].sum())
    fidelity = float(stats[:, 0].min())
    if capped:
        notes.append(
            f"bond dimension capped at {max_bond}: {capped} truncations, estimated fidelity "
            f"{fidelity:.3g} (lowest over trajectories)"
        )
    elif fidelity < 1 - 1e-6:
        notes.append(
            f"singular values below the threshold {threshold:g} were dropped: estimated "
            f"fidelity {fidelity:.6g} (lowest over trajectories)"
        )
    if shots_per_trajectory > 1:
        notes.append(
            f"{shots_per_trajectory} shots share each trajectory's noise draws and "
            "mid-circuit outcomes, so the shots of a trajectory are correlated"
        )
    return tuple(notes)


@contextmanager
def _threads(trajectories: int) -> Iterator[None]:
    """Numba threads over trajectories, BLAS inside them single-threaded."""
    import numba
    import scipy.linalg.cython_lapack  # noqa: F401  (numba's LAPACK: loaded, so limited below)
    from threadpoolctl import threadpool_limits

    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(configured_threads(), trajectories)))
    try:
        with threadpool_limits(1):
            yield
    finally:
        numba.set_num_threads(previous)
