"""OriginIR: gate matrices against Qiskit and QPanda's formulas, blocks, round trips, errors."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.circuit import library as lib
from qiskit.quantum_info import Operator

from openqpu import sim
from openqpu.errors import CircuitSyntaxError, OpenQPUError, UnsupportedInstruction
from openqpu.formats.originir import dumps, is_originir, loads

DATA = Path(__file__).parents[1] / "data" / "originir"
A, B, C, D = 0.3, -1.1, 0.7, 2.4


def qpanda_u4(alpha: float, beta: float, gamma: float, delta: float) -> np.ndarray:
    """QPanda 2's U4 matrix, written out from its definition (QuantumGate.cpp)."""
    c, s = math.cos(gamma / 2), math.sin(gamma / 2)
    return np.array(
        [
            [
                np.exp(1j * (alpha - beta / 2 - delta / 2)) * c,
                -np.exp(1j * (alpha - beta / 2 + delta / 2)) * s,
            ],
            [
                np.exp(1j * (alpha + beta / 2 - delta / 2)) * s,
                np.exp(1j * (alpha + beta / 2 + delta / 2)) * c,
            ],
        ]
    )


def controlled_on_first(u: np.ndarray) -> np.ndarray:
    """``u`` on qubit 1 controlled by qubit 0, in Qiskit's little-endian order."""
    full = np.eye(4, dtype=complex)
    # Control q0 = 1 means indices 1 (q1=0) and 3 (q1=1).
    full[np.ix_([1, 3], [1, 3])] = u
    return full


def one(gate: Callable[[QuantumCircuit], object], num_qubits: int) -> Operator:
    circuit = QuantumCircuit(num_qubits)
    gate(circuit)
    return Operator(circuit)


# (OriginIR statement, qubits, exact expected operator): phases matter, because a
# CONTROL block turns a gate's global phase into a relative one.
GATE_CASES: list[tuple[str, int, Operator]] = [
    ("H q[0]", 1, Operator(lib.HGate())),
    ("X q[0]", 1, Operator(lib.XGate())),
    ("Y q[0]", 1, Operator(lib.YGate())),
    ("Z q[0]", 1, Operator(lib.ZGate())),
    ("S q[0]", 1, Operator(lib.SGate())),
    ("T q[0]", 1, Operator(lib.TGate())),
    ("I q[0]", 1, Operator(lib.IGate())),
    ("SX q[0]", 1, Operator(lib.SXGate())),
    ("X1 q[0]", 1, Operator(lib.RXGate(math.pi / 2))),
    ("Y1 q[0]", 1, Operator(lib.RYGate(math.pi / 2))),
    ("Z1 q[0]", 1, Operator(np.diag([np.exp(-1j * math.pi / 4), np.exp(1j * math.pi / 4)]))),
    (f"RX q[0],({A})", 1, Operator(lib.RXGate(A))),
    (f"RY q[0],({A})", 1, Operator(lib.RYGate(A))),
    (f"RZ q[0],({A})", 1, Operator(np.diag([np.exp(-0.5j * A), np.exp(0.5j * A)]))),
    (f"U1 q[0],({A})", 1, Operator(np.diag([1, np.exp(1j * A)]))),
    (f"P q[0],({A})", 1, Operator(lib.PhaseGate(A))),
    (f"U2 q[0],({A},{B})", 1, Operator(lib.U2Gate(A, B))),
    (f"U3 q[0],({A},{B},{C})", 1, Operator(lib.U3Gate(A, B, C))),
    (f"U4 q[0],({A},{B},{C},{D})", 1, Operator(qpanda_u4(A, B, C, D))),
    (
        f"RPHI q[0],({A},{B})",
        1,
        Operator(
            np.array(
                [
                    [math.cos(A / 2), -1j * np.exp(-1j * B) * math.sin(A / 2)],
                    [-1j * np.exp(1j * B) * math.sin(A / 2), math.cos(A / 2)],
                ]
            )
        ),
    ),
    ("CNOT q[0],q[1]", 2, one(lambda c: c.cx(0, 1), 2)),
    ("CZ q[0],q[1]", 2, one(lambda c: c.cz(0, 1), 2)),
    ("SWAP q[0],q[1]", 2, one(lambda c: c.swap(0, 1), 2)),
    # pyqpanda3's ISWAP (its gate matrix and its OriginIR converter): |01> -> i|10>.
    (
        "ISWAP q[0],q[1]",
        2,
        Operator(np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]])),
    ),
    (f"CR q[0],q[1],({A})", 2, Operator(np.diag([1, 1, 1, np.exp(1j * A)]))),
    (f"CP q[0],q[1],({A})", 2, one(lambda c: c.cp(A, 0, 1), 2)),
    (f"RXX q[0],q[1],({A})", 2, one(lambda c: c.rxx(A, 0, 1), 2)),
    (f"RYY q[0],q[1],({A})", 2, one(lambda c: c.ryy(A, 0, 1), 2)),
    (f"RZZ q[0],q[1],({A})", 2, one(lambda c: c.rzz(A, 0, 1), 2)),
    (f"RZX q[0],q[1],({A})", 2, one(lambda c: c.rzx(A, 0, 1), 2)),
    (f"CU q[0],q[1],({A},{B},{C},{D})", 2, Operator(controlled_on_first(qpanda_u4(A, B, C, D)))),
    ("TOFFOLI q[0],q[1],q[2]", 3, one(lambda c: c.ccx(0, 1, 2), 3)),
    ("CSWAP q[0],q[1],q[2]", 3, one(lambda c: c.cswap(0, 1, 2), 3)),
]


