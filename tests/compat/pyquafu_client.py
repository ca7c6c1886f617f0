"""Drive the real, unmodified pyquafu client; run with the compat venv's python.

Usage: ``python pyquafu_client.py '<JSON request>'``. The account comes from
``$HOME/.quafu/api`` as pyquafu reads it. Prints one JSON object: what the client
returned, or ``{"error": <exception class>, "message": ...}``.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _circuit(kind: str) -> Any:
    from quafu import QuantumCircuit

    if kind == "bell":
        qc = QuantumCircuit(2)
        qc.h(0)
        qc.cnot(0, 1)
        qc.measure([0, 1], [0, 1])
    elif kind == "x0":  # asymmetric: only qubit 0 flipped, so the bit order shows
        qc = QuantumCircuit(3)
        qc.x(0)
        qc.measure([0, 1, 2], [0, 1, 2])
    elif kind == "iswap":  # pyquafu writes 'iswap' undeclared; openqpu knows it
        qc = QuantumCircuit(2)
        qc.x(0)
        qc.iswap(0, 1)
        qc.measure([0, 1], [0, 1])
    elif kind == "mcx":  # pyquafu writes 'mcx' undeclared, with any number of controls
        qc = QuantumCircuit(3)
        qc.mcx([0, 1], 2)
        qc.measure([0, 1, 2], [0, 1, 2])
    else:
        raise ValueError(f"unknown circuit {kind!r}")
    return qc


def _result(res: Any) -> dict[str, Any]:
    return {
        "task_id": res.taskid,
        "task_name": res.taskname,
        "status": res.task_status,
        "counts": dict(res.counts),
        "probabilities": res.probabilities,
        "measures": {str(q): c for q, c in res.measures.items()},
    }


def main(request: dict[str, Any]) -> dict[str, Any]:
    """Carry out one request with pyquafu."""
    import quafu
    from quafu import Task, User

    action = request["action"]
    if action == "backends":
        backends = User().get_available_backends(print_info=False)
        return {
            "version": quafu.get_version(),
            "backends": {
                name: {
                    "qubits": b.qubit_num,
                    "system_id": b.system_id,
                    "status": b.status,
                    "queued": b.task_in_queue,
                    "valid_gates": b.get_valid_gates(),
                }
                for name, b in backends.items()
            },
        }
    task = Task()
    if action == "chip_info":
        task.config(backend=request["backend"])
        info = task.get_backend_info()
        full = info["full_info"]
        return {
            "num_qubits_mapped": len(info["mapping"]),
            "num_couplers": len(full["topological_structure"]),
            "keys": sorted(full),
        }
    if action == "retrieve":
        return _result(task.retrieve(request["task_id"]))
    task.config(
        backend=request["backend"],
        shots=request.get("shots", 1000),
        compile=request.get("compile", True),
        priority=request.get("priority", 2),
    )
    qc = _circuit(request["circuit"])
    if action == "run":
        return _result(task.send(qc, name=request.get("name", ""), wait=True))
    if action == "send":
        return _result(task.send(qc, name=request.get("name", ""), wait=False))
    if action == "observables":  # one task per measurement basis, expectations on the client
        _results, values = task.submit(qc, request["observables"])
        return {"values": values}
    raise ValueError(f"unknown action {action!r}")


if __name__ == "__main__":
    try:
        answer = main(json.loads(sys.argv[1]))
    except Exception as exc:  # the test reads the client's own exception
        answer = {"error": type(exc).__name__, "message": getattr(exc, "message", str(exc))}
    print(json.dumps(answer))
