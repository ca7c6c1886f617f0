"""An estimate job's circuit run with error mitigation and suppression (``resilience``).

For each measurement basis (a group of qubit-wise commuting Pauli terms) and each
noise factor, the compiled circuit is folded (ZNE), then run as randomizations that
share that one compilation: CZs twirled, measurements twirled, the circuit scheduled
again (with dynamical decoupling in its idle windows if asked), each randomization
with its own shots and seed. Parities are read after undoing the measurement flips.
TREX divides each parity by the same parity measured on calibration circuits (all
qubits in ``|0>``, measurements twirled) run on the same chip qubits. ZNE fits the
values at the noise factors and evaluates the fit at zero noise, per Pauli term.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import InstructionDurations

from openqpu.service.run import zne
from openqpu.service.run.resilience import Resilience
from openqpu.service.run.scheduling import rescheduled
from openqpu.service.run.twirling import (
    measurements_only,
    merged_single_qubit_gates,
    twirled_gates,
    twirled_measurements,
)

# (circuit, shots, seed) -> counts
Runner = Callable[[QuantumCircuit, int, int], dict[str, int]]


@dataclass(frozen=True)
class BasisRun:
    """One measurement basis of an estimate: the compiled circuit measured in it
    (parameters bound), the parity mask of each Pauli label over its classical bits,
    the calibration's durations on its qubits, and how to run a circuit on the chip."""

    circuit: QuantumCircuit
    masks: dict[str, int]
    durations: InstructionDurations
    run: Runner


@dataclass
class _Parities:
    """Sums of +-1 parities over shots, per label."""

    sums: dict[str, float]
    shots: int = 0

    def add(self, counts: dict[str, int], masks: dict[str, int], flips: int) -> None:
        for key, count in counts.items():
            value = int(key, 2) ^ flips
            for label, mask in masks.items():
                self.sums[label] += -count if (value & mask).bit_count() % 2 else count
        self.shots += sum(counts.values())

    def mean(self, label: str) -> tuple[float, float]:
        """Mean parity and its standard error."""
        mean = self.sums[label] / self.shots
        return mean, math.sqrt(max(0.0, 1.0 - mean**2) / self.shots)


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1, dtype=np.uint64)[0] >> 1)


