"""The preview's work, done in a sandbox child (:mod:`openqpu.service.api.routes.preview`):
pre-scan, read and simulate a source. Apart from the router so that a child imports
only this (Qiskit and the engine, which it has warm), not FastAPI and the job store.
"""

from __future__ import annotations

from typing import Any

from openqpu.errors import OpenQPUError
from openqpu.formats.prescan import ScanLimits
from openqpu.service.circuits import InvalidRequest, decode_circuit, scan_circuit

MAX_QUBITS = 12  # 4,096 amplitudes: a few milliseconds, a ~150 kB answer
# Amplitudes are rounded to this many decimals: a shorter answer, and no 1e-17 noise.
DECIMALS = 12


def preview_source(source: str, fmt: str, limits: ScanLimits, max_gates: int) -> dict[str, Any]:
    """Pre-scan, read and simulate ``source`` (the sandbox's task: top level, picklable).

    Returns:
        A :class:`PreviewPublic` document.

    Raises:
        InvalidRequest: the source is over a limit or cannot be read; line and column
            say where when known.
    """
    import numpy as np

    from openqpu import sim

    scan_circuit(source, fmt, "source", limits)
    circuit = decode_circuit(source, fmt, "source")
    answer: dict[str, Any] = {
        "num_qubits": circuit.num_qubits,
        "num_clbits": circuit.num_clbits,
        "probabilities": None,
        "amplitudes": None,
        "reason": None,
    }
    if circuit.num_qubits > MAX_QUBITS:
        answer["reason"] = (
            f"the live state is shown for up to {MAX_QUBITS} qubits; this circuit has "
            f"{circuit.num_qubits}"
        )
        return answer
    if circuit.size() > max_gates:
        raise InvalidRequest(
            "source", f"{circuit.size()} instructions is over the limit of {max_gates}"
        )
    if circuit.parameters:
        names = ", ".join(sorted(p.name for p in circuit.parameters))
        answer["reason"] = f"the circuit has free parameters ({names}): give them values"
        return answer
    unitary = circuit.remove_final_measurements(inplace=False)
    if any(item.operation.name in ("measure", "reset") for item in unitary.data):
        answer["reason"] = (
            "the circuit measures or resets a qubit before its end: the live state is "
            "shown for circuits whose measurements come last"
        )
        return answer
    try:
        state = sim.statevector(unitary)
    except OpenQPUError as exc:
        if "mid-circuit" in str(exc) or "classical control" in str(exc):
            answer["reason"] = str(exc)
            return answer
        raise InvalidRequest("source", str(exc)) from None
    probabilities = np.round(np.abs(state) ** 2, DECIMALS)
    answer["probabilities"] = probabilities.tolist()
    answer["amplitudes"] = np.stack(
        [np.round(state.real, DECIMALS), np.round(state.imag, DECIMALS)], axis=1
    ).tolist()
    return answer
