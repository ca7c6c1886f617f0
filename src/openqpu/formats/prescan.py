"""A cheap pre-scan of circuit sources that bounds the work of parsing them, before any parse.

Qiskit's readers allocate a register as soon as they read its declaration, and expand
gate definitions recursively; a source of a few kilobytes can so ask for gigabytes or
hours. :func:`prescan` reads OpenQASM 2, OpenQASM 3 and OriginIR text statement by
statement without building a circuit, and refuses, naming the limit, the value and
the line:

- declared qubits (``qreg``, ``qubit[n]``, ``QINIT``) over the device's, and classical
  bits (``creg``, ``bit[n]``, ``CREG``) over a cap;
- gate applications after expanding every definition recursively (a ``gate`` used
  inside another counts its body each time, broadcasting over whole registers and
  ``for`` loop ranges included);
- gate definitions nested deeper than a cap (OriginIR: ``CONTROL``/``DAGGER`` blocks);
- more control qubits on one gate than a cap (``ctrl(n) @``, nested ``CONTROL``).

The scan is linear in the source's length. It only bounds: a source it passes may still
be refused by the parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from openqpu.errors import OpenQPUError

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_DELIMITER = re.compile(r"[{};]")
_REGISTER2 = re.compile(r"^(qreg|creg)\s+([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\]\s*$")
_REGISTER3 = re.compile(r"^(qubit|bit)\s*(?:\[\s*(\d+)\s*\])?\s*([A-Za-z_]\w*)\s*(?:=.*)?$", re.S)
_GATE_HEADER = re.compile(r"^(gate|def|opaque)\s+([A-Za-z_]\w*)", re.S)
_MODIFIER = re.compile(r"^(inv|ctrl|negctrl|pow)\s*(?:\(([^)]*)\))?\s*@\s*", re.S)
_CALL = re.compile(r"^([A-Za-z_]\w*)\s*(?:\((?:[^()]|\([^()]*\))*\))?\s*(.*)$", re.S)
_IF = re.compile(r"^if\s*\((?:[^()]|\([^()]*\))*\)\s*", re.S)
_FOR = re.compile(r"^for\s+(?:\w+(?:\[[^\]]*\])?\s+)?\w+\s+in\s*\[([^\]]*)\]", re.S)
_SLICE = re.compile(r"^([A-Za-z_]\w*)\s*\[\s*(-?\d+)\s*:\s*(-?\d+)\s*\]$")
_MEASURE = re.compile(r"^(?:[\w\[\]\s:]+=\s*)?measure\b")
_INTEGER = re.compile(r"^\s*-?\d+\s*$")
_NOT_GATES = frozenset(
    {"OPENQASM", "include", "input", "output", "const", "let", "int", "uint", "float",
     "angle", "bool", "complex", "duration", "stretch", "return", "break", "continue",
     "defcalgrammar", "cal", "defcal", "extern", "pragma", "array", "end", "delay"}
)  # fmt: skip

_EXPANDED = "gate applications after expanding definitions, loops and registers number at least"
# Beyond this many digits a declared size is simply "too many" (and int() stays cheap).
_MAX_DIGITS = 30


@dataclass(frozen=True)
class ScanLimits:
    """What a source may ask for.

    Attributes:
        max_qubits: declared qubits, all registers together (the device's).
        max_clbits: declared classical bits, all registers together.
        max_gates: gate applications after expanding definitions, loops and broadcasts.
        max_nesting: gate definitions within definitions (OriginIR: nested blocks).
        max_controls: control qubits of one gate application.
        device: the device's name, for messages.
    """

    max_qubits: int
    max_clbits: int
    max_gates: int
    max_nesting: int
    max_controls: int
    device: str = "the device"


class SourceOverLimit(OpenQPUError):
    """A circuit source asks for more than a limit allows, found before parsing.

    Attributes:
        limit: which limit (``"qubits"``, ``"classical bits"``, ``"gates"``,
            ``"nesting"``, ``"controls"``).
        value: what the source asks for (a lower bound for ``gates``).
        maximum: the limit's value.
        line: the 1-based line where it was found, or None.
    """

    def __init__(self, limit: str, what: str, value: int, maximum: int, line: int | None) -> None:
        self.limit = limit
        self.what = what
        self.value = value
        self.maximum = maximum
        self.line = line
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{what} {_count(value)}, over the limit of {maximum:,}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.limit, self.what, self.value, self.maximum, self.line))


def _count(value: int) -> str:
    return f"{value:,}" if value < 10**_MAX_DIGITS else f"a number of over {_MAX_DIGITS} digits"


def _number(digits: str) -> int:
    digits = digits.strip().lstrip("-")
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


@dataclass
class _Definition:
    cost: int = 1  # gate applications one use expands to
    depth: int = 0  # definitions nested below (a built-in gate: 0)
    controls: int = 0


@dataclass
class _Frame:
    kind: str  # "top", "gate", "loop", "block"
    name: str = ""
    line: int = 0
    multiplier: int = 1
    cost: int = 0
    depth: int = 0
    controls: int = 0


def prescan(source: str, fmt: str, limits: ScanLimits) -> int:
    """Check ``source`` against ``limits`` without parsing it; return its expanded gate count.

    Args:
        source: OpenQASM 2 or 3 (``fmt`` ``"qasm"``) or OriginIR (``"originir"``) text.
        fmt: ``"qasm"`` or ``"originir"``.
        limits: what the source may ask for.

    Raises:
        SourceOverLimit: the source asks for more than a limit; the message names the
            limit, the value and the line.

    >>> prescan("OPENQASM 2.0; qreg q[3]; h q;", "qasm", ScanLimits(72, 64, 100, 8, 8))
    3
    """
    if fmt == "originir":
        return _scan_originir(source, limits)
    return _QasmScan(source, limits).run()


class _QasmScan:
    """OpenQASM 2 and 3, statement by statement (split at ``;``, ``{`` and ``}``)."""

    def __init__(self, source: str, limits: ScanLimits) -> None:
        # Comments become spaces so that offsets (and so lines) stay those of the source.
        self.text = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), source)
        self.limits = limits
        self.defs: dict[str, _Definition] = {}
        self.registers: dict[str, int] = {}
        self.qubits = 0
        self.clbits = 0
        self.stack = [_Frame("top")]
        self._line_at = 0
        self._line = 1

    def line(self, offset: int) -> int:
        """The 1-based line of ``offset`` (offsets only grow, so counting is incremental)."""
        if offset < self._line_at:
            self._line_at, self._line = 0, 1
        self._line += self.text.count("\n", self._line_at, offset)
        self._line_at = offset
        return self._line

    def run(self) -> int:
        start = 0
        for match in _DELIMITER.finditer(self.text):
            raw = self.text[start : match.start()]
            statement = raw.strip()
            at = start + len(raw) - len(raw.lstrip())
            start = match.end()
            delimiter = match.group()
            if delimiter == "{":
                self.open(statement, at)
            elif delimiter == "}":
                if statement:
                    self.statement(statement, at)
                self.close(match.start())
            elif statement:
                self.statement(statement, at)
        while len(self.stack) > 1:  # an unclosed block: the parser will say so
            self.close(len(self.text))
        return self.stack[0].cost

    def open(self, header: str, at: int) -> None:
        gate = _GATE_HEADER.match(header)
        line = self.line(at)
        if gate is not None and gate.group(1) in ("gate", "def"):
            self.stack.append(_Frame("gate", gate.group(2), line))
            return
        loop = _FOR.match(header)
        multiplier = _iterations(loop.group(1)) if loop is not None else 1
        self.stack.append(_Frame("loop" if loop else "block", "", line, multiplier))

    def close(self, at: int) -> None:
        if len(self.stack) == 1:
            return  # a stray '}': the parser reports it
        frame = self.stack.pop()
        if frame.kind == "gate":
            definition = _Definition(max(frame.cost, 1), frame.depth + 1, frame.controls)
            if definition.depth > self.limits.max_nesting:
                raise SourceOverLimit(
                    "nesting",
                    f"gate {frame.name} nests gate definitions to a depth of",
                    definition.depth,
                    self.limits.max_nesting,
                    frame.line,
                )
            self.defs[frame.name] = definition
            return
        self.add(frame.cost * frame.multiplier, frame.depth, frame.controls, at)

    def add(self, cost: int, depth: int, controls: int, at: int) -> None:
        frame = self.stack[-1]
        frame.cost = min(frame.cost + cost, self.limits.max_gates + 1)
        frame.depth = max(frame.depth, depth)
        frame.controls = max(frame.controls, controls)
        if len(self.stack) == 1 and frame.cost > self.limits.max_gates:
            raise SourceOverLimit(
                "gates",
                _EXPANDED,
                frame.cost,
                self.limits.max_gates,
                self.line(at),
            )

    def statement(self, text: str, at: int) -> None:
        if_prefix = _IF.match(text)
        if if_prefix is not None:
            text = text[if_prefix.end() :]
        declared = _REGISTER2.match(text) or _REGISTER3.match(text)
        if declared is not None:
            self.declare(declared, at)
            return
        header = _GATE_HEADER.match(text)
        if header is not None:
            if header.group(1) == "opaque":
                self.defs[header.group(2)] = _Definition()
            return
        controls, power = 0, 1
        while (modifier := _MODIFIER.match(text)) is not None:
            argument = (modifier.group(2) or "").strip()
            if modifier.group(1) in ("ctrl", "negctrl"):
                controls += _number(argument) if _INTEGER.match(argument) else 1
            elif modifier.group(1) == "pow" and _INTEGER.match(argument):
                power = max(1, _number(argument))
            text = text[modifier.end() :]
        if _MEASURE.match(text):
            operands = text.split("measure", 1)[1].replace("->", ",")
            self.add(self.broadcast(operands), 0, 0, at)
            return
        call = _CALL.match(text)
        if call is None or call.group(1) in _NOT_GATES:
            return
        definition = self.defs.get(call.group(1), _Definition())
        controls += definition.controls
        if controls > self.limits.max_controls:
            raise SourceOverLimit(
                "controls",
                f"the control qubits of {call.group(1)} number",
                controls,
                self.limits.max_controls,
                self.line(at),
            )
        operands = call.group(2)
        if call.group(1) == "barrier" or not operands:
            self.add(1, definition.depth, controls, at)
            return
        cost = definition.cost * power * self.broadcast(operands)
        self.add(cost, definition.depth, controls, at)

    def broadcast(self, operands: str) -> int:
        """How many applications a statement's operands make (whole registers broadcast)."""
        factor = 1
        if any(frame.kind == "gate" for frame in self.stack):
            return factor  # a definition's operands are its parameters, not registers
        for operand in operands.split(","):
            name = operand.strip()
            if name in self.registers:
                factor = max(factor, self.registers[name])
            elif (piece := _SLICE.match(name)) is not None:
                factor = max(factor, abs(int(piece.group(3)) - int(piece.group(2))) + 1)
        return factor

    def declare(self, declared: re.Match[str], at: int) -> None:
        kind = declared.group(1)
        if kind in ("qreg", "creg"):
            name, size = declared.group(2), _number(declared.group(3))
        else:
            name, size = declared.group(3), _number(declared.group(2) or "1")
        quantum = kind in ("qreg", "qubit")
        if len(self.stack) == 1:
            self.registers[name] = size
        if quantum:
            self.qubits += size
            total, maximum, what = self.qubits, self.limits.max_qubits, "qubits"
        else:
            self.clbits += size
            total, maximum, what = self.clbits, self.limits.max_clbits, "classical bits"
        if total > maximum:
            raise SourceOverLimit(
                what, f"{kind} {name} brings the declared {what} to", total, maximum, self.line(at)
            )


def _signed(text: str) -> int:
    return -_number(text) if text.strip().startswith("-") else _number(text)


def _iterations(spec: str) -> int:
    """Iterations of an OpenQASM 3 range ``[start:stop]`` or ``[start:step:stop]`` (inclusive)."""
    parts = [part.strip() for part in spec.split(":")]
    if not all(_INTEGER.match(part) for part in parts) or len(parts) not in (2, 3):
        return 1
    start, stop = _signed(parts[0]), _signed(parts[-1])
    step = max(1, abs(_signed(parts[1]))) if len(parts) == 3 else 1
    return max(1, abs(stop - start) // step + 1)


_OIR_WORD = re.compile(r"\s*([A-Za-z_]\w*)")
_OIR_COUNT = re.compile(r"\s*(\d+)")
_OIR_WHOLE_Q = re.compile(r"(?<![\w\]])q(?!\s*\[)")


def _scan_originir(source: str, limits: ScanLimits) -> int:
    """OriginIR: one statement a line; ``CONTROL``/``DAGGER`` blocks nest."""
    qubits = 1
    blocks: list[int] = []  # control qubits each open block adds
    total = 0
    for number, raw in enumerate(source.splitlines(), start=1):
        body = raw.split("//", 1)[0].split("#", 1)[0]
        word = _OIR_WORD.match(body)
        if word is None:
            continue
        keyword, rest = word.group(1).upper(), body[word.end() :]
        if keyword in ("QINIT", "CREG"):
            count = _OIR_COUNT.match(rest)
            if count is None:
                continue
            value = _number(count.group(1))
            if keyword == "QINIT":
                qubits = value
                maximum, what = limits.max_qubits, "QINIT declares a qubit count of"
            else:
                maximum, what = limits.max_clbits, "CREG declares a classical bit count of"
            if value > maximum:
                limit = "qubits" if keyword == "QINIT" else "classical bits"
                raise SourceOverLimit(limit, what, value, maximum, number)
            continue
        if keyword in ("CONTROL", "DAGGER"):
            blocks.append(rest.count(",") + 1 if keyword == "CONTROL" else 0)
            if len(blocks) > limits.max_nesting:
                raise SourceOverLimit(
                    "nesting",
                    "CONTROL/DAGGER blocks nest to a depth of",
                    len(blocks),
                    limits.max_nesting,
                    number,
                )
            if sum(blocks) > limits.max_controls:
                raise SourceOverLimit(
                    "controls", "nested CONTROL blocks bring the control qubits to", sum(blocks),
                    limits.max_controls, number,
                )  # fmt: skip
            continue
        if keyword in ("ENDCONTROL", "ENDDAGGER"):
            if blocks:
                blocks.pop()
            continue
        total += qubits if _OIR_WHOLE_Q.search(rest) else 1
        if total > limits.max_gates:
            raise SourceOverLimit(
                "gates",
                "gate applications (whole registers expanded) number at least",
                total,
                limits.max_gates,
                number,
            )
    return total
