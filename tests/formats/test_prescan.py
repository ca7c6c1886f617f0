"""The pre-scan bounds a source's work before parsing: registers, expanded gates, nesting."""

from __future__ import annotations

import pickle
import time

import pytest
from hypothesis import HealthCheck, given, settings

from openqpu.formats import originir, qasm
from openqpu.formats.prescan import ScanLimits, SourceOverLimit, prescan
from tests.formats.conftest import (
    declaration_source,
    large_declarations,
    nested_definitions,
    nested_source,
)

LIMITS = ScanLimits(
    max_qubits=72, max_clbits=4_096, max_gates=100_000, max_nesting=8, max_controls=16
)


def _scan(source: str, fmt: str, limits: ScanLimits = LIMITS) -> int:
    return prescan(source, "originir" if fmt == "originir" else "qasm", limits)


@pytest.mark.parametrize("fmt", ["qasm2", "qasm3", "originir"])
def test_prescan_refuses_huge_registers_naming_limit_value_and_line(fmt: str) -> None:
    source = declaration_source(fmt, True, 10_000_000)
    with pytest.raises(SourceOverLimit, match=r"10,000,000, over the limit of 72") as info:
        _scan(source, fmt)
    assert info.value.limit == "qubits" and info.value.value == 10_000_000
    assert info.value.line == (1 if fmt == "originir" else 3)
    with pytest.raises(SourceOverLimit, match=r"100,000,000, over the limit of 4,096"):
        _scan(declaration_source(fmt, False, 100_000_000), fmt)


def test_prescan_counts_registers_together_and_survives_absurd_sizes() -> None:
    source = "OPENQASM 2.0;\nqreg a[40];\nqreg b[40];\n"
    with pytest.raises(SourceOverLimit, match=r"line 3: qreg b brings the declared qubits to 80"):
        _scan(source, "qasm2")
    with pytest.raises(SourceOverLimit, match="over 30 digits"):
        _scan("OPENQASM 3.0;\nqubit[" + "9" * 5000 + "] q;\n", "qasm3")


@pytest.mark.parametrize("fmt", ["qasm2", "qasm3"])
def test_prescan_expands_definitions_recursively(fmt: str) -> None:
    assert _scan(nested_source(fmt, 5, 3), fmt) == 3**4 + 1  # and one measurement
    with pytest.raises(SourceOverLimit, match=r"line 11: gate g9 nests gate definitions to a "
                       r"depth of 9, over the limit of 8") as info:  # fmt: skip
        _scan(nested_source(fmt, 40, 2), fmt)
    assert info.value.limit == "nesting"
    wide = LIMITS.__class__(72, 4_096, 1_000, 8, 16)
    with pytest.raises(SourceOverLimit, match=r"number at least 1,001, over the limit of 1,000"):
        _scan(nested_source(fmt, 8, 3), fmt, wide)


def test_prescan_broadcasts_registers_loops_and_modifiers() -> None:
    source = "OPENQASM 2.0;\nqreg q[50];\ncreg c[50];\nh q;\nmeasure q -> c;\n"
    assert _scan(source, "qasm2") == 100
    loop = "OPENQASM 3.0;\nqubit[2] q;\nfor int i in [0:9999] { h q[0]; cx q[0], q[1]; }\n"
    assert _scan(loop, "qasm3") == 20_000
    controlled = "OPENQASM 3.0;\nqubit[30] q;\nctrl(20) @ x q[0], q[1];\n"
    with pytest.raises(
        SourceOverLimit, match="control qubits of x number 20, over the limit of 16"
    ):
        _scan(controlled, "qasm3")


def test_prescan_bounds_originir_blocks_and_whole_registers() -> None:
    with pytest.raises(SourceOverLimit, match=r"line 11: CONTROL/DAGGER blocks nest to a depth "
                       r"of 9, over the limit of 8"):  # fmt: skip
        _scan(nested_source("originir", 39, 1), "originir")
    many = "QINIT 20\nCREG 20\n" + "CONTROL q[1],q[2],q[3],q[4],q[5],q[6],q[7],q[8],q[9]\n" * 2
    with pytest.raises(SourceOverLimit, match="control qubits to 18, over the limit of 16"):
        _scan(many, "originir")
    assert _scan("QINIT 10\nCREG 10\nH q\nMEASURE q,c\n", "originir") == 20


def test_nested_control_blocks_parse_fast_and_equal_one_multi_controlled_gate() -> None:
    from qiskit.quantum_info import Operator

    nested = originir.loads(nested_source("originir", 8, 1))
    flat = originir.loads(
        "QINIT 9\nCREG 1\nCONTROL " + ",".join(f"q[{i}]" for i in range(1, 9))
        + "\nH q[0]\nENDCONTROL\nMEASURE q[0],c[0]\n"
    )  # fmt: skip
    assert Operator(nested.remove_final_measurements(inplace=False)) == Operator(
        flat.remove_final_measurements(inplace=False)
    )


def test_source_over_limit_survives_pickling() -> None:
    with pytest.raises(SourceOverLimit) as info:
        _scan(declaration_source("qasm2", True, 100), "qasm2")
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value) and again.line == info.value.line


_HYPOTHESIS = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@_HYPOTHESIS
@given(case=nested_definitions())
def test_hypothesis_nested_definitions_are_refused_or_parse_quickly(
    case: tuple[str, str, str | None],
) -> None:
    source, fmt, expected = case
    start = time.perf_counter()
    if expected is None:
        assert _scan(source, fmt) >= 1
    else:
        with pytest.raises(SourceOverLimit) as info:
            _scan(source, fmt)
        assert info.value.limit == expected
    assert time.perf_counter() - start < 0.5


@_HYPOTHESIS
@given(case=large_declarations(max_qubits=72))
def test_hypothesis_large_declarations_are_refused_before_parsing(
    case: tuple[str, str, str | None],
) -> None:
    source, fmt, expected = case
    if expected is None:
        _scan(source, fmt)
        reader = originir.loads if fmt == "originir" else qasm.loads
        circuit = reader(source)  # what passes the scan is small enough to parse
        assert circuit.num_qubits <= 72 and circuit.num_clbits <= 4_096
    else:
        with pytest.raises(SourceOverLimit) as info:
            _scan(source, fmt)
        assert info.value.limit == expected
