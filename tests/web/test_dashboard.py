"""The web dashboard in headless Chromium against a real server."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.service.conftest import Server, new_user
from tests.web.conftest import Console

BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""
BROKEN = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0], q[1];\n'


def _sign_in(page: Any, server: Server, key: str) -> None:
    page.goto(f"{server.url}/web/#/signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/web/#/jobs")
    page.locator("table.jobs, [data-empty=jobs]").first.wait_for()


def _blocker(server: Server, key: str, layers: int = 30) -> str:
    """Submit a statevector job that keeps the one worker busy for a few seconds."""
    n = 20
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];"]
    for layer in range(layers):
        lines += [f"rx({0.1 + 0.01 * layer + 0.001 * q}) q[{q}];" for q in range(n)]
        lines += [f"cx q[{q}],q[{q + 1}];" for q in range(layer % 2, n - 1, 2)]
    lines.append("measure q -> c;")
    with server.client(key) as client:
        response = client.post(
            "/api/v1/jobs",
            json={"device": "statevector", "circuits": ["\n".join(lines)], "shots": 10},
        )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _wait_done(server: Server, key: str, job_id: str) -> None:
    with server.client(key) as client:
        client.get(f"/api/v1/jobs/{job_id}", params={"wait": 30})


def test_dashboard_overview_shows_the_public_stats(server: Server, page: Any) -> None:
    names = ("tasks_completed", "visits", "users", "countries")
    # A visit is recorded just after its answer, and the public figures are cached for a
    # few seconds (OPENQPU_STATS_CACHE_SECONDS): wait until they include the first visit.
    for _ in range(30):
        page.goto(f"{server.url}/web/")
        page.locator("[data-stat=tasks_completed]").wait_for()
        shown = {n: page.locator(f"[data-stat={n}]").inner_text().replace(",", "") for n in names}
        stats = httpx.get(f"{server.url}/api/v1/stats").json()
        if stats["visits"] and all(int(shown[n]) == stats[n] for n in names):
            break
        time.sleep(0.5)
    assert {n: int(shown[n]) for n in names} == {n: stats[n] for n in names}
    for device, length in stats["queue_lengths"].items():
        assert page.locator(f"td[data-queue={device}]").inner_text() == str(length)
    assert page.locator("svg.line-chart").count() == 2  # per day; users and countries
    assert page.get_by_role("link", name="lattice72").is_visible()
    page.keyboard.press("Tab")  # keyboard: the skip link first, then the main content
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "view"
    assert page.url.endswith("/web/")


def test_dashboard_lattice72_draws_every_qubit_and_coupler(server: Server, page: Any) -> None:
    key = new_user(server)
    _sign_in(page, server, key)
    page.goto(f"{server.url}/web/#/devices/lattice72")
    page.locator("svg.lattice").wait_for()
    with server.client(key) as client:
        calibration = client.get("/api/v1/devices/lattice72/calibration").json()
        summary = client.get("/api/v1/devices/lattice72").json()["calibration"]
    lattice = page.locator("svg.lattice")
    assert lattice.locator("circle.qubit[data-qubit]").count() == 72
    assert lattice.locator("line.coupler[data-coupler]").count() == 126
    disabled_qubits = lattice.locator("circle.qubit.disabled[data-qubit]")
    shown = {int(q) for q in disabled_qubits.evaluate_all("els => els.map(e => e.dataset.qubit)")}
    assert shown == set(calibration["disabled_qubits"])
    disabled_couplers = lattice.locator("line.coupler.disabled[data-coupler]")
    shown_pairs = set(disabled_couplers.evaluate_all("els => els.map(e => e.dataset.coupler)"))
    off = set(calibration["disabled_qubits"])
    out_of_service = {
        f"{min(a, b)}-{max(a, b)}"
        for a, b in calibration["couplers"]
        if [a, b] in calibration["disabled_couplers"] or {a, b} & off
    }
    assert shown_pairs == out_of_service  # listed, or at a disabled qubit
    assert len(shown_pairs) == summary["num_couplers_disabled"]
    assert shown and shown_pairs, "lattice72 has parts out of service"
    title = lattice.locator("circle.qubit[data-qubit='0'] title").text_content()
    assert f"T1 {calibration['t1_us'][0]:.3g} µs" in title
    assert "Qubits: T1" in lattice.text_content()
    page.get_by_label("Colour qubits by").select_option("readout")
    page.locator("svg.lattice", has_text="Readout fidelity").wait_for()
    assert page.locator("svg.line-chart").count() == 2  # the calibration time line
    assert page.locator("[data-maintenance]").count() == 1
    assert page.get_by_text("cz", exact=True).is_visible()


def test_dashboard_bell_job_goes_from_queued_to_done(server: Server, page: Any) -> None:
    key = new_user(server)
    _sign_in(page, server, key)
    page.goto(f"{server.url}/web/#/submit")
    page.get_by_label("Device").select_option("lattice72")
    page.get_by_label("Circuit").fill(BELL)
    page.get_by_label("Shots").fill("2000")
    page.get_by_label("Readout mitigation").check()
    blocker = _blocker(server, new_user(server))  # the one worker is busy: the job must wait
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/web/#/jobs/*")
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not seen or seen[-1] != "done"):
        status = page.locator("#job-status [data-status]").get_attribute("data-status")
        if status and (not seen or seen[-1] != status):
            seen.append(status)
        time.sleep(0.05)
    assert seen[0] == "queued" and seen[-1] == "done", seen
    bars = page.locator("#job-result svg.histogram g.bar")
    bars.first.wait_for()
    outcomes = bars.evaluate_all("els => els.map(e => [e.dataset.outcome, +e.dataset.count])")
    assert {outcomes[0][0], outcomes[1][0]} == {"00", "11"}
    assert sum(count for _, count in outcomes) == 2000
    assert outcomes[0][1] >= outcomes[1][1] >= max([0, *(c for _, c in outcomes[2:])])
    job_id = page.url.rsplit("/", 1)[1]
    with server.client(key) as client:
        entry = client.get(f"/api/v1/jobs/{job_id}/result").json()["results"][0]
    used = page.locator("#job-result svg.lattice circle.qubit.used")
    used.first.wait_for()
    shown = {int(q) for q in used.evaluate_all("els => els.map(e => e.dataset.qubit)")}
    assert shown == set(entry["compiled"]["physical_qubits"])
    assert "OPENQASM 3" in page.locator("#compiled-0").text_content()
    assert "cx q[0], q[1];" in page.locator("#job-source").text_content()
    assert "┤ H ├" in page.locator("#job-drawing").text_content()  # the circuit, drawn
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename == f"{job_id}.csv"
    _wait_done(server, key, blocker)


def test_dashboard_cancels_a_queued_job(server: Server, page: Any) -> None:
    key = new_user(server)
    _sign_in(page, server, key)
    blocker = _blocker(server, new_user(server), layers=40)  # the job waits behind it
    with server.client(key) as client:
        job = client.post(
            "/api/v1/jobs", json={"device": "statevector", "circuits": [BELL], "shots": 10}
        ).json()
    page.goto(f"{server.url}/web/#/jobs/{job['id']}")
    page.get_by_role("button", name="Cancel job").click()
    page.locator("#job-status [data-status=cancelled]").wait_for()
    page.goto(f"{server.url}/web/#/jobs?status=cancelled")
    page.locator(f"tr[data-job='{job['id']}']").wait_for()
    _wait_done(server, key, blocker)


def test_dashboard_shows_a_syntax_error_at_its_line(
    server: Server, page: Any, console: Console
) -> None:
    console.expect(r"status of 400")
    key = new_user(server)
    with server.client(key) as client:
        error = client.post(
            "/api/v1/jobs", json={"device": "statevector", "circuits": [BROKEN], "shots": 10}
        ).json()
    assert error["line"], error
    _sign_in(page, server, key)
    page.goto(f"{server.url}/web/#/submit")
    page.get_by_label("Device").select_option("statevector")
    page.get_by_label("Circuit").fill(BROKEN)
    page.get_by_role("button", name="Submit").click()
    note = page.locator(".source-error .error-note")
    note.wait_for()
    assert note.get_attribute("data-error-line") == str(error["line"])
    assert f"Line {error['line']}, column {error['column']}" in note.inner_text()
    marked = page.locator(".source-error li.error-line")
    assert marked.get_attribute("data-line") == str(error["line"])
    assert marked.inner_text().strip() == BROKEN.split("\n")[error["line"] - 1].strip()
    # the note sits right after the line it points at
    assert marked.evaluate("li => li.nextElementSibling.classList.contains('error-note')")


def test_dashboard_hides_another_users_job(server: Server, page: Any, console: Console) -> None:
    console.expect(r"status of 404")
    owner = new_user(server)
    with server.client(owner) as client:
        job = client.post(
            "/api/v1/jobs", json={"device": "statevector", "circuits": [BELL], "shots": 10}
        ).json()
    _sign_in(page, server, new_user(server))
    page.goto(f"{server.url}/web/#/jobs/{job['id']}")
    page.locator(".not-found").wait_for()
    assert "Not found" in page.locator("main").inner_text()
    assert page.locator("#job-status").count() == 0


def test_dashboard_admin_sees_users_and_others_do_not(
    server: Server, page: Any, console: Console
) -> None:
    console.expect(r"status of 403")
    name = "web-admin-check"
    key = new_user(server, name)
    _sign_in(page, server, server.admin_key)
    page.goto(f"{server.url}/web/#/admin")
    row = page.locator(f"tr[data-user='{name}']")
    row.wait_for()
    assert row.locator("td[data-quota=shots]").inner_text().startswith("0 / ")  # quota use
    page.get_by_role("link", name="Sign out").click()
    _sign_in(page, server, key)
    page.goto(f"{server.url}/web/#/admin")
    page.locator("[data-forbidden]").wait_for()


def test_dashboard_fits_a_phone_without_horizontal_scrolling(server: Server, phone: Any) -> None:
    key = new_user(server)
    with server.client(key) as client:
        job = client.post(
            "/api/v1/jobs", json={"device": "lattice12", "circuits": [BELL], "shots": 100}
        ).json()
    _wait_done(server, key, job["id"])
    _sign_in(phone, server, key)
    pages = {
        "#/": "[data-stat=users]",
        "#/devices/lattice72": "svg.lattice",
        "#/submit": "#source",
        "#/jobs": "table.jobs",
        f"#/jobs/{job['id']}": "#job-result svg.histogram",
    }
    for route, ready in pages.items():
        phone.goto(f"{server.url}/web/{route}")
        phone.locator(ready).first.wait_for()
        widths = phone.evaluate("[document.body.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{route}: body is {widths[0]} px wide on a 390 px screen"


def _ghz_qasm(n: int) -> str:
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];", "h q[0];"]
    lines += [f"cx q[{i}],q[{i + 1}];" for i in range(n - 1)]
    return "\n".join([*lines, "measure q -> c;", ""])


def test_dashboard_estimates_before_submitting_and_job_shows_the_method(
    server: Server, page: Any, console: Console
) -> None:
    console.expect(r"status of 400")  # the refused method, on purpose
    key = new_user(server)
    ghz = _ghz_qasm(40)
    with server.client(key) as client:
        plan = client.post(
            "/api/v1/jobs",
            json={"device": "lattice72", "circuits": [ghz], "shots": 200, "dry_run": True},
        ).json()
    _sign_in(page, server, key)
    page.goto(f"{server.url}/web/#/submit")
    page.locator("#estimate[data-state=empty]").wait_for()
    page.get_by_label("Device").select_option("lattice72")
    page.get_by_label("Shots").fill("200")
    page.get_by_label("Circuit").fill(ghz)  # the estimate follows the edit by itself
    row = page.locator("#estimate[data-state=ready] tr[data-circuit='0']")
    row.wait_for()
    expected = plan["circuits"][0]
    assert row.locator("[data-field=method]").inner_text() == expected["method"] == "stabilizer"
    assert row.locator("[data-field=qubits]").inner_text() == "40"
    gates = row.locator("[data-field=two-qubit-gates]").inner_text()
    assert int(gates.replace(",", "")) == expected["num_two_qubit_gates"]
    assert int(row.locator("[data-field=depth]").inner_text().replace(",", "")) == expected["depth"]
    assert 0 < float(row.locator("[data-field=success]").inner_text()) < 1
    queue = page.locator("#estimate [data-estimate=queue]").inner_text()
    assert "run next" in queue or "ahead of it" in queue
    assert page.locator("#estimate li[data-method=density_matrix]").count() == 1  # ruled out

    page.get_by_label("Simulation method").select_option("density_matrix")
    refused = page.locator("#estimate [data-estimate=refused]")
    refused.wait_for()
    assert "'density_matrix' cannot run this circuit" in refused.inner_text()

    page.get_by_label("Device").select_option("statevector")  # chip-only methods go
    assert page.get_by_label("Simulation method").input_value() == "auto"
    assert page.locator("#method option[value=mps]").is_disabled()
    page.get_by_label("Device").select_option("lattice12")
    page.get_by_label("Circuit").fill(BELL)
    page.get_by_label("Simulation method").select_option("statevector")
    page.get_by_role("button", name="Estimate").click()
    method = page.locator("#estimate[data-state=ready] tr[data-circuit='0'] [data-field=method]")
    method.filter(has_text="statevector").wait_for()
    with server.client(key) as client:
        assert client.get("/api/v1/jobs").json()["count"] == 0  # estimates queue nothing

    page.get_by_label("Device").select_option("lattice72")
    page.get_by_label("Circuit").fill(ghz)
    page.get_by_label("Simulation method").select_option("auto")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/web/#/jobs/*")
    shown = page.locator("#job-result [data-circuit='0'] dl.method")
    shown.wait_for(timeout=60_000)
    job_id = page.url.rsplit("/", 1)[1]
    with server.client(key) as client:
        entry = client.get(f"/api/v1/jobs/{job_id}/result").json()["results"][0]
    assert shown.locator("[data-field=method]").inner_text() == entry["method"] == "stabilizer"
    sentences = shown.locator("[data-field=approximations] li").all_inner_texts()
    assert sentences == entry["approximations"]
    figures = shown.locator("[data-figure]").evaluate_all("els => els.map(e => e.dataset.figure)")
    assert figures == list(entry["method_figures"])


def test_dashboard_submits_an_estimate_job_with_error_mitigation(
    server: Server, page: Any, console: Console
) -> None:
    console.expect(r"status of 422")  # the refused noise factor, on purpose
    key = new_user(server)
    _sign_in(page, server, key)
    page.goto(f"{server.url}/web/#/submit")
    page.get_by_label("Device").select_option("lattice12")
    page.get_by_label("Circuit").fill(BELL)
    page.get_by_label("Shots").fill("400")
    assert page.get_by_label("Observables").is_hidden()
    page.get_by_label("Job kind").select_option("estimate")
    page.get_by_label("Observables").fill("ZZ\n0.5*XX + 0.5*IZ")
    assert page.get_by_label("ZNE noise factors").is_hidden()  # no resilience level yet
    page.get_by_label("Resilience level").select_option("2")
    assert page.get_by_label("Readout mitigation").is_disabled()  # TREX corrects readout
    page.get_by_label("ZNE noise factors").fill("0.5, 3")
    refused = page.locator("#estimate[data-state=refused] [data-estimate=refused]")
    refused.wait_for()
    assert "noise_factors" in refused.inner_text()
    page.get_by_label("ZNE noise factors").fill("1, 3")
    page.get_by_label("Extrapolator").select_option("linear")
    page.get_by_label("Twirling randomizations").fill("4")
    assert page.get_by_label("DD sequence").is_disabled()
    page.get_by_label("Dynamical decoupling").check()
    page.get_by_label("DD sequence").select_option("XY4")
    page.locator("#estimate[data-state=ready] tr[data-circuit='0']").wait_for()
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/web/#/jobs/*")
    shown = page.locator("#job-result [data-expectation='1']")
    shown.wait_for(timeout=60_000)
    job_id = page.url.rsplit("/", 1)[1]
    with server.client(key) as client:
        entry = client.get(f"/api/v1/jobs/{job_id}/result").json()["results"][0]
    options = entry["resilience"]["options"]
    assert options["resilience_level"] == 2
    assert options["resilience"]["zne"]["noise_factors"] == [1.0, 3.0]
    assert options["resilience"]["zne"]["extrapolator"] == ["linear"]
    assert options["twirling"]["num_randomizations"] == 4
    assert options["dynamical_decoupling"] == {"enable": True, "sequence_type": "XY4"}
    assert len(entry["expectation_values"]) == 2
