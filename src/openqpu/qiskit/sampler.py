"""``SamplerV2``: Qiskit's sampler primitive on an openqpu device.

Each PUB becomes one server job holding the circuit once per parameter set,
with the values sent as ``parameter_values`` (so a chip compiles the circuit
once). The counts come back per parameter set and are spread into one
``BitArray`` per classical register, shaped like the PUB.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import numpy as np
from qiskit.primitives import BaseSamplerV2, BitArray, DataBin, SamplerPubResult
from qiskit.primitives.containers.sampler_pub import SamplerPub, SamplerPubLike

from openqpu.qiskit.backend import OpenQPUBackend
from openqpu.qiskit.primitive_job import (
    OpenQPUPrimitiveJob,
    method_metadata,
    parameter_rows,
)


class SamplerV2(BaseSamplerV2):
    """Samples of circuit outputs from an openqpu backend, as ``qiskit.primitives.BaseSamplerV2``.

    Args:
        backend: where the circuits run.
        default_shots: shots for PUBs and runs that give none.
        seed: the server's seed (parameter set ``i`` of a PUB runs with seed + i);
            it also fixes the order of shots in each ``BitArray``. None: random.
        optimization_level: on a chip, how the server compiles (0-3; None: its default).
        method: on a chip, how the server simulates the noise (``"auto"``,
            ``"density_matrix"``, ``"stabilizer"``, ``"mps"``, ``"statevector"``;
            None: its default, auto). On a chip, ``result[i].metadata["simulation"]``
            says per parameter set the ``method``, ``approximations`` and ``method_figures``.

    >>> sampler = SamplerV2(backend, seed=7)  # doctest: +SKIP
    >>> result = sampler.run([(circuit, [[0.1], [0.2]])], shots=1000).result()  # doctest: +SKIP
    >>> result[0].data.meas.get_counts(0)  # doctest: +SKIP
    {'00': 497, '11': 503}
    """

    def __init__(
        self,
        backend: OpenQPUBackend,
        *,
        default_shots: int = 1024,
        seed: int | None = None,
        optimization_level: int | None = None,
        method: str | None = None,
    ) -> None:
        self._backend = backend
        self.default_shots = default_shots
        self.seed = seed
        self.optimization_level = optimization_level
        self.method = method

    @property
    def backend(self) -> OpenQPUBackend:
        """The backend the circuits run on."""
        return self._backend

    def run(
        self, pubs: Iterable[SamplerPubLike], *, shots: int | None = None
    ) -> OpenQPUPrimitiveJob:
        """Queue one server job per PUB and return at once.

        Args:
            pubs: circuits, or ``(circuit, parameter_values[, shots])`` tuples.
            shots: shots for PUBs that give none (default ``default_shots``).

        Returns:
            A job whose ``result()`` is a ``PrimitiveResult`` of ``SamplerPubResult``:
            ``result[i].data.<register>`` is a ``BitArray`` of shape ``pub.shape``.

        Raises:
            ValueError: a PUB is malformed (Qiskit's own checks) or has no classical bits.
            InvalidRequest: the server refused a job.
        """
        coerced = [SamplerPub.coerce(pub, shots or self.default_shots) for pub in pubs]
        for index, pub in enumerate(coerced):
            if not pub.circuit.cregs:
                raise ValueError(
                    f"pubs[{index}]: circuit {pub.circuit.name} has no classical register; "
                    "add measurements (e.g. circuit.measure_all())"
                )
        remotes, finishers = [], []
        for pub in coerced:
            circuits, values = parameter_rows(pub.circuit, pub.parameter_values)
            remotes.append(
                self._backend.client.submit(
                    circuits,
                    self._backend.name,
                    shots=int(pub.shots),
                    seed=self.seed,
                    parameter_values=values,
                    optimization_level=self.optimization_level,
                    method=self.method,
                )
            )
            finishers.append(partial(self._pub_result, pub))
        return OpenQPUPrimitiveJob(remotes, finishers)

    def _pub_result(self, pub: SamplerPub, raw: dict[str, Any] | None) -> SamplerPubResult:
        assert raw is not None
        circuit = pub.circuit
        rng = np.random.default_rng(self.seed)
        per_set = [_shots_in_order(entry["counts"], rng) for entry in raw["results"]]
        data = {}
        for register in circuit.cregs:
            positions = [circuit.find_bit(bit).index for bit in register]
            arrays = [
                BitArray.from_samples(samples, circuit.num_clbits).slice_bits(positions).array
                for samples in per_set
            ]
            stacked = np.stack(arrays).reshape(*pub.shape, *arrays[0].shape)
            data[register.name] = BitArray(stacked, register.size)
        metadata = {
            "shots": pub.shots,
            "circuit_metadata": circuit.metadata,
            "job_id": raw["job_id"],
            **method_metadata(raw),
        }
        return SamplerPubResult(DataBin(**data, shape=pub.shape), metadata=metadata)


def _shots_in_order(counts: dict[str, int], rng: np.random.Generator) -> list[int]:
    """The outcomes of ``counts`` (bitstring keys, bit 0 on the right) in a random shot order."""
    outcomes = [int(key, 2) if key else 0 for key, n in counts.items() for _ in range(n)]
    order = rng.permutation(len(outcomes))
    return [outcomes[i] for i in order]