@pytest.mark.parametrize(
    ("statement", "num_qubits", "expected"), GATE_CASES, ids=lambda x: str(x)[:12]
)
def test_originir_gate_matrix_is_exact(statement: str, num_qubits: int, expected: Operator) -> None:
    circuit = loads(f"QINIT {num_qubits}\n{statement}\n")
    assert Operator(circuit) == expected


def test_originir_rzx_puts_z_on_the_first_qubit() -> None:
    # exp(-i a/2 Z(q0) X(q1)): Z on the first listed qubit, as an independent matrix.
    z, x = np.diag([1, -1]), np.array([[0, 1], [1, 0]])
    generator = np.kron(x, z)  # Qiskit order: q1 is the left factor.
    expected = np.cos(A / 2) * np.eye(4) - 1j * np.sin(A / 2) * generator
    assert Operator(loads(f"QINIT 2\nRZX q[0],q[1],({A})\n")) == Operator(expected)


@pytest.mark.parametrize(
    ("statement", "num_qubits", "expected"), GATE_CASES, ids=lambda x: str(x)[:12]
)
def test_originir_gate_under_control_keeps_its_phase(
    statement: str, num_qubits: int, expected: Operator
) -> None:
    # The control is the last qubit, the gate's own qubits are unchanged.
    control = num_qubits
    circuit = loads(f"QINIT {num_qubits + 1}\nCONTROL q[{control}]\n{statement}\nENDCONTROL\n")
    dim = 2**num_qubits
    full = np.eye(2 * dim, dtype=complex)
    full[dim:, dim:] = expected.data
    assert Operator(circuit) == Operator(full)


@pytest.mark.parametrize(
    ("statement", "num_qubits", "expected"), GATE_CASES, ids=lambda x: str(x)[:12]
)
def test_originir_gate_dagger_is_the_inverse(
    statement: str, num_qubits: int, expected: Operator
) -> None:
    circuit = loads(f"QINIT {num_qubits}\nDAGGER\n{statement}\nENDDAGGER\n")
    assert Operator(circuit) == expected.adjoint()


def test_originir_nested_dagger_and_control_blocks() -> None:
    source = """QINIT 4
DAGGER
  CONTROL q[0]
    U4 q[1],(0.1,0.2,0.3,0.4)
    CONTROL q[2], q[3]
      RX q[1],(0.4)
      DAGGER
        S q[1]
        T q[1]
      ENDDAGGER
    ENDCONTROL
  ENDCONTROL q[0]
  H q[2]
ENDDAGGER
"""
    forward = QuantumCircuit(4)
    u4 = QuantumCircuit(1, global_phase=0.1 - (0.2 + 0.4) / 2)
    u4.u(0.3, 0.2, 0.4, 0)
    forward.append(u4.to_gate().control(1, annotated=False), [0, 1])
    forward.append(lib.RXGate(0.4).control(3, annotated=False), [0, 2, 3, 1])
    forward.append(lib.TdgGate().control(3, annotated=False), [0, 2, 3, 1])
    forward.append(lib.SdgGate().control(3, annotated=False), [0, 2, 3, 1])
    forward.h(2)
    assert Operator(loads(source)) == Operator(forward.inverse())


