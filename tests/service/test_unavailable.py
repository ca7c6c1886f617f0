"""A database that is down or busy gives 503 with Retry-After, not 500."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from openqpu.service.api.app import create_app
from openqpu.service.settings import Settings


@pytest.mark.parametrize("route", ["/api/v1/jobs", "/api/v1/devices"])
def test_database_down_is_503_with_retry_after(tmp_path: Path, route: str) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"))

    @contextmanager
    def down():  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
        yield

    app.state.db.connect = down
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(route, headers={"Authorization": "Bearer oqk_a_b"})

    answer = asyncio.run(ask())
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert "database is unavailable" in answer.json()["detail"]
