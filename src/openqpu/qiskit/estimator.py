"""``EstimatorV2``: Qiskit's estimator primitive on an openqpu device.

Each PUB becomes one server ``estimate`` job: the circuit once per parameter
set, and every distinct Pauli term of the PUB's observables as an observable of
its own (coefficient 1). The server measures qubit-wise commuting terms
together, so splitting costs no shots; it lets us combine the terms for each
element of the broadcast shape here and estimate the standard error as
Qiskit's ``BackendEstimatorV2`` does. A simulator's values are exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

import numpy as np
from qiskit.primitives import BaseEstimatorV2, DataBin, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub, EstimatorPubLike
from qiskit.quantum_info import SparseObservable

from openqpu.client import RemoteJob
from openqpu.qiskit.backend import OpenQPUBackend
from openqpu.qiskit.primitive_job import (
    OpenQPUPrimitiveJob,
    method_metadata,
    parameter_rows,
)

_PAULI = frozenset("IXYZ")


class EstimatorV2(BaseEstimatorV2):
    """Expectation values on an openqpu backend, as ``qiskit.primitives.BaseEstimatorV2``.

    Args:
        backend: where the circuits run.
        default_precision: precision for PUBs and runs that give none; on a chip
            each measurement basis gets ``ceil(1 / precision**2)`` shots. A
            simulator returns exact values (``stds`` 0) whatever the precision.
        seed: the server's seed (parameter set ``i`` runs with seed + i); None: random.
        optimization_level: on a chip, how the server compiles (0-3; None: its default).
        mitigation: on a chip, ``"readout"`` corrects parities for readout errors.
        method: on a chip, how the server simulates the noise (``"auto"``,
            ``"density_matrix"``, ``"stabilizer"``, ``"mps"``, ``"statevector"``;
            None: its default, auto). On a chip, ``result[i].metadata["simulation"]``
            says per parameter set the ``method``, ``approximations`` and ``method_figures``.

    >>> estimator = EstimatorV2(backend, seed=7)  # doctest: +SKIP
    >>> estimator.run([(ansatz, hamiltonian, thetas)]).result()[0].data.evs  # doctest: +SKIP
    array(-1.0366)
    """

    def __init__(
        self,
        backend: OpenQPUBackend,
        *,
        default_precision: float = 0.015625,
        seed: int | None = None,
        optimization_level: int | None = None,
        mitigation: str | None = None,
        method: str | None = None,
    ) -> None:
        self._backend = backend
        self.default_precision = default_precision
        self.seed = seed
        self.optimization_level = optimization_level
        self.mitigation = mitigation
        self.method = method

    @property
    def backend(self) -> OpenQPUBackend:
        """The backend the circuits run on."""
        return self._backend

    def run(
        self, pubs: Iterable[EstimatorPubLike], *, precision: float | None = None
    ) -> OpenQPUPrimitiveJob:
        """Queue one server job per PUB and return at once.

        Args:
            pubs: ``(circuit, observables[, parameter_values[, precision]])`` tuples.
            precision: for PUBs that give none (default ``default_precision``).

        Returns:
            A job whose ``result()`` is a ``PrimitiveResult`` of ``PubResult`` with
            ``data.evs`` and ``data.stds`` shaped like the PUB (observables and
            parameter sets broadcast together).

        Raises:
            ValueError: a PUB is malformed, or a precision is not positive on a chip.
            InvalidRequest: the server refused a job.
        """
        coerced = [EstimatorPub.coerce(pub, precision or self.default_precision) for pub in pubs]
        remotes: list[RemoteJob | None] = []
        finishers = []
        for index, pub in enumerate(coerced):
            shots = self._shots(pub, index)
            circuits, values = parameter_rows(pub.circuit, pub.parameter_values)
            sets = np.arange(len(circuits)).reshape(pub.parameter_values.shape)
            set_index, observables = np.broadcast_arrays(sets, np.asarray(pub.observables))
            terms = [_pauli_terms(obs) for obs in observables.ravel()]
            labels = sorted({label for obs in terms for label in obs if set(label) != {"I"}})
            remote = None
            if labels:
                remote = self._backend.client.submit(
                    circuits,
                    self._backend.name,
                    kind="estimate",
                    observables=[{label: 1.0} for label in labels],
                    shots=shots,
                    seed=self.seed,
                    parameter_values=values,
                    optimization_level=self.optimization_level,
                    mitigation=self.mitigation,
                    method=self.method,
                )
            remotes.append(remote)
            finishers.append(
                partial(
                    self._pub_result,
                    pub,
                    set_index=set_index.ravel(),
                    terms=terms,
                    labels=labels,
                    shots=shots,
                )
            )
        return OpenQPUPrimitiveJob(remotes, finishers)

    def _shots(self, pub: EstimatorPub, index: int) -> int:
        if self._backend.is_simulator:
            return 1  # exact: the server computes expectation values from the state
        if pub.precision <= 0:
            raise ValueError(
                f"pubs[{index}]: precision must be positive on the chip {self._backend.name}, "
                f"got {pub.precision}"
            )
        return math.ceil(1.0 / pub.precision**2)

    def _pub_result(
        self,
        pub: EstimatorPub,
        raw: dict[str, Any] | None,
        *,
        set_index: np.ndarray,
        terms: list[dict[str, float]],
        labels: list[str],
        shots: int,
    ) -> PubResult:
        per_set = [] if raw is None else [e["expectation_values"] for e in raw["results"]]
        column = {label: j for j, label in enumerate(labels)}
        evs = np.zeros(len(terms))
        stds = np.zeros(len(terms))
        for k, (row, obs) in enumerate(zip(set_index, terms, strict=True)):
            for label, coeff in obs.items():
                value = 1.0 if label not in column else float(per_set[row][column[label]])
                evs[k] += coeff * value
                if not self._backend.is_simulator:
                    stds[k] += abs(coeff) * math.sqrt(max(0.0, 1.0 - value**2))
        stds /= math.sqrt(shots)
        data = DataBin(evs=evs.reshape(pub.shape), stds=stds.reshape(pub.shape), shape=pub.shape)
        metadata = {
            "target_precision": pub.precision,
            "shots": None if self._backend.is_simulator else shots,
            "circuit_metadata": pub.circuit.metadata,
            "job_id": None if raw is None else raw["job_id"],
            **method_metadata(raw),
        }
        return PubResult(data, metadata=metadata)


def _pauli_terms(observable: Mapping[str, float]) -> dict[str, float]:
    """``{label: coeff}`` over Pauli labels only; projectors (``0``, ``+``, ...) expanded."""
    if all(set(label) <= _PAULI for label in observable):
        return {label: float(coeff) for label, coeff in observable.items()}
    num_qubits = len(next(iter(observable)))
    expanded = SparseObservable.from_list(list(observable.items())).as_paulis().simplify()
    terms: dict[str, float] = {}
    for letters, qubits, coeff in expanded.to_sparse_list():
        label = ["I"] * num_qubits
        for letter, qubit in zip(letters, qubits, strict=True):
            label[num_qubits - 1 - qubit] = letter
        key = "".join(label)
        terms[key] = terms.get(key, 0.0) + complex(coeff).real
    return terms
