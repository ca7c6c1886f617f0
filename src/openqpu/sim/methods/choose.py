"""The choice of a method for a noisy circuit: the cheapest that can run it exactly or
within stated bounds, known before the circuit runs.

Every method reports, for a circuit with bound parameters, why it cannot run it (or
None) and its estimated cost. ``choose`` keeps the feasible ones whose memory fits and
picks the cheapest, where an approximate method (stabilizer when it twirls some
relaxation; mps, which may truncate) must beat the exact ones (density matrix,
statevector trajectories) by ``APPROXIMATION_PENALTY`` to be chosen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from qiskit import QuantumCircuit

from openqpu.sim.memory import memory_limit_bytes
from openqpu.sim.methods import density, mps, stabilizer, trajectories
from openqpu.sim.methods.base import (
    DENSITY_MATRIX,
    METHODS,
    MPS,
    STABILIZER,
    STATEVECTOR,
    Cost,
    MethodRun,
    MethodUnsupported,
)
from openqpu.sim.noise import NoiseModel
from openqpu.sim.program import Program

AUTO = "auto"
# An approximate method is chosen over an exact one only when it is this much cheaper.
APPROXIMATION_PENALTY = 10.0
_APPROXIMATE = frozenset({MPS})
# An exact method estimated at most this long is taken without estimating MPS (whose
# estimate builds its program and may time trajectories: seconds); nor is MPS estimated
# when a known method scores below its floor (``mps.floor_seconds``).
QUICK_SECONDS = 5.0


@dataclass(frozen=True)
class MethodSettings:
    """Settings of the methods (the service fills them from ``OPENQPU_*``).

    Attributes:
        density_max_qubits: widest circuit the density-matrix method takes.
        mps_max_bond: bond-dimension cap of the MPS method.
        mps_truncation_threshold: singular values below this (relative) are dropped.
    """

    density_max_qubits: int = 12
    mps_max_bond: int = 256
    mps_truncation_threshold: float = 1e-10


@dataclass(frozen=True)
class Choice:
    """The method chosen for a circuit, its estimated cost, and why the others were not.

    Attributes:
        method: one of ``METHODS``.
        cost: the chosen method's estimate.
        rejected: method -> the reason it could not run the circuit.
        costs: method -> estimated cost, for every method that could.
    """

    method: str
    cost: Cost
    rejected: dict[str, str] = field(default_factory=dict)
    costs: dict[str, Cost] = field(default_factory=dict)


def why_not(
    method: str, circuit: QuantumCircuit, noise: NoiseModel | None, settings: MethodSettings
) -> str | None:
    """Why ``method`` cannot run ``circuit`` (parameters bound), or None when it can."""
    if method == DENSITY_MATRIX:
        return density.why_not(circuit, noise, max_qubits=settings.density_max_qubits)
    if method == STABILIZER:
        return stabilizer.why_not(circuit, noise)
    if method == MPS:
        return mps.why_not(circuit, noise)
    if method == STATEVECTOR:
        return trajectories.why_not(circuit, noise)
    raise ValueError(f"method: {method!r} is not one of {', '.join((AUTO, *METHODS))}")


def cost(
    method: str,
    circuit: QuantumCircuit,
    noise: NoiseModel | None,
    shots: int,
    settings: MethodSettings,
) -> Cost:
    """``method``'s estimated cost of ``shots`` shots of ``circuit``."""
    if method == DENSITY_MATRIX:
        return density.cost(circuit, noise, shots)
    if method == STABILIZER:
        return stabilizer.cost(circuit, noise, shots)
    if method == MPS:
        return mps.cost(
            circuit,
            noise,
            shots,
            max_bond=settings.mps_max_bond,
            truncation_threshold=settings.mps_truncation_threshold,
        )
    return trajectories.cost(circuit, noise, shots)


