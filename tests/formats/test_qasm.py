"""OpenQASM 2 and 3 import, version detection and positioned syntax errors."""

from __future__ import annotations

import re

import pytest

from openqpu.errors import CircuitSyntaxError
from openqpu.formats import detect_qasm_version, loads

QASM2_LEGACY = """// a file from an older toolchain
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
cu1(pi/4) q[0],q[1];
rzz(0.2) q[1],q[2];
rccx q[0],q[1],q[2];
measure q -> c;
"""


def test_qasm_detects_versions() -> None:
    assert detect_qasm_version(QASM2_LEGACY) == 2
    assert detect_qasm_version("/* x */ OPENQASM 3.0;\nqubit q;") == 3
    assert detect_qasm_version("OPENQASM 3;\nqubit q;") == 3


def test_qasm2_loads_legacy_gates() -> None:
    circuit = loads(QASM2_LEGACY)
    assert circuit.num_qubits == 3
    assert [i.operation.name for i in circuit.data][:3] == ["cu1", "rzz", "rccx"]


def test_qasm3_loads() -> None:
    circuit = loads('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0];\ncx q[0], q[1];')
    assert circuit.num_qubits == 2


def test_qasm2_syntax_error_has_line_and_column() -> None:
    source = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0],q[1];\n'
    with pytest.raises(CircuitSyntaxError, match=r"^5:1: ") as caught:
        loads(source)
    assert (caught.value.line, caught.value.column) == (5, 1)


def test_qasm2_unknown_gate_points_at_it() -> None:
    with pytest.raises(CircuitSyntaxError, match="'foo' is not defined") as caught:
        loads('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\n  foo q[0];\n')
    assert (caught.value.line, caught.value.column) == (4, 3)


def test_qasm3_syntax_error_has_line_and_column() -> None:
    source = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0]\ncx q[0], q[1];'
    with pytest.raises(CircuitSyntaxError, match=r"^5:1: syntax error at 'cx'"):
        loads(source)


def test_qasm3_semantic_error_has_line_and_column() -> None:
    with pytest.raises(CircuitSyntaxError, match=r"^4:1: gate 'foo' is not defined"):
        loads('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nfoo q[0];\n')


def test_qasm_missing_header_is_reported() -> None:
    with pytest.raises(
        CircuitSyntaxError, match=re.escape("missing 'OPENQASM 2.0;' or 'OPENQASM 3.0;'")
    ):
        loads("qreg q[1];")


def test_qasm2_without_header_but_qelib1_is_read_as_qasm2_with_a_warning() -> None:
    from openqpu.formats.qasm import MissingQasmHeader, missing_header_warning

    # As public benchmark suites publish them: the OPENQASM line left out.
    source = '// bell\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\n'
    assert detect_qasm_version(source) == 2
    with pytest.warns(MissingQasmHeader, match=r"read as OpenQASM 2 because it includes"):
        circuit = loads(source)
    assert circuit.count_ops() == {"h": 1, "cx": 1}
    assert missing_header_warning(source) is not None
    assert missing_header_warning("OPENQASM 2.0;\n" + source) is None
    # Lines keep their numbers: an error points where the file has it.
    with pytest.raises(CircuitSyntaxError, match=r"^7:11: index 9 is out-of-range"):
        with pytest.warns(MissingQasmHeader):
            loads(source + "cx q[0],q[9];\n")
    # An include in a comment does not make a file OpenQASM.
    assert missing_header_warning('// include "qelib1.inc";\nqreg q[1];') is None


def test_qasm2_gates_other_sdks_write_without_declaring_them() -> None:
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Operator

    source = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\n'
        "ryy(0.3) q[0],q[1];\niswap q[1],q[2];\necr q[0],q[2];\nccz q[0],q[1],q[2];\n"
    )
    circuit = loads(source)
    expected = QuantumCircuit(3)
    expected.ryy(0.3, 0, 1)
    expected.iswap(1, 2)
    expected.ecr(0, 2)
    expected.ccz(0, 1, 2)
    assert Operator(circuit).equiv(Operator(expected))
    # A file that defines one of them itself still loads.
    declared = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
        "gate iswap a,b { s a; s b; h a; cx a,b; cx b,a; h b; }\nqreg q[2];\niswap q[0],q[1];\n"
    )
    assert loads(declared).count_ops() == {"iswap": 1}
