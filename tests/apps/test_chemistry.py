"""The chemistry app's Hamiltonians, computed here from PySCF's integrals, against
PySCF's own full-CI and CASCI energies (the VQE itself is in ``test_apps.py``)."""

from __future__ import annotations

import pytest

from openqpu.apps import chemistry, molecules


@pytest.mark.parametrize("form", chemistry.FORMS["h2"])
def test_chemistry_h2_hamiltonian_ground_energy_is_pyscf_fci(form: str) -> None:
    for length in chemistry.DEFAULT_BOND_LENGTHS:
        integrals = molecules.h2(length)
        operator = chemistry.hamiltonian(integrals, form)
        assert operator.num_qubits == (2 if form == "parity" else 4)
        # 1e-8 Ha: the two diagonalise the same matrix in different bases
        energy = chemistry.exact_energy(operator, integrals, form)
        assert energy == pytest.approx(integrals.exact, abs=1e-8), length


def test_chemistry_h2_at_equilibrium_is_the_known_sto3g_value() -> None:
    # STO-3G full CI at 0.735 A is -1.1373 Ha in the literature (e.g. Szabo-Ostlund's
    # basis, Qiskit and OpenFermion tutorials); the loose tolerance allows for geometry.
    integrals = molecules.h2(0.735)
    assert integrals.exact == pytest.approx(-1.1373, abs=2e-4)
    assert integrals.hartree_fock == pytest.approx(-1.1170, abs=2e-4)


def test_chemistry_lih_hamiltonian_ground_energy_is_pyscf_casci() -> None:
    for length in (1.6, 3.0):
        integrals = molecules.lih(length)
        for form, num_qubits in (("parity", 4), ("jordan_wigner", 6)):
            operator = chemistry.hamiltonian(integrals, form)
            assert operator.num_qubits == num_qubits
            energy = chemistry.exact_energy(operator, integrals, form)
            assert energy == pytest.approx(integrals.exact, abs=1e-8), (length, form)


def test_chemistry_rejects_unknown_forms_and_bond_lengths() -> None:
    with pytest.raises(ValueError, match=r"bond length: expected 0.1 to 10 A, got 0.01"):
        molecules.h2(0.01)
    with pytest.raises(ValueError, match="molecule 'lih' in form 'parity': expected one of"):
        chemistry.ansatz("lih", "parity")
