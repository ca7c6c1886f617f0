"""Readout-error mitigation: the tensored inverse of each measured bit's confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from openqpu.errors import OpenQPUError

# The corrected distribution is dense over the measured bits: 2^20 floats at most.
MAX_MITIGATED_BITS = 20


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
        confusion matrix applied to the measured frequencies, negative values
        clipped to 0 and the rest renormalised; zero entries left out.

    Raises:
        OpenQPUError: more than ``MAX_MITIGATED_BITS`` bits are listed.

    >>> mitigate_readout({"0": 90, "1": 10}, [(0, 0.1, 0.0)])
    {'0': 1.0}
    """
    if len(errors) > MAX_MITIGATED_BITS:
        raise OpenQPUError(
            f"readout mitigation corrects at most {MAX_MITIGATED_BITS} measured bits, "
            f"the circuit measures {len(errors)}"
        )
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
