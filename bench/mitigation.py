"""Error mitigation benchmark: estimate jobs on ``lattice72`` at resilience levels 0, 1, 2
(and with dynamical decoupling), each figure beside its exact value.

Usage (from the repository root)::

    .venv/bin/python bench/mitigation.py                  # everything
    .venv/bin/python bench/mitigation.py --only h2 --shots 40000

Method
------
* One seeded calibration snapshot of ``lattice72``; every job runs through the worker's
  own code (``openqpu.service.run.chip.run_on_chip``) with a fixed job seed, so the
  figures are those a REST, SDK or ``openqpu.qiskit`` job with the same ``options``
  gets.
* ``h2``: VQE of H2 (STO-3G, 0.735 A, parity form, 2 qubits, one CNOT) per variant:
  the angle minimised by ``scipy.optimize.minimize_scalar`` (bounded, on the noisy
  estimates of that variant), then the energy at that angle estimated once more with
  a fresh seed; error against PySCF's full CI. Chemical accuracy: 1.6 mHa.
* ``ising``: a 20-qubit transverse-field Ising chain, 5 first-order Trotter steps of
  ``rx(0.37)`` on every qubit then ``rzz(0.61)`` on each bond (generic angles); mean
  ``<Z_i Z_i+1>`` over the bonds and mean magnetisation ``<Z_i>``: relative error
  against the exact statevector.
* ``ghz``: GHZ-n (``h``, ``cx`` chain) for n = 10, 30, 60: parity ``<X...X>`` (exact 1).
* ``sources``: H2 at the exact optimum angle, several seeds, with one noise source of
  the snapshot switched off at a time on the circuit's own qubits (1q gate error, CZ
  error, T1/T2, readout): what each variant leaves unextrapolated.
* Variants: ``L0`` (no mitigation), ``L1`` (TREX), ``L2`` (the level-2 defaults: TREX,
  gate twirling, ZNE at factors 1, 3, 5 folding every noisy gate, extrapolators
  exponential then linear), ``L2-cz`` (Qiskit Runtime's amplifier: CZs folded only),
  ``L2-cz-lin`` (and the linear extrapolator: what the previous defaults picked),
  ``L2-lin`` (linear only), ``L2-123`` (factors 1, 2, 3), ``L1+DD`` (XY4).
  Shots are per measurement basis and noise factor; ``--randomizations`` twirled
  randomizations share them.
* ``mitiq``: the anchor (``bench/_mitiq.py``): openqpu's ZNE alone (``ZNE``: no TREX, no
  twirling) and its level 2 beside mitiq's ZNE (its folding of every gate and its
  linear, exponential and Richardson factories per Pauli term, on raw counts and on
  counts corrected for readout with the calibration's tensored inverse), H2 at the
  exact optimum and GHZ-10, the same shots per basis and noise factor. Needs the
  optional ``bench`` dependencies; says so when mitiq cannot be imported.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, qasm3
from qiskit.quantum_info import SparsePauliOp, Statevector
from scipy.optimize import minimize_scalar

from openqpu.device import CalibrationSnapshot, generate_snapshot, load_device_specs
from openqpu.service.run.chip import ChipRun, run_on_chip


def variants(randomizations: int) -> dict[str, dict[str, Any]]:
    """The option sets compared (``options`` of an estimate job)."""
    twirl = {"num_randomizations": randomizations}

    def level2(**zne: Any) -> dict[str, Any]:
        return {"resilience_level": 2, "twirling": twirl, "resilience": {"zne": zne}}

    return {
        "L0": {"resilience_level": 0},
        "L1": {"resilience_level": 1, "twirling": twirl},
        "L2": {"resilience_level": 2, "twirling": twirl},
        "L2-cz": level2(amplifier="gate_folding"),
        "L2-cz-lin": level2(amplifier="gate_folding", extrapolator="linear"),
        "L2-lin": level2(extrapolator="linear"),
        "L2-123": level2(noise_factors=[1, 2, 3]),
        "ZNE": {
            "resilience_level": 2,
            "resilience": {"measure_mitigation": False},
            "twirling": {"enable_gates": False, "enable_measure": False},
        },
        "L1+DD": {
            "resilience_level": 1,
            "twirling": twirl,
            "dynamical_decoupling": {"enable": True, "sequence_type": "XY4"},
        },
    }


def _estimate(
    chip: ChipRun,
    circuit: QuantumCircuit,
    observables: list[SparsePauliOp],
    options: dict[str, Any],
    shots: int,
    seed: int,
) -> tuple[list[float], list[float]]:
    payload = {
        "kind": "estimate",
        "format": "qasm3",
        "circuits": [qasm3.dumps(circuit)],
        "shots": shots,
        "observables": [
            {
                label: float(c.real)
                for label, c in zip(op.paulis.to_labels(), op.coeffs, strict=True)
            }
            for op in observables
        ],
        "options": options,
    }
    entry = run_on_chip(payload, seed, chip)["results"][0]
    return entry["expectation_values"], entry.get("standard_errors") or [0.0] * len(observables)


def _layout(chip: ChipRun, circuit: QuantumCircuit) -> list[int]:
    """The chip qubits ``circuit`` is compiled onto (as a job's default level compiles it)."""
    from openqpu.service.run.chip import TRANSPILER_SEED, default_level
    from openqpu.transpile import transpile_for_device

    level = default_level(circuit)
    compiled = transpile_for_device(
        circuit, chip.spec, chip.snapshot, optimization_level=level, seed=TRANSPILER_SEED
    )
    return list(compiled.initial_layout)


def h2(chip: ChipRun, names: list[str], table: dict[str, dict], shots: int) -> None:
    """VQE of H2 per variant; errors in mHa against full CI."""
    from openqpu.apps import chemistry
    from openqpu.apps.molecules import h2 as h2_integrals

    integrals = h2_integrals(0.735)
    hamiltonian = chemistry.hamiltonian(integrals, "parity")
    exact = chemistry.exact_energy(hamiltonian, integrals, "parity")
    ansatz, _ = chemistry.ansatz("h2", "parity")
    print(f"\nH2 VQE, 0.735 A, full CI {exact:.6f} Ha, {shots} shots per basis")
    print(f"{'variant':<8} {'energy (Ha)':>12} {'error (mHa)':>12} {'std (mHa)':>10} {'s':>7}")
    for name in names:
        options = table[name]
        started = time.perf_counter()
        calls = [0]

        def energy(
            theta: float, options: dict[str, Any] = options, calls: list[int] = calls
        ) -> float:
            calls[0] += 1
            circuit = ansatz.assign_parameters([theta])
            return _estimate(chip, circuit, [hamiltonian], options, shots, seed=calls[0])[0][0]

        found = minimize_scalar(
            energy, bounds=(np.pi / 2, 3 * np.pi / 2), method="bounded", options={"xatol": 0.02}
        )
        circuit = ansatz.assign_parameters([found.x])
        (value,), (std,) = _estimate(chip, circuit, [hamiltonian], options, shots, seed=10_000)
        seconds = time.perf_counter() - started
        error = (value - exact) * 1e3
        print(f"{name:<8} {value:>12.6f} {error:>12.2f} {std * 1e3:>10.2f} {seconds:>7.1f}")


def _h2_at_optimum() -> tuple[QuantumCircuit, SparsePauliOp, float]:
    """The H2 ansatz at the exact optimum angle, its Hamiltonian and the full CI energy."""
    from openqpu.apps import chemistry
    from openqpu.apps.molecules import h2 as h2_integrals

    integrals = h2_integrals(0.735)
    hamiltonian = chemistry.hamiltonian(integrals, "parity")
    exact = chemistry.exact_energy(hamiltonian, integrals, "parity")
    ansatz, _ = chemistry.ansatz("h2", "parity")
    found = minimize_scalar(
        lambda t: Statevector(ansatz.assign_parameters([t])).expectation_value(hamiltonian).real,
        bounds=(np.pi / 2, 3 * np.pi / 2),
        method="bounded",
    )
    return ansatz.assign_parameters([found.x]), hamiltonian, exact


def h2_sources(
    chip: ChipRun, names: list[str], table: dict[str, dict], shots: int, seeds: int
) -> None:
    """H2 at the exact optimum angle with one noise source of the snapshot switched off
    at a time: which noise each amplifier leaves unextrapolated (errors in mHa)."""
    circuit, hamiltonian, exact = _h2_at_optimum()
    snapshot = chip.snapshot
    # Only the circuit's own chip qubits and coupler change, so the layout stays (they
    # become the best on the chip); a changed snapshot needs its own id, as compiled
    # circuits and noise models are kept per snapshot id.
    qubits = _layout(chip, circuit)
    coupler = snapshot.couplers.index(tuple(sorted(qubits)))

    def changed(suffix: str, **fields: float) -> CalibrationSnapshot:
        new: dict[str, Any] = {}
        for name, value in fields.items():
            old = list(getattr(snapshot, name))
            for index in [coupler] if name == "cz_error" else qubits:
                old[index] = value
            new[name] = tuple(old)
        return replace(snapshot, id=f"{snapshot.id}-{suffix}", **new)

    variants_of_snapshot = {
        "as is": snapshot,
        "no 1q error": changed("no1q", gate_error_1q=0.0),
        "no CZ error": changed("nocz", cz_error=0.0),
        "no T1/T2": changed("not1", t1_us=1e9, t2_us=1e9),
        "no readout": changed("noro", readout_error_0to1=0.0, readout_error_1to0=0.0),
    }
    print(
        f"\nH2 at the exact optimum angle, {shots} shots per basis, "
        f"mean +- spread over {seeds} seeds (mHa)"
    )
    print(f"{'snapshot':<12} " + " ".join(f"{name:>14}" for name in names) + "  chip qubits")
    for label, changed in variants_of_snapshot.items():
        here = ChipRun(chip.spec, changed)
        cells = []
        for name in names:
            errors = [
                (_estimate(here, circuit, [hamiltonian], table[name], shots, seed=s)[0][0] - exact)
                * 1e3
                for s in range(seeds)
            ]
            cells.append(f"{np.mean(errors):>7.1f} +-{np.std(errors):>4.1f}")
        layout = _layout(here, circuit)
        print(f"{label:<12} " + " ".join(f"{c:>14}" for c in cells) + f"  {layout}", flush=True)


def anchor(chip: ChipRun, table: dict[str, dict], shots: int, wide_shots: int, seeds: int) -> None:
    """openqpu's ZNE beside mitiq's on H2 (at the exact optimum, errors in mHa) and GHZ-10
    parity (exact 1), noise factors 1, 3, 5, the same shots per basis and factor."""
    import _mitiq

    missing = _mitiq.available()
    if missing is not None:
        print(f"\nmitiq: not available ({missing}); the side-by-side run is not done")
        return
    import mitiq

    h2_circuit, hamiltonian, exact = _h2_at_optimum()
    ghz = QuantumCircuit(10)
    ghz.h(0)
    for q in range(9):
        ghz.cx(q, q + 1)
    cases = [
        ("H2 (mHa)", h2_circuit, hamiltonian, exact, shots, 1e3),
        ("GHZ-10", ghz, SparsePauliOp("X" * 10), 1.0, wide_shots, 1.0),
    ]
    ours = ["ZNE", "L2"]
    theirs = [f"{kind} {name}" for kind in ("raw", "readout") for name in _mitiq.FACTORIES]
    print(
        f"\nZNE anchor: openqpu beside mitiq {mitiq.__version__} (fold_gates_at_random, "
        f"factories per Pauli term), factors 1, 3, 5; error (value - exact), "
        f"mean +- spread over {seeds} seeds"
    )
    for title, circuit, observable, exact_value, case_shots, scale in cases:
        print(f"\n{title}, {case_shots} shots per basis and factor")
        rows: dict[str, list[float]] = {name: [] for name in [*ours, *theirs]}
        for seed in range(seeds):
            for name in ours:
                (value,), _ = _estimate(
                    chip, circuit, [observable], table[name], case_shots, seed=100 + seed
                )
                rows[name].append(value)
            found = _mitiq.zne_estimate(chip, circuit, observable, shots=case_shots, seed=seed)
            for kind in ("raw", "readout"):
                for name in _mitiq.FACTORIES:
                    rows[f"{kind} {name}"].append(found[kind][name])
        for name, values in rows.items():
            errors = (np.array(values) - exact_value) * scale
            who = "openqpu" if name in ours else "mitiq"
            print(f"  {who:<8} {name:<22} {np.mean(errors):>9.3f} +- {np.std(errors):.3f}")


def ising(chip: ChipRun, names: list[str], table: dict[str, dict], shots: int) -> None:
    """Trotterised transverse-field Ising chain, 20 qubits, 5 steps."""
    n, steps = 20, 5
    circuit = QuantumCircuit(n)
    for _ in range(steps):
        for q in range(n):
            circuit.rx(0.37, q)
        for q in range(n - 1):
            circuit.rzz(0.61, q, q + 1)
    zz = SparsePauliOp.from_sparse_list([("ZZ", [q, q + 1], 1 / (n - 1)) for q in range(n - 1)], n)
    mz = SparsePauliOp.from_sparse_list([("Z", [q], 1 / n) for q in range(n)], n)
    state = Statevector(circuit)
    exact = [state.expectation_value(zz).real, state.expectation_value(mz).real]
    print(
        f"\nIsing chain n={n}, {steps} Trotter steps; exact <ZZ> {exact[0]:.4f}, <Z> {exact[1]:.4f}"
    )
    print(f"{'variant':<8} {'<ZZ>':>8} {'rel err':>8} {'<Z>':>8} {'rel err':>8} {'s':>7}")
    for name in names:
        started = time.perf_counter()
        values, _ = _estimate(chip, circuit, [zz, mz], table[name], shots, seed=7)
        seconds = time.perf_counter() - started
        rel = [abs(v - e) / abs(e) for v, e in zip(values, exact, strict=True)]
        print(
            f"{name:<8} {values[0]:>8.4f} {rel[0]:>8.3f} {values[1]:>8.4f} {rel[1]:>8.3f} "
            f"{seconds:>7.1f}"
        )


def ghz(
    chip: ChipRun, names: list[str], table: dict[str, dict], shots: int, sizes: list[int]
) -> None:
    """GHZ-n parity <X...X> (exact 1)."""
    print("\nGHZ-n parity <X^n> (exact 1)")
    print(f"{'n':>3} {'variant':<8} {'parity':>8} {'std':>7} {'s':>7}")
    for n in sizes:
        circuit = QuantumCircuit(n)
        circuit.h(0)
        for q in range(n - 1):
            circuit.cx(q, q + 1)
        parity = SparsePauliOp("X" * n)
        for name in names:
            started = time.perf_counter()
            (value,), (std,) = _estimate(chip, circuit, [parity], table[name], shots, seed=3)
            seconds = time.perf_counter() - started
            print(f"{n:>3} {name:<8} {value:>8.4f} {std:>7.4f} {seconds:>7.1f}")


def main() -> None:
    """Run the chosen workloads and print one table each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only", choices=("h2", "sources", "ising", "ghz", "mitiq"), action="append"
    )
    parser.add_argument("--variants", default="L0,L1,L2,L2-cz,L1+DD")
    parser.add_argument("--shots", type=int, default=40_000, help="H2 shots per basis")
    parser.add_argument("--wide-shots", type=int, default=4_000, help="Ising and GHZ shots")
    parser.add_argument("--randomizations", type=int, default=8)
    parser.add_argument("--ghz-sizes", default="10,30,60", help="GHZ widths, comma-separated")
    parser.add_argument("--seeds", type=int, default=4, help="seeds of the sources table")
    args = parser.parse_args()
    spec = load_device_specs()["lattice72"]
    snapshot = generate_snapshot(spec, seed=1, taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    chip = ChipRun(spec, snapshot)
    table = variants(args.randomizations)
    names = args.variants.split(",")
    only = args.only or ["h2", "sources", "ghz", "ising", "mitiq"]
    print(f"lattice72, calibration {snapshot.id}, {args.randomizations} randomizations")
    if "h2" in only:
        h2(chip, names, table, args.shots)
    if "sources" in only:
        h2_sources(chip, names, table, args.shots, args.seeds)
    if "ghz" in only:
        ghz(chip, names, table, args.wide_shots, [int(n) for n in args.ghz_sizes.split(",")])
    if "ising" in only:
        ising(chip, names, table, args.wide_shots)
    if "mitiq" in only:
        anchor(chip, table, args.shots, args.wide_shots, args.seeds)


if __name__ == "__main__":
    main()