class MitigatedEstimate:
    """The runs of one circuit of an estimate job with ``resilience`` (see the module)."""

    def __init__(self, resilience: Resilience, shots: int, seed: int) -> None:
        self.resilience = resilience
        self.shots = shots
        self.seed = seed
        twirl_seed = resilience.seed_estimator
        self.rng = np.random.default_rng(_seed(seed, 18) if twirl_seed is None else twirl_seed)
        self.factors = list(resilience.noise_factors) if resilience.zne_mitigation else [1.0]
        self.calibration_shots = 0
        # The factor each noise factor applied: the largest over the bases' circuits.
        self.applied = [1.0 for _ in self.factors]
        self.circuits_run = 0  # distinct randomized circuits, calibration's included
        self._calibrations: dict[tuple[tuple[int, int], ...], _Readout] = {}

    def _randomized(
        self, circuit: QuantumCircuit, factor: float, number: int, previous: int
    ) -> tuple[QuantumCircuit, int, tuple, float]:
        """Randomization ``number`` of ``circuit`` at noise ``factor`` (not scheduled
        again yet): the CZs twirled and the one-qubit gates around them merged, then
        folded, then the measurements twirled (an odd-numbered randomization flips those
        the one before, with flips ``previous``, did not).

        Returns:
            The circuit, its measurement flips, a key equal for equal randomizations,
            and the noise factor the folding applied.
        """
        frame: list[tuple[str, str]] = []
        flips = 0
        if self.resilience.twirl_gates:
            circuit, frame = twirled_gates(circuit, self.rng)
            circuit = merged_single_qubit_gates(circuit)
        applied = 1.0
        if factor != 1:
            circuit, applied = zne.folded(circuit, factor, amplifier=self.resilience.amplifier)
        if self.resilience.twirl_measure or self.resilience.measure_mitigation:
            complement = previous if number % 2 else None
            circuit, flips = twirled_measurements(circuit, self.rng, complement_of=complement)
        return circuit, flips, (tuple(frame), flips), applied

    def basis_values(
        self, number: int, basis: BasisRun
    ) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
        """Per noise factor: the (TREX-corrected) value and standard error of each label.

        Randomizations that came out equal run once, with their shots added (the same
        circuit: the same distribution of outcomes)."""
        values: list[dict[str, float]] = []
        stds: list[dict[str, float]] = []
        calibration = self._calibration(basis) if self.resilience.measure_mitigation else None
        dd = self.resilience.dd_sequence if self.resilience.dd_enable else None
        for f, factor in enumerate(self.factors):
            unique: dict[tuple, tuple[QuantumCircuit, int, int]] = {}
            flips = 0
            for r, shots in enumerate(self.resilience.randomizations(self.shots)):
                circuit, flips, key, applied = self._randomized(basis.circuit, factor, r, flips)
                self.applied[f] = max(self.applied[f], applied)
                known = unique.get(key)
                unique[key] = (circuit, flips, shots + (known[2] if known else 0))
            parities = _Parities(dict.fromkeys(basis.masks, 0.0))
            for r, (circuit, flips, shots) in enumerate(unique.values()):
                if circuit is not basis.circuit or dd is not None:
                    circuit = rescheduled(circuit, basis.durations, dd_sequence=dd)
                counts = basis.run(circuit, shots, _seed(self.seed, number, f, r))
                parities.add(counts, basis.masks, flips)
            self.circuits_run += len(unique)
            here: dict[str, float] = {}
            errors: dict[str, float] = {}
            for label in basis.masks:
                mean, std = parities.mean(label)
                if calibration is not None:
                    scale, scale_std = calibration.parity(basis.masks[label])
                    if abs(scale) < 1e-9:
                        raise ValueError(f"TREX: the calibration's parity for {label} is 0")
                    std = math.hypot(std / scale, mean * scale_std / scale**2)
                    mean = mean / scale
                here[label] = mean
                errors[label] = std
            values.append(here)
            stds.append(errors)
        return values, stds

    def _calibration(self, basis: BasisRun) -> _Readout:
        """The readout alone on the basis's measured qubits (TREX): calibration circuits
        run once per set of measured qubits and classical bits."""
        circuit = measurements_only(basis.circuit)
        key = tuple(
            (circuit.find_bit(item.qubits[0]).index, circuit.find_bit(item.clbits[0]).index)
            for item in circuit.data
        )
        known = self._calibrations.get(key)
        if known is not None:
            return known
        readout = _Readout({})
        count = self.resilience.calibration_randomizations
        per = self.resilience.calibration_shots_per_randomization or max(
            1, math.ceil(self.shots / count)
        )
        number = len(self._calibrations)
        unique: dict[int, tuple[QuantumCircuit, int]] = {}
        flips = 0
        for r in range(count):
            complement = flips if r % 2 else None
            twirled, flips = twirled_measurements(circuit, self.rng, complement_of=complement)
            unique[flips] = (twirled, per + unique.get(flips, (circuit, 0))[1])
        for r, (flips, (twirled, shots)) in enumerate(unique.items()):
            scheduled = rescheduled(twirled, basis.durations)
            readout.add(basis.run(scheduled, shots, _seed(self.seed, 1 << 20, number, r)), flips)
        self.circuits_run += len(unique)
        self.calibration_shots += readout.shots
        self._calibrations[key] = readout
        return readout


@dataclass
class _Readout:
    """Calibration outcomes (flips undone): how often each bitstring was read."""

    counts: dict[int, int]
    shots: int = 0

    def add(self, counts: dict[str, int], flips: int) -> None:
        for key, count in counts.items():
            value = int(key, 2) ^ flips
            self.counts[value] = self.counts.get(value, 0) + count
            self.shots += count

    def parity(self, mask: int) -> tuple[float, float]:
        """Mean parity over ``mask``'s bits and its standard error."""
        total = sum(-n if (value & mask).bit_count() % 2 else n for value, n in self.counts.items())
        mean = total / self.shots
        return mean, math.sqrt(max(0.0, 1.0 - mean**2) / self.shots)


