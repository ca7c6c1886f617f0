"""The Python SDK of an openqpu server: submit circuits, wait for results, manage jobs.

>>> from openqpu.client import Client  # doctest: +SKIP
>>> client = Client.from_config()  # the server saved by 'openqpu login'  # doctest: +SKIP
>>> client.submit(circuit, "statevector", shots=1000).counts()  # doctest: +SKIP
[{'00': 503, '11': 497}]
"""

from __future__ import annotations

from openqpu.client.api import Client, JobList
from openqpu.client.config import NotConfigured
from openqpu.client.errors import (  # deprecated names, kept one release
    AuthenticationError,
    AuthenticationFailed,
    ClientError,
    Conflict,
    InvalidRequest,
    InvalidRequestError,
    JobConflict,
    JobFailed,
    NotFound,
    NotFoundError,
    PermissionDenied,
    QuotaError,
    QuotaExceeded,
    ServerError,
    ServerUnreachable,
)
from openqpu.client.job import RemoteJob

__all__ = [
    # Deprecated names (kept one release): AuthenticationError, InvalidRequestError,
    # JobConflict, NotFoundError, QuotaError.
    "AuthenticationError",
    "AuthenticationFailed",
    "Client",
    "ClientError",
    "Conflict",
    "InvalidRequest",
    "InvalidRequestError",
    "JobConflict",
    "JobFailed",
    "JobList",
    "NotConfigured",
    "NotFound",
    "NotFoundError",
    "PermissionDenied",
    "QuotaError",
    "QuotaExceeded",
    "RemoteJob",
    "ServerError",
    "ServerUnreachable",
]
