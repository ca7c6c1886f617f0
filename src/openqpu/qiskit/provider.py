"""``OpenQPUProvider``: the devices of an openqpu server as Qiskit backends."""

from __future__ import annotations

from typing import Any

from qiskit.providers.exceptions import QiskitBackendNotFoundError

from openqpu.client import Client, NotFound
from openqpu.qiskit.backend import OpenQPUBackend


class OpenQPUProvider:
    """The entry point for Qiskit users: one server, one API key.

    Args:
        url: the server, e.g. ``http://127.0.0.1:8000``; None takes ``OPENQPU_URL``
            or the server saved by ``openqpu login``.
        token: an API key, ``oqk_...``; None takes ``OPENQPU_TOKEN`` or the saved key.
        client: an existing SDK client to use instead of ``url`` and ``token``.
        options: ``timeout``, ``retries``, ``backoff_s`` as for ``openqpu.Client``.

    >>> provider = OpenQPUProvider("http://127.0.0.1:8000", "oqk_...")  # doctest: +SKIP
    >>> [b.name for b in provider.backends()]  # doctest: +SKIP
    ['statevector', 'lattice12', 'lattice72']
    >>> backend = provider.backend("lattice72")  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        client: Client | None = None,
        **options: Any,
    ) -> None:
        self._client = client or Client.from_config(url, token, **options)

    def __repr__(self) -> str:
        return f"OpenQPUProvider({self._client.url!r})"

    @property
    def client(self) -> Client:
        """The SDK client that talks to the server."""
        return self._client

    def backends(
        self, name: str | None = None, *, simulator: bool | None = None
    ) -> list[OpenQPUBackend]:
        """The server's devices as backends, in the server's order.

        Args:
            name: only the device of this name.
            simulator: True for simulators only, False for chips only.

        Returns:
            ``OpenQPUBackend`` objects; their targets are fetched on first use.
        """
        found = []
        for device in self._client.devices():
            if name is not None and device["name"] != name:
                continue
            if simulator is not None and bool(device.get("simulator")) != simulator:
                continue
            found.append(OpenQPUBackend(self._client, device, provider=self))
        return found

    def backend(self, name: str) -> OpenQPUBackend:
        """The device called ``name``.

        Raises:
            QiskitBackendNotFoundError: the server has no such device (the message
                lists the ones it has).
        """
        try:
            device = self._client.device(name)
        except NotFound:
            names = ", ".join(d["name"] for d in self._client.devices())
            raise QiskitBackendNotFoundError(
                f"no backend {name!r} on {self._client.url}; it has: {names}"
            ) from None
        return OpenQPUBackend(self._client, device, provider=self)
