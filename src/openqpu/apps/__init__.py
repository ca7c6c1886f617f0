"""Industry applications that run on the cloud, each a client of it (``openqpu app NAME``).

- ``finance``: portfolio selection as a QUBO, QAOA through ``SamplerV2``.
- ``chemistry``: the H2 potential-energy curve with VQE through ``EstimatorV2``.
- ``biomedicine``: a quantum-kernel classifier on the breast cancer data set.
- ``power``: the IEEE 14-bus grid split into two balanced areas, QAOA.

Each module has ``run(backend, ...) -> dict`` (a JSON-ready summary, checked
against an exact classical answer) and ``plot(summary)`` (a matplotlib figure).
"""

from __future__ import annotations

#: The applications, by the name ``openqpu app`` knows them.
APPS: tuple[str, ...] = ("finance", "chemistry", "biomedicine", "power")

__all__ = ["APPS"]
