"""The dense kernels (vector chunks, and groups one by one at cut ends) against NumPy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from qiskit.quantum_info import random_unitary

from openqpu.sim import kernels, small

N = 12


def _state(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(5)
    state = rng.normal(size=1 << N) + 1j * rng.normal(size=1 << N)
    return (state / np.linalg.norm(state)).astype(dtype)


def _splits(groups: int) -> list[tuple[int, int]]:
    """The whole range, and pieces cut inside runs (as parallel chunks may cut them)."""
    cuts = [0, 3, 77, 78, 81, groups // 2 + 5, groups]
    return [(0, groups), *itertools.pairwise(cuts)]


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
@pytest.mark.parametrize("qubit", range(N))
def test_dense1_every_qubit_and_split(dtype: str, qubit: int) -> None:
    matrix = random_unitary(2, seed=qubit).data.astype(dtype)
    state = _state(dtype)
    expected = state.astype(np.complex128)
    small.apply_dense(expected, (qubit,), matrix.astype(np.complex128))
    tolerance = 1e-5 if dtype == "complex64" else 1e-12
    for start, stop in _splits(1 << (N - 1)):
        piece = state.copy()
        kernels._dense1_range(piece, qubit, matrix, start, stop)
        if (start, stop) == (0, 1 << (N - 1)):
            np.testing.assert_allclose(piece, expected, atol=tolerance)
        else:
            # Only the groups in [start, stop) change, each as in the full application.
            changed = np.flatnonzero(piece != state)
            groups = {
                int(i) & ((1 << qubit) - 1) | (int(i) >> (qubit + 1) << qubit) for i in changed
            }
            assert all(start <= g < stop for g in groups)
            np.testing.assert_allclose(piece[changed], expected[changed], atol=tolerance)


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
@pytest.mark.parametrize(
    "qubits",
    [
        (0, 1),
        (1, 0),
        (0, 2),
        (0, 3),
        (7, 0),
        (0, 11),
        (1, 5),
        (6, 1),
        (1, 3),
        (1, 2),
        (2, 5),
        (3, 4),
        (4, 3),
        (9, 3),
        (5, 11),
        (11, 10),
    ],
)
def test_dense2_positions_and_splits(dtype: str, qubits: tuple[int, int]) -> None:
    matrix = random_unitary(4, seed=sum(qubits)).data.astype(dtype)
    state = _state(dtype)
    expected = state.astype(np.complex128)
    small.apply_dense(expected, qubits, matrix.astype(np.complex128))
    tolerance = 1e-5 if dtype == "complex64" else 1e-12
    whole = state.copy()
    kernels._dense2_range(whole, qubits[0], qubits[1], matrix, 0, 1 << (N - 2))
    np.testing.assert_allclose(whole, expected, atol=tolerance)
    pieces = state.copy()
    for start, stop in _splits(1 << (N - 2))[1:]:
        kernels._dense2_range(pieces, qubits[0], qubits[1], matrix, start, stop)
    np.testing.assert_allclose(pieces, expected, atol=tolerance)


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_vector_chunks_compile_to_packed_simd(dtype: str) -> None:
    # The chunk kernels must stay vector code: packed multiplies or FMAs (ps: float32
    # lanes, pd: float64), not only scalar ones (ss, sd). Compiled afresh: numba does
    # not show the assembly of cached code.
    import re

    from numba import njit

    from openqpu.sim import simd

    chunks = njit(simd.dense_chunks.py_func)
    x = np.zeros(64, dtype=dtype)
    chunks(x, np.array([2, 4]), np.eye(4, dtype=dtype), 0, 16)
    assembly = "\n".join(chunks.inspect_asm().values())
    lanes = "ps" if dtype == "complex64" else "pd"
    assert re.search(rf"\bv?(?:fmadd\w*|fmsub\w*|mul|add|sub){lanes}\b", assembly)


@pytest.mark.parametrize("qubit", [0, 3, 11, 15])
@pytest.mark.parametrize("outcome", [0, 1])
@pytest.mark.parametrize("to_zero", [False, True])
def test_parallel_measurement_kernels_match_numpy(qubit: int, outcome: int, to_zero: bool) -> None:
    """The parallel probability and collapse (states from 2^14 amplitudes) against NumPy,
    with the reset's move to |0> in the same pass."""
    from openqpu.sim import ops

    rng = np.random.default_rng(qubit)
    state = rng.normal(size=1 << 16) + 1j * rng.normal(size=1 << 16)
    state /= np.linalg.norm(state)
    view = state.reshape(-1, 2, 1 << qubit)
    p1 = float(np.sum(np.abs(view[:, 1, :]) ** 2))
    assert ops.probability_of_one(state, qubit) == pytest.approx(p1, rel=1e-12)
    scale = 1 / np.sqrt(p1 if outcome else 1 - p1)
    expected = np.zeros_like(view)
    expected[:, 0 if to_zero else outcome, :] = view[:, outcome, :] * scale
    ops.collapse(state, qubit, outcome, scale, to_zero=to_zero)
    np.testing.assert_allclose(state, expected.reshape(-1), atol=1e-14)
    assert np.linalg.norm(state) == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
