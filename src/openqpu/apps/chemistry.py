"""Chemistry: potential-energy curves with VQE through ``EstimatorV2`` on the cloud.

The Hamiltonian at each bond length is computed here from first principles: PySCF's
STO-3G integrals (``openqpu.apps.molecules``), second-quantised and mapped to qubits by
``openqpu.apps.fermion``. H2 runs by default in the parity mapping with two qubits
removed by symmetry (2 qubits, one CNOT in the ansatz, so it stays quick and shallow
on a chip), or in Jordan-Wigner (4 qubits); LiH (frozen core, 2 electrons in 3 sigma
orbitals) in Jordan-Wigner (6 qubits). Each VQE energy is checked against PySCF's
full-CI (CASCI for LiH) energy of the same orbital space.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit.circuit import Parameter, ParameterVector, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from scipy.optimize import minimize

from openqpu.apps import fermion
from openqpu.apps.common import Progress, new_figure
from openqpu.apps.molecules import MOLECULES, Integrals
from openqpu.qiskit import EstimatorV2, OpenQPUBackend

#: Chemical accuracy, in hartree.
CHEMICAL_ACCURACY_HA = 1.6e-3

DEFAULT_BOND_LENGTHS = (0.5, 0.75, 1.0, 1.5, 2.0, 2.5)

#: The qubit forms each molecule runs in, the default first: ``parity`` is the parity
#: mapping less the two qubits holding the spin parities.
FORMS: dict[str, tuple[str, ...]] = {"h2": ("parity", "jordan_wigner"), "lih": ("jordan_wigner",)}


def hamiltonian(integrals: Integrals, form: str) -> SparsePauliOp:
    """The qubit Hamiltonian (hartree, nuclear repulsion included) in ``form``:
    ``"jordan_wigner"`` (``2n`` qubits) or ``"parity"`` (reduced, ``2n - 2`` qubits)."""
    if form not in fermion.MAPPINGS:
        raise ValueError(f"form: expected one of {', '.join(fermion.MAPPINGS)}, got {form!r}")
    mapping: fermion.Mapping = "parity" if form == "parity" else "jordan_wigner"
    args = (integrals.one_body, integrals.two_body, integrals.constant)
    operator = fermion.molecular_hamiltonian(*args, mapping=mapping)
    if form == "parity":
        operator = fermion.two_qubit_reduced(operator, integrals.num_alpha, integrals.num_beta)
    return operator


def exact_energy(operator: SparsePauliOp, integrals: Integrals, form: str) -> float:
    """The lowest eigenvalue of ``operator`` (in ``form``) with the molecule's electron
    counts, by numpy's ``eigvalsh``; equals ``integrals.exact`` (PySCF) to rounding."""
    mapping: fermion.Mapping = "parity" if form == "parity" else "jordan_wigner"
    counts = fermion.number_operators(integrals.num_spatial, mapping)
    if form == "parity":
        reduce = fermion.two_qubit_reduced
        alpha, beta = counts
        counts = (
            reduce(alpha, integrals.num_alpha, integrals.num_beta),
            reduce(beta, integrals.num_alpha, integrals.num_beta),
        )
    return fermion.sector_ground_energy(operator, counts, integrals.num_alpha, integrals.num_beta)