def same_sign(
    factors: list[float], values: list[float], stds: list[float]
) -> tuple[list[float], list[float], list[float]]:
    """The points an exponential fit takes: those with the sign of the lowest factor's
    value, when at least two are left (else all, and the fit refuses them).

    A value decayed into the noise around 0 at a high factor may have either sign. On
    the log scale its weight, ``(value / std)**2``, is about 0 anyway, so it is dropped
    rather than refusing the fit (mitiq clips such values to a tiny positive number,
    with the same effect; refusing dropped GHZ-10's ZNE to linear: 0.16 against 0.37).

    >>> same_sign([1, 3, 5], [0.14, 0.024, -0.013], [0.016] * 3)
    ([1, 3], [0.14, 0.024], [0.016, 0.016])
    """
    lowest = min(range(len(factors)), key=lambda i: factors[i])
    sign = math.copysign(1.0, values[lowest])
    kept = [i for i in range(len(factors)) if values[i] * sign > 0]
    if len(kept) < 2 or values[lowest] == 0:
        return factors, values, stds
    return [factors[i] for i in kept], [values[i] for i in kept], [stds[i] for i in kept]


def combine(
    observables: list[SparsePauliOp],
    factors: list[float],
    values: list[dict[str, float]],
    stds: list[dict[str, float]],
    extrapolators: tuple[str, ...] | None,
) -> tuple[list[float], list[float], dict[str, Any] | None]:
    """Each observable's value and standard error from its terms' values per noise
    factor; with ``extrapolators`` (ZNE) each term is extrapolated to zero noise, every
    term of an observable with the same extrapolator: the first of ``extrapolators``
    that fits all its terms within a Pauli expectation's range (Qiskit Runtime tries
    them in order; ``linear`` when none does). Not the one with the smallest standard
    error: a lower-order fit has the smaller error and the larger bias on a decaying
    signal (``bench/mitigation.py``: H2 6.5 mHa off with ``linear`` chosen that way,
    1.3 with ``exponential`` first).

    Returns:
        Values, standard errors, and the ZNE metadata (None without ZNE).
    """
    evs: list[float] = []
    errors: list[float] = []
    per_factor: list[list[float]] = []
    per_factor_stds: list[list[float]] = []
    chosen_names: list[str] = []
    extrapolated: dict[str, list[float | None]] = {name: [] for name in extrapolators or ()}
    for op in observables:
        terms = [
            (label, complex(coeff).real)
            for label, coeff in zip(op.paulis.to_labels(), op.coeffs, strict=True)
        ]
        constant = sum(c for label, c in terms if set(label) == {"I"})
        varying = [(label, c) for label, c in terms if set(label) != {"I"}]
        per_factor.append([constant + sum(c * v[label] for label, c in varying) for v in values])
        per_factor_stds.append(
            [math.sqrt(sum((c * s[label]) ** 2 for label, c in varying)) for s in stds]
        )
        if extrapolators is None:
            evs.append(per_factor[-1][0])
            errors.append(per_factor_stds[-1][0])
            continue
        candidates: dict[str, tuple[float, float]] = {}
        for name in extrapolators:
            total, variance = constant, 0.0
            for label, c in varying:
                xs, ys, es = factors, [v[label] for v in values], [s[label] for s in stds]
                if name == "exponential":
                    xs, ys, es = same_sign(xs, ys, es)
                fit = zne.fits(xs, ys, es, (name,)).get(name)
                if fit is None:
                    break
                total += c * fit.value
                variance += (c * fit.std) ** 2
            else:
                candidates[name] = (total, math.sqrt(variance))
            extrapolated[name].append(candidates[name][0] if name in candidates else None)
        if candidates:
            name = next(n for n in extrapolators if n in candidates)
            value, std = candidates[name]
        else:
            try:
                name = "linear"
                value, variance = constant, 0.0
                for label, c in varying:
                    fit = zne.extrapolate(
                        factors, [v[label] for v in values], [s[label] for s in stds], "linear"
                    )
                    value += c * fit.value
                    variance += (c * fit.std) ** 2
                std = math.sqrt(variance)
            except ValueError:
                # The factors applied collapsed (a circuit with too few CZs to fold
                # apart): the value at the lowest noise, not extrapolated.
                name = "none"
                value, std = per_factor[-1][0], per_factor_stds[-1][0]
        chosen_names.append(name)
        evs.append(value)
        errors.append(std)
    if extrapolators is None:
        return evs, errors, None
    metadata = {
        "noise_factors": factors,
        "extrapolator": chosen_names,
        "evs_noise_factors": per_factor,
        "stds_noise_factors": per_factor_stds,
        "evs_extrapolated": extrapolated,
    }
    return evs, errors, metadata