def test_originir_control_of_u4_equals_cu() -> None:
    params = f"({A},{B},{C},{D})"
    blocked = loads(f"QINIT 2\nCONTROL q[0]\nU4 q[1],{params}\nENDCONTROL\n")
    direct = loads(f"QINIT 2\nCU q[0],q[1],{params}\n")
    assert Operator(blocked) == Operator(direct)


def test_originir_broadcast_measure_barrier_and_reset_over_the_register() -> None:
    circuit = loads("QINIT 3\nCREG 3\nH q\nBARRIER q\nRESET q\nX q\nMEASURE q,c\n")
    ops = circuit.count_ops()
    assert ops["h"] == 3 and ops["x"] == 3 and ops["reset"] == 3 and ops["measure"] == 3
    barrier = next(i for i in circuit.data if i.operation.name == "barrier")
    assert len(barrier.qubits) == 3
    assert sim.sample(circuit, 20, seed=1) == {"111": 20}


def test_originir_classical_bit_order_is_qiskits() -> None:
    # c[0] is the rightmost character of a counts key.
    circuit = loads("QINIT 2\nCREG 3\nX q[0]\nMEASURE q[0],c[0]\nMEASURE q[1],c[2]\n")
    assert [r.name for r in circuit.qregs] == ["q"] and [r.name for r in circuit.cregs] == ["c"]
    assert sim.sample(circuit, 10, seed=2) == {"001": 10}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("pi/4", math.pi / 4),
        ("-1.5707963", -1.5707963),
        (" 2 * ( pi - 1 ) / -3 ", 2 * (math.pi - 1) / -3),
        ("1e-3", 1e-3),
        ("-pi", -math.pi),
        ("+.5", 0.5),
        ("PI*2-1-1", 2 * math.pi - 2),
    ],
)
def test_originir_parameter_expressions(text: str, value: float) -> None:
    circuit = loads(f"QINIT 1\nRZ  q[0] ,  ({text})\n")
    assert float(circuit.data[0].operation.params[0]) == pytest.approx(value, abs=1e-15)