def ansatz(molecule: str, form: str) -> tuple[QuantumCircuit, np.ndarray]:
    """The ansatz for ``molecule`` in ``form`` and its starting point, the Hartree-Fock state.

    - H2, parity: ``cos(t/2)|01> + sin(t/2)|10>`` (qubit 0 on the right), one CNOT;
      ``t = pi`` is Hartree-Fock.
    - H2, Jordan-Wigner: ``cos(t/2)|0101> + sin(t/2)|1010>``, Hartree-Fock (both
      electrons in orbital 0) against the double excitation to orbital 1, three CNOTs.
    - Two electrons in ``n`` orbitals, Jordan-Wigner: ``sum_k c_k |k alpha, k beta>``
      (``n - 1`` angles), then one real orbital rotation (Givens rotations, ``n(n-1)/2``
      angles) applied to both spins; this reaches every real singlet of two electrons.

    In the two H2 forms the ground state (a singlet of gerade symmetry) lies in the
    span of the two configurations, so one parameter reaches it exactly.
    """
    if molecule not in FORMS or form not in FORMS[molecule]:
        known = "; ".join(f"{m}: {', '.join(forms)}" for m, forms in FORMS.items())
        raise ValueError(f"molecule {molecule!r} in form {form!r}: expected one of {known}")
    if molecule == "h2":
        theta = Parameter("t")
        if form == "parity":
            circuit = QuantumCircuit(2, name="exchange")
            circuit.ry(theta, 0)
            circuit.x(1)
            circuit.cx(0, 1)
        else:
            circuit = QuantumCircuit(4, name="double_excitation")
            circuit.ry(theta, 0)
            circuit.cx(0, 2)
            for target in (1, 3):
                circuit.cx(0, target)
                circuit.x(target)
        return circuit, np.array([np.pi - 0.2])
    return _pair_ansatz(3), np.zeros(2 + 3)


