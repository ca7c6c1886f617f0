"""QUBO helpers against exact arithmetic (no server)."""

from __future__ import annotations

import numpy as np
import pytest

from openqpu.apps.qubo import Qubo, bits_key, cvar, key_bits


def test_qubo_ising_form_gives_the_same_energies() -> None:
    rng = np.random.default_rng(3)
    qubo = Qubo(rng.normal(size=(5, 5)), offset=0.7)
    h, couplings, constant = qubo.ising()
    bits = qubo.all_bits()
    spins = 1 - 2 * bits
    ising = spins @ h + np.einsum("bi,ij,bj->b", spins, couplings, spins) + constant
    np.testing.assert_allclose(ising, qubo.energies(bits), atol=1e-12)


def test_qubo_keys_put_bit_zero_on_the_right() -> None:
    assert key_bits("0011", 4) == [1, 1, 0, 0]
    assert bits_key(np.array([1, 1, 0, 0])) == "0011"


def test_qubo_cvar_is_the_mean_of_the_lowest_fraction() -> None:
    energies = np.array([3.0, 1.0, 2.0, 4.0])
    weights = np.ones(4)
    assert cvar(energies, weights, 1.0) == pytest.approx(2.5)
    assert cvar(energies, weights, 0.5) == pytest.approx(1.5)
    assert cvar(energies, weights, 0.125) == pytest.approx(1.0)


def test_qubo_rejects_a_non_square_matrix() -> None:
    with pytest.raises(ValueError, match=r"matrix: expected a square array, got shape \(2, 3\)"):
        Qubo(np.zeros((2, 3)))
