"""OpenQASM 2 and 3 import with errors that carry a line and a column.

OpenQASM 2 is read with Qiskit's legacy custom instructions so that files written
for older toolchains (``cu1``, ``rzz``, ``rccx``, ``c3x``, ...) load unchanged.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING

from qiskit import QuantumCircuit

from openqpu.errors import CircuitSyntaxError

if TYPE_CHECKING:
    from qiskit.qasm2 import CustomInstruction

_HEADER = re.compile(r"^\s*OPENQASM\s+(\d+)(?:\.(\d+))?\s*;", re.MULTILINE)
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_QASM2_POSITION = re.compile(r"^<input>:(\d+),(\d+):\s*(.*)$", re.DOTALL)
_QASM3_POSITION = re.compile(r"^(\d+),(\d+):\s*(.*)$", re.DOTALL)


# A published OpenQASM 2 file often omits its header but includes the standard library.
_QELIB1 = re.compile(r'^\s*include\s+"qelib1\.inc"\s*;', re.MULTILINE)
HEADERLESS_QASM2 = (
    "no 'OPENQASM 2.0;' header: read as OpenQASM 2 because it includes \"qelib1.inc\""
)


class MissingQasmHeader(UserWarning):
    """An OpenQASM 2 file without its ``OPENQASM 2.0;`` line was read as OpenQASM 2."""


def _without_comments(text: str) -> str:
    return _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def missing_header_warning(text: str) -> str | None:
    """The warning for ``text`` when it is OpenQASM 2 without a header, else None.

    >>> missing_header_warning('include "qelib1.inc"; qreg q[1];') == HEADERLESS_QASM2
    True
    """
    code = _without_comments(text)
    if _HEADER.search(code) is None and _QELIB1.search(code) is not None:
        return HEADERLESS_QASM2
    return None


def looks_like_qasm(text: str) -> bool:
    """True when ``text`` declares an OpenQASM version or is OpenQASM 2 without a header."""
    return "OPENQASM" in text or _QELIB1.search(_without_comments(text)) is not None


def detect_qasm_version(text: str) -> int:
    """Return the major OpenQASM version that ``text`` declares in its header.

    A text without a header that includes ``"qelib1.inc"`` is OpenQASM 2 (public
    benchmark files often omit the ``OPENQASM 2.0;`` line); ``missing_header_warning``
    says so.

    Raises:
        CircuitSyntaxError: the text has no ``OPENQASM 2`` or ``OPENQASM 3`` header.
    """
    code = _without_comments(text)
    match = _HEADER.search(code)
    if match is None:
        if _QELIB1.search(code) is not None:
            return 2
        raise CircuitSyntaxError("missing 'OPENQASM 2.0;' or 'OPENQASM 3.0;' header", 1, 1)
    version = int(match.group(1))
    if version not in (2, 3):
        line = text.count("\n", 0, match.start(1)) + 1
        raise CircuitSyntaxError(f"unsupported OpenQASM version {version}", line, 1)
    return version


def loads(text: str) -> QuantumCircuit:
    """Parse an OpenQASM 2 or 3 program, choosing the reader from its header.

    Args:
        text: the program source.

    Returns:
        The circuit, with Qiskit's bit order.

    Raises:
        CircuitSyntaxError: the program does not parse; ``line`` and ``column``
            (1-based) point at the problem.

    >>> loads('OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; h q[0];').num_qubits
    1
    """
    if detect_qasm_version(text) == 2:
        warning = missing_header_warning(text)
        if warning is not None:
            warnings.warn(MissingQasmHeader(warning), stacklevel=2)
        return _loads_qasm2(text)
    return _loads_qasm3(text)


def _custom_instructions() -> list[CustomInstruction]:
    """Qiskit's legacy ``qelib1.inc`` extensions plus gates other SDKs write undeclared.

    pyquafu, for one, writes ``ryy`` and ``iswap`` without defining them. A file
    that does define one of these (with the same parameters and qubits) still loads.
    """
    from qiskit import qasm2
    from qiskit.circuit import library

    extra = [
        ("ryy", 1, 2, library.RYYGate),
        ("rzx", 1, 2, library.RZXGate),
        ("iswap", 0, 2, library.iSwapGate),
        ("ecr", 0, 2, library.ECRGate),
        ("dcx", 0, 2, library.DCXGate),
        ("cs", 0, 2, library.CSGate),
        ("csdg", 0, 2, library.CSdgGate),
        ("ccz", 0, 3, library.CCZGate),
    ]
    return [
        *qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
        *(qasm2.CustomInstruction(name, p, q, gate, builtin=True) for name, p, q, gate in extra),
    ]


def _loads_qasm2(text: str) -> QuantumCircuit:
    from qiskit import qasm2

    try:
        return qasm2.loads(
            text,
            custom_instructions=_custom_instructions(),
            custom_classical=qasm2.LEGACY_CUSTOM_CLASSICAL,
        )
    except qasm2.QASM2ParseError as exc:
        message = str(exc.args[0] if exc.args else exc).strip('"')
        match = _QASM2_POSITION.match(message)
        if match is None:
            raise CircuitSyntaxError(message) from None
        line, column, detail = int(match.group(1)), int(match.group(2)), match.group(3)
        # Qiskit's OpenQASM 2 reader counts columns from 0.
        raise CircuitSyntaxError(detail, line, column + 1) from None


def _loads_qasm3(text: str) -> QuantumCircuit:
    from qiskit import qasm3

    try:
        return qasm3.loads(text)
    except qasm3.QASM3ImporterError as exc:
        message = str(exc.args[0] if exc.args else exc).strip('"')
        match = _QASM3_POSITION.match(message)
        if match is None:
            raise CircuitSyntaxError(message) from None
        raise CircuitSyntaxError(
            match.group(3), int(match.group(1)), int(match.group(2)) + 1
        ) from None
    except Exception as exc:
        if type(exc).__name__ != "QASM3ParsingError":
            raise
        raise _qasm3_parse_error(exc) from None


def _qasm3_parse_error(exc: BaseException) -> CircuitSyntaxError:
    """Find the offending token inside the ANTLR exception chain of a QASM 3 parse."""
    message = str(exc)
    match = re.match(r"L(\d+):C(\d+):\s*(.*)", message)
    if match:
        return CircuitSyntaxError(match.group(3), int(match.group(1)), int(match.group(2)) + 1)
    cause: BaseException | None = exc
    while cause is not None:
        for candidate in (cause, *getattr(cause, "args", ())):
            token = getattr(candidate, "offendingToken", None)
            if token is not None:
                text = token.text if token.text != "<EOF>" else "end of file"
                return CircuitSyntaxError(
                    f"syntax error at '{text}' (is a ';' missing before it?)",
                    token.line,
                    token.column + 1,
                )
        cause = cause.__cause__ or cause.__context__
    return CircuitSyntaxError(f"syntax error: {message or 'the program does not parse'}")
