"""``OpenQPUBackend``: one device of an openqpu server as a Qiskit ``BackendV2``.

The target is fetched from the server on first use: a chip's from its topology
and the calibration snapshot in force, a simulator's from its gate list. Jobs go
to the server as QPY through ``openqpu.client.Client``; a chip's server compiles
every circuit again for the calibration in force, so a circuit transpiled
against an older target still runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qiskit import QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target

from openqpu.client import Client
from openqpu.qiskit.job import OpenQPUJob
from openqpu.qiskit.target import chip_target, simulator_target


class OpenQPUBackend(BackendV2):
    """A device of an openqpu server (``statevector``, ``lattice12``, ``lattice72``, ...).

    Made by ``OpenQPUProvider.backend``; usable wherever Qiskit takes a backend:
    ``transpile(circuit, backend)``, ``backend.run(circuits)``, and the primitives
    ``openqpu.qiskit.SamplerV2(backend)`` and ``EstimatorV2(backend)``.

    Args:
        client: the connection to the server.
        device: the server's description of the device (``GET /api/v1/devices/{name}``).
        provider: the provider that made it, or None.

    >>> backend = OpenQPUProvider(url, token).backend("lattice12")  # doctest: +SKIP
    >>> backend.run(transpile(bell, backend), shots=1000).result().get_counts()  # doctest: +SKIP
    {'00': 478, '11': 462, '01': 33, '10': 27}
    """

    def __init__(self, client: Client, device: dict[str, Any], provider: Any = None) -> None:
        super().__init__(
            provider=provider,
            name=str(device["name"]),
            description=str(device.get("description", "")),
            backend_version="1",
        )
        self._client = client
        self._device = device
        self._target: Target | None = None
        self._calibration: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<OpenQPUBackend {self.name!r} at {self._client.url}>"

    @property
    def client(self) -> Client:
        """The SDK client that talks to the server."""
        return self._client

    @property
    def is_simulator(self) -> bool:
        """True for an ideal simulator, False for an (emulated) chip."""
        return bool(self._device.get("simulator", False))

    @property
    def calibration(self) -> dict[str, Any] | None:
        """A chip's calibration snapshot behind ``target`` (None for a simulator)."""
        if self._target is None:
            self.refresh()
        return self._calibration

    @property
    def target(self) -> Target:
        """The transpiler target: for a chip, as calibrated when first asked (see ``refresh``)."""
        if self._target is None:
            self.refresh()
        assert self._target is not None
        return self._target

    def refresh(self) -> None:
        """Fetch the device and, for a chip, the calibration in force now, and rebuild ``target``.

        Raises:
            NotFound: the device has gone from the server.
        """
        self._device = self._client.device(self.name)
        if self.is_simulator or not self._device.get("topology"):
            self._calibration = None
            self._target = simulator_target(self._device)
        else:
            self._calibration = self._client.calibration(self.name)
            self._target = chip_target(self._device, self._calibration)

    @property
    def max_circuits(self) -> None:
        """No limit here; the server refuses a job with more circuits than it allows."""
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options(
            shots=1024, seed_simulator=None, optimization_level=None, mitigation=None, method=None
        )

    def run(
        self, run_input: QuantumCircuit | Sequence[QuantumCircuit], **options: Any
    ) -> OpenQPUJob:
        """Queue circuits as one server job.

        Args:
            run_input: one circuit or several, bound (no free parameters).
            options: ``shots`` (per circuit), ``seed_simulator`` (circuit ``i`` runs
                with seed + i), and for chips ``optimization_level`` (0-3: how the
                server compiles), ``mitigation`` (``"readout"``) and ``method``
                (``"auto"``, ``"density_matrix"``, ``"stabilizer"``, ``"mps"`` or
                ``"statevector"``: how the server simulates the noise; None: its
                default, auto); the backend's ``options`` give the defaults.

        Returns:
            The job; ``job.result().get_counts()`` as from any Qiskit backend.

        Raises:
            ValueError: an unknown option or a circuit with free parameters.
            InvalidRequest: the server refused the job (``field`` says which part).
        """
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        unknown = sorted(set(options) - set(self.options.__dict__))
        if unknown:
            raise ValueError(
                f"unknown run option(s) {unknown}; {self.name} takes "
                f"{sorted(self.options.__dict__)}"
            )
        for index, circuit in enumerate(circuits):
            if circuit.parameters:
                names = ", ".join(p.name for p in circuit.parameters)
                raise ValueError(
                    f"circuit {index} ({circuit.name}) has unbound parameters {names}; "
                    "bind them with assign_parameters or use openqpu.qiskit.SamplerV2"
                )
        chosen = {**self.options.__dict__, **options}
        remote = self._client.submit(
            circuits,
            self.name,
            shots=int(chosen["shots"]),
            seed=chosen["seed_simulator"],
            optimization_level=chosen["optimization_level"],
            mitigation=chosen["mitigation"],
            method=chosen["method"],
        )
        return OpenQPUJob(self, remote, circuits)
