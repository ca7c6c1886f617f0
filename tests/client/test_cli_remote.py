"""The remote commands (login, devices, submit, jobs, result, cancel) against real servers."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from openqpu import sim
from openqpu.cli import main
from openqpu.formats import loads
from tests.client.conftest import BELL_QASM, DATABASES, ghz_qasm, running_server
from tests.service.conftest import Server, free_port


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server with one worker; the tests use its administrator's key."""
    directory = tmp_path_factory.mktemp(f"cli-{request.param}")
    with running_server(str(request.param), directory, workers=1) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the config file goes; no server is configured in the environment."""
    path = tmp_path / "home" / "openqpu" / "config.json"
    monkeypatch.setenv("OPENQPU_CONFIG", str(path))
    monkeypatch.delenv("OPENQPU_URL", raising=False)
    monkeypatch.delenv("OPENQPU_TOKEN", raising=False)
    return path


@pytest.fixture
def logged_in(server: Server, config: Path, monkeypatch: pytest.MonkeyPatch) -> Server:
    """The server named by OPENQPU_URL and OPENQPU_TOKEN."""
    monkeypatch.setenv("OPENQPU_URL", server.url)
    monkeypatch.setenv("OPENQPU_TOKEN", server.admin_key)
    return server


@pytest.fixture
def bell_file(tmp_path: Path) -> Path:
    path = tmp_path / "bell.qasm"
    path.write_text(BELL_QASM)
    return path


def counts_table(text: str) -> dict[str, int]:
    """The counts of ``print_counts`` output: rows after the header, before the summary."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == ["outcome"])
    counts = {}
    for line in lines[start + 1 :]:
        parts = line.split()
        if len(parts) != 3 or not set(parts[0]) <= {"0", "1"}:
            break
        counts[parts[0]] = int(parts[1])
    return counts


def test_cli_login_writes_private_config_used_by_later_commands(
    server: Server, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["login", "--url", server.url + "/", "--token", server.admin_key]) == 0
    assert f"logged in to {server.url}" in capsys.readouterr().out
    assert json.loads(config.read_text()) == {"url": server.url, "token": server.admin_key}
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "QUBITS", "STATUS", "QUEUED", "CALIBRATION"]
    assert out.splitlines()[1].split()[0] == "statevector"
    chip = next(line for line in out.splitlines() if line.startswith("lattice72"))
    assert "T1" in chip and "qubits working" in chip


def test_cli_login_with_bad_key_fails_and_saves_nothing(
    server: Server, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["login", "--url", server.url, "--token", "oqk_0000_nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"openqpu: login to {server.url} failed: ")
    assert "Traceback" not in err and not config.exists()


def test_cli_saved_key_is_not_sent_to_another_url(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"url": "http://127.0.0.1:1", "token": "oqk_a_b"}))
    assert main(["devices", "--url", "http://127.0.0.1:2"]) == 2
    assert "no API key for http://127.0.0.1:2" in capsys.readouterr().err