@pytest.mark.parametrize("num_qubits", [1, 2, 3])
def test_states_smaller_than_a_vector(dtype: str, num_qubits: int) -> None:
    # One or two complex64 vectors' worth of amplitudes or less: the chunks decline
    # what does not fill a vector and the group-by-group loops do it.
    rng = np.random.default_rng(num_qubits)
    state = (rng.normal(size=1 << num_qubits) + 1j * rng.normal(size=1 << num_qubits)).astype(dtype)
    tolerance = 1e-5 if dtype == "complex64" else 1e-12
    for qubit in range(num_qubits):
        matrix = random_unitary(2, seed=qubit).data.astype(dtype)
        expected = state.astype(np.complex128)
        small.apply_dense(expected, (qubit,), matrix.astype(np.complex128))
        got = state.copy()
        kernels._dense1_range(got, qubit, matrix, 0, got.size >> 1)
        np.testing.assert_allclose(got, expected, atol=tolerance)
    for qubits in itertools.permutations(range(num_qubits), 2):
        matrix = random_unitary(4, seed=sum(qubits)).data.astype(dtype)
        expected = state.astype(np.complex128)
        small.apply_dense(expected, qubits, matrix.astype(np.complex128))
        got = state.copy()
        kernels._dense2_range(got, qubits[0], qubits[1], matrix, 0, got.size >> 2)
        np.testing.assert_allclose(got, expected, atol=tolerance)


def _spread_group(group: int, bits: tuple[int, ...]) -> int:
    """The state index of ``group``'s first amplitude: zeros inserted at ``bits``."""
    for bit in sorted(bits):
        group = (group >> bit << (bit + 1)) | (group & ((1 << bit) - 1))
    return group


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
@pytest.mark.parametrize("with_phases", [False, True])
@pytest.mark.parametrize(
    "bits",
    [(0, 1, 2), (2, 3, 4, 5), (3, 5, 8), (4, 6, 7, 10), (7, 8, 9, 10, 11), (9, 11)],
)
def test_monomial_range_low_and_high_bits_and_split(
    dtype: str, with_phases: bool, bits: tuple[int, ...]
) -> None:
    """Ops on high bits move runs of consecutive groups; cut ranges move only their own."""
    rng = np.random.default_rng(len(bits) + bits[0])
    dim = 1 << len(bits)
    rows = rng.permutation(dim)  # amplitude a goes to rows[a]
    phases = np.exp(1j * rng.uniform(0, 6.3, dim)) if with_phases else np.ones(dim)
    offsets = np.array([_spread_group(0, ()) | sum(((a >> j) & 1) << b for j, b in
                        enumerate(bits)) for a in range(dim)], dtype=np.int64)  # fmt: skip
    state = _state(dtype)
    tolerance = 1e-5 if dtype == "complex64" else 1e-12
    groups = 1 << (N - len(bits))
    for start, stop in _splits(groups):
        piece = state.copy()
        kernels._monomial_range(
            piece, np.array(bits, dtype=np.int64), offsets, offsets[rows],
            phases.astype(dtype), start, stop,
        )  # fmt: skip
        expected = state.astype(np.complex128)
        for group in range(start, stop):
            base = _spread_group(group, bits)
            moved = state[base + offsets].astype(np.complex128) * phases
            expected[base + offsets[rows]] = moved
        np.testing.assert_allclose(piece, expected, atol=tolerance)
