"""The memory guard: refuse a state that would not fit before allocating it."""

from __future__ import annotations

import os

import numpy as np

from openqpu.errors import CircuitTooLarge


def total_memory_bytes() -> int:
    """Physical memory of this machine in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_limit_bytes() -> int:
    """The configured limit: ``OPENQPU_MEMORY_LIMIT`` bytes, default half the RAM."""
    configured = os.environ.get("OPENQPU_MEMORY_LIMIT")
    if configured:
        return int(float(configured))
    return total_memory_bytes() // 2


def state_bytes(num_qubits: int, dtype: np.dtype) -> int:
    """Bytes of a statevector of ``num_qubits`` qubits in ``dtype``."""
    return (1 << num_qubits) * np.dtype(dtype).itemsize


def check_fits(num_qubits: int, dtype: np.dtype, *, copies: int = 1) -> None:
    """Raise ``CircuitTooLarge`` when ``copies`` states of this size exceed the limit."""
    needed = state_bytes(num_qubits, dtype) * copies
    limit = memory_limit_bytes()
    if needed > limit:
        raise CircuitTooLarge(num_qubits, needed, limit, np.dtype(dtype).name)
