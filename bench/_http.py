"""A lean HTTP/1.1 keep-alive client on asyncio streams, for the load generator.

httpx costs ~2.5 ms of CPU per request, as much as the server it measures, on the same
two cores; this client costs a small fraction of that, so the figures show the server.
It speaks just what ``bench/service.py`` needs: one connection, JSON bodies,
``Content-Length`` or chunked responses.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson


class TransportError(Exception):
    """The connection failed, closed early or timed out."""


class Response:
    """Status code and body of one answer."""

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    def json(self) -> Any:
        """The body decoded as JSON."""
        return orjson.loads(self.content)


class LeanClient:
    """One keep-alive connection to ``url``; every request carries ``headers``."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        fixed = {"Host": f"{self.host}:{self.port}", **headers}
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> LeanClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection."""
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Response:
        """``GET path?params``."""
        if params:
            path = f"{path}?{urlencode(params)}"
        return await self.request("GET", path)

    async def post(self, path: str, json: Any = None) -> Response:
        """``POST path`` with a JSON body."""
        return await self.request("POST", path, orjson.dumps(json))

    async def request(self, method: str, path: str, body: bytes = b"") -> Response:
        """Send one request and read its answer; TransportError when that fails."""
        try:
            return await asyncio.wait_for(self._exchange(method, path, body), self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ValueError) as exc:  # fmt: skip
            await self.aclose()
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc

    async def _exchange(self, method: str, path: str, body: bytes) -> Response:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._headers
        if body:
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        writer.write(head + b"\r\n" + body)
        status_and_headers = await reader.readuntil(b"\r\n\r\n")
        lines = status_and_headers.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            content = await _read_chunked(reader)
        else:
            content = await reader.readexactly(int(headers.get(b"content-length", b"0")))
        if headers.get(b"connection", b"").lower() == b"close":
            await self.aclose()
        return Response(status, content)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
