"""Running one job's payload on the engine: the one function per job kind."""

from __future__ import annotations

import time
from typing import Any

from openqpu import sim
from openqpu.service.circuits import decode_circuit, decode_observable
from openqpu.service.lru import LruCache

PROGRAM_CACHE_SIZE = 128
_programs: LruCache[tuple[str, str], sim.Program] = LruCache(PROGRAM_CACHE_SIZE)


def compiled(source: str, fmt: str, field: str) -> sim.Program:
    """The compiled program of a circuit source; recently run sources are not parsed again."""
    return _programs.get_or_make(
        (fmt, source), lambda: sim.compile(decode_circuit(source, fmt, field))
    )


def circuit_seed(seed: int, index: int) -> int:
    """The seed circuit ``index`` of a job runs with: the job's seed plus the index."""
    return (seed + index) % (1 << 63)


def run_payload(payload: dict[str, Any], seed: int) -> dict[str, Any]:
    """Execute a validated job payload and return its result document."""
    started = time.perf_counter()
    fmt = payload.get("format", "auto")
    values = payload.get("parameter_values")
    entries = []
    for index, source in enumerate(payload["circuits"]):
        program = compiled(source, fmt, f"circuits[{index}]")
        bound = values[index] if values else None
        circuit_started = time.perf_counter()
        if payload["kind"] == "estimate":
            observables = [
                decode_observable(spec, program.num_qubits, f"observables[{i}]")
                for i, spec in enumerate(payload["observables"])
            ]
            expectation = sim.expectation(program, observables, parameter_values=bound)
            entry: dict[str, Any] = {"expectation_values": [float(v) for v in expectation]}
        else:
            counts = sim.sample(
                program,
                payload["shots"],
                seed=circuit_seed(seed, index),
                parameter_values=bound,
            )
            entry = {"counts": counts, "shots": payload["shots"]}
        entry["num_qubits"] = program.num_qubits
        entry["seconds"] = round(time.perf_counter() - circuit_started, 6)
        entries.append(entry)
    return {
        "kind": payload["kind"],
        "results": entries,
        "seed": seed,
        "execution_seconds": round(time.perf_counter() - started, 6),
    }
