"""The Prometheus endpoint: standard exposition, and the Grafana dashboard in deploy/
uses only metrics that it serves."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from openqpu.service.api.app import create_app
from openqpu.service.settings import Settings

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "openqpu-dashboard.json"


def _dashboard_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(expressions) >= 10
    return {name for expr in expressions for name in re.findall(r"\bopenqpu_[a-z_]+\b", expr)}


def test_metrics_serve_every_metric_of_the_grafana_dashboard(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"))

    async def scrape() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/healthz")).status_code == 200
            return await client.get("/metrics")

    answer = asyncio.run(scrape())
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        sample.name: sample
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }
    missing = _dashboard_metrics() - set(samples)
    assert not missing, f"the dashboard uses metrics /metrics does not serve: {sorted(missing)}"
    # The request to /healthz was timed under its route template.
    healthz = [
        s for name, s in samples.items() if name == "openqpu_http_request_duration_seconds_count"
    ]
    assert healthz and healthz[0].labels["route"] in ("/healthz", "/metrics")
    for device in ("statevector", "lattice12", "lattice72"):
        assert f'openqpu_queue_length{{device="{device}"}} 0.0' in answer.text
