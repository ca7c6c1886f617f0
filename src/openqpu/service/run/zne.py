"""Zero-noise extrapolation: noise amplified by local unitary folding of a compiled
circuit's gates, and the extrapolators that take the values back to zero noise.

Folding replaces a gate ``G`` by ``G (G^dagger G)^k``: the same unitary on the same
chip qubits, so the layout stays valid, with ``2k + 1`` times the gate's noise. A
factor ``lambda`` folds ``round(N (lambda - 1) / 2)`` times over the ``N`` folded
gates (the CZs by default), so their count is ``lambda N`` to the nearest even step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import CircuitInstruction
from qiskit.circuit.library import RZGate

from openqpu.service.estimator_options import polynomial_degree

AMPLIFIERS = ("gate_folding", "gate_folding_front", "gate_folding_back", "all_gate_folding")


def folded(
    circuit: QuantumCircuit, factor: float, *, amplifier: str = "gate_folding"
) -> tuple[QuantumCircuit, float]:
    """``circuit`` with its gates folded to ``factor`` times as many (>= 1).

    ``amplifier`` (Qiskit Runtime's names, and one of openqpu's): ``gate_folding`` folds
    the ``cz`` gates, the partial folds spread evenly; ``gate_folding_front`` and
    ``gate_folding_back`` put the partial folds on the first or last CZs;
    ``all_gate_folding`` folds every noisy gate (``cz``, ``sx``, ``x``; ``sx`` is
    undone by ``rz(pi) sx rz(pi)``), so one-qubit gate noise is amplified too.
    Delays are kept as they were: schedule the result again.

    Returns:
        The folded circuit and the factor applied: the folded gates' count ratio (1
        for a circuit without them), which may differ from ``factor`` for few gates.
    """
    if factor < 1:
        raise ValueError(f"factor: {factor} is below 1")
    if amplifier not in AMPLIFIERS:
        raise ValueError(f"amplifier: {amplifier!r} is not one of {', '.join(AMPLIFIERS)}")
    names = ("cz", "sx", "x") if amplifier == "all_gate_folding" else ("cz",)
    total = sum(1 for item in circuit.data if item.operation.name in names)
    folds = round(total * (factor - 1) / 2)
    base, extra = divmod(folds, total) if total else (0, 0)
    out = circuit.copy_empty_like()
    seen = 0
    for item in circuit.data:
        out.append(item)
        if item.operation.name not in names:
            continue
        if amplifier == "gate_folding_front":
            mine = base + (seen < extra)
        elif amplifier == "gate_folding_back":
            mine = base + (seen >= total - extra)
        else:  # spread evenly from the first
            mine = base + (extra * (seen + 1)) // total - (extra * seen) // total
        seen += 1
        for _ in range(mine):
            _append_inverse(out, item)
            out.append(item)
    return out, (total + 2 * folds) / total if total else 1.0


def _append_inverse(circuit: QuantumCircuit, item: CircuitInstruction) -> None:
    """The inverse of a native gate, in native gates (``cz`` and ``x`` are their own)."""
    if item.operation.name == "sx":
        circuit.append(RZGate(math.pi), item.qubits)
        circuit.append(item)
        circuit.append(RZGate(math.pi), item.qubits)
    else:
        circuit.append(item)


@dataclass(frozen=True)
class Extrapolation:
    """An extrapolator's zero-noise value, its standard error and fit parameters."""

    extrapolator: str
    value: float
    std: float
    parameters: tuple[float, ...]


def extrapolate(
    factors: list[float], values: list[float], stds: list[float], extrapolator: str
) -> Extrapolation:
    """Fit ``values`` at noise ``factors`` (weights ``1 / stds**2``; equal weights when
    a standard error is 0) and evaluate the fit at zero noise.

    Extrapolators: ``linear`` (``a + b x``), ``polynomial_degree_k`` (degree ``k``),
    ``exponential`` (``A exp(-x / tau)``, fitted on ``log |value|``; the values must
    share a sign). Standard errors come from the weighted least-squares covariance.

    Raises:
        ValueError: the extrapolator is unknown, there are too few points, or an
            exponential fit meets values of mixed sign or zero.

    >>> round(extrapolate([1, 3], [0.8, 0.4], [0, 0], "linear").value, 12)
    1.0
    """
    x = np.asarray(factors, dtype=float)
    y = np.asarray(values, dtype=float)
    s = np.asarray(stds, dtype=float)
    if extrapolator == "exponential":
        signs = np.sign(y)
        if np.any(signs == 0) or np.any(signs != signs[0]):
            raise ValueError("exponential: the values change sign or reach 0")
        log_std = s / np.abs(y)
        (intercept, slope), (var_intercept, _) = _polyfit(x, np.log(np.abs(y)), log_std, 1)
        amplitude = float(signs[0] * math.exp(intercept))
        tau = -1.0 / slope if slope else math.inf
        return Extrapolation(
            extrapolator, amplitude, abs(amplitude) * math.sqrt(var_intercept), (amplitude, tau)
        )
    degree = 1 if extrapolator == "linear" else polynomial_degree(extrapolator)
    if degree is None:
        raise ValueError(f"extrapolator: {extrapolator!r} is not known")
    coefficients, variances = _polyfit(x, y, s, degree)
    return Extrapolation(
        extrapolator,
        float(coefficients[0]),
        math.sqrt(variances[0]),
        tuple(float(c) for c in coefficients),
    )


def _polyfit(
    x: np.ndarray, y: np.ndarray, s: np.ndarray, degree: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of ``y ~ sum_k c_k x^k``: coefficients (lowest first) and
    their variances (from the standard errors ``s``; 0 where all are 0)."""
    if len(set(x.tolist())) <= degree:
        raise ValueError(f"a degree-{degree} fit needs {degree + 1} distinct noise factors")
    design = np.vander(x, degree + 1, increasing=True)
    exact = not np.all(s > 0)
    weights = np.ones_like(y) if exact else 1.0 / s**2
    normal = design.T @ (design * weights[:, None])
    covariance_unscaled = np.linalg.inv(normal)
    coefficients = covariance_unscaled @ (design.T @ (weights * y))
    if exact:
        # Unweighted: propagate the (zero or missing) errors as given.
        hat = covariance_unscaled @ design.T
        variances = (hat**2) @ (s**2)
    else:
        variances = np.diag(covariance_unscaled)
    return coefficients, np.maximum(variances, 0.0)


def fits(
    factors: list[float],
    values: list[float],
    stds: list[float],
    extrapolators: tuple[str, ...],
    *,
    bound: float = 1.0,
) -> dict[str, Extrapolation]:
    """The extrapolators of ``extrapolators`` that fit the values with a finite zero-noise
    value within ``[-bound, bound]`` (a Pauli expectation's range; 5% and three standard
    errors of slack), by name."""
    found: dict[str, Extrapolation] = {}
    for name in extrapolators:
        try:
            fit = extrapolate(factors, values, stds, name)
        except (ValueError, np.linalg.LinAlgError):
            continue
        within = abs(fit.value) <= bound * 1.05 + 3 * fit.std
        if math.isfinite(fit.value) and math.isfinite(fit.std) and within:
            found[name] = fit
    return found
