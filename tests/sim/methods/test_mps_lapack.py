"""The MPS kernels' rank-revealing QR (LAPACK zgeqp3/zungqr through numba) against exact
math: rank found, residual accounted exactly, factors orthonormal on the asked side."""

from __future__ import annotations

import numpy as np
import pytest

from openqpu.sim.methods.mps_kernels import _qr_factor
from openqpu.sim.methods.mps_lapack import pivoted_qr


def _low_rank(rows: int, cols: int, rank: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    left = rng.normal(size=(rows, rank)) + 1j * rng.normal(size=(rows, rank))
    right = rng.normal(size=(rank, cols)) + 1j * rng.normal(size=(rank, cols))
    return left @ right


@pytest.mark.parametrize(("rows", "cols", "rank"), [(8, 8, 3), (40, 24, 12), (16, 64, 16)])
def test_pivoted_qr_finds_the_rank_and_reproduces_the_matrix(
    rows: int, cols: int, rank: int
) -> None:
    a = _low_rank(rows, cols, rank, seed=rows)
    q, r, dropped, total = pivoted_qr(np.ascontiguousarray(a.T).ravel(), rows, cols, 1e-12)
    assert q.shape == (rows, rank) and r.shape == (rank, cols)
    np.testing.assert_allclose(q @ r, a, atol=1e-10 * np.abs(a).max())
    np.testing.assert_allclose(q.conj().T @ q, np.eye(rank), atol=1e-12)
    assert total == pytest.approx(np.sum(np.abs(a) ** 2))
    assert dropped <= 1e-20 * total


def test_pivoted_qr_truncation_drops_exactly_what_it_reports() -> None:
    rng = np.random.default_rng(3)
    a = _low_rank(30, 30, 6, seed=1) + 1e-4 * (rng.normal(size=(30, 30)))
    threshold = 1e-6
    q, r, dropped, total = pivoted_qr(np.ascontiguousarray(a.T).ravel(), 30, 30, threshold)
    assert q.shape[1] < 30
    residual = np.sum(np.abs(a - q @ r) ** 2)
    assert residual == pytest.approx(dropped, rel=1e-6)
    assert 0 < dropped <= threshold * total


@pytest.mark.parametrize("isometry_left", [True, False])
def test_qr_factor_keeps_the_asked_side_orthonormal(isometry_left: bool) -> None:
    m = _low_rank(32, 20, 9, seed=7)
    stats = np.ones(5)
    x, y = _qr_factor(m, isometry_left, 1e-12, stats)
    np.testing.assert_allclose(x @ y, m, atol=1e-10 * np.abs(m).max())
    assert x.shape[1] == y.shape[0] == 9
    if isometry_left:
        np.testing.assert_allclose(x.conj().T @ x, np.eye(9), atol=1e-12)
    else:
        np.testing.assert_allclose(y @ y.conj().T, np.eye(9), atol=1e-12)
    assert stats[0] == 1.0  # nothing but rounding dropped
