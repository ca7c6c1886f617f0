"""Qiskit's own interfaces on an openqpu server: provider, backends and primitives.

A Qiskit program runs on openqpu by changing the line that picks the backend:

>>> from openqpu.qiskit import OpenQPUProvider, SamplerV2  # doctest: +SKIP
>>> backend = OpenQPUProvider(url, token).backend("lattice72")  # doctest: +SKIP
>>> job = backend.run(transpile(circuit, backend), shots=1000)  # doctest: +SKIP
>>> job.result().get_counts()  # doctest: +SKIP
{'00': 481, '11': 455, '01': 36, '10': 28}

Everything goes through ``openqpu.client.Client`` over HTTP; the server compiles
and runs the circuits.
"""

from __future__ import annotations

from openqpu.qiskit.backend import OpenQPUBackend
from openqpu.qiskit.estimator import EstimatorV2
from openqpu.qiskit.job import OpenQPUJob
from openqpu.qiskit.options import EstimatorOptions
from openqpu.qiskit.primitive_job import OpenQPUPrimitiveJob
from openqpu.qiskit.provider import OpenQPUProvider
from openqpu.qiskit.sampler import SamplerV2
from openqpu.qiskit.target import chip_target, simulator_target

__all__ = [
    "EstimatorOptions",
    "EstimatorV2",
    "OpenQPUBackend",
    "OpenQPUJob",
    "OpenQPUPrimitiveJob",
    "OpenQPUProvider",
    "SamplerV2",
    "chip_target",
    "simulator_target",
]
