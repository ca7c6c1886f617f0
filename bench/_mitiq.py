"""The anchor of ``bench/mitigation.py``: zero-noise extrapolation done by mitiq (its
unitary folding and its factories) on the same chip, circuits and shots as openqpu's.

mitiq folds the circuit as a user hands it over (``fold_gates_at_random``: every gate,
one- and two-qubit, as openqpu's ``all_gate_folding`` does on the compiled circuit); the
folded circuit is run as an ordinary sample job on ``lattice72`` through the worker's own
code, a barrier after every gate so that the transpiler cannot cancel the folds. Each
Pauli term is read from the counts of its measurement basis and extrapolated by mitiq's
factories (``LinearFactory``, ``ExpFactory`` with asymptote 0 as openqpu's exponential,
``RichardsonFactory``), then the terms are summed. No readout mitigation and no
twirling: compare with openqpu's ZNE alone (``ZNE`` variant) and its full level 2.

mitiq is an optional dependency (``pip install -e '.[bench]'``); its pins (numpy < 2.3,
cirq-core < 1.7) may not suit the environment, in which case
``pip install --no-deps --target DIR mitiq tabulate ply`` and ``PYTHONPATH=DIR`` work.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, qasm3, transpile
from qiskit.quantum_info import SparsePauliOp

from openqpu.service.run.chip import ChipRun, run_on_chip

FACTORIES = ("linear", "exponential", "richardson")


def available() -> str | None:
    """Why mitiq cannot be used here, or None when it can."""
    try:
        import mitiq  # noqa: F401
        from mitiq.interface.mitiq_qiskit import from_qiskit  # noqa: F401
    except ImportError as exc:
        return f"{exc} (pip install -e '.[bench]')"
    return None


def _folded(circuit: QuantumCircuit, factor: float, seed: int) -> QuantumCircuit:
    """``circuit`` folded by mitiq to ``factor``, a barrier after every gate."""
    from mitiq.interface.mitiq_qiskit import from_qiskit, to_qiskit
    from mitiq.zne.scaling import fold_gates_at_random

    plain = transpile(circuit, basis_gates=["u", "cx"], optimization_level=0)
    folded = to_qiskit(fold_gates_at_random(from_qiskit(plain), factor, seed=seed))
    fenced = QuantumCircuit(circuit.num_qubits)
    for item in folded.data:
        qubits = [folded.find_bit(q).index for q in item.qubits]
        fenced.append(item.operation, qubits)
        fenced.barrier()
    return fenced


def _basis_groups(observable: SparsePauliOp) -> dict[str, list[tuple[str, float]]]:
    """The terms of ``observable`` by the measurement basis that reads them (qubit-wise
    commuting, greedily)."""
    groups: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for label, coeff in zip(observable.paulis.to_labels(), observable.coeffs, strict=True):
        for basis in groups:
            if all(a == "I" or b == "I" or a == b for a, b in zip(label, basis, strict=True)):
                merged = "".join(b if a == "I" else a for a, b in zip(label, basis, strict=True))
                groups[merged] = groups.pop(basis)
                groups[merged].append((label, float(coeff.real)))
                break
        else:
            groups[label].append((label, float(coeff.real)))
    return groups


def _parity(weights: dict[str, float], label: str) -> float:
    """Mean parity of ``label``'s non-identity qubits over ``weights`` (counts or
    probabilities by bitstring, qubit 0 last)."""
    n = len(label)
    mask = sum(1 << q for q in range(n) if label[n - 1 - q] != "I")
    total = sum(weights.values())
    signed = sum(-w if (int(key, 2) & mask).bit_count() % 2 else w for key, w in weights.items())
    return signed / total


def zne_estimate(
    chip: ChipRun,
    circuit: QuantumCircuit,
    observable: SparsePauliOp,
    *,
    shots: int,
    factors: tuple[float, ...] = (1.0, 3.0, 5.0),
    seed: int = 0,
) -> dict[str, Any]:
    """mitiq's ZNE of ``observable`` on ``circuit`` (no measurements) on the chip.

    Returns:
        ``{"raw": {factory: value}, "readout": {factory: value}}`` for each of
        ``FACTORIES`` (``readout``: the same counts corrected by the sample job's
        ``mitigation: "readout"``, the tensored inverse of the calibration's readout
        errors), ``per_factor`` (the raw value at each factor) and ``shots``.
    """
    groups = _basis_groups(observable)
    term_values: dict[str, dict[str, list[float]]] = {"raw": defaultdict(list)}
    term_values["readout"] = defaultdict(list)
    total_shots = 0
    for f, factor in enumerate(factors):
        folded = _folded(circuit, factor, seed=seed + f)
        for b, (basis, terms) in enumerate(groups.items()):
            measured = folded.copy()
            n = circuit.num_qubits
            for q in range(n):
                letter = basis[n - 1 - q]
                if letter == "X":
                    measured.h(q)
                elif letter == "Y":
                    measured.sdg(q)
                    measured.h(q)
            measured.measure_all()
            payload = {
                "kind": "sample",
                "format": "qasm3",
                "circuits": [qasm3.dumps(measured)],
                "shots": shots,
                "mitigation": "readout",
            }
            entry = run_on_chip(payload, seed * 1000 + 10 * f + b, chip)["results"][0]
            total_shots += shots
            for label, _ in terms:
                term_values["raw"][label].append(_parity(entry["counts"], label))
                corrected = _parity(entry["mitigated_probabilities"], label)
                term_values["readout"][label].append(corrected)
    coefficients = dict(
        zip(observable.paulis.to_labels(), (float(c.real) for c in observable.coeffs), strict=True)
    )
    out: dict[str, Any] = {"shots": total_shots}
    out["per_factor"] = [
        sum(c * term_values["raw"][label][f] for label, c in coefficients.items())
        for f in range(len(factors))
    ]
    for kind, values in term_values.items():
        out[kind] = {name: _extrapolated(name, factors, values, coefficients) for name in FACTORIES}
    return out


def _extrapolated(
    name: str,
    factors: tuple[float, ...],
    term_values: dict[str, list[float]],
    coefficients: dict[str, float],
) -> float:
    """The observable at zero noise: each term extrapolated by mitiq's factory ``name``."""
    from mitiq.zne.inference import ExpFactory, LinearFactory, RichardsonFactory

    value = 0.0
    for label, c in coefficients.items():
        if set(label) == {"I"}:
            value += c
            continue
        ys = term_values[label]
        if name == "linear":
            fit = LinearFactory.extrapolate(list(factors), ys)
        elif name == "exponential":
            try:
                fit = ExpFactory.extrapolate(list(factors), ys, asymptote=0.0)
            except Exception:  # mitiq raises on values of mixed sign
                fit = float("nan")
        else:
            fit = RichardsonFactory.extrapolate(list(factors), ys)
        value += c * float(np.real(fit))
    return value
