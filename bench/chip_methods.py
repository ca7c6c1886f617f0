"""Full-width chip benchmark (issue 14): openqpu's chosen simulation method on ``lattice72``,
end to end through the API and as an engine call alone, side by side with qiskit-aer.

Usage (from the repository root; the machine should be idle)::

    .venv/bin/python bench/chip_methods.py                      # every workload, 1 rep
    .venv/bin/python bench/chip_methods.py --workloads ghz,qft20 --reps 3
    .venv/bin/python bench/chip_methods.py --shots-scale 0.01 --skip-aer      # smoke run
    .venv/bin/python bench/chip_methods.py --aer-budget 600 --json out.json

Method
------
* Workloads (``bench/_chip_workloads.py``, issue 14's table): GHZ over the largest block of
  working qubits (a breadth-first CNOT tree, 70 qubits), rotated surface-code memory
  experiments of distance 3 and 5 (10 rounds, ancillas measured and reset mid-circuit, data
  measured at the end), QFT-20 and QFT-24 of a basis state (each qubit then rotated back to
  |0>, so the ideal outcome is one bitstring), a Trotterised transverse-field Ising chain of
  66 qubits (10 steps), QAOA p=1 and p=2 MaxCut on a 3-regular 20-node graph and on the
  10 x 6 grid graph, and a 20-qubit depth-8 random 2D circuit. Shots as in the issue, times
  ``--shots-scale``.
* Calibration: the snapshot a fresh server has in force for ``lattice72`` (fetched from it
  with ``GET /api/v1/devices/lattice72/calibration``; with ``--skip-api`` the same seeded
  epoch-0 snapshot is generated here). Every engine uses it.
* API (end to end): a real ``openqpu serve`` (``--workers`` worker processes) on a fresh
  SQLite database in a temporary folder. The circuit is submitted as base64 QPY under a new
  name for every repetition, so the server has never seen it (admission's compile and
  estimate, the worker's compile, method choice, simulation and the result are all in the
  time); the clock runs from ``POST /api/v1/jobs`` until ``GET /api/v1/jobs/{id}/result``
  has answered, waiting with the long poll ``GET /api/v1/jobs/{id}?wait=30``. The method and
  its figures come from the result entry (``method``, ``method_figures``).
* Engine alone: the circuit is compiled here once as the server compiles it
  (``transpile_for_device`` at ``chip.default_level``, ``chip.TRANSPILER_SEED``) and pickled.
  A fresh process loads it, builds ``noise_model_for``, picks the method with
  ``choose`` (its estimate is the ``est s`` column) and times one
  ``run_method(...)`` call (numba's on-disk cache makes JIT a load, not a compile).
* aer: a fresh process builds ``bench/noise.py``'s independent aer noise model
  (``aer_model``; delays become explicit relaxation instructions, ``aer_circuit``) for the
  same compiled circuit and times one
  ``AerSimulator(method="automatic", noise_model=...).run(...).result()``; the method aer
  picked is shown. It gets ``--aer-budget`` seconds (default 1,800) from the moment its timed
  call starts; past that the process is killed and the row says "did not finish in N s".
  openqpu's engine and the API get ``--openqpu-budget`` the same way.
* Each repetition runs API, engine and aer in turn (alternating, fresh processes); the table
  shows medians over ``--reps``. ``ratio`` = openqpu engine / aer engine (median seconds).
* Sanity: each workload's per-shot observable (domain walls along the CNOT tree for GHZ,
  detection-event rate for the surface code, P(0...0) for QFT, mean <Z> for Ising, mean cut
  for QAOA, linear XEB for the random circuit) from the API's, the engine's and aer's counts
  of the last repetition, and how many standard errors apart openqpu's engine and aer are
  (``z``). A large ``z`` means the two samplers disagree, or reflects an approximation
  openqpu states (listed under the table).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import math
import os
import pickle
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEVICE = "lattice72"
SEED = 1
LONG_POLL_S = 30
SETUP_TIMEOUT_S = 600.0  # a child's imports and model building before its timed call
REQUEST_TIMEOUT_S = 120.0
# Quotas far above what a run can use.
SERVER_ENV = {
    "OPENQPU_MAX_QUEUED_JOBS_PER_USER": "1000000",
    "OPENQPU_MAX_SHOTS_PER_DAY": str(10**15),
}


# --- children: one timed engine call in a fresh process ------------------------------------


def child(kind: str, job_path: Path, out_path: Path) -> None:
    """Run one engine on the pickled job; write ``out_path`` (JSON). Touches
    ``out_path.started`` just before the timed call."""
    from openqpu.device import CalibrationSnapshot, load_device_specs

    job = pickle.loads(job_path.read_bytes())
    compiled, shots = job["compiled"], job["shots"]
    spec = load_device_specs()[DEVICE]
    snapshot = CalibrationSnapshot.from_dict(job["snapshot"])
    started_flag = out_path.with_suffix(".started")
    out: dict[str, Any] = {}
    if kind == "engine":
        from openqpu.sim.methods.choose import choose, run_method
        from openqpu.transpile import noise_model_for

        noise = noise_model_for(compiled, spec, snapshot)
        choice = choose(compiled.circuit, noise, shots)
        started_flag.write_text(
            json.dumps({"method": choice.method, "estimate_s": choice.cost.seconds})
        )
        start = time.perf_counter()
        run = run_method(choice.method, compiled.circuit, noise, shots, seed=SEED)
        out["seconds"] = time.perf_counter() - start
        out.update(
            method=run.method,
            estimate_s=choice.cost.seconds,
            approximations=list(run.approximations),
            figures=dict(run.figures),
            counts=run.counts,
        )
    else:
        from qiskit_aer import AerSimulator

        from noise import aer_circuit, aer_model

        model, delay = aer_model(compiled, snapshot)
        theirs = aer_circuit(compiled.circuit, delay, spec.dt_ns)
        backend = AerSimulator(method="automatic", noise_model=model)
        started_flag.touch()
        start = time.perf_counter()
        result = backend.run(theirs, shots=shots, seed_simulator=SEED).result()
        out["seconds"] = time.perf_counter() - start
        out["method"] = result.results[0].metadata.get("method", "?")
        out["counts"] = {k.replace(" ", ""): int(v) for k, v in result.get_counts().items()}
    out_path.write_text(json.dumps(out))


@dataclass
class Outcome:
    """One engine's run: seconds, or why there are none."""

    seconds: float | None = None
    failure: str = ""
    method: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def run_child(kind: str, job_path: Path, folder: Path, budget: float) -> Outcome:
    """Run ``child(kind)`` in a fresh process; kill it ``budget`` s after its timed call began."""
    out_path = folder / f"{kind}-{time.monotonic_ns()}.json"
    started_flag = out_path.with_suffix(".started")
    log_path = out_path.with_suffix(".log")
    command = [sys.executable, __file__, "--child", kind, str(job_path), str(out_path)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    setup_deadline = time.monotonic() + SETUP_TIMEOUT_S
    deadline = None
    while process.poll() is None:
        now = time.monotonic()
        if deadline is None and started_flag.exists():
            deadline = now + budget
        if (deadline is not None and now > deadline) or (deadline is None and now > setup_deadline):
            process.kill()
            process.wait()
            if deadline is None:
                return Outcome(failure=f"setup took over {SETUP_TIMEOUT_S:g} s")
            known = json.loads(started_flag.read_text() or "{}")
            return Outcome(
                failure=f"did not finish in {budget:g} s",
                method=known.pop("method", ""),
                extra=known,
            )
        time.sleep(0.1)
    if process.returncode != 0 or not out_path.exists():
        lines = log_path.read_text(errors="replace").strip().splitlines() or ["(no output)"]
        return Outcome(failure=f"exit {process.returncode}: {lines[-1][:600]}")
    data = json.loads(out_path.read_text())
    out_path.unlink()
    return Outcome(
        seconds=data.pop("seconds"),
        method=data.pop("method"),
        counts=data.pop("counts"),
        extra=data,
    )


# --- the API, end to end ---------------------------------------------------------------------


def qpy_text(circuit: Any) -> str:
    """``circuit`` as base64 QPY."""
    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return base64.b64encode(buffer.getvalue()).decode()


def run_api(client: Any, circuit: Any, shots: int, budget: float) -> Outcome:
    """Submit ``circuit`` to the server, wait for it with long polls, fetch the result."""
    import httpx

    body = {
        "device": DEVICE,
        "circuits": [qpy_text(circuit)],
        "format": "qpy",
        "shots": shots,
        "seed": SEED,
        "name": circuit.name,
    }
    start = time.perf_counter()
    try:
        response = client.post("/api/v1/jobs", json=body)
        if response.status_code != 201:
            return Outcome(failure=f"submit HTTP {response.status_code}: {response.text[:600]}")
        job_id = response.json()["id"]
        while True:
            if time.perf_counter() - start > budget:
                client.post(f"/api/v1/jobs/{job_id}/cancel")
                return Outcome(failure=f"did not finish in {budget:g} s")
            job = client.get(f"/api/v1/jobs/{job_id}", params={"wait": LONG_POLL_S}).json()
            if job["status"] == "done":
                break
            if job["status"] in ("failed", "cancelled"):
                return Outcome(failure=f"job {job['status']}: {job.get('error')}")
        result = client.get(f"/api/v1/jobs/{job_id}/result").json()
    except httpx.HTTPError as exc:
        return Outcome(failure=f"HTTP error: {exc!r}")
    seconds = time.perf_counter() - start
    entry = result["results"][0]
    return Outcome(
        seconds=seconds,
        method=entry.get("method", "?"),
        counts=entry["counts"],
        extra={
            "figures": entry.get("method_figures", {}),
            "approximations": entry.get("approximations", []),
        },
    )


# --- statistics and the table ----------------------------------------------------------------


def observed(counts: dict[str, int], observable: Any) -> tuple[float, float] | None:
    """Mean of the per-shot observable over ``counts`` and its standard error."""
    if not counts:
        return None
    values = [(observable(key.replace(" ", "")), n) for key, n in counts.items()]
    shots = sum(n for _, n in values)
    mean = sum(v * n for v, n in values) / shots
    variance = sum(n * (v - mean) ** 2 for v, n in values) / max(shots - 1, 1)
    return mean, math.sqrt(variance / shots)


def median_seconds(outcomes: list[Outcome]) -> float | None:
    """Median seconds of the runs that finished (None when none did)."""
    times = [o.seconds for o in outcomes if o.seconds is not None]
    return statistics.median(times) if times else None


def cell_seconds(outcomes: list[Outcome]) -> str:
    """Median seconds, or the first failure."""
    if not outcomes:
        return "skipped"
    median = median_seconds(outcomes)
    if median is None:
        return short(outcomes[0].failure)
    failed = sum(o.seconds is None for o in outcomes)
    return f"{median:.3g}" + (f" ({failed} failed)" if failed else "")


def short(failure: str) -> str:
    """A failure as a table cell: a refusal at submit in a few words, others cut short."""
    if failure.startswith("submit HTTP"):
        estimate = re.search(r"estimated to run ([\d,.]+ s)", failure)
        return f"refused: est {estimate.group(1)}" if estimate else failure.split(":")[0]
    return failure if len(failure) <= 40 else failure[:40] + "..."


def cell_sanity(name: str, runs: dict[str, list[Outcome]], observable: Any) -> str:
    """``name`` from the last API / engine / aer counts, and engine-vs-aer distance in SE."""
    last = {k: next((o for o in reversed(v) if o.counts), None) for k, v in runs.items()}
    stats = {k: observed(o.counts, observable) if o else None for k, o in last.items()}
    parts = [f"{s[0]:.4g}±{s[1]:.2g}" if s else "-" for s in stats.values()]
    text = f"{name}: " + " / ".join(parts)
    ours, aer = stats.get("engine"), stats.get("aer")
    if ours and aer:
        spread = math.hypot(ours[1], aer[1])
        z = (
            abs(ours[0] - aer[0]) / spread
            if spread > 0
            else (0.0 if ours[0] == aer[0] else math.inf)
        )
        text += f" (z={z:.1f})"
    return text


def figures_cell(outcomes: list[Outcome]) -> str:
    """MPS bond dimension and truncation fidelity (worst over runs), or other figures."""
    figures = [o.extra.get("figures", {}) for o in outcomes if o.seconds is not None]
    if not figures:
        return ""
    bonds = [f["max_bond_dimension"] for f in figures if "max_bond_dimension" in f]
    fidelity = [f["truncation_fidelity"] for f in figures if "truncation_fidelity" in f]
    parts = []
    if bonds:
        parts.append(f"chi {max(bonds)}")
    if fidelity:
        parts.append(f"F {min(fidelity):.6g}")
    twirled = [f["twirled_channels"] for f in figures if "twirled_channels" in f]
    if twirled:
        parts.append(f"twirled {twirled[0]}")
    return ", ".join(parts)


def machine_line() -> tuple[str, float]:
    """CPU count and load average, and the 1-minute load."""
    load = os.getloadavg()
    text = (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start"
    )
    return text, load[0]


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    from _chip_workloads import WORKLOADS

    names = ",".join(w.name for w in WORKLOADS)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=names, help=f"comma-separated subset of {names}")
    parser.add_argument("--shots-scale", type=float, default=1.0, help="times the issue's shots")
    parser.add_argument("--reps", type=int, default=1, help="repetitions (median shown)")
    parser.add_argument("--aer-budget", type=float, default=1800.0, help="seconds per aer run")
    parser.add_argument(
        "--openqpu-budget", type=float, default=1800.0, help="seconds per openqpu run (engine, API)"
    )
    parser.add_argument("--skip-aer", action="store_true", help="do not run qiskit-aer")
    parser.add_argument("--skip-api", action="store_true", help="do not start a server")
    parser.add_argument("--skip-engine", action="store_true", help="do not run the engine alone")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    known = {w.name for w in WORKLOADS}
    unknown = set(args.workloads.split(",")) - known
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))} (known: {names})")
    return args