def choose(
    circuit: QuantumCircuit,
    noise: NoiseModel | None,
    shots: int,
    *,
    method: str = AUTO,
    settings: MethodSettings | None = None,
    estimate: bool = True,
) -> Choice:
    """Pick the method for ``shots`` shots of ``circuit`` (parameters bound).

    Args:
        circuit: the circuit to run (for a chip: transpiled, scheduled, compact).
        noise: its noise model.
        shots: number of shots.
        method: ``"auto"`` or one of ``METHODS`` to force it.
        settings: method settings; defaults when None.
        estimate: False with a forced ``method``: only check that it can run the
            circuit, without estimating its cost (NaN seconds), as a worker does for
            the method admission already estimated (the MPS and statevector estimates
            run trajectories for seconds).

    Returns:
        The choice, with every method's reason or cost.

    Raises:
        MethodUnsupported: a forced method cannot run the circuit, or (auto) none can.
    """
    settings = settings or MethodSettings()
    if not estimate and method != AUTO:
        reason = why_not(method, circuit, noise, settings)
        if reason is not None:
            raise MethodUnsupported(method, reason)
        return Choice(method, Cost(math.nan, 0))
    limit = memory_limit_bytes()
    # MPS last: its estimate builds its program and times a few trajectories, which is
    # not worth doing when an exact method is already known to be quick.
    candidates = (DENSITY_MATRIX, STABILIZER, STATEVECTOR, MPS) if method == AUTO else (method,)
    rejected: dict[str, str] = {}
    costs: dict[str, Cost] = {}

    stabilizer_exact: list[bool] = []  # known once asked (it lowers the circuit)

    def approximate(name: str) -> bool:
        if name == STABILIZER:
            if not stabilizer_exact:
                stabilizer_exact.append(stabilizer.is_exact(circuit, noise, shots))
            return not stabilizer_exact[0]
        if name == MPS:
            return not costs[name].exact
        return name in _APPROXIMATE

    def score(name: str) -> float:
        penalty = APPROXIMATION_PENALTY if approximate(name) else 1.0
        return costs[name].seconds * penalty

    for name in candidates:
        if name == MPS and method == AUTO and costs:
            # Not reasons it cannot run: left out of ``rejected``.
            quick = [n for n in costs if not approximate(n) and costs[n].seconds <= QUICK_SECONDS]
            if quick or min(map(score, costs)) <= mps.floor_seconds(circuit, shots):
                continue
        reason = why_not(name, circuit, noise, settings)
        if reason is None:
            estimated = cost(name, circuit, noise, shots, settings)
            if estimated.memory_bytes > limit:
                reason = (
                    f"needs about {estimated.memory_bytes:,} bytes, over the memory limit of "
                    f"{limit:,} bytes (OPENQPU_MEMORY_LIMIT)"
                )
            else:
                costs[name] = estimated
        if reason is not None:
            rejected[name] = reason
    if not costs:
        if method != AUTO:
            raise MethodUnsupported(method, rejected[method])
        reasons = "; ".join(f"{name}: {why}" for name, why in rejected.items())
        raise MethodUnsupported(AUTO, f"no method can run it ({reasons})")

    best = min(costs, key=score)
    return Choice(best, costs[best], rejected, costs)


def run_method(
    method: str,
    circuit: QuantumCircuit,
    noise: NoiseModel | None,
    shots: int,
    *,
    seed: int | np.random.Generator | None = None,
    settings: MethodSettings | None = None,
) -> MethodRun:
    """Run ``shots`` shots of ``circuit`` (parameters bound) with ``method``.

    Statevector trajectories lower the circuit here; callers that keep a lowered
    ``Program`` for many runs call ``trajectories.run`` with it instead.
    """
    settings = settings or MethodSettings()
    if method == DENSITY_MATRIX:
        return density.run(circuit, noise, shots, seed=seed)
    if method == STABILIZER:
        return stabilizer.run(circuit, noise, shots, seed=seed)
    if method == MPS:
        return mps.run(
            circuit,
            noise,
            shots,
            seed=seed,
            max_bond=settings.mps_max_bond,
            truncation_threshold=settings.mps_truncation_threshold,
        )
    if method == STATEVECTOR:
        return trajectories.run(Program(circuit, noise), shots, seed=seed)
    raise ValueError(f"method: {method!r} is not one of {', '.join(METHODS)}")
