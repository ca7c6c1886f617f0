"""Numba kernels of the MPS method: one noisy trajectory of a lowered program on a
matrix product state, and many of them in parallel.

The kernels take only arrays and scalars. A state is a list of site tensors of shape
``(chi_left, 2, chi_right)``, C-contiguous, in mixed-canonical form around ``center``.
Randomness comes from numba's per-thread generator, seeded at the start of each
trajectory, so a trajectory's draws do not depend on which thread runs it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from openqpu.sim.methods.mps_lapack import pivoted_qr

# Operation kinds of a lowered program (columns: kind, a, b, index, p1, p2).
GATE1 = 0  # a: site, index: 2x2 matrix
GATE2 = 1  # a: left site (right is a + 1), index: 4x4 matrix, b: flags below
MEASURE = 2  # a: site, index: clbit, p1: P(1|0), p2: P(0|1)
RESET = 3  # a: site
PAULI1 = 4  # a: site, p1: probability of a non-identity Pauli (uniform over X, Y, Z)
PAULI2 = 5  # a, b: sites, p1: probability of a non-identity two-qubit Pauli
RELAX_MIX = 6  # a: site, p1: reset probability, p2: Z probability
RELAX_JUMP = 7  # a: site, p1: probability of damping, p2: its gamma
JUMP_UNLESS = 8  # index: condition, b: target operation
JUMP = 9  # b: target operation

# Flags of a GATE2 (its column b).
LEFT_CENTRE = 1  # leave the centre on the left site (the next centred operation is left)
DEFER = 2  # more operations on this pair follow: fold them into one two-site step


@njit(cache=True)
def _qr(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q, r = np.linalg.qr(m)
    return np.ascontiguousarray(q), np.ascontiguousarray(r)


@njit(cache=True)
def _svd_of_tall(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SVD through a QR first (rows >= columns), for when LAPACK's gesdd fails."""
    q, r = _qr(m)
    try:
        u, s, vh = np.linalg.svd(r, full_matrices=False)
        return q @ u, s, vh
    except Exception:
        pass
    values, vectors = np.linalg.eigh(np.ascontiguousarray(r.conj().T) @ r)
    n = values.shape[0]
    s = np.sqrt(np.maximum(values[::-1], 0.0))
    v = np.ascontiguousarray(vectors[:, ::-1])
    u = np.zeros((r.shape[0], n), dtype=np.complex128)
    rv = r @ v
    for k in range(n):
        if s[k] > 1e-300:
            u[:, k] = rv[:, k] / s[k]
    return q @ u, s, np.ascontiguousarray(v.conj().T)


