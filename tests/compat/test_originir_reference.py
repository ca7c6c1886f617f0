"""openqpu's OriginIR reader against the reference SDK's own converter (pyqpanda3).

Each program is read by pyqpanda3's ``convert_originir_string_to_qprog`` and run on
its ``CPUQVM``, and read by ``openqpu.formats.originir`` and run on openqpu's engine;
the two states must be equal up to a global phase. Every program starts from a
generic product state so that no gate acts on a basis state only.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

from openqpu import sim
from openqpu.formats import originir

NUM_QUBITS = 3
PREPARE = "".join(
    f"RY q[{q}],({0.3 + 0.4 * q})\nRZ q[{q}],({0.2 + 0.5 * q})\n" for q in range(NUM_QUBITS)
)
BODIES = {
    "one-qubit": "H q[0]\nX q[1]\nY q[2]\nZ q[0]\nS q[1]\nT q[2]\nI q[0]\n",
    "pi/2 rotations": "X1 q[0]\nY1 q[1]\nZ1 q[2]\n",
    "rotations": "RX q[0],(0.7)\nRY q[1],(-1.1)\nRZ q[2],(2.3)\n",
    "phase gates": "U1 q[0],(0.4)\nP q[1],(1.3)\n",
    "U2 U3": "U2 q[0],(0.3,1.2)\nU3 q[1],(0.5,0.6,0.7)\n",
    "U4": "U4 q[2],(0.1,0.9,1.7,-0.4)\n",
    "RPHI": "RPHI q[0],(0.8,0.3)\n",
    "two-qubit": "CNOT q[0],q[1]\nCZ q[1],q[2]\nSWAP q[0],q[2]\n",
    "ISWAP": "ISWAP q[0],q[1]\n",
    "controlled phase": "CR q[0],q[2],(0.9)\nCP q[1],q[0],(1.4)\n",
    "ising": "RXX q[0],q[1],(0.5)\nRYY q[1],q[2],(0.6)\nRZZ q[0],q[2],(0.7)\n",
    "RZX": "RZX q[0],q[1],(0.8)\n",
    "CU": "CU q[1],q[2],(0.2,0.4,0.6,0.8)\n",
    # pyqpanda3's converter has no CSWAP statement (openqpu reads it as Fredkin).
    "TOFFOLI": "TOFFOLI q[0],q[1],q[2]\n",
    "controlled U3 U4 ISWAP": (
        "CONTROL q[0]\nU3 q[1],(0.5,0.6,0.7)\nU4 q[2],(0.1,0.9,1.7,-0.4)\n"
        "ISWAP q[1],q[2]\nENDCONTROL\n"
    ),
    "DAGGER block": "DAGGER\nH q[0]\nT q[0]\nCNOT q[0],q[1]\nRX q[2],(0.3)\nENDDAGGER\n",
    "CONTROL block": "CONTROL q[0]\nRY q[1],(0.9)\nH q[2]\nENDCONTROL\n",
    "nested blocks": "CONTROL q[2]\nDAGGER\nS q[0]\nRZ q[1],(0.4)\nENDDAGGER\nENDCONTROL\n",
    "broadcast": "H q\nX1 q\n",
}


def _program(body: str) -> str:
    return f"QINIT {NUM_QUBITS}\nCREG {NUM_QUBITS}\n{PREPARE}{body}"


REFERENCE = textwrap.dedent(
    """
    import json, sys
    from pyqpanda3.core import CPUQVM
    from pyqpanda3.intermediate_compiler import convert_originir_string_to_qprog

    out = {}
    for name, source in json.loads(sys.stdin.read()).items():
        try:
            qvm = CPUQVM()
            qvm.run(convert_originir_string_to_qprog(source), 1)
            state = qvm.result().get_state_vector()
            out[name] = [[complex(a).real, complex(a).imag] for a in state]
        except Exception as exc:  # reported, and the test says which program failed
            out[name] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def reference_states(qpanda_python: Path) -> dict[str, object]:
    python = qpanda_python
    programs = {name: _program(body) for name, body in BODIES.items()}
    ran = subprocess.run(
        [str(python), "-c", REFERENCE],
        input=json.dumps(programs), capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return json.loads(ran.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", list(BODIES))
def test_originir_reads_like_the_reference_sdk(name: str, reference_states: dict) -> None:
    reference = reference_states[name]
    assert not isinstance(reference, str), f"pyqpanda3 could not run it: {reference}"
    theirs = np.array([complex(re, im) for re, im in reference])
    ours = sim.statevector(originir.loads(_program(BODIES[name])))
    assert theirs.shape == ours.shape
    overlap = abs(np.vdot(theirs, ours))
    assert overlap == pytest.approx(1.0, abs=1e-9), f"{name}: |<theirs|ours>| = {overlap}"
