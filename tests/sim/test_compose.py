"""Fused blocks built gate by gate (index maps, diagonals, batched dense) against dense products."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import QFTGate
from qiskit.quantum_info import random_unitary

from openqpu import sim
from openqpu.sim.compose import DenseBuilder, DiagonalBuilder, MonomialBuilder
from openqpu.sim.fusion import CostModel, LeafShape, plan_fusion
from openqpu.sim.ops import DenseOp, DiagonalOp, GroupOp, MonomialOp
from openqpu.sim.structure import Structure, classify
from tests.conftest import fidelity, reference_state


def _embed(matrix: np.ndarray, positions: tuple[int, ...], k: int) -> np.ndarray:
    """The dense reference: a gate on block bits ``positions`` as a 2^k x 2^k matrix."""
    full = np.zeros((1 << k, 1 << k), dtype=np.complex128)
    m = len(positions)
    mask = sum(1 << p for p in positions)
    for column in range(1 << k):
        sub = sum(((column >> p) & 1) << j for j, p in enumerate(positions))
        rest = column & ~mask
        for row_sub in range(1 << m):
            row = rest | sum(((row_sub >> j) & 1) << p for j, p in enumerate(positions))
            full[row, column] = matrix[row_sub, sub]
    return full


def _random_gate(rng: np.random.Generator, m: int, structure: Structure) -> np.ndarray:
    dim = 1 << m
    phases = np.exp(1j * rng.uniform(0, 2 * np.pi, dim))
    if structure is Structure.DIAGONAL:
        return np.diag(phases)
    if structure is Structure.MONOMIAL:
        matrix = np.zeros((dim, dim), dtype=np.complex128)
        matrix[rng.permutation(dim), np.arange(dim)] = phases if rng.random() < 0.5 else 1
        return matrix
    return random_unitary(dim, seed=int(rng.integers(1 << 30))).data


def _sequence(
    rng: np.random.Generator, k: int, structures: list[Structure], count: int
) -> list[tuple[tuple[int, ...], np.ndarray]]:
    gates = []
    for _ in range(count):
        m = int(rng.integers(1, min(k, 3) + 1))
        positions = tuple(int(p) for p in rng.choice(k, m, replace=False))
        structure = structures[int(rng.integers(len(structures)))]
        gates.append((positions, _random_gate(rng, m, structure)))
    return gates


def _reference(gates: list[tuple[tuple[int, ...], np.ndarray]], k: int) -> np.ndarray:
    total = np.eye(1 << k, dtype=np.complex128)
    for positions, matrix in gates:
        total = _embed(matrix, positions, k) @ total
    return total


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
def test_diagonal_builder_matches_dense_product(k: int) -> None:
    rng = np.random.default_rng(k)
    gates = _sequence(rng, k, [Structure.DIAGONAL], 12)
    builder = DiagonalBuilder(k)
    for positions, matrix in gates:
        builder.diagonal_gate(positions, np.diagonal(matrix).copy())
    np.testing.assert_allclose(np.diag(builder.result()), _reference(gates, k), atol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
def test_monomial_builder_matches_dense_product(k: int) -> None:
    rng = np.random.default_rng(10 + k)
    gates = _sequence(rng, k, [Structure.DIAGONAL, Structure.MONOMIAL], 14)
    builder = MonomialBuilder(k)
    for positions, matrix in gates:
        if classify(matrix) is Structure.DIAGONAL:
            builder.diagonal_gate(positions, np.diagonal(matrix).copy())
        else:
            rows = np.argmax(np.abs(matrix), axis=0)
            phases = matrix[rows, np.arange(rows.size)]
            builder.monomial_gate(positions, rows, None if np.all(phases == 1) else phases)
    rows, phases = builder.result()
    built = np.zeros((1 << k, 1 << k), dtype=np.complex128)
    built[rows, np.arange(1 << k)] = phases
    np.testing.assert_allclose(built, _reference(gates, k), atol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_dense_builder_matches_dense_product(k: int) -> None:
    rng = np.random.default_rng(20 + k)
    structures = [Structure.DIAGONAL, Structure.MONOMIAL, Structure.DENSE]
    gates = _sequence(rng, k, structures, 10)
    builder = DenseBuilder(k)
    for positions, matrix in gates:
        structure = classify(matrix)
        if structure is Structure.DIAGONAL:
            builder.diagonal_gate(positions, np.diagonal(matrix).copy())
        elif structure is Structure.MONOMIAL:
            rows = np.argmax(np.abs(matrix), axis=0)
            builder.monomial_gate(positions, rows, matrix[rows, np.arange(rows.size)])
        else:
            builder.dense_gate(positions, matrix)
    np.testing.assert_allclose(builder.result(), _reference(gates, k), atol=1e-12)


def _permutation_network(n: int, seed: int) -> QuantumCircuit:
    """x, cx, swap, ccx, cswap with phase gates (cz, s, t, rz, cp) between: monomial runs."""
    rng = np.random.default_rng(seed)
    circuit = QuantumCircuit(n)
    circuit.h(range(n))
    for _ in range(8 * n):
        a, b, c = (int(q) for q in rng.choice(n, 3, replace=False))
        kind = int(rng.integers(9))
        if kind == 0:
            circuit.x(a)
        elif kind == 1:
            circuit.cx(a, b)
        elif kind == 2:
            circuit.swap(a, b)
        elif kind == 3:
            circuit.ccx(a, b, c)
        elif kind == 4:
            circuit.cswap(a, b, c)
        elif kind == 5:
            circuit.cz(a, b)
        elif kind == 6:
            circuit.s(a)
        elif kind == 7:
            circuit.rz(float(rng.uniform(0, 6)), a)
        else:
            circuit.cp(float(rng.uniform(0, 6)), a, b)
    circuit.y(0)
    return circuit


@pytest.mark.parametrize("n", [6, 12, 17])
@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_monomial_runs_with_phases_match_reference(n: int, dtype: str) -> None:
    circuit = _permutation_network(n, seed=n)
    program = sim.lower(circuit)
    steps, _ = program.bind(None, np.dtype(dtype))
    ops = [m for op in steps[0] for m in (op.members if isinstance(op, GroupOp) else [op])]
    assert any(isinstance(op, MonomialOp) and len(op.qubits) >= 3 for op in ops)
    state = sim.statevector(program, dtype=dtype).astype(np.complex128)
    assert fidelity(state, reference_state(circuit)) > 1 - (1e-5 if dtype == "complex64" else 1e-10)


def test_cx_chain_is_planned_as_monomial_blocks_not_dense() -> None:
    n = 20
    shapes = [LeafShape((0,), Structure.DENSE)] + [
        LeafShape((q, q + 1), Structure.MONOMIAL) for q in range(n - 1)
    ]
    plan = plan_fusion(shapes, CostModel(np.dtype(np.complex128), n))
    # The chain is carried by wide permutation blocks; the h may take a cx or two into a
    # small dense block (the vector kernels make that as cheap).
    wide = [block for block in plan if len(block.qubits) > 4]
    assert wide and all(block.structure is Structure.MONOMIAL for block in wide)
    assert sum(len(block.qubits) for block in wide) >= n - 4
    assert all(len(block.qubits) <= 4 for block in plan if block.structure is Structure.DENSE)


def test_build_cost_grows_as_4_to_the_k_for_dense_and_2_to_the_k_otherwise() -> None:
    model = CostModel(np.dtype(np.complex128), 20)
    for k in range(1, 4):
        dense = model.build(k + 1, Structure.DENSE, 2, 8) / model.build(k, Structure.DENSE, 2, 8)
        assert dense == pytest.approx(4)
        for structure in (Structure.DIAGONAL, Structure.MONOMIAL):
            assert model.build(k + 1, structure, 3, 12) / model.build(k, structure, 3, 12) == 2


def test_small_states_fuse_more_where_dispatch_outweighs_the_pass() -> None:
    shapes = [
        LeafShape((0, 1), Structure.DENSE),
        LeafShape((2, 3), Structure.DENSE),
        LeafShape((1, 2), Structure.DENSE),
    ]
    small = plan_fusion(shapes, CostModel(np.dtype(np.complex128), 8))
    large = plan_fusion(shapes, CostModel(np.dtype(np.complex128), 24))
    assert len(small) < len(large) == 3


def test_qft_blocks_are_diagonal_or_small_dense() -> None:
    n = 12
    circuit = QuantumCircuit(n)
    circuit.h(range(n))
    circuit.append(QFTGate(n), range(n))
    circuit = transpile(circuit, basis_gates=["h", "cp", "swap"], optimization_level=0)
    program = sim.lower(circuit)
    steps, _ = program.bind(None, np.dtype(np.complex128))
    assert all(len(op.qubits) <= 4 for op in steps[0] if isinstance(op, DenseOp))
    assert any(isinstance(op, DiagonalOp) and len(op.qubits) > 4 for op in steps[0])
    assert fidelity(sim.statevector(program), reference_state(circuit)) > 1 - 1e-10
