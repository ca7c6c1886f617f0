"""What a chip job will cost, known before it is queued: per circuit the transpiled form,
the method the worker will choose and its estimated run time and memory.

Admission calls ``estimate_chip_job`` at submit (to refuse what would overrun the
run-time or memory limit, and to answer dry runs); the worker later compiles and
chooses the same way (``chip.plan``), so the estimate describes the run.
"""

from __future__ import annotations

from typing import Any

from qiskit.quantum_info import SparsePauliOp

from openqpu.service.circuits import decode_observable
from openqpu.service.run.chip import ChipRun, plan
from openqpu.service.run.resilience import cost_multiplier, resolve
from openqpu.sim.methods.base import DENSITY_MATRIX


def measurement_bases(payload: dict[str, Any], num_qubits: int) -> int:
    """How many bases an estimate job measures a circuit in (qubit-wise commuting
    groups of its non-identity Pauli terms); 1 for a sample job."""
    if payload.get("kind") != "estimate":
        return 1
    labels = {
        label
        for i, spec in enumerate(payload.get("observables") or [])
        for label in decode_observable(spec, num_qubits, f"observables[{i}]").paulis.to_labels()
        if set(label) != {"I"}
    }
    if not labels:
        return 0
    return len(SparsePauliOp(sorted(labels)).group_commuting(qubit_wise=True))


def estimate_chip_job(payload: dict[str, Any], chip: ChipRun) -> list[dict[str, Any]]:
    """Per circuit of a validated chip job: method, estimated seconds and memory, and
    the transpiled circuit's figures.

    Raises:
        MethodUnsupported: the job's ``method`` cannot run a circuit (or none can).
    """
    estimates = []
    resilience = resolve(payload.get("options"))
    for index in range(len(payload["circuits"])):
        prepared, choice, _ = plan(payload, index, chip)
        bases = measurement_bases(payload, prepared.circuit.num_qubits)
        runs = float(bases)
        if resilience.active:
            per_circuit = choice.method == DENSITY_MATRIX
            runs *= cost_multiplier(resilience, int(payload["shots"]), per_circuit=per_circuit)
        transpiled = prepared.transpiled
        estimates.append(
            {
                "index": index,
                "method": choice.method,
                "estimated_seconds": round(choice.cost.seconds * runs, 3),
                "estimated_memory_bytes": choice.cost.memory_bytes,
                "estimated_success_probability": transpiled.estimated_success_probability,
                "num_two_qubit_gates": transpiled.num_two_qubit_gates,
                "depth": transpiled.depth,
                "physical_qubits": list(transpiled.physical_qubits),
                "optimization_level": prepared.level,
                "measurement_bases": bases,
                "methods_rejected": choice.rejected,
            }
        )
    return estimates
