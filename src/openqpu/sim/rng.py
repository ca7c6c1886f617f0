"""The one place where seeds become random generators."""

from __future__ import annotations

import numpy as np


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed`` (fresh entropy when None)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)
