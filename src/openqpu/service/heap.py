"""Keep the garbage collector's full passes short in long-running service processes.

CPython's full (generation 2) collection walks every tracked object. A server process
holds a few hundred thousand of them from its imports (Qiskit, SQLAlchemy, FastAPI),
and at 170 jobs/s the requests' short-lived cycles trigger a full pass every few
seconds: measured 100-160 ms each on the 2-core VM, a stall of the API's event loop
that every request in flight waits out (the paced submit p99 went from ~20 to ~100 ms).
Once a process has imported and warmed what it serves with, :func:`settle` moves those
objects to the permanent generation, so later full passes walk only what is new.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect once, then exempt every object alive now from later collections.

    Call at the end of a process's start-up (imports done, caches warm). Objects made
    afterwards are collected as usual; the frozen ones stay (they live as long as the
    process anyway).
    """
    gc.collect()
    gc.freeze()
