"""Readout-error mitigation: the tensored inverse of each measured bit's confusion
matrix over all outcomes (up to ``MAX_MITIGATED_BITS`` measured bits), and beyond that a
matrix-free correction in the subspace of the measured bitstrings (the M3 method:
the confusion matrix restricted to the observed outcomes, pairs further apart than a
Hamming distance left out, columns renormalised, the sparse system solved), which
gives quasi-probabilities for any width.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

# The tensored inverse is dense over the measured bits: 2^20 floats at most.
MAX_MITIGATED_BITS = 20
# The subspace correction keeps the confusion between outcomes this many bits apart.
SUBSPACE_DISTANCE = 3
_ROW_CHUNK = 256


def mitigate_readout(
    counts: dict[str, int], errors: Sequence[tuple[int, float, float]]
) -> dict[str, float]:
    """Correct measured counts for readout errors; return probabilities.

    Args:
        counts: counts keyed by bitstrings (classical bit 0 rightmost).
        errors: ``(clbit, P(read 1 | 0), P(read 0 | 1))`` for each measured bit.
            Bits not listed are taken as read without error.

    Returns:
        Probabilities of the true outcomes: the inverse of each bit's 2 x 2
        confusion matrix applied to the measured frequencies (over more than
        ``MAX_MITIGATED_BITS`` bits: ``subspace_quasi_probabilities``), negative
        values clipped to 0 and the rest renormalised; zero entries left out.

    >>> mitigate_readout({"0": 90, "1": 10}, [(0, 0.1, 0.0)])
    {'0': 1.0}
    """
    if len(errors) > MAX_MITIGATED_BITS:
        return nearest_probabilities(subspace_quasi_probabilities(counts, errors))
    total = sum(counts.values())
    if not counts or not total:
        return {}
    width = len(next(iter(counts)))
    clbits = [clbit for clbit, _, _ in errors]
    m = len(clbits)
    # Frequencies over the measured bits (bit j of the index is clbits[j]), kept
    # apart for every pattern of the other bits.
    rest_mask = ~sum(1 << c for c in clbits)
    patterns: dict[int, np.ndarray] = {}
    for key, count in counts.items():
        value = int(key, 2)
        local = sum(((value >> c) & 1) << j for j, c in enumerate(clbits))
        patterns.setdefault(value & rest_mask, np.zeros(1 << m))[local] += count / total
    result: dict[str, float] = {}
    for rest, freqs in patterns.items():
        tensor = freqs.reshape((2,) * m) if m else freqs
        for j, (_, e10, e01) in enumerate(errors):
            confusion = np.array([[1 - e10, e01], [e10, 1 - e01]])
            axis = m - 1 - j
            inverse = np.linalg.inv(confusion)
            tensor = np.moveaxis(np.tensordot(inverse, tensor, axes=([1], [axis])), 0, axis)
        corrected = np.clip(tensor.reshape(-1), 0.0, None)
        for index in np.flatnonzero(corrected):
            value = rest | sum(((int(index) >> j) & 1) << c for j, c in enumerate(clbits))
            result[format(value, f"0{width}b")] = float(corrected[index])
    norm = sum(result.values())
    return {key: p / norm for key, p in sorted(result.items())} if norm else {}


def nearest_probabilities(quasi: dict[str, float]) -> dict[str, float]:
    """Quasi-probabilities with negative values clipped to 0, renormalised."""
    kept = {key: p for key, p in quasi.items() if p > 0}
    norm = sum(kept.values())
    return {key: p / norm for key, p in sorted(kept.items())} if norm else {}


def subspace_quasi_probabilities(
    counts: dict[str, int],
    errors: Sequence[tuple[int, float, float]],
    *,
    distance: int = SUBSPACE_DISTANCE,
) -> dict[str, float]:
    """Readout-corrected quasi-probabilities of the measured bitstrings, matrix-free.

    The confusion matrix is never formed over all ``2^m`` outcomes: only between the
    observed bitstrings (equal in the bits not listed in ``errors``, at most
    ``distance`` listed bits apart), each column renormalised over them, then the
    sparse system ``A x = frequencies`` solved. Where every outcome is observed and
    ``distance`` covers all bits, this is the tensored inverse exactly.

    Args:
        counts: counts keyed by bitstrings (classical bit 0 rightmost).
        errors: ``(clbit, P(read 1 | 0), P(read 0 | 1))`` per measured bit.
        distance: the largest Hamming distance kept between two outcomes.

    Returns:
        Quasi-probabilities (they sum to 1 and may be negative) keyed as ``counts``.

    >>> q = subspace_quasi_probabilities({"0": 85, "1": 15}, [(0, 0.1, 0.05)])
    >>> {k: round(v, 6) for k, v in q.items()}
    {'0': 0.941176, '1': 0.058824}
    """
    total = sum(counts.values())
    if not counts or not total:
        return {}
    keys = sorted(counts)
    clbits = [clbit for clbit, _, _ in errors]
    values = [int(key, 2) for key in keys]
    rest_mask = ~sum(1 << c for c in clbits)
    bits = np.array([[(v >> c) & 1 for c in clbits] for v in values], dtype=bool)
    bits = bits.reshape(len(keys), len(clbits))
    with np.errstate(divide="ignore"):
        # log P(read r | true t) per bit, indexed [bit, t, r].
        table = np.log(
            np.array([[[1 - e10, e10], [e01, 1 - e01]] for _, e10, e01 in errors])
        ).reshape(len(errors), 2, 2)
    groups: dict[int, list[int]] = {}
    for index, value in enumerate(values):
        groups.setdefault(value & rest_mask, []).append(index)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    data: list[np.ndarray] = []
    columns = np.arange(len(clbits))
    for members in groups.values():
        group = np.asarray(members)
        inside = bits[group]
        packed = np.packbits(inside, axis=1)  # Hamming distances by popcount of XOR
        for start in range(0, len(group), _ROW_CHUNK):
            read = inside[start : start + _ROW_CHUNK]
            xor = packed[start : start + _ROW_CHUNK, None, :] ^ packed[None, :, :]
            apart = np.bitwise_count(xor).sum(axis=2, dtype=np.int64)
            r, t = np.nonzero(apart <= distance)
            logs = table[columns, inside[t].astype(int), read[r].astype(int)].sum(axis=1)
            rows.append(group[start + r])
            cols.append(group[t])
            data.append(np.exp(logs))
    size = len(keys)
    matrix = scipy.sparse.csc_matrix(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
    )
    sums = np.asarray(matrix.sum(axis=0)).ravel()
    matrix = matrix @ scipy.sparse.diags(1.0 / np.where(sums > 0, sums, 1.0))
    frequencies = np.array([counts[key] / total for key in keys])
    solution = _solve(matrix.tocsr(), frequencies)
    return {key: float(x) for key, x in zip(keys, solution, strict=True) if x != 0}


def _solve(matrix: scipy.sparse.csr_matrix, frequencies: np.ndarray) -> np.ndarray:
    """``matrix x = frequencies``: directly when small, else by GMRES with a Jacobi
    preconditioner (the diagonal dominates: each outcome is most likely read as itself)."""
    if matrix.shape[0] <= 2048:
        return np.atleast_1d(scipy.sparse.linalg.spsolve(matrix.tocsc(), frequencies))
    diagonal = matrix.diagonal()
    jacobi = scipy.sparse.linalg.LinearOperator(matrix.shape, matvec=lambda v: v / diagonal)
    solution, info = scipy.sparse.linalg.gmres(
        matrix, frequencies, x0=frequencies / diagonal, M=jacobi, rtol=1e-10, atol=0.0,
        maxiter=200,
    )  # fmt: skip
    if info != 0:
        return np.atleast_1d(scipy.sparse.linalg.spsolve(matrix.tocsc(), frequencies))
    return np.asarray(solution)
