"""The exception hierarchy shared by every layer of openqpu.

Each error names the situation, and its message says what was wrong and where.
"""

from __future__ import annotations


class OpenQPUError(Exception):
    """Root of every error openqpu raises on purpose."""


class UnsupportedInstruction(OpenQPUError):
    """A circuit contains an instruction the engine cannot execute."""

    def __init__(self, name: str, reason: str = "") -> None:
        self.name = name
        detail = f": {reason}" if reason else ""
        super().__init__(f"unsupported instruction '{name}'{detail}")


class CircuitTooLarge(OpenQPUError):
    """A circuit's state would not fit the configured memory limit."""

    def __init__(self, num_qubits: int, bytes_needed: int, limit_bytes: int, dtype: str) -> None:
        self.num_qubits = num_qubits
        self.bytes_needed = bytes_needed
        self.limit_bytes = limit_bytes
        super().__init__(
            f"a {num_qubits}-qubit statevector in {dtype} needs {bytes_needed:,} bytes, "
            f"over the memory limit of {limit_bytes:,} bytes (OPENQPU_MEMORY_LIMIT)"
        )


class CircuitSyntaxError(OpenQPUError):
    """A circuit source file could not be parsed.

    Attributes:
        line: 1-based line of the problem, or None when the parser gave none.
        column: 1-based column of the problem, or None.
        detail: the parser's message without the position.
    """

    def __init__(self, detail: str, line: int | None = None, column: int | None = None) -> None:
        self.detail = detail
        self.line = line
        self.column = column
        where = ""
        if line is not None:
            where = f"{line}:{column}: " if column is not None else f"{line}: "
        super().__init__(f"{where}{detail}")


class DoesNotFit(OpenQPUError):
    """A circuit is wider than the connected block of working qubits of a device."""

    def __init__(self, num_qubits: int, device: str, block_size: int) -> None:
        self.num_qubits = num_qubits
        self.device = device
        self.block_size = block_size
        super().__init__(
            f"the circuit needs {num_qubits} qubits but {device}'s largest connected block "
            f"of working qubits has {block_size}"
        )
