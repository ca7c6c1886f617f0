"""Thread count for the kernels: ``OPENQPU_NUM_THREADS``, default all cores."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

# Below this many qubits a parallel launch costs more than the work it shares.
SERIAL_BELOW_QUBITS = 14


def configured_threads() -> int:
    """Threads to use for large states: ``OPENQPU_NUM_THREADS`` capped at numba's pool."""
    import numba

    wanted = os.environ.get("OPENQPU_NUM_THREADS")
    available = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # numba.config makes its settings at run time
    if not wanted:
        return available
    return max(1, min(int(wanted), available))


@contextmanager
def threads_for(num_qubits: int) -> Iterator[None]:
    """Run the kernels inside the block with the thread count this state size deserves."""
    if num_qubits < SERIAL_BELOW_QUBITS:
        yield  # serial drivers or NumPy: the thread pool is not involved
        return
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(configured_threads())
    try:
        yield
    finally:
        numba.set_num_threads(previous)
