"""Reading OriginIR text into a ``QuantumCircuit``, with line and column on every error.

The gate matrices follow QPanda 2's ``QuantumGate.cpp``; the module docstring of
:mod:`openqpu.formats.originir` lists the conventions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Barrier, Gate, Instruction, Measure, Reset
from qiskit.circuit import library as lib

from openqpu.errors import CircuitSyntaxError

# A gate builder turns the evaluated parameters into a Qiskit gate and the global
# phase OriginIR's matrix has on top of it (non-zero only for U4), which becomes a
# real phase once the gate sits inside a CONTROL block.
Builder = Callable[[list[float]], tuple[Gate, float]]


def _plain(gate: type[Gate]) -> Builder:
    return lambda _: (gate(), 0.0)


def _u4(p: list[float]) -> tuple[Gate, float]:
    alpha, beta, gamma, delta = p
    # QPanda: U4 = exp(i alpha) RZ(beta) RY(gamma) RZ(delta) = exp(i(alpha - (beta + delta)/2)) U.
    return lib.UGate(gamma, beta, delta), alpha - (beta + delta) / 2


def _cu(p: list[float]) -> tuple[Gate, float]:
    alpha, beta, gamma, delta = p
    return lib.CUGate(gamma, beta, delta, alpha - (beta + delta) / 2), 0.0


# name: (qubits, parameters, builder)
GATES: dict[str, tuple[int, int, Builder]] = {
    "H": (1, 0, _plain(lib.HGate)),
    "X": (1, 0, _plain(lib.XGate)),
    "Y": (1, 0, _plain(lib.YGate)),
    "Z": (1, 0, _plain(lib.ZGate)),
    "S": (1, 0, _plain(lib.SGate)),
    "T": (1, 0, _plain(lib.TGate)),
    "I": (1, 0, _plain(lib.IGate)),
    "SX": (1, 0, _plain(lib.SXGate)),
    "X1": (1, 0, lambda _: (lib.RXGate(math.pi / 2), 0.0)),
    "Y1": (1, 0, lambda _: (lib.RYGate(math.pi / 2), 0.0)),
    "Z1": (1, 0, lambda _: (lib.RZGate(math.pi / 2), 0.0)),
    "RX": (1, 1, lambda p: (lib.RXGate(p[0]), 0.0)),
    "RY": (1, 1, lambda p: (lib.RYGate(p[0]), 0.0)),
    "RZ": (1, 1, lambda p: (lib.RZGate(p[0]), 0.0)),
    "U1": (1, 1, lambda p: (lib.PhaseGate(p[0]), 0.0)),
    "P": (1, 1, lambda p: (lib.PhaseGate(p[0]), 0.0)),
    "U2": (1, 2, lambda p: (lib.U2Gate(p[0], p[1]), 0.0)),
    "RPHI": (1, 2, lambda p: (lib.RGate(p[0], p[1]), 0.0)),
    "U3": (1, 3, lambda p: (lib.U3Gate(p[0], p[1], p[2]), 0.0)),
    "U4": (1, 4, _u4),
    "CNOT": (2, 0, _plain(lib.CXGate)),
    "CZ": (2, 0, _plain(lib.CZGate)),
    "SWAP": (2, 0, _plain(lib.SwapGate)),
    # pyqpanda3's ISWAP is Qiskit's (+i off the diagonal).
    "ISWAP": (2, 0, _plain(lib.iSwapGate)),
    "CR": (2, 1, lambda p: (lib.CPhaseGate(p[0]), 0.0)),
    "CP": (2, 1, lambda p: (lib.CPhaseGate(p[0]), 0.0)),
    "RXX": (2, 1, lambda p: (lib.RXXGate(p[0]), 0.0)),
    "RYY": (2, 1, lambda p: (lib.RYYGate(p[0]), 0.0)),
    "RZZ": (2, 1, lambda p: (lib.RZZGate(p[0]), 0.0)),
    "RZX": (2, 1, lambda p: (lib.RZXGate(p[0]), 0.0)),
    "CU": (2, 4, _cu),
    "TOFFOLI": (3, 0, _plain(lib.CCXGate)),
    "CSWAP": (3, 0, _plain(lib.CSwapGate)),
}

UNSUPPORTED = {
    "QIF": "classical control (QIF) is not supported",
    "ELSE": "classical control (QIF/ELSE) is not supported",
    "ENDQIF": "classical control (QIF) is not supported",
    "QWHILE": "classical loops (QWHILE) are not supported",
    "ENDQWHILE": "classical loops (QWHILE) are not supported",
    "QGATE": "gate definitions (QGATE) are not supported",
    "ENDQGATE": "gate definitions (QGATE) are not supported",
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"\d+")


@dataclass
class _Item:
    """One operation of a block: a gate (or barrier) on qubits, or a bare global phase.

    ``controls`` are the qubits of the enclosing ``CONTROL`` blocks, outermost first. They
    are applied once, when the circuit is built: controlling an already controlled gate
    again at each nested block makes Qiskit's definitions grow exponentially.
    """

    operation: Instruction | None
    qubits: tuple[int, ...] = ()
    phase: float = 0.0
    controls: tuple[int, ...] = ()


@dataclass
class _Block:
    kind: str  # "DAGGER" or "CONTROL"
    line: int
    controls: tuple[int, ...] = ()
    items: list[_Item] = field(default_factory=list)


class _Cursor:
    """Scans the operands of one statement; errors point at the current column."""

    def __init__(self, text: str, line: int, start: int) -> None:
        self.text = text
        self.line = line
        self.pos = start

    def error(self, detail: str, pos: int | None = None) -> CircuitSyntaxError:
        return CircuitSyntaxError(detail, self.line, (self.pos if pos is None else pos) + 1)

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r":
            self.pos += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def accept(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def expect(self, char: str, what: str) -> None:
        if not self.accept(char):
            found = self.peek() or "end of line"
            raise self.error(f"expected {what}, found '{found}'")

    def at_end(self) -> bool:
        return self.peek() == ""

    def match(self, pattern: re.Pattern[str], what: str) -> str:
        self.skip()
        found = pattern.match(self.text, self.pos)
        if found is None:
            raise self.error(f"expected {what}, found '{self.peek() or 'end of line'}'")
        self.pos = found.end()
        return found.group()

    def register(self, name: str, size: int) -> int | None:
        """``name[i]`` gives i (checked against ``size``); a bare ``name`` gives None."""
        start = self.pos
        word = self.match(_NAME, f"'{name}[...]'")
        if word != name:
            raise self.error(f"expected register '{name}', found '{word}'", start)
        if not self.accept("["):
            return None
        index_at = self.pos
        index = int(self.match(_INTEGER, "an index"))
        self.expect("]", "']'")
        if index >= size:
            raise self.error(
                f"index {name}[{index}] is out of range for a register of {size}", index_at
            )
        return index

    def parameters(self) -> list[float]:
        self.expect("(", "'(' before the parameters")
        values = [self.expression()]
        while self.accept(","):
            values.append(self.expression())
        self.expect(")", "')' after the parameters")
        return values

    # A tiny recursive-descent evaluator: numbers, pi, + - * / and parentheses.
    def expression(self) -> float:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.text[self.pos]
            self.pos += 1
            value = value + self.term() if op == "+" else value - self.term()
        return value

    def term(self) -> float:
        value = self.unary()
        while self.peek() in ("*", "/"):
            op = self.text[self.pos]
            at = self.pos
            self.pos += 1
            right = self.unary()
            if op == "*":
                value *= right
            elif right == 0:
                raise self.error("division by zero", at)
            else:
                value /= right
        return value

    def unary(self) -> float:
        if self.accept("-"):
            return -self.unary()
        if self.accept("+"):
            return self.unary()
        return self.atom()

    def atom(self) -> float:
        if self.accept("("):
            value = self.expression()
            self.expect(")", "')'")
            return value
        self.skip()
        word = _NAME.match(self.text, self.pos)
        if word is not None:
            if word.group().lower() != "pi":
                raise self.error(f"unknown name '{word.group()}' in a parameter (only pi)")
            self.pos = word.end()
            return math.pi
        return float(self.match(_NUMBER, "a number"))


def _strip_comment(text: str) -> str:
    cut = len(text)
    for marker in ("//", "#"):
        at = text.find(marker)
        if at != -1:
            cut = min(cut, at)
    return text[:cut]


def loads(text: str) -> QuantumCircuit:
    """Parse an OriginIR program (see :mod:`openqpu.formats.originir`)."""
    return _Parser().run(text)


class _Parser:
    def __init__(self) -> None:
        self.num_qubits: int | None = None
        self.num_clbits: int | None = None
        self.blocks: list[_Block] = []
        self.top: list[_Item | tuple[str, int, int]] = []
        self.global_phase = 0.0

    def run(self, text: str) -> QuantumCircuit:
        last_line = 1
        for number, raw in enumerate(text.splitlines(), start=1):
            body = _strip_comment(raw)
            if not body.strip():
                continue
            last_line = number
            self.statement(body, number)
        if self.num_qubits is None:
            raise CircuitSyntaxError("missing 'QINIT n' (the program declares no qubits)", 1, 1)
        if self.blocks:
            block = self.blocks[-1]
            raise CircuitSyntaxError(
                f"{block.kind} opened on line {block.line} is never closed "
                f"(expected END{block.kind})",
                last_line,
            )
        return self.build()

    def statement(self, body: str, line: int) -> None:
        cursor = _Cursor(body, line, 0)
        cursor.skip()
        start = cursor.pos
        keyword = cursor.match(_NAME, "a statement").upper()
        if keyword in UNSUPPORTED:
            raise cursor.error(UNSUPPORTED[keyword], start)
        if self.num_qubits is None:
            if keyword != "QINIT":
                raise cursor.error(f"expected 'QINIT n' before '{keyword}'", start)
            self.num_qubits = self.count(cursor, "QINIT", minimum=1)
        elif keyword == "QINIT":
            raise cursor.error("QINIT appears twice", start)
        elif keyword == "CREG":
            if self.num_clbits is not None:
                raise cursor.error("CREG appears twice", start)
            self.num_clbits = self.count(cursor, "CREG", minimum=0)
        elif keyword in GATES:
            self.gate(cursor, keyword)
        elif keyword in ("DAGGER", "CONTROL"):
            self.open_block(cursor, keyword)
        elif keyword in ("ENDDAGGER", "ENDCONTROL"):
            self.close_block(cursor, keyword[3:], start)
        elif keyword == "BARRIER":
            qubits = self.qubit_list(cursor, allow_register=True)
            if self.controls():
                raise cursor.error("BARRIER inside a CONTROL block", start)
            self.emit(_Item(Barrier(len(qubits)), qubits))
        elif keyword == "MEASURE":
            self.measure(cursor, start)
        elif keyword == "RESET":
            self.reset(cursor, start)
        else:
            raise cursor.error(f"unknown statement '{keyword}'", start)
        if not cursor.at_end():
            raise cursor.error(f"unexpected '{cursor.peek()}' after the statement")

    def count(self, cursor: _Cursor, keyword: str, *, minimum: int) -> int:
        cursor.skip()
        at = cursor.pos
        value = int(cursor.match(_INTEGER, f"a count after {keyword}"))
        if value < minimum:
            raise cursor.error(f"{keyword} needs at least {minimum}, got {value}", at)
        return value

    def qubit_list(self, cursor: _Cursor, *, allow_register: bool) -> tuple[int, ...]:
        assert self.num_qubits is not None
        qubits: list[int] = []
        while True:
            cursor.skip()
            at = cursor.pos
            index = cursor.register("q", self.num_qubits)
            if index is None:
                if not allow_register:
                    raise cursor.error("expected a qubit 'q[i]', found the whole register", at)
                qubits.extend(range(self.num_qubits))
            elif index in qubits:
                raise cursor.error(f"qubit q[{index}] is listed twice", at)
            else:
                qubits.append(index)
            if cursor.peek() != ",":
                return tuple(qubits)
            cursor.pos += 1

    def gate(self, cursor: _Cursor, name: str) -> None:
        assert self.num_qubits is not None
        arity, num_params, builder = GATES[name]
        targets: list[int | None] = []
        positions: list[int] = []
        while True:
            cursor.skip()
            positions.append(cursor.pos)
            targets.append(cursor.register("q", self.num_qubits))
            if not cursor.accept(","):
                break
            if cursor.peek() == "(":
                break
        params: list[float] = []
        if cursor.peek() == "(":
            cursor.skip()
            at = cursor.pos
            params = cursor.parameters()
            if len(params) != num_params:
                raise cursor.error(f"{name} takes {num_params} parameter(s), got {len(params)}", at)
        elif num_params:
            raise cursor.error(f"{name} takes {num_params} parameter(s), none given")
        if len(targets) != arity:
            raise cursor.error(f"{name} acts on {arity} qubit(s), got {len(targets)}", positions[0])
        for value in params:
            if not math.isfinite(value):
                raise cursor.error(f"{name} has a parameter that is not finite")
        if None in targets:
            if arity != 1:
                raise cursor.error("only one-qubit gates apply to a whole register", positions[0])
            qubit_lists: list[tuple[int, ...]] = [(q,) for q in range(self.num_qubits)]
        else:
            qubits = tuple(q for q in targets if q is not None)
            if len(set(qubits)) != len(qubits):
                raise cursor.error(f"{name} uses a qubit twice", positions[0])
            qubit_lists = [qubits]
        controls = self.controls()
        for qubits in qubit_lists:
            clash = set(qubits) & set(controls)
            if clash:
                raise cursor.error(
                    f"{name} acts on q[{min(clash)}], a control qubit of the enclosing "
                    "CONTROL block",
                    positions[0],
                )
            gate, phase = builder(params)
            self.emit(_Item(gate, qubits, phase))

    def controls(self) -> tuple[int, ...]:
        return tuple(q for block in self.blocks for q in block.controls)

    def emit(self, item: _Item) -> None:
        if self.blocks:
            self.blocks[-1].items.append(item)
        else:
            self.top.append(item)

    def open_block(self, cursor: _Cursor, kind: str) -> None:
        controls: tuple[int, ...] = ()
        if kind == "CONTROL":
            cursor.skip()
            at = cursor.pos
            controls = self.qubit_list(cursor, allow_register=False)
            if set(controls) & set(self.controls()):
                raise cursor.error("a qubit is already a control of an enclosing block", at)
        self.blocks.append(_Block(kind, cursor.line, controls))

    def close_block(self, cursor: _Cursor, kind: str, start: int) -> None:
        if not self.blocks:
            raise cursor.error(f"END{kind} without an open {kind}", start)
        block = self.blocks[-1]
        if block.kind != kind:
            raise cursor.error(
                f"END{kind} closes the {block.kind} opened on line {block.line}", start
            )
        if kind == "CONTROL" and not cursor.at_end():
            cursor.skip()
            at = cursor.pos
            if self.qubit_list(cursor, allow_register=False) != block.controls:
                raise cursor.error(
                    f"ENDCONTROL lists other qubits than the CONTROL on line {block.line}", at
                )
        self.blocks.pop()
        if kind == "DAGGER":
            for item in reversed(block.items):
                operation = item.operation.inverse() if item.operation is not None else None
                self.emit(_Item(operation, item.qubits, -item.phase, item.controls))
            return
        for item in block.items:
            controls = block.controls + item.controls
            self.emit(_Item(item.operation, item.qubits, item.phase, controls))

    def measure(self, cursor: _Cursor, start: int) -> None:
        assert self.num_qubits is not None
        if self.blocks:
            raise cursor.error(f"MEASURE inside a {self.blocks[-1].kind} block", start)
        if self.num_clbits is None:
            raise cursor.error("MEASURE before 'CREG n' declared classical bits", start)
        qubit = cursor.register("q", self.num_qubits)
        cursor.expect(",", "',' between the qubit and the classical bit")
        cursor.skip()
        at = cursor.pos
        clbit = cursor.register("c", self.num_clbits)
        if (qubit is None) != (clbit is None):
            raise cursor.error("MEASURE pairs q[i] with c[j], or q with c", at)
        if qubit is None or clbit is None:
            if self.num_clbits < self.num_qubits:
                raise cursor.error(
                    f"MEASURE q,c needs {self.num_qubits} classical bits, "
                    f"CREG has {self.num_clbits}",
                    start,
                )
            self.top.extend(("measure", q, q) for q in range(self.num_qubits))
        else:
            self.top.append(("measure", qubit, clbit))

    def reset(self, cursor: _Cursor, start: int) -> None:
        assert self.num_qubits is not None
        if self.blocks:
            raise cursor.error(f"RESET inside a {self.blocks[-1].kind} block", start)
        qubits = self.qubit_list(cursor, allow_register=True)
        self.top.extend(("reset", q, 0) for q in qubits)

    def build(self) -> QuantumCircuit:
        assert self.num_qubits is not None
        qreg = QuantumRegister(self.num_qubits, "q")
        creg = ClassicalRegister(self.num_clbits or 0, "c")
        circuit = QuantumCircuit(qreg, creg)
        for entry in self.top:
            if isinstance(entry, tuple):
                kind, qubit, clbit = entry
                if kind == "measure":
                    circuit.append(Measure(), [qreg[qubit]], [creg[clbit]], copy=False)
                else:
                    circuit.append(Reset(), [qreg[qubit]], copy=False)
            elif entry.controls:
                for item in _controlled(entry, entry.controls):
                    circuit.append(item.operation, [qreg[q] for q in item.qubits], copy=False)
            elif entry.operation is None:
                circuit.global_phase += entry.phase
            else:
                circuit.append(entry.operation, [qreg[q] for q in entry.qubits], copy=False)
                circuit.global_phase += entry.phase
        return circuit


def _controlled(item: _Item, controls: tuple[int, ...]) -> list[_Item]:
    """``item`` with extra controls; its global phase becomes a (multi-)controlled phase."""
    items = []
    if item.operation is not None:
        items.append(
            _Item(item.operation.control(len(controls), annotated=False), controls + item.qubits)
        )
    if item.phase:
        gate: Gate = lib.PhaseGate(item.phase)
        if len(controls) > 1:
            gate = gate.control(len(controls) - 1, annotated=False)
        items.append(_Item(gate, controls))
    return items
