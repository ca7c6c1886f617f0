"""pyqpanda3 tasks that are not plain sampling, built from openqpu's estimate jobs.

Each becomes an ``estimate`` job whose circuits are written here (OpenQASM 2 with a
first comment line, ``// pyqpanda3-qcloud {...}``, that says what the task was), and
whose expectation values are turned back into what the SDK reads:

- probabilities on qubits (``run(prog, qubits)``, ``measure_type`` 2): the
  expectation values of every Z string on those qubits give the exact distribution
  (an inverse Walsh-Hadamard transform), at most ``max_probability_qubits`` qubits;
- amplitudes (``partial_amplitude``, ``single_amplitude``): a Hadamard test per
  amplitude, ``<X>`` and ``<Y>`` of an ancilla that controls the program on one
  branch and prepares the basis state on the other, gives ``<b|psi>`` with the
  program's global phase;
- state tomography (``run_quantum_state_tomography``): every Pauli string on the
  program's qubits, measured on the device in qubit-wise commuting bases like any
  estimate job (with the chip's noise), gives the density matrix by linear
  inversion; its fidelity is to the program's ideal state.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, QuantumRegister, qasm2, transpile
from qiskit.circuit.library import CU3Gate
from qiskit.quantum_info import Statevector

from openqpu.service.circuits import InvalidRequest

NOTE = "// pyqpanda3-qcloud "
_NOTE_LINE = re.compile(r"^// pyqpanda3-qcloud (\{.*\})\s*$", re.MULTILINE)


def note_of(source: str) -> dict[str, Any] | None:
    """The task note written at the top of a circuit built here, or None."""
    match = _NOTE_LINE.search(source[:65536])
    if match is None:
        return None
    try:
        note = json.loads(match.group(1))
    except ValueError:
        return None
    return note if isinstance(note, dict) else None


def with_note(circuit: QuantumCircuit, note: dict[str, Any]) -> str:
    """``circuit`` as OpenQASM 2 with ``note`` on the line after the header."""
    text = qasm2.dumps(circuit)
    header, _, rest = text.partition("\n")
    return f"{header}\n{NOTE}{json.dumps(note, separators=(',', ':'))}\n{rest}"


def _unitary_part(circuit: QuantumCircuit, what: str) -> QuantumCircuit:
    """``circuit`` without its final measurements; refused if anything else measures."""
    body = circuit.remove_final_measurements(inplace=False)
    if any(inst.operation.name in ("measure", "reset") for inst in body.data):
        raise InvalidRequest(
            "QProg[0]", f"{what} needs a program without mid-circuit measurement or reset"
        )
    if body.has_control_flow_op():
        raise InvalidRequest("QProg[0]", f"{what} needs a program without classical control")
    # Only the qubits: the program's classical bits are unused here, and an estimate
    # job's basis measurements must be the only bits of its counts.
    quantum = QuantumCircuit(QuantumRegister(body.num_qubits, "q"), global_phase=body.global_phase)
    for inst in body.data:
        quantum.append(
            inst.operation, [quantum.qubits[body.find_bit(q).index] for q in inst.qubits]
        )
    return quantum


def _label(num_qubits: int, letters: dict[int, str]) -> str:
    """A Pauli label in Qiskit's order (qubit 0 last) with ``letters`` on their qubits."""
    return "".join(letters.get(q, "I") for q in reversed(range(num_qubits)))


# Probabilities ---------------------------------------------------------------------


def max_probability_qubits(max_observables: int) -> int:
    """The most qubits whose distribution one estimate job can give (2^k - 1 Z strings)."""
    return max(1, (max_observables + 1).bit_length() - 1)


def probabilities_job(
    circuit: QuantumCircuit, qubits: Any, max_observables: int
) -> tuple[str, list]:
    """The circuit and observables of an exact distribution on ``qubits``.

    Raises:
        InvalidRequest: ``qubits`` is not a list of distinct qubits of the program, or
            names more than the observable limit allows.
    """
    field = "Configuration.qubits"
    n = circuit.num_qubits
    if (
        not isinstance(qubits, list)
        or not qubits
        or not all(isinstance(q, int) and not isinstance(q, bool) and 0 <= q < n for q in qubits)
        or len(set(qubits)) != len(qubits)
    ):
        raise InvalidRequest(
            field, f"expected distinct qubits of the {n}-qubit program, got {qubits!r}"
        )
    most = max_probability_qubits(max_observables)
    if len(qubits) > most:
        raise InvalidRequest(
            field,
            f"exact probabilities on {len(qubits)} qubits are {2 ** len(qubits) - 1:,} Z "
            f"strings, over the limit of {max_observables:,} observables "
            f"(OPENQPU_MAX_OBSERVABLES): ask for at most {most} qubits, or sample with "
            "backend.run(prog, shots)",
        )
    body = _unitary_part(circuit, "a probability task")
    observables = [
        {_label(n, {qubits[j]: "Z" for j in range(len(qubits)) if mask >> j & 1}): 1.0}
        for mask in range(1, 1 << len(qubits))
    ]
    return with_note(body, {"task": "probabilities", "qubits": qubits}), observables


def probabilities_from(values: list[float], num_qubits: int) -> dict[str, float]:
    """The distribution on ``num_qubits`` qubits from ``<Z_mask>`` for masks 1..2^k-1.

    Returns:
        Probability per outcome, keyed in hexadecimal (``0x5``: bit j is qubit j of
        the task's ``qubits``), zeros left out.
    """
    size = 1 << num_qubits
    spectrum = np.empty(size)
    spectrum[0] = 1.0
    spectrum[1:] = values
    # p(b) = 2^-k sum_m (-1)^{|b & m|} <Z_m>: a fast Walsh-Hadamard transform.
    h = 1
    while h < size:
        pairs = spectrum.reshape(-1, 2, h)
        spectrum = np.stack((pairs[:, 0] + pairs[:, 1], pairs[:, 0] - pairs[:, 1]), axis=1).reshape(
            size
        )
        h *= 2
    probabilities = np.clip(spectrum / size, 0.0, None)
    probabilities /= probabilities.sum()
    return {hex(b): float(p) for b, p in enumerate(probabilities) if p > 1e-14}


