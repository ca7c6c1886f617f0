"""The structure of a gate matrix, which decides how cheaply it can be applied."""

from __future__ import annotations

from enum import IntEnum

import numpy as np

# Entries below this magnitude count as structural zeros.
ZERO = 1e-14
_ZERO = ZERO


class Structure(IntEnum):
    """Matrix structures, cheapest first; a product has the larger structure of its factors."""

    DIAGONAL = 0  # one multiply per amplitude
    MONOMIAL = 1  # one non-zero per column: a permutation with phases (x, cx, swap, ccx)
    DENSE = 2  # general matrix


def classify(matrix: np.ndarray) -> Structure:
    """Return the cheapest structure that represents ``matrix`` exactly."""
    nonzero = np.abs(matrix) > _ZERO
    count = np.count_nonzero(nonzero)
    if count == np.count_nonzero(nonzero.diagonal()):
        return Structure.DIAGONAL
    # As many entries as columns, and every row and column holds one: a permutation.
    if count == matrix.shape[0] and nonzero.any(axis=0).all() and nonzero.any(axis=1).all():
        return Structure.MONOMIAL
    return Structure.DENSE


def monomial_parts(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a monomial ``matrix`` return ``(rows, phases)``: column a maps to row rows[a]."""
    rows = np.argmax(np.abs(matrix), axis=0)
    phases = matrix[rows, np.arange(matrix.shape[1])]
    return rows.astype(np.int64), phases
