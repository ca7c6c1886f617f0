"""Running one job's payload on the engine: the one function per job kind."""

from __future__ import annotations

import time
from typing import Any

from openqpu import sim
from openqpu.service.circuits import decode_circuit, decode_observable
from openqpu.service.lru import LruCache
from openqpu.service.run.fanout import Fanout, LocalFanout

PROGRAM_CACHE_SIZE = 128
_programs: LruCache[tuple[str, str], sim.Program] = LruCache(PROGRAM_CACHE_SIZE)


def program_for(source: str, fmt: str, field: str) -> sim.Program:
    """The lowered program of a circuit source; recently run sources are not parsed again."""
    return _programs.get_or_make(
        (fmt, source), lambda: sim.lower(decode_circuit(source, fmt, field))
    )


def circuit_seed(seed: int, index: int) -> int:
    """The seed circuit ``index`` of a job runs with: the job's seed plus the index."""
    return (seed + index) % (1 << 63)


def run_payload(payload: dict[str, Any], seed: int, fanout: Fanout | None = None) -> dict[str, Any]:
    """Execute a validated job payload and return its result document.

    Each circuit (with its parameter set) is one unit of ``fanout`` (default: this
    process); circuit ``i`` runs with ``circuit_seed(seed, i)`` wherever it runs, so
    the result does not depend on the executor.
    """
    started = time.perf_counter()
    units = list(range(len(payload["circuits"])))
    gathered = (fanout or LocalFanout()).map(circuit_entry, (payload, seed), units)
    result: dict[str, Any] = {
        "kind": payload["kind"],
        "results": gathered.values,
        "seed": seed,
        "execution_seconds": round(time.perf_counter() - started, 6),
    }
    if (metadata := gathered.metadata()) is not None:
        result["fanout"] = metadata
    return result


def circuit_entry(job: tuple[dict[str, Any], int], index: int) -> dict[str, Any]:
    """The result entry of circuit ``index`` of the job ``(payload, seed)``."""
    payload, seed = job
    started = time.perf_counter()
    fmt = payload.get("format", "auto")
    values = payload.get("parameter_values")
    program = program_for(payload["circuits"][index], fmt, f"circuits[{index}]")
    bound = values[index] if values else None
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
    entry["seconds"] = round(time.perf_counter() - started, 6)
    return entry
