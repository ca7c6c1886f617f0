"""Request rate limits per API key: a token bucket for each key, in each API process."""

from __future__ import annotations

import math
import threading
import time

from starlette.requests import Request

from openqpu.service.store.accounts import Principal
from openqpu.service.store.jobs import QuotaExceeded


class RateLimited(QuotaExceeded):
    """A key sent requests faster than its limit (HTTP 429 with Retry-After)."""


class RateLimiter:
    """Allow ``rate`` requests per second per key, in bursts of up to ``burst``.

    Buckets live in the process's memory: with several API processes each enforces
    the limit on the requests it serves. A ``rate`` of 0 turns limiting off.
    """

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one token of ``key``'s bucket.

        Raises:
            RateLimited: the bucket is empty; ``retry_after`` says when one is back.
        """
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                # Retry-After is a whole number of seconds, at least 1 (RFC 9110).
                seconds = max(1, math.ceil((1.0 - tokens) / self.rate))
                raise RateLimited(
                    f"rate limit of {self.rate:g} requests/s per API key (bursts of "
                    f"{self.burst:g}) reached; retry in {seconds} s",
                    seconds,
                )
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:  # forget idle keys rather than grow forever
                self._buckets.clear()


def admit(request: Request, principal: Principal) -> None:
    """The one path every protocol surface (REST, ``/oqcs/``, ``/qbackend/``) takes once
    it has authenticated a caller: count the visitor and spend one token of their key.

    Raises:
        RateLimited: the key is over its rate; each surface answers in its own protocol.
    """
    request.state.visitor = principal.key_id
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.take(principal.key_id)