def main(argv: list[str]) -> int:
    """Run the selected workloads and print the table."""
    if argv[:1] == ["--child"]:
        child(argv[1], Path(argv[2]), Path(argv[3]))
        return 0
    args = parse_args(argv)

    from _chip_workloads import WORKLOADS
    from _service_client import add_users, fresh_database, start_server
    from openqpu.device import CalibrationSnapshot, generate_snapshot, load_device_specs
    from openqpu.service.run.chip import TRANSPILER_SEED, default_level
    from openqpu.transpile import transpile_for_device

    text, load = machine_line()
    print(text, flush=True)
    if load > 0.5:
        print(
            f"WARNING: 1-minute load {load:.2f} > 0.5: something else is running; "
            "timings will be skewed",
            flush=True,
        )
    spec = load_device_specs()[DEVICE]
    selected = [w for w in WORKLOADS if w.name in args.workloads.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="openqpu-chip-bench-") as tmp:
        folder = Path(tmp)
        with fresh_database("sqlite", folder) as url:
            server = client = None
            try:
                if args.skip_api:
                    snapshot = generate_snapshot(
                        spec, seed=zlib.crc32(f"{DEVICE}:0".encode()), taken_at=datetime.now(UTC)
                    )
                else:
                    import httpx

                    server = start_server(
                        url, folder / "server.log", workers=args.workers, env=SERVER_ENV
                    )
                    key = add_users(url, 1)[0]
                    client = httpx.Client(
                        base_url=server.url,
                        headers={"Authorization": f"Bearer {key}"},
                        timeout=REQUEST_TIMEOUT_S + LONG_POLL_S,
                    )
                    answer = client.get(f"/api/v1/devices/{DEVICE}/calibration")
                    answer.raise_for_status()
                    snapshot = CalibrationSnapshot.from_dict(answer.json())
                print(f"calibration {snapshot.id}; shots x {args.shots_scale:g}", flush=True)
                for workload in selected:
                    rows.append(
                        measure(
                            workload,
                            args,
                            (spec, snapshot),
                            folder,
                            client,
                            (transpile_for_device, default_level, TRANSPILER_SEED),
                        )
                    )
            finally:
                if client is not None:
                    client.close()
                if server is not None:
                    server.stop()
    print()
    print_table(rows, args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


def measure(
    workload: Any,
    args: argparse.Namespace,
    device: tuple[Any, Any],
    folder: Path,
    client: Any,
    compiler: tuple[Any, Any, int],
) -> dict[str, Any]:
    """Build, compile and run one workload ``args.reps`` times; return its row."""
    spec, snapshot = device
    transpile_for_device, default_level, transpiler_seed = compiler
    shots = max(1, round(workload.shots * args.shots_scale))
    circuit, obs_name, observable = workload.build(spec, snapshot)
    start = time.perf_counter()
    level = default_level(circuit)
    compiled = transpile_for_device(
        circuit, spec, snapshot, optimization_level=level, seed=transpiler_seed
    )
    compile_s = time.perf_counter() - start
    job_path = folder / f"{workload.name}.pickle"
    job = {"compiled": compiled, "snapshot": snapshot.to_dict(), "shots": shots}
    job_path.write_bytes(pickle.dumps(job))
    print(
        f"{workload.name}: {circuit.num_qubits} qubits -> {compiled.num_qubits} on chip, "
        f"{compiled.num_two_qubit_gates} cz, depth {compiled.depth}, level {level}, "
        f"compiled here in {compile_s:.1f} s; {shots} shots",
        flush=True,
    )
    runs: dict[str, list[Outcome]] = {"api": [], "engine": [], "aer": []}
    for rep in range(args.reps):
        if client is not None:
            named = circuit.copy(name=f"{circuit.name}-{rep}-{time.time_ns()}")
            runs["api"].append(run_api(client, named, shots, args.openqpu_budget))
            report(workload.name, rep, "api", runs["api"][-1])
        if not args.skip_engine:
            runs["engine"].append(run_child("engine", job_path, folder, args.openqpu_budget))
            report(workload.name, rep, "engine", runs["engine"][-1])
        aer_failed = runs["aer"] and runs["aer"][-1].seconds is None
        if not args.skip_aer and not aer_failed:  # one timeout is enough
            runs["aer"].append(run_child("aer", job_path, folder, args.aer_budget))
            report(workload.name, rep, "aer", runs["aer"][-1])
    engine_s, aer_s = median_seconds(runs["engine"]), median_seconds(runs["aer"])
    methods = {k: sorted({o.method for o in v if o.method}) for k, v in runs.items()}
    ours = methods["api"] or methods["engine"]
    if methods["api"] and methods["engine"] and methods["api"] != methods["engine"]:
        ours = [f"api {','.join(methods['api'])} != engine {','.join(methods['engine'])}"]
    estimates = [o.extra["estimate_s"] for o in runs["engine"] if "estimate_s" in o.extra]
    approximations = sorted(
        {a for v in runs.values() for o in v for a in o.extra.get("approximations", [])}
    )
    if aer_s:
        ratio = f"{engine_s / aer_s:.3g}" if engine_s else "-"
    elif runs["aer"] and engine_s:
        ratio = f"< {engine_s / args.aer_budget:.3g}"  # aer did not finish in its budget
    else:
        ratio = "-"
    return {
        "workload": workload.name,
        "description": workload.description,
        "qubits": f"{circuit.num_qubits}/{compiled.num_qubits}",
        "cz": compiled.num_two_qubit_gates,
        "shots": shots,
        "method": ", ".join(ours) or "-",
        "target_s": workload.target_s,
        "api_s": cell_seconds(runs["api"]),
        "engine_s": cell_seconds(runs["engine"]),
        "estimate_s": f"{statistics.median(estimates):.3g}" if estimates else "-",
        "aer_s": cell_seconds(runs["aer"]),
        "aer_method": ", ".join(methods["aer"]),
        "ratio": ratio,
        "figures": figures_cell(runs["api"] + runs["engine"]),
        "sanity": cell_sanity(obs_name, runs, observable),
        "approximations": approximations,
        "failures": sorted(
            {f"{k}: {o.failure}" for k, v in runs.items() for o in v if o.seconds is None}
        ),
    }


def report(name: str, rep: int, engine: str, outcome: Outcome) -> None:
    """One progress line."""
    what = f"{outcome.seconds:.3f} s" if outcome.seconds is not None else outcome.failure
    method = f" [{outcome.method}]" if outcome.method else ""
    print(f"  {name} rep {rep + 1} {engine}: {what}{method}", flush=True)


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """The markdown table (README-ready), then the approximations stated."""
    print(
        f"lattice72, median of {args.reps} rep(s); seconds; ratio = openqpu engine / aer "
        "engine; sanity = API / engine / aer (z = engine-aer distance in standard errors)"
    )
    print()
    header = (
        "| workload | qubits (logical/chip) | cz | shots | method | target s | API s | engine s "
        "| est s | aer s (aer method) | ratio | mps chi, F | sanity |"
    )
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for row in rows:
        target = f"<= {row['target_s']:g}" if row["target_s"] else "report"
        aer = row["aer_s"] + (f" ({row['aer_method']})" if row["aer_method"] else "")
        print(
            f"| {row['description']} | {row['qubits']} | {row['cz']} | {row['shots']:,} "
            f"| {row['method']} | {target} | {row['api_s']} | {row['engine_s']} "
            f"| {row['estimate_s']} | {aer} | {row['ratio']} | {row['figures']} "
            f"| {row['sanity']} |"
        )
    failures = [(row["workload"], f) for row in rows for f in row["failures"]]
    if failures:
        print()
        print("Failures:")
        for name, failure in failures:
            print(f"- {name} {failure}")
    stated = [(row["workload"], a) for row in rows for a in row["approximations"]]
    if stated:
        print()
        print("Approximations openqpu stated:")
        for name, sentence in stated:
            print(f"- {name}: {sentence}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
