"""Workers on three "hosts" (two network namespaces and this one) drain one PostgreSQL
queue: ``bench/hosts.py`` run small. Skips, saying why, without ``ip netns`` (not root)
or without PostgreSQL."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.service.conftest import _postgres_reason

BENCH = Path(__file__).resolve().parents[2] / "bench" / "hosts.py"


def _hosts_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("openqpu_bench_hosts", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.postgres
def test_hosts_workers_in_separate_namespaces_drain_one_queue(tmp_path: Path) -> None:
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    hosts = _hosts_module()
    reason = hosts.netns_reason()
    if reason:
        pytest.skip(reason)
    figures = hosts.run(40, 2, log_dir=tmp_path)
    assert figures["done_once"] == figures["jobs"] == 40
    assert set(figures["by_host"]) == {"host-a", "host-b", "host-local"}
    assert all(count > 0 for count in figures["by_host"].values()), figures
    assert figures["namespaces_isolated"]