def test_originir_comments_blank_lines_and_spacing() -> None:
    source = (
        "\n// header\n# another\n  QINIT 2 // two qubits\n\nCREG 2\n  CNOT  q[0] , q[1]  # cx\n"
    )
    circuit = loads(source)
    assert circuit.num_qubits == 2 and circuit.count_ops() == {"cx": 1}


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("H q[0]\n", r"^1:1: expected 'QINIT n' before 'H'"),
        ("// only a comment\n", r"^1:1: missing 'QINIT n'"),
        ("QINIT 2\nCREG 2\nH q[2]\n", r"^3:5: index q\[2\] is out of range for a register of 2"),
        ("QINIT 2\n\nQIF c[0]\n", r"^3:1: classical control \(QIF\)"),
        ("QINIT 2\nQWHILE c[0]\n", r"^2:1: classical loops \(QWHILE\)"),
        ("QINIT 2\nQGATE foo a\n", r"^2:1: gate definitions \(QGATE\)"),
        ("QINIT 2\nCREG 2\nFOO q[0]\n", r"^3:1: unknown statement 'FOO'"),
        ("QINIT 2\nCREG 2\nCNOT q[0]\n", r"^3:6: CNOT acts on 2 qubit\(s\), got 1"),
        ("QINIT 2\nCREG 2\nRX q[0],(1,2)\n", r"^3:9: RX takes 1 parameter\(s\), got 2"),
        ("QINIT 2\nCREG 2\nRX q[0]\n", r"^3:8: RX takes 1 parameter\(s\), none given"),
        ("QINIT 2\nCREG 2\nH q[0],(1)\n", r"^3:8: H takes 0 parameter\(s\), got 1"),
        ("QINIT 2\nCNOT q[1],q[1]\n", r"^2:6: CNOT uses a qubit twice"),
        ("QINIT 2\nCNOT q,q[1]\n", r"^2:6: only one-qubit gates apply to a whole register"),
        ("QINIT 2\nRZ q[0],(x)\n", r"^2:10: unknown name 'x'"),
        ("QINIT 2\nRZ q[0],(1/0)\n", r"^2:11: division by zero"),
        ("QINIT 2\nRZ q[0],(1+)\n", r"^2:12: expected a number"),
        ("QINIT 2\nH q[0] q[1]\n", r"^2:8: unexpected 'q' after the statement"),
        ("QINIT 2\nDAGGER\nH q[0]\n", r"^3: DAGGER opened on line 2 is never closed"),
        ("QINIT 2\nH q[0]\nENDDAGGER\n", r"^3:1: ENDDAGGER without an open DAGGER"),
        ("QINIT 2\nDAGGER\nENDCONTROL\n", r"^3:1: ENDCONTROL closes the DAGGER opened on line 2"),
        ("QINIT 3\nCONTROL q[0]\nX q[1]\nENDCONTROL q[2]\n", r"^4:12: ENDCONTROL lists other"),
        ("QINIT 2\nCONTROL q[0]\nX q[0]\nENDCONTROL\n", r"^3:3: X acts on q\[0\], a control qubit"),
        ("QINIT 2\nCONTROL q[0]\nCONTROL q[0]\n", r"^3:9: a qubit is already a control"),
        ("QINIT 2\nCREG 1\nDAGGER\nMEASURE q[0],c[0]\n", r"^4:1: MEASURE inside a DAGGER block"),
        ("QINIT 2\nCONTROL q[0]\nBARRIER q\n", r"^3:1: BARRIER inside a CONTROL block"),
        ("QINIT 2\nMEASURE q[0],c[0]\n", r"^2:1: MEASURE before 'CREG n'"),
        ("QINIT 2\nCREG 1\nMEASURE q,c\n", r"^3:1: MEASURE q,c needs 2 classical bits, CREG has 1"),
        ("QINIT 2\nCREG 2\nMEASURE q[0],c\n", r"^3:14: MEASURE pairs q\[i\] with c\[j\]"),
        ("QINIT 2\nQINIT 2\n", r"^2:1: QINIT appears twice"),
        ("QINIT 0\n", r"^1:7: QINIT needs at least 1, got 0"),
        ("QINIT 2\nCREG 1\nMEASURE q[0] c[0]\n", r"^3:14: expected ',' between the qubit"),
    ],
)
def test_originir_syntax_errors_name_line_and_column(source: str, match: str) -> None:
    with pytest.raises(CircuitSyntaxError, match=match) as caught:
        loads(source)
    line = re.match(r"\^(\d+)", match)
    assert line is not None and caught.value.line == int(line.group(1))


# Qiskit gates with an OriginIR statement, with their parameter counts.
ROUND_TRIP_GATES: list[tuple[str, int, int]] = [
    ("h", 1, 0), ("x", 1, 0), ("y", 1, 0), ("z", 1, 0), ("s", 1, 0), ("t", 1, 0),
    ("sdg", 1, 0), ("tdg", 1, 0), ("sx", 1, 0), ("sxdg", 1, 0), ("rx", 1, 1), ("ry", 1, 1),
    ("rz", 1, 1), ("p", 1, 1), ("u", 1, 3), ("r", 1, 2), ("cx", 2, 0), ("cz", 2, 0),
    ("cy", 2, 0), ("ch", 2, 0), ("swap", 2, 0), ("iswap", 2, 0), ("cp", 2, 1), ("crx", 2, 1),
    ("rxx", 2, 1), ("ryy", 2, 1), ("rzz", 2, 1), ("rzx", 2, 1), ("cu", 2, 4), ("ccx", 3, 0),
    ("cswap", 3, 0), ("ecr", 2, 0), ("dcx", 2, 0),
]  # fmt: skip


