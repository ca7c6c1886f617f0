"""HTTP calls to one openqpu server: the API key, retries with back-off, typed errors.

A request is retried when it cannot have done anything on the server (the
connection was never made) and, for requests that are safe to repeat, also after
a timeout, a dropped connection or a 502, 503 or 504 from a proxy or a restarting
server. Submissions are safe to repeat because they always carry an idempotency key.

A ``429 Too Many Requests`` (the key's request rate, or its queued-job limit) is
retried like a 503, whatever the request: the server refused it before doing
anything. The wait honours ``Retry-After``; only when the tries are spent, or the
server asks for a longer wait than ``MAX_BACKOFF_S`` (a daily quota), is
``QuotaExceeded`` raised. Waits grow with each try and get a little random jitter,
so that many threads refused together do not come back together.
"""

from __future__ import annotations

import random
import time
from typing import Any

import httpx

from openqpu.client.errors import ClientError, ServerUnreachable, error_from_response

RETRY_STATUSES = frozenset({502, 503, 504})
TOO_MANY_REQUESTS = 429
MAX_BACKOFF_S = 10.0
# Up to this share of a wait is added at random.
JITTER = 0.25

# Errors after which the request certainly never reached the server.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Errors after which it may or may not have been handled.
_UNCERTAIN = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class Transport:
    """Authenticated JSON requests to one server.

    Args:
        url: the server's base URL, ``http(s)://host[:port]``.
        token: the API key, sent as ``Authorization: Bearer <token>``.
        timeout: seconds to wait for each answer.
        retries: how many times to repeat a failed request (0: never).
        backoff_s: the first wait between tries; it doubles each time, up to 10 s.
        transport: an httpx transport to use instead of the network (tests).

    Raises:
        ValueError: the URL is not an http or https URL, or retries is negative.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float,
        retries: int,
        backoff_s: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        from openqpu import __version__

        self.url = url.strip().rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url: expected http://host:port or https://host, got {url!r}")
        if retries < 0:
            raise ValueError(f"retries: must not be negative, got {retries}")
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.url,
            headers={
                "Authorization": f"Bearer {token}",
                "User-Agent": f"openqpu-client/{__version__}",
            },
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        """``GET path`` and return the decoded JSON; see ``request``."""
        return self.request("GET", path, params=params)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        repeatable: bool = True,
    ) -> Any:
        """Send one request, retrying as the module docstring says, and decode the answer.

        Args:
            method: ``GET`` or ``POST``.
            path: the path under the base URL, e.g. ``/api/v1/jobs``.
            json: the body to send as JSON, if any.
            params: query parameters; None values are left out.
            repeatable: False when a second delivery could act twice; such a
                request is only retried when it never reached the server.

        Returns:
            The JSON answer (a dict or a list), or None for an empty body.

        Raises:
            ServerUnreachable: no answer after every try.
            ClientError: the server answered with an error (a subclass per status).
        """
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            failure: Exception | httpx.Response
            try:
                response = self._http.request(method, path, json=json, params=query)
            except _UNSENT as exc:
                failure = exc
            except _UNCERTAIN as exc:
                if not repeatable:
                    raise self._unreachable(exc, attempt) from exc
                failure = exc
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise ClientError(f"invalid server URL {self.url!r}: {exc}") from exc
            else:
                retryable = (
                    response.status_code in RETRY_STATUSES and repeatable
                ) or _refused_for_now(response)
                if not retryable:
                    return self._decode(response)
                failure = response
            if attempt >= self.retries:
                if isinstance(failure, httpx.Response):
                    raise _spent(error_from_response(failure), attempt)
                raise self._unreachable(failure, attempt) from failure
            time.sleep(self._delay(attempt, failure))
            attempt += 1

    def _delay(self, attempt: int, failure: Exception | httpx.Response) -> float:
        delay = self.backoff_s * 2.0**attempt
        if isinstance(failure, httpx.Response):
            # A 503 or a 429 may say when the server expects to take the request.
            delay = max(delay, _retry_after(failure) or 0.0)
        delay *= 1.0 + JITTER * random.random()
        return min(delay, MAX_BACKOFF_S)

    def _unreachable(self, exc: Exception, attempt: int) -> ServerUnreachable:
        reason = str(exc) or type(exc).__name__
        tries = f" ({attempt + 1} tries)" if attempt else ""
        return ServerUnreachable(f"cannot reach {self.url}: {reason}{tries}")

    def _decode(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise error_from_response(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                f"{response.request.url} answered {response.status_code} without JSON; "
                "is this an openqpu server?",
                status_code=response.status_code,
            ) from None


def _spent(error: ClientError, attempt: int) -> ClientError:
    """``error`` saying how often the request was tried, when it was tried again."""
    if attempt:
        error.message = f"{error.message} (gave up after {attempt + 1} tries)"
        error.args = (error.message,)
    return error


def _retry_after(response: httpx.Response) -> float | None:
    """The answer's ``Retry-After`` in seconds, or None (absent, or an HTTP date)."""
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _refused_for_now(response: httpx.Response) -> bool:
    """A 429 worth waiting for: the server names no wait, or one within ``MAX_BACKOFF_S``."""
    if response.status_code != TOO_MANY_REQUESTS:
        return False
    wait = _retry_after(response)
    return wait is None or wait <= MAX_BACKOFF_S