def test_cli_without_a_server_says_how_to_configure_one(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("openqpu: no server configured: run 'openqpu login --url")


def test_cli_unreachable_server_is_one_line(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("openqpu.client.transport.MAX_BACKOFF_S", 0.0)
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["devices", "--url", url, "--token", "oqk_a_b"]) == 1
    assert capsys.readouterr().err.startswith(f"openqpu: cannot reach {url}: ")


def test_cli_submit_wait_prints_the_engines_counts(
    logged_in: Server, bell_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["submit", str(bell_file), "--device", "statevector", "--shots", "200", "--seed", "5"]
    assert main([*argv, "--wait", "--timeout", "60"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("submitted job ")
    assert counts_table(captured.out) == sim.sample(loads(BELL_QASM), 200, seed=5)
    assert "200 shots, 2 qubits" in captured.out
    assert captured.out.splitlines()[-1].endswith(", seed 5")


def test_cli_submit_to_a_chip_with_options(
    logged_in: Server, bell_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["submit", str(bell_file), "--device", "lattice12", "--shots", "300", "--seed", "5"]
    options = ["--optimization-level", "0", "--mitigation", "readout", "--json"]
    assert main([*argv, *options, "--wait", "--timeout", "60"]) == 0
    entry = json.loads(capsys.readouterr().out)["results"][0]
    assert sum(entry["counts"].values()) == 300
    assert entry["compiled"]["optimization_level"] == 0
    assert "mitigated_probabilities" in entry
    with pytest.raises(SystemExit) as refused:
        main([*argv, "--optimization-level", "7"])
    assert refused.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_cli_submit_dry_run_prints_the_estimate_and_queues_nothing(
    logged_in: Server, bell_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wide = tmp_path / "ghz40.qasm"
    wide.write_text(ghz_qasm(40))
    argv = ["submit", str(bell_file), str(wide), "--device", "lattice72", "--shots", "1000"]
    assert main(["jobs", "--json"]) == 0
    before = json.loads(capsys.readouterr().out)["count"]
    assert main([*argv, "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "estimate for lattice72, 1,000 shots per circuit (nothing queued)"
    assert lines[1].split() == ["CIRCUIT", "METHOD", "SECONDS", "SUCCESS", "2Q", "GATES",
                                "DEPTH", "QUBITS"]  # fmt: skip
    bell_row, ghz_row = lines[2].split(), lines[3].split()
    assert bell_row[:3] == ["0", f"({bell_file})", "density_matrix"] and bell_row[-1] == "2"
    assert ghz_row[:3] == ["1", f"({wide})", "stabilizer"] and ghz_row[-1] == "40"
    assert 0 < float(ghz_row[4]) < 1  # success probability
    assert lines[4].startswith("circuit 1 cannot use density_matrix: ")
    assert lines[-1].startswith("total ") and "done in about" in lines[-1]
    assert main([*argv, "--dry-run", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [c["method"] for c in document["circuits"]] == ["density_matrix", "stabilizer"]
    assert main(["jobs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == before  # nothing queued
    assert main([*argv, "--dry-run", "--method", "density_matrix"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("openqpu: method: method 'density_matrix' cannot run this circuit")
    assert "Traceback" not in err
    assert main([*argv, "--dry-run", "--wait"]) == 2
    assert "nothing to --wait for" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_result_shows_each_circuits_method(
    logged_in: Server, bell_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["submit", str(bell_file), "--device", "lattice12", "--shots", "100", "--seed", "2"]
    assert main([*argv, "--method", "statevector", "--wait", "--timeout", "60"]) == 0
    out = capsys.readouterr().out
    assert "method: statevector" in out.splitlines()
    assert any(line.startswith("approximations:") for line in out.splitlines())
    assert out.splitlines()[-1].endswith(", seed 2")
    with pytest.raises(SystemExit) as refused:
        main([*argv, "--method", "exact"])
    assert refused.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_cli_submit_then_jobs_result_and_cancel(
    logged_in: Server, bell_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["submit", str(bell_file), str(bell_file), "--device", "statevector", "--json"]
    assert main([*argv, "--shots", "64", "--seed", "9", "--name", "cli-test"]) == 0
    job_id = json.loads(capsys.readouterr().out)["id"]

    assert main(["result", job_id, "--wait", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["job_id"] == job_id and result["seed"] == 9
    assert [entry["counts"] for entry in result["results"]] == [
        sim.sample(loads(BELL_QASM), 64, seed=9),
        sim.sample(loads(BELL_QASM), 64, seed=10),
    ]

    assert main(["result", job_id]) == 0
    out = capsys.readouterr().out
    assert "circuit 0:" in out and "circuit 1:" in out

    assert main(["jobs", "--status", "done", "--limit", "500"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["ID", "STATUS", "DEVICE", "KIND", "SHOTS", "CIRCUITS", "CREATED", "NAME"]
    mine = next(row for row in rows if row[0] == job_id)
    assert mine[1:6] == ["done", "statevector", "sample", "64", "2"] and mine[-1] == "cli-test"

    assert main(["cancel", job_id]) == 1
    assert capsys.readouterr().err == f"openqpu: job {job_id} is already done\n"


def test_cli_submit_syntax_error_names_file_line_and_column(
    logged_in: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.qasm"
    broken.write_text(BELL_QASM.replace("h q[0];", "h q[0]"))
    assert main(["submit", str(broken), "--device", "statevector"]) == 1
    assert capsys.readouterr().err.startswith(f"openqpu: {broken}: 6:1: ")


def test_cli_user_errors_are_one_line(
    logged_in: Server, bell_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submit", str(tmp_path / "missing.qasm"), "--device", "statevector"]) == 2
    assert capsys.readouterr().err.startswith("openqpu: cannot read ")
    assert main(["submit", str(bell_file), "--device", "nope"]) == 1
    assert capsys.readouterr().err.startswith("openqpu: device: no device 'nope'")
    assert main(["result", "no-such-job"]) == 1
    assert capsys.readouterr().err == "openqpu: no job 'no-such-job'\n"


def test_cli_submit_estimate_with_mitigation_options(
    logged_in: Server, bell_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["submit", str(bell_file), "--device", "lattice12", "--shots", "400", "--seed", "3"]
    mitigation = [
        "--observable", "ZZ", "--observable", "0.5*XX + 0.5*IZ", "--resilience-level", "2",
        "--option", "resilience.zne.noise_factors=1,3",
        "--option", "resilience.zne.extrapolator=linear",
        "--option", "twirling.num_randomizations=4",
    ]  # fmt: skip
    assert main([*argv, *mitigation, "--wait", "--timeout", "120", "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["results"][0]
    assert len(entry["expectation_values"]) == len(entry["standard_errors"]) == 2
    resilience = entry["resilience"]
    assert resilience["options"]["resilience_level"] == 2
    assert resilience["num_randomizations"] == 4
    assert resilience["zne"]["noise_factors"] == [1.0, 3.0]
    assert resilience["zne"]["extrapolator"] == ["linear", "linear"]

    assert main([*argv, *mitigation, "--wait", "--timeout", "120"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("observable 0: ") and " +- " in lines[0]
    assert lines[2] == "resilience level 2: TREX, gate twirling, ZNE; 4 randomizations"
    assert lines[3].startswith("observable 0 at noise factors 1, 3: ")


def test_cli_submit_bad_mitigation_options_are_one_line(
    logged_in: Server, bell_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["submit", str(bell_file), "--device", "lattice12", "--observable", "ZZ"]
    assert main([*argv, "--option", "resilience.zne.noise_factor=1,3"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("openqpu: ") and "noise_factor" in err and "Traceback" not in err
    assert main([*argv, "--option", "twirling.num_randomizations=-2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("openqpu: ") and "num_randomizations" in err
    assert main([*argv, "--option", "resilience.zne.extrapolator=cubic"]) == 1
    assert "extrapolator" in capsys.readouterr().err
    plain = ["submit", str(bell_file), "--device", "lattice12"]
    assert main([*plain, "--resilience-level", "1"]) == 2
    assert "give the observables" in capsys.readouterr().err
    assert main([*argv, "--option", "twirling=1", "--option", "twirling.enable_gates=1"]) == 2
    assert "twirling was given a value already" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main([*argv, "--option", "resilience_level"])
    assert refused.value.code == 2 and "give NAME=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main([*plain, "--observable", "ZQ"])
    assert refused.value.code == 2 and "letters I, X, Y, Z" in capsys.readouterr().err
    assert main(["submit", str(bell_file), "--device", "statevector", "--observable", "ZZ",
                 "--resilience-level", "1"]) == 1  # fmt: skip
    assert "ideal simulator" in capsys.readouterr().err