@st.composite
def random_circuits(draw: st.DrawFn) -> QuantumCircuit:
    num_qubits = draw(st.integers(3, 4))
    circuit = QuantumCircuit(num_qubits)
    angles = st.floats(-2 * math.pi, 2 * math.pi, allow_nan=False)
    for _ in range(draw(st.integers(1, 12))):
        name, arity, num_params = draw(st.sampled_from(ROUND_TRIP_GATES))
        qubits = draw(st.permutations(range(num_qubits)))[:arity]
        params = [draw(angles) for _ in range(num_params)]
        getattr(circuit, name)(*params, *qubits)
    return circuit


@settings(max_examples=60, deadline=None)
@given(random_circuits())
def test_originir_round_trip_keeps_the_unitary(circuit: QuantumCircuit) -> None:
    text = dumps(circuit)
    back = loads(text)
    assert Operator(back).equiv(Operator(circuit))
    assert dumps(back) == text or Operator(loads(dumps(back))).equiv(Operator(circuit))


def test_originir_dumps_writes_gates_directly() -> None:
    circuit = QuantumCircuit(3, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cu(A, B, C, D, 1, 2)
    circuit.iswap(0, 2)
    circuit.mcx([0, 1], 2)
    circuit.ch(2, 0)
    circuit.barrier(0, 1)
    circuit.measure(1, 0)
    circuit.reset(2)
    text = dumps(circuit)
    assert text.splitlines() == [
        "QINIT 3",
        "CREG 2",
        "H q[0]",
        "CNOT q[0],q[1]",
        f"CU q[1],q[2],({D + (B + C) / 2!r},{B!r},{A!r},{C!r})",
        "ISWAP q[0],q[2]",
        "TOFFOLI q[0],q[1],q[2]",
        "CONTROL q[2]",
        "H q[0]",
        "ENDCONTROL",
        "BARRIER q[0],q[1]",
        "MEASURE q[1],c[0]",
        "RESET q[2]",
    ]
    without = circuit.copy()
    without.data = [i for i in circuit.data if i.operation.name not in ("measure", "reset")]
    back = loads(text)
    back.data = [i for i in back.data if i.operation.name not in ("measure", "reset")]
    assert Operator(back) == Operator(without)


def test_originir_dumps_transpiles_gates_without_an_equivalent() -> None:
    circuit = QuantumCircuit(3)
    circuit.append(lib.QFTGate(3), [0, 1, 2])
    circuit.append(lib.UnitaryGate(Operator(lib.ECRGate()).data), [2, 0])
    text = dumps(circuit)
    assert "QFT" not in text and "unitary" not in text
    assert Operator(loads(text)).equiv(Operator(circuit))


def test_originir_dumps_refuses_conditional_circuits() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(0)
    with pytest.raises(UnsupportedInstruction, match="'if_else': OriginIR output has no"):
        dumps(circuit)


def test_originir_dumps_refuses_unbound_parameters() -> None:
    circuit = QuantumCircuit(1)
    circuit.rx(Parameter("theta"), 0)
    with pytest.raises(OpenQPUError, match=r"bind the circuit's parameters \(theta\)"):
        dumps(circuit)


def test_originir_detection() -> None:
    assert is_originir("// made by hand\n\n# note\n  QINIT 2\nH q[0]\n")
    assert is_originir((DATA / "bell.ir").read_text())
    assert not is_originir('OPENQASM 2.0;\ninclude "qelib1.inc";\n')
    assert not is_originir("UUlTS1FQWQ==")
    assert not is_originir("QINITS")


def test_originir_example_files_run_on_the_engine() -> None:
    bell = sim.sample(loads((DATA / "bell.ir").read_text()), 200, seed=5)
    assert set(bell) == {"00", "11"}
    assert sim.sample(loads((DATA / "features.ir").read_text()), 50, seed=5) == {"110": 50}


def test_originir_files_are_sent_as_text_by_the_sdk() -> None:
    from openqpu.client.payload import encode_circuits

    path = DATA / "bell.ir"
    assert encode_circuits(str(path)) == [path.read_text()]
    assert encode_circuits(path) == [path.read_text()]
