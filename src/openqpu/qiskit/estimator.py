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
from openqpu.qiskit.options import EstimatorOptions, as_options
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
        options: on a chip, error mitigation and suppression: ``EstimatorOptions``, a
            nested dict, or an object shaped like ``qiskit_ibm_runtime.EstimatorOptions``
            (``resilience_level``, ``resilience.zne.noise_factors``, ``twirling.*``,
            ``dynamical_decoupling.*``, ``default_shots``, ``default_precision``,
            ``seed_estimator``). Given (or set later on ``estimator.options``), they go
            to the server, which applies Qiskit Runtime's defaults to what is unset
            (``resilience_level`` 1); then ``stds`` are the server's standard errors,
            and with ZNE ``data`` adds ``evs_noise_factors`` and ``stds_noise_factors``
            and ``metadata["resilience"]`` says what ran. Ideal simulators ignore them.

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
        options: EstimatorOptions | Mapping[str, Any] | Any = None,
    ) -> None:
        self._backend = backend
        self.default_precision = default_precision
        self.seed = seed
        self.optimization_level = optimization_level
        self.mitigation = mitigation
        self.method = method
        self._options_given = options is not None
        self._options = as_options(options)

    @property
    def options(self) -> EstimatorOptions:
        """The error mitigation options (shaped like Qiskit Runtime's); set attributes
        on it, or assign a dict or options object."""
        return self._options

    @options.setter
    def options(self, value: EstimatorOptions | Mapping[str, Any] | Any) -> None:
        self._options_given = value is not None
        self._options = as_options(value)

    def _server_options(self) -> dict[str, Any] | None:
        """The options to send: None on an ideal simulator or when none were given."""
        chosen = self._options.to_dict()
        if self._backend.is_simulator or not (chosen or self._options_given):
            return None
        return chosen

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
        default = precision or self._options.default_precision or self.default_precision
        coerced = [EstimatorPub.coerce(pub, default) for pub in pubs]
        options = self._server_options()
        remotes: list[RemoteJob | None] = []
        finishers = []
        for index, pub in enumerate(coerced):
            shots = self._shots(pub, index)
            if options is not None and self._options.default_shots is not None:
                shots = int(self._options.default_shots)
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
                    options=options,
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
        entries = [] if raw is None else raw["results"]
        per_set = [e["expectation_values"] for e in entries]
        # Mitigated entries carry the server's standard errors (and ZNE's per factor).
        mitigated = bool(entries) and "standard_errors" in entries[0]
        zne = [e["resilience"]["zne"] for e in entries] if mitigated else []
        num_factors = len(zne[0]["noise_factors"]) if zne and zne[0] else 0
        column = {label: j for j, label in enumerate(labels)}
        evs = np.zeros(len(terms))
        stds = np.zeros(len(terms))
        evs_factors = np.zeros((len(terms), num_factors))
        var_factors = np.zeros((len(terms), num_factors))
        for k, (row, obs) in enumerate(zip(set_index, terms, strict=True)):
            variance = 0.0
            for label, coeff in obs.items():
                if label not in column:  # the identity
                    evs[k] += coeff
                    evs_factors[k] += coeff
                    continue
                j = column[label]
                value = float(per_set[row][j])
                evs[k] += coeff * value
                if mitigated:
                    variance += (coeff * entries[row]["standard_errors"][j]) ** 2
                elif not self._backend.is_simulator:
                    stds[k] += abs(coeff) * math.sqrt(max(0.0, 1.0 - value**2))
                if num_factors:
                    evs_factors[k] += coeff * np.asarray(zne[row]["evs_noise_factors"][j])
                    var_factors[k] += (coeff * np.asarray(zne[row]["stds_noise_factors"][j])) ** 2
            if mitigated:
                stds[k] = math.sqrt(variance)
        if not mitigated:
            stds /= math.sqrt(shots)
        fields: dict[str, Any] = {"evs": evs.reshape(pub.shape), "stds": stds.reshape(pub.shape)}
        if num_factors:
            fields["evs_noise_factors"] = evs_factors.reshape((*pub.shape, num_factors))
            fields["stds_noise_factors"] = np.sqrt(var_factors).reshape((*pub.shape, num_factors))
        data = DataBin(**fields, shape=pub.shape)
        metadata = {
            "target_precision": pub.precision,
            "shots": None if self._backend.is_simulator else shots,
            "circuit_metadata": pub.circuit.metadata,
            "job_id": None if raw is None else raw["job_id"],
            **method_metadata(raw),
        }
        if mitigated:
            metadata["resilience"] = _resilience_metadata(entries[0]["resilience"])
        return PubResult(data, metadata=metadata)


def _resilience_metadata(server: dict[str, Any]) -> dict[str, Any]:
    """What the server says mitigation did, less its per-term arrays (``data`` has the
    observables' own)."""
    out = {key: value for key, value in server.items() if key != "zne"}
    if server.get("zne"):
        zne = server["zne"]
        out["zne"] = {
            "noise_factors": zne["noise_factors"],
            "noise_factors_applied": zne.get("noise_factors_applied"),
            "extrapolator": sorted(set(zne["extrapolator"])),
        }
    return out


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
