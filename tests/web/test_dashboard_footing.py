"""The dashboard keeps its footing (the review's fixes), in headless Chromium: a refused
cancel is shown, a lost connection during the job page's long poll is retried, anonymous
visitors see the devices' qubits, one day of data reads as labelled bars, and no page
logs an error."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.service.conftest import Server, new_user
from tests.web.conftest import Console

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0], q[1];\nmeasure q -> c;\n"
)


def _sign_in(page: Any, server: Server, key: str) -> None:
    page.goto(f"{server.url}/web/#/signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/web/#/jobs")


def _done_job(server: Server, key: str, device: str = "statevector") -> str:
    with server.client(key) as client:
        job = client.post(
            "/api/v1/jobs", json={"device": device, "circuits": [BELL], "shots": 50}
        ).json()
        for _ in range(8):  # a fresh server's first run compiles its kernels: give it time
            done = client.get(f"/api/v1/jobs/{job['id']}", params={"wait": 15}).json()
            if done["status"] == "done":
                return str(job["id"])
    raise AssertionError(f"job {job['id']} did not finish: {done}")


def test_dashboard_job_page_shows_a_refused_cancel_and_rides_out_a_lost_connection(
    server: Server, page: Any, console: Console
) -> None:
    console.expect(r"status of 409|net::ERR_FAILED")  # both provoked below
    key = new_user(server)
    job_id = _done_job(server, key)
    _sign_in(page, server, key)
    polls = []

    def job_document(route: Any) -> None:
        """The job as the page first sees it: still queued; its long polls: lost twice."""
        if "wait=" in route.request.url:
            polls.append(time.monotonic())
            if len(polls) <= 2:
                route.abort()
            else:
                route.continue_()
            return
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "status": "queued"})

    page.route(re.compile(rf".*/api/v1/jobs/{job_id}(\?.*)?$"), job_document)
    page.route(
        f"**/api/v1/jobs/{job_id}/cancel",
        lambda route: route.fulfill(
            status=409, json={"detail": f"job {job_id} is done", "error": "Conflict"}
        ),
    )
    page.goto(f"{server.url}/web/#/jobs/{job_id}")
    page.locator("#job-connection", has_text="trying again in 1 s").wait_for()
    page.get_by_role("button", name="Cancel job").click()
    refused = page.locator("#cancel-error", has_text="The job was not cancelled")
    refused.wait_for()
    assert f"job {job_id} is done" in refused.inner_text()
    page.locator("#job-connection", has_text="trying again in 2 s").wait_for()
    page.locator("#job-connection", has_text="Back in touch").wait_for()
    page.locator("#job-status [data-status=done]").wait_for()
    page.locator("#job-result svg.histogram").wait_for()
    assert len(polls) == 3 and polls[2] - polls[1] >= 1.9  # backed off: 1 s, then 2 s


def test_dashboard_overview_shows_qubits_to_anyone_and_reads_one_day(
    server: Server, page: Any
) -> None:
    page.goto(f"{server.url}/web/")
    page.locator("td[data-qubits=lattice72]").wait_for()
    catalog = httpx.get(f"{server.url}/api/v1/catalog").json()
    for device in catalog:
        assert page.locator(f"td[data-qubits={device['name']}]").inner_text() == str(
            device["num_qubits"]
        )
        row = page.locator(f"tr[data-device={device['name']}]")
        assert row.locator(".badge[data-status]").count() == 1  # the one status badge
    stats = httpx.get(f"{server.url}/api/v1/stats").json()
    days = {d["day"] for d in stats["tasks_completed_per_day"] + stats["visits_per_day"]}
    if len(days) == 1:  # this server's data (it started today, unless past midnight UTC)
        bars = page.locator("svg.single-day").first.locator("g.day-bar")
        assert bars.count() == 2  # tasks completed, visits
        for bar in bars.all():
            value = int(bar.get_attribute("data-value"))
            assert bar.locator("text.value").text_content().replace(",", "") == str(value)
        assert page.locator("svg.single-day").count() == 2  # and users and countries so far


def test_dashboard_every_page_loads_without_console_errors(
    server: Server, page: Any, phone: Any
) -> None:
    job_id = _done_job(server, server.admin_key, "lattice12")
    page.goto(f"{server.url}/web/#/composer")  # signed out: the canvas, and where to sign in
    page.locator("#canvas .cell").first.wait_for()
    page.locator("[data-notice=sign-in]").wait_for()
    _sign_in(page, server, server.admin_key)
    pages = {
        "#/": "td[data-qubits=lattice12]",
        "#/devices/lattice12": "svg.lattice",
        "#/devices/statevector": "[data-device-status]",
        "#/submit": "#estimate[data-state=empty]",
        "#/composer": "#live-state[data-state=ready]",
        "#/jobs": f"tr[data-job='{job_id}']",
        f"#/jobs/{job_id}": "#job-result svg.lattice",
        f"#/composer?job={job_id}": "#live-state[data-state=ready]",
        "#/admin": "table.users",
        "#/signin": "#api-key",
    }
    for route, ready in pages.items():
        page.goto(f"{server.url}/web/{route}")
        page.locator(ready).first.wait_for()
    page.goto(f"{server.url}/web/#/jobs")
    link = page.locator(f"tr[data-job='{job_id}'] a")
    assert link.get_attribute("href") == f"#/jobs/{job_id}"
    phone.goto(f"{server.url}/web/#/composer")
    phone.locator("#canvas .cell").first.wait_for()
    widths = phone.evaluate("[document.body.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]
