"""Circuits and observables as the API carries them: decoding and validation.

Every problem raises ``InvalidRequest`` naming the field (``circuits[2]``) and,
for source text, the line and column.
"""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass
from typing import Any

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from openqpu.errors import CircuitSyntaxError, OpenQPUError
from openqpu.formats.prescan import ScanLimits, SourceOverLimit, prescan
from openqpu.service.lru import LruCache
from openqpu.service.sandbox import Sandbox, SandboxLimit

FORMATS = ("auto", "qasm2", "qasm3", "qpy", "originir")


class InvalidRequest(OpenQPUError):
    """A request field is invalid; ``field`` names it."""

    def __init__(
        self, field: str, message: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        self.field = field
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"{field}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a sandbox child and re-raised in the API process: pickled whole.
        return (type(self), (self.field, self.message), self.__dict__)


@dataclass(frozen=True)
class ParsedCircuit:
    """A decoded circuit and where it came from."""

    circuit: QuantumCircuit
    field: str


@dataclass(frozen=True)
class CircuitSummary:
    """What submit-time validation needs to know about a circuit."""

    num_qubits: int
    size: int
    num_parameters: int
    is_dynamic: bool
    num_active_qubits: int  # qubits some gate or measurement acts on


_summaries: LruCache[tuple[str, str, int], CircuitSummary] = LruCache(512)


def is_summarized(source: str, fmt: str, max_gates: int) -> bool:
    """True when :func:`summarize` will answer from its cache (no parsing)."""
    return _summaries.get((fmt, source, max_gates)) is not None


# The setting behind each limit of the pre-scan, for messages.
_SCAN_SETTINGS = {
    "qubits": "the device's qubits",
    "classical bits": "OPENQPU_MAX_CLBITS",
    "gates": "OPENQPU_MAX_EXPANDED_GATES",
    "nesting": "OPENQPU_MAX_GATE_NESTING",
    "controls": "OPENQPU_MAX_CONTROLS",
}


def summarize(
    source: str,
    fmt: str,
    field: str,
    max_gates: int,
    max_qubits: int,
    *,
    limits: ScanLimits | None = None,
    sandbox: Sandbox | None = None,
) -> CircuitSummary:
    """Decode and compile a circuit once to validate it; later calls hit a cache.

    Raises InvalidRequest naming ``field`` for a circuit that cannot be read, has more
    than ``max_gates`` instructions or uses an instruction the engine cannot run. A
    circuit over ``max_qubits`` is summarised without compiling: the caller rejects it.

    With ``limits`` the source is pre-scanned first (:func:`openqpu.formats.prescan.prescan`):
    declarations and expanded gate counts over a limit are refused before parsing. With
    ``sandbox`` the scan, parse and compile of a cache miss run in one of its child
    processes under its time and memory limits (one round trip); the cache stays here.
    """
    key = (fmt, source, max_gates)
    summary = _summaries.get(key)
    if summary is not None:
        return summary
    args = (source, fmt, field, max_gates, max_qubits, limits)
    if sandbox is None:
        summary = summarize_source(*args)
    else:
        try:
            summary = sandbox.run(summarize_source, *args)
        except SandboxLimit as exc:
            raise InvalidRequest(field, f"reading and checking the circuit {exc}") from None
    if summary.num_qubits <= max_qubits:
        _summaries.put(key, summary)
    return summary


def summarize_source(
    source: str,
    fmt: str,
    field: str,
    max_gates: int,
    max_qubits: int,
    limits: ScanLimits | None = None,
) -> CircuitSummary:
    """:func:`summarize` without its cache: the task a sandbox child runs (picklable)."""
    if limits is not None:
        scan_circuit(source, fmt, field, limits)
    from openqpu import sim
    from openqpu.transpile import active_qubits

    circuit = decode_circuit(source, fmt, field)
    active = len(active_qubits(circuit))
    if circuit.num_qubits > max_qubits:
        return CircuitSummary(circuit.num_qubits, circuit.size(), 0, False, active)
    if circuit.size() > max_gates:
        raise InvalidRequest(
            field, f"{circuit.size()} instructions is over the limit of {max_gates}"
        )
    try:
        program = sim.lower(circuit)
    except OpenQPUError as exc:
        raise InvalidRequest(field, str(exc)) from None
    return CircuitSummary(
        circuit.num_qubits, circuit.size(), len(program.parameters), program.is_dynamic, active
    )


def scan_circuit(source: str, fmt: str, field: str, limits: ScanLimits) -> int:
    """Pre-scan a text source against ``limits``; return its expanded gate count (QPY: 0).

    Raises:
        InvalidRequest: the source asks for more than a limit; the message names the
            limit, its setting, the value and the line.
    """
    if fmt not in FORMATS or fmt == "qpy":
        return 0
    from openqpu.formats import originir
    from openqpu.formats.qasm import looks_like_qasm

    kind = "qasm"
    if fmt == "originir" or (fmt == "auto" and originir.is_originir(source)):
        kind = "originir"
    elif fmt == "auto" and not looks_like_qasm(source[:4096]):
        return 0  # base64 QPY
    try:
        return prescan(source, kind, limits)
    except SourceOverLimit as exc:
        if exc.limit == "qubits":
            where = f"line {exc.line}: " if exc.line is not None else ""
            message = (
                f"{where}{_count(exc.value)} qubits is more than device {limits.device} has "
                f"({exc.maximum})"
            )
        else:
            message = f"{exc} ({_SCAN_SETTINGS.get(exc.limit, exc.limit)})"
        raise InvalidRequest(field, message, line=exc.line) from None


def _count(value: int) -> str:
    return f"{value:,}" if value < 10**30 else "over 10^30"


# Drawings wider than this many qubits or instructions are not made (they would not help).
MAX_DRAWN_QUBITS = 32
MAX_DRAWN_INSTRUCTIONS = 400


def draw_circuit(source: str, fmt: str, field: str) -> str | None:
    """The circuit drawn as text (wrapped at 100 columns), or None when it is too big."""
    circuit = decode_circuit(source, fmt, field)
    if circuit.num_qubits > MAX_DRAWN_QUBITS or circuit.size() > MAX_DRAWN_INSTRUCTIONS:
        return None
    return str(circuit.draw("text", fold=100))


def decode_circuit(source: str, fmt: str, field: str) -> QuantumCircuit:
    """Decode one circuit given as OpenQASM 2/3 or OriginIR text, or base64 QPY."""
    if fmt not in FORMATS:
        raise InvalidRequest("format", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    from openqpu.formats.qasm import MissingQasmHeader, detect_qasm_version, loads, looks_like_qasm

    qasm = looks_like_qasm(source[:4096])
    if fmt == "originir" or (fmt == "auto" and not qasm):
        from openqpu.formats import originir

        if fmt == "originir" or originir.is_originir(source):
            try:
                return originir.loads(source)
            except CircuitSyntaxError as exc:
                raise InvalidRequest(field, str(exc), line=exc.line, column=exc.column) from None
    if fmt == "qpy" or (fmt == "auto" and not qasm):
        return _decode_qpy(source, field, explicit=fmt == "qpy")
    try:
        version = detect_qasm_version(source)
        if fmt in ("qasm2", "qasm3") and version != int(fmt[-1]):
            raise InvalidRequest(field, f"format is {fmt} but the source says OPENQASM {version}")
        with warnings.catch_warnings():
            # The API says so in its answer (``qasm_warnings``), not in the server's log.
            warnings.simplefilter("ignore", MissingQasmHeader)
            return loads(source)
    except CircuitSyntaxError as exc:
        raise InvalidRequest(field, str(exc), line=exc.line, column=exc.column) from None


def _decode_qpy(source: str, field: str, *, explicit: bool) -> QuantumCircuit:
    from qiskit import qpy

    try:
        raw = base64.b64decode(source, validate=True)
        circuits = qpy.load(io.BytesIO(raw))
    except Exception:
        hint = "" if explicit else " (no OPENQASM header or QINIT statement either)"
        raise InvalidRequest(field, f"not valid base64-encoded QPY{hint}") from None
    if len(circuits) != 1 or not isinstance(circuits[0], QuantumCircuit):
        raise InvalidRequest(field, "QPY data must hold exactly one circuit")
    return circuits[0]


def decode_observable(spec: Any, num_qubits: int, field: str) -> SparsePauliOp:
    """An observable given as ``{"ZZI": 1.0, ...}`` or ``[["ZZI", 1.0], ...]``."""
    items = list(spec.items()) if isinstance(spec, dict) else spec
    if not isinstance(items, list) or not items:
        raise InvalidRequest(field, "expected {label: coefficient} or [[label, coefficient], ...]")
    terms = []
    for position, item in enumerate(items):
        if not (isinstance(item, list | tuple) and len(item) == 2):
            raise InvalidRequest(f"{field}[{position}]", "expected [label, coefficient]")
        label, coeff = item
        if not isinstance(label, str) or not label or set(label.upper()) - set("IXYZ"):
            raise InvalidRequest(f"{field}[{position}]", f"{label!r} is not a Pauli label")
        if len(label) != num_qubits:
            raise InvalidRequest(
                f"{field}[{position}]",
                f"label {label!r} has {len(label)} letters, the circuit has {num_qubits} qubits",
            )
        if isinstance(coeff, bool) or not isinstance(coeff, int | float):
            raise InvalidRequest(f"{field}[{position}]", f"coefficient {coeff!r} is not a number")
        terms.append((label.upper(), float(coeff)))
    return SparsePauliOp.from_list(terms)


def qasm_warnings(sources: list[str], fmt: str) -> list[str]:
    """What a submit should say about its sources: each OpenQASM 2 source read without
    its ``OPENQASM 2.0;`` line (``circuits[i]: ...``)."""
    if fmt not in ("auto", "qasm2"):
        return []
    from openqpu.formats.qasm import missing_header_warning

    said = []
    for index, source in enumerate(sources):
        warning = missing_header_warning(source[:65536])
        if warning is not None:
            said.append(f"circuits[{index}]: {warning}")
    return said
