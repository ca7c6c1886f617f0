"""Circuits, observables and parameter values as the REST API carries them.

Qiskit is only imported when the caller already uses it (a ``QuantumCircuit`` or
``SparsePauliOp`` can only exist once ``qiskit`` is imported) or a ``.qpy`` file
is read, so that the client stays light for OpenQASM text.
"""

from __future__ import annotations

import base64
import io
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import SparsePauliOp

CircuitLike: TypeAlias = "QuantumCircuit | str | os.PathLike[str]"
ObservableLike: TypeAlias = "SparsePauliOp | Mapping[str, float] | str"

# A string without an OpenQASM header and with one of these endings names a file.
FILE_SUFFIXES = (".qasm", ".qasm2", ".qasm3", ".qpy", ".ir", ".originir")


def encode_circuits(circuits: CircuitLike | Iterable[CircuitLike]) -> list[str]:
    """Encode circuits for ``POST /api/v1/jobs``.

    Args:
        circuits: one circuit or several, each a ``QuantumCircuit`` (sent as
            base64 QPY), OpenQASM 2/3 or OriginIR source text, a base64 QPY string,
            or a path (a ``Path``, or a string ending in .qasm, .qasm2, .qasm3, .ir,
            .originir or .qpy).
            A .qpy file contributes every circuit it holds.

    Returns:
        One string per circuit: OpenQASM or OriginIR text, or base64 QPY.

    Raises:
        TypeError: an item is none of the above.
        ValueError: no circuit was given.
        OSError: a file cannot be read.
    """
    if isinstance(circuits, str | os.PathLike) or _is_circuit(circuits):
        items: list[Any] = [circuits]
    else:
        items = list(circuits)
    if not items:
        raise ValueError("circuits: give at least one circuit")
    encoded: list[str] = []
    for position, item in enumerate(items):
        if _is_circuit(item):
            encoded.append(_qpy_base64(item))
        elif isinstance(item, os.PathLike) or (isinstance(item, str) and _names_a_file(item)):
            encoded.extend(_read_file(Path(item)))
        elif isinstance(item, str):
            encoded.append(item)
        else:
            raise TypeError(
                f"circuits[{position}]: expected a QuantumCircuit, circuit source text or a path, "
                f"got {type(item).__name__}"
            )
    return encoded


def encode_observables(
    observables: ObservableLike | Iterable[ObservableLike] | None,
) -> list[dict[str, float]] | None:
    """Encode observables as ``{pauli_label: real_coefficient}`` dicts.

    Args:
        observables: None, or one or several observables, each a ``SparsePauliOp``
            (labels in Qiskit's order, rightmost letter on qubit 0), a mapping
            from Pauli labels to real coefficients, or one label (coefficient 1).

    Returns:
        One dict per observable, or None when none were given.

    Raises:
        ValueError: a coefficient has an imaginary part (the observable is not Hermitian).
        TypeError: an item is none of the above.
    """
    if observables is None:
        return None
    if isinstance(observables, str | Mapping) or _is_pauli_sum(observables):
        items: list[Any] = [observables]
    else:
        items = list(observables)
    return [_observable(item, position) for position, item in enumerate(items)]


def encode_parameter_values(values: Iterable[Iterable[float]] | None) -> list[list[float]] | None:
    """Encode parameter values: one list of floats per circuit.

    Raises:
        ValueError: a row is a number rather than a list of numbers.
    """
    if values is None:
        return None
    rows = []
    for position, row in enumerate(values):
        if not isinstance(row, Iterable):
            raise ValueError(
                f"parameter_values[{position}]: give one list of values per circuit, "
                f"got the number {row!r}"
            )
        rows.append([float(value) for value in row])
    return rows


def _is_circuit(value: Any) -> bool:
    qiskit = sys.modules.get("qiskit")
    return qiskit is not None and isinstance(value, qiskit.QuantumCircuit)


def _is_pauli_sum(value: Any) -> bool:
    if "qiskit" not in sys.modules:
        return False
    from qiskit.quantum_info import SparsePauliOp

    return isinstance(value, SparsePauliOp)


def _names_a_file(text: str) -> bool:
    return "\n" not in text and "OPENQASM" not in text and text.lower().endswith(FILE_SUFFIXES)


def _qpy_base64(circuit: QuantumCircuit) -> str:
    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _read_file(path: Path) -> list[str]:
    if path.suffix.lower() != ".qpy":
        return [path.read_text()]
    from qiskit import qpy

    with path.open("rb") as handle:
        return [_qpy_base64(circuit) for circuit in qpy.load(handle)]


def _observable(item: Any, position: int) -> dict[str, float]:
    if isinstance(item, str):
        return {item: 1.0}
    if isinstance(item, Mapping):
        return {str(label): float(coeff) for label, coeff in item.items()}
    if not _is_pauli_sum(item):
        raise TypeError(
            f"observables[{position}]: expected a SparsePauliOp or a {{label: coefficient}} "
            f"mapping, got {type(item).__name__}"
        )
    terms: dict[str, float] = {}
    for label, coeff in item.to_list():
        value = complex(coeff)
        if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
            raise ValueError(
                f"observables[{position}]: term {label} has the complex coefficient {value}; "
                "expectation values need real coefficients"
            )
        # SparsePauliOp may repeat a label; the API wants each label once.
        terms[label] = terms.get(label, 0.0) + value.real
    return terms
