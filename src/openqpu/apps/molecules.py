"""Molecular integrals from first principles with PySCF (STO-3G, restricted Hartree-Fock),
and PySCF's own full-CI (or CASCI) energy of the same orbital space to check against.

- ``h2``: both orbitals, 2 electrons: 4 spin orbitals.
- ``lih``: Li 1s frozen; active space of the three lowest sigma orbitals above it
  (2 electrons; the pi orbitals, which do not mix with sigma, are left out): 6 spin
  orbitals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pyscf import ao2mo, fci, gto, mcscf, scf, symm


@dataclass(frozen=True)
class Integrals:
    """A molecule's electronic problem in its orbital space, in hartree.

    Attributes:
        one_body: float array ``(n, n)``: ``h[p, q]`` over the (active) molecular orbitals.
        two_body: float array ``(n, n, n, n)``: ``(pq|rs)``, chemists' order.
        constant: nuclear repulsion plus the frozen core's energy.
        num_alpha: active alpha electrons.
        num_beta: active beta electrons.
        hartree_fock: the RHF energy.
        exact: PySCF's full-CI energy in this orbital space (FCI for H2, CASCI for LiH).
    """

    one_body: np.ndarray
    two_body: np.ndarray
    constant: float
    num_alpha: int
    num_beta: int
    hartree_fock: float
    exact: float

    def __post_init__(self) -> None:
        n = self.one_body.shape[0]
        if self.one_body.shape != (n, n):
            raise ValueError(f"one_body: expected a square array, got {self.one_body.shape}")
        if self.two_body.shape != (n, n, n, n):
            raise ValueError(f"two_body: expected shape {(n,) * 4}, got {self.two_body.shape}")

    @property
    def num_spatial(self) -> int:
        """Spatial orbitals in the problem (qubits: twice this, less two when reduced)."""
        return int(self.one_body.shape[0])


def h2(bond_length: float) -> Integrals:
    """H2 at ``bond_length`` angstrom: both STO-3G orbitals, checked by PySCF's FCI."""
    mol = _molecule(f"H 0 0 0; H 0 0 {bond_length}", bond_length, symmetry=False)
    mf = scf.RHF(mol).run()
    coeff = mf.mo_coeff
    n = coeff.shape[1]
    return Integrals(
        one_body=coeff.T @ mf.get_hcore() @ coeff,
        two_body=ao2mo.restore(1, ao2mo.kernel(mol, coeff), n),
        constant=float(mol.energy_nuc()),
        num_alpha=1,
        num_beta=1,
        hartree_fock=float(mf.e_tot),
        exact=float(fci.FCI(mf).kernel()[0]),
    )


def lih(bond_length: float) -> Integrals:
    """LiH at ``bond_length`` angstrom: frozen Li 1s, 2 electrons in 3 sigma orbitals,
    checked by PySCF's CASCI in that active space."""
    mol = _molecule(f"Li 0 0 0; H 0 0 {bond_length}", bond_length, symmetry=True)
    mf = scf.RHF(mol).run()
    labels = symm.label_orb_symm(mol, mol.irrep_name, mol.symm_orb, mf.mo_coeff)
    sigma = [i for i, label in enumerate(labels) if label == "A1"]
    active = sigma[1:4]  # sigma[0] is Li 1s, the frozen core
    cas = mcscf.CASCI(mf, 3, 2)
    orbitals = cas.sort_mo(active, base=0)
    exact = float(cas.kernel(orbitals)[0])
    one_body, core = cas.get_h1eff(orbitals)
    return Integrals(
        one_body=np.asarray(one_body),
        two_body=ao2mo.restore(1, cas.get_h2eff(orbitals), 3),
        constant=float(core),
        num_alpha=1,
        num_beta=1,
        hartree_fock=float(mf.e_tot),
        exact=exact,
    )


#: The molecules, by the name ``openqpu app chemistry --molecule`` knows them.
MOLECULES: dict[str, Callable[[float], Integrals]] = {"h2": h2, "lih": lih}


def _molecule(atoms: str, bond_length: float, *, symmetry: bool) -> gto.Mole:
    if not 0.1 <= bond_length <= 10:
        raise ValueError(f"bond length: expected 0.1 to 10 A, got {bond_length}")
    return gto.M(atom=atoms, basis="sto-3g", unit="Angstrom", symmetry=symmetry, verbose=0)