# Amplitudes ------------------------------------------------------------------------


def amplitude_index(key: Any, num_qubits: int) -> int:
    """The basis state an amplitude key names: its decimal index, as the reference
    cloud reads it (``"5"`` is |101>).

    Raises:
        InvalidRequest: not a decimal number of a basis state of the program.
    """
    field = "Configuration.Amplitude"
    if not isinstance(key, str) or not key.isdigit():
        raise InvalidRequest(field, f"expected the decimal index of a basis state, got {key!r}")
    index = int(key)
    if index >= 1 << num_qubits:
        raise InvalidRequest(
            field,
            f"{key!r} is read as a decimal basis-state index, as the reference cloud does; "
            f"the {num_qubits}-qubit program has indices 0 to {(1 << num_qubits) - 1}",
        )
    return index


def amplitude_circuits(
    circuit: QuantumCircuit, keys: list[str], *, single: bool = False
) -> tuple[list[str], list]:
    """One Hadamard-test circuit per amplitude key, and the observables ``X`` and ``Y``
    of its ancilla (the last qubit): ``<b|psi> = <X> + i <Y>``. ``single``: the task
    came from the single-amplitude backend (its result says so)."""
    n = circuit.num_qubits
    indices = [amplitude_index(key, n) for key in keys]
    body = _unitary_part(circuit, "an amplitude task")
    basis = transpile(body, basis_gates=["u", "cx"], optimization_level=0)
    controlled = QuantumCircuit(QuantumRegister(n, "q"), QuantumRegister(1, "a"))
    ancilla = n
    controlled.h(ancilla)
    controlled_program = QuantumCircuit(n + 1)
    for inst in basis.data:
        qubits = [basis.find_bit(q).index for q in inst.qubits]
        if inst.operation.name == "u":
            theta, phi, lam = (float(p) for p in inst.operation.params)
            controlled_program.append(CU3Gate(theta, phi, lam), [ancilla, qubits[0]])
        elif inst.operation.name == "cx":
            controlled_program.ccx(ancilla, qubits[0], qubits[1])
        elif inst.operation.name != "barrier":
            raise InvalidRequest(
                "QProg[0]", f"an amplitude task cannot control {inst.operation.name!r}"
            )
    if float(basis.global_phase):
        controlled_program.p(float(basis.global_phase), ancilla)
    sources = []
    for key, index in zip(keys, indices, strict=True):
        test = controlled.copy()
        flipped = [q for q in range(n) if index >> q & 1]
        if flipped:
            test.x(ancilla)  # the ancilla's |0> branch holds the basis state |index>
            for q in flipped:
                test.cx(ancilla, q)
            test.x(ancilla)
        test.compose(controlled_program, inplace=True)
        sources.append(with_note(test, {"task": "amplitudes", "key": key, "single": single}))
    observables = [{_label(n + 1, {n: "X"}): 1.0}, {_label(n + 1, {n: "Y"}): 1.0}]
    return sources, observables


# Tomography ------------------------------------------------------------------------


def tomography_job(circuit: QuantumCircuit, max_observables: int) -> tuple[str, list]:
    """The circuit and observables of a state tomography of the program's qubits.

    Raises:
        InvalidRequest: the program has more qubits than the observable limit allows
            (4^n - 1 Pauli strings), or measures mid-circuit.
    """
    n = circuit.num_qubits
    if 4**n - 1 > max_observables:
        most = max(q for q in range(1, 9) if 4**q - 1 <= max_observables)
        raise InvalidRequest(
            "qubitNum",
            f"tomography of {n} qubits needs {4**n - 1:,} Pauli expectation values, over the "
            f"limit of {max_observables:,} observables (OPENQPU_MAX_OBSERVABLES): openqpu does "
            f"tomography of up to {most} qubits",
        )
    body = _unitary_part(circuit, "state tomography")
    state = Statevector(body).data
    labels = ["".join(p) for p in itertools.product("IXYZ", repeat=n)][1:]
    note = {
        "task": "tomography",
        "qubits": n,
        "state": [[float(a.real), float(a.imag)] for a in state],
    }
    return with_note(body, note), [{label: 1.0} for label in labels]


def density_from(values: list[float], num_qubits: int) -> np.ndarray:
    """The density matrix by linear inversion from the expectation values of every
    non-identity Pauli string (in ``tomography_job``'s order).

    Index ``i`` of the matrix is the basis state whose bit ``q`` is qubit ``q``.
    """
    from qiskit.quantum_info import Pauli

    labels = ["".join(p) for p in itertools.product("IXYZ", repeat=num_qubits)]
    dim = 1 << num_qubits
    rho = np.eye(dim, dtype=complex) / dim
    for label, value in zip(labels[1:], values, strict=True):
        rho += value * Pauli(label).to_matrix() / dim
    return rho


def tomography_result(values: list[float], note: dict[str, Any]) -> tuple[list[str], str]:
    """``qstTaskResult`` and ``qstFidelity`` from a tomography job's expectation values."""
    n = int(note["qubits"])
    rho = density_from(values, n)
    state = np.array([complex(re_, im) for re_, im in note["state"]])
    fidelity = float(np.real(state.conj() @ rho @ state))
    records = [{"r": float(v.real), "i": float(v.imag)} for v in rho.reshape(-1)]
    return [json.dumps(records)], repr(fidelity)