def _pair_ansatz(n: int) -> QuantumCircuit:
    """Two electrons (one per spin) in ``n`` orbitals, Jordan-Wigner block order."""
    angles = ParameterVector("t", n - 1 + n * (n - 1) // 2)
    circuit = QuantumCircuit(2 * n, name="pair")
    circuit.x(0)
    for k in range(n - 1):  # spread the alpha electron over the orbitals
        _givens(circuit, angles[k], k, k + 1)
    for k in range(n):  # the beta electron follows it
        circuit.cx(k, n + k)
    pairs = [(k, k + 1) for start in range(n - 1) for k in range(n - 2, start - 1, -1)]
    for angle, (a, b) in zip(angles[n - 1 :], pairs, strict=True):
        for spin in (0, n):
            _givens(circuit, angle, spin + a, spin + b)
    return circuit


def _givens(circuit: QuantumCircuit, angle: Any, a: int, b: int) -> None:
    """A real rotation by ``angle / 2`` in span{``|1>_a|0>_b``, ``|0>_a|1>_b``}."""
    circuit.cx(b, a)
    circuit.cry(angle, a, b)
    circuit.cx(b, a)


def run(
    backend: OpenQPUBackend,
    *,
    molecule: str = "h2",
    form: str | None = None,
    bond_lengths: tuple[float, ...] = DEFAULT_BOND_LENGTHS,
    mitigations: tuple[str, ...] = ("none",),
    maxiter: int = 20,
    precision: float = 1 / 64,
    seed: int = 7,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """VQE at each bond length, once per mitigation: ``none``, ``readout`` (readout
    inversion), ``level1`` or ``level2`` (the server's ``resilience_level``: TREX, and
    TREX with gate twirling and zero-noise extrapolation).

    Each COBYLA call is one ``EstimatorV2`` job; the next bond length starts from
    the last one's angles.

    Args:
        molecule: ``"h2"`` or ``"lih"``.
        form: the qubit form (``FORMS[molecule]``, default its first).

    Returns:
        A JSON-ready summary: per bond length PySCF's exact energy, the Hartree-Fock
        energy and, per mitigation, the VQE energy, its error in mHa and the angles;
        the largest error per mitigation and whether it is within chemical accuracy.

    Raises:
        ValueError: an unknown molecule or form, or a bond length outside 0.1-10 A.
    """
    if molecule not in MOLECULES:
        raise ValueError(f"molecule: expected one of {', '.join(MOLECULES)}, got {molecule!r}")
    form = form or FORMS[molecule][0]
    circuit, first = ansatz(molecule, form)
    problems = [MOLECULES[molecule](r) for r in bond_lengths]
    operators = [hamiltonian(integrals, form) for integrals in problems]
    points: list[dict[str, Any]] = [
        {"bond_length": r, "exact": p.exact, "hartree_fock": p.hartree_fock, "vqe": {}}
        for r, p in zip(bond_lengths, problems, strict=True)
    ]
    for mode in mitigations:
        level = int(mode.removeprefix("level")) if mode.startswith("level") else None
        estimator = EstimatorV2(
            backend, default_precision=precision, seed=seed,
            mitigation=None if mode == "none" or level is not None else mode,
            options=None if level is None else {"resilience_level": level},
        )  # fmt: skip
        start = first
        for point, operator in zip(points, operators, strict=True):
            label = f"{mode} R={point['bond_length']:.2f}"
            result, evaluations = _minimise(
                estimator, circuit, operator, start,
                maxiter=maxiter, progress=progress, label=label,
            )  # fmt: skip
            start = result.x
            energy = float(result.fun)  # the energy at the returned angles
            point["vqe"][mode] = {
                "energy": energy,
                "error_mha": 1000 * (energy - point["exact"]),
                "theta": [float(t) for t in result.x],
                "evaluations": evaluations,
            }
    worst = {mode: max(abs(p["vqe"][mode]["error_mha"]) for p in points) for mode in mitigations}
    return {
        "app": "chemistry",
        "device": backend.name,
        "molecule": f"{'H2' if molecule == 'h2' else 'LiH'} (STO-3G, {circuit.num_qubits} "
                    f"qubits, {form.replace('_', '-')})",
        "source": "PySCF RHF integrals; exact: PySCF " + ("FCI" if molecule == "h2" else
                  "CASCI (frozen 1s, 2 electrons in 3 sigma orbitals)"),
        "precision": precision,
        "seed": seed,
        "points": points,
        "max_error_mha": worst,
        "within_chemical_accuracy": {mode: worst[mode] <= 1000 * CHEMICAL_ACCURACY_HA
                                     for mode in mitigations},
    }  # fmt: skip


def _minimise(
    estimator: EstimatorV2,
    circuit: QuantumCircuit,
    operator: SparsePauliOp,
    start: np.ndarray,
    *,
    maxiter: int,
    progress: Progress | None,
    label: str,
) -> tuple[Any, int]:
    """COBYLA on the estimated energy, one estimator job per call; returns (result, calls)."""
    calls = 0

    def energy(theta: np.ndarray) -> float:
        nonlocal calls
        calls += 1
        value = float(estimator.run([(circuit, operator, theta)]).result()[0].data.evs)
        if progress is not None:
            progress.step(f"{label} E={value:.5f}")
        return value

    options = {"maxiter": maxiter, "rhobeg": 0.3, "tol": 1e-5}
    return minimize(energy, start, method="COBYLA", options=options), calls


def plot(summary: dict[str, Any]) -> Any:
    """The potential-energy curve (exact line, VQE markers) and the errors in mHa."""
    figure, (left, right) = new_figure()
    lengths = [p["bond_length"] for p in summary["points"]]
    left.plot(lengths, [p["exact"] for p in summary["points"]], "k-", label="exact")
    for mode, marker in zip(summary["max_error_mha"], "ox", strict=False):
        energies = [p["vqe"][mode]["energy"] for p in summary["points"]]
        errors = [abs(p["vqe"][mode]["error_mha"]) for p in summary["points"]]
        left.plot(lengths, energies, marker, label=f"VQE ({mode})")
        right.semilogy(lengths, np.maximum(errors, 1e-6), marker + "-", label=mode)
    left.set(
        xlabel="bond length (A)",
        ylabel="energy (Ha)",
        title=f"{summary['molecule'].split()[0]} on {summary['device']}",
    )
    left.legend()
    right.axhline(1000 * CHEMICAL_ACCURACY_HA, color="r", linestyle="--", label="1.6 mHa")
    right.set(xlabel="bond length (A)", ylabel="|VQE - exact| (mHa)", title="error")
    right.legend()
    return figure