@njit(cache=True)
def svd(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD; when gesdd does not converge (it happens on degenerate spectra), the
    SVD of a QR factor, or of the Hermitian square, instead."""
    try:
        u, s, vh = np.linalg.svd(m, full_matrices=False)
        # gesdd has been seen to return non-finite factors without an error.
        if np.isfinite(s.sum()) and np.isfinite(u.sum()) and np.isfinite(vh.sum()):
            return u, s, vh
    except Exception:
        pass
    if m.shape[0] >= m.shape[1]:
        return _svd_of_tall(m)
    u, s, vh = _svd_of_tall(np.ascontiguousarray(m.conj().T))
    return np.ascontiguousarray(vh.conj().T), s, np.ascontiguousarray(u.conj().T)


@njit(cache=True)
def move_center(tensors: list[np.ndarray], center: int, target: int) -> int:
    """Move the orthogonality centre from ``center`` to ``target`` by QR sweeps."""
    while center < target:
        a = tensors[center]
        left, _, right = a.shape
        q, r = _qr(a.reshape(left * 2, right))
        k = q.shape[1]
        tensors[center] = q.reshape(left, 2, k)
        b = tensors[center + 1]
        nxt = b.shape[2]
        tensors[center + 1] = (r @ b.reshape(right, 2 * nxt)).reshape(k, 2, nxt)
        center += 1
    while center > target:
        a = tensors[center]
        left, _, right = a.shape
        q, r = _qr(np.ascontiguousarray(a.reshape(left, 2 * right).T))
        k = q.shape[1]
        tensors[center] = np.ascontiguousarray(q.T).reshape(k, 2, right)
        b = tensors[center - 1]
        prev = b.shape[0]
        rt = np.ascontiguousarray(r.T)
        tensors[center - 1] = (b.reshape(prev * 2, left) @ rt).reshape(prev, 2, k)
        center -= 1
    return center


@njit(cache=True)
def apply_1q(tensors: list[np.ndarray], site: int, u: np.ndarray) -> None:
    """Apply the 2x2 matrix ``u`` to a site (keeps canonical form when unitary)."""
    a = tensors[site]
    for i in range(a.shape[0]):
        for j in range(a.shape[2]):
            x0 = a[i, 0, j]
            x1 = a[i, 1, j]
            a[i, 0, j] = u[0, 0] * x0 + u[0, 1] * x1
            a[i, 1, j] = u[1, 0] * x0 + u[1, 1] * x1


@njit(cache=True)
def apply_pauli(tensors: list[np.ndarray], site: int, pauli: int) -> None:
    """Apply Pauli 1 (X), 2 (Y) or 3 (Z) to a site, up to a global phase."""
    a = tensors[site]
    for i in range(a.shape[0]):
        for j in range(a.shape[2]):
            x0 = a[i, 0, j]
            x1 = a[i, 1, j]
            if pauli == 1:
                a[i, 0, j] = x1
                a[i, 1, j] = x0
            elif pauli == 2:
                a[i, 0, j] = -1j * x1
                a[i, 1, j] = 1j * x0
            elif pauli == 3:
                a[i, 1, j] = -x1


# Steps whose Gram matrix would be smaller than this are factored by an SVD.
_GRAM_FROM = 32
# Weights a Gram matrix's eigenvalues cannot tell from zero (relative to the total).
_ROUNDING = 1e-13


@njit(cache=True)
def _kept(
    weights: np.ndarray, total: float, max_bond: int, threshold: float, stats: np.ndarray
) -> int:
    """How many of the descending ``weights`` to keep: the smallest that add up to at
    most ``threshold * total`` go, then at most ``max_bond`` stay (counted in
    ``stats[1]`` when that cuts); ``stats[0]`` is multiplied by 1 - dropped / total."""
    keep = weights.shape[0]
    dropped = 0.0
    while keep > 1 and dropped + weights[keep - 1] <= threshold * total:
        dropped += weights[keep - 1]
        keep -= 1
    if keep > max_bond:
        for k in range(max_bond, keep):
            dropped += weights[k]
        keep = max_bond
        stats[1] += 1.0
    if dropped > _ROUNDING * total:  # below: zero singular values, as rounding leaves them
        stats[0] *= 1.0 - dropped / total
    return keep


@njit(cache=True)
def _gram_factor(
    m: np.ndarray, isometry_left: bool, max_bond: int, threshold: float, stats: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Truncated ``m ~ x @ y`` from the eigenvectors of a Gram matrix.

    With ``isometry_left`` the columns of ``x`` are orthonormal (the eigenvectors of
    ``m m^H``) and ``y = x^H m``; otherwise the rows of ``y`` are (those of ``m^H m``)
    and ``x = m y^H``. Eigenvalues are the squared singular values; both factors are
    products with ``m``, never divided by a singular value, so weights lost to
    rounding (about 1e-16 of the total) sit far below any truncation threshold. Two
    to three times cheaper than an SVD of ``m``.
    """
    if isometry_left:
        gram = m @ np.ascontiguousarray(m.conj().T)
    else:
        gram = np.ascontiguousarray(m.conj().T) @ m
    values, vectors = np.linalg.eigh(gram)
    n = values.shape[0]
    weights = np.empty(n)
    for k in range(n):
        weights[k] = max(values[n - 1 - k], 0.0)
    total = 0.0
    for v in m.ravel():
        total += v.real * v.real + v.imag * v.imag
    keep = _kept(weights, total, max_bond, threshold, stats)
    basis = np.empty((n, keep), dtype=np.complex128)
    for k in range(keep):
        basis[:, k] = vectors[:, n - 1 - k]
    if isometry_left:
        return basis, np.ascontiguousarray(basis.conj().T) @ m
    return m @ basis, np.ascontiguousarray(basis.conj().T)


@njit(cache=True)
def _qr_factor(
    m: np.ndarray, isometry_left: bool, threshold: float, stats: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Truncated ``m ~ x @ y`` from a rank-revealing QR (as ``_gram_factor``, for steps
    whose rank cannot pass the bond cap): of ``m`` when the columns of ``x`` must be
    orthonormal, else of ``m^H``. The weight dropped is exactly the residual."""
    rows, cols = m.shape
    if isometry_left:
        # The column-major entries of m are the row-major entries of its transpose.
        q, r, dropped, total = pivoted_qr(np.ascontiguousarray(m.T).ravel(), rows, cols, threshold)
        x, y = q, r
    else:
        # ... and those of m^H (cols x rows) are the row-major entries of conj(m).
        q, r, dropped, total = pivoted_qr(np.conj(m).ravel(), cols, rows, threshold)
        x, y = np.ascontiguousarray(r.conj().T), np.ascontiguousarray(q.conj().T)
    if dropped > _ROUNDING * total:
        stats[0] *= 1.0 - dropped / total
    return x, y


@njit(cache=True)
def _svd_factor(
    m: np.ndarray, isometry_left: bool, max_bond: int, threshold: float, stats: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Truncated ``m ~ x @ y`` from an SVD (as ``_gram_factor``; for thin matrices)."""
    u, sv, vh = svd(m)
    weights = sv * sv
    total = weights.sum()
    keep = _kept(weights, total, max_bond, threshold, stats)
    if isometry_left:
        y = np.empty((keep, m.shape[1]), dtype=np.complex128)
        for k in range(keep):
            y[k] = sv[k] * vh[k]
        return np.ascontiguousarray(u[:, :keep]), y
    x = np.empty((m.shape[0], keep), dtype=np.complex128)
    for k in range(keep):
        x[:, k] = u[:, k] * sv[k]
    return x, np.ascontiguousarray(vh[:keep])


@njit(cache=True)
def apply_2q(
    tensors: list[np.ndarray],
    site: int,
    g: np.ndarray,
    max_bond: int,
    threshold: float,
    stats: np.ndarray,
    left_centre: bool,
) -> None:
    """Apply the 4x4 ``g`` (index 2 * left + right) to sites ``site``, ``site + 1``.

    The centre must be on one of the two sites; afterwards it is on ``site`` when
    ``left_centre``, else on ``site + 1``.
    ``stats`` (float64[4]) accumulates: fidelity product, capped truncations, max bond,
    and the work of the step (complex multiply-adds, about).
    """
    a = tensors[site]
    b = tensors[site + 1]
    left, mid, right = a.shape[0], a.shape[2], b.shape[2]
    theta = a.reshape(left * 2, mid) @ b.reshape(mid, 2 * right)
    out = np.empty((left * 2, 2 * right), dtype=np.complex128)
    for i in range(left):
        for j in range(right):
            x0 = theta[2 * i, j]
            x1 = theta[2 * i, right + j]
            x2 = theta[2 * i + 1, j]
            x3 = theta[2 * i + 1, right + j]
            for p in range(2):
                for s in range(2):
                    row = 2 * p + s
                    out[2 * i + p, s * right + j] = (
                        g[row, 0] * x0 + g[row, 1] * x1 + g[row, 2] * x2 + g[row, 3] * x3
                    )
    # A step whose rank cannot pass the cap is factored by a rank-revealing QR (two to
    # three times cheaper); one that may be capped needs the singular values: the Gram
    # matrix is square on the side that must come out orthonormal; when that side is
    # much the longer one, a thin SVD is cheaper, and so it is for small steps, where
    # the Gram path's extra products and copies cost more than they save.
    isometry_left = not left_centre
    side, other = (2 * left, 2 * right) if isometry_left else (2 * right, 2 * left)
    by_qr = min(side, other) <= max_bond
    if by_qr:
        x, y = _qr_factor(out, isometry_left, threshold, stats)
    elif _GRAM_FROM <= side <= 2 * other:
        x, y = _gram_factor(out, isometry_left, max_bond, threshold, stats)
    else:
        x, y = _svd_factor(out, isometry_left, max_bond, threshold, stats)
    keep = x.shape[1]
    kept = 0.0  # the norm the factors hold, to renormalise
    centre = y if isometry_left else x
    for v in centre.ravel():
        kept += v.real * v.real + v.imag * v.imag
    if keep > stats[2]:
        stats[2] = keep
    # Work: the contraction, plus the factorisation (a pivoted QR costs about 3/8 of an
    # eigendecomposition or SVD of the same size, measured).
    factor = 3.0 if by_qr else 8.0
    stats[3] += left * right * (4.0 * mid + factor * min(left, right))
    scale = 1.0 / np.sqrt(kept)
    if isometry_left:
        tensors[site] = np.ascontiguousarray(x).reshape(left, 2, keep)
        tensors[site + 1] = (y * scale).reshape(keep, 2, right)
    else:
        tensors[site] = (x * scale).reshape(left, 2, keep)
        tensors[site + 1] = np.ascontiguousarray(y).reshape(keep, 2, right)


@njit(cache=True)
def fold_1q(pending: np.ndarray, u: np.ndarray, right: bool) -> None:
    """``pending`` (4x4, index 2 * left + right) becomes (u on one site) @ ``pending``."""
    for col in range(4):
        for hi in range(2):
            if right:
                r0, r1 = 2 * hi, 2 * hi + 1
            else:
                r0, r1 = hi, 2 + hi
            x0 = pending[r0, col]
            x1 = pending[r1, col]
            pending[r0, col] = u[0, 0] * x0 + u[0, 1] * x1
            pending[r1, col] = u[1, 0] * x0 + u[1, 1] * x1


@njit(cache=True)
def fold_pauli(pending: np.ndarray, pauli: int, right: bool) -> None:
    """Fold Pauli 1 (X), 2 (Y) or 3 (Z) on one site of the pair into ``pending``."""
    u = np.zeros((2, 2), dtype=np.complex128)
    if pauli == 1:
        u[0, 1] = 1.0
        u[1, 0] = 1.0
    elif pauli == 2:
        u[0, 1] = -1j
        u[1, 0] = 1j
    else:
        u[0, 0] = 1.0
        u[1, 1] = -1.0
    fold_1q(pending, u, right)


@njit(cache=True)
def population_one(tensors: list[np.ndarray], site: int) -> float:
    """Probability of |1> on ``site``; the centre must be there."""
    a = tensors[site]
    p0 = 0.0
    p1 = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[2]):
            p0 += abs(a[i, 0, j]) ** 2
            p1 += abs(a[i, 1, j]) ** 2
    return p1 / (p0 + p1)


@njit(cache=True)
def project(tensors: list[np.ndarray], site: int, value: int, weight: float) -> None:
    """Project the centre ``site`` on |value> (of probability ``weight``) and renormalise."""
    a = tensors[site]
    scale = 1.0 / np.sqrt(weight)
    for i in range(a.shape[0]):
        for j in range(a.shape[2]):
            a[i, 1 - value, j] = 0.0
            a[i, value, j] *= scale


@njit(cache=True)
def damp(tensors: list[np.ndarray], site: int, gamma: float, p1: float) -> None:
    """No-jump branch of amplitude damping: diag(1, sqrt(1 - gamma)), renormalised."""
    a = tensors[site]
    scale = 1.0 / np.sqrt(1.0 - gamma * p1)
    factor = np.sqrt(1.0 - gamma) * scale
    for i in range(a.shape[0]):
        for j in range(a.shape[2]):
            a[i, 0, j] *= scale
            a[i, 1, j] *= factor


@njit(cache=True)
def sample_sites(tensors: list[np.ndarray], outcome: np.ndarray) -> None:
    """Sample every site in Z from a state whose centre is site 0 (others right-canonical)."""
    v = np.ones(1, dtype=np.complex128)
    for site in range(len(tensors)):
        a = tensors[site]
        left, _, right = a.shape
        w0 = np.zeros(right, dtype=np.complex128)
        w1 = np.zeros(right, dtype=np.complex128)
        for i in range(left):
            vi = v[i]
            for j in range(right):
                w0[j] += vi * a[i, 0, j]
                w1[j] += vi * a[i, 1, j]
        p0 = 0.0
        p1 = 0.0
        for j in range(right):
            p0 += abs(w0[j]) ** 2
            p1 += abs(w1[j]) ** 2
        if np.random.random() * (p0 + p1) < p1:
            outcome[site] = 1
            v = w1 / np.sqrt(p1)
        else:
            outcome[site] = 0
            v = w0 / np.sqrt(p0)
