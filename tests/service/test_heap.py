"""Service processes freeze their start-up objects, so full collections stay short."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openqpu.service import heap
from openqpu.service.api import app as app_module
from openqpu.service.settings import Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Give this test process's objects back to the collector afterwards."""
    yield
    gc.unfreeze()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settle_freezes_what_lives_and_still_collects_what_comes_after(unfrozen: None) -> None:
    gc.unfreeze()
    heap.settle()
    frozen = gc.get_freeze_count()
    assert frozen > 1_000  # pytest, FastAPI, SQLAlchemy... are all alive here
    _Cycle()  # unreachable at once: only the collector can free it
    assert any(isinstance(o, _Cycle) for o in gc.get_objects())
    gc.collect()
    assert not any(isinstance(o, _Cycle) for o in gc.get_objects())
    assert gc.get_freeze_count() == frozen


def test_the_api_settles_after_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unfrozen: None
) -> None:
    calls: list[str] = []
    settle = heap.settle

    def recording() -> None:
        calls.append("settle")
        settle()

    monkeypatch.setattr(app_module.heap, "settle", recording)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", sandbox_processes=1)
    app = app_module.create_app(settings)
    assert calls == []  # not while building: start-up is not over
    with TestClient(app) as client:
        assert calls == ["settle"]
        assert gc.get_freeze_count() > 0
        assert client.get("/healthz").status_code == 200
