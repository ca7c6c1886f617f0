"""Hypothesis strategies for hostile circuit sources: nested definitions, huge declarations.

Shared by the pre-scan's unit tests and the service's fuzz tests. Each strategy gives
``(source, fmt, expected)`` where ``expected`` is the limit a default server refuses the
source for (``"nesting"``, ``"qubits"``, ``"classical bits"``), or None.
"""

from __future__ import annotations

from hypothesis import strategies as st

FORMATS = ("qasm2", "qasm3", "originir")
# The defaults of openqpu.service.settings.Settings that these shapes run into.
MAX_NESTING = 8
MAX_CLBITS = 4_096


def nested_source(fmt: str, depth: int, width: int) -> str:
    """Gate ``g{depth}`` defined as ``width`` uses of ``g{depth-1}``, down to ``g1 = h``.

    OriginIR has no gate definitions: ``depth`` nested ``CONTROL`` blocks around one ``H``.
    """
    if fmt == "originir":
        opened = "".join(f"CONTROL q[{level}]\n" for level in range(1, depth + 1))
        closed = "ENDCONTROL\n" * depth
        return f"QINIT {depth + 1}\nCREG 1\n{opened}H q[0]\n{closed}MEASURE q[0],c[0]\n"
    header = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
        if fmt == "qasm2"
        else 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
    )
    gates = "gate g1 a { h a; }\n" + "".join(
        f"gate g{level} a {{ {f'g{level - 1} a; ' * width}}}\n" for level in range(2, depth + 1)
    )
    register = "qreg q[1];\ncreg c[1];\n" if fmt == "qasm2" else "qubit[1] q;\nbit[1] c;\n"
    measure = "measure q[0] -> c[0];\n" if fmt == "qasm2" else "c[0] = measure q[0];\n"
    return header + gates + register + f"g{depth} q[0];\n" + measure


@st.composite
def nested_definitions(draw: st.DrawFn) -> tuple[str, str, str | None]:
    """Definitions (OriginIR: CONTROL blocks) nested 1 to 40 deep, 1 to 3 uses a level."""
    fmt = draw(st.sampled_from(FORMATS))
    depth = draw(st.integers(1, 40))
    width = draw(st.integers(1, 3)) if depth <= MAX_NESTING else 2
    expected = "nesting" if depth > MAX_NESTING else None
    return nested_source(fmt, depth, width), fmt, expected


def declaration_source(fmt: str, quantum: bool, size: int) -> str:
    """A program that declares ``size`` qubits (or classical bits) and applies one gate."""
    if fmt == "originir":
        return f"QINIT {size}\nCREG 1\nH q[0]\n" if quantum else f"QINIT 2\nCREG {size}\nH q[0]\n"
    if fmt == "qasm2":
        declared = f"qreg q[{size}];\ncreg c[1];\n" if quantum else f"qreg q[2];\ncreg c[{size}];\n"
        return f'OPENQASM 2.0;\ninclude "qelib1.inc";\n{declared}h q[0];\n'
    declared = f"qubit[{size}] q;\nbit[1] c;\n" if quantum else f"qubit[2] q;\nbit[{size}] c;\n"
    return f'OPENQASM 3.0;\ninclude "stdgates.inc";\n{declared}h q[0];\n'


@st.composite
def large_declarations(draw: st.DrawFn, max_qubits: int = 29) -> tuple[str, str, str | None]:
    """Registers from a few to 10^30 (qubits or classical bits) in each format."""
    fmt = draw(st.sampled_from(FORMATS))
    quantum = draw(st.booleans())
    size = draw(
        st.one_of(
            st.integers(1, 2 * MAX_CLBITS),
            st.sampled_from([10**6, 10**7, 10**8, 10**9, 10**12, 10**30]),
        )
    )
    if quantum:
        expected = "qubits" if size > max_qubits else None
    else:
        expected = "classical bits" if size > MAX_CLBITS else None
    return declaration_source(fmt, quantum, size), fmt, expected
